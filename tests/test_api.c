/*
 * test_api.c - the API itself (1.0, and 1.1's structs), on either backend:
 * the version calls;
 * versioned structs refused (and nothing written) when they were not
 * initialised or come from a newer header, with a message naming the type;
 * the _init functions against the _INIT macros; iterators over several
 * pages (order, limits and cursors across page boundaries, rows written
 * meanwhile, the wrong type, two of one query at once); the epoch as a
 * time like any other; the allocation-failure hook.
 *
 * iter.c reads OI_ITER_PAGE (500) rows per page: PAGED_METRICS is more than
 * two pages, so every iteration here crosses page boundaries.
 */
#include "harness.h"

#include <inttypes.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const oi_time SECOND = 1000000;

enum { PAGE = 500, PAGED_METRICS = 1203 };

/* ---- helpers ------------------------------------------------------------------ */

/* The store's message must name "<type> version <v>". */
static void assert_version_message(oi_fixture *fx, const char *type, unsigned version)
{
    char want[80];
    snprintf(want, sizeof want, "%s version %u ", type, version);
    assert_contains(oi_errmsg(fx->store), want);
}

/* Rows of a table, counted with its iterator (not trusting it alone: the
 * callers compare with fx_count, which reads around the library). */
#define ROW_COUNTER(X, plural)                                        \
    static size_t count_##plural(oi_fixture *fx)                      \
    {                                                                 \
        oi_iter *it = NULL;                                           \
        assert_ok(fx, oi_##X##_iter_new(&it, fx->store));             \
        return fx_collect_##plural(fx, it, NULL);                     \
    }
ROW_COUNTER(customer, customers)
ROW_COUNTER(agent, agents)
ROW_COUNTER(event, events)
ROW_COUNTER(recommendation, recommendations)
ROW_COUNTER(approval, approvals)
ROW_COUNTER(optimization, optimizations)
ROW_COUNTER(agent_config, agent_configs)
ROW_COUNTER(agent_state, agent_states)
ROW_COUNTER(agent_capability, agent_capabilities)
ROW_COUNTER(agent_metric, agent_metrics)

static size_t count_locks(oi_fixture *fx)
{
    oi_iter *it = NULL;
    assert_ok(fx, oi_lock_iter_new(&it, fx->store, NULL, 0));
    return fx_collect_locks(fx, it, NULL);
}

/* A metric of the cost agent at `at`, valued v. */
static oi_agent_metric metric_at(oi_fixture *fx, oi_time at, double v)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "paged";
    m.metric_value = v;
    m.metric_unit = "count";
    m.collection_timestamp = at;
    m.metadata = "{}";
    return m;
}

/* ---- a. versions ------------------------------------------------------------------ */

static void test_api_version(void **state)
{
    (void)state;
    int major = -1, minor = -1, patch = -1;
    assert_int_equal(oi_version(&major, &minor, &patch), OPTIINFRA_VERSION_NUMBER);
    assert_int_equal(major, OPTIINFRA_VERSION_MAJOR);
    assert_int_equal(minor, OPTIINFRA_VERSION_MINOR);
    assert_int_equal(patch, OPTIINFRA_VERSION_PATCH);
    assert_int_equal(OPTIINFRA_VERSION_NUMBER, major * 10000 + minor * 100 + patch);
    char text[32];
    snprintf(text, sizeof text, "%d.%d.%d", major, minor, patch);
    assert_string_equal(text, OPTIINFRA_VERSION);
    assert_int_equal(oi_version(NULL, NULL, NULL), OPTIINFRA_VERSION_NUMBER);
    assert_int_equal(oi_version(&major, NULL, NULL), OPTIINFRA_VERSION_NUMBER);
    assert_int_equal(major, 1);
}

/* ---- b. versioned records --------------------------------------------------------- */

/* What the records of every table refer to. */
typedef struct world {
    oi_customer customer;
    oi_recommendation rec;
    oi_agent spare; /* an agent without a state row */
} world;

static void make_world(oi_fixture *fx, world *w)
{
    *w = (world){OI_CUSTOMER_INIT, OI_RECOMMENDATION_INIT, OI_AGENT_INIT};
    fx_make_customer(fx, "api@acme.example", &w->customer);
    fx_make_recommendation(fx, w->customer.id, fx->cost_agent.id, &w->rec);
    fx_make_agent(fx, "spare", "Spare Agent", &w->spare);
}

static void free_world(world *w)
{
    oi_customer_clear(&w->customer);
    oi_recommendation_clear(&w->rec);
    oi_agent_clear(&w->spare);
}

/* Valid records of each table (only their version is set by the caller). */
static void build_customer(const world *w, oi_customer *r)
{
    (void)w;
    r->name = "Versioned";
    r->email = "versioned@acme.example";
    r->api_key = "versioned-key";
}

static void build_agent(const world *w, oi_agent *r)
{
    (void)w;
    r->type = "versioned";
    r->name = "Versioned Agent";
    r->last_heartbeat = OI_TIME_NULL;
}

static void build_event(const world *w, oi_event *r)
{
    memcpy(r->customer_id, w->customer.id, sizeof r->customer_id);
    r->event_type = "versioned";
    r->created_at = OI_TIME_NULL;
}

static void build_recommendation(const world *w, oi_recommendation *r)
{
    memcpy(r->customer_id, w->customer.id, sizeof r->customer_id);
    memcpy(r->agent_id, w->rec.agent_id, sizeof r->agent_id);
    r->type = "versioned";
    r->title = "Versioned";
    r->estimated_savings = r->estimated_improvement = r->confidence_score = OI_NULL_NUMBER;
    r->approved_at = r->executed_at = OI_TIME_NULL;
}

static void build_approval(const world *w, oi_approval *r)
{
    memcpy(r->recommendation_id, w->rec.id, sizeof r->recommendation_id);
    r->approved_by = "versioned@acme.example";
}

static void build_optimization(const world *w, oi_optimization *r)
{
    memcpy(r->recommendation_id, w->rec.id, sizeof r->recommendation_id);
    memcpy(r->customer_id, w->customer.id, sizeof r->customer_id);
    memcpy(r->agent_id, w->rec.agent_id, sizeof r->agent_id);
    r->actual_savings = r->actual_improvement = OI_NULL_NUMBER;
    r->started_at = r->completed_at = r->rolled_back_at = OI_TIME_NULL;
}

static void build_agent_config(const world *w, oi_agent_config *r)
{
    memcpy(r->agent_id, w->spare.id, sizeof r->agent_id);
    r->config_key = "versioned";
    r->config_value = "1";
    r->config_type = "integer";
}

static void build_agent_state(const world *w, oi_agent_state *r)
{
    memcpy(r->agent_id, w->spare.id, sizeof r->agent_id);
    r->last_heartbeat = OI_TIME_NULL;
}

static void build_agent_capability(const world *w, oi_agent_capability *r)
{
    memcpy(r->agent_id, w->spare.id, sizeof r->agent_id);
    r->capability_name = "versioned";
    r->capability_version = "1.0.0";
    r->is_enabled = true;
}

static void build_agent_metric(const world *w, oi_agent_metric *r)
{
    memcpy(r->agent_id, w->spare.id, sizeof r->agent_id);
    r->metric_name = "versioned";
    r->metric_value = 1;
    r->collection_timestamp = OI_TIME_NULL;
}

/*
 * For table X (record T, header version V): a record of version 0 (as
 * `T r = {0}` makes it) and one of version V + 1 (a newer header's) are
 * refused by create with OI_EINVALID and a message naming the type, and
 * nothing is written; the same record of version V is then created (it was
 * valid but for its version).  get and next refuse such an out record too;
 * update refuses such a record and changes nothing.
 */
