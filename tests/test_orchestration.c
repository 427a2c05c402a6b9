/*
 * test_orchestration.c - events, recommendations and approvals as the
 * orchestrator uses them (include/optiinfra/orchestration.h), through the
 * library and through the CLI.
 *
 * The lifecycle tests walk every legal move and try the illegal ones from
 * every status, checking what the database holds afterwards (raw SQL, not
 * the library's word): the status, the timestamps, and that a refused move
 * wrote no approvals row.  The race tests fork real processes, each with
 * its own connection, released together on a pipe, so that on both
 * backends the database itself arbitrates: exactly one wins.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const oi_time SECOND = 1000000;

/* ---- helpers ------------------------------------------------------------------ */

typedef struct world {
    oi_customer customer, other;
    oi_recommendation rec;
} world;

static void make_world(oi_fixture *fx, world *w)
{
    *w = (world){OI_CUSTOMER_INIT, OI_CUSTOMER_INIT, OI_RECOMMENDATION_INIT};
    fx_make_customer(fx, "ops@acme.ai", &w->customer);
    fx_make_customer(fx, "cto@other.io", &w->other);
    fx_make_recommendation(fx, w->customer.id, fx->cost_agent.id, &w->rec);
}

static void free_world(world *w)
{
    oi_customer_clear(&w->customer);
    oi_customer_clear(&w->other);
    oi_recommendation_clear(&w->rec);
}

static long long approvals_of(oi_fixture *fx, const char *rec_id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM approvals WHERE recommendation_id = '%s'",
             rec_id);
    return fx_sql_int(fx, sql);
}

/* The status the database holds, read around the library. */
static char *status_of(oi_fixture *fx, const char *rec_id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status FROM recommendations WHERE id = '%s'", rec_id);
    char *text = fx_sql_text(fx, sql);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

static void assert_status(oi_fixture *fx, const char *rec_id, const char *want)
{
    char *got = status_of(fx, rec_id);
    assert_string_equal(got, want);
    free(got);
}

static void force_status(oi_fixture *fx, const char *rec_id, const char *status)
{
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE recommendations SET status = '%s' WHERE id = '%s'", status,
             rec_id);
    fx_sql_exec(fx, sql);
}

static void record(oi_fixture *fx, const char *customer_id, const char *agent_id, char *type,
                   char *severity)
{
    oi_event ev = OI_EVENT_INIT;
    snprintf(ev.customer_id, sizeof ev.customer_id, "%s", customer_id);
    snprintf(ev.agent_id, sizeof ev.agent_id, "%s", agent_id ? agent_id : "");
    ev.event_type = type;
    ev.severity = severity;
    assert_ok(fx, oi_event_record(fx->store, &ev));
}

/* Sets the created_at of the events of one type, around the library. */
static void age_events(oi_fixture *fx, const char *type, oi_time at)
{
    char when[OI_TIME_BUFSZ], sql[200];
    snprintf(sql, sizeof sql, "UPDATE events SET created_at = '%s' WHERE event_type = '%s'",
             oi_time_format(at, when), type);
    fx_sql_exec(fx, sql);
}

/* The event types of a listing, "a,b,c", newest first. */
static void assert_events(oi_fixture *fx, const oi_event_filter *f, const char *want)
{
    oi_event *items = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_event_iter_recent(&it, fx->store, f));
    size_t n = fx_collect_events(fx, it, &items);
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? "," : "",
                                items[i].event_type);
    fx_free_events(items, n);
    if (strcmp(got, want) != 0)
        fail_msg("events (severity >= %s, type %s, since %lld, limit %zu): got \"%s\", want \"%s\"",
                 f->min_severity ? f->min_severity : "-", f->event_type ? f->event_type : "-",
                 (long long)f->since, f->limit, got, want);
}

/* assert_events in a child process, with a store of its own: for a filter
 * whose iteration might loop forever inside the library (limit SIZE_MAX did). */
typedef struct child_events {
    oi_event_filter f;
    const char *want;
} child_events;

static int events_in_child(const char *url, void *ctx)
{
    const child_events *c = ctx;
    oi_store *s = NULL;
    oi_iter *it = NULL;
    oi_event ev = OI_EVENT_INIT;
    char got[256] = "";
    size_t len = 0, n = 0;
    int rc = oi_store_open(&s, url);
    if (rc == OI_OK)
        rc = oi_event_iter_recent(&it, s, &c->f);
    while (rc == OI_OK && (rc = oi_event_next(it, &ev)) == OI_OK) {
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", n++ ? "," : "",
                                ev.event_type);
        oi_event_clear(&ev);
    }
    oi_iter_free(it);
    if (rc != OI_ITEROVER || strcmp(got, c->want) != 0)
        fprintf(stderr, "events: rc %d (%s), got \"%s\", want \"%s\"\n", rc,
                s ? oi_errmsg(s) : "", got, c->want);
    oi_store_close(s);
    return rc == OI_ITEROVER && strcmp(got, c->want) == 0 ? 0 : 1;
}

/* ---- customers ------------------------------------------------------------------- */

