/*
 * configs.c - typed agent configs: set (an upsert, or a compare-and-set),
 * unset, typed getters.
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
 *
 * Compare-and-set (1.3, oi_config_set_with with if_revision) is an UPDATE
 * whose WHERE names the revision the caller read, so the check and the
 * write are one statement: on SQLite writers take turns; on PostgreSQL an
 * UPDATE that waited for a concurrent writer of the row evaluates its WHERE
 * again on the row that writer committed (READ COMMITTED), whose revision
 * has moved, so of two writers that read the same revision exactly one
 * updates the row.  The stored revision also covers the type: a key whose
 * type changed has a new revision, so no type guard is needed.  When the
 * UPDATE leaves the row alone a second read tells a key that moved on
 * (OI_ECONFLICT, with its revision) from one that does not exist
 * (OI_ENOTFOUND); nothing was written either way.  A fencing token is
 * checked (oi_fence_check) just before the write, in a transaction around
 * both; an unfenced set needs none, each of its statements being atomic.
 *
 * A row's revision is written by triggers (migration 006): on SQLite inside
 * the statement but after RETURNING has read the row, on PostgreSQL at
 * COMMIT.  So the stored config handed back is read again once the write
 * has committed, to carry its new revision (should another writer change
 * the key in that instant, its row); a set inside a transaction the caller
 * opened shows, on PostgreSQL, the previous revision until it ends.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "table.h"
#include "value.h"


#define TABLE (&oi_table_agent_configs)

/* $1 id, then the fields of bind_fields() as $2 ... $8, then $9 the type
 * the stored row must still have (NULL: any). */
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

/* The fields of bind_fields() as $1 ... $7, then $8 the revision the
 * stored row must have. */
static char *compare_and_set_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_add(&b,
               "UPDATE agent_configs SET config_value = $3, config_type = $4,"
               " description = COALESCE($5, description),"
               " is_sensitive = COALESCE($6, is_sensitive), updated_at = $7"
               " WHERE agent_id = $1 AND config_key = $2 AND revision = $8"
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
    oi_read_pin(s); /* a write's reads are the primary's (replica.c) */
    int rc = oi_agent_config_find(s, agent_id, key, &current);
    oi_read_unpin(s);
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

/* agent_id, key, value, type, description (NULL: keep), is_sensitive
 * (NULL: keep) and now, as $first ... $first + 6. */
static int bind_fields(oi_stmt *st, int first, const oi_agent_config *rec,
                       oi_sensitivity sensitive)
{
    int rc = oi_bind_uuid(st, first, rec->agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, first + 1, rec->config_key);
    if (rc == OI_OK)
        rc = oi_bind_text(st, first + 2, rec->config_value);
    if (rc == OI_OK)
        rc = oi_bind_text(st, first + 3, rec->config_type);
    if (rc == OI_OK)
        rc = oi_bind_text(st, first + 4, rec->description);
    if (rc == OI_OK)
        rc = bind_sensitivity(st, first + 5, sensitive);
    if (rc == OI_OK)
        rc = oi_bind_time(st, first + 6, oi_time_now());
    return rc;
}

/* Run a write whose binding ended with rc: OI_OK with the row it returned
 * in *stored, OI_DONE when its guard left the row alone, or a failure. */
static int run_write(oi_store *s, oi_stmt *st, int rc, oi_agent_config *stored)
{
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        oi_row_read(st, TABLE, 0, stored);
        rc = OI_OK;
    } else if (rc != OI_DONE) {
        rc = oi_row_explain(s, "set", TABLE, rc);
    }
    oi_reset(st);
    return rc;
}

/* The upsert of a checked record; guard: the type the stored row must
 * still have (NULL: any). */
static int upsert(oi_store *s, const oi_agent_config *rec, oi_sensitivity sensitive,
                  const char *guard, oi_agent_config *stored)
{
    static const oi_row_sql upsert_stmt = {TABLE, NULL, upsert_sql};
    oi_stmt *st;
    int rc = oi_row_stmt(s, &upsert_stmt, &st);
    if (rc)
        return rc;
    rc = oi_bind_uuid(st, 1, rec->id);
    if (rc == OI_OK)
        rc = bind_fields(st, 2, rec, sensitive);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 9, guard);
    rc = run_write(s, st, rc, stored);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_EBUSY, "config '%s' changed type while it was being set: try again",
                     rec->config_key);
    return rc;
}

/* The compare-and-set left the row alone: the key is gone, or it moved on. */
static int explain_conflict(oi_store *s, const oi_agent_config *rec, int64_t expected)
{
    oi_agent_config current = OI_AGENT_CONFIG_INIT;
    oi_read_pin(s); /* a write's reads are the primary's (replica.c) */
    int rc = oi_agent_config_find(s, rec->agent_id, rec->config_key, &current);
    oi_read_unpin(s);
    if (rc == OI_OK)
        rc = oi_fail(s, OI_ECONFLICT, "config '%s' of agent %s is at revision %lld, not %lld: "
                     "another writer changed it; read it again", rec->config_key, rec->agent_id,
                     (long long)current.revision, (long long)expected);
    else if (rc == OI_ENOTFOUND)
        rc = oi_fail(s, OI_ENOTFOUND, "config '%s' of agent %s does not exist: a compare-and-set "
                     "only updates a key; set it without a revision to create it",
                     rec->config_key, rec->agent_id);
    oi_agent_config_clear(&current);
    return rc;
}

