/*
 * test_migrate.c - schema revisions: upgrade, downgrade, idempotence, a
 * full round trip to the same schema (and 005_api_tokens's and
 * 006_coordination's own), --sql mode, unknown revisions and targets, and
 * migrators racing on one database.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REV1 "001_core_tables"
#define REV2 "002_agent_state_tables"
#define REV3 "003_resource_locks"
#define REV4 "004_events_recent_index"
#define REV5 "005_api_tokens"
#define REV6 "006_coordination"
#define REV7 "007_json_null"
#define REV8 "008_metrics_partitions"
#define HEAD REV8
#define NREVISIONS 8
#define REV5_TABLES 12 /* 6 core, 4 agent state, resource_locks, api_tokens */

#define REV7_TABLES (REV5_TABLES + 4) /* store_revision, change_log, lock_fences,
                                        lock_fence_seq */
/* 008 adds metrics_partitioning on PostgreSQL (partitions are not tables of
 * their own: fx_user_tables leaves them out); nothing on SQLite. */
#define HEAD_TABLES (REV7_TABLES + (fx_is_pg() ? 1 : 0))

/* What the callbacks of one migration call saw. */
typedef struct mig_log {
    int napplied;
    char applied[8][64];
    char *sql;
    size_t sql_len;
    FILE *sql_out;
} mig_log;

static void on_applied(void *ctx, const char *rev)
{
    mig_log *log = ctx;
    if (log->napplied < 8)
        snprintf(log->applied[log->napplied], sizeof log->applied[0], "%s", rev);
    log->napplied++;
}

static void on_sql(void *ctx, const char *sql)
{
    mig_log *log = ctx;
    if (!log->sql_out)
        log->sql_out = open_memstream(&log->sql, &log->sql_len);
    fprintf(log->sql_out, "%s\n", sql);
}

/* The SQL text collected (closes the stream); free() it. */
static char *sql_text(mig_log *log)
{
    if (log->sql_out)
        fclose(log->sql_out);
    log->sql_out = NULL;
    return log->sql ? log->sql : strdup("");
}

static void assert_current(oi_fixture *fx, const char *want)
{
    const char *cur = "unset";
    assert_ok(fx, oi_migrate_current(fx->store, &cur));
    if (want)
        assert_string_equal(cur ? cur : "(null)", want);
    else
        assert_null(cur);
}

static void downgrade_base(oi_fixture *fx)
{
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL));
    assert_current(fx, NULL);
}

/* ------------------------------------------------------------------------ */

static void test_migrate_revisions_compiled_in(void **state)
{
    (void)state;
    assert_int_equal(oi_migrate_revision_count(), NREVISIONS);
    const oi_revision *revs[NREVISIONS];
    for (size_t i = 0; i < NREVISIONS; i++) {
        revs[i] = oi_migrate_revision(i);
        assert_non_null(revs[i]);
        assert_true(revs[i]->description && revs[i]->description[0]);
    }
    assert_null(oi_migrate_revision(NREVISIONS)); /* past the newest */
    assert_string_equal(revs[0]->id, REV1);
    assert_null(revs[0]->down_id);
    assert_string_equal(revs[1]->id, REV2);
    assert_string_equal(revs[1]->down_id, REV1);
    assert_string_equal(revs[2]->id, REV3);
    assert_string_equal(revs[2]->down_id, REV2);
    assert_string_equal(revs[3]->id, REV4);
    assert_string_equal(revs[3]->down_id, REV3);
    assert_string_equal(revs[4]->id, REV5);
    assert_string_equal(revs[4]->down_id, REV4);
    assert_string_equal(revs[5]->id, REV6);
    assert_string_equal(revs[5]->down_id, REV5);
    assert_string_equal(revs[6]->id, REV7);
    assert_string_equal(revs[6]->down_id, REV6);
    assert_string_equal(revs[7]->id, REV8);
    assert_string_equal(revs[7]->down_id, REV7);
    assert_string_equal(oi_migrate_head(), HEAD);
}