#define CHECK_RECORD_VERSIONS(fx, w, X, T, V, plural)                                  \
    do {                                                                               \
        size_t before_ = count_##plural(fx);                                           \
        const unsigned bad_[] = {0, (V) + 1};                                          \
        for (size_t b_ = 0; b_ < 2; b_++) {                                            \
            T r_ = {0};                                                                \
            build_##X((w), &r_);                                                       \
            r_.version = bad_[b_];                                                     \
            assert_rc(fx, oi_##X##_create((fx)->store, &r_), OI_EINVALID);              \
            assert_version_message(fx, "oi_" #X, bad_[b_]);                             \
        }                                                                              \
        assert_int_equal(count_##plural(fx), before_);                                 \
        assert_int_equal(fx_count(fx, #plural), before_);                              \
        T good_ = T##_INIT_FOR_TEST;                                                   \
        build_##X((w), &good_);                                                        \
        assert_ok(fx, oi_##X##_create((fx)->store, &good_));                            \
        assert_int_equal(count_##plural(fx), before_ + 1);                             \
        for (size_t b_ = 0; b_ < 2; b_++) {                                            \
            T out_ = {0};                                                              \
            out_.version = bad_[b_];                                                   \
            assert_rc(fx, oi_##X##_get((fx)->store, good_.id, &out_), OI_EINVALID);     \
            assert_version_message(fx, "oi_" #X, bad_[b_]);                             \
            oi_iter *it_ = NULL;                                                       \
            assert_ok(fx, oi_##X##_iter_new(&it_, (fx)->store));                        \
            assert_rc(fx, oi_##X##_next(it_, &out_), OI_EINVALID);                      \
            assert_version_message(fx, "oi_" #X, bad_[b_]);                             \
            oi_iter_free(it_);                                                         \
            T upd_ = good_;                                                            \
            upd_.version = bad_[b_];                                                   \
            assert_rc(fx, oi_##X##_update((fx)->store, &upd_), OI_EINVALID);            \
            assert_version_message(fx, "oi_" #X, bad_[b_]);                             \
        }                                                                              \
        T back_ = T##_INIT_FOR_TEST;                                                   \
        assert_ok(fx, oi_##X##_get((fx)->store, good_.id, &back_));                     \
        assert_true(back_.created_at == good_.created_at);                             \
        oi_##X##_clear(&back_);                                                        \
    } while (0)

/* The INIT macros by record type name, for CHECK_RECORD_VERSIONS. */
#define oi_customer_INIT_FOR_TEST OI_CUSTOMER_INIT
#define oi_agent_INIT_FOR_TEST OI_AGENT_INIT
#define oi_event_INIT_FOR_TEST OI_EVENT_INIT
#define oi_recommendation_INIT_FOR_TEST OI_RECOMMENDATION_INIT
#define oi_approval_INIT_FOR_TEST OI_APPROVAL_INIT
#define oi_optimization_INIT_FOR_TEST OI_OPTIMIZATION_INIT
#define oi_agent_config_INIT_FOR_TEST OI_AGENT_CONFIG_INIT
#define oi_agent_state_INIT_FOR_TEST OI_AGENT_STATE_INIT
#define oi_agent_capability_INIT_FOR_TEST OI_AGENT_CAPABILITY_INIT
#define oi_agent_metric_INIT_FOR_TEST OI_AGENT_METRIC_INIT

static void test_api_record_versions_refused(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    CHECK_RECORD_VERSIONS(fx, &w, customer, oi_customer, OI_CUSTOMER_VERSION, customers);
    CHECK_RECORD_VERSIONS(fx, &w, agent, oi_agent, OI_AGENT_VERSION, agents);
    CHECK_RECORD_VERSIONS(fx, &w, event, oi_event, OI_EVENT_VERSION, events);
    CHECK_RECORD_VERSIONS(fx, &w, recommendation, oi_recommendation, OI_RECOMMENDATION_VERSION,
                          recommendations);
    CHECK_RECORD_VERSIONS(fx, &w, approval, oi_approval, OI_APPROVAL_VERSION, approvals);
    CHECK_RECORD_VERSIONS(fx, &w, optimization, oi_optimization, OI_OPTIMIZATION_VERSION,
                          optimizations);
    CHECK_RECORD_VERSIONS(fx, &w, agent_config, oi_agent_config, OI_AGENT_CONFIG_VERSION,
                          agent_configs);
    CHECK_RECORD_VERSIONS(fx, &w, agent_state, oi_agent_state, OI_AGENT_STATE_VERSION,
                          agent_states);
    CHECK_RECORD_VERSIONS(fx, &w, agent_capability, oi_agent_capability,
                          OI_AGENT_CAPABILITY_VERSION, agent_capabilities);
    CHECK_RECORD_VERSIONS(fx, &w, agent_metric, oi_agent_metric, OI_AGENT_METRIC_VERSION,
                          agent_metrics);
    free_world(&w);
}

/* The calls beyond CRUD that fill or take a record: the same refusal. */
static void test_api_record_versions_refused_elsewhere(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const char *cost = fx->cost_agent.id;
    const unsigned agent_bad[] = {0, OI_AGENT_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_agent a = {0};
        a.version = agent_bad[b];
        assert_rc(fx, oi_agent_find(fx->store, "cost", "Test Cost Agent", &a), OI_EINVALID);
        assert_version_message(fx, "oi_agent", agent_bad[b]);
        assert_rc(fx, oi_agent_lookup(fx->store, "Test Cost Agent", &a), OI_EINVALID);
        assert_version_message(fx, "oi_agent", agent_bad[b]);

        /* an update of a record of an unknown version changes nothing */
        oi_agent upd = OI_AGENT_INIT;
        assert_ok(fx, oi_agent_get(fx->store, cost, &upd));
        char *saved = upd.name;
        upd.name = "Renamed";
        upd.version = agent_bad[b];
        assert_rc(fx, oi_agent_update(fx->store, &upd), OI_EINVALID);
        upd.name = saved;
        upd.version = OI_AGENT_VERSION;
        oi_agent_clear(&upd);
        assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agents WHERE name = 'Renamed'"), 0);
    }

    const unsigned state_bad[] = {0, OI_AGENT_STATE_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_agent_state st = {0};
        st.version = state_bad[b];
        assert_rc(fx, oi_agent_start_workflow(fx->store, cost, "w", NULL, &st), OI_EINVALID);
        assert_version_message(fx, "oi_agent_state", state_bad[b]);
        assert_rc(fx, oi_agent_record_error(fx->store, cost, "e", NULL, &st), OI_EINVALID);
        assert_int_equal(fx_count(fx, "agent_states"), 0); /* no state row made */
        assert_rc(fx, oi_agent_state_find(fx->store, cost, &st), OI_EINVALID);
        assert_version_message(fx, "oi_agent_state", state_bad[b]);
    }

    const unsigned config_bad[] = {0, OI_AGENT_CONFIG_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_agent_config c = {0};
        c.version = config_bad[b];
        assert_rc(fx, oi_config_set(fx->store, cost, "k", "v", NULL, NULL, OI_SENSITIVE_KEEP, &c),
                  OI_EINVALID);
        assert_version_message(fx, "oi_agent_config", config_bad[b]);
        assert_int_equal(fx_count(fx, "agent_configs"), 0);
    }

    const unsigned cap_bad[] = {0, OI_AGENT_CAPABILITY_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_agent_capability c = {0};
        build_agent_capability(&w, &c);
        c.version = cap_bad[b];
        assert_rc(fx, oi_capability_register(fx->store, &c), OI_EINVALID);
        assert_version_message(fx, "oi_agent_capability", cap_bad[b]);
        assert_int_equal(fx_count(fx, "agent_capabilities"), 0);
    }

    const unsigned approval_bad[] = {0, OI_APPROVAL_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_approval a = {0};
        a.version = approval_bad[b];
        assert_rc(fx, oi_recommendation_approve(fx->store, w.rec.id, "alice", NULL, &a),
                  OI_EINVALID);
        assert_version_message(fx, "oi_approval", approval_bad[b]);
        assert_int_equal(fx_count(fx, "approvals"), 0);
        assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM recommendations "
                                        "WHERE status = 'pending'"), 1);
    }

    const unsigned event_bad[] = {0, OI_EVENT_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_event ev = {0};
        build_event(&w, &ev);
        ev.version = event_bad[b];
        assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
        assert_version_message(fx, "oi_event", event_bad[b]);
        assert_int_equal(fx_count(fx, "events"), 0);
    }
    free_world(&w);
}

/* The records only iterators fill: liveness, metric stats, capable agents. */
static void test_api_iterator_records_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_iter *it = NULL;
    const unsigned live_bad[] = {0, OI_AGENT_LIVENESS_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_agent_liveness l = {0};
        l.version = live_bad[b];
        assert_ok(fx, oi_agent_stale_iter_new(&it, fx->store, 0));
        assert_rc(fx, oi_agent_liveness_next(it, &l), OI_EINVALID);
        assert_version_message(fx, "oi_agent_liveness", live_bad[b]);
        oi_iter_free(it);
    }

    oi_agent_metric m = metric_at(fx, oi_time_now(), 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    const unsigned stats_bad[] = {0, OI_METRIC_STATS_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_metric_stats row = {0};
        row.version = stats_bad[b];
        assert_ok(fx, oi_metric_aggregate_iter_new(&it, fx->store, &f, 0, 0));
        assert_rc(fx, oi_metric_stats_next(it, &row), OI_EINVALID);
        assert_version_message(fx, "oi_metric_stats", stats_bad[b]);
        oi_iter_free(it);
    }

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    memcpy(cap.agent_id, fx->cost_agent.id, sizeof cap.agent_id);
    cap.capability_name = "analyze";
    cap.capability_version = "1.0.0";
    cap.is_enabled = true;
    assert_ok(fx, oi_capability_register(fx->store, &cap));
    for (size_t b = 0; b < 2; b++) {
        oi_agent a = OI_AGENT_INIT;
        oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
        a.version = b ? OI_AGENT_VERSION + 1 : 0;
        assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "analyze"));
        assert_rc(fx, oi_capable_agent_next(it, &a, &c), OI_EINVALID);
        assert_version_message(fx, "oi_agent", a.version);
        oi_iter_free(it);
        a.version = OI_AGENT_VERSION;
        c.version = b ? OI_AGENT_CAPABILITY_VERSION + 1 : 0;
        assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "analyze"));
        assert_rc(fx, oi_capable_agent_next(it, &a, &c), OI_EINVALID);
        assert_version_message(fx, "oi_agent_capability", c.version);
        oi_iter_free(it);
    }
}

/* ---- b. versioned options and filters --------------------------------------------- */

#define CSV_ONE_ROW \
    "agent,metric_name,metric_value\nTest Cost Agent,imported,1\n"

static int import_csv(oi_fixture *fx, const oi_import_options *opts, oi_import_report *rep)
{
    FILE *in = fmemopen((void *)CSV_ONE_ROW, strlen(CSV_ONE_ROW), "r");
    assert_non_null(in);
    int rc = oi_metrics_import(fx->store, in, OI_FORMAT_CSV, opts, rep);
    fclose(in);
    return rc;
}

static void test_api_metric_filter_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = metric_at(fx, oi_time_now(), 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    const unsigned bad[] = {0, OI_METRIC_FILTER_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_metric_filter f = {0};
        f.version = bad[b];
        f.from = f.to = OI_TIME_NULL;
        oi_iter *it = fx_iter_unset;
        assert_rc(fx, oi_metric_iter_new(&it, fx->store, &f), OI_EINVALID);
        assert_version_message(fx, "oi_metric_filter", bad[b]);
        assert_null(it);
        it = fx_iter_unset;
        assert_rc(fx, oi_metric_aggregate_iter_new(&it, fx->store, &f, 0, 0), OI_EINVALID);
        assert_version_message(fx, "oi_metric_filter", bad[b]);
        assert_null(it);
        double avg = -1;
        assert_rc(fx, oi_agent_metric_avg(fx->store, &f, &avg), OI_EINVALID);
        assert_version_message(fx, "oi_metric_filter", bad[b]);
    }
}

static void test_api_import_versions_refused(void **state)
{
    oi_fixture *fx = FX(state);
    const unsigned bad_opts[] = {0, OI_IMPORT_OPTIONS_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_import_options opts = {0};
        opts.version = bad_opts[b];
        opts.batch_size = 10;
        oi_import_report rep = OI_IMPORT_REPORT_INIT;
        assert_rc(fx, import_csv(fx, &opts, &rep), OI_EINVALID);
        assert_version_message(fx, "oi_import_options", bad_opts[b]);
        assert_int_equal(rep.rows, 0);
    }
    const unsigned bad_report[] = {0, OI_IMPORT_REPORT_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_import_report rep = {0};
        rep.version = bad_report[b];
        assert_rc(fx, import_csv(fx, NULL, &rep), OI_EINVALID);
        assert_version_message(fx, "oi_import_report", bad_report[b]);
    }
    assert_int_equal(count_agent_metrics(fx), 0); /* nothing written */
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    assert_ok(fx, import_csv(fx, &opts, &rep)); /* the same input, initialised: imported */
    assert_int_equal(rep.rows, 1);
}

static void test_api_export_filter_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = metric_at(fx, oi_time_now(), 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    const unsigned bad[] = {0, OI_EXPORT_FILTER_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_export_filter f = {0};
        f.version = bad[b];
        f.from = f.to = OI_TIME_NULL;
        char *text = NULL;
        size_t len = 0;
        uint64_t rows = 99;
        FILE *out = open_memstream(&text, &len);
        assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, &f, &rows), OI_EINVALID);
        assert_version_message(fx, "oi_export_filter", bad[b]);
        fclose(out);
        assert_int_equal(len, 0); /* nothing written, not even the header */
        free(text);
    }
}

static void test_api_prune_options_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = metric_at(fx, oi_time_now() - 3600 * SECOND, 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    const unsigned bad[] = {0, OI_PRUNE_OPTIONS_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_prune_options opts = {0};
        opts.version = bad[b];
        uint64_t deleted = 0;
        assert_rc(fx, oi_metrics_prune(fx->store, oi_time_now(), &opts, &deleted), OI_EINVALID);
        assert_version_message(fx, "oi_prune_options", bad[b]);
        assert_int_equal(count_agent_metrics(fx), 1); /* nothing deleted */
    }
    oi_prune_options opts = OI_PRUNE_OPTIONS_INIT;
    uint64_t deleted = 0;
    assert_ok(fx, oi_metrics_prune(fx->store, oi_time_now(), &opts, &deleted));
    assert_int_equal(deleted, 1);
}

static void test_api_event_filter_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const unsigned bad[] = {0, OI_EVENT_FILTER_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_event_filter f = {0};
        f.version = bad[b];
        f.customer_id = w.customer.id;
        f.since = OI_TIME_NULL;
        oi_iter *it = fx_iter_unset;
        assert_rc(fx, oi_event_iter_recent(&it, fx->store, &f), OI_EINVALID);
        assert_version_message(fx, "oi_event_filter", bad[b]);
        assert_null(it);
    }
    free_world(&w);
}

static void test_api_lock_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    const char *cost = fx->cost_agent.id;
    const unsigned bad[] = {0, OI_LOCK_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_lock lock = {0};
        lock.version = bad[b];
        assert_rc(fx, oi_lock_acquire(fx->store, cost, "gpu_pool", 0, 0, &lock), OI_EINVALID);
        assert_version_message(fx, "oi_lock", bad[b]);
        assert_int_equal(count_locks(fx), 0); /* nothing written */
        assert_int_equal(fx_count(fx, "resource_locks"), 0);
        assert_int_equal(fx_count(fx, "agent_states"), 0);
    }
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire(fx->store, cost, "gpu_pool", 0, 0, &lock));
    oi_lock_clear(&lock);
    for (size_t b = 0; b < 2; b++) {
        oi_lock out = {0};
        out.version = bad[b];
        oi_iter *it = NULL;
        assert_ok(fx, oi_lock_iter_new(&it, fx->store, NULL, 0));
        assert_rc(fx, oi_lock_next(it, &out), OI_EINVALID);
        assert_version_message(fx, "oi_lock", bad[b]);
        oi_iter_free(it);
        /* on OI_EHELD *out receives the holder: a bad one is refused first */
        oi_agent other = OI_AGENT_INIT;
        if (b == 0)
            fx_make_agent(fx, "cost", "Other", &other);
        else
            assert_ok(fx, oi_agent_find(fx->store, "cost", "Other", &other));
        assert_rc(fx, oi_lock_acquire(fx->store, other.id, "gpu_pool", 0, 0, &out), OI_EINVALID);
        oi_agent_clear(&other);
    }
    assert_int_equal(count_locks(fx), 1);
}

static void test_api_seed_report_version_refused(void **state)
{
    oi_fixture *fx = FX(state);
    const unsigned bad[] = {0, OI_SEED_REPORT_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        oi_seed_report r = {0};
        r.version = bad[b];
        assert_rc(fx, oi_seed_core(fx->store, &r), OI_EINVALID);
        assert_version_message(fx, "oi_seed_report", bad[b]);
        assert_int_equal(count_customers(fx), 0); /* nothing written */
        assert_int_equal(count_agents(fx), 1);    /* the fixture's own */
    }
    oi_seed_report r = OI_SEED_REPORT_INIT;
    assert_ok(fx, oi_seed_core(fx->store, &r));
    for (size_t b = 0; b < 2; b++) {
        oi_seed_report s = {0};
        s.version = bad[b];
        assert_rc(fx, oi_seed_state(fx->store, &s), OI_EINVALID);
        assert_version_message(fx, "oi_seed_report", bad[b]);
        assert_int_equal(count_agent_configs(fx), 0);
        assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    }
}

/* ---- c. init functions against the INIT macros --------------------------------------- */

/* x_init(&x, V) gives the bytes of X_INIT (a static object: padding zero,
 * as the library's memset leaves it); versions 0 and V + 1 are refused. */
#define CHECK_INIT(T, X, V, INIT)                                                      \
    do {                                                                               \
        static const T want_ = INIT;                                                   \
        T got_;                                                                        \
        memset(&got_, 0xa5, sizeof got_);                                              \
        assert_int_equal(oi_##X##_init(&got_, (V)), OI_OK);                            \
        if (memcmp(&got_, &want_, sizeof got_) != 0)                                   \
            fail_msg("oi_" #X "_init(&x, " #V ") differs from " #INIT);                 \
        assert_int_equal(got_.version, (V));                                           \
        T bad_;                                                                        \
        assert_int_equal(oi_##X##_init(&bad_, 0), OI_EINVALID);                        \
        assert_int_equal(oi_##X##_init(&bad_, (V) + 1), OI_EINVALID);                  \
    } while (0)

static void test_api_init_matches_macros(void **state)
{
    (void)state;
    CHECK_INIT(oi_customer, customer, OI_CUSTOMER_VERSION, OI_CUSTOMER_INIT);
    CHECK_INIT(oi_agent, agent, OI_AGENT_VERSION, OI_AGENT_INIT);
    CHECK_INIT(oi_event, event, OI_EVENT_VERSION, OI_EVENT_INIT);
    CHECK_INIT(oi_recommendation, recommendation, OI_RECOMMENDATION_VERSION,
               OI_RECOMMENDATION_INIT);
    CHECK_INIT(oi_approval, approval, OI_APPROVAL_VERSION, OI_APPROVAL_INIT);
    CHECK_INIT(oi_optimization, optimization, OI_OPTIMIZATION_VERSION, OI_OPTIMIZATION_INIT);
    CHECK_INIT(oi_agent_config, agent_config, OI_AGENT_CONFIG_VERSION, OI_AGENT_CONFIG_INIT);
    CHECK_INIT(oi_agent_state, agent_state, OI_AGENT_STATE_VERSION, OI_AGENT_STATE_INIT);
    CHECK_INIT(oi_agent_capability, agent_capability, OI_AGENT_CAPABILITY_VERSION,
               OI_AGENT_CAPABILITY_INIT);
    CHECK_INIT(oi_agent_metric, agent_metric, OI_AGENT_METRIC_VERSION, OI_AGENT_METRIC_INIT);
    CHECK_INIT(oi_lock, lock, OI_LOCK_VERSION, OI_LOCK_INIT);
    CHECK_INIT(oi_agent_liveness, agent_liveness, OI_AGENT_LIVENESS_VERSION,
               OI_AGENT_LIVENESS_INIT);
    CHECK_INIT(oi_metric_stats, metric_stats, OI_METRIC_STATS_VERSION, OI_METRIC_STATS_INIT);
    CHECK_INIT(oi_metric_filter, metric_filter, OI_METRIC_FILTER_VERSION, OI_METRIC_FILTER_INIT);
    CHECK_INIT(oi_event_filter, event_filter, OI_EVENT_FILTER_VERSION, OI_EVENT_FILTER_INIT);
    CHECK_INIT(oi_export_filter, export_filter, OI_EXPORT_FILTER_VERSION, OI_EXPORT_FILTER_INIT);
    CHECK_INIT(oi_import_options, import_options, OI_IMPORT_OPTIONS_VERSION,
               OI_IMPORT_OPTIONS_INIT);
    CHECK_INIT(oi_import_report, import_report, OI_IMPORT_REPORT_VERSION, OI_IMPORT_REPORT_INIT);
    CHECK_INIT(oi_prune_options, prune_options, OI_PRUNE_OPTIONS_VERSION, OI_PRUNE_OPTIONS_INIT);
    CHECK_INIT(oi_seed_report, seed_report, OI_SEED_REPORT_VERSION, OI_SEED_REPORT_INIT);
    CHECK_INIT(oi_heartbeat_options, heartbeat_options, OI_HEARTBEAT_OPTIONS_VERSION,
               OI_HEARTBEAT_OPTIONS_INIT);
    CHECK_INIT(oi_api_token, api_token, OI_API_TOKEN_VERSION, OI_API_TOKEN_INIT);
}

/* clear() leaves a record as its INIT macro made it, ready for reuse. */
static void test_api_clear_restores_init(void **state)
{
    oi_fixture *fx = FX(state);
    static const oi_agent agent_init = OI_AGENT_INIT;
    oi_agent a;
    assert_int_equal(oi_agent_init(&a, OI_AGENT_VERSION), OI_OK);
    assert_ok(fx, oi_agent_get(fx->store, fx->cost_agent.id, &a));
    assert_non_null(a.name);
    oi_agent_clear(&a);
    assert_memory_equal(&a, &agent_init, sizeof a);

    world w;
    make_world(fx, &w);
    static const oi_recommendation rec_init = OI_RECOMMENDATION_INIT;
    oi_recommendation r;
    assert_int_equal(oi_recommendation_init(&r, OI_RECOMMENDATION_VERSION), OI_OK);
    assert_ok(fx, oi_recommendation_get(fx->store, w.rec.id, &r));
    oi_recommendation_clear(&r);
    assert_memory_equal(&r, &rec_init, sizeof r);
    oi_agent_clear(NULL);

    static const oi_api_token token_init = OI_API_TOKEN_INIT;
    oi_api_token t;
    char token[OI_TOKEN_BUFSZ];
    assert_int_equal(oi_api_token_init(&t, OI_API_TOKEN_VERSION), OI_OK);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_AGENT, fx->cost_agent.id, "l", token, &t));
    assert_non_null(t.agent_name);
    oi_api_token_clear(&t);
    assert_memory_equal(&t, &token_init, sizeof t);
    oi_api_token_clear(NULL);
    t.version = 0; /* a record of an unknown version is not touched */
    t.label = "not the library's";
    oi_api_token_clear(&t);
    assert_string_equal(t.label, "not the library's");
    free_world(&w);
}

/* ---- d. iterators ------------------------------------------------------------------ */

/* (collection_timestamp, id) order. */
static int by_time_then_id(const void *pa, const void *pb)
{
    const oi_agent_metric *a = pa, *b = pb;
    if (a->collection_timestamp != b->collection_timestamp)
        return a->collection_timestamp < b->collection_timestamp ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* PAGED_METRICS metrics, three per timestamp, written newest timestamp
 * first (so that id order is not time order); their ids in (time, id)
 * order into ids[]. */
static void paged_metrics(oi_fixture *fx, int64_t *ids)
{
    oi_time t0 = 1767225600 * SECOND; /* 2026-01-01 */
    oi_agent_metric *items = calloc(PAGED_METRICS, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < PAGED_METRICS; i++)
        items[i] = metric_at(fx, t0 + (PAGED_METRICS - 1 - i) / 3 * SECOND, i);
    assert_ok(fx, fx_record_batch(fx->store, items, PAGED_METRICS));
    qsort(items, PAGED_METRICS, sizeof *items, by_time_then_id);
    for (int i = 0; i < PAGED_METRICS; i++) {
        assert_true(items[i].id > 0);
        ids[i] = items[i].id;
    }
    free(items);
}

/* The ids of a metrics query, into ids (room for PAGED_METRICS + 1) and
 * their count; the iterator's cursor into cursor. */
static size_t query_ids(oi_fixture *fx, const oi_metric_filter *f, int64_t *ids, char *cursor)
{
    oi_agent_metric *items = NULL;
    size_t n = fx_metric_query(fx, f, &items, cursor);
    assert_true(n <= PAGED_METRICS + 1);
    for (size_t i = 0; i < n; i++)
        ids[i] = items[i].id;
    fx_free_agent_metrics(items, n);
    return n;
}

static void assert_ids(const int64_t *got, const int64_t *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: row %zu is id %" PRId64 ", want %" PRId64, what, i, got[i], want[i]);
}

/* Every row of several pages, once, in order, both ways. */
static void test_api_iter_pages_complete(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t want[PAGED_METRICS], got[PAGED_METRICS + 1], reversed[PAGED_METRICS];
    paged_metrics(fx, want);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    char cursor[OI_CURSOR_BUFSZ];
    assert_int_equal(query_ids(fx, &f, got, cursor), PAGED_METRICS);
    assert_ids(got, want, PAGED_METRICS, "oldest first");
    assert_string_equal(cursor, "");
    for (int i = 0; i < PAGED_METRICS; i++)
        reversed[i] = want[PAGED_METRICS - 1 - i];
    f.newest_first = true;
    assert_int_equal(query_ids(fx, &f, got, cursor), PAGED_METRICS);
    assert_ids(got, reversed, PAGED_METRICS, "newest first");
    assert_string_equal(cursor, "");

    /* the table's own iterator: every row once, in id order */
    oi_agent_metric *all = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_metric_iter_new(&it, fx->store));
    size_t n = fx_collect_agent_metrics(fx, it, &all);
    assert_int_equal(n, PAGED_METRICS);
    for (size_t i = 1; i < n; i++)
        assert_true(all[i - 1].id < all[i].id);
    fx_free_agent_metrics(all, n);
}

/* More agents than a page, created in one transaction: every one once, in
 * (created_at, id) order. */
static void test_api_iter_agents_over_pages(void **state)
{
    oi_fixture *fx = FX(state);
    enum { AGENTS = PAGE + 20 };
    assert_ok(fx, oi_begin(fx->store));
    for (int i = 0; i < AGENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "agent-%04d", i);
        oi_agent a = OI_AGENT_INIT;
        a.type = "paged";
        a.name = name;
        assert_ok(fx, oi_agent_create(fx->store, &a));
    }
    assert_ok(fx, oi_commit(fx->store));
    oi_agent *all = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_iter_new(&it, fx->store));
    size_t n = fx_collect_agents(fx, it, &all);
    assert_int_equal(n, AGENTS + 1); /* and the fixture's */
    bool *seen = calloc(AGENTS, sizeof *seen);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(all[i - 1].created_at < all[i].created_at ||
                        (all[i - 1].created_at == all[i].created_at &&
                         strcmp(all[i - 1].id, all[i].id) < 0));
        int k;
        if (sscanf(all[i].name, "agent-%d", &k) == 1) {
            assert_false(seen[k]);
            seen[k] = true;
        }
    }
    for (int k = 0; k < AGENTS; k++)
        assert_true(seen[k]);
    free(seen);
    fx_free_agents(all, n);
}

/* More events than a page, newest first (created_at, then id, descending):
 * every one once, with and without a limit past the first page. */
static void test_api_iter_events_over_pages(void **state)
{
    oi_fixture *fx = FX(state);
    enum { EVENTS = PAGE + 20 };
    world w;
    make_world(fx, &w);
    assert_ok(fx, oi_begin(fx->store));
    for (int i = 0; i < EVENTS; i++) {
        oi_event ev = OI_EVENT_INIT;
        build_event(&w, &ev);
        assert_ok(fx, oi_event_create(fx->store, &ev));
    }
    assert_ok(fx, oi_commit(fx->store));
    /* a third of them at one instant: the id alone orders those */
    fx_sql_exec(fx, "UPDATE events SET created_at = '2026-01-01T00:00:00.000000Z' "
                    "WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 173)");
    oi_event_filter f = OI_EVENT_FILTER_INIT;
    f.customer_id = w.customer.id;
    for (size_t limit = 0; limit <= PAGE + 10; limit += PAGE + 10) {
        f.limit = limit;
        oi_event *all = NULL;
        oi_iter *it = NULL;
        assert_ok(fx, oi_event_iter_recent(&it, fx->store, &f));
        size_t n = fx_collect_events(fx, it, &all);
        assert_int_equal(n, limit ? limit : EVENTS);
        for (size_t i = 1; i < n; i++)
            if (!(all[i - 1].created_at > all[i].created_at ||
                  (all[i - 1].created_at == all[i].created_at &&
                   strcmp(all[i - 1].id, all[i].id) > 0)))
                fail_msg("limit %zu: events %zu and %zu out of order or repeated", limit, i - 1,
                         i);
        fx_free_events(all, n);
    }
    free_world(&w);
}

/* A limit around and across page boundaries, then the cursor: the rows of
 * the limited run and of the resumed one are exactly those of one run. */
static void test_api_iter_limit_and_cursor(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t want[PAGED_METRICS], reversed[PAGED_METRICS];
    int64_t *got = calloc(2 * (PAGED_METRICS + 1), sizeof *got);
    paged_metrics(fx, want);
    for (int i = 0; i < PAGED_METRICS; i++)
        reversed[i] = want[PAGED_METRICS - 1 - i];
    const size_t limits[] = {1, PAGE - 1, PAGE, PAGE + 1, 700, 2 * PAGE, PAGED_METRICS - 1,
                             PAGED_METRICS, PAGED_METRICS + 1};
    for (int newest = 0; newest < 2; newest++) {
        const int64_t *expect = newest ? reversed : want;
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
            char what[64], cursor[OI_CURSOR_BUFSZ], rest_cursor[OI_CURSOR_BUFSZ];
            snprintf(what, sizeof what, "%s, limit %zu", newest ? "newest" : "oldest",
                     limits[l]);
            oi_metric_filter f = OI_METRIC_FILTER_INIT;
            f.newest_first = newest;
            f.limit = limits[l];
            size_t first = query_ids(fx, &f, got, cursor);
            size_t want_first = limits[l] < PAGED_METRICS ? limits[l] : PAGED_METRICS;
            if (first != want_first)
                fail_msg("%s: %zu rows, want %zu", what, first, want_first);
            if ((cursor[0] != '\0') != (limits[l] < PAGED_METRICS))
                fail_msg("%s: cursor '%s'", what, cursor);
            size_t rest = 0;
            if (cursor[0]) {
                f.limit = 0;
                f.cursor = cursor;
                rest = query_ids(fx, &f, got + first, rest_cursor);
                assert_string_equal(rest_cursor, "");
            }
            if (first + rest != PAGED_METRICS)
                fail_msg("%s: %zu + %zu rows", what, first, rest);
            assert_ids(got, expect, PAGED_METRICS, what);
        }
        /* a walk of pages of 700: 700 + 503, the second page's cursor empty */
        oi_metric_filter f = OI_METRIC_FILTER_INIT;
        f.newest_first = newest;
        f.limit = 700;
        char c1[OI_CURSOR_BUFSZ], c2[OI_CURSOR_BUFSZ];
        size_t a = query_ids(fx, &f, got, c1);
        f.cursor = c1;
        size_t b = query_ids(fx, &f, got + a, c2);
        assert_int_equal(a, 700);
        assert_int_equal(b, PAGED_METRICS - 700);
        assert_string_equal(c2, "");
        assert_ids(got, expect, PAGED_METRICS, "walk of 700");
    }
    free(got);
}

/* Rows written between two next() calls: one sorting before the position
 * never appears and makes nothing repeat or go missing; one sorting after
 * the end appears once, last. */
static void test_api_iter_rows_written_meanwhile(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t want[PAGED_METRICS];
    paged_metrics(fx, want);
    oi_time t0 = 1767225600 * SECOND;
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_iter *it = NULL;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    int64_t *got = calloc(PAGED_METRICS + 8, sizeof *got);
    int64_t before_ids[2] = {0, 0}, after_id = 0;
    size_t n = 0;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    int rc;
    while ((rc = oi_agent_metric_next(it, &m)) == OI_OK) {
        assert_true(n < PAGED_METRICS + 8);
        got[n++] = m.id;
        oi_agent_metric_clear(&m);
        if (n == 100 || n == PAGE + 100) { /* in the first page, then in the second */
            oi_agent_metric early = metric_at(fx, t0 - 3600 * SECOND, -1);
            assert_ok(fx, oi_agent_metric_create(fx->store, &early));
            before_ids[n == 100 ? 0 : 1] = early.id;
        }
        if (n == 100) {
            oi_agent_metric late = metric_at(fx, t0 + 3600 * SECOND, -2);
            assert_ok(fx, oi_agent_metric_create(fx->store, &late));
            after_id = late.id;
        }
    }
    oi_iter_free(it);
    assert_rc(fx, rc, OI_ITEROVER);
    if (n != PAGED_METRICS + 1)
        fail_msg("%zu rows, want the %d there were and the one written after the end", n,
                 PAGED_METRICS);
    assert_ids(got, want, PAGED_METRICS, "rows written meanwhile");
    assert_true(got[PAGED_METRICS] == after_id);
    for (size_t i = 0; i < n; i++)
        assert_true(got[i] != before_ids[0] && got[i] != before_ids[1]);
    free(got);
}

/* A next() of another type, a NULL iterator, a cursor of a non-metrics
 * iterator: OI_EINVALID. */
static void test_api_iter_wrong_type(void **state)
{
    oi_fixture *fx = FX(state);
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_iter_new(&it, fx->store));
    oi_lock lock = OI_LOCK_INIT;
    assert_rc(fx, oi_lock_next(it, &lock), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "agent");
    assert_null(lock.resource);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    assert_rc(fx, oi_agent_metric_next(it, &m), OI_EINVALID);
    oi_customer c = OI_CUSTOMER_INIT;
    assert_rc(fx, oi_customer_next(it, &c), OI_EINVALID);
    oi_agent a = OI_AGENT_INIT;
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    assert_rc(fx, oi_capable_agent_next(it, &a, &cap), OI_EINVALID);
    char cursor[OI_CURSOR_BUFSZ];
    assert_int_equal(oi_metric_iter_cursor(it, cursor), OI_EINVALID);
    oi_iter_free(it);

    /* the agents of a capable-agents iterator come only with their capability */
    cap.capability_name = "analyze";
    cap.capability_version = "1.0.0";
    cap.is_enabled = true;
    memcpy(cap.agent_id, fx->cost_agent.id, sizeof cap.agent_id);
    assert_ok(fx, oi_capability_register(fx->store, &cap));
    assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "analyze"));
    assert_rc(fx, oi_agent_next(it, &a), OI_EINVALID);
    oi_iter_free(it);

    /* the metrics iterator's own cursor call works, the others' do not */
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    assert_rc(fx, oi_agent_next(it, &a), OI_EINVALID);
    assert_int_equal(oi_metric_iter_cursor(it, cursor), OI_OK);
    oi_iter_free(it);

    assert_int_equal(oi_agent_next(NULL, &a), OI_EINVALID);
    assert_int_equal(oi_lock_next(NULL, &lock), OI_EINVALID);
    assert_int_equal(oi_metric_iter_cursor(NULL, cursor), OI_EINVALID);
    oi_iter_free(NULL);
}

