/*
 * validate.c - the spec's validation checklist, as checks with verdicts.
 *
 * Each check has a name, a verdict and one line of detail saying what was
 * found, so a failure says what is wrong without a second look.  Checks
 * read only; they stop early only when the schema itself is missing, since
 * every later check would fail for the same reason.
 */
#include <string.h>
#include "table.h"

/* A sensitive config's value in a detail, as every view shows it. */
#define MASKED "********"

static const char *const tables[] = {
    "customers", "agents", "events", "recommendations", "approvals", "optimizations",
    "agent_configs", "agent_states", "agent_capabilities", "agent_metrics", "resource_locks",
    "api_tokens",
};
#define NTABLES (sizeof tables / sizeof *tables)

/* The seed's row counts: a database that went through `optiinfra seed` has
 * at least these (the spec's checklist expects 12 / 4 / 11 / 12). */
static const int seeded_rows[NTABLES] = {2, 4, 3, 3, 1, 1, 12, 4, 11, 12, 0, 0};

static const struct foreign_key {
    const char *table, *column, *references, *on_delete;
} foreign_keys[] = {
    {"agent_capabilities", "agent_id", "agents", "CASCADE"},
    {"agent_configs", "agent_id", "agents", "CASCADE"},
    {"agent_metrics", "agent_id", "agents", "CASCADE"},
    {"agent_states", "agent_id", "agents", "CASCADE"},
    {"approvals", "recommendation_id", "recommendations", "CASCADE"},
    {"events", "agent_id", "agents", "SET NULL"},
    {"events", "customer_id", "customers", "CASCADE"},
    {"optimizations", "agent_id", "agents", "CASCADE"},
    {"optimizations", "customer_id", "customers", "CASCADE"},
    {"optimizations", "recommendation_id", "recommendations", "CASCADE"},
    {"recommendations", "agent_id", "agents", "CASCADE"},
    {"recommendations", "customer_id", "customers", "CASCADE"},
    {"resource_locks", "agent_id", "agents", "CASCADE"},
    {"resource_locks", "previous_agent_id", "agents", "SET NULL"},
    {"api_tokens", "agent_id", "agents", "CASCADE"},
};

static const char *const indexes[] = {
    "ix_agents_type", "ix_agents_status", "ix_agents_last_heartbeat",
    "ix_events_customer_id", "ix_events_agent_id",
    "ix_recommendations_customer_id", "ix_recommendations_agent_id",
    "ix_approvals_recommendation_id", "ix_optimizations_recommendation_id",
    "ix_optimizations_customer_id", "ix_optimizations_agent_id",
    "ix_agent_configs_agent_id", "ix_agent_capabilities_agent_id",
    "ix_agent_metrics_agent_name_time", "ix_agent_metrics_collection_timestamp",
    "ix_resource_locks_agent_id", "ix_resource_locks_previous_agent_id",
    "ix_events_customer_id_created_at", "ix_api_tokens_agent_id",
};

static const char *const cost_config_keys[] = {
    "cost_threshold_usd", "savings_threshold_percent", "check_interval_minutes",
};

/* The checks run, in order (opaque to callers: validate.h). */
struct oi_validation {
    oi_check *checks;
    size_t count;
    size_t failed;
};

static void add(oi_validation *r, bool ok, const char *name, char *detail)
{
    r->checks = oi_realloc(r->checks, (r->count + 1) * sizeof *r->checks);
    r->checks[r->count++] = (oi_check){oi_strdup(name), ok, detail};
    r->failed += !ok;
}