static void test_customer_lookup_by_id_or_email(void **state)
{
    oi_fixture *fx = FX(state);
    oi_customer made = OI_CUSTOMER_INIT, found = OI_CUSTOMER_INIT;
    fx_make_customer(fx, "ops@acme.ai", &made);
    assert_ok(fx, oi_customer_lookup(fx->store, "ops@acme.ai", &found));
    assert_string_equal(found.id, made.id);
    oi_customer_clear(&found);

    char upper[OI_UUID_LEN + 1];
    snprintf(upper, sizeof upper, "%s", made.id);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    assert_ok(fx, oi_customer_lookup(fx->store, upper, &found));
    assert_string_equal(found.email, "ops@acme.ai");
    oi_customer_clear(&found);

    assert_rc(fx, oi_customer_lookup(fx->store, "nobody@acme.ai", &found), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no customer with email 'nobody@acme.ai'");
    assert_rc(fx, oi_customer_lookup(fx->store, "OPS@acme.ai", &found), OI_ENOTFOUND);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    assert_rc(fx, oi_customer_lookup(fx->store, unknown, &found), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), unknown);
    assert_rc(fx, oi_customer_lookup(fx->store, "", &found), OI_EINVALID);
    assert_rc(fx, oi_customer_lookup(fx->store, NULL, &found), OI_EINVALID);
    assert_string_equal(found.id, "");
    oi_customer_clear(&made);
}

/* ---- events ---------------------------------------------------------------------- */

static void test_event_record_fills_defaults(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_event ev = OI_EVENT_INIT, got = OI_EVENT_INIT;
    memcpy(ev.customer_id, w.customer.id, sizeof ev.customer_id);
    ev.event_type = "cost_spike";
    oi_time before = oi_time_now();
    assert_ok(fx, oi_event_record(fx->store, &ev));
    assert_true(ev.created_at >= before);
    assert_ok(fx, oi_event_get(fx->store, ev.id, &got));
    assert_string_equal(got.severity, "info");
    assert_string_equal(got.data, "{}");
    assert_string_equal(got.agent_id, "");
    assert_true(got.created_at == ev.created_at);
    oi_event_clear(&got);

    oi_event full = OI_EVENT_INIT;
    memcpy(full.customer_id, w.customer.id, sizeof full.customer_id);
    memcpy(full.agent_id, fx->cost_agent.id, sizeof full.agent_id);
    full.event_type = "optimization_failed";
    full.severity = "critical";
    full.data = "{\"reason\": \"quota\"}";
    assert_ok(fx, oi_event_record(fx->store, &full));
    assert_ok(fx, oi_event_get(fx->store, full.id, &got));
    assert_string_equal(got.agent_id, fx->cost_agent.id);
    assert_string_equal(got.severity, "critical");
    assert_contains(got.data, "quota");
    oi_event_clear(&got);
    assert_int_equal(fx_count(fx, "events"), 2);
    free_world(&w);
}

static void test_event_record_refuses_bad_input(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_event ev = OI_EVENT_INIT;
    ev.event_type = "cost_spike";

    memcpy(ev.customer_id, unknown, sizeof ev.customer_id);
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no customer with id");
    assert_contains(oi_errmsg(fx->store), unknown);

    memcpy(ev.customer_id, w.customer.id, sizeof ev.customer_id);
    memcpy(ev.agent_id, unknown, sizeof ev.agent_id);
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no agent with id");

    memset(ev.agent_id, 0, sizeof ev.agent_id);
    ev.severity = "fatal";
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "severity 'fatal'");
    ev.severity = NULL;
    ev.data = "{\"broken\": ";
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "not valid JSON");
    ev.data = "[1, 2]";
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "JSON object");
    ev.data = NULL;
    ev.event_type = NULL;
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
    ev.event_type = "x";
    snprintf(ev.customer_id, sizeof ev.customer_id, "not-a-uuid");
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "not a UUID");
    memcpy(ev.customer_id, w.customer.id, sizeof ev.customer_id);
    snprintf(ev.agent_id, sizeof ev.agent_id, "agent-7");
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_EINVALID);

    assert_int_equal(fx_count(fx, "events"), 0);
    free_world(&w);
}

static void test_events_newest_first_with_limit(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    char *types[] = {"a", "b", "c", "d", "e"};
    oi_time t0 = oi_time_now() - 60 * SECOND;
    for (int i = 0; i < 5; i++) {
        record(fx, w.customer.id, NULL, types[i], "info");
        age_events(fx, types[i], t0 + i * SECOND);
    }
    record(fx, w.other.id, NULL, "other", "critical");

    oi_event_filter f = OI_EVENT_FILTER_INIT;
    f.customer_id = w.customer.id;
    assert_events(fx, &f, "e,d,c,b,a");
    f.limit = 2;
    assert_events(fx, &f, "e,d");
    f.limit = 5;
    assert_events(fx, &f, "e,d,c,b,a");
    f.limit = (size_t)-1; /* more than LIMIT can say: no limit */
    /* in a child: an iteration that never returns must fail the test, not hang the run */
    child_events huge = {f, "e,d,c,b,a"};
    int status = fx_in_child(fx, events_in_child, &huge, 10000);
    if (status != 0) {
        free_world(&w);
        fail_msg("events with limit SIZE_MAX: %s", status < 0 ? "no answer within 10 s"
                                                             : "wrong rows (see above)");
    }

    /* Same instant: the id decides, the same way every time. */
    age_events(fx, "b", t0 + 3 * SECOND);
    f.limit = 0;
    oi_event *items = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_event_iter_recent(&it, fx->store, &f));
    size_t n = fx_collect_events(fx, it, &items);
    assert_int_equal(n, 5);
    assert_string_equal(items[0].event_type, "e");
    assert_true(strcmp(items[1].id, items[2].id) > 0);
    assert_string_equal(items[4].event_type, "a");
    fx_free_events(items, n);

    oi_event_filter other = OI_EVENT_FILTER_INIT;
    other.customer_id = w.other.id;
    assert_events(fx, &other, "other");
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    other.customer_id = unknown;
    assert_events(fx, &other, "");
    free_world(&w);
}

