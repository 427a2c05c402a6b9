/*
 * test_spec.c - the spec's 23 tests (FILE 3), one C test each, same names.
 *
 * The spec's ORM relationships map to the library's queries: agent.configs
 * to oi_agent_config_iter_by_agent, agent.state to oi_agent_state_find,
 * agent.capabilities (the rows) to oi_agent_capability_iter_by_agent and
 * agent.metrics to oi_metric_iter_new.  Where the spec is wrong,
 * shared/spec/decisions.md is followed and a comment says so.
 */
#include "harness.h"

#include <string.h>
#include <time.h>

/* ---- helpers ----------------------------------------------------------- */

static bool config_listed(oi_agent_config *items, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].id, id) == 0)
            return true;
    return false;
}

static bool capability_listed(oi_agent_capability *items, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].id, id) == 0)
            return true;
    return false;
}

static bool metric_listed(oi_agent_metric *items, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].id == id)
            return true;
    return false;
}

static oi_agent_state new_state(const char *agent_id, char *status, char *workflow)
{
    oi_agent_state s = OI_AGENT_STATE_INIT;
    snprintf(s.agent_id, sizeof s.agent_id, "%s", agent_id);
    s.status = status;
    s.current_workflow = workflow;
    s.workflow_data = "{}";
    s.resource_locks = "[]";
    s.last_heartbeat = oi_time_now();
    return s;
}

static oi_agent_metric new_metric(const char *agent_id, char *name, double value, char *unit,
                                  oi_time at, char *metadata)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", agent_id);
    m.metric_name = name;
    m.metric_value = value;
    m.metric_unit = unit;
    m.collection_timestamp = at;
    m.metadata = metadata;
    return m;
}

static oi_agent_capability new_capability(const char *agent_id, char *name, char *version,
                                          char *parameters, bool enabled)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    snprintf(c.agent_id, sizeof c.agent_id, "%s", agent_id);
    c.capability_name = name;
    c.capability_version = version;
    c.description = "Test";
    c.parameters = parameters;
    c.is_enabled = enabled;
    return c;
}

static oi_agent_config new_config(const char *agent_id, char *key, char *value, char *type)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    snprintf(c.agent_id, sizeof c.agent_id, "%s", agent_id);
    c.config_key = key;
    c.config_value = value;
    c.config_type = type;
    c.description = "Test";
    return c;
}

static size_t metric_count(oi_fixture *fx, const char *agent_id)
{
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = agent_id;
    return fx_metric_query(fx, &f, NULL, NULL);
}

/* ---- TestAgentConfig --------------------------------------------------- */

static void test_create_agent_config(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = new_config(fx->cost_agent.id, "max_cost_threshold", "5000", "number");
    c.description = "Maximum cost threshold";
    c.is_sensitive = false;
    assert_ok(fx, oi_agent_config_create(fx->store, &c));

    assert_int_equal(strlen(c.id), OI_UUID_LEN);
    assert_true(c.created_at != OI_TIME_NULL && c.created_at > 0);
    assert_true(c.updated_at != OI_TIME_NULL && c.updated_at > 0);

    oi_agent_config got = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_agent_config_get(fx->store, c.id, &got));
    assert_string_equal(got.config_key, "max_cost_threshold");
    assert_string_equal(got.config_value, "5000");
    assert_string_equal(got.config_type, "number");
    assert_false(got.is_sensitive);
    assert_true(got.created_at == c.created_at);
    assert_true(got.updated_at == c.updated_at);
    oi_agent_config_clear(&got);
}

static void test_agent_config_relationship(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config sample = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &sample);

    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, sample.agent_id, &agent));
    oi_agent_config *configs = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_config_iter_by_agent(&it, fx->store, agent.id));
    size_t n = fx_collect_agent_configs(fx, it, &configs);
    assert_true(n >= 1);
    assert_true(config_listed(configs, n, sample.id));
    assert_string_equal(configs[0].agent_id, agent.id);

    fx_free_agent_configs(configs, n);
    oi_agent_clear(&agent);
    oi_agent_config_clear(&sample);
}

