/*
 * test_metrics.c - record in batches, query with filters and cursors, the
 * latest value of each metric, aggregate in the database
 * (include/optiinfra/metrics.h), and the `optiinfra metrics` commands.
 *
 * Expected values are computed by hand in the comments, never by the code
 * under test, and the same numbers are asserted on both backends, so a
 * pass on each means identical results.  Percentiles are nearest rank:
 * pK = the value at rank ceil(K/100 * n) of the n sorted values.
 */
#include "harness.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const oi_time SECOND = 1000000;

static oi_time at(const char *iso)
{
    oi_time t = 0;
    assert_int_equal(oi_time_parse(iso, &t), OI_OK);
    return t;
}

static oi_agent_metric metric(const char *agent_id, const char *name, double value, oi_time t,
                              const char *metadata)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, agent_id, sizeof m.agent_id);
    m.metric_name = (char *)name;
    m.metric_value = value;
    m.metric_unit = "ms";
    m.collection_timestamp = t;
    m.metadata = (char *)metadata;
    return m;
}

static void add(oi_fixture *fx, const char *agent_id, const char *name, double value, oi_time t,
                const char *metadata)
{
    oi_agent_metric m = metric(agent_id, name, value, t, metadata);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
}

static void assert_num(double got, double want)
{
    if (!(got - want < 1e-9 && want - got < 1e-9))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* A filter with these fields set, every other one as OI_METRIC_FILTER_INIT
 * leaves it (not for from and to, which the macro sets). */
#define FILTER(...) \
    {.version = OI_METRIC_FILTER_VERSION, .from = OI_TIME_NULL, .to = OI_TIME_NULL, __VA_ARGS__}

/* Values of the rows f selects, in order, as "1,2,3". */
static void assert_values(oi_fixture *fx, const oi_metric_filter *f, const char *want)
{
    oi_agent_metric *items = NULL;
    char got[512] = "";
    size_t len = 0, n = fx_metric_query(fx, f, &items, NULL);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%g", i ? "," : "",
                                items[i].metric_value);
    fx_free_agent_metrics(items, n);
    if (strcmp(got, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", got, want);
}

/* ---- the latest value of each metric ---------------------------------------- */

typedef struct latest_row {
    const char *agent_id, *name;
    double value;
} latest_row;

static int by_agent_then_name(const void *pa, const void *pb)
{
    const latest_row *a = pa, *b = pb;
    int c = strcmp(a->agent_id, b->agent_id);
    return c ? c : strcmp(a->name, b->name);
}

/* The latest-value iterator of agent_id (NULL: every agent) yields want[]
 * (n rows, sorted here by agent id, then name in byte order), in order. */
static void assert_latest(oi_fixture *fx, const char *agent_id, latest_row *want, size_t n)
{
    oi_iter *it = NULL;
    oi_agent_metric *got = NULL;
    if (n)
        qsort(want, n, sizeof *want, by_agent_then_name);
    assert_ok(fx, oi_metric_latest_iter_new(&it, fx->store, agent_id));
    size_t count = fx_collect_agent_metrics(fx, it, &got);
    for (size_t i = 0; i < count && i < n; i++) {
        if (strcmp(got[i].agent_id, want[i].agent_id) || strcmp(got[i].metric_name, want[i].name))
            fail_msg("row %zu is %s/%s, want %s/%s", i, got[i].agent_id, got[i].metric_name,
                     want[i].agent_id, want[i].name);
        assert_num(got[i].metric_value, want[i].value);
        assert_true(got[i].id > 0 && got[i].metadata && got[i].created_at != OI_TIME_NULL);
    }
    assert_int_equal(count, n);
    fx_free_agent_metrics(got, count);
}

/* Ties on the timestamp go to the row recorded last (the greater id); a
 * newer timestamp wins over a greater id; several agents; byte order. */
static void test_metric_latest_per_agent_and_name(void **state)
{
    oi_fixture *fx = FX(state);
    const char *a = fx->cost_agent.id;
    oi_agent other = OI_AGENT_INIT, silent = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "Other", &other);
    fx_make_agent(fx, "resource", "Silent", &silent);
    const char *b = other.id;
    oi_time t0 = at("2026-03-01T00:00:00Z"), t1 = t0 + SECOND, t2 = t0 + 2 * SECOND,
            t3 = t0 + 3 * SECOND;
    add(fx, a, "mem", 20, t3, NULL);        /* the newest time, the smallest id */
    add(fx, a, "cpu", 1, t1, NULL);
    add(fx, a, "cpu", 2, t2, NULL);
    add(fx, a, "cpu", 3, t2, NULL);         /* the same time as 2, recorded after it */
    add(fx, a, "Zeta", 10, t1, NULL);       /* "Z" sorts before "c" in byte order */
    add(fx, a, "mem", 21, t1, NULL);
    add(fx, a, "\xc3\xa9t\xc3\xa9", 30, t1, NULL); /* "été" after every ASCII name */
    add(fx, b, "cpu", 40, t0, NULL);
    oi_agent_metric batch[] = {metric(b, "mem", 41, t2, NULL), metric(b, "mem", 42, t2, NULL)};
    assert_ok(fx, fx_record_batch(fx->store, batch, 2));

    latest_row every[] = {{a, "Zeta", 10}, {a, "cpu", 3}, {a, "mem", 20},
                          {a, "\xc3\xa9t\xc3\xa9", 30}, {b, "cpu", 40}, {b, "mem", 42}};
    assert_latest(fx, NULL, every, 6);
    latest_row of_a[] = {{a, "cpu", 3}, {a, "Zeta", 10}, {a, "mem", 20},
                         {a, "\xc3\xa9t\xc3\xa9", 30}};
    assert_latest(fx, a, of_a, 4);
    latest_row of_b[] = {{b, "mem", 42}, {b, "cpu", 40}};
    assert_latest(fx, b, of_b, 2);
    assert_latest(fx, silent.id, NULL, 0);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    assert_latest(fx, unknown, NULL, 0);

    /* an id in upper case is the same agent */
    char upper[OI_UUID_LEN + 1];
    snprintf(upper, sizeof upper, "%s", b);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    latest_row of_b_again[] = {{b, "cpu", 40}, {b, "mem", 42}};
    assert_latest(fx, upper, of_b_again, 2);

    oi_iter *it = fx_iter_unset;
    assert_rc(fx, oi_metric_latest_iter_new(&it, fx->store, "Other"), OI_EINVALID);
    assert_null(it);
    assert_contains(oi_errmsg(fx->store), "is not a UUID");

    /* agent show takes its latest metrics from here */
    fx_run r;
    fx_cli(fx, &r, "agent", "show", "Test Cost Agent", "--json", (char *)NULL);
    assert_int_equal(r.status, 0);
    json_t *j = fx_json(r.out), *latest = json_object_get(j, "latest_metrics");
    assert_int_equal(json_array_size(latest), 4);
    const char *names[] = {"Zeta", "cpu", "mem", "\xc3\xa9t\xc3\xa9"};
    const double values[] = {10, 3, 20, 30};
    for (size_t i = 0; i < 4; i++) {
        json_t *m = json_array_get(latest, i);
        assert_string_equal(json_string_value(json_object_get(m, "name")), names[i]);
        assert_num(json_number_value(json_object_get(m, "value")), values[i]);
    }
    json_decref(j);
    fx_run_free(&r);
    oi_agent_clear(&other);
    oi_agent_clear(&silent);
}

/* More (agent, name) pairs than a page holds: each once, in order. */
static void test_metric_latest_over_pages(void **state)
{
    oi_fixture *fx = FX(state);
    enum { NAMES = 503 };
    const char *a = fx->cost_agent.id;
    oi_time t0 = at("2026-03-01T00:00:00Z");
    oi_agent_metric *items = calloc(2 * NAMES, sizeof *items);
    char (*names)[16] = calloc(NAMES, sizeof *names);
    latest_row *want = calloc(NAMES, sizeof *want);
    assert_non_null(items);
    assert_non_null(names);
    assert_non_null(want);
    for (int i = 0; i < NAMES; i++) {
        snprintf(names[i], sizeof names[i], "n%03d", i);
        items[i] = metric(a, names[i], i + 1, t0 + SECOND, NULL); /* newer, recorded first */
        items[NAMES + i] = metric(a, names[i], -1, t0, NULL);
        want[i] = (latest_row){a, names[i], i + 1};
    }
    assert_ok(fx, fx_record_batch(fx->store, items, 2 * NAMES));
    assert_latest(fx, NULL, want, NAMES);
    assert_latest(fx, a, want, NAMES);
    free(want);
    free(names);
    free(items);
}

/* The code of reading every row of a metrics query: the constructor's, the
 * first failing next()'s, or OI_OK.  A refusing constructor sets it NULL. */
static int query_rc(oi_fixture *fx, const oi_metric_filter *f)
{
    oi_iter *it = fx_iter_unset;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    int rc = oi_metric_iter_new(&it, fx->store, f);
    if (rc != OI_OK) {
        assert_null(it);
        return rc;
    }
    while ((rc = oi_agent_metric_next(it, &m)) == OI_OK)
        oi_agent_metric_clear(&m);
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

/* The groups of an aggregate, read whole into *rows; returns their count. */
static size_t aggregate(oi_fixture *fx, const oi_metric_filter *f, int64_t bucket, unsigned by,
                        oi_metric_stats **rows)
{
    oi_iter *it = NULL;
    assert_ok(fx, oi_metric_aggregate_iter_new(&it, fx->store, f, bucket, by));
    return fx_collect_metric_stats(fx, it, rows);
}

/* As query_rc, for an aggregate. */
static int aggregate_rc(oi_fixture *fx, const oi_metric_filter *f, int64_t bucket, unsigned by)
{
    oi_iter *it = fx_iter_unset;
    oi_metric_stats row = OI_METRIC_STATS_INIT;
    int rc = oi_metric_aggregate_iter_new(&it, fx->store, f, bucket, by);
    if (rc != OI_OK) {
        assert_null(it);
        return rc;
    }
    while ((rc = oi_metric_stats_next(it, &row)) == OI_OK)
        oi_metric_stats_clear(&row);
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

/* ---- batches ------------------------------------------------------------ */

static void test_metric_batch_records_every_row(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time t = at("2026-01-01T00:00:00.123456Z");
    oi_agent_metric items[4] = {
        metric(fx->cost_agent.id, "latency", 1.5, t, "{\"region\": \"us-west\"}"),
        metric(fx->cost_agent.id, "latency", -2, t + 1, NULL),
        metric(fx->cost_agent.id, "cpu", 0, OI_TIME_NULL, "{}"),
        metric(fx->cost_agent.id, "cpu", 1e300, t, "{}"),
    };
    items[1].metric_unit = NULL;
    oi_time before = oi_time_now();
    assert_ok(fx, fx_record_batch(fx->store, items, 4));
    assert_int_equal(fx_count(fx, "agent_metrics"), 4);
    for (int i = 0; i < 4; i++) {
        assert_true(items[i].id > 0);
        if (i)
            assert_true(items[i].id > items[i - 1].id);
        oi_agent_metric got = OI_AGENT_METRIC_INIT;
        assert_ok(fx, oi_agent_metric_get(fx->store, items[i].id, &got));
        assert_string_equal(got.metric_name, items[i].metric_name);
        assert_true(got.metric_value == items[i].metric_value);
        assert_true(got.collection_timestamp == items[i].collection_timestamp);
        oi_agent_metric_clear(&got);
    }
    assert_true(items[2].collection_timestamp >= before); /* NULL became now */
    assert_ok(fx, fx_record_batch(fx->store, items, 0));
    assert_int_equal(fx_count(fx, "agent_metrics"), 4);
}

/* One bad row, wherever it is and whoever refuses it: nothing written. */
static void test_metric_batch_all_or_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    struct {
        size_t bad;        /* index of the bad row */
        int code;
        const char *message;
    } cases[] = {
        {2, OI_EINVALID, "metric 3 of 4: agent metric metric_value must be a finite number"},
        {3, OI_EINVALID, "metric 4 of 4: agent metric metadata must be a JSON object"},
        {1, OI_ECONSTRAINT, "metric 2 of 4: cannot create agent metric"}, /* the database refuses */
        {0, OI_EINVALID, "metric 1 of 4: agent metric metric_name is required"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        oi_agent_metric items[4];
        for (int i = 0; i < 4; i++)
            items[i] = metric(fx->cost_agent.id, "latency", i, oi_time_now(), "{}");
        oi_agent_metric *bad = &items[cases[c].bad];
        switch (c) {
        case 0: bad->metric_value = NAN; break;
        case 1: bad->metadata = "[1]"; break;
        case 2: memcpy(bad->agent_id, unknown, sizeof bad->agent_id); break;
        default: bad->metric_name = NULL; break;
        }
        assert_rc(fx, fx_record_batch(fx->store, items, 4), cases[c].code);
        assert_contains(oi_errmsg(fx->store), cases[c].message);
        assert_int_equal(fx_count(fx, "agent_metrics"), 0);
        for (int i = 0; i < 4; i++)
            assert_true(items[i].id == 0);
    }
    assert_rc(fx, oi_metric_record_batch(fx->store, NULL, 2), OI_EINVALID);
    oi_agent_metric first = metric(fx->cost_agent.id, "latency", 1, oi_time_now(), "{}");
    oi_agent_metric *with_hole[] = {&first, NULL};
    assert_rc(fx, oi_metric_record_batch(fx->store, with_hole, 2), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "metric 2 of 2 is NULL");
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    /* the store is usable after the failures */
    oi_agent_metric ok = metric(fx->cost_agent.id, "latency", 1, oi_time_now(), "{}");
    assert_ok(fx, fx_record_batch(fx->store, &ok, 1));
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
}

static void test_metric_batch_joins_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric items[3];
    for (int i = 0; i < 3; i++)
        items[i] = metric(fx->cost_agent.id, "latency", i, oi_time_now(), "{}");
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, fx_record_batch(fx->store, items, 3));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, fx_record_batch(fx->store, items, 3));
    assert_ok(fx, fx_record_batch(fx->store, items, 2));
    assert_ok(fx, oi_commit(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 5);
}

enum { WRITERS = 4, BATCHES = 8, BATCH_ROWS = 25, FAILING_BATCH = 3 };

/* A child process: BATCHES batches, the FAILING_BATCH-th with a bad last row. */
static void batch_writer(const char *url, const char *agent_id, int writer)
{
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    for (int b = 0; rc == OI_OK && b < BATCHES; b++) {
        oi_agent_metric items[BATCH_ROWS];
        char meta[64];
        snprintf(meta, sizeof meta, "{\"writer\": \"%d\", \"batch\": \"%d\"}", writer, b);
        for (int i = 0; i < BATCH_ROWS; i++)
            items[i] = metric(agent_id, "throughput", i, oi_time_now(), meta);
        if (b == FAILING_BATCH)
            items[BATCH_ROWS - 1].metric_value = NAN;
        rc = fx_record_batch(store, items, BATCH_ROWS);
        if (b == FAILING_BATCH)
            rc = rc == OI_EINVALID ? OI_OK : OI_ERROR;
    }
    if (rc != OI_OK)
        fprintf(stderr, "writer %d: %d %s\n", writer, rc, oi_errmsg(store));
    oi_store_close(store);
    _exit(rc == OI_OK ? 0 : 1);
}

/* Batches from several processes at once: each whole or absent, none mixed. */
static void test_metric_batch_concurrent_processes(void **state)
{
    oi_fixture *fx = FX(state);
    pid_t pids[WRITERS];
    fflush(NULL);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0)
            batch_writer(fx->url, fx->cost_agent.id, w);
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("writer %d failed: status %d", w, status);
    }
    assert_int_equal(fx_count(fx, "agent_metrics"), WRITERS * (BATCHES - 1) * BATCH_ROWS);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM (SELECT metadata FROM agent_metrics "
                                    "GROUP BY metadata) g"),
                     WRITERS * (BATCHES - 1));
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM (SELECT count(*) AS n FROM "
                                    "agent_metrics GROUP BY metadata) g WHERE n <> 25"), 0);
}