static void test_events_filters(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_time now = oi_time_now();
    record(fx, w.customer.id, fx->cost_agent.id, "disk", "info");
    record(fx, w.customer.id, NULL, "cost", "warning");
    record(fx, w.customer.id, fx->cost_agent.id, "cost_old", "error");
    record(fx, w.customer.id, NULL, "outage", "critical");
    age_events(fx, "disk", now - 4 * 3600 * SECOND);
    age_events(fx, "cost", now - 3 * 3600 * SECOND);
    age_events(fx, "cost_old", now - 2 * 3600 * SECOND);
    age_events(fx, "outage", now - 1 * 3600 * SECOND);

    struct {
        const char *severity, *type;
        oi_time since;
        const char *want;
    } cases[] = {
        {NULL, NULL, OI_TIME_NULL, "outage,cost_old,cost,disk"},
        {"info", NULL, OI_TIME_NULL, "outage,cost_old,cost,disk"},
        {"warning", NULL, OI_TIME_NULL, "outage,cost_old,cost"},
        {"error", NULL, OI_TIME_NULL, "outage,cost_old"},
        {"critical", NULL, OI_TIME_NULL, "outage"},
        {NULL, "cost", OI_TIME_NULL, "cost"}, /* exact type, not a prefix */
        {NULL, "none", OI_TIME_NULL, ""},
        {NULL, NULL, now - 2 * 3600 * SECOND, "outage,cost_old"}, /* inclusive */
        {NULL, NULL, now - 2 * 3600 * SECOND + 1, "outage"},
        {"warning", NULL, now - 3 * 3600 * SECOND, "outage,cost_old,cost"},
        {"critical", "cost", OI_TIME_NULL, ""},
        {"error", "cost_old", now - 5 * 3600 * SECOND, "cost_old"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        oi_event_filter f = {.version = OI_EVENT_FILTER_VERSION, .customer_id = w.customer.id,
                             .min_severity = cases[i].severity, .event_type = cases[i].type,
                             .since = cases[i].since};
        assert_events(fx, &f, cases[i].want);
    }

    oi_iter *it = NULL;
    oi_event_filter bad = OI_EVENT_FILTER_INIT;
    bad.customer_id = w.customer.id;
    bad.min_severity = "severe";
    assert_rc(fx, fx_first_events(oi_event_iter_recent(&it, fx->store, &bad), &it), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "severity 'severe' is not one of");
    bad.min_severity = NULL;
    bad.customer_id = "ops@acme.ai";
    assert_rc(fx, fx_first_events(oi_event_iter_recent(&it, fx->store, &bad), &it), OI_EINVALID);
    bad.customer_id = NULL;
    assert_rc(fx, fx_first_events(oi_event_iter_recent(&it, fx->store, &bad), &it), OI_EINVALID);
    free_world(&w);
}

/* ---- the lifecycle: legal moves -------------------------------------------------- */

static void test_approve_then_execute_complete_roll_back(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const char *id = w.rec.id;
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    oi_approval a = OI_APPROVAL_INIT;
    oi_time before = oi_time_now();

    assert_ok(fx, oi_recommendation_approve(fx->store, id, "alice@acme.ai", "fits the budget", &a));
    assert_string_equal(a.status, "approved");
    assert_string_equal(a.approved_by, "alice@acme.ai");
    assert_string_equal(a.comment, "fits the budget");
    assert_string_equal(a.recommendation_id, id);
    oi_approval stored = OI_APPROVAL_INIT;
    assert_ok(fx, oi_approval_get(fx->store, a.id, &stored));
    assert_string_equal(stored.approved_by, "alice@acme.ai");
    assert_true(stored.created_at == a.created_at);
    oi_approval_clear(&stored);
    oi_approval_clear(&a);
    assert_ok(fx, oi_recommendation_get(fx->store, id, &r));
    assert_string_equal(r.status, "approved");
    assert_true(r.approved_at >= before && r.approved_at <= oi_time_now());
    assert_true(r.updated_at == r.approved_at);
    assert_int_equal(r.executed_at, OI_TIME_NULL);
    oi_time approved_at = r.approved_at;
    oi_recommendation_clear(&r);

    assert_ok(fx, oi_recommendation_move(fx->store, id, "executing"));
    assert_ok(fx, oi_recommendation_get(fx->store, id, &r));
    assert_string_equal(r.status, "executing");
    assert_true(r.executed_at >= approved_at);
    assert_true(r.approved_at == approved_at);
    oi_time executed_at = r.executed_at;
    oi_recommendation_clear(&r);

    assert_ok(fx, oi_recommendation_move(fx->store, id, "completed"));
    assert_status(fx, id, "completed");
    assert_ok(fx, oi_recommendation_move(fx->store, id, "rolled_back"));
    assert_ok(fx, oi_recommendation_get(fx->store, id, &r));
    assert_string_equal(r.status, "rolled_back");
    assert_true(r.executed_at == executed_at && r.approved_at == approved_at);
    oi_recommendation_clear(&r);
    assert_int_equal(approvals_of(fx, id), 1);
    free_world(&w);
}

static void test_failed_execution_and_rejection(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_recommendation second = OI_RECOMMENDATION_INIT, r = OI_RECOMMENDATION_INIT;
    fx_make_recommendation(fx, w.customer.id, fx->cost_agent.id, &second);

    assert_ok(fx, oi_recommendation_approve(fx->store, w.rec.id, "alice", NULL, NULL));
    assert_ok(fx, oi_recommendation_move(fx->store, w.rec.id, "executing"));
    assert_ok(fx, oi_recommendation_move(fx->store, w.rec.id, "failed"));
    assert_status(fx, w.rec.id, "failed");
    assert_ok(fx, oi_recommendation_move(fx->store, w.rec.id, "rolled_back"));
    assert_status(fx, w.rec.id, "rolled_back");

    oi_approval a = OI_APPROVAL_INIT;
    assert_ok(fx, oi_recommendation_reject(fx->store, second.id, "bob", "too risky", &a));
    assert_string_equal(a.status, "rejected");
    oi_approval_clear(&a);
    assert_ok(fx, oi_recommendation_get(fx->store, second.id, &r));
    assert_string_equal(r.status, "rejected");
    assert_int_equal(r.approved_at, OI_TIME_NULL);
    assert_int_equal(r.executed_at, OI_TIME_NULL);
    oi_recommendation_clear(&r);

    oi_approval *list = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_approval_iter_by_recommendation(&it, fx->store, second.id));
    size_t n = fx_collect_approvals(fx, it, &list);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].approved_by, "bob");
    assert_string_equal(list[0].status, "rejected");
    assert_string_equal(list[0].comment, "too risky");
    fx_free_approvals(list, n);
    assert_ok(fx, oi_approval_iter_by_recommendation(&it, fx->store, w.rec.id));
    n = fx_collect_approvals(fx, it, &list);
    assert_int_equal(n, 1);
    assert_null(list[0].comment);
    fx_free_approvals(list, n);
    assert_int_equal(fx_count(fx, "approvals"), 2);
    oi_recommendation_clear(&second);
    free_world(&w);
}