static void test_agent_config_foreign_key(void **state)
{
    oi_fixture *fx = FX(state);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown); /* decisions.md #4: ids are UUIDs, not 99999 */
    oi_agent_config c = new_config(unknown, "test", "test", "string");
    /* store.h: OI_ECONSTRAINT is "a foreign-key ... constraint refused the write" */
    assert_rc(fx, oi_agent_config_create(fx->store, &c), OI_ECONSTRAINT);
    assert_int_equal(fx_count(fx, "agent_configs"), 0);
}

static void test_agent_config_sensitive_flag(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = new_config(fx->cost_agent.id, "api_key", "secret_key_123", "string");
    c.description = "API Key";
    c.is_sensitive = true;
    assert_ok(fx, oi_agent_config_create(fx->store, &c));

    /* the spec queries by key: oi_agent_config_find is that query */
    oi_agent_config got = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_agent_config_find(fx->store, fx->cost_agent.id, "api_key", &got));
    assert_true(got.is_sensitive);
    assert_string_equal(got.config_value, "secret_key_123");
    oi_agent_config_clear(&got);
}

static void test_agent_config_cascade_delete(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = new_config(fx->cost_agent.id, "test_key", "test_value", "string");
    assert_ok(fx, oi_agent_config_create(fx->store, &c));

    assert_ok(fx, oi_agent_delete(fx->store, fx->cost_agent.id));

    oi_agent_config got = OI_AGENT_CONFIG_INIT;
    assert_rc(fx, oi_agent_config_get(fx->store, c.id, &got), OI_ENOTFOUND);
}

/* ---- TestAgentState ---------------------------------------------------- */

static void test_create_agent_state(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_state s = new_state(fx->cost_agent.id, "active", "cost_analysis");
    s.workflow_data = "{\"step\": 1, \"progress\": 50}";
    s.resource_locks = "[\"gpu_cluster_1\", \"billing_data\"]";
    s.error_count = 0;
    s.last_error = NULL;
    oi_time now = s.last_heartbeat;
    assert_ok(fx, oi_agent_state_create(fx->store, &s));
    assert_int_equal(strlen(s.id), OI_UUID_LEN);

    oi_agent_state got = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, s.id, &got));
    assert_string_equal(got.status, "active");
    assert_string_equal(got.current_workflow, "cost_analysis");
    json_t *data = fx_json(got.workflow_data);
    assert_int_equal(json_integer_value(fx_json_at(data, "step")), 1);
    json_t *locks = fx_json(got.resource_locks);
    assert_int_equal(json_array_size(locks), 2);
    assert_string_equal(json_string_value(json_array_get(locks, 0)), "gpu_cluster_1");
    assert_int_equal(got.error_count, 0);
    assert_null(got.last_error);
    /* decisions.md #5: read back equal to the microsecond */
    assert_true(got.last_heartbeat == now);
    json_decref(data);
    json_decref(locks);
    oi_agent_state_clear(&got);
}

static void test_agent_state_relationship(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_state sample = OI_AGENT_STATE_INIT;
    sample_agent_state(fx, &sample);

    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, sample.agent_id, &agent));
    oi_agent_state found = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_find(fx->store, agent.id, &found));
    assert_string_equal(found.id, sample.id);
    assert_string_equal(found.agent_id, agent.id);

    oi_agent_state_clear(&found);
    oi_agent_clear(&agent);
    oi_agent_state_clear(&sample);
}

static void test_agent_state_error_tracking(void **state)
{
    oi_fixture *fx = FX(state);
    char ts[OI_TIME_BUFSZ], last_error[256];
    snprintf(last_error, sizeof last_error,
             "{\"timestamp\": \"%s\", \"error\": \"Connection timeout\", \"severity\": \"high\"}",
             oi_time_format(oi_time_now(), ts));
    oi_agent_state s = new_state(fx->cost_agent.id, "error", "analysis");
    s.error_count = 3;
    s.last_error = last_error;
    assert_ok(fx, oi_agent_state_create(fx->store, &s));

    oi_agent_state got = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, s.id, &got));
    assert_string_equal(got.status, "error");
    assert_int_equal(got.error_count, 3);
    assert_non_null(got.last_error);
    json_t *err = fx_json(got.last_error);
    assert_contains(json_string_value(fx_json_at(err, "error")), "Connection timeout");
    assert_string_equal(json_string_value(fx_json_at(err, "timestamp")), ts);
    json_decref(err);
    oi_agent_state_clear(&got);
}