/* ---- query filters ------------------------------------------------------ */

/* Six metrics of two agents (values 1-6, one second apart). */
static oi_time query_data(oi_fixture *fx, oi_agent *perf)
{
    oi_time t0 = at("2026-01-01T00:00:00Z");
    const char *cost = fx->cost_agent.id;
    fx_make_agent(fx, "performance", "Perf Agent", perf);
    add(fx, cost, "latency", 1, t0, "{\"region\": \"us-west\", \"env\": \"prod\"}");
    add(fx, cost, "latency", 2, t0 + SECOND, "{\"region\": \"us-east\", \"env\": \"prod\"}");
    add(fx, cost, "cpu", 3, t0 + 2 * SECOND, "{\"region\": \"us-west\", \"env\": \"dev\"}");
    add(fx, perf->id, "latency", 4, t0 + 3 * SECOND, "{\"region\": \"us-west\", \"env\": \"prod\"}");
    add(fx, perf->id, "memory", 5, t0 + 4 * SECOND,
        "{\"region\": \"us-west\", \"env\": \"prod\", \"tier\": 1}");
    add(fx, perf->id, "cpu", 6, t0 + 5 * SECOND, "{}");
    return t0;
}

static void test_metric_query_each_filter(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent perf = OI_AGENT_INIT;
    oi_time t0 = query_data(fx, &perf);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    assert_values(fx, &f, "1,2,3,4,5,6"); /* every agent */
    f.newest_first = true;
    assert_values(fx, &f, "6,5,4,3,2,1");

    oi_metric_filter by_agent = FILTER(.agent_id = fx->cost_agent.id);
    assert_values(fx, &by_agent, "1,2,3");
    by_agent.agent_id = perf.id;
    assert_values(fx, &by_agent, "4,5,6");

    oi_metric_filter by_name = FILTER(.metric_name = "latency");
    assert_values(fx, &by_name, "1,2,4");
    const char *names[] = {"latency", "cpu"};
    oi_metric_filter by_names = FILTER(.metric_names = names, .nmetric_names = 2);
    assert_values(fx, &by_names, "1,2,3,4,6");
    const char *cpu[] = {"cpu"};
    oi_metric_filter name_and_names = FILTER(.metric_name = "memory", .metric_names = cpu,
                                             .nmetric_names = 1);
    assert_values(fx, &name_and_names, "3,5,6");
    const char *none[] = {"never_recorded"};
    oi_metric_filter no_name = FILTER(.metric_names = none, .nmetric_names = 1);
    assert_values(fx, &no_name, "");

    oi_metric_filter window = OI_METRIC_FILTER_INIT;
    window.from = t0 + SECOND;
    window.to = t0 + 4 * SECOND;
    assert_values(fx, &window, "2,3,4,5");

    oi_metadata_match where[] = {{"region", "us-west"}, {"env", "prod"}, {"tier", "1"}};
    oi_metric_filter meta = FILTER(.where = where, .nwhere = 1);
    assert_values(fx, &meta, "1,3,4,5");
    meta.nwhere = 2;
    assert_values(fx, &meta, "1,4,5"); /* all conditions hold */
    meta.nwhere = 3;
    assert_values(fx, &meta, "5");
    oi_agent_clear(&perf);
}

static void test_metric_query_filters_combined(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent perf = OI_AGENT_INIT;
    oi_time t0 = query_data(fx, &perf);
    const char *names[] = {"latency", "memory"};
    oi_metadata_match where[] = {{"env", "prod"}, {"region", "us-west"}};
    oi_metric_filter f = FILTER(.agent_id = perf.id, .metric_names = names, .nmetric_names = 2,
                                .where = where, .nwhere = 2);
    f.from = t0 + 3 * SECOND;
    assert_values(fx, &f, "4,5");
    f.newest_first = true;
    assert_values(fx, &f, "5,4");
    f.limit = 1;
    assert_values(fx, &f, "5");
    f.to = t0 + 3 * SECOND;
    assert_values(fx, &f, "4");
    f.agent_id = fx->cost_agent.id;
    assert_values(fx, &f, "");

    oi_agent_metric *items = NULL; /* the rows themselves, not only their values */
    oi_metric_filter g = FILTER(.agent_id = fx->cost_agent.id, .limit = 2);
    size_t n = fx_metric_query(fx, &g, &items, NULL);
    assert_int_equal(n, 2);
    assert_true(items[0].metric_value == 1 && items[1].metric_value == 2);
    fx_free_agent_metrics(items, n);
    oi_agent_clear(&perf);
}