/* Two iterators of one query at once, nested and interleaved: each gets
 * its own statement and its full result. */
static void test_api_iter_two_at_once(void **state)
{
    oi_fixture *fx = FX(state);
    enum { AGENTS = 5 };
    for (int i = 1; i < AGENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "Nested %d", i);
        oi_agent a = OI_AGENT_INIT;
        fx_make_agent(fx, "nested", name, &a);
        oi_agent_clear(&a);
    }
    oi_iter *outer = NULL, *inner = NULL;
    oi_agent a = OI_AGENT_INIT, b = OI_AGENT_INIT;
    char first_ids[AGENTS][OI_UUID_LEN + 1];
    int rc, outer_rows = 0;
    assert_ok(fx, oi_agent_iter_new(&outer, fx->store));
    while ((rc = oi_agent_next(outer, &a)) == OI_OK) {
        assert_true(outer_rows < AGENTS);
        int inner_rows = 0, inner_rc;
        assert_ok(fx, oi_agent_iter_new(&inner, fx->store));
        while ((inner_rc = oi_agent_next(inner, &b)) == OI_OK) {
            assert_true(inner_rows < AGENTS);
            if (outer_rows == 0)
                memcpy(first_ids[inner_rows], b.id, sizeof first_ids[inner_rows]);
            else
                assert_string_equal(b.id, first_ids[inner_rows]);
            inner_rows++;
            oi_agent_clear(&b);
        }
        oi_iter_free(inner);
        assert_rc(fx, inner_rc, OI_ITEROVER);
        assert_int_equal(inner_rows, AGENTS);
        assert_string_equal(a.id, first_ids[outer_rows]);
        outer_rows++;
        oi_agent_clear(&a);
    }
    oi_iter_free(outer);
    assert_rc(fx, rc, OI_ITEROVER);
    assert_int_equal(outer_rows, AGENTS);

    /* two metric iterators of one filter, stepped in turn over several pages */
    int64_t want[PAGED_METRICS];
    paged_metrics(fx, want);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_iter *one = NULL, *two = NULL;
    assert_ok(fx, oi_metric_iter_new(&one, fx->store, &f));
    assert_ok(fx, oi_metric_iter_new(&two, fx->store, &f));
    oi_agent_metric m1 = OI_AGENT_METRIC_INIT, m2 = OI_AGENT_METRIC_INIT;
    int rc1 = OI_OK, rc2 = OI_OK;
    size_t n1 = 0, n2 = 0;
    while (rc1 == OI_OK || rc2 == OI_OK) {
        /* the second runs half as fast, so that they stand on different pages */
        if (rc1 == OI_OK && (rc1 = oi_agent_metric_next(one, &m1)) == OI_OK) {
            assert_true(n1 < PAGED_METRICS && m1.id == want[n1]);
            n1++;
            oi_agent_metric_clear(&m1);
        }
        if (rc2 == OI_OK && (n1 % 2 == 0 || rc1 != OI_OK) &&
            (rc2 = oi_agent_metric_next(two, &m2)) == OI_OK) {
            assert_true(n2 < PAGED_METRICS && m2.id == want[n2]);
            n2++;
            oi_agent_metric_clear(&m2);
        }
    }
    oi_iter_free(one);
    oi_iter_free(two);
    assert_rc(fx, rc1, OI_ITEROVER);
    assert_rc(fx, rc2, OI_ITEROVER);
    assert_int_equal(n1, PAGED_METRICS);
    assert_int_equal(n2, PAGED_METRICS);
}

