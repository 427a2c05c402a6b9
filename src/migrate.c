/*
 * migrate.c - schema revisions, applied and recorded like Alembic's.
 *
 * The revision chain is the table below; each revision's scripts, per
 * backend, are compiled in from migrations/ (migrate_sql.h).  The current
 * revision lives in alembic_version, the table Alembic uses, so the C store
 * and OptiInfra's Python services agree on what a database holds.
 *
 * A migration runs in one exclusive transaction: lock, re-read the current
 * revision, apply each script in a savepoint, record the revision reached,
 * commit.  Re-reading under the lock is what makes two migrators safe: the
 * second one waits, then finds the revisions already applied.  DDL is
 * transactional on both backends, so a failing script is undone to its
 * savepoint and the database stays at the revision before it, with the
 * revisions before that applied.
 */
#include <stdlib.h>
#include <string.h>
#include "migrate_sql.h"
#include "table.h"

static const oi_revision revisions[] = {
    {"001_core_tables", NULL,
     "core tables: customers, agents, events, recommendations, approvals, optimizations"},
    {"002_agent_state_tables", "001_core_tables",
     "agent state tables: agent_configs, agent_states, agent_capabilities, agent_metrics"},
    {"003_resource_locks", "002_agent_state_tables",
     "resource locks: resource_locks, carrying over the claims in agent_states.resource_locks"},
    {"004_events_recent_index", "003_resource_locks",
     "index ix_events_customer_id_created_at for a customer's recent events"},
    {"005_api_tokens", "004_events_recent_index",
     "API tokens of the HTTP service: api_tokens, keeping each token's SHA-256 only"},
    {"006_coordination", "005_api_tokens",
     "coordination: store revision, change log, row revisions, lock fencing tokens"},
    {"007_json_null", "006_coordination",
     "JSON null accepted as no value in agent_states.last_error and optimizations.result"},
    {"008_metrics_partitions", "007_json_null",
     "agent_metrics partitioned by collection_timestamp on PostgreSQL (SQLite: no change)"},
};
#define NREVS ((int)(sizeof revisions / sizeof *revisions))
#define BASE (-1) /* index of "no revision applied" */

static const char version_table_sql[] =
    "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))";

size_t oi_migrate_revision_count(void)
{
    return NREVS;
}

const oi_revision *oi_migrate_revision(size_t i)
{
    return i < NREVS ? &revisions[i] : NULL;
}

const char *oi_migrate_head(void)
{
    return revisions[NREVS - 1].id;
}

static int index_of(const char *id)
{
    for (int i = 0; i < NREVS; i++)
        if (strcmp(revisions[i].id, id) == 0)
            return i;
    return -2;
}

static const char *script(oi_store *s, int rev, const char *direction)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", revisions[rev].id, direction);
    for (const oi_embedded_script *e = oi_embedded_sql; e->backend; e++)
        if (!strcmp(e->backend, s->backend->name) && !strcmp(e->name, name))
            return e->sql;
    return NULL;
}

static int version_table_exists(oi_store *s, bool *exists)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_prepare(s, s->backend->dialect->list_tables, &st);
    *exists = false;
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        *exists |= strcmp(oi_col_text(st, 0), "alembic_version") == 0;
        rc = OI_OK;
    }
    oi_stmt_free(st);
    return rc == OI_DONE ? OI_OK : rc;
}

/* The current revision's index, BASE when none; OI_ESCHEMA if unknown. */
static int read_current(oi_store *s, int *index)
{
    bool exists;
    int rc = version_table_exists(s, &exists);
    *index = BASE;
    if (rc || !exists)
        return rc;
    oi_stmt *st;
    rc = oi_stmt_cached(s, "SELECT version_num FROM alembic_version", &st);
    if (rc)
        return rc;
    int rows = 0;
    while ((rc = oi_step(st)) == OI_ROW && rows++ == 0)
        snprintf(s->revision, sizeof s->revision, "%s", oi_col_text(st, 0));
    oi_reset(st);
    if (rc != OI_DONE && rc != OI_ROW)
        return rc;
    if (rows > 1)
        return oi_fail(s, OI_ESCHEMA, "alembic_version holds %d revisions: branched histories "
                                      "are not supported", rows);
    if (rows == 0)
        return OI_OK;
    *index = index_of(s->revision);
    if (*index < 0)
        return oi_fail(s, OI_ESCHEMA,
                       "the database is at revision '%s', which optiinfra %s does not know: "
                       "use a newer optiinfra or another database",
                       s->revision, OPTIINFRA_VERSION);
    return OI_OK;
}