/* ---- pagination ---------------------------------------------------------- */

enum { PAGED_ROWS = 25 };

/* 25 rows in 5 timestamps (5 rows each), written newest group first so that
 * id order is not time order.  Every other row has "even": "yes". */
static void paging_data(oi_fixture *fx)
{
    oi_time t0 = at("2026-02-01T00:00:00Z");
    oi_agent_metric items[PAGED_ROWS];
    int i = 0;
    for (int g = 4; g >= 0; g--)
        for (int k = 0; k < 5; k++, i++)
            items[i] = metric(fx->cost_agent.id, "queue_depth", i, t0 + g * SECOND,
                              i % 2 ? "{}" : "{\"even\": \"yes\"}");
    assert_ok(fx, fx_record_batch(fx->store, items, PAGED_ROWS));
}

/* Walks every page of f with f->limit, each page one iterator resuming at
 * the cursor of the one before; returns the ids in order (count in *n). */
static int64_t *walk_pages(oi_fixture *fx, oi_metric_filter f, size_t *n)
{
    int64_t *ids = calloc(PAGED_ROWS + 1, sizeof *ids);
    char cursor[OI_CURSOR_BUFSZ] = "";
    *n = 0;
    for (int pages = 0;; pages++) {
        assert_true(pages <= PAGED_ROWS);
        f.cursor = cursor[0] ? cursor : NULL;
        oi_agent_metric *items = NULL;
        char next[OI_CURSOR_BUFSZ];
        size_t count = fx_metric_query(fx, &f, &items, next);
        for (size_t i = 0; i < count && *n < PAGED_ROWS + 1; i++)
            ids[(*n)++] = items[i].id;
        bool last = next[0] == '\0';
        if (!last)
            assert_int_equal(count, f.limit); /* only the last page is short */
        snprintf(cursor, sizeof cursor, "%s", next);
        fx_free_agent_metrics(items, count);
        if (last)
            return ids;
    }
}

/* (timestamp, id) strictly increases (or decreases) along the rows. */
static void assert_ordered(const oi_agent_metric *items, size_t n, bool newest_first)
{
    for (size_t i = 1; i < n; i++) {
        const oi_agent_metric *a = &items[i - 1], *b = &items[i];
        bool ascending = a->collection_timestamp < b->collection_timestamp ||
                         (a->collection_timestamp == b->collection_timestamp && a->id < b->id);
        if (ascending == newest_first)
            fail_msg("rows %zu and %zu out of order", i - 1, i);
    }
}

static void assert_walk_matches(oi_fixture *fx, oi_metric_filter f, size_t limit)
{
    oi_agent_metric *all = NULL;
    char all_cursor[OI_CURSOR_BUFSZ];
    size_t count = fx_metric_query(fx, &f, &all, all_cursor);
    assert_ordered(all, count, f.newest_first);
    assert_string_equal(all_cursor, "");
    f.limit = limit;
    size_t n;
    int64_t *ids = walk_pages(fx, f, &n);
    if (n != count)
        fail_msg("limit %zu: %zu rows over the pages, %zu in one query", limit, n, count);
    for (size_t i = 0; i < n; i++)
        if (ids[i] != all[i].id)
            fail_msg("limit %zu: row %zu is id %" PRId64 ", want %" PRId64, limit, i, ids[i],
                     all[i].id);
    free(ids);
    fx_free_agent_metrics(all, count);
}

/* Paged and streamed (1.6) alike, and either against the other: the
 * cursors of a streamed walk are those of a paged one. */
static void test_metric_pages_walk_every_row_once(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    const size_t limits[] = {1, 2, 3, 4, 5, 7, 24, 25, 26};
    for (int stream = 0; stream < 2; stream++) {
        for (int newest = 0; newest < 2; newest++)
            for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
                oi_metric_filter f = FILTER(.agent_id = fx->cost_agent.id,
                                            .newest_first = newest, .stream = stream);
                assert_walk_matches(fx, f, limits[i]);
            }
        oi_metadata_match even = {"even", "yes"};
        oi_metric_filter f = FILTER(.where = &even, .nwhere = 1, .metric_name = "queue_depth",
                                    .stream = stream);
        assert_walk_matches(fx, f, 2);
        f.newest_first = true;
        assert_walk_matches(fx, f, 4);
    }
    size_t n[2];
    int64_t *ids[2];
    for (int stream = 0; stream < 2; stream++)
        ids[stream] = walk_pages(fx, (oi_metric_filter)FILTER(.limit = 3, .stream = stream),
                                 &n[stream]);
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(ids[0], ids[1], n[0] * sizeof *ids[0]);
    free(ids[0]);
    free(ids[1]);
}

/* A page of exactly the remaining rows has no next cursor: no empty last page. */
static void test_metric_page_cursor_only_when_more(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    oi_metric_filter f = FILTER(.limit = 5);
    char cursor[OI_CURSOR_BUFSZ] = "";
    for (int p = 0; p < 5; p++) {
        f.cursor = p ? cursor : NULL;
        char next[OI_CURSOR_BUFSZ];
        assert_int_equal(fx_metric_query(fx, &f, NULL, next), 5);
        assert_true((next[0] != '\0') == (p < 4));
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    /* the order a cursor was made for is the order it continues */
    f.cursor = NULL;
    fx_metric_query(fx, &f, NULL, cursor);
    f.cursor = cursor;
    f.newest_first = true;
    oi_iter *it = fx_iter_unset;
    assert_rc(fx, oi_metric_iter_new(&it, fx->store, &f), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oldest-first");
    assert_null(it);
    oi_iter_free(NULL);
}

static void test_metric_malformed_cursor_refused(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    const char *bad[] = {
        "",
        "garbage",
        "o00061a5b7c2d3e4f000000000000000",   /* 32 characters */
        "o00061a5b7c2d3e4f00000000000000001", /* 34 */
        "x00061a5b7c2d3e4f0000000000000001",  /* unknown order */
        "o00061A5B7C2D3E4F0000000000000001",  /* upper case */
        "o00061a5b7c2d3e4f000000000000000g",  /* not hex */
        "o80000000000000000000000000000001",  /* time OI_TIME_NULL (0 is the epoch) */
        "o00061a5b7c2d3e4f0000000000000000",  /* id 0 */
        "o00061a5b7c2d3e4f8000000000000000",  /* negative id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        oi_metric_filter f = FILTER(.limit = 3, .cursor = bad[i]);
        oi_iter *it = fx_iter_unset;
        if (oi_metric_iter_new(&it, fx->store, &f) != OI_EINVALID)
            fail_msg("cursor '%s' accepted", bad[i]);
        assert_contains(oi_errmsg(fx->store), "cursor");
        assert_null(it);
    }
    oi_metric_filter ok = FILTER(.limit = 3, .cursor = "o00061a5b7c2d3e4f0000000000000001");
    assert_ok(fx, query_rc(fx, &ok)); /* well formed: resumes */
    /* the epoch is a time like any other: a cursor at time 0 is well formed too */
    oi_metric_filter epoch = FILTER(.limit = 3, .cursor = "o00000000000000000000000000000001");
    assert_int_equal(fx_metric_query(fx, &epoch, NULL, NULL), 3);
    ok.limit = (size_t)INT64_MAX;
    assert_rc(fx, query_rc(fx, &ok), OI_EINVALID);
}

static void test_metric_bad_filter_refused(void **state)
{
    oi_fixture *fx = FX(state);
    const char *null_name[] = {"latency", NULL};
    oi_metadata_match no_key = {NULL, "x"};
    oi_metric_filter bad[] = {
        FILTER(.agent_id = "not-a-uuid"),
        FILTER(.agent_id = ""),
        FILTER(.nmetric_names = 2),
        FILTER(.metric_names = null_name, .nmetric_names = 2),
        FILTER(.nwhere = 1),
        FILTER(.where = &no_key, .nwhere = 1),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        oi_iter *it = fx_iter_unset;
        double avg;
        assert_rc(fx, oi_metric_iter_new(&it, fx->store, &bad[i]), OI_EINVALID);
        assert_null(it);
        it = fx_iter_unset;
        assert_rc(fx, oi_metric_aggregate_iter_new(&it, fx->store, &bad[i], 0, 0), OI_EINVALID);
        assert_null(it);
        assert_rc(fx, oi_agent_metric_avg(fx->store, &bad[i], &avg), OI_EINVALID);
    }
    oi_iter *it = fx_iter_unset;
    assert_rc(fx, oi_metric_iter_new(&it, fx->store, NULL), OI_EINVALID);
    assert_null(it);
}

/* ---- aggregates ------------------------------------------------------- */

/* The statistics of one row, in the order of the struct. */
static void assert_stats(const oi_metric_stats *r, int64_t count, double sum, double avg,
                         double min, double max, double p50, double p95, double p99)
{
    assert_int_equal(r->count, count);
    assert_num(r->sum, sum);
    assert_num(r->avg, avg);
    assert_num(r->min, min);
    assert_num(r->max, max);
    assert_num(r->p50, p50);
    assert_num(r->p95, p95);
    assert_num(r->p99, p99);
}

static void record_values(oi_fixture *fx, const char *agent_id, const char *name,
                          const double *values, size_t n, oi_time t)
{
    oi_agent_metric *items = calloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = metric(agent_id, name, values[i], t, "{}");
    assert_ok(fx, fx_record_batch(fx->store, items, n));
    free(items);
}

static void test_metric_aggregate_whole(void **state)
{
    oi_fixture *fx = FX(state);
    /* 1..20 in a shuffled order: n 20, sum 210, avg 10.5; p50 rank 10 -> 10,
     * p95 rank 19 -> 19, p99 rank ceil(19.8) = 20 -> 20 */
    const double v[] = {7, 20, 1, 13, 2, 19, 8, 14, 3, 18, 9, 15, 4, 17, 10, 16, 5, 12, 6, 11};
    record_values(fx, fx->cost_agent.id, "latency", v, 20, oi_time_now());
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = aggregate(fx, &f, 0, 0, &rows);
    assert_int_equal(n, 1);
    assert_stats(&rows[0], 20, 210, 10.5, 1, 20, 10, 19, 20);
    assert_string_equal(rows[0].agent_id, ""); /* not grouped */
    assert_null(rows[0].agent_name);
    assert_null(rows[0].metric_name);
    assert_true(rows[0].bucket_start == OI_TIME_NULL);
    fx_free_metric_stats(rows, n);
    double avg = 0;
    assert_ok(fx, oi_agent_metric_avg(fx->store, &f, &avg));
    assert_num(avg, 10.5);
}

static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sums are the values added smallest first, to the last bit, on both
 * backends (decimal fractions make the order visible). */
static void test_metric_aggregate_sum_in_value_order(void **state)
{
    oi_fixture *fx = FX(state);
    enum { N = 200 };
    double v[N], sorted[N], want = 0;
    for (int i = 0; i < N; i++)
        v[i] = sorted[i] = ((i * 37) % N) / 10.0 + 0.01 * (i % 7);
    record_values(fx, fx->cost_agent.id, "fractions", v, N, oi_time_now());
    record_values(fx, fx->cost_agent.id, "ones", (const double[]){1, 1, 1}, 3, oi_time_now());
    qsort(sorted, N, sizeof *sorted, ascending);
    for (int i = 0; i < N; i++)
        want += sorted[i];
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = aggregate(fx, &f, 0, OI_BY_NAME, &rows);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].metric_name, "fractions");
    if (rows[0].sum != want || rows[0].avg != want / N)
        fail_msg("sum %.17g avg %.17g, want %.17g and %.17g", rows[0].sum, rows[0].avg, want,
                 want / N);
    assert_true(rows[1].sum == 3 && rows[1].avg == 1);
    fx_free_metric_stats(rows, n);
}

static void test_metric_aggregate_percentiles_nearest_rank(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_time t = oi_time_now();
    double hundred[100], two_hundred[200];
    for (int i = 0; i < 200; i++) {
        two_hundred[i] = 200 - i;
        if (i < 100)
            hundred[i] = i + 1;
    }
    const double one[] = {42}, three[] = {5, 1, 3}, ties[] = {7, 1, 7, 7};
    const double tens[] = {100, 90, 80, 70, 60, 50, 40, 30, 20, 10};
    record_values(fx, id, "one", one, 1, t);
    record_values(fx, id, "three", three, 3, t);
    record_values(fx, id, "ties", ties, 4, t);
    record_values(fx, id, "ten", tens, 10, t);
    record_values(fx, id, "hundred", hundred, 100, t);
    record_values(fx, id, "two_hundred", two_hundred, 200, t);

    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = aggregate(fx, &f, 0, OI_BY_NAME, &rows);
    assert_int_equal(n, 6);
    /* by name: hundred, one, ten, three, ties, two_hundred */
    assert_string_equal(rows[0].metric_name, "hundred"); /* ranks 50, 95, 99 */
    assert_stats(&rows[0], 100, 5050, 50.5, 1, 100, 50, 95, 99);
    assert_string_equal(rows[1].metric_name, "one"); /* every rank is 1 */
    assert_stats(&rows[1], 1, 42, 42, 42, 42, 42, 42, 42);
    assert_string_equal(rows[2].metric_name, "ten"); /* ranks 5, ceil(9.5)=10, ceil(9.9)=10 */
    assert_stats(&rows[2], 10, 550, 55, 10, 100, 50, 100, 100);
    assert_string_equal(rows[3].metric_name, "three"); /* 1 3 5: ranks 2, 3, 3 */
    assert_stats(&rows[3], 3, 9, 3, 1, 5, 3, 5, 5);
    assert_string_equal(rows[4].metric_name, "ties"); /* 1 7 7 7: ranks 2, 4, 4 */
    assert_stats(&rows[4], 4, 22, 5.5, 1, 7, 7, 7, 7);
    assert_string_equal(rows[5].metric_name, "two_hundred"); /* ranks 100, 190, 198 */
    assert_stats(&rows[5], 200, 20100, 100.5, 1, 200, 100, 190, 198);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].agent_id, "");
        assert_true(rows[i].bucket_start == OI_TIME_NULL);
    }
    fx_free_metric_stats(rows, n);
}