static void test_migrate_upgrade_head(void **state)
{
    oi_fixture *fx = FX(state);
    downgrade_base(fx);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", on_applied, NULL, &log));
    assert_int_equal(log.napplied, NREVISIONS);
    assert_string_equal(log.applied[0], REV1);
    assert_string_equal(log.applied[1], REV2);
    assert_string_equal(log.applied[2], REV3);
    assert_string_equal(log.applied[3], REV4);
    assert_string_equal(log.applied[4], REV5);
    assert_string_equal(log.applied[5], REV6);
    assert_string_equal(log.applied[6], REV7);
    assert_string_equal(log.applied[7], REV8);
    assert_current(fx, HEAD);
    assert_ok(fx, oi_migrate_check_head(fx->store));
    assert_int_equal(fx_user_tables(fx), HEAD_TABLES);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM alembic_version"), 1);
}

static void test_migrate_upgrade_again_changes_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    char *before = fx_schema_dump(fx);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", on_applied, NULL, &log));
    assert_int_equal(log.napplied, 0);
    assert_ok(fx, oi_migrate_upgrade(fx->store, REV1, on_applied, NULL, &log)); /* already past */
    assert_int_equal(log.napplied, 0);
    assert_current(fx, HEAD);
    char *after = fx_schema_dump(fx);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_migrate_upgrade_step_by_step(void **state)
{
    oi_fixture *fx = FX(state);
    downgrade_base(fx);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_upgrade(fx->store, REV1, on_applied, NULL, &log));
    assert_int_equal(log.napplied, 1);
    assert_string_equal(log.applied[0], REV1);
    assert_current(fx, REV1);
    assert_int_equal(fx_user_tables(fx), 6);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", on_applied, NULL, &log));
    assert_int_equal(log.napplied, NREVISIONS);
    assert_string_equal(log.applied[1], REV2);
    assert_string_equal(log.applied[2], REV3);
    assert_string_equal(log.applied[3], REV4);
    assert_string_equal(log.applied[4], REV5);
    assert_string_equal(log.applied[5], REV6);
    assert_string_equal(log.applied[6], REV7);
    assert_string_equal(log.applied[7], REV8);
    assert_int_equal(fx_user_tables(fx), HEAD_TABLES);
}

static void test_migrate_downgrade_one_step(void **state)
{
    oi_fixture *fx = FX(state);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_int_equal(log.napplied, 1);
    assert_string_equal(log.applied[0], REV8);
    assert_current(fx, REV7);
    assert_int_equal(fx_user_tables(fx), REV7_TABLES);
    assert_rc(fx, oi_migrate_check_head(fx->store), OI_ESCHEMA);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[1], REV7);
    assert_current(fx, REV6);
    assert_int_equal(fx_user_tables(fx), REV7_TABLES);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[2], REV6);
    assert_current(fx, REV5);
    assert_int_equal(fx_user_tables(fx), REV5_TABLES);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[3], REV5);
    assert_current(fx, REV4);
    assert_int_equal(fx_user_tables(fx), REV5_TABLES - 1);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[4], REV4);
    assert_current(fx, REV3);
    assert_int_equal(fx_user_tables(fx), 11);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[5], REV3);
    assert_current(fx, REV2);
    assert_int_equal(fx_user_tables(fx), 10);
    assert_int_equal(fx_count(fx, "agent_states"), 0); /* the tables below are still there */
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", on_applied, NULL, &log));
    assert_string_equal(log.applied[6], REV2);
    assert_current(fx, REV1);
    assert_int_equal(fx_user_tables(fx), 6);
    assert_int_equal(fx_count(fx, "customers"), 0);
}