/* ---- e. the epoch ------------------------------------------------------------------- */

static void test_api_epoch_is_a_time(void **state)
{
    oi_fixture *fx = FX(state);
    char buf[OI_TIME_BUFSZ];
    assert_string_equal(oi_time_format(0, buf), "1970-01-01T00:00:00.000000Z");
    oi_time parsed = -1;
    assert_int_equal(oi_time_parse("1970-01-01T00:00:00Z", &parsed), OI_OK);
    assert_true(parsed == 0);
    assert_true(OI_TIME_NULL != 0);

    /* create, get, the raw column */
    oi_agent_metric m = metric_at(fx, 0, 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    assert_true(m.collection_timestamp == 0);
    oi_agent_metric got = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, &got));
    if (got.collection_timestamp != 0)
        fail_msg("collection_timestamp 0 read back as %s",
                 oi_time_format(got.collection_timestamp, buf));
    oi_agent_metric_clear(&got);
    assert_int_equal(fx_sql_int(fx, fx_is_pg()
        ? "SELECT count(*) FROM agent_metrics WHERE collection_timestamp = '1970-01-01T00:00:00Z'"
        : "SELECT count(*) FROM agent_metrics WHERE collection_timestamp LIKE '1970-01-01%'"), 1);

    /* in a batch, and through a query bounded by the epoch on both sides */
    oi_agent_metric second = metric_at(fx, 0, 2);
    assert_ok(fx, fx_record_batch(fx->store, &second, 1));
    assert_true(second.collection_timestamp == 0);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.from = 0;
    f.to = 0;
    oi_agent_metric *items = NULL;
    size_t n = fx_metric_query(fx, &f, &items, NULL);
    assert_int_equal(n, 2);
    assert_true(items[0].collection_timestamp == 0 && items[1].collection_timestamp == 0);
    fx_free_agent_metrics(items, n);

    /* a page ending at the epoch has a cursor, and it resumes there */
    char cursor[OI_CURSOR_BUFSZ];
    f.limit = 1;
    n = fx_metric_query(fx, &f, &items, cursor);
    assert_int_equal(n, 1);
    assert_true(items[0].id == m.id);
    fx_free_agent_metrics(items, n);
    assert_true(cursor[0] != '\0');
    f.cursor = cursor;
    n = fx_metric_query(fx, &f, &items, cursor);
    assert_int_equal(n, 1);
    assert_true(items[0].id == second.id);
    fx_free_agent_metrics(items, n);

    /* import and export */
    const char *csv = "agent,metric_name,metric_value,collection_timestamp\n"
                      "Test Cost Agent,imported,3,1970-01-01T00:00:00Z\n";
    FILE *in = fmemopen((void *)csv, strlen(csv), "r");
    assert_ok(fx, oi_metrics_import(fx->store, in, OI_FORMAT_CSV, NULL, NULL));
    fclose(in);
    oi_export_filter ef = OI_EXPORT_FILTER_INIT;
    ef.metric_name = "imported";
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_ok(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, &ef, NULL));
    fclose(out);
    assert_contains(text, "Test Cost Agent,imported,3,,1970-01-01T00:00:00.000000Z,{}\n");
    free(text);

    /* prune: a metric exactly at the cut-off stays */
    uint64_t deleted = 99;
    assert_ok(fx, oi_metrics_prune(fx->store, 0, NULL, &deleted));
    assert_int_equal(deleted, 0);
    assert_ok(fx, oi_metrics_prune(fx->store, 1, NULL, &deleted));
    assert_int_equal(deleted, 3);

    /* other time columns: a heartbeat at the epoch is one, long ago */
    oi_agent a = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, fx->cost_agent.id, &a));
    a.last_heartbeat = 0;
    assert_ok(fx, oi_agent_update(fx->store, &a));
    oi_agent_clear(&a);
    assert_ok(fx, oi_agent_get(fx->store, fx->cost_agent.id, &a));
    assert_true(a.last_heartbeat == 0);
    assert_int_equal(oi_agent_health(a.last_heartbeat, oi_time_now(), 0), OI_HEALTH_STALE);
    oi_agent_clear(&a);
    oi_iter *it = NULL;
    oi_agent_liveness *stale = NULL;
    assert_ok(fx, oi_agent_stale_iter_new(&it, fx->store, 0));
    n = fx_collect_livenesses(fx, it, &stale);
    assert_int_equal(n, 1);
    assert_true(stale[0].last_heartbeat == 0);
    assert_int_equal(stale[0].health, OI_HEALTH_STALE);
    fx_free_livenesses(stale, n);
}

