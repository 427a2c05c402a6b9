/*
 * test_core.c - the six core tables of 0.2a (customers, agents, events,
 * recommendations, approvals, optimizations): round trips, unique keys,
 * ON DELETE actions, checked values and store-maintained timestamps.
 */
#include "harness.h"

#include <math.h>
#include <string.h>
#include <time.h>

static oi_event new_event(const char *customer_id, const char *agent_id, char *severity)
{
    oi_event e = OI_EVENT_INIT;
    snprintf(e.customer_id, sizeof e.customer_id, "%s", customer_id);
    snprintf(e.agent_id, sizeof e.agent_id, "%s", agent_id ? agent_id : "");
    e.event_type = "cost_spike";
    e.severity = severity;
    e.data = "{\"delta_usd\": 1200}";
    return e;
}

static oi_approval new_approval(const char *recommendation_id, char *status)
{
    oi_approval a = OI_APPROVAL_INIT;
    snprintf(a.recommendation_id, sizeof a.recommendation_id, "%s", recommendation_id);
    a.approved_by = "ops@acme.example";
    a.status = status;
    a.comment = "Go ahead";
    return a;
}

static oi_optimization new_optimization(const oi_recommendation *r, char *status, int progress)
{
    oi_optimization o = OI_OPTIMIZATION_INIT;
    memcpy(o.recommendation_id, r->id, sizeof o.recommendation_id);
    memcpy(o.customer_id, r->customer_id, sizeof o.customer_id);
    memcpy(o.agent_id, r->agent_id, sizeof o.agent_id);
    o.status = status;
    o.progress = progress;
    o.actual_savings = OI_NULL_NUMBER;
    o.actual_improvement = OI_NULL_NUMBER;
    o.started_at = o.completed_at = o.rolled_back_at = OI_TIME_NULL;
    return o;
}

/* One customer, one agent and a recommendation between them. */
typedef struct world {
    oi_customer customer;
    oi_recommendation rec;
} world;

static void make_world(oi_fixture *fx, world *w)
{
    *w = (world){OI_CUSTOMER_INIT, OI_RECOMMENDATION_INIT};
    fx_make_customer(fx, "ops@acme.example", &w->customer);
    fx_make_recommendation(fx, w->customer.id, fx->cost_agent.id, &w->rec);
}

static void free_world(world *w)
{
    oi_customer_clear(&w->customer);
    oi_recommendation_clear(&w->rec);
}

/* ------------------------------------------------------------------------ */

static void test_customer_crud_roundtrip(void **state)
{
    oi_fixture *fx = FX(state);
    oi_customer c = OI_CUSTOMER_INIT;
    c.name = "Acme AI";
    c.email = "billing@acme.example";
    c.api_key = "key-1";
    c.metadata = "{ \"tier\" : \"gold\" }";
    assert_ok(fx, oi_customer_create(fx->store, &c));
    assert_int_equal(strlen(c.id), OI_UUID_LEN);

    oi_customer got = OI_CUSTOMER_INIT;
    assert_ok(fx, oi_customer_get(fx->store, c.id, &got));
    assert_string_equal(got.name, "Acme AI");
    assert_string_equal(got.email, "billing@acme.example");
    assert_string_equal(got.plan, "free");    /* column default */
    assert_string_equal(got.status, "active");
    json_t *meta = fx_json(got.metadata);
    assert_string_equal(json_string_value(fx_json_at(meta, "tier")), "gold");
    json_decref(meta);

    free(got.plan);
    got.plan = strdup("enterprise");
    free(got.name);
    got.name = strdup("Acme AI Inc.");
    assert_ok(fx, oi_customer_update(fx->store, &got));
    oi_customer again = OI_CUSTOMER_INIT;
    assert_ok(fx, oi_customer_get(fx->store, c.id, &again));
    assert_string_equal(again.plan, "enterprise");
    assert_string_equal(again.name, "Acme AI Inc.");

    /* an id given by the caller is kept, in lower case */
    oi_customer second = OI_CUSTOMER_INIT;
    snprintf(second.id, sizeof second.id, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
    second.name = "Second";
    second.email = "second@acme.example";
    second.api_key = "key-2";
    assert_ok(fx, oi_customer_create(fx->store, &second));
    oi_customer *all = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_customer_iter_new(&it, fx->store));
    size_t n = fx_collect_customers(fx, it, &all);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].id, c.id); /* oldest first */
    assert_string_equal(all[1].id, "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    fx_free_customers(all, n);

    assert_ok(fx, oi_customer_delete(fx->store, c.id));
    oi_customer gone = OI_CUSTOMER_INIT;
    assert_rc(fx, oi_customer_get(fx->store, c.id, &gone), OI_ENOTFOUND);
    assert_rc(fx, oi_customer_delete(fx->store, c.id), OI_ENOTFOUND);
    oi_customer_clear(&got);
    oi_customer_clear(&again);
}