static void test_agent_state_heartbeat_tracking(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_state s = OI_AGENT_STATE_INIT;
    sample_agent_state(fx, &s);
    oi_time old_heartbeat = s.last_heartbeat;

    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    s.last_heartbeat = oi_time_now();
    assert_ok(fx, oi_agent_state_update(fx->store, &s));

    oi_agent_state got = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, s.id, &got));
    assert_true(got.last_heartbeat > old_heartbeat);
    assert_true(got.last_heartbeat == s.last_heartbeat);
    oi_agent_state_clear(&got);
    oi_agent_state_clear(&s);
}

static void test_agent_state_workflow_data(void **state)
{
    oi_fixture *fx = FX(state);
    char ts[OI_TIME_BUFSZ], complex_data[512];
    snprintf(complex_data, sizeof complex_data,
             "{\"customer_id\": \"test-123\","
             " \"analysis\": {\"total_cost\": 120000, \"potential_savings\": 60000,"
             "   \"recommendations\": [{\"type\": \"rightsizing\", \"impact\": 30000},"
             "                         {\"type\": \"spot_instances\", \"impact\": 30000}]},"
             " \"metadata\": {\"started\": \"%s\", \"version\": \"1.0\"}}",
             oi_time_format(oi_time_now(), ts));
    oi_agent_state s = new_state(fx->cost_agent.id, "active", "deep_analysis");
    s.workflow_data = complex_data;
    assert_ok(fx, oi_agent_state_create(fx->store, &s));

    oi_agent_state got = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_get(fx->store, s.id, &got));
    json_t *data = fx_json(got.workflow_data);
    assert_int_equal(json_integer_value(fx_json_at(data, "analysis.total_cost")), 120000);
    assert_int_equal(json_array_size(fx_json_at(data, "analysis.recommendations")), 2);
    assert_string_equal(json_string_value(fx_json_at(data, "analysis.recommendations.1.type")),
                        "spot_instances");
    assert_string_equal(json_string_value(fx_json_at(data, "metadata.version")), "1.0");
    json_decref(data);
    oi_agent_state_clear(&got);
}

/* ---- TestAgentCapability ----------------------------------------------- */

static void test_create_agent_capability(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability c = new_capability(fx->cost_agent.id, "advanced_cost_analysis", "2.1.0",
        "{\"model\": \"cost_predictor_v2\", \"confidence_threshold\": 0.85,"
        " \"features\": [\"gpu_usage\", \"network\", \"storage\"]}", true);
    c.description = "Advanced cost analysis with ML";
    assert_ok(fx, oi_agent_capability_create(fx->store, &c));
    assert_int_equal(strlen(c.id), OI_UUID_LEN);

    oi_agent_capability got = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_agent_capability_get(fx->store, c.id, &got));
    assert_string_equal(got.capability_name, "advanced_cost_analysis");
    assert_string_equal(got.capability_version, "2.1.0");
    assert_true(got.is_enabled);
    json_t *params = fx_json(got.parameters);
    assert_non_null(fx_json_at(params, "model"));
    assert_int_equal(json_array_size(fx_json_at(params, "features")), 3);
    assert_true(json_real_value(fx_json_at(params, "confidence_threshold")) == 0.85);
    json_decref(params);
    oi_agent_capability_clear(&got);
}

static void test_agent_capability_relationship(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability sample = OI_AGENT_CAPABILITY_INIT;
    sample_agent_capability(fx, &sample);

    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, sample.agent_id, &agent));
    oi_agent_capability *caps = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_capability_iter_by_agent(&it, fx->store, agent.id));
    size_t n = fx_collect_agent_capabilities(fx, it, &caps);
    assert_true(n >= 1);
    assert_true(capability_listed(caps, n, sample.id));

    fx_free_agent_capabilities(caps, n);
    oi_agent_clear(&agent);
    oi_agent_capability_clear(&sample);
}