static void test_migrate_downgrade_base(void **state)
{
    oi_fixture *fx = FX(state);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", on_applied, NULL, &log));
    assert_int_equal(log.napplied, NREVISIONS);
    assert_string_equal(log.applied[0], REV8); /* newest first */
    assert_string_equal(log.applied[1], REV7);
    assert_string_equal(log.applied[2], REV6);
    assert_string_equal(log.applied[3], REV5);
    assert_string_equal(log.applied[4], REV4);
    assert_string_equal(log.applied[5], REV3);
    assert_string_equal(log.applied[6], REV2);
    assert_string_equal(log.applied[7], REV1);
    assert_current(fx, NULL);
    assert_int_equal(fx_user_tables(fx), 0);
    /* nothing is left but the version table: no index, trigger or function */
    char *dump = fx_schema_dump(fx);
    for (char *save = NULL, *line = strtok_r(dump, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        assert_contains(line, "alembic_version");
    free(dump);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", on_applied, NULL, &log));
    assert_int_equal(log.napplied, NREVISIONS);
    assert_rc(fx, oi_migrate_check_head(fx->store), OI_ESCHEMA);
}

static void test_migrate_roundtrip_same_schema(void **state)
{
    oi_fixture *fx = FX(state);
    char *before = fx_schema_dump(fx);
    assert_contains(before, "agent_metrics");
    downgrade_base(fx);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    char *after = fx_schema_dump(fx);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_migrate_sql_mode_executes_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    downgrade_base(fx);
    mig_log log = {0};
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, on_sql, &log));
    char *up = sql_text(&log);
    assert_contains(up, "CREATE TABLE");
    assert_contains(up, "agent_metrics");
    assert_current(fx, NULL);
    assert_int_equal(fx_user_tables(fx), 0);
    free(up);

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    mig_log down_log = {0};
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, on_sql, &down_log));
    char *down = sql_text(&down_log);
    assert_contains(down, "DROP TABLE");
    assert_current(fx, HEAD);
    assert_int_equal(fx_user_tables(fx), HEAD_TABLES);
    free(down);
}

static void test_migrate_unknown_revision_in_database(void **state)
{
    oi_fixture *fx = FX(state);
    fx_sql_exec(fx, "DELETE FROM alembic_version; "
                    "INSERT INTO alembic_version (version_num) VALUES ('zzz_unknown')");
    const char *cur = NULL;
    assert_rc(fx, oi_migrate_current(fx->store, &cur), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "zzz_unknown");
    assert_rc(fx, oi_migrate_check_head(fx->store), OI_ESCHEMA);
    /* nothing is applied on top of a revision we do not know */
    assert_rc(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL), OI_ESCHEMA);
    assert_rc(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL), OI_ESCHEMA);
    assert_int_equal(fx_user_tables(fx), HEAD_TABLES);
}

static void test_migrate_unknown_target(void **state)
{
    oi_fixture *fx = FX(state);
    mig_log log = {0};
    assert_rc(fx, oi_migrate_upgrade(fx->store, "nope", on_applied, NULL, &log), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "nope");
    assert_rc(fx, oi_migrate_downgrade(fx->store, "nope", on_applied, NULL, &log), OI_EINVALID);
    assert_rc(fx, oi_migrate_downgrade(fx->store, "-x", on_applied, NULL, &log), OI_EINVALID);
    assert_rc(fx, oi_migrate_upgrade(fx->store, "-1", on_applied, NULL, &log), OI_EINVALID);
    /* the message stays one line whatever the target holds */
    assert_rc(fx, oi_migrate_upgrade(fx->store, "bad\nrevision\n", on_applied, NULL, &log),
              OI_EINVALID);
    assert_null(strchr(oi_errmsg(fx->store), '\n'));
    assert_int_equal(log.napplied, 0);
    assert_current(fx, HEAD);
}

static void test_migrate_bad_downgrade_targets(void **state)
{
    oi_fixture *fx = FX(state);
    assert_rc(fx, oi_migrate_downgrade(fx->store, "-9", NULL, NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_migrate_downgrade(fx->store, "-0", NULL, NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_migrate_downgrade(fx->store, NULL, NULL, NULL, NULL), OI_EINVALID);
    assert_current(fx, HEAD);
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV1, NULL, NULL, NULL));
    assert_current(fx, REV1);
    /* a downgrade never goes up */
    assert_rc(fx, oi_migrate_downgrade(fx->store, REV2, NULL, NULL, NULL), OI_EINVALID);
    assert_current(fx, REV1);
}

