/*
 * configs.c - typed agent configs: set (an upsert), unset, typed getters.
 *
 * A set is one INSERT ... ON CONFLICT (agent_id, config_key) DO UPDATE ...
 * RETURNING statement, the same text on both backends.  The value is checked
 * before anything is written, by the agent_configs descriptor itself
 * (records.c check_config), so both backends refuse the same values with
 * the same message, which names the key and never the value.
 *
 * "Keep the existing type" (type NULL) needs that type to check the value
 * against, so such a set first reads the key, then writes with a guard:
 * the update happens only if the stored type is still the one the value was
 * checked against.  If another writer changed it in between, the statement
 * updates nothing and the call fails with OI_EBUSY.  The alternative, write
 * first and check the returned row, would leave an unchecked value in a
 * transaction the caller opened; locking the row first (SELECT ... FOR
 * UPDATE) has no SQLite spelling.  Description and sensitivity are kept by
 * COALESCE in the statement itself and need no read.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "table.h"


#define TABLE (&oi_table_agent_configs)

/* $1 id, $2 agent_id, $3 key, $4 value, $5 type, $6 description (NULL: keep),
 * $7 is_sensitive (NULL: keep), $8 now, $9 the type the stored row must
 * still have (NULL: any). */
static char *upsert_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_add(&b,
               "INSERT INTO agent_configs (id, agent_id, config_key, config_value, config_type,"
               " description, is_sensitive, created_at, updated_at)"
               " VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, false), $8, $8)"
               " ON CONFLICT (agent_id, config_key) DO UPDATE SET"
               " config_value = EXCLUDED.config_value, config_type = EXCLUDED.config_type,"
               " description = COALESCE($6, agent_configs.description),"
               " is_sensitive = COALESCE($7, agent_configs.is_sensitive),"
               " updated_at = EXCLUDED.updated_at"
               " WHERE COALESCE($9, agent_configs.config_type) = agent_configs.config_type"
               " RETURNING ");
    oi_row_columns(&b, t, NULL);
    return b.data;
}

static char *unset_sql(const oi_table *t)
{
    (void)t;
    return oi_strdup("DELETE FROM agent_configs WHERE agent_id = $1 AND config_key = $2"
                     " RETURNING id");
}

/* The type a set with type NULL checks against: the stored one, else string.
 * *stored is that type, allocated, or NULL for a new key. */
static int kept_type(oi_store *s, const char *agent_id, const char *key, char **stored)
{
    oi_agent_config current = OI_AGENT_CONFIG_INIT;
    *stored = NULL;
    int rc = oi_agent_config_find(s, agent_id, key, &current);
    if (rc == OI_OK) {
        *stored = current.config_type;
        current.config_type = NULL;
        oi_agent_config_clear(&current);
    }
    return rc == OI_ENOTFOUND ? OI_OK : rc;
}

static int bind_sensitivity(oi_stmt *st, int idx, oi_sensitivity sensitive)
{
    return sensitive == OI_SENSITIVE_KEEP ? oi_bind_text(st, idx, NULL)
                                          : oi_bind_bool(st, idx, sensitive == OI_SENSITIVE_YES);
}

static int bind_upsert(oi_stmt *st, const oi_agent_config *rec, oi_sensitivity sensitive,
                       const char *guard)
{
    int rc = oi_bind_uuid(st, 1, rec->id);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 2, rec->agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 3, rec->config_key);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 4, rec->config_value);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 5, rec->config_type);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 6, rec->description);
    if (rc == OI_OK)
        rc = bind_sensitivity(st, 7, sensitive);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 8, oi_time_now());
    if (rc == OI_OK)
        rc = oi_bind_text(st, 9, guard);
    return rc;
}

/* Run the upsert of a checked record; fills *out (may be NULL). */
static int upsert(oi_store *s, const oi_agent_config *rec, oi_sensitivity sensitive,
                  const char *guard, oi_agent_config *out)
{
    static const oi_row_sql upsert_stmt = {TABLE, NULL, upsert_sql};
    oi_stmt *st;
    int rc = oi_row_stmt(s, &upsert_stmt, &st);
    if (rc)
        return rc;
    rc = bind_upsert(st, rec, sensitive, guard);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        if (out)
            oi_row_read(st, TABLE, 0, out);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_EBUSY, "config '%s' changed type while it was being set: try again",
                     rec->config_key);
    } else {
        rc = oi_row_explain(s, "set", TABLE, rc);
    }
    oi_reset(st);
    return rc;
}