static void test_multiple_capability_versions(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability v1 = new_capability(fx->cost_agent.id, "cost_optimization", "1.0.0",
                                            "{\"method\": \"basic\"}", false);
    v1.description = "Basic cost optimization";
    oi_agent_capability v2 = new_capability(fx->cost_agent.id, "cost_optimization", "2.0.0",
        "{\"method\": \"advanced\", \"ml_enabled\": true}", true);
    v2.description = "Advanced cost optimization";
    assert_ok(fx, oi_agent_capability_create(fx->store, &v1));
    assert_ok(fx, oi_agent_capability_create(fx->store, &v2));

    oi_agent_capability *caps = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_capability_iter_versions(&it, fx->store, fx->cost_agent.id,
                                                    "cost_optimization"));
    size_t n = fx_collect_agent_capabilities(fx, it, &caps);
    assert_int_equal(n, 2);
    bool has_v1 = false, has_v2 = false;
    for (size_t i = 0; i < n; i++) {
        has_v1 |= strcmp(caps[i].capability_version, "1.0.0") == 0;
        has_v2 |= strcmp(caps[i].capability_version, "2.0.0") == 0;
    }
    assert_true(has_v1 && has_v2);
    fx_free_agent_capabilities(caps, n);
}

static void test_capability_enable_disable(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    sample_agent_capability(fx, &cap);
    assert_true(cap.is_enabled);

    cap.is_enabled = false;
    assert_ok(fx, oi_agent_capability_update(fx->store, &cap));

    oi_agent_capability got = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_agent_capability_get(fx->store, cap.id, &got));
    assert_false(got.is_enabled);
    oi_agent_capability_clear(&got);
    oi_agent_capability_clear(&cap);
}

static void test_capability_parameters_update(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    sample_agent_capability(fx, &cap);

    char *original = cap.parameters;
    cap.parameters = "{\"new_param\": \"value\", \"threshold\": 0.95}";
    assert_ok(fx, oi_agent_capability_update(fx->store, &cap));
    cap.parameters = original;

    oi_agent_capability got = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_agent_capability_get(fx->store, cap.id, &got));
    json_t *params = fx_json(got.parameters);
    assert_non_null(fx_json_at(params, "new_param"));
    assert_true(json_real_value(fx_json_at(params, "threshold")) == 0.95);
    assert_null(fx_json_at(params, "param1"));
    json_decref(params);
    oi_agent_capability_clear(&got);
    oi_agent_capability_clear(&cap);
}

/* ---- TestAgentMetric --------------------------------------------------- */

static void test_create_agent_metric(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time now = oi_time_now();
    oi_agent_metric m = new_metric(fx->cost_agent.id, "cost_savings_usd", 45000.50, "usd", now,
                                   "{\"period\": \"monthly\", \"customer_count\": 5}");
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    assert_true(m.id > 0);

    oi_agent_metric got = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, &got));
    assert_string_equal(got.metric_name, "cost_savings_usd");
    assert_true(got.metric_value == 45000.50);
    assert_string_equal(got.metric_unit, "usd");
    assert_true(got.collection_timestamp == now); /* decisions.md #5: to the microsecond */
    json_t *meta = fx_json(got.metadata);
    assert_string_equal(json_string_value(fx_json_at(meta, "period")), "monthly");
    json_decref(meta);
    oi_agent_metric_clear(&got);
}

static void test_agent_metric_relationship(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric sample = OI_AGENT_METRIC_INIT;
    sample_agent_metric(fx, &sample);

    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, sample.agent_id, &agent));
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = agent.id;
    oi_agent_metric *items = NULL;
    size_t n = fx_metric_query(fx, &f, &items, NULL);
    assert_true(n >= 1);
    assert_true(metric_listed(items, n, sample.id));

    fx_free_agent_metrics(items, n);
    oi_agent_clear(&agent);
    oi_agent_metric_clear(&sample);
}