/* The group sizes where a nearest rank steps (multiples of 20 for p95 and
 * of 100 for p99, one either side): ranks by the integer rule, which
 * PostgreSQL's percentile_disc must reach through its float fraction
 * (aggregate.c); each group holds 1..n, written largest first. */
static void test_metric_aggregate_rank_boundaries(void **state)
{
    oi_fixture *fx = FX(state);
    static const int sizes[] = {1, 2, 3, 19, 20, 21, 39, 40, 41, 99, 100, 101,
                                199, 200, 201, 1999, 2000, 2001};
    enum { NSIZES = sizeof sizes / sizeof *sizes };
    oi_time t = oi_time_now();
    double *values = calloc(2001, sizeof *values);
    for (size_t g = 0; g < NSIZES; g++) {
        char name[16];
        snprintf(name, sizeof name, "n%04d", sizes[g]);
        for (int i = 0; i < sizes[g]; i++)
            values[i] = sizes[g] - i;
        record_values(fx, fx->cost_agent.id, name, values, (size_t)sizes[g], t);
    }
    free(values);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = aggregate(fx, &f, 0, OI_BY_NAME, &rows);
    assert_int_equal(n, NSIZES);
    for (size_t g = 0; g < NSIZES; g++) {
        int64_t size = sizes[g];
        double sum = (double)(size * (size + 1) / 2);
        /* ceil(k * n / 100) in integers: the value at that rank is the rank */
        double p50 = (double)((50 * size + 99) / 100), p95 = (double)((95 * size + 99) / 100),
               p99 = (double)((99 * size + 99) / 100);
        assert_stats(&rows[g], size, sum, sum / (double)size, 1, (double)size, p50, p95, p99);
    }
    fx_free_metric_stats(rows, n);
}

static void test_metric_aggregate_buckets(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    add(fx, id, "latency", 1, at("2026-03-01T10:05:00Z"), "{}");
    add(fx, id, "latency", 3, at("2026-03-01T10:59:59.999999Z"), "{}");
    add(fx, id, "latency", 10, at("2026-03-01T11:00:00Z"), "{}");
    add(fx, id, "latency", 20, at("2026-03-01T11:30:00Z"), "{}");
    add(fx, id, "latency", 100, at("2026-03-01T13:10:00Z"), "{}");
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = 0;
    int64_t width;

    assert_int_equal(oi_duration_parse("1h", &width), OI_OK);
    n = aggregate(fx, &f, width, 0, &rows);
    assert_int_equal(n, 3); /* empty hours (12:00) have no row */
    assert_true(rows[0].bucket_start == at("2026-03-01T10:00:00Z"));
    assert_stats(&rows[0], 2, 4, 2, 1, 3, 1, 3, 3);
    assert_true(rows[1].bucket_start == at("2026-03-01T11:00:00Z"));
    assert_stats(&rows[1], 2, 30, 15, 10, 20, 10, 20, 20);
    assert_true(rows[2].bucket_start == at("2026-03-01T13:00:00Z"));
    assert_stats(&rows[2], 1, 100, 100, 100, 100, 100, 100, 100);
    assert_null(rows[0].metric_name);
    fx_free_metric_stats(rows, n);

    /* 30 minutes: 10:59:59.999999 is in the 10:30 bucket */
    assert_int_equal(oi_duration_parse("30m", &width), OI_OK);
    n = aggregate(fx, &f, width, 0, &rows);
    const char *starts[] = {"2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z",
                            "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z",
                            "2026-03-01T13:00:00Z"};
    const double sums[] = {1, 3, 10, 20, 100};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].bucket_start == at(starts[i]));
        assert_stats(&rows[i], 1, sums[i], sums[i], sums[i], sums[i], sums[i], sums[i], sums[i]);
    }
    fx_free_metric_stats(rows, n);

    assert_int_equal(oi_duration_parse("1d", &width), OI_OK);
    n = aggregate(fx, &f, width, OI_BY_NAME, &rows);
    assert_int_equal(n, 1);
    assert_true(rows[0].bucket_start == at("2026-03-01T00:00:00Z"));
    assert_string_equal(rows[0].metric_name, "latency");
    assert_stats(&rows[0], 5, 134, 26.8, 1, 100, 10, 100, 100);
    fx_free_metric_stats(rows, n);

    /* a week: aligned on the epoch (a Thursday), 2026-02-26T00:00:00Z */
    assert_int_equal(oi_duration_parse("1w", &width), OI_OK);
    n = aggregate(fx, &f, width, 0, &rows);
    assert_int_equal(n, 1);
    assert_true(rows[0].bucket_start == at("2026-02-26T00:00:00Z"));
    fx_free_metric_stats(rows, n);
}

