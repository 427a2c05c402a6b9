/*
 * agents.c - finding agents, and reading an agent's configs and state.
 *
 * Each query is one statement: a table's column list plus a fixed WHERE,
 * prepared once per store (the static oi_row_sql or oi_iter_query is the
 * statement's key in the cache).  Lists are iterators (iter.c) ordered by
 * keys that are unique and compared in byte order (COLLATE "C"), so both
 * backends list alike.  Capabilities are capabilities.c, metrics metrics.c.
 */
#include <string.h>
#include "iter.h"

static int require_agent_id(oi_store *s, const char *id)
{
    if (oi_uuid_valid(id))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", id ? id : "");
}

/* One row of q, selected by up to two texts, into out (checked and emptied
 * by the caller, oi_row_out): OI_OK or OI_ENOTFOUND. */
static int select_one(oi_store *s, const oi_row_sql *q, const char *a, const char *b, void *out)
{
    oi_stmt *st;
    int rc = oi_row_stmt(s, q, &st);
    if (rc == OI_OK && a)
        rc = oi_bind_text(st, 1, a);
    if (rc == OI_OK && b)
        rc = oi_bind_text(st, 2, b);
    return rc ? rc : oi_row_fetch_one(s, q->table, st, out);
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
    rc = select_one(s, &by_type_and_name, type, name, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no agent of type '%s' named '%s'", type, name);
    return rc;
}

/* The one agent of that name: a second one makes the name ambiguous. */
static int lookup_by_name(oi_store *s, const char *name, oi_agent *out)
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

int oi_agent_lookup(oi_store *s, const char *ref, oi_agent *out)
{
    int rc = oi_row_out(s, &oi_table_agents, out);
    if (rc)
        return rc;
    if (!ref || !*ref)
        return oi_fail(s, OI_EINVALID, "an agent name or id is required");
    if (!oi_uuid_valid(ref))
        return lookup_by_name(s, ref, out);
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