/* ---- f. the allocation-failure hook ------------------------------------------------ */

static size_t failed_size;
static void *failed_ctx;
static sigjmp_buf after_failure;

static void jump_out(size_t size, void *ctx)
{
    failed_size = size;
    failed_ctx = ctx;
    siglongjmp(after_failure, 1);
}

/* AddressSanitizer reserves terabytes of address space and never lets
 * malloc return NULL: an address-space limit cannot make an allocation
 * fail under it, so the real failures are tested without it only. */
#if !defined(__SANITIZE_ADDRESS__)
#define OOM_TESTABLE 1

static void record_and_return(size_t size, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "handler called for %zu bytes\n", size);
}

/* The address space the process uses now, from /proc/self/statm (pages). */
static bool address_space(size_t *bytes)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    bool ok = f && fscanf(f, "%lu", &pages) == 1;
    if (f)
        fclose(f);
    *bytes = (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
    return ok;
}

/* Limit the address space to what is used now and a little more. */
static bool limit_address_space(void)
{
    size_t used;
    struct rlimit lim;
    if (!address_space(&used))
        return false;
    lim.rlim_cur = lim.rlim_max = used + 256 * 1024;
    return setrlimit(RLIMIT_AS, &lim) == 0;
}

/* The import's progress: the limit comes after the first batch. */
static void limit_after_first_batch(void *ctx, const oi_import_report *r)
{
    if (r->batches == 1 && !limit_address_space())
        *(bool *)ctx = false;
}