static void test_metric_time_series(void **state)
{
    oi_fixture *fx = FX(state);
    const oi_time hour = 3600LL * 1000000;
    oi_time base = oi_time_now();
    /* written newest first so that the order must come from the query */
    for (int h = 4; h >= 0; h--) {
        char meta[32];
        snprintf(meta, sizeof meta, "{\"hour\": %d}", h);
        oi_agent_metric m = new_metric(fx->cost_agent.id, "gpu_utilization", 70.0 + h * 2,
                                       "percent", base + h * hour, meta);
        assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    }
    oi_agent_metric other = new_metric(fx->cost_agent.id, "gpu_utilization", 1.0, "percent",
                                       base + 6 * hour, "{}");
    assert_ok(fx, oi_agent_metric_create(fx->store, &other));

    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.metric_name = "gpu_utilization";
    f.from = base;
    f.to = base + 5 * hour;
    oi_agent_metric *items = NULL;
    size_t n = fx_metric_query(fx, &f, &items, NULL);
    assert_int_equal(n, 5);
    assert_true(items[0].metric_value == 70.0);
    assert_true(items[4].metric_value == 78.0);
    for (size_t i = 1; i < n; i++)
        assert_true(items[i - 1].collection_timestamp < items[i].collection_timestamp);
    fx_free_agent_metrics(items, n);
}

static void test_metric_aggregation(void **state)
{
    oi_fixture *fx = FX(state);
    const double values[] = {100.0, 200.0, 150.0, 175.0, 225.0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        oi_agent_metric m = new_metric(fx->cost_agent.id, "request_count", values[i], "count",
                                       oi_time_now(), "{}");
        assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    }
    oi_agent_metric noise = new_metric(fx->cost_agent.id, "other", 1e6, "count", oi_time_now(), "{}");
    assert_ok(fx, oi_agent_metric_create(fx->store, &noise));

    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.metric_name = "request_count";
    double avg = 0;
    assert_ok(fx, oi_agent_metric_avg(fx->store, &f, &avg));
    assert_true(avg == 170.0); /* (100+200+150+175+225)/5 */
}

static void test_metric_metadata_search(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m1 = new_metric(fx->cost_agent.id, "latency", 100.0, "ms", oi_time_now(),
                                    "{\"region\": \"us-west\", \"env\": \"prod\"}");
    oi_agent_metric m2 = new_metric(fx->cost_agent.id, "latency", 150.0, "ms", oi_time_now(),
                                    "{\"region\": \"us-east\", \"env\": \"prod\"}");
    assert_ok(fx, oi_agent_metric_create(fx->store, &m1));
    assert_ok(fx, oi_agent_metric_create(fx->store, &m2));

    oi_metadata_match region = {"region", "us-west"};
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.where = &region;
    f.nwhere = 1;
    oi_agent_metric *items = NULL;
    size_t n = fx_metric_query(fx, &f, &items, NULL);
    assert_int_equal(n, 1);
    assert_true(items[0].metric_value == 100.0);
    fx_free_agent_metrics(items, n);
}

/* ---- TestAgentStateIntegration ----------------------------------------- */

static void test_complete_agent_with_all_state_tables(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_config config = new_config(id, "threshold", "100", "number");
    config.description = "Test threshold";
    oi_agent_state st = new_state(id, "active", "test");
    oi_agent_capability cap = new_capability(id, "test_cap", "1.0.0", "{}", true);
    oi_agent_metric metric = new_metric(id, "test_metric", 100.0, "count", oi_time_now(), "{}");
    /* the spec commits the four together: one transaction */
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_agent_config_create(fx->store, &config));
    assert_ok(fx, oi_agent_state_create(fx->store, &st));
    assert_ok(fx, oi_agent_capability_create(fx->store, &cap));
    assert_ok(fx, oi_agent_metric_create(fx->store, &metric));
    assert_ok(fx, oi_commit(fx->store));

    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, id, &agent));
    oi_agent_config *configs = NULL;
    oi_agent_capability *caps = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_config_iter_by_agent(&it, fx->store, agent.id));
    size_t nconfigs = fx_collect_agent_configs(fx, it, &configs);
    assert_true(nconfigs >= 1);
    oi_agent_state found = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_find(fx->store, agent.id, &found));
    assert_ok(fx, oi_agent_capability_iter_by_agent(&it, fx->store, agent.id));
    size_t ncaps = fx_collect_agent_capabilities(fx, it, &caps);
    assert_true(ncaps >= 1);
    assert_true(metric_count(fx, agent.id) >= 1);

    fx_free_agent_configs(configs, nconfigs);
    fx_free_agent_capabilities(caps, ncaps);
    oi_agent_state_clear(&found);
    oi_agent_clear(&agent);
}