static void test_metric_aggregate_grouping(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent alpha = OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "Alpha Agent", &alpha); /* sorts before Test Cost Agent */
    const char *cost = fx->cost_agent.id;
    oi_time t = at("2026-04-01T08:15:00Z");
    add(fx, cost, "latency", 10, t, "{}");
    add(fx, cost, "latency", 20, t + SECOND, "{}");
    add(fx, cost, "cpu", 1, t, "{}");
    add(fx, alpha.id, "latency", 30, t, "{}");
    add(fx, alpha.id, "cpu", 2, t, "{}");
    add(fx, alpha.id, "cpu", 4, t + SECOND, "{}");
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;
    size_t n = 0;

    n = aggregate(fx, &f, 0, OI_BY_AGENT, &rows);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].agent_name, "Alpha Agent"); /* 2 4 30 */
    assert_string_equal(rows[0].agent_id, alpha.id);
    assert_null(rows[0].metric_name);
    assert_stats(&rows[0], 3, 36, 12, 2, 30, 4, 30, 30);
    assert_string_equal(rows[1].agent_name, "Test Cost Agent"); /* 1 10 20 */
    assert_stats(&rows[1], 3, 31, 31.0 / 3, 1, 20, 10, 20, 20);
    fx_free_metric_stats(rows, n);

    n = aggregate(fx, &f, 0, OI_BY_NAME, &rows);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].metric_name, "cpu"); /* 1 2 4 */
    assert_null(rows[0].agent_name);
    assert_stats(&rows[0], 3, 7, 7.0 / 3, 1, 4, 2, 4, 4);
    assert_string_equal(rows[1].metric_name, "latency"); /* 10 20 30 */
    assert_stats(&rows[1], 3, 60, 20, 10, 30, 20, 30, 30);
    fx_free_metric_stats(rows, n);

    n = aggregate(fx, &f, 0, OI_BY_AGENT | OI_BY_NAME, &rows);
    assert_int_equal(n, 4);
    const char *agents[] = {"Alpha Agent", "Alpha Agent", "Test Cost Agent", "Test Cost Agent"};
    const char *names[] = {"cpu", "latency", "cpu", "latency"};
    const double sums[] = {6, 30, 1, 30}, p50s[] = {2, 30, 1, 10};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].agent_name, agents[i]);
        assert_string_equal(rows[i].metric_name, names[i]);
        assert_num(rows[i].sum, sums[i]);
        assert_num(rows[i].p50, p50s[i]);
    }
    fx_free_metric_stats(rows, n);

    /* bucket and both keys; the filter still applies */
    oi_metric_filter cpu = FILTER(.metric_name = "cpu");
    n = aggregate(fx, &cpu, 3600 * SECOND, OI_BY_AGENT | OI_BY_NAME, &rows);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].bucket_start == at("2026-04-01T08:00:00Z"));
        assert_string_equal(rows[i].metric_name, "cpu");
    }
    assert_string_equal(rows[0].agent_name, "Alpha Agent");
    assert_stats(&rows[0], 2, 6, 3, 2, 4, 2, 4, 4);
    assert_stats(&rows[1], 1, 1, 1, 1, 1, 1, 1, 1);
    fx_free_metric_stats(rows, n);
    oi_agent_clear(&alpha);
}

/* Grouped by two keys or more, PostgreSQL groups on one text joining them
 * (aggregate.c, add_ordered_joined): each key comes back exactly, a name
 * holding the separator and a bucket before 1970 included, and no two
 * groups merge. */
static void test_metric_aggregate_keys_read_back(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent alpha = OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "Alpha Agent", &alpha);
    const char *cost = fx->cost_agent.id;
    oi_time early = at("1969-12-31T22:30:00Z"), late = at("2026-04-01T08:15:00Z");
    add(fx, cost, "a|b", 1, early, "{}");
    add(fx, cost, "a", 2, early, "{}");
    add(fx, alpha.id, "a|b", 3, early, "{}");
    add(fx, alpha.id, "|", 4, late, "{}");
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_metric_stats *rows = NULL;

    size_t n = aggregate(fx, &f, 3600 * SECOND, OI_BY_NAME, &rows);
    assert_int_equal(n, 3);
    const char *names[] = {"a", "a|b", "|"};
    const double counts[] = {1, 2, 1}, sums[] = {2, 4, 4};
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].bucket_start == at(i < 2 ? "1969-12-31T22:00:00Z"
                                                     : "2026-04-01T08:00:00Z"));
        assert_null(rows[i].agent_name);
        assert_string_equal(rows[i].metric_name, names[i]);
        assert_int_equal(rows[i].count, counts[i]);
        assert_num(rows[i].sum, sums[i]);
    }
    fx_free_metric_stats(rows, n);

    n = aggregate(fx, &f, 3600 * SECOND, OI_BY_AGENT | OI_BY_NAME, &rows);
    assert_int_equal(n, 4);
    const char *ids[] = {alpha.id, cost, cost, alpha.id};
    const char *names3[] = {"a|b", "a", "a|b", "|"};
    const double sums3[] = {3, 2, 1, 4};
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].bucket_start == at(i < 3 ? "1969-12-31T22:00:00Z"
                                                     : "2026-04-01T08:00:00Z"));
        assert_string_equal(rows[i].agent_id, ids[i]);
        assert_string_equal(rows[i].metric_name, names3[i]);
        assert_int_equal(rows[i].count, 1);
        assert_num(rows[i].sum, sums3[i]);
    }
    fx_free_metric_stats(rows, n);
    oi_agent_clear(&alpha);
}

static void test_metric_aggregate_filtered_and_empty(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent perf = OI_AGENT_INIT;
    oi_time t0 = query_data(fx, &perf);
    oi_metadata_match where[] = {{"region", "us-west"}, {"env", "prod"}};
    oi_metric_filter f = FILTER(.where = where, .nwhere = 2);
    f.from = t0;
    f.to = t0 + 4 * SECOND;
    oi_metric_stats *rows = NULL;
    size_t n = aggregate(fx, &f, 0, 0, &rows); /* 1 4 5 */
    assert_int_equal(n, 1);
    assert_stats(&rows[0], 3, 10, 10.0 / 3, 1, 5, 4, 5, 5);
    fx_free_metric_stats(rows, n);
    f.agent_id = perf.id; /* 4 5 */
    n = aggregate(fx, &f, 60 * SECOND, OI_BY_AGENT, &rows);
    assert_int_equal(n, 1);
    assert_stats(&rows[0], 2, 9, 4.5, 4, 5, 4, 5, 5);
    assert_string_equal(rows[0].agent_name, "Perf Agent");
    assert_true(rows[0].bucket_start == t0);
    fx_free_metric_stats(rows, n);

    /* nothing matches: no row, whatever the grouping */
    oi_metric_filter none = FILTER(.metric_name = "never_recorded");
    for (unsigned by = 0; by < 4; by++)
        for (int64_t bucket = 0; bucket <= 60 * SECOND; bucket += 60 * SECOND) {
            rows = NULL;
            n = aggregate(fx, &none, bucket, by, &rows);
            assert_int_equal(n, 0);
            fx_free_metric_stats(rows, n);
        }
    double avg;
    assert_rc(fx, oi_agent_metric_avg(fx->store, &none, &avg), OI_ENOTFOUND);
    oi_agent_clear(&perf);
}

static void test_metric_aggregate_bad_grouping_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_iter *it = fx_iter_unset;
    const int64_t bad_buckets[] = {SECOND / 2, -SECOND, 3 * SECOND / 2};
    for (size_t i = 0; i < 3; i++) {
        assert_rc(fx, oi_metric_aggregate_iter_new(&it, fx->store, &f, bad_buckets[i], 0),
                  OI_EINVALID);
        assert_null(it);
    }
    assert_contains(oi_errmsg(fx->store), "whole number of seconds");
    it = fx_iter_unset;
    assert_rc(fx, oi_metric_aggregate_iter_new(&it, fx->store, &f, 0, 4), OI_EINVALID);
    assert_null(it);
}

/* A statement the database fails while it runs (not when it is prepared):
 * on SQLite a metadata text corrupted around the library (json_type()
 * fails on it), on PostgreSQL a bound time it cannot read (a negative
 * year; SQLite merely compares it as text).  The calls fail, keep nothing,
 * and the store goes on working. */
static void test_metric_failure_while_reading(void **state)
{
    oi_fixture *fx = FX(state);
    add(fx, fx->cost_agent.id, "latency", 1, oi_time_now(), "{}");
    oi_metadata_match region = {"region", "us-west"};
    oi_metric_filter f = FILTER(.where = &region, .nwhere = 1);
    if (fx_is_pg())
        f.from = INT64_MIN / 2;
    else
        fx_sql_exec(fx, "PRAGMA ignore_check_constraints = ON; "
                        "UPDATE agent_metrics SET metadata = 'not json'");
    oi_metric_stats *rows = NULL;
    int rc = query_rc(fx, &f); /* the constructor's code or the failing next()'s */
    assert_true(rc < 0);
    rc = aggregate_rc(fx, &f, 0, OI_BY_NAME);
    assert_true(rc < 0);
    assert_true(oi_errmsg(fx->store)[0] != '\0');
    oi_metric_filter all = OI_METRIC_FILTER_INIT;
    size_t n = aggregate(fx, &all, 0, 0, &rows);
    assert_int_equal(n, 1);
    fx_free_metric_stats(rows, n);
}

/* ---- borrowed rows (1.5) -------------------------------------------------- */

enum { BORROWED_ROWS = 1010 }; /* more than two pages of OI_ITER_PAGE (500) */

/* Values whose digits a text round trip could lose, units NULL or not,
 * metadata of several shapes, and runs of rows sharing a timestamp. */
static void borrowed_data(oi_fixture *fx)
{
    static const double values[] = {0.1, 1e-300, -2.5e300, 123456789.12345679, 489.604,
                                    -0.0, 4.9406564584124654e-324, 1.0 / 3};
    static const char *const metadata[] = {"{}", "{\"region\": \"us-east\"}",
                                           "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}}"};
    oi_time t0 = at("2026-05-01T00:00:00Z");
    oi_agent_metric *items = calloc(BORROWED_ROWS, sizeof *items);
    char (*names)[16] = calloc(BORROWED_ROWS, sizeof *names);
    assert_non_null(items);
    assert_non_null(names);
    for (int i = 0; i < BORROWED_ROWS; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i % 7);
        items[i] = metric(fx->cost_agent.id, names[i], values[i % 8] * (i + 1),
                          t0 + (i / 3) * SECOND + i % 2, metadata[i % 3]);
        items[i].metric_unit = i % 5 ? "ms" : NULL;
    }
    assert_ok(fx, fx_record_batch(fx->store, items, BORROWED_ROWS));
    free(names);
    free(items);
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Every field equal, the value bit for bit. */
static void assert_same_metric(const oi_agent_metric *a, const oi_agent_metric *b, size_t row)
{
    if (a->id != b->id || strcmp(a->agent_id, b->agent_id) != 0 ||
        !same_text(a->metric_name, b->metric_name) ||
        memcmp(&a->metric_value, &b->metric_value, sizeof a->metric_value) != 0 ||
        !same_text(a->metric_unit, b->metric_unit) ||
        a->collection_timestamp != b->collection_timestamp ||
        !same_text(a->metadata, b->metadata) || a->created_at != b->created_at)
        fail_msg("row %zu: borrowed id %" PRId64 " value %.17g differs from next()'s id %" PRId64
                 " value %.17g", row, a->id, a->metric_value, b->id, b->metric_value);
}

