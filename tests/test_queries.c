/*
 * test_queries.c - the metric filter beyond what the spec's tests use:
 * inclusive time bounds, newest-first with a limit, averages over a
 * window, and metadata matching that means the same on both backends
 * (metadata->>key = value, as PostgreSQL reads it), and the order of
 * capability versions.
 */
#include "harness.h"

#include <string.h>

static const oi_time SECOND = 1000000;

static void add_metric(oi_fixture *fx, double value, oi_time at, char *metadata)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "queue_depth";
    m.metric_value = value;
    m.metric_unit = "count";
    m.collection_timestamp = at;
    m.metadata = metadata;
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
}

/* Values of the metrics f matches, in order, as "1,2,3". */
static void assert_values(oi_fixture *fx, const oi_metric_filter *f, const char *want)
{
    oi_agent_metric *items = NULL;
    char got[256] = "";
    size_t len = 0, n = fx_metric_query(fx, f, &items, NULL);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%g", i ? "," : "",
                                items[i].metric_value);
    fx_free_agent_metrics(items, n);
    if (strcmp(got, want) != 0)
        fail_msg("filter (from %lld, to %lld, limit %zu, %s, metadata '%s' = '%s'): "
                 "got \"%s\", want \"%s\"", (long long)f->from, (long long)f->to, f->limit,
                 f->newest_first ? "newest first" : "oldest first",
                 f->nwhere ? f->where[0].key : "", f->nwhere ? f->where[0].value : "", got, want);
}

static oi_time series(oi_fixture *fx)
{
    oi_time t0 = oi_time_now();
    for (int i = 0; i < 5; i++)
        add_metric(fx, i + 1, t0 + i * SECOND, "{}");
    return t0;
}

static void test_metric_time_bounds_inclusive(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time t0 = series(fx);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.from = t0 + SECOND;
    f.to = t0 + 3 * SECOND;
    assert_values(fx, &f, "2,3,4");
    f.from = f.to = t0 + 2 * SECOND;
    assert_values(fx, &f, "3");
    f.from = t0 + 2 * SECOND + 1; /* one microsecond later */
    f.to = OI_TIME_NULL; /* no upper bound */
    assert_values(fx, &f, "4,5");
    f.from = OI_TIME_NULL;
    f.to = t0 + SECOND - 1;
    assert_values(fx, &f, "1");
}

static void test_metric_newest_first_and_limit(void **state)
{
    oi_fixture *fx = FX(state);
    series(fx);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.newest_first = true;
    f.limit = 2;
    assert_values(fx, &f, "5,4");
    f.newest_first = false;
    assert_values(fx, &f, "1,2");
    f.limit = 0;
    assert_values(fx, &f, "1,2,3,4,5");
}

static void test_metric_avg_over_window(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time t0 = series(fx);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.from = t0 + 3 * SECOND;
    f.limit = 1;
    double avg = 0;
    assert_ok(fx, oi_agent_metric_avg(fx->store, &f, &avg)); /* the limit is ignored */
    assert_true(avg == 4.5);
    f.from = t0 + 10 * SECOND;
    assert_rc(fx, oi_agent_metric_avg(fx->store, &f, &avg), OI_ENOTFOUND);
}

/* The cost agent's metrics whose metadata has key = value are those of
 * the values in `want` (assert_values), paged and streamed alike: on
 * PostgreSQL the streamed statement adds the GIN index's superset
 * (metrics.c), which must not change an answer. */
static void assert_match(oi_fixture *fx, const char *key, const char *value, const char *want)
{
    oi_metadata_match match = {key, value};
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.where = &match;
    f.nwhere = 1;
    assert_values(fx, &f, want);
    f.stream = true;
    assert_values(fx, &f, want);
}

