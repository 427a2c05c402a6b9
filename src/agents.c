/*
 * agents.c - registering and finding agents, and reading an agent's configs
 * and state.
 *
 * Each query is one statement: a table's column list plus a fixed WHERE,
 * prepared once per store (the static oi_row_sql or oi_iter_query is the
 * statement's key in the cache).  Lists are iterators (iter.c) ordered by
 * keys that are unique and compared in byte order (COLLATE "C"), so both
 * backends list alike.  Capabilities are capabilities.c, metrics metrics.c.
 *
 * Registration is an upsert by (type, name) written as two statements in
 * one transaction: UPDATE ... WHERE type = $1 AND name = $2 RETURNING, and
 * when no row came back, INSERT ... ON CONFLICT (type, name) DO NOTHING
 * RETURNING; when that finds a row inserted meanwhile by a concurrent
 * registration, the UPDATE runs once more.  Not one INSERT ... ON CONFLICT
 * DO UPDATE, which both databases would run atomically too, because its
 * RETURNING cannot say portably whether the row was inserted or updated
 * (PostgreSQL's xmax trick has no SQLite equivalent), and `created` must be
 * exact.  DO NOTHING rather than catching the unique violation: on
 * PostgreSQL a failed INSERT aborts the transaction, so the retry could not
 * run in it.  On SQLite the transaction (BEGIN IMMEDIATE) already excludes
 * every other writer; on PostgreSQL the INSERT waits for a concurrent
 * inserter of the same (type, name) to commit, then finds its row.
 */
#include <string.h>
#include "iter.h"
#include "value.h"

static int require_agent_id(oi_store *s, const char *id)
{
    if (oi_uuid_valid(id))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", id ? id : "");
}

static int select_one_on(oi_store *s, const oi_row_sql *q, const char *a, const char *b,
                         void *out)
{
    oi_stmt *st;
    int rc = oi_row_stmt(s, q, &st);
    if (rc == OI_OK && a)
        rc = oi_bind_text(st, 1, a);
    if (rc == OI_OK && b)
        rc = oi_bind_text(st, 2, b);
    return rc ? rc : oi_row_fetch_one(s, q->table, st, out);
}

/* One row of q, selected by up to two texts, into out (checked and emptied
 * by the caller, oi_row_out): OI_OK or OI_ENOTFOUND.  A read: from the
 * replica outside a transaction (replica.c). */
static int select_one(oi_store *s, const oi_row_sql *q, const char *a, const char *b, void *out)
{
    oi_store *r = NULL;
    int rc;
    while (oi_read_route(s, &r, &rc))
        rc = select_one_on(r, q, a, b, out);
    return rc;
}

int oi_agent_find(oi_store *s, const char *type, const char *name, oi_agent *out)
{
    static const oi_row_sql by_type_and_name = {&oi_table_agents,
                                                "WHERE type = $1 AND name = $2", NULL};
    int rc = oi_row_out(s, &oi_table_agents, out);
    if (rc)
        return rc;
    if (!type || !name)
        return oi_fail(s, OI_EINVALID, "agent type and name are required");
    rc = oi_value_require_str(s, OI_KIND_NAME, "agent type", type);
    if (rc == OI_OK)
        rc = oi_value_require_str(s, OI_KIND_NAME, "agent name", name);
    if (rc == OI_OK)
        rc = select_one(s, &by_type_and_name, type, name, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no agent of type '%s' named '%s'", type, name);
    return rc;
}

static int lookup_by_name_on(oi_store *s, const char *name, oi_agent *out)
{
    static const oi_row_sql by_name = {&oi_table_agents, "WHERE name = $1 ORDER BY type", NULL};
    oi_stmt *st;
    size_t n = 0;
    int rc = oi_row_stmt(s, &by_name, &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, name);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        if (n++ == 0)
            oi_row_read(st, &oi_table_agents, 0, out);
        rc = OI_OK;
    }
    if (st) /* NULL when it could not be prepared (a connection lost) */
        oi_reset(st);
    if (rc == OI_DONE && n == 1)
        return OI_OK;
    oi_agent_clear(out); /* none, several, or a failure after the first row */
    if (rc != OI_DONE)
        return rc;
    if (n == 0)
        return oi_fail(s, OI_ENOTFOUND, "no agent named '%s'", name);
    return oi_fail(s, OI_EINVALID, "%zu agents are named '%s': give the id instead", n, name);
}

/* The one agent of that name: a second one makes the name ambiguous.  A
 * read: from the replica outside a transaction (replica.c). */
static int lookup_by_name(oi_store *s, const char *name, oi_agent *out)
{
    oi_store *r = NULL;
    int rc;
    while (oi_read_route(s, &r, &rc))
        rc = lookup_by_name_on(r, name, out);
    return rc;
}

int oi_agent_lookup(oi_store *s, const char *ref, oi_agent *out)
{
    int rc = oi_row_out(s, &oi_table_agents, out);
    if (rc)
        return rc;
    if (!ref || !*ref)
        return oi_fail(s, OI_EINVALID, "an agent name or id is required");
    if (!oi_uuid_valid(ref)) /* a name no agent can have is refused, not looked up */
        return oi_value_require_str(s, OI_KIND_NAME, "agent name", ref) ? OI_EINVALID
               : lookup_by_name(s, ref, out);
    rc = oi_agent_get(s, ref, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no agent with id %s", ref);
    return rc;
}

int oi_agent_config_iter_by_agent(oi_iter **out, oi_store *s, const char *agent_id)
{
    static const oi_iter_query by_agent = {
        "agent config", &oi_table_agent_configs, oi_iter_read_row, 0,
        {"config_key COLLATE \"C\""}, 1, 0, false, NULL};
    *out = NULL;
    int rc = require_agent_id(s, agent_id);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &by_agent, oi_iter_table_select(&by_agent, "WHERE agent_id = $1"));
    oi_iter_param_uuid(*out, agent_id);
    return OI_OK;
}