/* Reads `it` to its end with oi_agent_metric_next_borrowed(), checking each
 * row against want[0..n-1] (read with next()). */
static void assert_borrowed_rows(oi_fixture *fx, oi_iter *it, const oi_agent_metric *want,
                                 size_t n)
{
    const oi_agent_metric *row;
    size_t i = 0;
    int rc;
    while ((rc = oi_agent_metric_next_borrowed(it, &row)) == OI_OK) {
        if (i >= n)
            fail_msg("more than the %zu rows next() read", n);
        assert_int_equal(row->version, OI_AGENT_METRIC_VERSION);
        assert_same_metric(row, &want[i], i);
        i++;
    }
    assert_rc(fx, rc, OI_ITEROVER);
    assert_null(row);
    assert_int_equal(i, n);
    /* over is over: again OI_ITEROVER */
    assert_rc(fx, oi_agent_metric_next_borrowed(it, &row), OI_ITEROVER);
    oi_iter_free(it);
}

/* The same rows, field for field, as next() reads, for each kind of metrics
 * iterator: filtered, newest first, with a limit, the latest per name and
 * every row of the table. */
static void test_metric_borrowed_same_as_next(void **state)
{
    oi_fixture *fx = FX(state);
    borrowed_data(fx);
    oi_metadata_match east = {"region", "us-east"};
    oi_metric_filter filters[] = {
        FILTER(.agent_id = fx->cost_agent.id),
        FILTER(.metric_name = "m3", .newest_first = true),
        FILTER(.limit = 501),
        FILTER(.nwhere = 0),
        FILTER(.stream = true),
        FILTER(.stream = true, .newest_first = true, .limit = 700),
        FILTER(.stream = true, .where = &east, .nwhere = 1),
    };
    filters[3].from = at("2026-05-01T00:01:00Z");
    filters[3].to = at("2026-05-01T00:03:00Z");
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
        oi_agent_metric *want = NULL;
        size_t n = fx_metric_query(fx, &filters[k], &want, NULL);
        assert_true(n > 0);
        oi_iter *it;
        assert_ok(fx, oi_metric_iter_new(&it, fx->store, &filters[k]));
        assert_borrowed_rows(fx, it, want, n);
        fx_free_agent_metrics(want, n);
    }
    /* the latest value per name, and every row of the table (the seed's too) */
    for (int kind = 0; kind < 2; kind++) {
        oi_iter *it;
        oi_agent_metric *want = NULL, rec = OI_AGENT_METRIC_INIT;
        size_t n = 0;
        int rc;
        assert_ok(fx, kind ? oi_agent_metric_iter_new(&it, fx->store)
                           : oi_metric_latest_iter_new(&it, fx->store, NULL));
        while ((rc = oi_agent_metric_next(it, &rec)) == OI_OK) {
            want = realloc(want, (n + 1) * sizeof *want);
            assert_non_null(want);
            want[n++] = rec;
            rec = (oi_agent_metric)OI_AGENT_METRIC_INIT;
        }
        assert_rc(fx, rc, OI_ITEROVER);
        oi_iter_free(it);
        assert_true(n >= (kind ? (size_t)BORROWED_ROWS : 7));
        assert_ok(fx, kind ? oi_agent_metric_iter_new(&it, fx->store)
                           : oi_metric_latest_iter_new(&it, fx->store, NULL));
        assert_borrowed_rows(fx, it, want, n);
        fx_free_agent_metrics(want, n);
    }
}

/* A borrowed row stays as it was until its iterator moves, whatever else
 * the store does meanwhile: a get, a write, another iterator of the same
 * query (whose statement the cache cannot lend twice) read to its end. */
static void test_metric_borrowed_valid_until_next(void **state)
{
    oi_fixture *fx = FX(state);
    borrowed_data(fx);
    oi_metric_filter f = FILTER(.metric_name = "m1");
    oi_agent_metric *want = NULL;
    size_t n = fx_metric_query(fx, &f, &want, NULL);
    oi_iter *it, *other;
    const oi_agent_metric *row, *row2;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    assert_ok(fx, oi_agent_metric_next_borrowed(it, &row));
    oi_agent_metric got = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, want[1].id, &got));
    oi_agent_metric_clear(&got);
    add(fx, fx->cost_agent.id, "m1", 7, at("2030-01-01T00:00:00Z"), "{\"late\": true}");
    assert_ok(fx, oi_metric_iter_new(&other, fx->store, &f));
    while (oi_agent_metric_next_borrowed(other, &row2) == OI_OK)
        assert_true(row2 != row); /* each iterator lends its own record */
    oi_iter_free(other);
    assert_same_metric(row, &want[0], 0);
    /* the next row is read into the same record: the previous one is gone */
    assert_ok(fx, oi_agent_metric_next_borrowed(it, &row2));
    assert_ptr_equal(row2, row);
    assert_same_metric(row2, &want[1], 1);
    oi_iter_free(it);
    fx_free_agent_metrics(want, n);
}

/* next() and next_borrowed() mixed on one iterator: each reads the next
 * row, the order and the rows those of next() alone. */
static void test_metric_borrowed_mixed_with_next(void **state)
{
    oi_fixture *fx = FX(state);
    borrowed_data(fx);
    oi_metric_filter f = FILTER(.agent_id = fx->cost_agent.id);
    oi_agent_metric *want = NULL;
    size_t n = fx_metric_query(fx, &f, &want, NULL), i = 0;
    oi_iter *it;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    for (int rc = OI_OK; rc == OI_OK; i++) {
        if (i % 3 == 1) { /* one owned row in three, across page ends */
            oi_agent_metric rec = OI_AGENT_METRIC_INIT;
            rc = oi_agent_metric_next(it, &rec);
            if (rc == OI_OK)
                assert_same_metric(&rec, &want[i], i);
            oi_agent_metric_clear(&rec);
        } else {
            const oi_agent_metric *row;
            rc = oi_agent_metric_next_borrowed(it, &row);
            if (rc == OI_OK)
                assert_same_metric(row, &want[i], i);
        }
        if (rc != OI_OK)
            assert_rc(fx, rc, OI_ITEROVER);
    }
    assert_int_equal(i - 1, n);
    oi_iter_free(it);
    fx_free_agent_metrics(want, n);
}

/* Only metrics iterators lend metric rows: any other is OI_EINVALID, with
 * *row NULL and the iterator unmoved; NULL too. */
static void test_metric_borrowed_other_iterators_refused(void **state)
{
    oi_fixture *fx = FX(state);
    add(fx, fx->cost_agent.id, "m", 1, at("2026-05-01T00:00:00Z"), NULL);
    const oi_agent_metric *row = (const oi_agent_metric *)&row;
    oi_iter *it;
    assert_rc(fx, oi_agent_metric_next_borrowed(NULL, &row), OI_EINVALID);
    assert_null(row);
    assert_ok(fx, oi_agent_iter_new(&it, fx->store));
    row = (const oi_agent_metric *)&row;
    assert_rc(fx, oi_agent_metric_next_borrowed(it, &row), OI_EINVALID);
    assert_null(row);
    assert_non_null(strstr(oi_errmsg(fx->store), "yields agent records"));
    oi_agent agent = OI_AGENT_INIT; /* not moved: the first agent is still next */
    assert_ok(fx, oi_agent_next(it, &agent));
    oi_agent_clear(&agent);
    oi_iter_free(it);
    oi_metric_filter all = OI_METRIC_FILTER_INIT;
    assert_ok(fx, oi_metric_aggregate_iter_new(&it, fx->store, &all, 0, OI_BY_NAME));
    assert_rc(fx, oi_agent_metric_next_borrowed(it, &row), OI_EINVALID);
    oi_iter_free(it);
}

/* ---- streamed iterators (1.6) --------------------------------------------- */

/* The rows of a streamed iterator are those of a paged one, field for
 * field, over more than the largest page (OI_ITER_PAGE_MAX, 2000), with
 * each filter kind and metadata conditions that get (or not) a superset. */
static void test_metric_streamed_same_as_paged(void **state)
{
    oi_fixture *fx = FX(state);
    enum { ROWS = 2600 };
    oi_time t0 = at("2026-06-01T00:00:00Z");
    static const char *const metadata[] = {"{\"region\": \"us-east\"}", "{\"n\": 5}",
                                           "{\"n\": 5.0, \"on\": true}", "{}",
                                           "{\"n\": \"5\", \"o\": {\"a\": 1}}"};
    oi_agent_metric *items = calloc(ROWS, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < ROWS; i++)
        items[i] = metric(fx->cost_agent.id, i % 2 ? "a" : "b", i,
                          t0 + (i / 4) * SECOND, metadata[i % 5]);
    assert_ok(fx, fx_record_batch(fx->store, items, ROWS));
    free(items);
    oi_metadata_match where[][2] = {{{"region", "us-east"}}, {{"n", "5"}}, {{"n", "5.0"}},
                                    {{"on", "true"}, {"n", "5.0"}}, {{"o", "{\"a\": 1}"}}};
    oi_metric_filter filters[] = {
        FILTER(.nwhere = 0),
        FILTER(.newest_first = true, .metric_name = "a"),
        FILTER(.agent_id = fx->cost_agent.id, .limit = 2100),
        FILTER(.where = where[0], .nwhere = 1),
        FILTER(.where = where[1], .nwhere = 1, .newest_first = true),
        FILTER(.where = where[2], .nwhere = 1),
        FILTER(.where = where[3], .nwhere = 2),
        FILTER(.where = where[4], .nwhere = 1),
    };
    filters[1].to = t0 + 500 * SECOND;
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
        oi_agent_metric *paged = NULL, *streamed = NULL;
        char paged_cursor[OI_CURSOR_BUFSZ], streamed_cursor[OI_CURSOR_BUFSZ];
        size_t n = fx_metric_query(fx, &filters[k], &paged, paged_cursor);
        filters[k].stream = true;
        size_t m = fx_metric_query(fx, &filters[k], &streamed, streamed_cursor);
        if (m != n)
            fail_msg("filter %zu: %zu rows streamed, %zu paged", k, m, n);
        for (size_t i = 0; i < n; i++)
            assert_same_metric(&streamed[i], &paged[i], i);
        assert_string_equal(streamed_cursor, paged_cursor);
        fx_free_agent_metrics(paged, n);
        fx_free_agent_metrics(streamed, m);
    }
}

