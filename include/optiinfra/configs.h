/*
 * optiinfra/configs.h - typed agent configs and versioned capabilities.
 *
 * Configs: an agent's settings by key, each with a type (string, number,
 * integer, float, boolean, json) that its value must parse as.  Setting a
 * key is one UPSERT statement; the typed getters read a value as a C
 * number or boolean.  A config may be sensitive: the library never puts
 * its value into a message, and the CLI masks it.  Reading one config or
 * an agent's list is oi_agent_config_find() / oi_agent_config_list_by_agent()
 * (agents.h).
 *
 * Capabilities: versioned rows of agent_capabilities (several versions of
 * one capability may coexist), compared in semantic-version order, so that
 * 1.10.0 is newer than 1.9.0.  Listing an agent's capabilities is
 * oi_agent_capability_list_by_agent() (agents.h).
 *
 * docs/configs.md describes both, with the design decisions.
 */
#ifndef OPTIINFRA_CONFIGS_H
#define OPTIINFRA_CONFIGS_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configs ------------------------------------------------------------ */

/** What oi_config_set() does with a config's sensitive flag. */
typedef enum oi_sensitivity {
    OI_SENSITIVE_KEEP = -1, /**< an existing key keeps its flag; a new key is not sensitive */
    OI_SENSITIVE_NO = 0,    /**< the value is not sensitive */
    OI_SENSITIVE_YES = 1    /**< the value is sensitive: masked in the CLI's output */
} oi_sensitivity;

/**
 * Create or update the config `key` of an agent, in one statement.
 *
 * type: string|number|integer|float|boolean|json, or NULL to keep the
 * existing key's type (a new key is a string).  The value must parse as the
 * type, whichever it is: changing a key's type re-checks the value.
 * description: NULL keeps the existing description (a new key has none).
 * On success, *out (if not NULL) is the stored record: free it with
 * oi_agent_config_clear().
 *
 * Errors: OI_EINVALID (a bad agent id, no key or value, an unknown type, a
 * value that does not parse as its type: the message names the key, never
 * the value); OI_ECONSTRAINT (no such agent); OI_EBUSY (type NULL, and
 * another writer changed the key's type while this call ran: try again).
 */
int oi_config_set(oi_store *store, const char *agent_id, const char *key, const char *value,
                  const char *type, const char *description, oi_sensitivity sensitive,
                  oi_agent_config *out);

/** Delete the config `key` of an agent; OI_ENOTFOUND if it has none. */
int oi_config_unset(oi_store *store, const char *agent_id, const char *key);

/**
 * A config's value as a double: types number, float and integer.
 * OI_ENOTFOUND if the agent has no such key; OI_EINVALID if its type is
 * another one (string, boolean, json).
 */
int oi_config_get_double(oi_store *store, const char *agent_id, const char *key, double *out);

/**
 * A config's value as an int64_t: type integer, or number/float when the
 * value is a whole number in range ("60", "60.0").  OI_EINVALID otherwise.
 */
int oi_config_get_int64(oi_store *store, const char *agent_id, const char *key, int64_t *out);

/** A config's value as a bool: type boolean only.  OI_EINVALID otherwise. */
int oi_config_get_bool(oi_store *store, const char *agent_id, const char *key, bool *out);

/* ---- capabilities ------------------------------------------------------- */

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
 * set cap->is_enabled, a zeroed record is disabled).  An existing
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

/** An agent that can do a capability, and its newest enabled version of it. */
typedef struct oi_capable_agent {
    oi_agent agent;
    oi_agent_capability capability;
} oi_capable_agent;

/**
 * Which agents can do `name`: every agent with an enabled version of it,
 * with its newest enabled version, ordered by agent name, then type.
 * Agents of any status are listed: filter on agent.status or
 * agent.last_heartbeat as the caller needs.  Free with
 * oi_capable_agent_list_free().
 */
int oi_capability_agents(oi_store *store, const char *name, oi_capable_agent **items,
                         size_t *count);
void oi_capable_agent_list_free(oi_capable_agent *items, size_t count);

#ifdef __cplusplus
}
#endif
#endif