/* ---- the lifecycle: illegal moves ------------------------------------------------- */

typedef enum { APPROVE, REJECT, MOVE } action;

static int act(oi_fixture *fx, const char *id, action what, const char *to)
{
    switch (what) {
    case APPROVE: return oi_recommendation_approve(fx->store, id, "mallory", "why not", NULL);
    case REJECT: return oi_recommendation_reject(fx->store, id, "mallory", NULL, NULL);
    default: return oi_recommendation_move(fx->store, id, to);
    }
}

static void test_illegal_moves_refused_and_write_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const char *id = w.rec.id;
    struct {
        const char *from;
        action what;
        const char *to;
        const char *allowed;
    } cases[] = {
        {"pending", MOVE, "executing", "approved, rejected"},
        {"pending", MOVE, "completed", "approved, rejected"},
        {"pending", MOVE, "rolled_back", "approved, rejected"},
        {"pending", MOVE, "pending", "approved, rejected"},
        {"approved", APPROVE, "approved", "executing"},
        {"approved", REJECT, "rejected", "executing"},
        {"approved", MOVE, "completed", "executing"},
        {"rejected", APPROVE, "approved", "none, it is final"},
        {"rejected", MOVE, "executing", "none, it is final"},
        {"executing", REJECT, "rejected", "completed, failed"},
        {"executing", MOVE, "rolled_back", "completed, failed"},
        {"executing", MOVE, "executing", "completed, failed"},
        {"completed", MOVE, "failed", "rolled_back"},
        {"completed", APPROVE, "approved", "rolled_back"},
        {"failed", MOVE, "executing", "rolled_back"},
        {"rolled_back", MOVE, "executing", "none, it is final"},
        {"rolled_back", MOVE, "pending", "none, it is final"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        force_status(fx, id, cases[i].from);
        oi_recommendation before = OI_RECOMMENDATION_INIT, after = OI_RECOMMENDATION_INIT;
        assert_ok(fx, oi_recommendation_get(fx->store, id, &before));
        long long approvals = fx_count(fx, "approvals");

        assert_rc(fx, act(fx, id, cases[i].what, cases[i].to), OI_ESTATE);
        char want[200];
        snprintf(want, sizeof want, "is %s and cannot become %s (from %s it can become: %s)",
                 cases[i].from, cases[i].to, cases[i].from, cases[i].allowed);
        assert_contains(oi_errmsg(fx->store), want);
        assert_contains(oi_errmsg(fx->store), id);

        assert_ok(fx, oi_recommendation_get(fx->store, id, &after));
        assert_string_equal(after.status, cases[i].from);
        assert_true(after.updated_at == before.updated_at);
        assert_true(after.approved_at == before.approved_at);
        assert_true(after.executed_at == before.executed_at);
        assert_int_equal(fx_count(fx, "approvals"), approvals);
        oi_recommendation_clear(&before);
        oi_recommendation_clear(&after);
    }
    assert_int_equal(fx_count(fx, "approvals"), 0);
    free_world(&w);
}

