/*
 * optiinfra/configs.h - typed agent configs.
 *
 * An agent's settings by key, each with a type (string, number, integer,
 * float, boolean, json) that its value must parse as.  Setting a key is one
 * UPSERT statement; the typed getters read a value as a C number or
 * boolean.  A config may be sensitive: the library never puts its value
 * into a message, and the CLI masks it.  Reading one config or an agent's
 * configs is oi_agent_config_find() / oi_agent_config_iter_by_agent()
 * (agents.h).  docs/configs.md describes them, with the design decisions.
 */
#ifndef OPTIINFRA_CONFIGS_H
#define OPTIINFRA_CONFIGS_H

#include <stdbool.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