/* An import whose record after `small` small ones is much larger than the
 * address space left: growing the record buffer is the allocation that
 * fails.  The input is made, and the store opened, before the limit is
 * set: before the import when small is 0 (no reader thread can start
 * either: the import reads on the caller's thread), else after the first
 * of the one-row batches, when the reader thread runs (it is at most one
 * batch ahead: the big record is read under the limit, on that thread). */
static int import_under_limit(const char *url, int small, oi_alloc_failure_fn handler,
                              bool *returned)
{
    enum { FIELD = 8 * 1024 * 1024 / 10 }; /* under OI_IMPORT_RECORD_MAX */
    static const char head[] = "agent,metric_name,metric_value\n", row[] = "Test Cost Agent,";
    size_t size = sizeof head + small * (sizeof row + 3) + sizeof row + FIELD + 8, at;
    char *csv = malloc(size + 1);
    oi_store *s = NULL;
    bool limited = true;
    oi_import_options opts = {.version = OI_IMPORT_OPTIONS_VERSION, .batch_size = 1,
                              .progress = limit_after_first_batch, .progress_ctx = &limited};
    if (!csv || oi_store_open(&s, url) != OI_OK)
        return 10;
    /* One arena for every thread: a thread's own arena reserves 64 MB of
     * address space up front, inside which the limit fails nothing. */
    mallopt(M_ARENA_MAX, 1);
    at = (size_t)sprintf(csv, "%s", head);
    for (int i = 0; i < small; i++)
        at += (size_t)sprintf(csv + at, "%s1,1\n", row);
    at += (size_t)sprintf(csv + at, "%s", row);
    memset(csv + at, 'x', FIELD);
    strcpy(csv + at + FIELD, ",1\n");
    FILE *in = fmemopen(csv, strlen(csv), "r");
    if (!in || (small == 0 && !limit_address_space()))
        return 11;
    oi_set_alloc_failure_handler(handler, &failed_size);
    *returned = false;
    if (sigsetjmp(after_failure, 0) == 0) {
        oi_metrics_import(s, in, OI_FORMAT_CSV, small ? &opts : NULL, NULL);
        *returned = true;
    }
    return limited ? 0 : 12;
}

