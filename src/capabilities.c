/*
 * capabilities.c - versioned capabilities: semantic-version order,
 * register, enable/disable, the newest enabled version, and which agents
 * can do a capability, and the iterators over an agent's capabilities.
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
#include "iter.h"

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
    int rc = oi_row_check_version(s, TABLE, cap);
    if (rc)
        return rc;
    bool generated_id = !cap->id[0];
    rc = oi_agent_capability_create(s, cap);
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

/* The checks a write of the row would make (the version's grammar). */
static int check_name_and_version(oi_store *s, const char *agent_id, const char *name,
                                  const char *version)
{
    oi_agent_capability probe = OI_AGENT_CAPABILITY_INIT;
    memcpy(probe.agent_id, agent_id, sizeof probe.agent_id);
    probe.capability_name = oi_strdup(name);
    probe.capability_version = oi_strdup(version);
    int rc = oi_row_validate(s, TABLE, &probe);
    oi_agent_capability_clear(&probe);
    return rc;
}

int oi_capability_set_enabled(oi_store *s, const char *agent_id, const char *name,
                              const char *version, bool enabled, oi_agent_capability *out)
{
    static const oi_row_sql set_enabled = {TABLE, NULL, set_enabled_sql};
    oi_stmt *st;
    int rc = oi_row_out(s, TABLE, out);
    if (rc)
        return rc;
    oi_uuid id;
    rc = oi_row_uuid_arg(s, "agent id", agent_id, id);
    if (rc == OI_OK)
        rc = check_name_and_version(s, id, name, version);
    if (rc == OI_OK)
        rc = oi_row_stmt(s, &set_enabled, &st);
    if (rc)
        return rc;
    rc = bind_set_enabled(st, id, name, version, enabled);
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
    return rc == OI_OK && out ? oi_row_refresh_revision(s, TABLE, out) : rc;
}

/* ---- an agent's capabilities, newest version, capable agents -------------- */

/* By name, then in semantic-version order. */
static int capability_order(const void *x, const void *y)
{
    const oi_agent_capability *a = x, *b = y;
    int by_name = strcmp(a->capability_name, b->capability_name);
    return by_name ? by_name : oi_semver_compare(a->capability_version, b->capability_version);
}

static const oi_row_sql of_agent = {TABLE, "WHERE agent_id = $1", NULL};
static const oi_row_sql versions_of = {TABLE, "WHERE agent_id = $1 AND capability_name = $2",
                                       NULL};

static void free_rows(oi_agent_capability *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        oi_agent_capability_clear(&rows[i]);
    free(rows);
}

static int collect_sorted_on(oi_store *s, const oi_row_sql *q, const char *agent_id,
                             const char *name, oi_agent_capability **items, size_t *count)
{
    oi_agent_capability *rows = NULL;
    size_t n = 0, cap = 0;
    oi_stmt *st;
    oi_uuid id;
    int rc = oi_row_uuid_arg(s, "agent id", agent_id, id);
    if (rc == OI_OK && q == &versions_of && !name)
        rc = oi_fail(s, OI_EINVALID, "a capability name is required");
    if (rc == OI_OK)
        rc = oi_row_stmt(s, q, &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, id);
    if (rc == OI_OK && name)
        rc = oi_bind_text(st, 2, name);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        rows = oi_grow(rows, &cap, n, sizeof *rows);
        rows[n].version = OI_AGENT_CAPABILITY_VERSION;
        oi_row_read(st, TABLE, 0, &rows[n++]);
        rc = OI_OK;
    }
    if (rc == OI_DONE && n > 1)
        qsort(rows, n, sizeof *rows, capability_order);
    if (rc != OI_DONE) { /* none of a failed read: it may run again on the primary */
        free_rows(rows, n);
        rows = NULL;
        n = 0;
    }
    *items = rows;
    *count = n;
    return rc == OI_DONE ? OI_OK : rc;
}

/* Every row q selects (by agent id and an optional name), sorted in C: the
 * database cannot order semantic versions, and an agent has few rows.  A
 * read: from the replica outside a transaction (replica.c). */