int oi_agent_config_find(oi_store *s, const char *agent_id, const char *key,
                         oi_agent_config *out)
{
    static const oi_row_sql by_key = {&oi_table_agent_configs,
                                      "WHERE agent_id = $1 AND config_key = $2", NULL};
    oi_uuid id;
    int rc = oi_row_out(s, &oi_table_agent_configs, out);
    if (rc == OI_OK)
        rc = oi_row_uuid_arg(s, "agent id", agent_id, id); /* lower case, as stored */
    if (rc == OI_OK && !key)
        rc = oi_fail(s, OI_EINVALID, "a config key is required");
    if (rc == OI_OK)
        rc = select_one(s, &by_key, id, key, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "the agent has no config '%s'", key);
    return rc;
}

int oi_agent_state_find(oi_store *s, const char *agent_id, oi_agent_state *out)
{
    static const oi_row_sql by_agent = {&oi_table_agent_states, "WHERE agent_id = $1", NULL};
    oi_uuid id;
    int rc = oi_row_out(s, &oi_table_agent_states, out);
    if (rc == OI_OK)
        rc = oi_row_uuid_arg(s, "agent id", agent_id, id); /* lower case, as stored */
    if (rc == OI_OK)
        rc = select_one(s, &by_agent, id, NULL, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "agent %s has no state", agent_id);
    return rc;
}

int oi_agent_iter_active_workflow(oi_iter **out, oi_store *s)
{
    static const oi_iter_query active = {
        "agent", &oi_table_agents, oi_iter_read_row, 0, {"name COLLATE \"C\"", "id"}, 2, 0,
        false, NULL};
    *out = oi_iter_new(s, &active,
                       oi_iter_table_select(&active, "WHERE id IN (SELECT agent_id FROM "
                                                     "agent_states WHERE status = 'active' AND "
                                                     "current_workflow IS NOT NULL)"));
    return OI_OK;
}

/* ---- registration ---------------------------------------------------------- */

/* NULL fields keep the stored value ($1 type, $2 name, $3 ... $7 the
 * fields, $8 now); the stored row comes back whole. */
static char *reregister_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_add(&b, "UPDATE agents SET version = COALESCE($3, version), "
                   "status = COALESCE($4, status), endpoint = COALESCE($5, endpoint), "
                   "capabilities = COALESCE($6, capabilities), "
                   "metadata = COALESCE($7, metadata), updated_at = $8 "
                   "WHERE type = $1 AND name = $2 RETURNING ");
    oi_row_columns(&b, t, NULL);
    return b.data;
}

static char *register_insert_sql(const oi_table *t)
{
    return oi_row_insert_sql(t, "ON CONFLICT (type, name) DO NOTHING");
}

static const oi_row_sql reregister = {&oi_table_agents, NULL, reregister_sql};
static const oi_row_sql register_insert = {&oi_table_agents, NULL, register_insert_sql};

/* Update the agent with rec's (type, name): OI_OK with the stored row in
 * *stored, OI_DONE when there is no such agent. */
static int reregister_agent(oi_store *s, const oi_agent *rec, oi_agent *stored)
{
    const char *const texts[] = {rec->type, rec->name, rec->agent_version, rec->status,
                                 rec->endpoint, rec->capabilities, rec->metadata};
    oi_stmt *st = NULL;
    int rc = oi_row_stmt(s, &reregister, &st);
    for (int i = 0; rc == OI_OK && i < 7; i++)
        rc = oi_bind_text(st, i + 1, texts[i]);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 8, oi_time_now());
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        oi_row_read(st, &oi_table_agents, 0, stored);
        rc = OI_OK;
    } else if (rc < 0 && s->err.code == rc) {
        rc = oi_row_explain(s, "update", &oi_table_agents, rc);
    }
    if (st)
        oi_reset(st);
    return rc;
}

/* Create the agent of rec (a copy: rec stays as given), or update the one
 * that has its (type, name). */
static int register_agent(oi_store *s, const oi_agent *rec, oi_agent *stored, bool *inserted)
{
    oi_agent work;
    int rc = reregister_agent(s, rec, stored);
    if (rc != OI_DONE)
        return rc;
    memcpy(&work, rec, oi_table_agents.sizes[rec->version - 1]);
    rc = oi_row_insert_returning(s, &register_insert, &work, stored);
    *inserted = rc == OI_OK;
    if (rc == OI_DONE) /* a concurrent registration inserted it first */
        rc = reregister_agent(s, rec, stored);
    if (rc == OI_DONE) /* ... and another process deleted it since */
        rc = oi_fail(s, OI_EBUSY, "agent '%s' of type '%s' was registered and deleted "
                     "concurrently: try again", rec->name, rec->type);
    return rc;
}

int oi_agent_register(oi_store *s, oi_agent *rec, bool *created)
{
    oi_agent stored = OI_AGENT_INIT;
    bool inserted = false;
    int rc = oi_row_validate(s, &oi_table_agents, rec);
    if (rc == OI_OK && rec->id[0] && !oi_uuid_valid(rec->id))
        rc = oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", rec->id);
    if (rc == OI_OK)
        rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = register_agent(s, rec, &stored, &inserted);
    if (rc == OI_OK)
        rc = oi_tx_commit(s);
    else
        oi_tx_rollback(s);
    if (rc != OI_OK) {
        oi_agent_clear(&stored);
        return rc;
    }
    oi_row_move(&oi_table_agents, rec, &stored);
    if (created)
        *created = inserted;
    return oi_row_refresh_revision(s, &oi_table_agents, rec);
}
