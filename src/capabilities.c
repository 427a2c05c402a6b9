/*
 * capabilities.c - versioned capabilities: semantic-version order,
 * register, enable/disable, the newest enabled version, and which agents
 * can do a capability.
 *
 * Versions are stored as text, so the database cannot order them (as text,
 * 1.10.0 sorts before 1.9.0).  The order is decided in C by
 * oi_semver_compare(), on the few rows one query returns: an agent has a
 * handful of versions of a capability, so "newest" reads them all and keeps
 * one.  "Which agents can do X" is one join of agent_capabilities and
 * agents, ordered by agent, from which the newest enabled version of each
 * agent is kept; an index-friendly SQL-only form would need the version
 * split into numeric columns, which the schema (the spec's) does not have.
 */
#include <string.h>
#include "table.h"

/* The second half of the OI_SLOT_CONFIGS range (configs.c uses the first). */
enum { SLOT_SET_ENABLED = OI_SLOT_CONFIGS + 12, SLOT_CAPABLE_AGENTS };

#define TABLE (&oi_table_agent_capabilities)
#define DIGITS "0123456789"

/* ---- semantic-version order ------------------------------------------- */

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* Two runs of digits as numbers of any length (no overflow). */
static int compare_numbers(const char *a, size_t na, const char *b, size_t nb)
{
    for (; na > 1 && *a == '0'; na--)
        a++;
    for (; nb > 1 && *b == '0'; nb--)
        b++;
    if (na != nb)
        return na < nb ? -1 : 1;
    return sign(memcmp(a, b, na));
}

static int compare_words(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? sign(c) : sign((int)(na > nb) - (int)(na < nb));
}

static bool is_number(const char *p, size_t n)
{
    return n > 0 && strspn(p, DIGITS) >= n;
}

/* Pre-release identifiers (after the '-'), dot by dot, up to '+' or the end. */
static int compare_prereleases(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, ".+"), nb = strcspn(b, ".+");
        bool num_a = is_number(a, na), num_b = is_number(b, nb);
        int c = num_a && num_b ? compare_numbers(a, na, b, nb)
                : num_a != num_b ? (num_a ? -1 : 1)
                : compare_words(a, na, b, nb);
        if (c)
            return c;
        a += na;
        b += nb;
        if (*a != '.' || *b != '.') /* the one with fewer identifiers is older */
            return sign((int)(*a == '.') - (int)(*b == '.'));
        a++;
        b++;
    }
}

static int compare_precedence(const char *a, const char *b)
{
    for (int part = 0; part < 3; part++) {
        size_t na = strspn(a, DIGITS), nb = strspn(b, DIGITS);
        int c = compare_numbers(a, na, b, nb);
        if (c)
            return c;
        a += na + (a[na] == '.' && part < 2);
        b += nb + (b[nb] == '.' && part < 2);
    }
    bool pre_a = *a == '-', pre_b = *b == '-';
    if (pre_a != pre_b)
        return pre_a ? -1 : 1;
    return pre_a ? compare_prereleases(a + 1, b + 1) : 0;
}

int oi_semver_compare(const char *a, const char *b)
{
    int c = compare_precedence(a, b);
    return c ? c : sign(strcmp(a, b));
}

/* ---- register, enable, disable ------------------------------------------ */

int oi_capability_register(oi_store *s, oi_agent_capability *cap)
{
    bool generated_id = !cap->id[0];
    int rc = oi_agent_capability_create(s, cap);
    if (rc == OI_EEXISTS && generated_id)
        oi_fail(s, rc, "the agent already has version %s of capability '%s': enable or "
                "disable it instead", cap->capability_version, cap->capability_name);
    return rc;
}

/* $1 agent_id, $2 name, $3 version, $4 enabled, $5 now */
static char *set_enabled_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_add(&b, "UPDATE agent_capabilities SET is_enabled = $4, updated_at = $5"
                   " WHERE agent_id = $1 AND capability_name = $2 AND capability_version = $3"
                   " RETURNING ");
    oi_row_columns(&b, t, NULL);
    return b.data;
}

static int bind_set_enabled(oi_stmt *st, const char *agent_id, const char *name,
                            const char *version, bool enabled)
{
    int rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, name);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 3, version);
    if (rc == OI_OK)
        rc = oi_bind_bool(st, 4, enabled);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 5, oi_time_now());
    return rc;
}