static void test_metric_metadata_match_semantics(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time t = oi_time_now();
    add_metric(fx, 1, t, "{\"a.b\": \"x\"}");
    add_metric(fx, 2, t + 1, "{\"a\": {\"b\": \"x\"}}");
    add_metric(fx, 3, t + 2, "{\"prod\": true}");
    add_metric(fx, 4, t + 3, "{\"n\": 3}");
    add_metric(fx, 5, t + 4, "{\"it's\": \"q\"}");
    add_metric(fx, 6, t + 5, "{\"region\": \"us-west\"}");

    struct { const char *key, *value, *want; } cases[] = {
        {"a.b", "x", "1"},       /* a key with a dot is one key, not a path */
        {"prod", "true", "3"},   /* JSON true reads as the text true */
        {"n", "3", "4"},
        {"it's", "q", "5"},      /* quotes are data, not SQL */
        {"region", "us-west", "6"},
        {"region", "us-east", ""},
        {"missing", "x", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_match(fx, cases[i].key, cases[i].value, cases[i].want);
}

/* Each kind of JSON value against texts that look like the others, the
 * same answers on both backends, and no text makes the condition fail (a
 * number beyond numeric, a bad JSON text): what any faster form of the
 * condition (an index's) must keep. */
static void test_metric_metadata_match_every_kind(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time t = oi_time_now();
    add_metric(fx, 1, t, "{\"k\": 3}");
    add_metric(fx, 2, t + 1, "{\"k\": \"3\"}");
    add_metric(fx, 3, t + 2, "{\"k\": -12}");
    add_metric(fx, 4, t + 3, "{\"k\": true}");
    add_metric(fx, 5, t + 4, "{\"k\": \"true\"}");
    add_metric(fx, 6, t + 5, "{\"k\": false}");
    add_metric(fx, 7, t + 6, "{\"k\": null}");
    add_metric(fx, 8, t + 7, "{\"k\": \"\\u00e9t\\u00e9\"}");
    add_metric(fx, 9, t + 8, "{\"k\": \"say \\\"hi\\\" \\\\o/\"}");
    add_metric(fx, 10, t + 9, "{\"k\": \"\"}");
    add_metric(fx, 11, t + 10, "{\"k\": \"{\"}");
    add_metric(fx, 12, t + 11, "{\"k\": \"[1\"}");
    add_metric(fx, 13, t + 12, "{\"k\": 0, \"other\": 3}");
    add_metric(fx, 14, t + 13, "{\"n\": {\"k\": 3}}");

    struct { const char *value, *want; } cases[] = {
        {"3", "1,2"},             /* the number and the string */
        {"-12", "3"},
        {"0", "13"},              /* not false */
        {"1", ""},                /* not true */
        {"true", "4,5"},          /* JSON true reads as the word, and the string */
        {"false", "6"},
        {"null", ""},             /* JSON null is no text at all */
        {"\u00e9t\u00e9", "8"},  /* an escape in the JSON is the character */
        {"say \"hi\" \\o/", "9"},
        {"", "10"},
        {"{", "11"},              /* looks like an object: the string */
        {"[1", "12"},
        {"1e999999", ""},         /* a number's text PostgreSQL never prints */
        {"03", ""},
        {"3.", ""},
        {"-", ""},
        {"{\"a\": }", ""},
        {"[1, 2", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_match(fx, "k", cases[i].value, cases[i].want);
}

/* What ->> prints for numbers of other forms, objects and arrays differs
 * between the backends (PostgreSQL keeps a number's digits as written and
 * spaces its JSON; SQLite prints a double and compact JSON): on PostgreSQL
 * a match is on ->>'s text exactly. */
static void test_metric_metadata_match_postgresql_text(void **state)
{
    oi_fixture *fx = FX(state);
    if (!fx_is_pg())
        skip();
    oi_time t = oi_time_now();
    add_metric(fx, 1, t, "{\"k\": 1.50}");
    add_metric(fx, 2, t + 1, "{\"k\": 1e2}");
    add_metric(fx, 3, t + 2, "{\"k\": {\"b\": [1, 2]}}");
    add_metric(fx, 4, t + 3, "{\"k\": [1, \"x\"]}");
    add_metric(fx, 5, t + 4, "{\"k\": {}}");
    add_metric(fx, 6, t + 5, "{\"k\": -0.0}");
    add_metric(fx, 7, t + 6, "{\"k\": 0.1000000000000000055511151231257827}");
    add_metric(fx, 8, t + 7, "{\"k\": 5.0}");
    add_metric(fx, 9, t + 8, "{\"k\": 5}");
    char sql[512]; /* written by another client: the library's JSON refuses it */
    snprintf(sql, sizeof sql, "INSERT INTO agent_metrics (agent_id, metric_name, metric_value, "
             "collection_timestamp, metadata) VALUES ('%s', 'queue_depth', 10, "
             "'2100-01-01T00:00:00.000000Z', '{\"k\": 123456789012345678901234567890}')",
             fx->cost_agent.id);
    fx_sql_exec(fx, sql);
    struct { const char *value, *want; } cases[] = {
        {"1.50", "1"}, {"1.5", ""}, {"100", "2"}, {"1e2", ""},
        {"{\"b\": [1, 2]}", "3"}, {"{\"b\":[1,2]}", ""}, {"[1, \"x\"]", "4"},
        {"{}", "5"}, {"[]", ""}, {"0.0", "6"}, {"-0.0", ""},
        /* digits a double would lose: the superset's number must keep them */
        {"0.1000000000000000055511151231257827", "7"}, {"0.1", ""},
        {"5.0", "8"}, {"5", "9"}, {"5.00", ""},
        {"123456789012345678901234567890", "10"}, /* past any C integer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_match(fx, "k", cases[i].value, cases[i].want);
}

static void add_capability(oi_fixture *fx, char *name, char *version)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.capability_name = name;
    c.capability_version = version;
    assert_ok(fx, oi_agent_capability_create(fx->store, &c));
}

/* Capabilities come by name, then in semantic-version order. */
static void test_capability_version_order(void **state)
{
    oi_fixture *fx = FX(state);
    char *versions[] = {"1.10.0", "2.0.0", "1.0.0", "1.9.0", "1.0.0-beta"};
    for (size_t i = 0; i < 5; i++)
        add_capability(fx, "tuning", versions[i]);
    add_capability(fx, "analysis", "0.1.0");

    oi_agent_capability *caps = NULL;
    oi_iter *it = NULL;
    char got[128] = "";
    size_t len = 0;
    assert_ok(fx, oi_agent_capability_iter_versions(&it, fx->store, fx->cost_agent.id, "tuning"));
    size_t n = fx_collect_agent_capabilities(fx, it, &caps);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s ", caps[i].capability_version);
    fx_free_agent_capabilities(caps, n);
    assert_string_equal(got, "1.0.0-beta 1.0.0 1.9.0 1.10.0 2.0.0 ");

    assert_ok(fx, oi_agent_capability_iter_by_agent(&it, fx->store, fx->cost_agent.id));
    n = fx_collect_agent_capabilities(fx, it, &caps);
    assert_int_equal(n, 6);
    assert_string_equal(caps[0].capability_name, "analysis");
    assert_string_equal(caps[5].capability_version, "2.0.0");
    fx_free_agent_capabilities(caps, n);

    assert_ok(fx, oi_agent_capability_iter_versions(&it, fx->store, fx->cost_agent.id, "none"));
    n = fx_collect_agent_capabilities(fx, it, &caps);
    assert_int_equal(n, 0);
    fx_free_agent_capabilities(caps, n);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_query_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_metric_time_bounds_inclusive),
        T(test_metric_newest_first_and_limit),
        T(test_metric_avg_over_window),
        T(test_metric_metadata_match_semantics),
        T(test_metric_metadata_match_every_kind),
        T(test_metric_metadata_match_postgresql_text),
        T(test_capability_version_order),
    };
    return fx_run_group("queries", tests);
}
