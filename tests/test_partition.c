/*
 * test_partition.c - time-partitioned agent_metrics (revision 008,
 * partition.c), on either backend: on PostgreSQL the table is partitioned
 * by month, on SQLite it stays plain and every call is a successful no-op,
 * so each test runs on both and checks the same answers.
 *
 * What is checked: an upgrade of a populated database (months of rows, and
 * the years 1 and 9999 and the epoch, which only the default partition
 * takes) and its downgrade keep every row with its id, and ids go on after
 * either; queries, aggregates, exports and metadata searches answer the
 * same on the plain and the partitioned table; maintain makes partitions
 * ahead (read from pg_inherits, not from the code under test), once, and
 * moves rows out of the default partition; prune drops whole partitions,
 * deletes the rest and does nothing the second time; import makes the
 * partitions of its rows' months, and still writes when it cannot.
 *
 * The rows are few (about 300) and written by one INSERT, so the group
 * costs its setups: a few seconds on each backend.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REV7 "007_json_null"
#define HOUR INT64_C(3600000000)
#define DAY (24 * HOUR)
#define NROWS 300     /* one every 7 hours: 87 days, four months */
#define STEP (7 * HOUR)

static const char *const far_times[] = {
    "0001-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z", "1970-01-01T00:00:00.000000Z",
};
#define NFAR 3

/* ---- helpers ------------------------------------------------------------------ */

/* The rows of the tests, in one raw INSERT (so that it works at revision
 * 007, below the library's head): NROWS rows back from `newest`, one every
 * STEP, over two agents, two names and metadata of two hosts, then the far
 * times. */
static void insert_rows(oi_fixture *fx, const char *agent_b, oi_time newest)
{
    char *sql = NULL, when[OI_TIME_BUFSZ];
    size_t len = 0;
    FILE *out = open_memstream(&sql, &len);
    assert_non_null(out);
    fputs("INSERT INTO agent_metrics (agent_id, metric_name, metric_value, metric_unit, "
          "collection_timestamp, metadata) VALUES ", out);
    for (int i = 0; i < NROWS + NFAR; i++) {
        const char *at = i < NROWS ? oi_time_format(newest - i * STEP, when) : far_times[i - NROWS];
        fprintf(out, "%s('%s', '%s', %d.%d, %s, '%s', '{\"host\": \"h%d\", \"i\": %d}')",
                i ? ", " : "", i % 3 ? fx->cost_agent.id : agent_b, i % 2 ? "cpu" : "mem",
                (i * 37) % 101, i % 10, i % 4 ? "'percent'" : "NULL", at, i % 2, i);
    }
    fclose(out);
    fx_sql_exec(fx, sql);
    free(sql);
}

static char *raw_rows(oi_fixture *fx)
{
    return fx_sql_text(fx, "SELECT id, agent_id, metric_name, metric_value, metric_unit, "
                           "collection_timestamp, metadata, created_at FROM agent_metrics ORDER BY id");
}

static void export_into(oi_fixture *fx, FILE *out, oi_metrics_format format,
                        const oi_export_filter *f)
{
    uint64_t rows = 0;
    assert_ok(fx, oi_metrics_export(fx->store, out, format, f, &rows));
    fprintf(out, "-- %llu rows\n", (unsigned long long)rows);
}

static void aggregate_into(oi_fixture *fx, FILE *out, const oi_metric_filter *f, int64_t bucket,
                           unsigned by)
{
    oi_iter *it = NULL;
    oi_metric_stats *rows = NULL;
    char when[OI_TIME_BUFSZ];
    assert_ok(fx, oi_metric_aggregate_iter_new(&it, fx->store, f, bucket, by));
    size_t n = fx_collect_metric_stats(fx, it, &rows);
    for (size_t i = 0; i < n; i++) {
        const oi_metric_stats *r = &rows[i];
        fprintf(out, "%s %s %s %lld %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n",
                r->bucket_start == OI_TIME_NULL ? "-" : oi_time_format(r->bucket_start, when),
                r->agent_id, r->metric_name ? r->metric_name : "-", (long long)r->count, r->sum,
                r->min, r->max, r->p50, r->p95, r->p99, r->avg);
    }
    fx_free_metric_stats(rows, n);
}