static void test_migrate_branched_history_refused(void **state)
{
    oi_fixture *fx = FX(state);
    fx_sql_exec(fx, "INSERT INTO alembic_version (version_num) VALUES ('" REV1 "')");
    const char *cur = NULL;
    assert_rc(fx, oi_migrate_current(fx->store, &cur), OI_ESCHEMA);
    assert_rc(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL), OI_ESCHEMA);
}

/* A revision that fails is rolled back whole; the ones before it stay. */
static void test_migrate_failed_revision_rolls_back(void **state)
{
    oi_fixture *fx = FX(state);
    downgrade_base(fx);
    fx_sql_exec(fx, "CREATE TABLE agent_configs (squatter integer)");
    mig_log log = {0};
    int rc = oi_migrate_upgrade(fx->store, "head", on_applied, NULL, &log);
    assert_true(rc != OI_OK);
    assert_contains(oi_errmsg(fx->store), REV2);
    assert_int_equal(log.napplied, 1);
    assert_current(fx, REV1);
    assert_int_equal(fx_user_tables(fx), 7); /* the 6 core tables and the squatter */
    assert_int_equal(fx_sql_int(fx, "SELECT count(squatter) FROM agent_configs"), 0);
}

/* 005_api_tokens down and up again: the table and its index go and come
 * back as they were; its rows go with it, and nothing below is touched. */
static void test_migrate_api_tokens_round_trip(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ];
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "Keeps Its Row", &a);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_AGENT, a.id, "ci", token, NULL));
    assert_int_equal(fx_count(fx, "api_tokens"), 1);
    char *at_head = fx_schema_dump(fx);
    assert_contains(at_head, "api_tokens");
    assert_contains(at_head, "ix_api_tokens_agent_id");

    mig_log log = {0};
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV4, on_applied, NULL, &log));
    assert_int_equal(log.napplied, 4);
    assert_string_equal(log.applied[0], REV8); /* newest first */
    assert_string_equal(log.applied[1], REV7);
    assert_string_equal(log.applied[2], REV6);
    assert_string_equal(log.applied[3], REV5);
    assert_current(fx, REV4);
    assert_int_equal(fx_user_tables(fx), REV5_TABLES - 1);
    char *at_rev4 = fx_schema_dump(fx);
    assert_not_contains(at_rev4, "api_tokens");
    assert_int_equal(fx_count(fx, "agents"), 1); /* the tables below keep their rows */
    assert_rc(fx, oi_token_verify(fx->store, token, NULL), OI_ESCHEMA);
    bool any = true;
    assert_rc(fx, oi_token_any(fx->store, &any), OI_ESCHEMA);
    char other[OI_TOKEN_BUFSZ] = "x";
    assert_rc(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, NULL, other, NULL), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "cannot create API token");
    assert_string_equal(other, "");
    oi_iter *it = NULL;
    assert_rc(fx, fx_first_api_tokens(oi_token_iter_new(&it, fx->store), &it), OI_ESCHEMA);
    char id[OI_UUID_LEN + 1];
    fx_random_uuid(id);
    assert_rc(fx, oi_token_revoke(fx->store, id), OI_ESCHEMA);

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", on_applied, NULL, &log));
    assert_int_equal(log.napplied, 8);
    assert_string_equal(log.applied[4], REV5);
    char *again = fx_schema_dump(fx);
    assert_string_equal(again, at_head);
    assert_int_equal(fx_count(fx, "api_tokens"), 0); /* the tokens did not come back */
    assert_rc(fx, oi_token_verify(fx->store, token, NULL), OI_ENOTFOUND);
    assert_ok(fx, oi_token_any(fx->store, &any));
    assert_false(any);
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV4, NULL, NULL, NULL));
    char *down_again = fx_schema_dump(fx);
    assert_string_equal(down_again, at_rev4);
    free(at_head);
    free(at_rev4);
    free(again);
    free(down_again);
    oi_agent_clear(&a);
}

/* Rows of each table 006 gives a revision column, as "agents=1,...". */
static void watched_counts(oi_fixture *fx, char *out, size_t size)
{
    static const char *const tables[] = {"agents", "agent_states", "agent_configs",
                                         "agent_capabilities", "resource_locks",
                                         "recommendations", "approvals"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s=%lld,", tables[i],
                 fx_count(fx, tables[i]));
}

