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

/** The version of oi_config_set_options this header declares. */
#define OI_CONFIG_SET_OPTIONS_VERSION 1

/** What oi_config_set_with() writes and under which conditions (1.3). */
typedef struct oi_config_set_options {
    unsigned int version;       /**< OI_CONFIG_SET_OPTIONS_VERSION */
    const char *type;           /**< as oi_config_set()'s type (NULL: keep) */
    const char *description;    /**< as oi_config_set()'s (NULL: keep) */
    oi_sensitivity sensitive;   /**< as oi_config_set()'s; OI_SENSITIVE_KEEP in the INIT */
    bool if_revision;           /**< compare-and-set: write only if the key exists
                                     and its revision is `revision` */
    int64_t revision;           /**< the revision the caller read (oi_agent_config) */
    bool fenced;                /**< write only if `fence` is its resource's newest
                                     fencing token (oi_fence_check) */
    int64_t fence;
} oi_config_set_options;

/** Unconditional writes that keep type, description and sensitivity. */
#define OI_CONFIG_SET_OPTIONS_INIT                                                     \
    {.version = OI_CONFIG_SET_OPTIONS_VERSION, .sensitive = OI_SENSITIVE_KEEP}

/** Make *opts as OI_CONFIG_SET_OPTIONS_INIT; OI_EINVALID for an unknown version. */
int oi_config_set_options_init(oi_config_set_options *opts, unsigned int version);

/**
 * oi_config_set() with conditions (1.3; opts NULL: as oi_config_set with
 * type, description and sensitivity kept).  With opts->if_revision, the
 * write happens only if the key exists with that revision, in the same
 * statement: otherwise OI_ECONFLICT (the message gives the current
 * revision; OI_ENOTFOUND if the key does not exist) and nothing is written.
 * With opts->fenced, OI_ESTALE unless the token is current, checked in the
 * same transaction.  On success *out holds the stored config with its new
 * revision, read back after the commit.  Inside a transaction the caller
 * opened, PostgreSQL moves a row's revision only at COMMIT (the trigger is
 * deferred), so *out then shows the revision before this write.
 */
int oi_config_set_with(oi_store *store, const char *agent_id, const char *key,
                       const char *value, const oi_config_set_options *opts,
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
