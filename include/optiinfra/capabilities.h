/*
 * optiinfra/capabilities.h - versioned capabilities, and who can do what.
 *
 * Rows of agent_capabilities: several versions of one capability of an
 * agent may coexist, compared in semantic-version order, so that 1.10.0 is
 * newer than 1.9.0; the newest enabled version is the one that counts.
 * docs/configs.md describes them, with the design decisions.
 */
#ifndef OPTIINFRA_CAPABILITIES_H
#define OPTIINFRA_CAPABILITIES_H

#include <stdbool.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Order two semantic versions by precedence (semver.org, section 11), as
 * strcmp does: numeric parts as numbers of any length (1.10.0 > 1.9.0); a
 * pre-release before its release (1.0.0-rc.1 < 1.0.0); pre-release
 * identifiers dot by dot, numeric ones as numbers and before alphanumeric
 * ones (beta.2 < beta.11 < beta.x).  Versions equal in precedence but
 * different in text (1.0.0+a, 1.0.0+b: build metadata) are ordered by their
 * text, so the order is total and sorting is deterministic.
 */
int oi_semver_compare(const char *a, const char *b);

/**
 * Register a version of a capability: insert cap as oi_agent_capability_create()
 * does (the version must be a semantic version, parameters a JSON object;
 * set cap->is_enabled: OI_AGENT_CAPABILITY_INIT leaves it disabled).  An existing
 * (agent, name, version) is OI_EEXISTS.
 */
int oi_capability_register(oi_store *store, oi_agent_capability *cap);

/**
 * Enable or disable one version of an agent's capability, in one statement.
 * OI_ENOTFOUND if the agent has no such version.  *out (if not NULL) is the
 * updated record.
 */
int oi_capability_set_enabled(oi_store *store, const char *agent_id, const char *name,
                              const char *version, bool enabled, oi_agent_capability *out);

/**
 * The newest enabled version of capability `name` of an agent, in
 * oi_semver_compare() order.  OI_ENOTFOUND if no version is enabled.
 */
int oi_capability_newest(oi_store *store, const char *agent_id, const char *name,
                         oi_agent_capability *out);

/**
 * An iterator over the agent's capability rows, by name, then by semantic
 * version (1.9.0 before 1.10.0); read with oi_agent_capability_next().  The
 * rows of one agent are few by nature: they are read and sorted at once.
 */
int oi_agent_capability_iter_by_agent(oi_iter **out, oi_store *store, const char *agent_id);

/**
 * An iterator over every stored version of one capability of an agent,
 * oldest version first; read with oi_agent_capability_next().
 */
int oi_agent_capability_iter_versions(oi_iter **out, oi_store *store, const char *agent_id,
                                      const char *name);

/**
 * An iterator over the agents that can do `name`: every agent with an
 * enabled version of it, by agent name, then type, then id, each with its
 * newest enabled version; read with oi_capable_agent_next().  Agents of any
 * status are listed: filter on agent.status or agent.last_heartbeat as the
 * caller needs.
 */
int oi_capable_agent_iter_new(oi_iter **out, oi_store *store, const char *name);

/**
 * The next row of a capable-agents iterator: the agent into *agent and its
 * newest enabled version into *capability (both initialised records).
 * OI_OK, OI_ITEROVER or a failure.
 */
int oi_capable_agent_next(oi_iter *iter, oi_agent *agent, oi_agent_capability *capability);

#ifdef __cplusplus
}
#endif
#endif