static void test_bad_moves_refused_as_invalid(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const char *id = w.rec.id;
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_approval a = OI_APPROVAL_INIT;

    assert_rc(fx, oi_recommendation_move(fx->store, id, "approved"), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_recommendation_approve()");
    assert_rc(fx, oi_recommendation_move(fx->store, id, "rejected"), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_recommendation_reject()");
    assert_rc(fx, oi_recommendation_move(fx->store, id, "done"), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "'done' is not a recommendation status");
    assert_rc(fx, oi_recommendation_move(fx->store, id, NULL), OI_EINVALID);
    assert_rc(fx, oi_recommendation_move(fx->store, "42", "executing"), OI_EINVALID);
    assert_rc(fx, oi_recommendation_move(fx->store, NULL, "executing"), OI_EINVALID);
    assert_rc(fx, oi_recommendation_approve(fx->store, id, NULL, NULL, &a), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "approved_by");
    assert_string_equal(a.id, "");
    assert_rc(fx, oi_recommendation_reject(fx->store, id, "", NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_recommendation_approve(fx->store, "nope", "alice", NULL, NULL), OI_EINVALID);

    assert_rc(fx, oi_recommendation_move(fx->store, unknown, "executing"), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no recommendation with id");
    assert_rc(fx, oi_recommendation_approve(fx->store, unknown, "alice", NULL, &a), OI_ENOTFOUND);
    assert_rc(fx, oi_recommendation_reject(fx->store, unknown, "alice", NULL, NULL), OI_ENOTFOUND);

    assert_status(fx, id, "pending");
    assert_int_equal(fx_count(fx, "approvals"), 0);
    free_world(&w);
}

/* Inside the caller's transaction, approve joins it: a rollback undoes the
 * status and the approvals row together. */
static void test_decision_joins_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_recommendation_approve(fx->store, w.rec.id, "alice", NULL, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_status(fx, w.rec.id, "pending");
    assert_int_equal(fx_count(fx, "approvals"), 0);

    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_recommendation_approve(fx->store, w.rec.id, "alice", NULL, NULL));
    assert_ok(fx, oi_recommendation_move(fx->store, w.rec.id, "executing"));
    assert_ok(fx, oi_commit(fx->store));
    assert_status(fx, w.rec.id, "executing");
    assert_int_equal(fx_count(fx, "approvals"), 1);
    free_world(&w);
}

/* ---- listing --------------------------------------------------------------------- */

static void assert_titles(oi_fixture *fx, const char *customer_id, const char *status,
                          const char *want)
{
    oi_recommendation *items = NULL;
    oi_iter *it = NULL;
    if (customer_id)
        assert_ok(fx, oi_recommendation_iter_by_customer(&it, fx->store, customer_id, status));
    else /* every customer's (1.7) */
        assert_ok(fx, oi_recommendation_iter(&it, fx->store, status));
    size_t n = fx_collect_recommendations(fx, it, &items);
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? "," : "",
                                items[i].title);
    fx_free_recommendations(items, n);
    assert_string_equal(got, want);
}

static void retitle(oi_fixture *fx, const char *id, const char *title, oi_time created)
{
    char when[OI_TIME_BUFSZ], sql[300];
    snprintf(sql, sizeof sql, "UPDATE recommendations SET title = '%s', created_at = '%s' "
             "WHERE id = '%s'", title, oi_time_format(created, when), id);
    fx_sql_exec(fx, sql);
}

static void test_recommendations_by_customer_and_status(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_recommendation r2 = OI_RECOMMENDATION_INIT, r3 = OI_RECOMMENDATION_INIT;
    oi_recommendation theirs = OI_RECOMMENDATION_INIT;
    fx_make_recommendation(fx, w.customer.id, fx->cost_agent.id, &r2);
    fx_make_recommendation(fx, w.customer.id, fx->cost_agent.id, &r3);
    fx_make_recommendation(fx, w.other.id, fx->cost_agent.id, &theirs);
    oi_time t0 = oi_time_now() - 3600 * SECOND;
    retitle(fx, w.rec.id, "one", t0);
    retitle(fx, r2.id, "two", t0 + SECOND);
    retitle(fx, r3.id, "three", t0 + 2 * SECOND);
    assert_ok(fx, oi_recommendation_approve(fx->store, r2.id, "alice", NULL, NULL));

    assert_titles(fx, w.customer.id, NULL, "three,two,one");
    assert_titles(fx, w.customer.id, "pending", "three,one");
    assert_titles(fx, w.customer.id, "approved", "two");
    assert_titles(fx, w.customer.id, "failed", "");
    assert_titles(fx, w.other.id, NULL, theirs.title);
    retitle(fx, theirs.id, "theirs", t0 + SECOND / 2);
    assert_titles(fx, NULL, NULL, "three,two,theirs,one"); /* every customer's, newest first */
    assert_titles(fx, NULL, "pending", "three,theirs,one");
    assert_titles(fx, NULL, "rolled_back", "");

    oi_iter *it = fx_iter_unset;
    assert_rc(fx, oi_recommendation_iter_by_customer(&it, fx->store, w.customer.id, "open"),
              OI_EINVALID);
    assert_null(it);
    it = fx_iter_unset;
    assert_rc(fx, oi_recommendation_iter_by_customer(&it, fx->store, "acme", NULL), OI_EINVALID);
    assert_null(it);
    it = fx_iter_unset;
    assert_rc(fx, oi_recommendation_iter(&it, fx->store, "open"), OI_EINVALID);
    assert_null(it);
    it = fx_iter_unset;
    assert_rc(fx, oi_approval_iter_by_recommendation(&it, fx->store, "x"), OI_EINVALID);
    assert_null(it);
    oi_recommendation_clear(&r2);
    oi_recommendation_clear(&r3);
    oi_recommendation_clear(&theirs);
    free_world(&w);
}

/* Every call on a store without a connection, and on a database without
 * the tables, reports the failure instead of crashing or pretending. */
static void test_failures_below_reported(void **state)
{
    oi_fixture *fx = FX(state);
    char id[OI_UUID_LEN + 1];
    fx_random_uuid(id);
    oi_iter *it = NULL;
    oi_customer c = OI_CUSTOMER_INIT;
    oi_event ev = OI_EVENT_INIT;
    memcpy(ev.customer_id, id, sizeof ev.customer_id);
    ev.event_type = "x";
    oi_event_filter f = OI_EVENT_FILTER_INIT;
    f.customer_id = id;

    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL));
    assert_rc(fx, oi_customer_lookup(fx->store, "a@b.c", &c), OI_ESCHEMA);
    assert_rc(fx, oi_event_record(fx->store, &ev), OI_ESCHEMA);
    /* an iteration is refused by its constructor or by its first next() */
    assert_rc(fx, fx_first_events(oi_event_iter_recent(&it, fx->store, &f), &it), OI_ESCHEMA);
    assert_rc(fx, oi_recommendation_move(fx->store, id, "executing"), OI_ESCHEMA);
    assert_rc(fx, fx_first_recommendations(oi_recommendation_iter_by_customer(&it, fx->store, id,
                                                                              NULL), &it),
              OI_ESCHEMA);
    assert_rc(fx, fx_first_approvals(oi_approval_iter_by_recommendation(&it, fx->store, id), &it),
              OI_ESCHEMA);

    oi_store *offline = NULL;
    assert_int_equal(oi_store_open(&offline, "postgresql://u@127.0.0.1:1/db"), OI_ECONNECT);
    assert_int_equal(oi_recommendation_approve(offline, id, "alice", NULL, NULL), OI_ECONNECT);
    assert_int_equal(oi_recommendation_move(offline, id, "failed"), OI_ECONNECT);
    assert_int_equal(oi_customer_lookup(offline, id, &c), OI_ECONNECT);
    oi_store_close(offline);
}