/* Update the checked record only if the stored row is at `revision`. */
static int compare_and_set(oi_store *s, const oi_agent_config *rec, oi_sensitivity sensitive,
                           int64_t revision, oi_agent_config *stored)
{
    static const oi_row_sql cas_stmt = {TABLE, NULL, compare_and_set_sql};
    oi_stmt *st;
    int rc = oi_row_stmt(s, &cas_stmt, &st);
    if (rc)
        return rc;
    rc = bind_fields(st, 1, rec, sensitive);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 8, revision);
    rc = run_write(s, st, rc, stored);
    return rc == OI_DONE ? explain_conflict(s, rec, revision) : rc;
}

/* Check rec (its type from o, else the key's, else string), the fence, and
 * write it. */
static int write_config(oi_store *s, oi_agent_config *rec, const oi_config_set_options *o,
                        oi_agent_config *stored)
{
    int rc = o->type ? OI_OK : kept_type(s, rec->agent_id, rec->config_key, &rec->config_type);
    if (rc == OI_OK && !rec->config_type)
        rec->config_type = oi_strdup(o->type ? o->type : "string");
    if (rc == OI_OK)
        rc = oi_row_validate(s, TABLE, rec);
    if (rc == OI_OK && o->fenced)
        rc = oi_fence_check(s, o->fence);
    if (rc == OI_OK && o->if_revision)
        rc = compare_and_set(s, rec, o->sensitive, o->revision, stored);
    else if (rc == OI_OK)
        rc = upsert(s, rec, o->sensitive, o->type ? NULL : rec->config_type, stored);
    return rc;
}

/* write_config() in a transaction, so that the fencing token checked is
 * still the newest when the write commits (oi_fence_check). */
static int write_fenced(oi_store *s, oi_agent_config *rec, const oi_config_set_options *o,
                        oi_agent_config *stored)
{
    int rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = write_config(s, rec, o, stored);
    if (rc == OI_OK)
        return oi_tx_commit(s);
    oi_tx_rollback(s);
    return rc;
}

/* *out: the row written, read again after the commit for the revision the
 * commit gave it (file comment).  Should another writer have deleted it
 * meanwhile, the row as written (its revision the one before the write). */
static int read_back(oi_store *s, oi_agent_config *written, oi_agent_config *out)
{
    oi_read_pin(s); /* what was just written: the primary's (replica.c) */
    int rc = oi_agent_config_get(s, written->id, out);
    oi_read_unpin(s);
    if (rc == OI_ENOTFOUND) {
        oi_clear_error(s);
        oi_row_move(TABLE, out, written);
        oi_row_init(TABLE, written, OI_AGENT_CONFIG_VERSION); /* its strings moved out */
        rc = OI_OK;
    }
    return rc;
}

static int check_options(oi_store *s, const oi_config_set_options *o)
{
    int rc = oi_check_version(s, "oi_config_set_options", o->version,
                              OI_CONFIG_SET_OPTIONS_VERSION);
    if (rc == OI_OK && o->if_revision && o->revision < 0)
        rc = oi_fail(s, OI_EINVALID, "a config's revision is 0 or more, not %lld: give the "
                     "revision a read of the config returned", (long long)o->revision);
    return rc;
}

int oi_config_set_options_init(oi_config_set_options *opts, unsigned int version)
{
    int rc = oi_struct_init(opts, sizeof *opts, "oi_config_set_options", version,
                            OI_CONFIG_SET_OPTIONS_VERSION);
    if (rc == OI_OK)
        opts->sensitive = OI_SENSITIVE_KEEP;
    return rc;
}

int oi_config_set_with(oi_store *s, const char *agent_id, const char *key, const char *value,
                       const oi_config_set_options *opts, oi_agent_config *out)
{
    static const oi_config_set_options defaults = OI_CONFIG_SET_OPTIONS_INIT;
    const oi_config_set_options *o = opts ? opts : &defaults;
    oi_agent_config rec = OI_AGENT_CONFIG_INIT, stored = OI_AGENT_CONFIG_INIT;
    int rc = check_options(s, o);
    if (rc == OI_OK)
        rc = oi_row_out(s, TABLE, out);
    if (rc)
        return rc;
    oi_uuid_generate(rec.id);
    rec.config_key = oi_strdup(key);
    rec.config_value = oi_strdup(value);
    rec.description = oi_strdup(o->description);
    rec.is_sensitive = o->sensitive == OI_SENSITIVE_YES;
    rc = oi_row_uuid_arg(s, "agent id", agent_id, rec.agent_id);
    if (rc == OI_OK) /* before kept_type() looks the key up */
        rc = oi_value_require_str(s, OI_KIND_NAME, "agent config config_key", key);
    if (rc == OI_OK)
        rc = o->fenced ? write_fenced(s, &rec, o, &stored) : write_config(s, &rec, o, &stored);
    if (rc == OI_OK && out)
        rc = read_back(s, &stored, out);
    oi_agent_config_clear(&stored);
    oi_agent_config_clear(&rec);
    return rc;
}

int oi_config_set(oi_store *s, const char *agent_id, const char *key, const char *value,
                  const char *type, const char *description, oi_sensitivity sensitive,
                  oi_agent_config *out)
{
    oi_config_set_options opts = OI_CONFIG_SET_OPTIONS_INIT;
    opts.type = type;
    opts.description = description;
    opts.sensitive = sensitive;
    return oi_config_set_with(s, agent_id, key, value, &opts, out);
}

int oi_config_unset(oi_store *s, const char *agent_id, const char *key)
{
    static const oi_row_sql unset = {TABLE, NULL, unset_sql};
    oi_uuid id;
    oi_stmt *st;
    int rc = oi_row_uuid_arg(s, "agent id", agent_id, id);
    if (rc == OI_OK && !key)
        rc = oi_fail(s, OI_EINVALID, "a config key is required");
    if (rc == OI_OK) /* a key no config can have, refused as set refuses it */
        rc = oi_value_require_str(s, OI_KIND_NAME, "agent config config_key", key);
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