/* Collects every row as "\ncol1|col2...\n", for listed() to search. */
static int collect_rows(oi_store *s, const char *sql, int columns, oi_buf *rows)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_prepare(s, sql, &st);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        oi_buf_add(rows, "\n");
        for (int c = 0; c < columns; c++)
            oi_buf_addf(rows, "%s%s", c ? "|" : "", oi_col_text(st, c));
        oi_buf_add(rows, "\n");
        rc = OI_OK;
    }
    oi_stmt_free(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static bool listed(const oi_buf *rows, const char *row)
{
    char *needle = oi_sprintf("\n%s\n", row);
    bool found = rows->data && strstr(rows->data, needle);
    free(needle);
    return found;
}

static int check_tables(oi_store *s, oi_validation *r, bool *all_present)
{
    oi_buf rows = {0};
    int rc = collect_rows(s, s->backend->dialect->list_tables, 1, &rows);
    *all_present = rc == OI_OK;
    for (size_t i = 0; rc == OI_OK && i < NTABLES; i++) {
        bool ok = listed(&rows, tables[i]);
        *all_present &= ok;
        char *name = oi_sprintf("table %s", tables[i]);
        add(r, ok, name, oi_strdup(ok ? "present" : "missing: run `optiinfra db upgrade`"));
        free(name);
    }
    free(rows.data);
    return rc;
}

static int check_counts(oi_store *s, oi_validation *r)
{
    for (size_t i = 0; i < NTABLES; i++) {
        oi_buf sql = {0};
        int64_t n = 0;
        oi_buf_addf(&sql, "SELECT count(*) FROM %s", tables[i]);
        int rc = oi_query_int64(s, sql.data, &n);
        free(sql.data);
        if (rc)
            return rc;
        char *name = oi_sprintf("count %s", tables[i]);
        bool ok = n >= seeded_rows[i];
        add(r, ok, name,
            ok ? oi_sprintf("%lld rows", (long long)n)
               : oi_sprintf("%lld rows, fewer than the seed's %d: run `optiinfra seed`",
                            (long long)n, seeded_rows[i]));
        free(name);
    }
    return OI_OK;
}

static const char per_agent_sql[] =
    "SELECT a.name, "
    "(SELECT count(*) FROM agent_configs c WHERE c.agent_id = a.id), "
    "(SELECT count(*) FROM agent_states s WHERE s.agent_id = a.id), "
    "(SELECT count(*) FROM agent_capabilities p WHERE p.agent_id = a.id), "
    "(SELECT count(*) FROM agent_metrics m WHERE m.agent_id = a.id) "
    "FROM agents a ORDER BY a.name";

static void check_agent_row(oi_stmt *st, oi_validation *r)
{
    static const char *const what[] = {"configs", "state", "capabilities", "metrics"};
    oi_buf missing = {0}, found = {0};
    for (int c = 1; c <= 4; c++) {
        int64_t n = oi_col_int64(st, c);
        oi_buf_addf(&found, "%s%s %lld", c > 1 ? ", " : "", what[c - 1], (long long)n);
        if (n == 0)
            oi_buf_addf(&missing, "%s%s", missing.len ? ", " : "", what[c - 1]);
    }
    char *name = oi_sprintf("agent %s", oi_col_text(st, 0));
    add(r, missing.len == 0, name,
        missing.len ? oi_sprintf("has no %s (%s)", missing.data, found.data) : oi_strdup(found.data));
    free(name);
    free(missing.data);
    free(found.data);
}

static int check_agents(oi_store *s, oi_validation *r)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_prepare(s, per_agent_sql, &st), agents = 0;
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        check_agent_row(st, r);
        agents++;
        rc = OI_OK;
    }
    oi_stmt_free(st);
    if (rc != OI_DONE)
        return rc;
    if (agents == 0)
        add(r, false, "agents", oi_strdup("no agents registered: run `optiinfra seed`"));
    return OI_OK;
}

static int check_foreign_keys(oi_store *s, oi_validation *r)
{
    oi_buf rows = {0};
    int rc = collect_rows(s, s->backend->dialect->list_foreign_keys, 4, &rows);
    for (size_t i = 0; rc == OI_OK && i < sizeof foreign_keys / sizeof *foreign_keys; i++) {
        const struct foreign_key *fk = &foreign_keys[i];
        char *row = oi_sprintf("%s|%s|%s|%s", fk->table, fk->column, fk->references, fk->on_delete);
        char *name = oi_sprintf("foreign key %s.%s", fk->table, fk->column);
        bool ok = listed(&rows, row);
        add(r, ok, name,
            oi_sprintf("%s%s -> %s, on delete %s", ok ? "" : "missing: ", fk->column,
                       fk->references, fk->on_delete));
        free(row);
        free(name);
    }
    free(rows.data);
    return rc;
}