static void test_customer_email_unique(void **state)
{
    oi_fixture *fx = FX(state);
    oi_customer first = OI_CUSTOMER_INIT;
    fx_make_customer(fx, "dup@acme.example", &first);
    oi_customer second = OI_CUSTOMER_INIT;
    second.name = "Other";
    second.email = "dup@acme.example";
    second.api_key = "another-key";
    assert_rc(fx, oi_customer_create(fx->store, &second), OI_EEXISTS);
    assert_int_equal(fx_count(fx, "customers"), 1);
    oi_customer_clear(&first);
}

static void test_agent_type_name_unique(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent dup = OI_AGENT_INIT;
    dup.type = "cost";
    dup.name = "Test Cost Agent";
    dup.last_heartbeat = OI_TIME_NULL;
    assert_rc(fx, oi_agent_create(fx->store, &dup), OI_EEXISTS);

    oi_agent other = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "Test Cost Agent", &other); /* same name, other type */
    assert_int_equal(fx_count(fx, "agents"), 2);
    oi_agent_clear(&other);
}

static void test_agent_roundtrip(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    a.type = "resource";
    a.name = "Resource Allocator";
    a.agent_version = "2.3.1";
    a.endpoint = "http://resource:8003";
    a.capabilities = "[\"auto_scaling\", \"load_balancing\"]";
    a.metadata = "{\"region\": \"eu-west-1\", \"note\": \"caf\u00e9 \\u2603 \\\"q\\\" \\\\\"}";
    a.last_heartbeat = 1761234567123457LL;
    assert_ok(fx, oi_agent_create(fx->store, &a));

    oi_agent got = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, a.id, &got));
    assert_string_equal(got.agent_version, "2.3.1");
    assert_string_equal(got.status, "active"); /* column default */
    json_t *caps = fx_json(got.capabilities);
    assert_int_equal(json_array_size(caps), 2);
    assert_string_equal(json_string_value(json_array_get(caps, 1)), "load_balancing");
    json_decref(caps);
    assert_true(got.last_heartbeat == 1761234567123457LL);
    json_t *meta = fx_json(got.metadata);
    assert_string_equal(json_string_value(fx_json_at(meta, "note")),
                        "caf\u00e9 \u2603 \"q\" \\");
    json_decref(meta);

    oi_agent found = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_find(fx->store, "resource", "Resource Allocator", &found));
    assert_string_equal(found.id, a.id);
    oi_agent none = OI_AGENT_INIT;
    assert_rc(fx, oi_agent_find(fx->store, "cost", "Resource Allocator", &none), OI_ENOTFOUND);
    oi_agent_clear(&got);
    oi_agent_clear(&found);
}

static void test_event_agent_set_null_on_agent_delete(void **state)
{
    oi_fixture *fx = FX(state);
    oi_customer c = OI_CUSTOMER_INIT;
    fx_make_customer(fx, "events@acme.example", &c);
    oi_event e = new_event(c.id, fx->cost_agent.id, "warning");
    assert_ok(fx, oi_event_create(fx->store, &e));

    assert_ok(fx, oi_agent_delete(fx->store, fx->cost_agent.id));

    oi_event got = OI_EVENT_INIT;
    assert_ok(fx, oi_event_get(fx->store, e.id, &got));
    assert_string_equal(got.agent_id, "");          /* SET NULL */
    assert_string_equal(got.customer_id, c.id);
    assert_string_equal(got.severity, "warning");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM events WHERE agent_id IS NULL"), 1);
    oi_event_clear(&got);
    oi_customer_clear(&c);
}