/* ---- races between processes ------------------------------------------------------ */

enum { RACERS = 6 };

/* One racer: its own connection, opened before the start so that the race
 * is on the decision; reports "<its number> <return code>". */
static void racer(const char *url, const char *id, int who, int go_fd, int report_fd)
{
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    char c;
    if (read(go_fd, &c, 1) < 0)
        _exit(98);
    if (rc == OI_OK && who % 3 == 2)
        rc = oi_recommendation_move(store, id, who % 2 ? "completed" : "failed");
    else if (rc == OI_OK)
        rc = who % 2 ? oi_recommendation_approve(store, id, "racer", "odd", NULL)
                     : oi_recommendation_reject(store, id, "racer", "even", NULL);
    if (rc != OI_OK && rc != OI_ESTATE)
        fprintf(stderr, "racer %d: %d %s\n", who, rc, oi_errmsg(store));
    dprintf(report_fd, "%d %d\n", who, rc);
    oi_store_close(store);
    _exit(0);
}

/* Runs RACERS processes against one recommendation; returns the winners'
 * numbers as a bit set and counts the losers that saw OI_ESTATE. */
static unsigned race(oi_fixture *fx, const char *id, int *refused)
{
    int go[2], report[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(report), 0);
    pid_t pids[RACERS];
    fflush(NULL);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(report[0]);
            racer(fx->url, id, i, go[0], report[1]);
        }
    }
    close(go[0]);
    close(report[1]);
    close(go[1]); /* they all start now */
    FILE *in = fdopen(report[0], "r");
    unsigned winners = 0;
    int who, rc, lines = 0;
    *refused = 0;
    while (fscanf(in, "%d %d", &who, &rc) == 2) {
        lines++;
        if (rc == OI_OK)
            winners |= 1u << who;
        *refused += rc == OI_ESTATE;
    }
    fclose(in);
    for (int i = 0; i < RACERS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(lines, RACERS);
    return winners;
}

/* Approvers, rejecters and movers at once on a pending recommendation:
 * exactly one decision wins, it wrote the only approvals row, and the
 * movers, whose move a pending recommendation does not allow, lose. */
static void test_concurrent_decisions_one_winner(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    for (int round = 0; round < 3; round++) {
        oi_recommendation r = OI_RECOMMENDATION_INIT;
        fx_make_recommendation(fx, w.customer.id, fx->cost_agent.id, &r);
        int refused;
        unsigned winners = race(fx, r.id, &refused);
        assert_int_equal(__builtin_popcount(winners), 1);
        assert_int_equal(refused, RACERS - 1);
        int winner = __builtin_ctz(winners);
        assert_true(winner % 3 != 2); /* a mover cannot win from pending */
        assert_int_equal(approvals_of(fx, r.id), 1);
        assert_status(fx, r.id, winner % 2 ? "approved" : "rejected");
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT comment FROM approvals WHERE recommendation_id = '%s'",
                 r.id);
        char *comment = fx_sql_text(fx, sql);
        assert_string_equal(comment, winner % 2 ? "odd\n" : "even\n");
        free(comment);
        oi_recommendation_clear(&r);
    }
    free_world(&w);
}

/* From executing, completed and failed race: one of them wins. */
static void test_concurrent_moves_one_winner(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    assert_ok(fx, oi_recommendation_approve(fx->store, w.rec.id, "alice", NULL, NULL));
    assert_ok(fx, oi_recommendation_move(fx->store, w.rec.id, "executing"));
    int refused;
    unsigned winners = race(fx, w.rec.id, &refused);
    assert_int_equal(__builtin_popcount(winners), 1);
    assert_int_equal(refused, RACERS - 1);
    int winner = __builtin_ctz(winners);
    assert_true(winner % 3 == 2); /* decisions need pending */
    assert_status(fx, w.rec.id, winner % 2 ? "completed" : "failed");
    assert_int_equal(approvals_of(fx, w.rec.id), 1);
    free_world(&w);
}

/* ---- the CLI ------------------------------------------------------------------------ */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