static int check_indexes(oi_store *s, oi_validation *r)
{
    oi_buf rows = {0};
    int rc = collect_rows(s, s->backend->dialect->list_indexes, 2, &rows);
    for (size_t i = 0; rc == OI_OK && i < sizeof indexes / sizeof *indexes; i++) {
        char *pattern = oi_sprintf("|%s\n", indexes[i]);
        bool ok = rows.data && strstr(rows.data, pattern);
        char *name = oi_sprintf("index %s", indexes[i]);
        add(r, ok, name, oi_strdup(ok ? "present" : "missing: run `optiinfra db upgrade`"));
        free(pattern);
        free(name);
    }
    free(rows.data);
    return rc;
}

static int check_cost_configs(oi_store *s, oi_validation *r)
{
    oi_agent cost = OI_AGENT_INIT;
    int rc = oi_agent_find(s, "cost", "Cost Optimizer", &cost);
    if (rc == OI_ENOTFOUND) {
        oi_clear_error(s);
        add(r, false, "cost agent configs", oi_strdup("no cost agent 'Cost Optimizer': run `optiinfra seed`"));
        return OI_OK;
    }
    for (size_t i = 0; rc == OI_OK && i < sizeof cost_config_keys / sizeof *cost_config_keys; i++) {
        oi_agent_config c = OI_AGENT_CONFIG_INIT;
        rc = oi_agent_config_find(s, cost.id, cost_config_keys[i], &c);
        char *name = oi_sprintf("cost agent config %s", cost_config_keys[i]);
        if (rc == OI_OK)
            add(r, true, name, c.is_sensitive
                                   ? oi_sprintf(MASKED " (%s, sensitive)", c.config_type)
                                   : oi_sprintf("%s (%s)", c.config_value, c.config_type));
        else if (rc == OI_ENOTFOUND)
            add(r, false, name, oi_strdup("missing: run `optiinfra seed state`"));
        free(name);
        oi_agent_config_clear(&c);
        if (rc == OI_ENOTFOUND) {
            oi_clear_error(s);
            rc = OI_OK;
        }
    }
    oi_agent_clear(&cost);
    return rc;
}

static int run_checks(oi_store *s, oi_validation *r)
{
    int rc = oi_migrate_check_head(s);
    if (rc == OI_OK || rc == OI_ESCHEMA) {
        add(r, rc == OI_OK, "revision at head",
            rc == OI_OK ? oi_sprintf("%s", oi_migrate_head()) : oi_strdup(oi_errmsg(s)));
        oi_clear_error(s);
        rc = OI_OK;
    }
    bool tables_ok = false;
    if (rc == OI_OK)
        rc = check_tables(s, r, &tables_ok);
    if (rc == OI_OK && tables_ok) {
        rc = check_counts(s, r);
        if (rc == OI_OK)
            rc = check_agents(s, r);
        if (rc == OI_OK)
            rc = check_foreign_keys(s, r);
        if (rc == OI_OK)
            rc = check_indexes(s, r);
        if (rc == OI_OK)
            rc = check_cost_configs(s, r);
    }
    return rc;
}

int oi_validate(oi_store *s, oi_validation **out)
{
    oi_validation *r = oi_calloc(1, sizeof *r);
    oi_read_pin(s); /* the database itself is validated, not a replica's view of it */
    int rc = run_checks(s, r);
    oi_read_unpin(s);
    if (rc) {
        oi_validation_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

size_t oi_validation_count(const oi_validation *r)
{
    return r ? r->count : 0;
}

size_t oi_validation_failed(const oi_validation *r)
{
    return r ? r->failed : 0;
}

const oi_check *oi_validation_check(const oi_validation *r, size_t i)
{
    return r && i < r->count ? &r->checks[i] : NULL;
}

void oi_validation_free(oi_validation *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->checks[i].name);
        free(r->checks[i].detail);
    }
    free(r->checks);
    free(r);
}