static void query_into(oi_fixture *fx, FILE *out, const oi_metric_filter *f)
{
    oi_agent_metric *items = NULL;
    char when[OI_TIME_BUFSZ];
    size_t n = fx_metric_query(fx, f, &items, NULL);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%lld %s %s\n", (long long)items[i].id,
                oi_time_format(items[i].collection_timestamp, when), items[i].metadata);
    fprintf(out, "-- %zu rows\n", n);
    fx_free_agent_metrics(items, n);
}

/* What the library answers about the rows: exports (whole and a window),
 * hourly aggregates over a day, daily over a month, one over everything,
 * metadata searches paged and streamed, an average.  free() it. */
static char *answers(oi_fixture *fx, oi_time newest)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    export_into(fx, out, OI_FORMAT_CSV, NULL);
    oi_export_filter window = OI_EXPORT_FILTER_INIT;
    window.from = newest - 40 * DAY;
    window.to = newest - 30 * DAY;
    export_into(fx, out, OI_FORMAT_NDJSON, &window);

    oi_metric_filter day = OI_METRIC_FILTER_INIT, month = OI_METRIC_FILTER_INIT,
                     all = OI_METRIC_FILTER_INIT;
    day.from = newest - 20 * DAY;
    day.to = newest - 19 * DAY;
    month.from = newest - 60 * DAY;
    month.to = newest - 30 * DAY;
    aggregate_into(fx, out, &day, HOUR, OI_BY_AGENT | OI_BY_NAME);
    aggregate_into(fx, out, &month, DAY, OI_BY_NAME);
    aggregate_into(fx, out, &all, 0, OI_BY_AGENT | OI_BY_NAME);

    oi_metadata_match host = {"host", "h1"};
    oi_metric_filter search = OI_METRIC_FILTER_INIT;
    search.where = &host;
    search.nwhere = 1;
    search.newest_first = true;
    query_into(fx, out, &search);
    search.stream = true;
    search.metric_name = "cpu";
    query_into(fx, out, &search);

    double avg = 0;
    month.agent_id = fx->cost_agent.id;
    assert_ok(fx, oi_agent_metric_avg(fx->store, &month, &avg));
    fprintf(out, "avg %.17g\n", avg);
    fclose(out);
    return text;
}

/* Partitions of agent_metrics, the default one included (0 on SQLite). */
static long long partitions(oi_fixture *fx)
{
    if (!fx_is_pg())
        return 0;
    return fx_sql_int(fx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'agent_metrics'::regclass");
}

static long long in_default(oi_fixture *fx)
{
    return fx_sql_int(fx, "SELECT count(*) FROM agent_metrics_default");
}

/* The partition a row of this metric value lives in ("" on SQLite); free() it. */
static char *home_of(oi_fixture *fx, const char *metric_name)
{
    char sql[256];
    if (!fx_is_pg())
        return strdup("");
    snprintf(sql, sizeof sql, "SELECT DISTINCT tableoid::regclass FROM agent_metrics "
             "WHERE metric_name = '%s'", metric_name);
    return fx_sql_text(fx, sql);
}

static oi_agent make_second_agent(oi_fixture *fx)
{
    oi_agent b = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "Second Agent", &b);
    return b;
}

/* The store's next id, by writing one metric through the library. */
static int64_t next_id(oi_fixture *fx)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", fx->cost_agent.id);
    m.metric_name = "probe";
    m.metric_value = 1;
    m.metadata = "{}";
    oi_agent_metric *items[] = {&m};
    assert_ok(fx, oi_metric_record_batch(fx->store, items, 1));
    return m.id;
}

/* ---- upgrade and downgrade -------------------------------------------------- */