/* 006_coordination down and up again: each way the schema is exactly what
 * a fresh database gets, the rows of the watched tables stay, and the
 * upgrade gives the locks held then their first fencing tokens, in
 * resource order, and starts the revision at 0 with an empty log. */
static void test_migrate_coordination_round_trip(void **state)
{
    oi_fixture *fx = FX(state);
    char *at_head = fx_schema_dump(fx);
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV5, NULL, NULL, NULL));
    char *fresh_rev5 = fx_schema_dump(fx);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));

    oi_agent a = OI_AGENT_INIT;
    oi_customer cust = OI_CUSTOMER_INIT;
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    oi_lock lock = OI_LOCK_INIT;
    fx_make_agent(fx, "cost", "Keeps Its Rows", &a);
    fx_make_customer(fx, "rows@example.com", &cust);
    fx_make_recommendation(fx, cust.id, a.id, &rec);
    oi_approval ap = OI_APPROVAL_INIT;
    memcpy(ap.recommendation_id, rec.id, sizeof ap.recommendation_id);
    ap.approved_by = "ops@example.com";
    assert_ok(fx, oi_approval_create(fx->store, &ap));
    assert_ok(fx, oi_config_set(fx->store, a.id, "mode", "fast", NULL, NULL, OI_SENSITIVE_KEEP,
                                NULL));
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    memcpy(cap.agent_id, a.id, sizeof cap.agent_id);
    cap.capability_name = "rightsizing";
    cap.capability_version = "1.0.0";
    assert_ok(fx, oi_agent_capability_create(fx->store, &cap));
    assert_ok(fx, oi_lock_acquire(fx->store, a.id, "zone-b", 0, 0, &lock));
    oi_lock_clear(&lock);
    assert_ok(fx, oi_lock_acquire(fx->store, a.id, "zone-a", 0, 0, &lock));
    char rows[512], rows_after[512];
    watched_counts(fx, rows, sizeof rows);
    assert_contains(rows, "agent_states=1,"); /* the locks' list */
    assert_contains(rows, "resource_locks=2,");

    assert_ok(fx, oi_migrate_downgrade(fx->store, REV5, NULL, NULL, NULL));
    assert_current(fx, REV5);
    assert_int_equal(fx_user_tables(fx), REV5_TABLES);
    char *down = fx_schema_dump(fx);
    assert_string_equal(down, fresh_rev5);
    watched_counts(fx, rows_after, sizeof rows_after);
    assert_string_equal(rows_after, rows);
    int64_t rev = 0;
    assert_rc(fx, oi_store_revision(fx->store, &rev), OI_ESCHEMA);

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    char *up = fx_schema_dump(fx);
    assert_string_equal(up, at_head);
    watched_counts(fx, rows_after, sizeof rows_after);
    assert_string_equal(rows_after, rows);
    char *fences = fx_sql_text(fx, "SELECT resource, fence FROM lock_fences ORDER BY fence");
    assert_string_equal(fences, "zone-a|1\nzone-b|2\n");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agents WHERE revision <> 0"), 0);
    assert_int_equal(fx_count(fx, "change_log"), 0);
    assert_ok(fx, oi_store_revision(fx->store, &rev));
    assert_int_equal(rev, 0);

    /* the first change after the upgrade is revision 1, and the next
     * lock handed out gets the next fence */
    oi_lock_clear(&lock);
    assert_ok(fx, oi_lock_acquire(fx->store, a.id, "zone-c", 0, 0, &lock));
    assert_int_equal(fx_sql_int(fx, "SELECT fence FROM lock_fences WHERE resource = 'zone-c'"),
                     3);
    assert_int_equal(fx_sql_int(fx, "SELECT min(revision) FROM change_log"), 1);
    free(fences);
    free(at_head);
    free(fresh_rev5);
    free(down);
    free(up);
    oi_lock_clear(&lock);
    oi_recommendation_clear(&rec);
    oi_customer_clear(&cust);
    oi_agent_clear(&a);
}