static void test_agent_deletion_cascades(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent agent = OI_AGENT_INIT;
    fx_make_agent(fx, "test", "Test Agent", &agent);

    oi_agent_config config = new_config(agent.id, "test", "test", "string");
    oi_agent_state st = new_state(agent.id, "active", NULL);
    oi_agent_capability cap = new_capability(agent.id, "test", "1.0.0", "{}", true);
    oi_agent_metric metric = new_metric(agent.id, "test", 1.0, "count", oi_time_now(), "{}");
    assert_ok(fx, oi_agent_config_create(fx->store, &config));
    assert_ok(fx, oi_agent_state_create(fx->store, &st));
    assert_ok(fx, oi_agent_capability_create(fx->store, &cap));
    assert_ok(fx, oi_agent_metric_create(fx->store, &metric));

    assert_ok(fx, oi_agent_delete(fx->store, agent.id));

    oi_agent a = OI_AGENT_INIT;
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    oi_agent_capability k = OI_AGENT_CAPABILITY_INIT;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    assert_rc(fx, oi_agent_get(fx->store, agent.id, &a), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_config_get(fx->store, config.id, &c), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_state_get(fx->store, st.id, &s), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_capability_get(fx->store, cap.id, &k), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_metric_get(fx->store, metric.id, &m), OI_ENOTFOUND);
    /* the sample agent's rows are untouched */
    assert_ok(fx, oi_agent_get(fx->store, fx->cost_agent.id, &a));
    oi_agent_clear(&a);
    oi_agent_clear(&agent);
}

static void test_query_agent_with_active_workflow(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent agent1 = OI_AGENT_INIT, agent2 = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "Agent 1", &agent1);
    fx_make_agent(fx, "performance", "Agent 2", &agent2);

    oi_agent_state s1 = new_state(agent1.id, "active", "analysis");
    s1.resource_locks = "[\"resource1\"]";
    oi_agent_state s2 = new_state(agent2.id, "idle", NULL);
    assert_ok(fx, oi_agent_state_create(fx->store, &s1));
    assert_ok(fx, oi_agent_state_create(fx->store, &s2));

    oi_agent *active = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_iter_active_workflow(&it, fx->store));
    size_t n = fx_collect_agents(fx, it, &active);
    assert_int_equal(n, 1);
    assert_string_equal(active[0].id, agent1.id);
    fx_free_agents(active, n);
    oi_agent_clear(&agent1);
    oi_agent_clear(&agent2);
}

/* ---- the group --------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_spec_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_agent_config),
        T(test_agent_config_relationship),
        T(test_agent_config_foreign_key),
        T(test_agent_config_sensitive_flag),
        T(test_agent_config_cascade_delete),
        T(test_create_agent_state),
        T(test_agent_state_relationship),
        T(test_agent_state_error_tracking),
        T(test_agent_state_heartbeat_tracking),
        T(test_agent_state_workflow_data),
        T(test_create_agent_capability),
        T(test_agent_capability_relationship),
        T(test_multiple_capability_versions),
        T(test_capability_enable_disable),
        T(test_capability_parameters_update),
        T(test_create_agent_metric),
        T(test_agent_metric_relationship),
        T(test_metric_time_series),
        T(test_metric_aggregation),
        T(test_metric_metadata_search),
        T(test_complete_agent_with_all_state_tables),
        T(test_agent_deletion_cascades),
        T(test_query_agent_with_active_workflow),
    };
    return fx_run_group("spec", tests);
}