static void assert_busy(oi_fixture *fx, int rc)
{
    assert_rc(fx, rc, OI_EBUSY);
    assert_contains(oi_errmsg(fx->store), "streamed metrics iterator");
}

/* While a streamed iterator reads, every other call on the store is
 * refused (OI_EBUSY), and the iteration goes on unharmed; once it ends or
 * is freed early (PostgreSQL: the query cancelled), the store works. */
static void test_metric_streamed_holds_store(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    oi_metric_filter f = FILTER(.stream = true, .agent_id = fx->cost_agent.id);
    oi_metric_filter paged = FILTER(.agent_id = fx->cost_agent.id);
    for (int early = 0; early < 2; early++) {
        oi_iter *it, *other;
        oi_agent_metric rec = OI_AGENT_METRIC_INIT;
        assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
        assert_ok(fx, oi_agent_metric_next(it, &rec));
        oi_agent_metric_clear(&rec);
        assert_busy(fx, oi_agent_metric_get(fx->store, 1, &rec));
        assert_busy(fx, oi_begin(fx->store));
        assert_busy(fx, oi_commit(fx->store));
        oi_agent_metric m = metric(fx->cost_agent.id, "x", 1, oi_time_now(), "{}");
        assert_busy(fx, oi_agent_metric_create(fx->store, &m));
        assert_ok(fx, oi_metric_iter_new(&other, fx->store, &paged));
        assert_busy(fx, oi_agent_metric_next(other, &rec));
        oi_iter_free(other);
        size_t rows = 1;
        int rc;
        while (!early && (rc = oi_agent_metric_next(it, &rec)) == OI_OK) {
            oi_agent_metric_clear(&rec);
            rows++;
        }
        if (!early) {
            assert_rc(fx, rc, OI_ITEROVER);
            assert_int_equal(rows, PAGED_ROWS);
            /* over: the store is free before the iterator is */
            assert_int_equal(fx_metric_query(fx, &paged, NULL, NULL), PAGED_ROWS);
        }
        oi_iter_free(it);
        assert_int_equal(fx_metric_query(fx, &paged, NULL, NULL), PAGED_ROWS);
        assert_ok(fx, oi_begin(fx->store));
        assert_int_equal(fx_metric_query(fx, &f, NULL, NULL), PAGED_ROWS);
        assert_ok(fx, oi_agent_metric_create(fx->store, &m));
        assert_ok(fx, oi_rollback(fx->store));
    }
}

/* A filter of version 1 (a program built against 1.5) ends before stream:
 * init writes nothing past it, and whatever the bytes after it hold, the
 * iterator pages (another call between two rows works). */
static void test_metric_filter_version_1(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    size_t v1_size = offsetof(oi_metric_filter, stream);
    unsigned char tail[sizeof(oi_metric_filter)];
    oi_metric_filter f;
    memset(&f, 0xab, sizeof f);
    memcpy(tail, &f, sizeof f);
    assert_ok(fx, oi_metric_filter_init(&f, 1));
    assert_memory_equal((unsigned char *)&f + v1_size, tail + v1_size, sizeof f - v1_size);
    assert_int_equal(f.version, 1);
    assert_true(f.from == OI_TIME_NULL && f.to == OI_TIME_NULL && !f.limit);
    oi_iter *it;
    oi_agent_metric rec = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    assert_ok(fx, oi_agent_metric_next(it, &rec));
    oi_agent_metric_clear(&rec);
    assert_ok(fx, oi_agent_metric_get(fx->store, 1, &rec));
    oi_agent_metric_clear(&rec);
    oi_iter_free(it);
    oi_metric_filter v2;
    assert_ok(fx, oi_metric_filter_init(&v2, OI_METRIC_FILTER_VERSION));
    assert_int_equal(v2.version, 2);
    assert_false(v2.stream);
    assert_int_equal(oi_metric_filter_init(&v2, 3), OI_EINVALID);
}

/* ---- the CLI -------------------------------------------------------------- */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

/* Runs the CLI and checks its exit code; free the run. */
#define CLI(fx, r, code, ...)                         \
    do {                                              \
        fx_cli((fx), (r), __VA_ARGS__, (char *)NULL); \
        assert_exit((r), (code));                     \
    } while (0)

static void test_cli_metrics_record(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    CLI(fx, &r, 0, "metrics", "record", "Test Cost Agent", "gpu_utilization", "75.5",
        "--unit", "percent", "--at", "2026-05-01T12:00:00Z");
    assert_contains(r.out, "Recorded metric");
    assert_contains(r.out, "gpu_utilization = 75.5 percent for Test Cost Agent at "
                           "2026-05-01T12:00:00.000000Z");
    fx_run_free(&r);

    CLI(fx, &r, 0, "metrics", "record", fx->cost_agent.id, "latency", "-3", "--json",
        "--metadata", "{\"region\": \"us-west\"}");
    json_t *j = fx_json(r.out);
    assert_true(json_real_value(fx_json_at(j, "metric_value")) == -3);
    assert_string_equal(json_string_value(fx_json_at(j, "metadata.region")), "us-west");
    assert_string_equal(json_string_value(fx_json_at(j, "agent")), "Test Cost Agent");
    assert_true(json_integer_value(fx_json_at(j, "id")) > 0);
    json_decref(j);
    fx_run_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), 2);

    struct { const char *value, *option, *option_value; int code; const char *says; } bad[] = {
        {"abc", "--unit", "x", 3, "not a number"},
        {"nan", "--unit", "x", 3, "finite"},
        {"1e999", "--unit", "x", 3, "not a number"},
        {"1", "--metadata", "[1]", 3, "JSON object"},
        {"1", "--metadata", "{", 3, "not valid JSON"},
        {"1", "--at", "yesterday", 3, "not a time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CLI(fx, &r, bad[i].code, "metrics", "record", "Test Cost Agent", "x", bad[i].value,
            bad[i].option, bad[i].option_value);
        assert_contains(r.err, bad[i].says);
        fx_run_free(&r);
    }
    CLI(fx, &r, 4, "metrics", "record", "Nobody", "x", "1");
    assert_contains(r.err, "optiinfra agents");
    fx_run_free(&r);
    CLI(fx, &r, 2, "metrics", "record", "Test Cost Agent", "x");
    fx_run_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), 2);
}

/* The rows of a `metrics query` table (header excluded). */
static int table_rows(const fx_run *r)
{
    return fx_count_lines(r->out) - 1;
}

/* "next: --cursor TOKEN" from stderr into cursor; false if there is none. */
static bool next_cursor(const fx_run *r, char *cursor, size_t size)
{
    const char *p = strstr(r->err, "next: --cursor ");
    if (!p)
        return false;
    snprintf(cursor, size, "%.*s", (int)strcspn(p + 15, "\n"), p + 15);
    return true;
}

static void test_cli_metrics_query_pages(void **state)
{
    oi_fixture *fx = FX(state);
    paging_data(fx);
    fx_run r;
    char cursor[OI_CURSOR_BUFSZ] = "";
    int rows = 0, pages = 0;
    for (;; pages++) {
        if (cursor[0])
            CLI(fx, &r, 0, "metrics", "query", "--limit", "10", "--cursor", cursor);
        else
            CLI(fx, &r, 0, "metrics", "query", "--limit", "10");
        assert_contains(r.out, "TIME");
        assert_contains(r.out, "METADATA");
        rows += table_rows(&r);
        bool more = next_cursor(&r, cursor, sizeof cursor);
        fx_run_free(&r);
        if (!more)
            break;
    }
    assert_int_equal(rows, PAGED_ROWS);
    assert_int_equal(pages, 2);

    /* JSON: rows and next_cursor, null on the last page */
    CLI(fx, &r, 0, "metrics", "query", "--json", "--newest-first", "--limit", "20");
    json_t *j = fx_json(r.out);
    assert_int_equal(json_array_size(fx_json_at(j, "rows")), 20);
    const char *next = json_string_value(fx_json_at(j, "next_cursor"));
    assert_non_null(next);
    snprintf(cursor, sizeof cursor, "%s", next);
    json_t *first = json_array_get(fx_json_at(j, "rows"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "collection_timestamp")),
                        "2026-02-01T00:00:04.000000Z");
    assert_string_equal(json_string_value(json_object_get(first, "agent")), "Test Cost Agent");
    json_decref(j);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--json", "--newest-first", "--cursor", cursor);
    j = fx_json(r.out);
    assert_int_equal(json_array_size(fx_json_at(j, "rows")), 5);
    assert_true(json_is_null(fx_json_at(j, "next_cursor")));
    json_decref(j);
    fx_run_free(&r);

    /* --limit 0 is every row, and then there is no next page */
    CLI(fx, &r, 0, "metrics", "query", "--limit", "0");
    assert_int_equal(table_rows(&r), PAGED_ROWS);
    assert_string_equal(r.err, "");
    fx_run_free(&r);
    CLI(fx, &r, 3, "metrics", "query", "--newest-first", "--cursor", cursor + 1);
    assert_contains(r.err, "malformed cursor");
    fx_run_free(&r);
    CLI(fx, &r, 3, "metrics", "query", "--cursor", cursor); /* made newest first */
    assert_contains(r.err, "newest-first");
    fx_run_free(&r);
}

/* More rows than the CLI measures (CLI_TABLE_MEASURED, src/cli/cli.h) and
 * more than one iterator page: the table is streamed with the widths of its
 * first 1000 rows, a later wider cell pushing only the rest of its line;
 * the JSON document is written element by element, byte for byte as jansson
 * lays out the whole document. */
enum { STREAMED_ROWS = 1205, WIDE_ROW = 1100 };

