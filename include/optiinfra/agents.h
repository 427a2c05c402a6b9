/*
 * optiinfra/agents.h - registering and finding agents, and reading their
 * related rows.
 *
 * Registration creates or updates an agent by (type, name), as an agent
 * does when it starts.  The reads are the relations of the spec's models
 * (agent.configs, agent.state) and the queries its tests run, each one SQL
 * statement executed by the database.  Capabilities have their own header
 * (capabilities.h), as do heartbeats (heartbeat.h), the state machine
 * (states.h), locks (locks.h) and metrics (metrics.h).
 */
#ifndef OPTIINFRA_AGENTS_H
#define OPTIINFRA_AGENTS_H

#include <stdbool.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The agent with this (type, name) into *out; OI_ENOTFOUND if none. */
int oi_agent_find(oi_store *store, const char *type, const char *name, oi_agent *out);

/**
 * Register an agent: create it, or update the one that has its (type, name).
 *   - No agent has rec's (type, name): rec is created as oi_agent_create()
 *     creates it (an empty id is filled with a new UUID; NULL fields take
 *     their defaults); *created is true.
 *   - Otherwise that agent is updated and keeps its id (rec's id, if any,
 *     is not used): agent_version, status, endpoint, capabilities and
 *     metadata are set from rec, each only when not NULL (NULL keeps the
 *     stored value), and updated_at to now; *created is false.
 * rec is validated as oi_agent_create() validates it, with the same
 * messages, before anything is written.  Atomic, also against a concurrent
 * registration of the same (type, name) from another process: exactly one
 * of them creates the agent.  On success every field of rec is overwritten
 * with the stored record: its strings are then the library's, to free with
 * oi_agent_clear() (the strings rec pointed to stay the caller's, unfreed).
 * On failure rec is unchanged.  created may be NULL.
 */
int oi_agent_register(oi_store *store, oi_agent *rec, bool *created);

/**
 * The agent named by `ref` into *out: a UUID is taken as an id, anything
 * else as a name.  A name that several agents share (of different types) is
 * refused with OI_EINVALID: use the id.
 */
int oi_agent_lookup(oi_store *store, const char *ref, oi_agent *out);

/**
 * An iterator over the agent's configs, by config_key; read with
 * oi_agent_config_next().  OI_EINVALID if agent_id is not a UUID.
 */
int oi_agent_config_iter_by_agent(oi_iter **out, oi_store *store, const char *agent_id);

/** One config of an agent by key into *out; OI_ENOTFOUND if none. */
int oi_agent_config_find(oi_store *store, const char *agent_id, const char *key,
                         oi_agent_config *out);

/** The agent's state (there is at most one) into *out; OI_ENOTFOUND if none. */
int oi_agent_state_find(oi_store *store, const char *agent_id, oi_agent_state *out);

/**
 * An iterator over the agents whose state is active with a current
 * workflow, by name (byte order), then id; read with oi_agent_next().
 */
int oi_agent_iter_active_workflow(oi_iter **out, oi_store *store);

#ifdef __cplusplus
}
#endif
#endif