static void test_partition_upgrade_downgrade_keep_rows(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent b = make_second_agent(fx);
    oi_time newest = oi_time_now();
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV7, NULL, NULL, NULL));
    insert_rows(fx, b.id, newest);
    char *plain = raw_rows(fx);
    long long max_id = fx_sql_int(fx, "SELECT max(id) FROM agent_metrics");

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    char *upgraded = raw_rows(fx);
    assert_string_equal(upgraded, plain);
    assert_int_equal(fx_count(fx, "agent_metrics"), NROWS + NFAR);
    if (fx_is_pg()) {
        assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM pg_class WHERE relname = "
                                        "'agent_metrics' AND relkind = 'p'"), 1);
        assert_true(partitions(fx) >= 3 + 1); /* the 3 or 4 months of the rows, the default */
        assert_int_equal(in_default(fx), NFAR); /* years 1 and 9999, the epoch */
        char *homes = fx_sql_text(fx, "SELECT string_agg(DISTINCT tableoid::regclass::text, ',')"
                                      " FROM agent_metrics WHERE extract(year FROM "
                                      "collection_timestamp AT TIME ZONE 'UTC') IN (1, 1970, 9999)");
        assert_string_equal(homes, "agent_metrics_default\n");
        free(homes);
    }
    assert_int_equal(next_id(fx), max_id + 1); /* the identity goes on, never collides */
    char *export_before = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&export_before, &len);
    export_into(fx, out, OI_FORMAT_CSV, NULL);
    fclose(out);

    assert_ok(fx, oi_migrate_downgrade(fx->store, REV7, NULL, NULL, NULL));
    assert_int_equal(fx_count(fx, "agent_metrics"), NROWS + NFAR + 1);
    char *downgraded = fx_sql_text(fx, "SELECT id, agent_id, metric_name, metric_value, metric_unit, "
                                       "collection_timestamp, metadata, created_at FROM "
                                       "agent_metrics WHERE metric_name <> 'probe' ORDER BY id");
    assert_string_equal(downgraded, plain);
    if (fx_is_pg())
        assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM pg_class WHERE relname = "
                                        "'agent_metrics' AND relkind = 'r'"), 1);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    assert_int_equal(next_id(fx), max_id + 2); /* and on after the downgrade */
    fx_sql_exec(fx, "DELETE FROM agent_metrics WHERE id = (SELECT max(id) FROM agent_metrics)");
    char *export_after = NULL;
    out = open_memstream(&export_after, &len);
    export_into(fx, out, OI_FORMAT_CSV, NULL);
    fclose(out);
    assert_string_equal(export_after, export_before);
    free(plain);
    free(upgraded);
    free(downgraded);
    free(export_before);
    free(export_after);
    oi_agent_clear(&b);
}

/* Queries, aggregates, exports and metadata searches: the plain table
 * (revision 007, read through the library, which needs no head for reads)
 * and the partitioned one answer the same, also once maintain has run. */
static void test_partition_same_answers_as_plain_table(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent b = make_second_agent(fx);
    oi_time newest = oi_time_now();
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV7, NULL, NULL, NULL));
    insert_rows(fx, b.id, newest);
    char *plain = answers(fx, newest);
    assert_contains(plain, "-- 303 rows");

    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    if (fx_is_pg())
        assert_true(partitions(fx) >= 4);
    char *partitioned = answers(fx, newest);
    assert_string_equal(partitioned, plain);
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    opts.ahead = 12;
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, NULL));
    char *maintained = answers(fx, newest);
    assert_string_equal(maintained, plain);
    free(plain);
    free(partitioned);
    free(maintained);
    oi_agent_clear(&b);
}

/* ---- maintain ------------------------------------------------------------------- */

static void test_partition_maintain_creates_ahead_once(void **state)
{
    oi_fixture *fx = FX(state);
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    oi_maintain_report r = OI_MAINTAIN_REPORT_INIT;
    opts.ahead = 6;
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, &r));
    assert_int_equal(r.partitioned, fx_is_pg());
    if (!fx_is_pg()) {
        assert_int_equal(r.partitions_created, 0);
        return;
    }
    long long made = partitions(fx);
    /* this month and 6 after it, and the default: read from the catalog */
    char *names = fx_sql_text(fx,
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'agent_metrics'::regclass");
    char want[64];
    for (int k = 0; k <= 6; k++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC') "
                 "+ interval '%d months', 'YYYYMM')", k);
        char *month = fx_sql_text(fx, sql);
        month[strcspn(month, "\n")] = '\0';
        snprintf(want, sizeof want, "agent_metrics_p%s", month);
        assert_contains(names, want);
        free(month);
    }
    assert_contains(names, "agent_metrics_default");
    free(names);
    assert_int_equal(made, 1 + 6 + 1); /* the upgrade's (this month), 6 ahead, the default */
    assert_int_equal(r.partitions_created, 6);

    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, &r)); /* idempotent */
    assert_int_equal(r.partitions_created, 0);
    assert_int_equal(r.rows_moved, 0);
    assert_int_equal(partitions(fx), made);
}

/* A row beyond the partitions sits in the default partition; the
 * maintenance that makes its partition moves it there, with its id. */