int oi_config_set(oi_store *s, const char *agent_id, const char *key, const char *value,
                  const char *type, const char *description, oi_sensitivity sensitive,
                  oi_agent_config *out)
{
    oi_agent_config rec = OI_AGENT_CONFIG_INIT;
    int rc = oi_row_out(s, TABLE, out);
    if (rc)
        return rc;
    oi_uuid_generate(rec.id);
    rec.config_key = oi_strdup(key);
    rec.config_value = oi_strdup(value);
    rec.description = oi_strdup(description);
    rec.is_sensitive = sensitive == OI_SENSITIVE_YES;
    rc = oi_row_uuid_arg(s, "agent id", agent_id, rec.agent_id);
    if (rc == OI_OK && !type)
        rc = kept_type(s, agent_id, key, &rec.config_type);
    if (rc == OI_OK && !rec.config_type)
        rec.config_type = oi_strdup(type ? type : "string");
    if (rc == OI_OK)
        rc = oi_row_validate(s, TABLE, &rec);
    if (rc == OI_OK)
        rc = upsert(s, &rec, sensitive, type ? NULL : rec.config_type, out);
    oi_agent_config_clear(&rec);
    return rc;
}

int oi_config_unset(oi_store *s, const char *agent_id, const char *key)
{
    static const oi_row_sql unset = {TABLE, NULL, unset_sql};
    oi_uuid id;
    oi_stmt *st;
    int rc = oi_row_uuid_arg(s, "agent id", agent_id, id);
    if (rc == OI_OK && !key)
        rc = oi_fail(s, OI_EINVALID, "a config key is required");
    if (rc == OI_OK)
        rc = oi_row_stmt(s, &unset, &st);
    if (rc)
        return rc;
    rc = oi_bind_uuid(st, 1, id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, key);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "the agent has no config '%s'", key);
    else if (rc == OI_ROW)
        rc = OI_OK;
    oi_reset(st);
    return rc;
}

/* ---- typed getters ------------------------------------------------------ */

static bool is_one_of(const char *type, const char *const *types)
{
    for (; *types; types++)
        if (strcmp(type, *types) == 0)
            return true;
    return false;
}

/* Find the config and check that its type is one of `types` (`want` names
 * them in the message); *value is then its value, allocated. */
static int typed_value(oi_store *s, const char *agent_id, const char *key,
                       const char *const *types, const char *want, char **value)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    int rc = oi_agent_config_find(s, agent_id, key, &c);
    if (rc == OI_OK && !is_one_of(c.config_type, types))
        rc = oi_fail(s, OI_EINVALID, "config '%s' is of type %s, not %s", key, c.config_type,
                     want);
    *value = NULL;
    if (rc == OI_OK) {
        *value = c.config_value;
        c.config_value = NULL;
    }
    oi_agent_config_clear(&c);
    return rc;
}

/* A stored value that does not parse was written around the library. */
static int unreadable(oi_store *s, const char *key, const char *want)
{
    return oi_fail(s, OI_EINVALID, "config '%s' does not hold a valid %s", key, want);
}

static bool parse_double(const char *v, double *out)
{
    return oi_number_parse(v, out) == OI_OK && isfinite(*out);
}

static bool parse_int64(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    *out = n;
    return *v && !*end && errno == 0;
}

int oi_config_get_double(oi_store *s, const char *agent_id, const char *key, double *out)
{
    static const char *const types[] = {"number", "float", "integer", NULL};
    char *v;
    int rc = typed_value(s, agent_id, key, types, "a number", &v);
    if (rc == OI_OK && !parse_double(v, out))
        rc = unreadable(s, key, "number");
    free(v);
    return rc;
}

/* 2^63: the first double above every int64_t. */
#define INT64_LIMIT 9223372036854775808.0

int oi_config_get_int64(oi_store *s, const char *agent_id, const char *key, int64_t *out)
{
    static const char *const types[] = {"integer", "number", "float", NULL};
    char *v;
    double d;
    int rc = typed_value(s, agent_id, key, types, "an integer", &v);
    if (rc == OI_OK && !parse_int64(v, out)) {
        bool whole = parse_double(v, &d) && d == floor(d) && d >= -INT64_LIMIT && d < INT64_LIMIT;
        if (whole)
            *out = (int64_t)d;
        else
            rc = oi_fail(s, OI_EINVALID, "config '%s' is not a whole number in the range of a "
                         "64-bit integer", key);
    }
    free(v);
    return rc;
}

int oi_config_get_bool(oi_store *s, const char *agent_id, const char *key, bool *out)
{
    static const char *const types[] = {"boolean", NULL};
    char *v;
    int rc = typed_value(s, agent_id, key, types, "a boolean", &v);
    if (rc == OI_OK && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        rc = unreadable(s, key, "boolean");
    if (rc == OI_OK)
        *out = strcmp(v, "true") == 0;
    free(v);
    return rc;
}