int oi_migrate_current(oi_store *s, const char **out)
{
    int index, rc = read_current(s, &index);
    *out = rc == OI_OK && index != BASE ? revisions[index].id : NULL;
    return rc;
}

int oi_migrate_check_head(oi_store *s)
{
    const char *current;
    int rc = oi_migrate_current(s, &current);
    if (rc)
        return rc;
    if (!current)
        return oi_fail(s, OI_ESCHEMA, "the database has no schema yet: run `optiinfra db upgrade`");
    if (strcmp(current, oi_migrate_head()) != 0)
        return oi_fail(s, OI_ESCHEMA,
                       "the database is at revision %s, not at head %s: run `optiinfra db upgrade`",
                       current, oi_migrate_head());
    return OI_OK;
}

/* ---- one step ------------------------------------------------------------ */

/* Records `to` (BASE: none) as the revision after `from`. */
static int record_version(oi_store *s, int from, int to)
{
    oi_stmt *st;
    const char *sql = from == BASE ? "INSERT INTO alembic_version (version_num) VALUES ($1)"
                      : to == BASE ? "DELETE FROM alembic_version"
                                   : "UPDATE alembic_version SET version_num = $1";
    int rc = oi_stmt_prepare(s, sql, &st);
    if (rc)
        return rc;
    if (to != BASE)
        rc = oi_bind_text(st, 1, revisions[to].id);
    if (rc == OI_OK)
        rc = oi_step(st);
    oi_stmt_free(st);
    return rc == OI_DONE ? OI_OK : rc;
}

/* Runs revision rev's script (up or down) in a savepoint: on failure the
 * database is as it was before the script, the transaction still usable,
 * and the error says where the database stays. */
static int apply_revision(oi_store *s, int rev, bool up, int stays_at)
{
    int rc = oi_exec(s, "SAVEPOINT oi_migrate_revision");
    if (rc == OI_OK)
        rc = oi_exec(s, script(s, rev, up ? "up" : "down"));
    if (rc == OI_OK)
        return oi_exec(s, "RELEASE SAVEPOINT oi_migrate_revision");
    oi_fail(s, rc, "revision %s failed (%s); the database stays at %s", revisions[rev].id,
            oi_errmsg(s), stays_at == BASE ? "base" : revisions[stays_at].id);
    oi_err saved = s->err;
    if (oi_exec(s, "ROLLBACK TO SAVEPOINT oi_migrate_revision; "
                   "RELEASE SAVEPOINT oi_migrate_revision") == OI_OK)
        s->err = saved;
    return rc;
}

/* Under the lock, re-read the current revision, and take every step from
 * there towards target, recording the revision reached once at the end.
 * One exclusive transaction for all the steps, each step in a savepoint:
 * a failing revision leaves the ones before it applied, as a transaction
 * per revision did, for one commit instead of seven (an upgrade from base:
 * 312 -> 234 WAL page writes on SQLite, 6 fewer COMMITs and lock round trips
 * on PostgreSQL).  *from and *reached say which revisions were applied or
 * reverted; the error of a failed step is returned after the commit of
 * the steps before it. */
static int migrate_locked(oi_store *s, int target, bool up, int *from, int *reached)
{
    int rc = oi_tx_begin(s, true), failed = OI_OK;
    *from = *reached = BASE;
    if (rc)
        return rc;
    rc = oi_exec(s, version_table_sql);
    if (rc == OI_OK)
        rc = read_current(s, from);
    *reached = *from;
    while (rc == OI_OK && failed == OI_OK && (up ? *reached < target : *reached > target)) {
        int rev = up ? *reached + 1 : *reached;
        failed = apply_revision(s, rev, up, *reached);
        if (failed == OI_OK)
            *reached = up ? rev : *reached - 1;
    }
    if (rc == OI_OK && *reached != *from) {
        oi_err saved = s->err;
        rc = record_version(s, *from, *reached);
        if (rc == OI_OK && (rc = oi_tx_commit(s)) == OI_OK && failed)
            s->err = saved;
    } else {
        oi_tx_rollback(s);
    }
    if (rc)
        *reached = *from;
    return rc ? rc : failed;
}

/* ---- targets and offline SQL --------------------------------------------- */