int oi_capability_set_enabled(oi_store *s, const char *agent_id, const char *name,
                              const char *version, bool enabled, oi_agent_capability *out)
{
    oi_agent_capability probe = {.capability_name = (char *)name,
                                 .capability_version = (char *)version};
    oi_stmt *st;
    if (out)
        memset(out, 0, sizeof *out);
    int rc = oi_row_uuid_arg(s, "agent id", agent_id, probe.agent_id);
    if (rc == OI_OK)
        rc = oi_row_validate(s, TABLE, &probe);
    if (rc == OI_OK)
        rc = oi_row_stmt(s, SLOT_SET_ENABLED, TABLE, set_enabled_sql, &st);
    if (rc)
        return rc;
    rc = bind_set_enabled(st, probe.agent_id, name, version, enabled);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        if (out)
            oi_row_read(st, TABLE, 0, out);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ENOTFOUND, "the agent has no version %s of capability '%s'", version,
                     name);
    }
    oi_reset(st);
    return rc;
}

/* ---- newest version, capable agents ------------------------------------- */

int oi_capability_newest(oi_store *s, const char *agent_id, const char *name,
                         oi_agent_capability *out)
{
    oi_agent_capability *versions = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    int rc = oi_agent_capability_versions(s, agent_id, name, &versions, &n);
    if (rc)
        return rc;
    size_t i = n;
    while (i > 0 && !versions[i - 1].is_enabled) /* oldest first: scan from the newest */
        i--;
    if (i == 0) {
        rc = oi_fail(s, OI_ENOTFOUND, "the agent has no enabled version of capability '%s'",
                     name);
    } else {
        *out = versions[i - 1];
        memset(&versions[i - 1], 0, sizeof versions[i - 1]);
    }
    oi_agent_capability_list_free(versions, n);
    return rc;
}

/* $1 name.  Rows of one agent come together, agents by name. */
static char *capable_agents_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_add(&b, "SELECT ");
    oi_row_columns(&b, &oi_table_agents, "a");
    oi_buf_add(&b, ", ");
    oi_row_columns(&b, t, "c");
    oi_buf_add(&b, " FROM agent_capabilities c JOIN agents a ON a.id = c.agent_id"
                   " WHERE c.capability_name = $1 AND c.is_enabled"
                   " ORDER BY a.name, a.type, a.id");
    return b.data;
}

/* Add a row's (agent, version) to the list, or keep only the newer version
 * when the agent is already the last one listed. */
static void keep_newest(oi_capable_agent *items, size_t *n, oi_capable_agent *row)
{
    oi_capable_agent *last = *n ? &items[*n - 1] : NULL;
    if (!last || strcmp(last->agent.id, row->agent.id) != 0) {
        items[(*n)++] = *row;
        return;
    }
    oi_agent_clear(&row->agent);
    if (oi_semver_compare(row->capability.capability_version,
                          last->capability.capability_version) > 0) {
        oi_agent_capability_clear(&last->capability);
        last->capability = row->capability;
    } else {
        oi_agent_capability_clear(&row->capability);
    }
}

static int collect_capable(oi_stmt *st, oi_capable_agent **items, size_t *count)
{
    oi_capable_agent *list = NULL, row;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = oi_step(st)) == OI_ROW) {
        list = oi_grow(list, &cap, n, sizeof *list);
        oi_row_read(st, &oi_table_agents, 0, &row.agent);
        oi_row_read(st, TABLE, (int)oi_table_agents.ncols, &row.capability);
        keep_newest(list, &n, &row);
    }
    oi_reset(st);
    if (rc != OI_DONE) {
        oi_capable_agent_list_free(list, n);
        return rc;
    }
    *items = list;
    *count = n;
    return OI_OK;
}

int oi_capability_agents(oi_store *s, const char *name, oi_capable_agent **items,
                         size_t *count)
{
    oi_stmt *st;
    *items = NULL;
    *count = 0;
    if (!name)
        return oi_fail(s, OI_EINVALID, "a capability name is required");
    int rc = oi_row_stmt(s, SLOT_CAPABLE_AGENTS, TABLE, capable_agents_sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, name);
    return rc ? rc : collect_capable(st, items, count);
}

void oi_capable_agent_list_free(oi_capable_agent *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        oi_agent_clear(&items[i].agent);
        oi_agent_capability_clear(&items[i].capability);
    }
    free(items);
}