static void test_partition_maintain_moves_default_rows(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", fx->cost_agent.id);
    m.metric_name = "later";
    m.metric_value = 2.5;
    m.metadata = "{\"k\": \"v\"}";
    m.collection_timestamp = oi_time_now() + 200 * DAY; /* past the 3 months ahead */
    oi_agent_metric *items[] = {&m};
    assert_ok(fx, oi_metric_record_batch(fx->store, items, 1)); /* never fails */
    char *home = home_of(fx, "later");
    if (fx_is_pg())
        assert_string_equal(home, "agent_metrics_default\n");
    free(home);

    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    oi_maintain_report r = OI_MAINTAIN_REPORT_INIT;
    opts.ahead = 9;
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, &r));
    assert_int_equal(r.rows_moved, fx_is_pg() ? 1 : 0);
    home = home_of(fx, "later");
    if (fx_is_pg()) {
        assert_string_not_equal(home, "agent_metrics_default\n");
        assert_contains(home, "agent_metrics_p");
        assert_int_equal(in_default(fx), 0);
    }
    free(home);
    oi_agent_metric back = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, &back));
    assert_int_equal(back.collection_timestamp, m.collection_timestamp);
    assert_string_equal(back.metadata, "{\"k\": \"v\"}");
    oi_agent_metric_clear(&back);
}

static void test_partition_maintain_cli(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run run;
    fx_cli(fx, &run, "db", "maintain", NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, fx_is_pg() ? "Created 3 partitions of agent_metrics; moved 0 rows"
                                        : "Nothing to do: agent_metrics is a plain table on sqlite");
    fx_run_free(&run);
    fx_cli(fx, &run, "--json", "db", "maintain", "--ahead", "5", NULL);
    assert_int_equal(run.status, 0);
    json_t *doc = fx_json(run.out);
    assert_int_equal(json_is_true(fx_json_at(doc, "partitioned")), fx_is_pg());
    assert_int_equal(json_integer_value(fx_json_at(doc, "partitions_created")), fx_is_pg() ? 2 : 0);
    json_decref(doc);
    fx_run_free(&run);
    const char *bad[] = {"-1", "1001", "x", "2x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fx_cli(fx, &run, "db", "maintain", "--ahead", bad[i], NULL);
        assert_int_equal(run.status, 3);
        assert_contains(run.err, "--ahead");
        assert_int_equal(fx_count_lines(run.err), 1);
        fx_run_free(&run);
    }
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    opts.ahead = 1001;
    assert_rc(fx, oi_metrics_maintain(fx->store, &opts, NULL), OI_EINVALID);
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV7, NULL, NULL, NULL));
    fx_cli(fx, &run, "db", "maintain", NULL); /* below head: the same refusal on both */
    assert_int_equal(run.status, 6);
    assert_contains(run.err, "not at head");
    fx_run_free(&run);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    opts.version = 99;
    assert_rc(fx, oi_metrics_maintain(fx->store, &opts, NULL), OI_EINVALID);
    /* structs of a newer header are refused before anything is done */
    oi_maintain_report newer_report = {.version = OI_MAINTAIN_REPORT_VERSION + 1};
    assert_rc(fx, oi_metrics_maintain(fx->store, NULL, &newer_report), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_maintain_report");
    oi_prune_report newer_prune = {.version = OI_PRUNE_REPORT_VERSION + 1};
    assert_rc(fx, oi_metrics_prune_ext(fx->store, oi_time_now(), NULL, &newer_prune), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_prune_report");
    assert_rc(fx, oi_metrics_prune_ext(fx->store, OI_TIME_NULL, NULL, NULL), OI_EINVALID);
    oi_maintain_options init_opts;
    assert_ok(fx, oi_maintain_options_init(&init_opts, OI_MAINTAIN_OPTIONS_VERSION));
    assert_int_equal(init_opts.ahead, OI_MAINTAIN_AHEAD_SETTING);
    assert_rc(fx, oi_maintain_options_init(&init_opts, 99), OI_EINVALID);
    oi_prune_report init_report;
    assert_ok(fx, oi_prune_report_init(&init_report, OI_PRUNE_REPORT_VERSION));
    assert_int_equal(init_report.deleted + init_report.dropped_partitions, 0);
}

/* An operator switches to daily partitions: the months made already stay,
 * days are made from the first day no month covers, nothing overlaps or
 * fails; and what the functions and the settings refuse. */
static void test_partition_interval_change_and_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    long long months = partitions(fx);
    fx_sql_exec(fx, "UPDATE metrics_partitioning SET partition_interval = 'day'");
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    oi_maintain_report r = OI_MAINTAIN_REPORT_INIT;
    opts.ahead = 150;
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, &r));
    assert_true(r.partitions_created > 0 && r.partitions_created <= 150);
    assert_int_equal(partitions(fx), months + (long long)r.partitions_created);
    /* the first day made is the first day after the last month */
    char *first_day = fx_sql_text(fx,
        "SELECT min(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'agent_metrics'::regclass AND length(c.relname) = 23");
    char *after_months = fx_sql_text(fx,
        "SELECT 'agent_metrics_p' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') "
        "+ interval '1 month', 'YYYYMMDD')");
    assert_string_equal(first_day, after_months);
    free(first_day);
    free(after_months);
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, &r));
    assert_int_equal(r.partitions_created, 0);

    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", fx->cost_agent.id);
    m.metric_name = "daily";
    m.metric_value = 1;
    m.metadata = "{}";
    m.collection_timestamp = oi_time_now() + 140 * DAY;
    oi_agent_metric *items[] = {&m};
    assert_ok(fx, oi_metric_record_batch(fx->store, items, 1));
    char *home = home_of(fx, "daily");
    assert_int_equal(strlen(home), 24); /* agent_metrics_pYYYYMMDD and a newline */
    free(home);

    assert_false(fx_sql_try(fx, "SELECT oi_metrics_partition_drop('agents', false)"));
    assert_false(fx_sql_try(fx, "SELECT oi_metrics_partition_drop('agent_metrics_default', false)"));
    assert_false(fx_sql_try(fx, "SELECT oi_metrics_partition_drop('x\"; DROP TABLE agents; --', false)"));
    assert_int_equal(fx_count(fx, "agents"), 1);
    assert_false(fx_sql_try(fx, "UPDATE metrics_partitioning SET partition_interval = 'week'"));
    assert_false(fx_sql_try(fx, "UPDATE metrics_partitioning SET premake = -1"));
    assert_false(fx_sql_try(fx, "UPDATE metrics_partitioning SET history = '-1 day'"));
    assert_false(fx_sql_try(fx, "INSERT INTO metrics_partitioning (id) VALUES (2)"));
}

