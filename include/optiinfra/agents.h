/*
 * optiinfra/agents.h - queries across an agent and its state tables.
 *
 * These are the relations of the spec's models (agent.configs, agent.state,
 * agent.capabilities) and the queries its tests run, each one SQL statement
 * executed by the database.  Metrics (agent.metrics) have their own header,
 * metrics.h.
 */
#ifndef OPTIINFRA_AGENTS_H
#define OPTIINFRA_AGENTS_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The agent with this (type, name); OI_ENOTFOUND if none. */
int oi_agent_find(oi_store *store, const char *type, const char *name, oi_agent *out);

/**
 * The agent named by `ref`: a UUID is taken as an id, anything else as a
 * name.  A name that several agents share (of different types) is refused
 * with OI_EINVALID: use the id.
 */
int oi_agent_lookup(oi_store *store, const char *ref, oi_agent *out);

/** The agent's configs, by config_key. */
int oi_agent_config_list_by_agent(oi_store *store, const char *agent_id,
                                  oi_agent_config **items, size_t *count);
/** One config of an agent by key; OI_ENOTFOUND if none. */
int oi_agent_config_find(oi_store *store, const char *agent_id, const char *key,
                         oi_agent_config *out);

/** The agent's state (there is at most one); OI_ENOTFOUND if none. */
int oi_agent_state_find(oi_store *store, const char *agent_id, oi_agent_state *out);

/** The agent's capability rows, by name, then by semantic version (1.9.0 before 1.10.0). */
int oi_agent_capability_list_by_agent(oi_store *store, const char *agent_id,
                                      oi_agent_capability **items, size_t *count);
/** Every stored version of one capability of an agent, oldest version first. */
int oi_agent_capability_versions(oi_store *store, const char *agent_id, const char *name,
                                 oi_agent_capability **items, size_t *count);

/** Agents whose state is active with a current workflow, by name. */
int oi_agent_list_active_workflow(oi_store *store, oi_agent **items, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