/* 007_json_null: the nullable JSON columns take JSON null, as the spec's
 * SQLAlchemy models write None, and the library reads it back as absent;
 * down, a JSON null becomes SQL NULL and the narrower check returns; each
 * way the schema is exactly what a fresh database gets. */
static void test_migrate_json_null_round_trip(void **state)
{
    oi_fixture *fx = FX(state);
    char *at_head = fx_schema_dump(fx);
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV6, NULL, NULL, NULL));
    char *fresh_rev6 = fx_schema_dump(fx);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));

    oi_agent a = OI_AGENT_INIT;
    oi_customer cust = OI_CUSTOMER_INIT;
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    fx_make_agent(fx, "cost", "Written By SQLAlchemy", &a);
    fx_make_customer(fx, "orm@example.com", &cust);
    fx_make_recommendation(fx, cust.id, a.id, &rec);
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO agent_states (agent_id, last_error) VALUES ('%s', 'null')",
             a.id);
    fx_sql_exec(fx, sql);
    snprintf(sql, sizeof sql, "INSERT INTO optimizations (recommendation_id, customer_id, agent_id, "
             "result) VALUES ('%s', '%s', '%s', 'null')", rec.id, cust.id, a.id);
    fx_sql_exec(fx, sql);
    char *state_id = fx_sql_text(fx, "SELECT id FROM agent_states");
    char *opt_id = fx_sql_text(fx, "SELECT id FROM optimizations");
    state_id[strcspn(state_id, "\n")] = opt_id[strcspn(opt_id, "\n")] = '\0';
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, state_id, &st));
    assert_null(st.last_error); /* JSON null reads back as absent */
    oi_optimization opt = OI_OPTIMIZATION_INIT;
    assert_ok(fx, oi_optimization_get(fx->store, opt_id, &opt));
    assert_null(opt.result);
    assert_false(fx_sql_try(fx, "UPDATE agent_states SET last_error = '[]'")); /* still checked */

    assert_ok(fx, oi_migrate_downgrade(fx->store, REV6, NULL, NULL, NULL));
    char *down = fx_schema_dump(fx);
    assert_string_equal(down, fresh_rev6);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_states WHERE last_error IS NULL"), 1);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM optimizations WHERE result IS NULL"), 1);
    assert_false(fx_sql_try(fx, "UPDATE agent_states SET last_error = 'null'"));

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    char *up = fx_schema_dump(fx);
    assert_string_equal(up, at_head);
    assert_true(fx_sql_try(fx, "UPDATE agent_states SET last_error = 'null'"));
    free(at_head);
    free(fresh_rev6);
    free(down);
    free(up);
    free(state_id);
    free(opt_id);
    oi_agent_state_clear(&st);
    oi_optimization_clear(&opt);
    oi_recommendation_clear(&rec);
    oi_customer_clear(&cust);
    oi_agent_clear(&a);
}

/* Statements a store prepared before a downgrade still work after the
 * tables are recreated. */
static void test_migrate_store_usable_after_roundtrip(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "Before", &a);
    oi_agent_clear(&a);
    downgrade_base(fx);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    fx_make_agent(fx, "cost", "After", &a);
    oi_agent *all = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_iter_new(&it, fx->store));
    size_t n = fx_collect_agents(fx, it, &all);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].name, "After");
    fx_free_agents(all, n);
    oi_agent_clear(&a);
}