/* ---- prune ---------------------------------------------------------------------- */

static void test_partition_prune_drops_whole_partitions(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent b = make_second_agent(fx);
    oi_time newest = oi_time_now();
    assert_ok(fx, oi_migrate_downgrade(fx->store, REV7, NULL, NULL, NULL));
    insert_rows(fx, b.id, newest);
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    oi_time cutoff = newest - 50 * DAY;
    char when[OI_TIME_BUFSZ], sql[512];
    oi_time_format(cutoff, when);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_metrics WHERE collection_timestamp < '%s'",
             when);
    long long older = fx_sql_int(fx, sql);
    long long whole_months = 0, rows_in_them = 0;
    if (fx_is_pg()) { /* the months of rows that end before the cut-off, in UTC */
        snprintf(sql, sizeof sql, "SELECT count(DISTINCT date_trunc('month', collection_timestamp, "
                 "'UTC')) FROM agent_metrics WHERE collection_timestamp < date_trunc('month', "
                 "'%s'::timestamptz, 'UTC') AND collection_timestamp > '1971-01-01'", when);
        whole_months = fx_sql_int(fx, sql);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_metrics WHERE collection_timestamp < "
                 "date_trunc('month', '%s'::timestamptz, 'UTC') AND collection_timestamp > "
                 "'1971-01-01'", when);
        rows_in_them = fx_sql_int(fx, sql);
        assert_true(whole_months >= 1);
    }
    long long parts = partitions(fx);

    oi_prune_options opts = OI_PRUNE_OPTIONS_INIT;
    oi_prune_report dry = OI_PRUNE_REPORT_INIT, r = OI_PRUNE_REPORT_INIT;
    opts.batch_size = 7;
    opts.dry_run = true;
    assert_ok(fx, oi_metrics_prune_ext(fx->store, cutoff, &opts, &dry));
    assert_int_equal(dry.deleted + dry.dropped_rows, older);
    assert_int_equal(dry.dropped_partitions, whole_months);
    assert_int_equal(partitions(fx), parts);
    assert_int_equal(fx_count(fx, "agent_metrics"), NROWS + NFAR);

    opts.dry_run = false;
    assert_ok(fx, oi_metrics_prune_ext(fx->store, cutoff, &opts, &r));
    assert_int_equal(r.dropped_partitions, whole_months);
    assert_int_equal(r.dropped_rows, rows_in_them);
    assert_int_equal(r.deleted, older - rows_in_them); /* the cut-off's month, the far times */
    assert_int_equal(partitions(fx), parts - whole_months);
    assert_int_equal(fx_count(fx, "agent_metrics"), NROWS + NFAR - older);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_metrics WHERE collection_timestamp < '%s'",
             when);
    assert_int_equal(fx_sql_int(fx, sql), 0);
    if (fx_is_pg())
        assert_int_equal(in_default(fx), 1); /* 9999 stays */

    assert_ok(fx, oi_metrics_prune_ext(fx->store, cutoff, &opts, &r)); /* a rerun: nothing */
    assert_int_equal(r.deleted + r.dropped_partitions + r.dropped_rows, 0);
    uint64_t deleted = 99;
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, NULL, &deleted));
    assert_int_equal(deleted, 0);
    oi_agent_clear(&b);
}