static void test_customer_delete_cascades(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_event e = new_event(w.customer.id, NULL, "info");
    oi_approval a = new_approval(w.rec.id, "approved");
    oi_optimization o = new_optimization(&w.rec, "executing", 40);
    assert_ok(fx, oi_event_create(fx->store, &e));
    assert_ok(fx, oi_approval_create(fx->store, &a));
    assert_ok(fx, oi_optimization_create(fx->store, &o));

    assert_ok(fx, oi_customer_delete(fx->store, w.customer.id));

    const char *tables[] = {"customers", "events", "recommendations", "approvals", "optimizations"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_int_equal(fx_count(fx, tables[i]), 0);
    assert_int_equal(fx_count(fx, "agents"), 1);
    free_world(&w);
}

static void test_recommendation_confidence_checked(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    memcpy(r.customer_id, w.customer.id, sizeof r.customer_id);
    memcpy(r.agent_id, fx->cost_agent.id, sizeof r.agent_id);
    r.type = "rightsizing";
    r.title = "Too sure";
    r.estimated_savings = r.estimated_improvement = OI_NULL_NUMBER;
    r.approved_at = r.executed_at = OI_TIME_NULL;
    r.confidence_score = 1.5;
    assert_rc2(fx, oi_recommendation_create(fx->store, &r), OI_ECONSTRAINT, OI_EINVALID);
    r.confidence_score = -0.1;
    assert_rc2(fx, oi_recommendation_create(fx->store, &r), OI_ECONSTRAINT, OI_EINVALID);
    assert_int_equal(fx_count(fx, "recommendations"), 1);

    /* an update may not slip it through either */
    w.rec.confidence_score = 1.01;
    assert_rc2(fx, oi_recommendation_update(fx->store, &w.rec), OI_ECONSTRAINT, OI_EINVALID);
    assert_true(fx_sql_int(fx, "SELECT count(*) FROM recommendations WHERE confidence_score > 1") == 0);
    free_world(&w);
}

static void test_closed_vocabularies_refused(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);

    oi_customer c = OI_CUSTOMER_INIT;
    c.name = "Bad plan";
    c.email = "plan@acme.example";
    c.api_key = "plan-key";
    c.plan = "gold";
    assert_rc(fx, oi_customer_create(fx->store, &c), OI_EINVALID);
    c.plan = NULL;
    c.status = "sleeping";
    assert_rc(fx, oi_customer_create(fx->store, &c), OI_EINVALID);

    oi_event e = new_event(w.customer.id, NULL, "fatal");
    assert_rc(fx, oi_event_create(fx->store, &e), OI_EINVALID);

    char *saved = w.rec.status;
    w.rec.status = "done";
    assert_rc(fx, oi_recommendation_update(fx->store, &w.rec), OI_EINVALID);
    w.rec.status = saved;
    saved = w.rec.priority;
    w.rec.priority = "urgent";
    assert_rc(fx, oi_recommendation_update(fx->store, &w.rec), OI_EINVALID);
    w.rec.priority = saved;

    oi_approval a = new_approval(w.rec.id, "maybe");
    assert_rc(fx, oi_approval_create(fx->store, &a), OI_EINVALID);
    oi_optimization o = new_optimization(&w.rec, "paused", 0);
    assert_rc(fx, oi_optimization_create(fx->store, &o), OI_EINVALID);

    assert_int_equal(fx_count(fx, "customers"), 1);
    assert_int_equal(fx_count(fx, "events"), 0);
    assert_int_equal(fx_count(fx, "approvals"), 0);
    assert_int_equal(fx_count(fx, "optimizations"), 0);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM recommendations "
                                    "WHERE status = 'pending' AND priority = 'high'"), 1);
    free_world(&w);
}