/* Before the schema exists every call says so, with OI_ESCHEMA. */
static void test_calls_without_schema_fail(void **state)
{
    oi_fixture *fx = FX(state);
    char id[OI_UUID_LEN + 1];
    fx_random_uuid(id);
    downgrade_base(fx);
    oi_iter *it = NULL;
    oi_agent a = OI_AGENT_INIT;
    double avg;
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = id;
    /* an iteration is refused by its constructor or by its first next() */
    assert_rc(fx, fx_first_customers(oi_customer_iter_new(&it, fx->store), &it), OI_ESCHEMA);
    assert_rc(fx, oi_agent_find(fx->store, "cost", "x", &a), OI_ESCHEMA);
    assert_rc(fx, fx_first_agent_configs(oi_agent_config_iter_by_agent(&it, fx->store, id), &it),
              OI_ESCHEMA);
    assert_rc(fx, fx_first_agent_metrics(oi_metric_iter_new(&it, fx->store, &f), &it),
              OI_ESCHEMA);
    assert_rc(fx, oi_agent_metric_avg(fx->store, &f, &avg), OI_ESCHEMA);
    assert_rc(fx, fx_first_agents(oi_agent_iter_active_workflow(&it, fx->store), &it),
              OI_ESCHEMA);
    assert_rc(fx, oi_seed_core(fx->store, NULL), OI_ESCHEMA);
    assert_rc(fx, oi_seed_state(fx->store, NULL), OI_ESCHEMA);
    assert_int_equal(fx_user_tables(fx), 0);
}

/* ---- concurrent migrators ---------------------------------------------- */

enum { MIGRATORS = 3 };

static void child_applied(void *ctx, const char *rev)
{
    char line[80];
    int n = snprintf(line, sizeof line, "%s\n", rev);
    if (write(*(int *)ctx, line, (size_t)n) != n)
        _exit(99);
}

/* A migrator process: wait for the start signal, then upgrade to head.
 * No cmocka assertion may run here: the exit code is the verdict. */
static void migrator(const char *url, int go_fd, int log_fd)
{
    char c;
    if (read(go_fd, &c, 1) < 0)
        _exit(98);
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    if (rc == OI_OK)
        rc = oi_migrate_upgrade(store, "head", child_applied, NULL, &log_fd);
    if (rc != OI_OK)
        fprintf(stderr, "migrator %d: %d %s\n", (int)getpid(), rc, oi_errmsg(store));
    oi_store_close(store);
    _exit(rc == OI_OK ? 0 : 10 - rc);
}

static void test_migrate_concurrent_migrators(void **state)
{
    oi_fixture *fx = FX(state);
    downgrade_base(fx);
    int go[2], log[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(log), 0);
    pid_t pids[MIGRATORS];
    fflush(NULL);
    for (int i = 0; i < MIGRATORS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(log[0]);
            migrator(fx->url, go[0], log[1]);
        }
    }
    close(go[0]);
    close(log[1]);
    close(go[1]); /* every migrator starts now */

    char buf[4096] = {0};
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(log[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(log[0]);
    for (int i = 0; i < MIGRATORS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("migrator %d failed: status %d", i, status);
    }

    int applied[NREVISIONS] = {0};
    const char *revs[NREVISIONS] = {REV1, REV2, REV3, REV4, REV5, REV6, REV7, REV8};
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        for (int r = 0; r < NREVISIONS; r++)
            applied[r] += strcmp(line, revs[r]) == 0;
    for (int r = 0; r < NREVISIONS; r++)
        assert_int_equal(applied[r], 1); /* each revision applied exactly once */
    assert_current(fx, HEAD);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM alembic_version"), 1);
    assert_int_equal(fx_user_tables(fx), HEAD_TABLES);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int run_migrate_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_revisions_compiled_in),
        T(test_migrate_upgrade_head),
        T(test_migrate_upgrade_again_changes_nothing),
        T(test_migrate_upgrade_step_by_step),
        T(test_migrate_downgrade_one_step),
        T(test_migrate_downgrade_base),
        T(test_migrate_roundtrip_same_schema),
        T(test_migrate_sql_mode_executes_nothing),
        T(test_migrate_unknown_revision_in_database),
        T(test_migrate_unknown_target),
        T(test_migrate_bad_downgrade_targets),
        T(test_migrate_branched_history_refused),
        T(test_migrate_failed_revision_rolls_back),
        T(test_migrate_api_tokens_round_trip),
        T(test_migrate_coordination_round_trip),
        T(test_migrate_json_null_round_trip),
        T(test_migrate_store_usable_after_roundtrip),
        T(test_calls_without_schema_fail),
        T(test_migrate_concurrent_migrators),
    };
    return fx_run_group("migrate", tests);
}