/* In the child: the handler is called with the size, and jumps out. */
static int child_handler_jumps(const char *url, void *ctx)
{
    bool returned = false;
    int rc = import_under_limit(url, *(const int *)ctx, jump_out, &returned);
    if (rc)
        return rc;
    if (returned) {
        fprintf(stderr, "the import returned: no allocation failed\n");
        return 1;
    }
    if (failed_ctx != &failed_size || failed_size < 64 * 1024) {
        fprintf(stderr, "handler called for %zu bytes, ctx %p\n", failed_size, failed_ctx);
        return 2;
    }
    return 0;
}

typedef struct abort_case {
    bool with_handler;  /* record_and_return, else none (the default) */
    char err_path[300]; /* the child's stderr */
} abort_case;

/* In the child: a handler that returns, or none: the library aborts. */
static int child_handler_returns(const char *url, void *ctx)
{
    const abort_case *c = ctx;
    bool returned = false;
    if (!freopen(c->err_path, "w", stderr))
        return 13;
    setvbuf(stderr, NULL, _IONBF, 0);
    import_under_limit(url, 0, c->with_handler ? record_and_return : NULL, &returned);
    return returned ? 3 : 4; /* not reached: abort() */
}

/* fx_in_child's function: the case named by ctx ("jumps", "returns",
 * "default"), run by the test binary started again in the child (main()
 * hands it to fx_oom_case).  A forked child would keep the heap the tests
 * before it left, whose free blocks can hold the record's growth without
 * new address space: no allocation would fail. */
static int in_fresh_process(const char *url, void *ctx)
{
    const char *const *what = ctx; /* {case, stderr path} */
    setenv("OI_TEST_OOM_CASE", what[0], 1);
    setenv("OI_TEST_OOM_URL", url, 1);
    setenv("OI_TEST_OOM_ERR", what[1], 1);
    const char *own = getenv("OI_TEST_OWN_ASAN_OPTIONS"); /* main.c: leak checks kept */
    if (own)
        setenv("ASAN_OPTIONS", own, 1);
    execl("/proc/self/exe", "optiinfra-tests", (char *)NULL);
    return 126;
}