static void test_updated_at_changes_on_update(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_time created = w.customer.created_at, updated = w.customer.updated_at;
    assert_true(created != OI_TIME_NULL && updated >= created);

    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    free(w.customer.status);
    w.customer.status = strdup("suspended");
    w.customer.created_at = 0; /* the store keeps created_at whatever the caller sends */
    assert_ok(fx, oi_customer_update(fx->store, &w.customer));

    oi_customer got = OI_CUSTOMER_INIT;
    assert_ok(fx, oi_customer_get(fx->store, w.customer.id, &got));
    assert_string_equal(got.status, "suspended");
    assert_true(got.created_at == created);
    assert_true(got.updated_at > updated);

    oi_time rec_updated = w.rec.updated_at;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    assert_ok(fx, oi_recommendation_update(fx->store, &w.rec));
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    assert_ok(fx, oi_recommendation_get(fx->store, w.rec.id, &rec));
    assert_true(rec.updated_at > rec_updated);
    oi_recommendation_clear(&rec);

    /* and on the state tables */
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &cfg);
    oi_time cfg_updated = cfg.updated_at;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    free(cfg.config_value);
    cfg.config_value = strdup("250");
    assert_ok(fx, oi_agent_config_update(fx->store, &cfg));
    oi_agent_config cfg_got = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_agent_config_get(fx->store, cfg.id, &cfg_got));
    assert_string_equal(cfg_got.config_value, "250");
    assert_true(cfg_got.updated_at > cfg_updated);
    oi_agent_config_clear(&cfg_got);
    oi_agent_config_clear(&cfg);
    oi_customer_clear(&got);
    free_world(&w);
}

static void test_timestamps_roundtrip_to_microsecond(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    assert_true(w.rec.approved_at == OI_TIME_NULL); /* NULL stays NULL */
    assert_true(w.rec.executed_at == OI_TIME_NULL);

    const oi_time approved = 1700000000123457LL, executed = -86400000001LL; /* 1969 */
    w.rec.approved_at = approved;
    w.rec.executed_at = executed;
    assert_ok(fx, oi_recommendation_update(fx->store, &w.rec));
    oi_recommendation got = OI_RECOMMENDATION_INIT;
    assert_ok(fx, oi_recommendation_get(fx->store, w.rec.id, &got));
    assert_true(got.approved_at == approved);
    assert_true(got.executed_at == executed);

    char buf[OI_TIME_BUFSZ];
    assert_string_equal(oi_time_format(approved, buf), "2023-11-14T22:13:20.123457Z");
    oi_time parsed = 0;
    assert_int_equal(oi_time_parse("2023-11-14 23:13:20.123457+01:00", &parsed), OI_OK);
    assert_true(parsed == approved);
    oi_recommendation_clear(&got);
    free_world(&w);
}

static void test_numeric_10_2_roundtrip(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    assert_true(w.rec.estimated_savings == 1234.5);
    assert_true(isnan(w.rec.estimated_improvement)); /* NULL stays NULL */

    w.rec.estimated_savings = 12345678.91;
    w.rec.estimated_improvement = 0.07;
    assert_ok(fx, oi_recommendation_update(fx->store, &w.rec));
    oi_recommendation got = OI_RECOMMENDATION_INIT;
    assert_ok(fx, oi_recommendation_get(fx->store, w.rec.id, &got));
    assert_true(got.estimated_savings == 12345678.91);
    assert_true(got.estimated_improvement == 0.07);
    oi_recommendation_clear(&got);

    /* numeric(10,2) keeps two decimals on both backends */
    w.rec.estimated_savings = 10.456;
    assert_ok(fx, oi_recommendation_update(fx->store, &w.rec));
    assert_ok(fx, oi_recommendation_get(fx->store, w.rec.id, &got));
    assert_true(got.estimated_savings == 10.46);
    oi_recommendation_clear(&got);

    /* and at most 8 digits before the point */
    w.rec.estimated_savings = 123456789.0;
    assert_rc2(fx, oi_recommendation_update(fx->store, &w.rec), OI_EINVALID, OI_ECONSTRAINT);
    free_world(&w);
}