static void test_cli_event_record_and_list(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    fx_run r;
    fx_cli(fx, &r, "event", "record", "ops@acme.ai", "cost_spike", "--agent", "Test Cost Agent",
           "--severity", "warning", "--data", "{\"increase_percent\": 42}", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Recorded event");
    assert_contains(r.out, "cost_spike (warning)");
    fx_run_free(&r);

    fx_cli(fx, &r, "event", "record", w.customer.id, "login", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *ev = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(ev, "severity")), "info");
    assert_string_equal(json_string_value(json_object_get(ev, "customer_id")), w.customer.id);
    assert_true(json_is_null(json_object_get(ev, "agent_id")));
    assert_true(json_is_object(json_object_get(ev, "data")));
    assert_non_null(json_string_value(json_object_get(ev, "created_at")));
    json_decref(ev);
    fx_run_free(&r);
    age_events(fx, "cost_spike", oi_time_now() - 7200 * SECOND);
    record(fx, w.other.id, NULL, "elsewhere", "critical");

    fx_cli(fx, &r, "events", "ops@acme.ai", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "WHEN");
    assert_contains(r.out, "Test Cost Agent");
    assert_contains(r.out, "increase_percent");
    assert_not_contains(r.out, "elsewhere");
    assert_true(strstr(r.out, "login") < strstr(r.out, "cost_spike"));
    assert_int_equal(fx_count_lines(r.out), 3);
    fx_run_free(&r);

    fx_cli(fx, &r, "events", "ops@acme.ai", "--json", "--limit", "1", (char *)NULL);
    assert_exit(&r, 0);
    json_t *list = fx_json(r.out);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(fx_json_at(list, "0.event_type")), "login");
    json_decref(list);
    fx_run_free(&r);

    fx_cli(fx, &r, "--json", "events", w.customer.id, "--severity", "warning", (char *)NULL);
    assert_exit(&r, 0);
    list = fx_json(r.out);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(fx_json_at(list, "0.data.increase_percent")), 42);
    assert_string_equal(json_string_value(fx_json_at(list, "0.agent_id")), fx->cost_agent.id);
    json_decref(list);
    fx_run_free(&r);

    fx_cli(fx, &r, "events", "ops@acme.ai", "--since", "1h", "--json", (char *)NULL);
    assert_exit(&r, 0);
    list = fx_json(r.out);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(fx_json_at(list, "0.event_type")), "login");
    json_decref(list);
    fx_run_free(&r);

    fx_cli(fx, &r, "events", "ops@acme.ai", "--type", "nothing", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No events for customer ops@acme.ai match.");
    fx_run_free(&r);
    free_world(&w);
}

