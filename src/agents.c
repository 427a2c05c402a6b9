/*
 * agents.c - queries across an agent and its state tables.
 *
 * Each query is one statement: a table's column list plus a fixed WHERE and
 * ORDER BY, prepared once per store.  Metrics queries are in metrics.c.
 */
#include <string.h>
#include "table.h"

/* Prepares (once) "SELECT <columns of t> FROM t <rest>" and binds up to two texts. */
static int select_cached(oi_store *s, const oi_table *t, int slot, const char *rest,
                         const char *a, const char *b, oi_stmt **out)
{
    int rc;
    if (s->cache[slot]) {
        rc = oi_stmt_cached(s, slot, NULL, out);
    } else {
        char *sql = oi_row_select_sql(t, rest);
        rc = oi_stmt_cached(s, slot, sql, out);
        free(sql);
    }
    if (rc == OI_OK && a)
        rc = oi_bind_text(*out, 1, a);
    if (rc == OI_OK && b)
        rc = oi_bind_text(*out, 2, b);
    return rc;
}

static int select_rows(oi_store *s, const oi_table *t, int slot, const char *rest,
                       const char *a, const char *b, void **items, size_t *count)
{
    oi_stmt *st;
    int rc = select_cached(s, t, slot, rest, a, b, &st);
    return rc ? rc : oi_row_collect(t, st, items, count);
}

static int select_one(oi_store *s, const oi_table *t, int slot, const char *rest,
                      const char *a, const char *b, void *out)
{
    oi_stmt *st;
    memset(out, 0, t->size);
    int rc = select_cached(s, t, slot, rest, a, b, &st);
    return rc ? rc : oi_row_fetch_one(s, t, st, out);
}

static int require_agent_id(oi_store *s, const char *id)
{
    if (oi_uuid_valid(id))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", id ? id : "");
}

int oi_agent_find(oi_store *s, const char *type, const char *name, oi_agent *out)
{
    if (!type || !name)
        return oi_fail(s, OI_EINVALID, "agent type and name are required");
    int rc = select_one(s, &oi_table_agents, OI_SLOT_AGENT_FIND,
                        "WHERE type = $1 AND name = $2", type, name, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no agent of type '%s' named '%s'", type, name);
    return rc;
}

static int lookup_by_name(oi_store *s, const char *name, oi_agent *out)
{
    oi_agent *found;
    size_t n;
    int rc = select_rows(s, &oi_table_agents, OI_SLOT_AGENT_BY_NAME,
                         "WHERE name = $1 ORDER BY type", name, NULL, (void **)&found, &n);
    if (rc)
        return rc;
    if (n == 1) {
        *out = found[0];
        free(found);
        return OI_OK;
    }
    oi_agent_list_free(found, n);
    if (n == 0)
        return oi_fail(s, OI_ENOTFOUND, "no agent named '%s'", name);
    return oi_fail(s, OI_EINVALID, "%zu agents are named '%s': give the id instead", n, name);
}

int oi_agent_lookup(oi_store *s, const char *ref, oi_agent *out)
{
    memset(out, 0, sizeof *out);
    if (!ref || !*ref)
        return oi_fail(s, OI_EINVALID, "an agent name or id is required");
    if (!oi_uuid_valid(ref))
        return lookup_by_name(s, ref, out);
    int rc = oi_agent_get(s, ref, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "no agent with id %s", ref);
    return rc;
}

int oi_agent_config_list_by_agent(oi_store *s, const char *agent_id, oi_agent_config **items,
                                  size_t *count)
{
    int rc = require_agent_id(s, agent_id);
    return rc ? rc
              : select_rows(s, &oi_table_agent_configs, OI_SLOT_CONFIGS_BY_AGENT,
                            "WHERE agent_id = $1 ORDER BY config_key", agent_id, NULL,
                            (void **)items, count);
}

int oi_agent_config_find(oi_store *s, const char *agent_id, const char *key,
                         oi_agent_config *out)
{
    int rc = require_agent_id(s, agent_id);
    if (rc == OI_OK && !key)
        rc = oi_fail(s, OI_EINVALID, "a config key is required");
    if (rc == OI_OK)
        rc = select_one(s, &oi_table_agent_configs, OI_SLOT_CONFIG_FIND,
                        "WHERE agent_id = $1 AND config_key = $2", agent_id, key, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "the agent has no config '%s'", key);
    return rc;
}

int oi_agent_state_find(oi_store *s, const char *agent_id, oi_agent_state *out)
{
    int rc = require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = select_one(s, &oi_table_agent_states, OI_SLOT_STATE_FIND, "WHERE agent_id = $1",
                        agent_id, NULL, out);
    if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "agent %s has no state", agent_id);
    return rc;
}

/* By name, then in semantic-version order (oi_semver_compare, capabilities.c). */
static int capability_order(const void *x, const void *y)
{
    const oi_agent_capability *a = x, *b = y;
    int by_name = strcmp(a->capability_name, b->capability_name);
    return by_name ? by_name : oi_semver_compare(a->capability_version, b->capability_version);
}

static int sorted_capabilities(int rc, oi_agent_capability **items, size_t *count)
{
    if (rc == OI_OK && *count > 1) /* qsort's array may not be NULL, even for 0 items */
        qsort(*items, *count, sizeof **items, capability_order);
    return rc;
}

int oi_agent_capability_list_by_agent(oi_store *s, const char *agent_id,
                                      oi_agent_capability **items, size_t *count)
{
    int rc = require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = select_rows(s, &oi_table_agent_capabilities, OI_SLOT_CAPS_BY_AGENT,
                         "WHERE agent_id = $1", agent_id, NULL, (void **)items, count);
    return sorted_capabilities(rc, items, count);
}

int oi_agent_capability_versions(oi_store *s, const char *agent_id, const char *name,
                                 oi_agent_capability **items, size_t *count)
{
    int rc = require_agent_id(s, agent_id);
    if (rc == OI_OK && !name)
        rc = oi_fail(s, OI_EINVALID, "a capability name is required");
    if (rc == OI_OK)
        rc = select_rows(s, &oi_table_agent_capabilities, OI_SLOT_CAP_VERSIONS,
                         "WHERE agent_id = $1 AND capability_name = $2", agent_id, name,
                         (void **)items, count);
    return sorted_capabilities(rc, items, count);
}

int oi_agent_list_active_workflow(oi_store *s, oi_agent **items, size_t *count)
{
    return select_rows(s, &oi_table_agents, OI_SLOT_ACTIVE_WORKFLOW,
                       "WHERE id IN (SELECT agent_id FROM agent_states "
                       "WHERE status = 'active' AND current_workflow IS NOT NULL) ORDER BY name",
                       NULL, NULL, (void **)items, count);
}