static void test_approval_and_optimization_roundtrip(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_approval a = new_approval(w.rec.id, NULL);
    assert_ok(fx, oi_approval_create(fx->store, &a));
    oi_approval ga = OI_APPROVAL_INIT;
    assert_ok(fx, oi_approval_get(fx->store, a.id, &ga));
    assert_string_equal(ga.status, "pending"); /* column default */
    assert_string_equal(ga.approved_by, "ops@acme.example");
    assert_string_equal(ga.recommendation_id, w.rec.id);

    oi_optimization o = new_optimization(&w.rec, NULL, 0);
    o.started_at = 1700000000000042LL;
    o.actual_savings = 99.99;
    assert_ok(fx, oi_optimization_create(fx->store, &o));
    oi_optimization go = OI_OPTIMIZATION_INIT;
    assert_ok(fx, oi_optimization_get(fx->store, o.id, &go));
    assert_string_equal(go.status, "queued");
    assert_null(go.result); /* nullable JSON stays NULL */
    assert_true(go.started_at == 1700000000000042LL);
    assert_true(go.completed_at == OI_TIME_NULL);
    assert_true(go.actual_savings == 99.99);
    assert_true(isnan(go.actual_improvement));

    free(go.status);
    go.status = strdup("completed");
    go.progress = 100;
    go.result = strdup("{\"gpus_released\": 4}");
    assert_ok(fx, oi_optimization_update(fx->store, &go));
    go.progress = 101;
    assert_rc2(fx, oi_optimization_update(fx->store, &go), OI_ECONSTRAINT, OI_EINVALID);
    oi_optimization again = OI_OPTIMIZATION_INIT;
    assert_ok(fx, oi_optimization_get(fx->store, o.id, &again));
    assert_int_equal(again.progress, 100);
    json_t *result = fx_json(again.result);
    assert_int_equal(json_integer_value(fx_json_at(result, "gpus_released")), 4);
    json_decref(result);

    oi_approval_clear(&ga);
    oi_optimization_clear(&go);
    oi_optimization_clear(&again);
    free_world(&w);
}

static void test_recommendation_delete_cascades(void **state)
{
    oi_fixture *fx = FX(state);
    world w;
    make_world(fx, &w);
    oi_approval a = new_approval(w.rec.id, "approved");
    oi_optimization o = new_optimization(&w.rec, "completed", 100);
    assert_ok(fx, oi_approval_create(fx->store, &a));
    assert_ok(fx, oi_optimization_create(fx->store, &o));
    oi_event e = new_event(w.customer.id, fx->cost_agent.id, "info");
    assert_ok(fx, oi_event_create(fx->store, &e));

    /* an agent's recommendations (and what hangs off them) go with it */
    assert_ok(fx, oi_agent_delete(fx->store, fx->cost_agent.id));
    assert_int_equal(fx_count(fx, "recommendations"), 0);
    assert_int_equal(fx_count(fx, "approvals"), 0);
    assert_int_equal(fx_count(fx, "optimizations"), 0);
    assert_int_equal(fx_count(fx, "events"), 1);
    assert_int_equal(fx_count(fx, "customers"), 1);
    free_world(&w);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_core_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_customer_crud_roundtrip),
        T(test_customer_email_unique),
        T(test_agent_type_name_unique),
        T(test_agent_roundtrip),
        T(test_event_agent_set_null_on_agent_delete),
        T(test_customer_delete_cascades),
        T(test_recommendation_confidence_checked),
        T(test_closed_vocabularies_refused),
        T(test_updated_at_changes_on_update),
        T(test_timestamps_roundtrip_to_microsecond),
        T(test_numeric_10_2_roundtrip),
        T(test_approval_and_optimization_roundtrip),
        T(test_recommendation_delete_cascades),
    };
    return fx_run_group("core", tests);
}