static int collect_sorted(oi_store *s, const oi_row_sql *q, const char *agent_id,
                          const char *name, oi_agent_capability **items, size_t *count)
{
    oi_store *r = NULL;
    int rc;
    *items = NULL;
    *count = 0;
    while (oi_read_route(s, &r, &rc))
        rc = collect_sorted_on(r, q, agent_id, name, items, count);
    return rc;
}

static int sorted_iter(oi_iter **out, oi_store *s, const oi_row_sql *q, const char *agent_id,
                       const char *name)
{
    oi_agent_capability *rows;
    size_t n;
    *out = NULL;
    int rc = collect_sorted(s, q, agent_id, name, &rows, &n);
    if (rc) {
        free_rows(rows, n);
        return rc;
    }
    *out = oi_iter_new_buffered(s, TABLE, rows, n);
    return OI_OK;
}

int oi_agent_capability_iter_by_agent(oi_iter **out, oi_store *s, const char *agent_id)
{
    return sorted_iter(out, s, &of_agent, agent_id, NULL);
}

int oi_agent_capability_iter_versions(oi_iter **out, oi_store *s, const char *agent_id,
                                      const char *name)
{
    return sorted_iter(out, s, &versions_of, agent_id, name);
}

int oi_capability_newest(oi_store *s, const char *agent_id, const char *name,
                         oi_agent_capability *out)
{
    oi_agent_capability *versions = NULL;
    size_t n = 0;
    int rc = oi_row_out(s, TABLE, out);
    if (rc)
        return rc;
    rc = collect_sorted(s, &versions_of, agent_id, name, &versions, &n);
    size_t i = n;
    while (rc == OI_OK && i > 0 && !versions[i - 1].is_enabled) /* from the newest */
        i--;
    if (rc == OI_OK && i == 0)
        rc = oi_fail(s, OI_ENOTFOUND, "the agent has no enabled version of capability '%s'",
                     name);
    else if (rc == OI_OK) {
        oi_row_move(TABLE, out, &versions[i - 1]);
        oi_row_init(TABLE, &versions[i - 1], OI_AGENT_CAPABILITY_VERSION); /* moved out */
    }
    free_rows(versions, n);
    return rc;
}

/* Agents with an enabled version of $1, by name, type and id in byte order:
 * rows of agents, yielded as capable agents (oi_agent_next() refuses them). */
static const char capable_tag[] = "capable agent";
static const oi_iter_query capable_query = {
    "capable agent", capable_tag, oi_iter_read_row, 0,
    {"name COLLATE \"C\"", "type COLLATE \"C\"", "id"}, 3, 0, false, &oi_table_agents};

int oi_capable_agent_iter_new(oi_iter **out, oi_store *s, const char *name)
{
    *out = NULL;
    if (!name)
        return oi_fail(s, OI_EINVALID, "a capability name is required");
    *out = oi_iter_new(s, &capable_query,
                       oi_iter_table_select(&capable_query,
                                            "WHERE id IN (SELECT agent_id FROM "
                                            "agent_capabilities WHERE capability_name = $1 "
                                            "AND is_enabled)"));
    oi_iter_param_text(*out, name);
    return OI_OK;
}

int oi_capable_agent_next(oi_iter *it, oi_agent *agent, oi_agent_capability *capability)
{
    if (!it)
        return OI_EINVALID;
    int rc = oi_row_check_version(it->s, TABLE, capability);
    if (rc == OI_OK)
        rc = oi_row_check_version(it->s, &oi_table_agents, agent);
    /* An agent whose versions were all disabled since its page was read
     * can no longer do it: skip it, as a fresh iterator would. */
    while (rc == OI_OK && (rc = oi_iter_next(it, capable_tag, agent)) == OI_OK) {
        rc = oi_capability_newest(it->s, agent->id, it->params[0].text, capability);
        if (rc == OI_OK)
            return OI_OK;
        oi_agent_clear(agent);
        if (rc == OI_ENOTFOUND)
            rc = OI_OK;
    }
    return rc;
}