static void test_cli_event_errors(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    struct {
        const char *args[8];
        int code;
        const char *message;
    } cases[] = {
        {{"event", "record", "nobody@acme.ai", "x"}, 4, "no customer with email"},
        {{"event", "record", "ops@acme.ai", "x", "--agent", "Nobody"}, 4, "no agent named"},
        {{"event", "record", "ops@acme.ai", "x", "--severity", "fatal"}, 3, "severity 'fatal'"},
        {{"event", "record", "ops@acme.ai", "x", "--data", "{oops"}, 3, "not valid JSON"},
        {{"event", "record", "ops@acme.ai", "x", "--data", "[]"}, 3, "JSON object"},
        {{"event", "record", "ops@acme.ai"}, 2, "missing argument"},
        {{"events", "nobody@acme.ai"}, 4, "no customer"},
        {{"events", "ops@acme.ai", "--severity", "loud"}, 3, "severity 'loud'"},
        {{"events", "ops@acme.ai", "--limit", "0"}, 3, "--limit is not a whole number"},
        {{"events", "ops@acme.ai", "--limit", "ten"}, 3, "--limit is not a whole number"},
        {{"events", "ops@acme.ai", "--since", "yesterday"}, 3, "--since 'yesterday'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        fx_run r;
        fx_cli(fx, &r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        assert_exit(&r, cases[i].code);
        assert_contains(r.err, cases[i].message);
        assert_string_equal(r.out, "");
        fx_run_free(&r);
    }
    assert_int_equal(fx_count(fx, "events"), 0);
    free_world(&w);
}

static void test_cli_recommendation_lifecycle(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    const char *id = w.rec.id;
    fx_run r;

    fx_cli(fx, &r, "recommendations", "ops@acme.ai", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, id);
    assert_contains(r.out, "pending");
    assert_contains(r.out, "1234.5");
    fx_run_free(&r);

    oi_recommendation theirs = OI_RECOMMENDATION_INIT;
    fx_make_recommendation(fx, w.other.id, fx->cost_agent.id, &theirs);
    fx_cli(fx, &r, "recommendations", (char *)NULL); /* every customer's */
    assert_exit(&r, 0);
    assert_contains(r.out, "CUSTOMER");
    assert_contains(r.out, id);
    assert_contains(r.out, theirs.id);
    assert_contains(r.out, w.other.id);
    fx_run_free(&r);
    fx_cli(fx, &r, "recommendations", "--status", "approved", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No recommendations match.");
    fx_run_free(&r);
    fx_cli(fx, &r, "recommendations", "--status", "open", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    oi_recommendation_clear(&theirs);

    fx_cli(fx, &r, "recommendation", "approve", id, "--by", "alice@acme.ai", "--comment",
           "fits the budget", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *doc = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "approved");
    assert_non_null(json_string_value(json_object_get(doc, "approved_at")));
    assert_string_equal(json_string_value(fx_json_at(doc, "approvals.0.approved_by")),
                        "alice@acme.ai");
    assert_string_equal(json_string_value(fx_json_at(doc, "approvals.0.comment")),
                        "fits the budget");
    assert_true(json_real_value(json_object_get(doc, "estimated_savings")) == 1234.5);
    json_decref(doc);
    fx_run_free(&r);

    fx_cli(fx, &r, "recommendation", "reject", id, "--by", "bob", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "is approved and cannot become rejected");
    assert_string_equal(r.out, "");
    fx_run_free(&r);
    assert_int_equal(approvals_of(fx, id), 1);

    fx_cli(fx, &r, "recommendation", "move", id, "completed", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "from approved it can become: executing");
    fx_run_free(&r);

    const char *path[] = {"executing", "failed", "rolled_back"};
    for (int i = 0; i < 3; i++) {
        fx_cli(fx, &r, "recommendation", "move", id, path[i], (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, path[i]);
        fx_run_free(&r);
        assert_status(fx, id, path[i]);
    }

    fx_cli(fx, &r, "recommendation", "show", id, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Recommendation: Move batch inference to spot instances");
    assert_contains(r.out, "rolled_back");
    assert_contains(r.out, "Approvals (1):");
    assert_contains(r.out, "alice@acme.ai");
    fx_run_free(&r);

    fx_cli(fx, &r, "recommendations", w.customer.id, "--status", "rolled_back", "--json",
           (char *)NULL);
    assert_exit(&r, 0);
    doc = fx_json(r.out);
    assert_int_equal(json_array_size(doc), 1);
    assert_string_equal(json_string_value(fx_json_at(doc, "0.id")), id);
    assert_non_null(json_string_value(fx_json_at(doc, "0.executed_at")));
    json_decref(doc);
    fx_run_free(&r);

    fx_cli(fx, &r, "recommendations", "ops@acme.ai", "--status", "pending", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No recommendations for customer ops@acme.ai match.");
    fx_run_free(&r);
    free_world(&w);
}

static void test_cli_recommendation_reject_and_show(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    fx_run r;
    fx_cli(fx, &r, "recommendation", "reject", w.rec.id, "--by", "bob", "--comment", "too risky",
           (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "rejected by bob");
    fx_run_free(&r);

    fx_cli(fx, &r, "recommendation", "show", w.rec.id, "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *doc = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "rejected");
    assert_true(json_is_null(json_object_get(doc, "approved_at")));
    assert_true(json_is_null(json_object_get(doc, "estimated_improvement")));
    assert_string_equal(json_string_value(fx_json_at(doc, "approvals.0.status")), "rejected");
    json_decref(doc);
    fx_run_free(&r);

    oi_recommendation fresh = OI_RECOMMENDATION_INIT;
    fx_make_recommendation(fx, w.customer.id, fx->cost_agent.id, &fresh);
    fx_cli(fx, &r, "recommendation", "show", fresh.id, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Approvals: none");
    fx_run_free(&r);
    oi_recommendation_clear(&fresh);
    free_world(&w);
}

static void test_cli_recommendation_errors(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    const char *id = w.rec.id;
    struct {
        const char *args[6];
        int code;
        const char *message;
    } cases[] = {
        {{"recommendation", "approve", id}, 2, "--by WHO is required"},
        {{"recommendation", "approve", id, "--by", ""}, 3, "--by is empty"},
        {{"recommendation", "approve", unknown, "--by", "alice"}, 4, "no recommendation with id"},
        {{"recommendation", "show", unknown}, 4, "`optiinfra recommendations CUSTOMER`"},
        {{"recommendation", "show", "abc"}, 3, "not a UUID"},
        {{"recommendation", "move", id, "approved"}, 3, "recommendation approve"},
        {{"recommendation", "move", id, "rejected"}, 3, "recommendation reject"},
        {{"recommendation", "move", id, "done"}, 3, "not a recommendation status"},
        {{"recommendation", "move", id, "executing"}, 7, "is pending and cannot become executing"},
        {{"recommendation", "move", unknown, "failed"}, 4, "no recommendation"},
        {{"recommendations", "nobody@acme.ai"}, 4, "no customer"},
        {{"recommendations", "ops@acme.ai", "--status", "open"}, 3, "'open' is not"},
        {{"recommendation", "frobnicate", id}, 2, "unknown command"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        fx_run r;
        fx_cli(fx, &r, a[0], a[1], a[2], a[3], a[4], a[5]);
        assert_exit(&r, cases[i].code);
        assert_contains(r.err, cases[i].message);
        assert_string_equal(r.out, "");
        fx_run_free(&r);
    }
    assert_status(fx, id, "pending");
    assert_int_equal(fx_count(fx, "approvals"), 0);
    free_world(&w);
}

static void test_cli_orchestration_help(void **state)
{
    oi_fixture *fx = FX(state);
    const char *commands[][2] = {
        {"event", "record"}, {"events", NULL}, {"recommendations", NULL},
        {"recommendation", "show"}, {"recommendation", "approve"},
        {"recommendation", "reject"}, {"recommendation", "move"},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fx_run r;
        fx_cli_raw(fx, &r, "help", commands[i][0], commands[i][1], (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra");
        assert_contains(r.out, "--json");
        fx_run_free(&r);
    }
    fx_run r;
    fx_cli_raw(fx, &r, "--help", (char *)NULL);
    assert_contains(r.out, "recommendation approve ID --by WHO");
    assert_contains(r.out, "events CUSTOMER");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_orchestration_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_customer_lookup_by_id_or_email),
        T(test_event_record_fills_defaults),
        T(test_event_record_refuses_bad_input),
        T(test_events_newest_first_with_limit),
        T(test_events_filters),
        T(test_approve_then_execute_complete_roll_back),
        T(test_failed_execution_and_rejection),
        T(test_illegal_moves_refused_and_write_nothing),
        T(test_bad_moves_refused_as_invalid),
        T(test_decision_joins_user_transaction),
        T(test_recommendations_by_customer_and_status),
        T(test_failures_below_reported),
        T(test_concurrent_decisions_one_winner),
        T(test_concurrent_moves_one_winner),
        T(test_cli_event_record_and_list),
        T(test_cli_event_errors),
        T(test_cli_recommendation_lifecycle),
        T(test_cli_recommendation_reject_and_show),
        T(test_cli_recommendation_errors),
        T(test_cli_orchestration_help),
    };
    return fx_run_group("orchestration", tests);
}