/* The child ends by SIGABRT (128 + 6), having said why on stderr. */
static void assert_aborts(oi_fixture *fx, bool with_handler)
{
    char err_path[300];
    snprintf(err_path, sizeof err_path, "%s/oom-%d.err", fx->dir, with_handler);
    const char *what[] = {with_handler ? "returns" : "default", err_path};
    assert_int_equal(fx_in_child(fx, in_fresh_process, what, 60000), 128 + 6);
    FILE *f = fopen(err_path, "r");
    char err[512] = "";
    assert_non_null(f);
    size_t n = fread(err, 1, sizeof err - 1, f);
    err[n] = '\0';
    fclose(f);
    if (with_handler)
        assert_contains(err, "handler called for ");
    assert_contains(err, "optiinfra: out of memory");
}
#endif

static void test_api_alloc_failure_handler(void **state)
{
    oi_fixture *fx = FX(state);
    /* Setting and resetting works, and calls go on as before. */
    oi_set_alloc_failure_handler(jump_out, &failed_size);
    assert_int_equal(count_agents(fx), 1);
    oi_set_alloc_failure_handler(NULL, NULL);
    assert_int_equal(count_agents(fx), 1);
    assert_int_equal(failed_size, 0); /* nothing failed */

#if !defined(OOM_TESTABLE)
    print_message("  (AddressSanitizer never lets malloc fail: only set and reset tested)\n");
#else
    /* A real failure, in a child process whose address space is limited
     * (no allocator interposer needed): the handler gets the size and its
     * ctx and may jump out; a handler that returns, and no handler at all,
     * make the library abort (SIGABRT: 128 + 6). */
    const char *jumps[] = {"jumps", ""};
    assert_int_equal(fx_in_child(fx, in_fresh_process, jumps, 60000), 0);
    /* The import's reader thread fails: the handler runs on the caller's
     * thread, which it may jump out of (the reader joined first). */
    const char *from_reader[] = {"jumps from the reader", ""};
    assert_int_equal(fx_in_child(fx, in_fresh_process, from_reader, 60000), 0);
    assert_aborts(fx, true);
    assert_aborts(fx, false);
#endif
}

int fx_oom_case(const char *name)
{
#if !defined(OOM_TESTABLE)
    (void)name;
    return 2;
#else
    const char *url = getenv("OI_TEST_OOM_URL");
    static const int on_caller = 0, on_reader = 4; /* small records before the big one */
    if (strcmp(name, "jumps") == 0)
        return child_handler_jumps(url, (void *)&on_caller);
    if (strcmp(name, "jumps from the reader") == 0)
        return child_handler_jumps(url, (void *)&on_reader);
    abort_case c = {.with_handler = strcmp(name, "returns") == 0};
    snprintf(c.err_path, sizeof c.err_path, "%s", getenv("OI_TEST_OOM_ERR"));
    return child_handler_returns(url, &c);
#endif
}


/* Creation order, not the order the database happens to return: an
 * updated row stays where it was created (PostgreSQL moves it). */
static void test_api_iter_creation_order_after_update(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const names[] = {"created 1st", "created 2nd", "created 3rd"};
    oi_agent a[3] = {OI_AGENT_INIT, OI_AGENT_INIT, OI_AGENT_INIT};
    for (int i = 0; i < 3; i++)
        fx_make_agent(fx, "ordering", names[i], &a[i]);
    oi_agent first = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, a[0].id, &first));
    free(first.status);
    first.status = strdup("paused");
    assert_ok(fx, oi_agent_update(fx->store, &first));
    oi_agent_clear(&first);
    oi_iter *it;
    oi_agent *rows;
    assert_ok(fx, oi_agent_iter_new(&it, fx->store));
    size_t n = fx_collect_agents(fx, it, &rows);
    size_t seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].type, "ordering") == 0)
            assert_string_equal(rows[i].name, names[seen++]);
    assert_int_equal(seen, 3);
    fx_free_agents(rows, n);
    for (int i = 0; i < 3; i++)
        oi_agent_clear(&a[i]);
}

/* A failure is not the end: every next() after it fails too (here the
 * table disappears between two pages, which PostgreSQL allows). */
static void test_api_iter_failure_is_sticky(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    int64_t want[PAGED_METRICS];
    paged_metrics(fx, want);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    oi_iter *it;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &f));
    for (int i = 0; i < PAGE; i++) {
        assert_ok(fx, oi_agent_metric_next(it, &m));
        oi_agent_metric_clear(&m);
    }
    fx_sql_exec(fx, "ALTER TABLE agent_metrics RENAME TO agent_metrics_away");
    int first = oi_agent_metric_next(it, &m);
    int again = oi_agent_metric_next(it, &m);
    fx_sql_exec(fx, "ALTER TABLE agent_metrics_away RENAME TO agent_metrics");
    oi_iter_free(it);
    assert_true(first < 0);
    assert_int_equal(again, first);
    assert_contains(oi_errmsg(fx->store), "earlier failure");
}

/* Times outside the years 0001 to 9999 are refused on the way in, on both
 * backends alike, and never formatted as if they were dates. */
static void test_api_times_out_of_range(void **state)
{
    oi_fixture *fx = FX(state);
    char buf[OI_TIME_BUFSZ];
    oi_agent_metric m = metric_at(fx, OI_TIME_MAX + 1, 1);
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "outside the years 0001 to 9999");
    m.collection_timestamp = OI_TIME_MIN - 1;
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);
    m.collection_timestamp = OI_TIME_MIN;
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    assert_string_equal(oi_time_format(OI_TIME_MIN, buf), "0001-01-01T00:00:00.000000Z");
    assert_string_equal(oi_time_format(OI_TIME_MAX, buf), "9999-12-31T23:59:59.999999Z");
    assert_string_equal(oi_time_format(OI_TIME_NULL, buf), "(out of range)");
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.to = OI_TIME_MAX + 1;
    oi_iter *it = NULL;
    assert_rc(fx, oi_metric_iter_new(&it, fx->store, &f), OI_EINVALID);
    assert_null(it);
}

/* Buckets floor before 1970 too: 23:30 on the last day of 1969 is in the
 * hour that starts at 23:00, on SQLite as on PostgreSQL. */
static void test_api_buckets_before_1970(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = metric_at(fx, -30 * 60 * SECOND, 1);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.metric_name = "paged";
    oi_metric_stats row = OI_METRIC_STATS_INIT;
    oi_iter *it;
    assert_ok(fx, oi_metric_aggregate_iter_new(&it, fx->store, &f, 3600 * SECOND, 0));
    assert_ok(fx, oi_metric_stats_next(it, &row));
    assert_true(row.bucket_start == -3600 * SECOND);
    oi_metric_stats_clear(&row);
    assert_rc(fx, oi_metric_stats_next(it, &row), OI_ITEROVER);
    oi_iter_free(it);
}

/* ---- the group ---------------------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_api_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_version),
        T(test_api_record_versions_refused),
        T(test_api_record_versions_refused_elsewhere),
        T(test_api_iterator_records_refused),
        T(test_api_metric_filter_version_refused),
        T(test_api_import_versions_refused),
        T(test_api_export_filter_version_refused),
        T(test_api_prune_options_version_refused),
        T(test_api_event_filter_version_refused),
        T(test_api_lock_version_refused),
        T(test_api_seed_report_version_refused),
        cmocka_unit_test(test_api_init_matches_macros),
        T(test_api_clear_restores_init),
        T(test_api_iter_pages_complete),
        T(test_api_iter_agents_over_pages),
        T(test_api_iter_events_over_pages),
        T(test_api_iter_limit_and_cursor),
        T(test_api_iter_rows_written_meanwhile),
        T(test_api_iter_wrong_type),
        T(test_api_iter_two_at_once),
        T(test_api_iter_creation_order_after_update),
        T(test_api_iter_failure_is_sticky),
        T(test_api_times_out_of_range),
        T(test_api_buckets_before_1970),
        T(test_api_epoch_is_a_time),
        T(test_api_alloc_failure_handler),
    };
    return fx_run_group("api", tests);
}