static void test_partition_prune_cli_reports_drops(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent b = make_second_agent(fx);
    insert_rows(fx, b.id, oi_time_now()); /* into the default partition, but this month's */
    oi_maintain_report made = OI_MAINTAIN_REPORT_INIT;
    assert_ok(fx, oi_metrics_maintain(fx->store, NULL, &made)); /* moves them into theirs */
    if (fx_is_pg())
        assert_true(made.rows_moved > 100 && made.partitions_created >= 2);
    fx_run run;
    fx_cli(fx, &run, "--json", "metrics", "prune", "--older-than", "50d", NULL);
    assert_int_equal(run.status, 0);
    json_t *doc = fx_json(run.out);
    long long deleted = json_integer_value(fx_json_at(doc, "deleted"));
    long long dropped = json_integer_value(fx_json_at(doc, "partitions_dropped"));
    assert_true(deleted > 100);
    if (fx_is_pg())
        assert_true(dropped >= 1);
    else
        assert_int_equal(dropped, 0);
    assert_true(json_integer_value(fx_json_at(doc, "rows_in_dropped_partitions")) <= deleted);
    json_decref(doc);
    fx_run_free(&run);
    fx_cli(fx, &run, "metrics", "prune", "--older-than", "50d", NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, "Deleted 0 metrics collected before");
    assert_not_contains(run.out, "partition");
    fx_run_free(&run);
    oi_agent_clear(&b);
}

/* ---- import ----------------------------------------------------------------------- */

static char *csv_at(const char *const *times, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fputs("agent,metric_name,metric_value,collection_timestamp\n", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "Test Cost Agent,imp%zu,%zu,%s\n", i, i, times[i]);
    fclose(out);
    return text;
}

static int import_csv(oi_fixture *fx, const char *text)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    opts.batch_size = 2;
    int rc = oi_metrics_import(fx->store, in, OI_FORMAT_CSV, &opts, NULL);
    fclose(in);
    return rc;
}

/* Import into months with and without partitions: the store makes the
 * missing ones within its window, and the far times go to the default. */
static void test_partition_import_makes_partitions(void **state)
{
    oi_fixture *fx = FX(state);
    char back[OI_TIME_BUFSZ], now[OI_TIME_BUFSZ];
    oi_time_format(oi_time_now() - 100 * DAY, back);
    oi_time_format(oi_time_now(), now);
    const char *times[] = {now, back, "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"};
    long long before = partitions(fx);
    char *csv = csv_at(times, 4);
    assert_ok(fx, import_csv(fx, csv));
    assert_int_equal(fx_count(fx, "agent_metrics"), 4);
    if (fx_is_pg()) {
        assert_true(partitions(fx) >= before + 3); /* 100 days back: 3 or 4 months more */
        char *home = home_of(fx, "imp1");
        assert_contains(home, "agent_metrics_p");
        free(home);
        home = home_of(fx, "imp0");
        assert_contains(home, "agent_metrics_p");
        free(home);
        assert_int_equal(in_default(fx), 2);
    }
    long long after = partitions(fx);
    assert_ok(fx, import_csv(fx, csv)); /* the same months again: nothing to make */
    assert_int_equal(partitions(fx), after);
    assert_int_equal(fx_count(fx, "agent_metrics"), 8);
    free(csv);
}