static void streamed_data(oi_fixture *fx)
{
    oi_time t0 = at("2026-03-01T00:00:00Z");
    oi_agent_metric *items = calloc(STREAMED_ROWS, sizeof *items);
    for (int i = 0; i < STREAMED_ROWS; i++)
        items[i] = metric(fx->cost_agent.id, i == WIDE_ROW ? "queue_depth_of_a_longer_name"
                                                           : "queue_depth",
                          i, t0 + i * SECOND, "{\"even\": \"yes\"}");
    assert_ok(fx, fx_record_batch(fx->store, items, STREAMED_ROWS));
    free(items);
}

/* The line of `out` that starts after `n` line breaks. */
static const char *line_at(const char *out, int n)
{
    for (; n > 0 && out; n--)
        out = strchr(out, '\n') + 1;
    return out;
}

/* The offset of the VALUE cell in a row: after NAME and its blanks. */
static size_t value_column(const char *line)
{
    const char *name = strstr(line, "queue_depth");
    assert_non_null(name);
    return (size_t)(name + strcspn(name, " ") + strspn(name + strcspn(name, " "), " ") - line);
}

static void assert_json_laid_out_as_jansson(const char *out)
{
    json_t *j = fx_json(out);
    char *whole = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
    size_t n = strlen(whole);
    assert_int_equal(strlen(out), n + 1);
    assert_memory_equal(out, whole, n);
    assert_int_equal(out[n], '\n');
    free(whole);
    json_decref(j);
}

static void test_cli_metrics_query_streamed(void **state)
{
    oi_fixture *fx = FX(state);
    streamed_data(fx);
    fx_run r;
    CLI(fx, &r, 0, "metrics", "query", "--limit", "0");
    assert_int_equal(table_rows(&r), STREAMED_ROWS);
    const char *header = r.out, *first = line_at(r.out, 1);
    size_t value_at = (size_t)(strstr(header, "VALUE") - header);
    assert_int_equal(value_column(first), value_at);
    assert_int_equal(value_column(line_at(r.out, 1 + WIDE_ROW - 1)), value_at);
    assert_int_equal(value_column(line_at(r.out, 1 + WIDE_ROW + 1)), value_at);
    assert_contains(line_at(r.out, 1 + WIDE_ROW), "queue_depth_of_a_longer_name  1100   ms    {");
    assert_contains(line_at(r.out, 1 + STREAMED_ROWS - 1), "  1204   ms    {\"even\": \"yes\"}\n");
    fx_run_free(&r);

    CLI(fx, &r, 0, "metrics", "query", "--json", "--limit", "0");
    assert_json_laid_out_as_jansson(r.out);
    json_t *j = fx_json(r.out);
    json_t *rows = fx_json_at(j, "rows");
    assert_int_equal(json_array_size(rows), STREAMED_ROWS);
    for (size_t i = 0; i < STREAMED_ROWS; i++)  /* every row once, in order */
        assert_int_equal(json_number_value(json_object_get(json_array_get(rows, i),
                                                           "metric_value")), (double)i);
    json_decref(j);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--json", "--limit", "2");
    assert_json_laid_out_as_jansson(r.out);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--json", "--where", "even=no");
    assert_json_laid_out_as_jansson(r.out);
    assert_contains(r.out, "\"rows\": [],");
    fx_run_free(&r);
}

static void test_cli_metrics_query_filters(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent perf = OI_AGENT_INIT;
    query_data(fx, &perf);
    add(fx, perf.id, "latency", 7, oi_time_now() - 60 * SECOND, "{\"region\": \"us-west\"}");
    fx_run r;
    CLI(fx, &r, 0, "metrics", "query", "--agent", "Perf Agent", "--name", "latency",
        "--name", "memory", "--where", "region=us-west", "--where", "env=prod");
    assert_int_equal(table_rows(&r), 2); /* 4 and 5 */
    assert_contains(r.out, "Perf Agent");
    assert_contains(r.out, "memory");
    assert_not_contains(r.out, "Test Cost Agent");
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--since", "1h", "--json");
    json_t *j = fx_json(r.out);
    assert_int_equal(json_array_size(fx_json_at(j, "rows")), 1); /* only the fresh one */
    json_decref(j);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--from", "2026-01-01T00:00:01Z", "--to",
        "2026-01-01T00:00:02Z");
    assert_int_equal(table_rows(&r), 2);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "query", "--where", "region=mars");
    assert_contains(r.out, "No metrics match.");
    fx_run_free(&r);

    struct { const char *option, *value; int code; const char *says; } bad[] = {
        {"--where", "region", 3, "KEY=VALUE"},
        {"--where", "=x", 3, "KEY=VALUE"},
        {"--from", "soon", 3, "not a time"},
        {"--to", "2026-13-01T00:00:00Z", 3, "not a time"},
        {"--since", "an hour", 3, "not a duration"},
        {"--limit", "-5", 3, "not a page size"},
        {"--limit", "ten", 3, "not a page size"},
        {"--cursor", "nope", 3, "malformed cursor"},
        {"--agent", "Nobody", 4, "no agent named"},
        {"--colour", "red", 2, "unknown option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CLI(fx, &r, bad[i].code, "metrics", "query", bad[i].option, bad[i].value);
        assert_contains(r.err, bad[i].says);
        fx_run_free(&r);
    }
    CLI(fx, &r, 2, "metrics", "query", "--from", "2026-01-01T00:00:00Z", "--since", "1h");
    assert_contains(r.err, "not both");
    fx_run_free(&r);
    oi_agent_clear(&perf);
}

static void test_cli_metrics_aggregate(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent perf = OI_AGENT_INIT;
    query_data(fx, &perf);
    fx_run r;
    CLI(fx, &r, 0, "metrics", "aggregate", "--by", "agent,name");
    assert_contains(r.out, "AGENT");
    assert_contains(r.out, "P99");
    assert_not_contains(r.out, "BUCKET");
    assert_int_equal(fx_count_lines(r.out), 1 + 5); /* 5 (agent, name) pairs */
    fx_run_free(&r);

    CLI(fx, &r, 0, "metrics", "aggregate", "--name", "latency", "--bucket", "1d", "--json");
    json_t *j = fx_json(r.out);
    json_t *row = json_array_get(fx_json_at(j, "rows"), 0);
    assert_int_equal(json_array_size(fx_json_at(j, "rows")), 1); /* 1 2 4 */
    assert_int_equal(json_integer_value(json_object_get(row, "count")), 3);
    assert_true(json_real_value(json_object_get(row, "sum")) == 7);
    assert_true(json_real_value(json_object_get(row, "p50")) == 2);
    assert_true(json_real_value(json_object_get(row, "p95")) == 4);
    assert_string_equal(json_string_value(json_object_get(row, "bucket_start")),
                        "2026-01-01T00:00:00.000000Z");
    assert_true(json_is_null(json_object_get(row, "agent")));
    json_decref(j);
    fx_run_free(&r);

    CLI(fx, &r, 0, "metrics", "aggregate", "--agent", "Perf Agent", "--where", "env=prod",
        "--by", "name", "--bucket", "1h");
    assert_contains(r.out, "BUCKET");
    assert_contains(r.out, "memory");
    assert_int_equal(fx_count_lines(r.out), 1 + 2);
    fx_run_free(&r);
    CLI(fx, &r, 0, "metrics", "aggregate", "--since", "1m");
    assert_contains(r.out, "No metrics match.");
    fx_run_free(&r);

    CLI(fx, &r, 3, "metrics", "aggregate", "--bucket", "500ms");
    assert_contains(r.err, "not a bucket width");
    fx_run_free(&r);
    CLI(fx, &r, 2, "metrics", "aggregate", "--by", "customer");
    assert_contains(r.err, "--by takes agent, name or agent,name");
    fx_run_free(&r);
    CLI(fx, &r, 4, "metrics", "aggregate", "--agent", "Nobody");
    fx_run_free(&r);
    oi_agent_clear(&perf);
}

static void test_cli_metrics_help(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    CLI(fx, &r, 0, "metrics", "--help");
    assert_contains(r.out, "metrics query");
    assert_contains(r.out, "metrics aggregate");
    assert_contains(r.out, "metrics record AGENT NAME VALUE");
    fx_run_free(&r);
    const char *commands[][2] = {{"query", "--cursor TOKEN"}, {"aggregate", "nearest rank"},
                                 {"record", "--metadata JSON"}};
    for (size_t i = 0; i < 3; i++) {
        CLI(fx, &r, 0, "metrics", commands[i][0], "--help");
        assert_contains(r.out, commands[i][1]);
        assert_contains(r.out, "Exit codes");
        assert_contains(r.out, "Example");
        fx_run_free(&r);
    }
    CLI(fx, &r, 2, "metrics");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_metrics_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_metric_batch_records_every_row),
        T(test_metric_batch_all_or_nothing),
        T(test_metric_batch_joins_transaction),
        T(test_metric_batch_concurrent_processes),
        T(test_metric_query_each_filter),
        T(test_metric_query_filters_combined),
        T(test_metric_pages_walk_every_row_once),
        T(test_metric_page_cursor_only_when_more),
        T(test_metric_malformed_cursor_refused),
        T(test_metric_bad_filter_refused),
        T(test_metric_aggregate_whole),
        T(test_metric_aggregate_sum_in_value_order),
        T(test_metric_aggregate_percentiles_nearest_rank),
        T(test_metric_aggregate_rank_boundaries),
        T(test_metric_aggregate_buckets),
        T(test_metric_aggregate_grouping),
        T(test_metric_aggregate_keys_read_back),
        T(test_metric_aggregate_filtered_and_empty),
        T(test_metric_aggregate_bad_grouping_refused),
        T(test_metric_failure_while_reading),
        T(test_metric_streamed_same_as_paged),
        T(test_metric_streamed_holds_store),
        T(test_metric_filter_version_1),
        T(test_metric_latest_per_agent_and_name),
        T(test_metric_latest_over_pages),
        T(test_metric_borrowed_same_as_next),
        T(test_metric_borrowed_valid_until_next),
        T(test_metric_borrowed_mixed_with_next),
        T(test_metric_borrowed_other_iterators_refused),
        T(test_cli_metrics_record),
        T(test_cli_metrics_query_pages),
        T(test_cli_metrics_query_streamed),
        T(test_cli_metrics_query_filters),
        T(test_cli_metrics_aggregate),
        T(test_cli_metrics_help),
    };
    return fx_run_group("metrics", tests);
}