static int resolve_upgrade(oi_store *s, const char *target, int *index)
{
    *index = !target || !strcmp(target, "head") ? NREVS - 1 : index_of(target);
    if (*index < 0)
        return oi_fail(s, OI_EINVALID, "unknown revision '%s': use head or one of `optiinfra db "
                                       "history`", target);
    return OI_OK;
}

static int resolve_downgrade(oi_store *s, const char *target, int current, int *index)
{
    if (!target)
        return oi_fail(s, OI_EINVALID, "a downgrade needs a target: base, -N or a revision");
    if (!strcmp(target, "base")) {
        *index = BASE;
    } else if (target[0] == '-') {
        char *end;
        long steps = strtol(target + 1, &end, 10);
        if (*end || steps < 1)
            return oi_fail(s, OI_EINVALID, "'%s' is not a step count like -1", target);
        if (current - steps < BASE)
            return oi_fail(s, OI_EINVALID, "cannot go %ld revisions down: only %d applied",
                           steps, current + 1);
        *index = current - (int)steps;
    } else if ((*index = index_of(target)) < 0) {
        return oi_fail(s, OI_EINVALID, "unknown revision '%s': use base, -N or one of "
                                       "`optiinfra db history`", target);
    }
    return OI_OK;
}

/* Offline SQL is printed for a person or a DBA's tool, never executed here,
 * and must be self-contained, so the revision id (a constant of the table
 * above) appears as a literal, as in Alembic's --sql output. */
static void emit_version_sql(oi_sql_sink sql, void *ctx, int from, int to)
{
    oi_buf line = {0};
    if (to == BASE) {
        oi_buf_add(&line, "DELETE FROM alembic_version;\n");
    } else {
        oi_buf_add(&line, from == BASE ? "INSERT INTO alembic_version (version_num) VALUES ('"
                                       : "UPDATE alembic_version SET version_num = '");
        oi_buf_add(&line, revisions[to].id);
        oi_buf_add(&line, from == BASE ? "');\n" : "';\n");
    }
    sql(ctx, line.data);
    free(line.data);
}

/* Offline mode: the script that would take the database from current to
 * target, without running it. */
static void emit_sql(oi_store *s, int current, int target, oi_sql_sink sql, void *ctx)
{
    bool up = target > current;
    sql(ctx, "BEGIN;\n\n");
    sql(ctx, version_table_sql);
    sql(ctx, ";\n\n");
    for (int cur = current; up ? cur < target : cur > target; cur += up ? 1 : -1) {
        int rev = up ? cur + 1 : cur;
        char banner[128];
        snprintf(banner, sizeof banner, "-- Running %s %s\n\n", up ? "upgrade" : "downgrade",
                 revisions[rev].id);
        sql(ctx, banner);
        sql(ctx, script(s, rev, up ? "up" : "down"));
        sql(ctx, "\n");
        emit_version_sql(sql, ctx, cur, up ? cur + 1 : cur - 1);
        sql(ctx, "\n");
    }
    sql(ctx, "COMMIT;\n");
}

/* `applied` hears of each revision applied or reverted, once committed. */
static int migrate(oi_store *s, int target, bool up, void (*applied)(void *, const char *),
                   void *ctx)
{
    int from, reached, rc = migrate_locked(s, target, up, &from, &reached);
    for (int cur = from; applied && cur != reached; cur += up ? 1 : -1)
        applied(ctx, revisions[up ? cur + 1 : cur].id);
    return rc;
}

int oi_migrate_upgrade(oi_store *s, const char *target, void (*applied)(void *, const char *),
                       oi_sql_sink sql, void *ctx)
{
    int index, current, rc = resolve_upgrade(s, target, &index);
    if (rc == OI_OK && sql && (rc = read_current(s, &current)) == OI_OK)
        emit_sql(s, current, current > index ? current : index, sql, ctx);
    if (rc || sql)
        return rc;
    return migrate(s, index, true, applied, ctx);
}

int oi_migrate_downgrade(oi_store *s, const char *target, void (*applied)(void *, const char *),
                         oi_sql_sink sql, void *ctx)
{
    int index, current, rc = read_current(s, &current);
    if (rc == OI_OK)
        rc = resolve_downgrade(s, target, current, &index);
    if (rc == OI_OK && index > current)
        rc = oi_fail(s, OI_EINVALID, "%s is above the current revision %s: use db upgrade",
                     revisions[index].id, current == BASE ? "base" : revisions[current].id);
    if (rc == OI_OK && sql)
        emit_sql(s, current, index, sql, ctx);
    if (rc || sql)
        return rc;
    return migrate(s, index, false, applied, ctx);
}
