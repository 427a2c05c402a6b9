/*
 * optiinfra/agents.h - queries across an agent and its state tables.
 *
 * These are the relations of the spec's models (agent.configs, agent.state,
 * agent.capabilities, agent.metrics) and the queries its tests run, each one
 * SQL statement executed by the database.
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

/** A metrics query; zero-initialise it and set what you need. */
typedef struct oi_metric_filter {
    const char *agent_id;    /**< required */
    const char *metric_name; /**< NULL: every metric of the agent */
    oi_time from;            /**< inclusive; OI_TIME_NULL: no lower bound */
    oi_time to;              /**< inclusive; OI_TIME_NULL: no upper bound */
    const char *meta_key;    /**< with meta_value: metadata->>meta_key = meta_value */
    const char *meta_value;
    size_t limit;            /**< 0: no limit */
    bool newest_first;       /**< default oldest first */
} oi_metric_filter;

/** Metrics matching f, in collection_timestamp order (then id). */
int oi_agent_metric_query(oi_store *store, const oi_metric_filter *f,
                          oi_agent_metric **items, size_t *count);

/**
 * Average metric_value of the metrics matching f (limit and order ignored).
 * OI_ENOTFOUND when no metric matches.
 */
int oi_agent_metric_avg(oi_store *store, const oi_metric_filter *f, double *avg);

/** Agents whose state is active with a current workflow, by name. */
int oi_agent_list_active_workflow(oi_store *store, oi_agent **items, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