/* A metric written alone (the C API, a batch, the CLI) lands in its month's
 * partition, made by the write, not in the default one: the service's and
 * the CLI's writes need no `db maintain` to be prunable by partition. */
static void test_partition_single_writes_make_partitions(void **state)
{
    oi_fixture *fx = FX(state);
    if (!fx_is_pg())
        fx_skip("SQLite keeps a plain table");
    char ahead[OI_TIME_BUFSZ], back[OI_TIME_BUFSZ];
    oi_time_format(oi_time_now() + 62 * DAY, ahead);     /* within premake, not made yet */
    oi_time_format(oi_time_now() - 200 * DAY, back);
    long long before = partitions(fx);

    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", fx->cost_agent.id);
    m.metric_name = "single_ahead";
    m.metric_value = 1;
    m.metadata = "{}";
    assert_int_equal(oi_time_parse(ahead, &m.collection_timestamp), OI_OK);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));

    oi_agent_metric b = m;
    b.id = 0;
    b.metric_name = "batch_back";
    assert_int_equal(oi_time_parse(back, &b.collection_timestamp), OI_OK);
    oi_agent_metric *items[] = {&b};
    assert_ok(fx, oi_metric_record_batch(fx->store, items, 1));

    const char *record[] = {"metrics", "record", fx->cost_agent.id, "cli_back", "2",
                            "--at", back};
    fx_run r;
    fx_cli_argv(fx, &r, true, record, 7);
    assert_int_equal(r.status, 0);
    fx_run_free(&r);

    assert_int_equal(in_default(fx), 0);
    assert_true(partitions(fx) >= before + 2);
    const char *names[] = {"single_ahead", "batch_back", "cli_back"};
    for (size_t i = 0; i < 3; i++) {
        char *home = home_of(fx, names[i]);
        assert_contains(home, "agent_metrics_p");
        free(home);
    }
}

/* A store that cannot make partitions (here: the function is gone, as for
 * a role without the right to create tables) still writes every row, to
 * the default partition, also inside the caller's transaction. */
static void test_partition_import_without_partitions_still_writes(void **state)
{
    oi_fixture *fx = FX(state);
    if (fx_is_pg())
        fx_sql_exec(fx, "ALTER FUNCTION oi_metrics_partitions_ensure(timestamptz, timestamptz, "
                        "integer) RENAME TO oi_metrics_partitions_ensure_gone");
    char back[OI_TIME_BUFSZ];
    oi_time_format(oi_time_now() - 150 * DAY, back);
    const char *times[] = {back, back};
    char *csv = csv_at(times, 2);
    long long before = partitions(fx);
    assert_ok(fx, import_csv(fx, csv));
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, import_csv(fx, csv));
    assert_ok(fx, oi_commit(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 4);
    assert_int_equal(partitions(fx), before);
    if (fx_is_pg())
        assert_int_equal(in_default(fx), 4);
    free(csv);
}

/* A partitioned database validates clean: partitions are no unknown
 * tables, their indexes and foreign keys no extra ones. */
static void test_partition_validate_clean(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run run;
    fx_cli(fx, &run, "seed", NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    opts.ahead = 2;
    assert_ok(fx, oi_metrics_maintain(fx->store, &opts, NULL));
    fx_cli(fx, &run, "validate", NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, "0 failed");
    assert_not_contains(run.out, "agent_metrics_p");
    fx_run_free(&run);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_partition_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_partition_upgrade_downgrade_keep_rows),
        T(test_partition_same_answers_as_plain_table),
        T(test_partition_maintain_creates_ahead_once),
        T(test_partition_maintain_moves_default_rows),
        T(test_partition_maintain_cli),
        T(test_partition_interval_change_and_refusals),
        T(test_partition_prune_drops_whole_partitions),
        T(test_partition_prune_cli_reports_drops),
        T(test_partition_import_makes_partitions),
        T(test_partition_single_writes_make_partitions),
        T(test_partition_import_without_partitions_still_writes),
        cmocka_unit_test_setup_teardown(test_partition_validate_clean, fx_setup, fx_teardown),
    };
    return fx_run_group("partition", tests);
}
