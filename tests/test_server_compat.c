/*
 * test_server_compat.c - OptiInfra's two client dialects over real HTTP:
 * the Go orchestrator registry's /agents routes (routes_compat.c) and the
 * Python agents' /api/v1/agents routes (routes_python.c).
 *
 * The requests are the clients' own: the payloads, methods and headers of
 * OptiInfra's registration helper (shared/orchestrator/registration.py,
 * Python requests: json.dumps's spacing, an unregister POST with no body
 * and no Content-Type) and of its agents' registration clients
 * (services/{application,performance,resource}-agent/src/core/
 * registration.py), and each answer is checked for what those clients
 * read (201 with agent_id and heartbeat_interval_seconds, 200 ...) and
 * for what the Go registry's own clients decode (every Agent field, with
 * its JSON type).  What a request wrote is read back around the service,
 * with the library or SQL; every refusal is checked to have written
 * nothing (the agent tables dumped before and after).  Time passing is
 * simulated by moving heartbeats back with SQL, never by sleeping.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The store's ids of the Python agents' default agent_ids: uuid.uuid5(
 * uuid.NAMESPACE_URL, "urn:optiinfra:agent:" + agent_id), computed by Python. */
#define APPLICATION_ID "f76d6033-75c7-55e8-af52-fc6c3b1a1c9d" /* application-agent-001 */
#define RESOURCE_ID "6d1db91f-95df-5032-8e40-5fdb1922ea71"    /* resource-agent-001 */
#define PERFORMANCE_ID "9db79377-5184-5dd6-b504-5c6944a5ee4a" /* performance-agent-001 */
#define UNKNOWN_ID "00000000-0000-4000-8000-000000000000"

/* registration.py's requests, as Python's json.dumps writes them. */
#define HELPER_REGISTRATION                                                             \
    "{\"name\": \"cost-agent-1\", \"type\": \"cost\", \"host\": \"localhost\", "        \
    "\"port\": 8001, \"capabilities\": [\"spot_migration\", \"reserved_instances\"], "  \
    "\"version\": \"1.0.0\", \"metadata\": {}}"
#define HELPER_HEARTBEAT "{\"status\": \"healthy\", \"metadata\": {}}"

/* The Python agents' registrations, with their code's defaults. */
#define APPLICATION_REGISTRATION                                                        \
    "{\"agent_id\": \"application-agent-001\", \"agent_name\": \"Application Agent\", "  \
    "\"agent_type\": \"application\", \"version\": \"1.0.0\", \"host\": \"0.0.0.0\", "   \
    "\"port\": 8004, \"capabilities\": [\"quality_monitoring\", "                        \
    "\"regression_detection\", \"validation_engine\", \"hallucination_detection\", "     \
    "\"ab_testing\"], \"status\": \"active\"}"
#define PERFORMANCE_REGISTRATION                                                        \
    "{\"agent_id\": \"performance-agent-001\", \"agent_type\": \"performance\", "        \
    "\"capabilities\": [\"performance_monitoring\", \"bottleneck_detection\"], "         \
    "\"endpoint\": \"http://localhost:8002\", \"health_check_endpoint\": "               \
    "\"/api/v1/health\", \"version\": \"0.1.0\", \"metadata\": {\"environment\": "       \
    "\"development\", \"log_level\": \"INFO\"}}"
#define RESOURCE_REGISTRATION                                                           \
    "{\"agent_id\": \"resource-agent-001\", \"agent_type\": \"resource\", "              \
    "\"capabilities\": [\"gpu_metrics_collection\", \"cpu_metrics_collection\"], "       \
    "\"endpoint\": \"http://localhost:8003\", \"health_check_endpoint\": "               \
    "\"http://localhost:8003/health\", \"version\": \"1.0.0\", \"status\": \"active\"}"
#define RESOURCE_HEARTBEAT                                                              \
    "{\"agent_id\": \"resource-agent-001\", \"status\": \"active\", \"timestamp\": "     \
    "\"2025-11-02T10:15:30.123456\", \"metrics\": {\"requests_processed\": 0, "          \
    "\"avg_response_time_ms\": 0.0}}"

/* What Python's requests sends with every request. */
#define PY_HEADERS "User-Agent: python-requests/2.31.0", "Accept: */*"

/* ---- requests ------------------------------------------------------------------ */

static void stop(fx_server *srv)
{
    assert_int_equal(fx_server_stop(srv), 0);
}

/* A request as Python's requests sends it: json= gives a JSON body; a
 * POST without one has Content-Length: 0 and no Content-Type.  token
 * (may be NULL) goes as X-API-Key, as OptiInfra's services send it. */
static void py_request(const fx_server *srv, fx_http *r, const char *method, const char *path,
                       const char *json, const char *token)
{
    char key[160];
    const char *headers[5] = {PY_HEADERS, NULL, NULL, NULL};
    size_t n = 2;
    if (!json && strcmp(method, "POST") == 0)
        headers[n++] = "Content-Length: 0";
    if (token) {
        snprintf(key, sizeof key, "X-API-Key: %s", token);
        headers[n] = key;
    }
    fx_request(srv, r, method, path, json, NULL, headers);
    assert_false(r->transport_error);
}

/* Send and assert the status; the answer stays in *r. */
static void expect(const fx_server *srv, fx_http *r, const char *method, const char *path,
                   const char *json, long status)
{
    py_request(srv, r, method, path, json, NULL);
    assert_status(r, status);
}

static const char *text_at(fx_http *r, const char *path)
{
    const char *s = json_string_value(fx_json_at(r->json, path));
    if (!s)
        fail_msg("no string at %s in %s", path, r->body);
    return s;
}

/* Register through the Go dialect: 201; the agent_id into id. */
static void go_register(const fx_server *srv, const char *payload, oi_uuid id)
{
    fx_http r;
    expect(srv, &r, "POST", "/agents/register", payload, 201);
    snprintf(id, sizeof(oi_uuid), "%s", text_at(&r, "agent_id"));
    fx_http_free(&r);
}

/* ---- reading back ---------------------------------------------------------------- */

/* The agent tables, row by row, read around the library. */
static char *dump(oi_fixture *fx)
{
    char *agents = fx_sql_text(fx, "SELECT * FROM agents ORDER BY id");
    char *states = fx_sql_text(fx, "SELECT * FROM agent_states ORDER BY id");
    char *metrics = fx_sql_text(fx, "SELECT * FROM agent_metrics ORDER BY id");
    size_t size = strlen(agents) + strlen(states) + strlen(metrics) + 64;
    char *all = malloc(size);
    assert_non_null(all);
    snprintf(all, size, "agents\n%sagent_states\n%sagent_metrics\n%s", agents, states, metrics);
    free(agents);
    free(states);
    free(metrics);
    return all;
}

/* Send a request that must be refused with status and error code (a code
 * "" for the Go registry's {"error": "..."}), writing nothing. */
static void refused_as(oi_fixture *fx, const fx_server *srv, const char *method,
                       const char *path, const char *json, const char *token, long status,
                       const char *code)
{
    fx_http r;
    char *before = dump(fx);
    py_request(srv, &r, method, path, json, token);
    assert_status(&r, status);
    assert_string_equal(fx_http_error_code(&r), code);
    char *after = dump(fx);
    assert_string_equal(after, before);
    free(before);
    free(after);
    fx_http_free(&r);
}

static void refused(oi_fixture *fx, const fx_server *srv, const char *method, const char *path,
                    const char *json, long status, const char *code)
{
    refused_as(fx, srv, method, path, json, NULL, status, code);
}

/* The Go registry's 404, exactly, writing nothing. */
static void go_not_found(oi_fixture *fx, const fx_server *srv, const char *method,
                         const char *path, const char *json)
{
    fx_http r;
    char *before = dump(fx);
    py_request(srv, &r, method, path, json, NULL);
    assert_status(&r, 404);
    assert_string_equal(r.body, "{\"error\":\"Agent not found\"}\n");
    char *after = dump(fx);
    assert_string_equal(after, before);
    free(before);
    free(after);
    fx_http_free(&r);
}

static void get_agent(oi_fixture *fx, const char *id, oi_agent *a)
{
    oi_agent_clear(a);
    assert_ok(fx, oi_agent_get(fx->store, id, a));
}

static void assert_json_text(const char *text, const char *want)
{
    json_t *got = fx_json(text), *expected = fx_json(want);
    if (!json_equal(got, expected))
        fail_msg("JSON %s, expected %s", text, want);
    json_decref(got);
    json_decref(expected);
}

/* Move the agent's heartbeats (both) to `ago` microseconds before now. */
static void set_last_seen(oi_fixture *fx, const char *id, int64_t ago)
{
    char t[OI_TIME_BUFSZ], sql[256];
    oi_time_format(oi_time_now() - ago, t);
    snprintf(sql, sizeof sql, "UPDATE agents SET last_heartbeat = '%s' WHERE id = '%s'", t, id);
    fx_sql_exec(fx, sql);
    snprintf(sql, sizeof sql,
             "UPDATE agent_states SET last_heartbeat = '%s' WHERE agent_id = '%s'", t, id);
    fx_sql_exec(fx, sql);
}

/* Whether s is a time as Go marshals a UTC time.Time: RFC 3339, a
 * fraction of 1 to 9 digits not ending in 0 (or none), then Z. */
static bool is_go_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    s += sizeof shape - 1;
    if (*s == '.') {
        size_t digits = strspn(s + 1, "0123456789");
        if (digits < 1 || digits > 9 || s[digits] == '0')
            return false;
        s += 1 + digits;
    }
    return strcmp(s, "Z") == 0;
}

/* ---- the Go registry's routes ----------------------------------------------------- */

static void server_compat_go_register_is_idempotent(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);

    expect(&srv, &r, "POST", "/agents/register", HELPER_REGISTRATION, 201);
    oi_uuid id;
    snprintf(id, sizeof id, "%s", text_at(&r, "agent_id"));
    assert_int_equal(json_object_size(r.json), 4);
    assert_true(is_go_time(text_at(&r, "registered_at")));
    char url[80];
    snprintf(url, sizeof url, "/agents/%s/heartbeat", id);
    assert_string_equal(text_at(&r, "heartbeat_url"), url);
    assert_int_equal(json_integer_value(json_object_get(r.json, "heartbeat_interval_seconds")),
                     30);
    char *registered_at = strdup(text_at(&r, "registered_at"));
    fx_http_free(&r);

    get_agent(fx, id, &a);
    assert_string_equal(a.type, "cost");
    assert_string_equal(a.name, "cost-agent-1");
    assert_string_equal(a.endpoint, "http://localhost:8001");
    assert_json_text(a.capabilities, "[\"spot_migration\", \"reserved_instances\"]");
    assert_string_equal(a.agent_version, "1.0.0");
    assert_string_equal(a.status, "healthy");
    assert_json_text(a.metadata, "{}");
    assert_true(a.last_heartbeat != OI_TIME_NULL); /* registering is a sign of life */

    /* Again, as a restarted agent does: the same agent, updated. */
    fx_sql_exec(fx, "UPDATE agents SET status = 'unhealthy'");
    expect(&srv, &r, "POST", "/agents/register",
           "{\"name\": \"cost-agent-1\", \"type\": \"cost\", \"host\": \"10.0.0.7\", "
           "\"port\": 9001, \"capabilities\": [\"right_sizing\"], \"version\": \"1.1.0\"}",
           201);
    assert_string_equal(text_at(&r, "agent_id"), id);
    assert_string_equal(text_at(&r, "registered_at"), registered_at);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agents"), 1);
    get_agent(fx, id, &a);
    assert_string_equal(a.endpoint, "http://10.0.0.7:9001");
    assert_json_text(a.capabilities, "[\"right_sizing\"]");
    assert_string_equal(a.agent_version, "1.1.0");
    assert_string_equal(a.status, "healthy");

    free(registered_at);
    oi_agent_clear(&a);
    stop(&srv);
}

/* Every member of a Go Agent, with its JSON type. */
static void assert_go_agent(json_t *agent, const char *id, const char *name, const char *type,
                            const char *host, long port, const char *status)
{
    static const char *const members[] = {"id", "name", "type", "host", "port",
                                          "capabilities", "status", "version",
                                          "registered_at", "last_seen", "metadata", NULL};
    for (size_t i = 0; members[i]; i++)
        if (!json_object_get(agent, members[i]))
            fail_msg("the agent has no \"%s\"", members[i]);
    assert_int_equal(json_object_size(agent), 11);
    assert_string_equal(json_string_value(json_object_get(agent, "id")), id);
    assert_string_equal(json_string_value(json_object_get(agent, "name")), name);
    assert_string_equal(json_string_value(json_object_get(agent, "type")), type);
    assert_string_equal(json_string_value(json_object_get(agent, "host")), host);
    assert_true(json_is_integer(json_object_get(agent, "port")));
    assert_int_equal(json_integer_value(json_object_get(agent, "port")), port);
    assert_true(json_is_array(json_object_get(agent, "capabilities")));
    assert_string_equal(json_string_value(json_object_get(agent, "status")), status);
    assert_true(json_is_string(json_object_get(agent, "version")));
    assert_true(is_go_time(json_string_value(json_object_get(agent, "registered_at"))));
    assert_true(is_go_time(json_string_value(json_object_get(agent, "last_seen"))));
    assert_true(json_is_object(json_object_get(agent, "metadata")));
}

/* The member of list "agents" with this id. */
static json_t *listed(fx_http *r, const char *id)
{
    size_t i;
    json_t *agent;
    json_array_foreach(json_object_get(r->json, "agents"), i, agent)
        if (strcmp(json_string_value(json_object_get(agent, "id")), id) == 0)
            return agent;
    fail_msg("agent %s is not listed: %s", id, r->body);
    return NULL;
}

static void server_compat_go_list_and_show(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r, one;
    oi_uuid cost, perf;
    oi_agent made = OI_AGENT_INIT;
    char type[] = "resource", name[] = "gpu-watch", endpoint[] = "https://gpu.example/api";
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, cost);
    go_register(&srv, "{\"name\": \"perf-agent-1\", \"type\": \"performance\", \"host\": "
                      "\"::1\", \"port\": 8002, \"capabilities\": [\"kv_cache\"], "
                      "\"version\": \"0.1.0\", \"metadata\": {\"zone\": \"a\"}}", perf);
    /* Registered around the dialect: an https endpoint, never seen. */
    made.type = type;
    made.name = name;
    made.endpoint = endpoint;
    assert_ok(fx, oi_agent_create(fx->store, &made));

    expect(&srv, &r, "GET", "/agents", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 3);
    assert_int_equal(json_array_size(json_object_get(r.json, "agents")), 3);
    json_t *c = listed(&r, cost);
    assert_go_agent(c, cost, "cost-agent-1", "cost", "localhost", 8001, "healthy");
    json_t *caps = json_object_get(c, "capabilities");
    assert_string_equal(json_string_value(json_array_get(caps, 1)), "reserved_instances");
    assert_string_equal(json_string_value(json_object_get(c, "version")), "1.0.0");
    json_t *p = listed(&r, perf);
    assert_go_agent(p, perf, "perf-agent-1", "performance", "::1", 8002, "healthy");
    assert_string_equal(json_string_value(fx_json_at(p, "metadata.zone")), "a");
    json_t *g = listed(&r, made.id);
    assert_go_agent(g, made.id, "gpu-watch", "resource", "gpu.example", 443, "unreachable");
    assert_string_equal(json_string_value(json_object_get(g, "last_seen")),
                        "0001-01-01T00:00:00Z");

    char path[80];
    snprintf(path, sizeof path, "/agents/%s", cost);
    expect(&srv, &one, "GET", path, NULL, 200);
    assert_true(json_equal(one.json, c));
    fx_http_free(&one);
    fx_http_free(&r);

    expect(&srv, &r, "GET", "/agents/type/performance", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 1);
    assert_go_agent(listed(&r, perf), perf, "perf-agent-1", "performance", "::1", 8002,
                    "healthy");
    fx_http_free(&r);
    expect(&srv, &r, "GET", "/agents/type/billing", NULL, 200);
    assert_string_equal(r.body, "{\"agents\":[],\"count\":0}\n");
    fx_http_free(&r);
    stop(&srv);
}

static void server_compat_go_unreachable_after_45s(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_uuid id;
    char path[80];
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, id);
    snprintf(path, sizeof path, "/agents/%s", id);

    set_last_seen(fx, id, 40 * INT64_C(1000000));
    expect(&srv, &r, "GET", path, NULL, 200);
    assert_string_equal(text_at(&r, "status"), "healthy");
    fx_http_free(&r);

    set_last_seen(fx, id, 46 * INT64_C(1000000));
    expect(&srv, &r, "GET", path, NULL, 200);
    assert_string_equal(text_at(&r, "status"), "unreachable");
    fx_http_free(&r);
    expect(&srv, &r, "GET", "/agents", NULL, 200);
    assert_string_equal(json_string_value(fx_json_at(r.json, "agents.0.status")),
                        "unreachable");
    fx_http_free(&r);
    get_agent(fx, id, &a);
    assert_string_equal(a.status, "healthy"); /* the stored word is kept */

    /* The newer of the two heartbeats counts: a beat of the state alone. */
    char t[OI_TIME_BUFSZ], sql[200];
    snprintf(sql, sizeof sql, "UPDATE agent_states SET last_heartbeat = '%s' WHERE "
             "agent_id = '%s'", oi_time_format(oi_time_now(), t), id);
    fx_sql_exec(fx, sql);
    expect(&srv, &r, "GET", path, NULL, 200);
    assert_string_equal(text_at(&r, "status"), "healthy");
    fx_http_free(&r);

    set_last_seen(fx, id, 3600 * INT64_C(1000000));
    snprintf(path, sizeof path, "/agents/%s/heartbeat", id);
    expect(&srv, &r, "POST", path, HELPER_HEARTBEAT, 200);
    fx_http_free(&r);
    snprintf(path, sizeof path, "/agents/%s", id);
    expect(&srv, &r, "GET", path, NULL, 200);
    assert_string_equal(text_at(&r, "status"), "healthy");
    fx_http_free(&r);
    oi_agent_clear(&a);
    stop(&srv);
}

static void server_compat_go_heartbeat(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_uuid id;
    char path[80];
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, "{\"name\": \"cost-agent-1\", \"type\": \"cost\", \"host\": "
                      "\"localhost\", \"port\": 8001, \"metadata\": {\"region\": "
                      "\"us-east-1\", \"tier\": \"gold\"}}", id);
    set_last_seen(fx, id, 10 * INT64_C(1000000));
    get_agent(fx, id, &a);
    oi_time before = a.last_heartbeat;
    snprintf(path, sizeof path, "/agents/%s/heartbeat", id);

    expect(&srv, &r, "POST", path,
           "{\"status\": \"degraded\", \"metadata\": {\"tier\": \"silver\", \"load\": 0.5}}",
           200);
    assert_int_equal(json_object_size(r.json), 3);
    assert_true(json_is_true(json_object_get(r.json, "received")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "next_interval_seconds")), 30);
    assert_true(is_go_time(text_at(&r, "timestamp")));
    fx_http_free(&r);
    get_agent(fx, id, &a);
    assert_true(a.last_heartbeat > before);
    assert_string_equal(a.status, "degraded");
    /* Merged, as the Go registry merges: old keys kept, new ones set. */
    assert_json_text(a.metadata, "{\"region\": \"us-east-1\", \"tier\": \"silver\", "
                                 "\"load\": 0.5}");

    /* No status, or "", keeps the stored one; no metadata keeps it too. */
    expect(&srv, &r, "POST", path, "{}", 200);
    fx_http_free(&r);
    expect(&srv, &r, "POST", path, "{\"status\": \"\"}", 200);
    fx_http_free(&r);
    get_agent(fx, id, &a);
    assert_string_equal(a.status, "degraded");
    assert_json_text(a.metadata, "{\"region\": \"us-east-1\", \"tier\": \"silver\", "
                                 "\"load\": 0.5}");
    oi_agent_clear(&a);
    stop(&srv);
}

static void server_compat_go_unknown_agent_is_404(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    oi_uuid id;
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, id);

    go_not_found(fx, &srv, "POST", "/agents/" UNKNOWN_ID "/heartbeat", HELPER_HEARTBEAT);
    go_not_found(fx, &srv, "POST", "/agents/cost-agent-1/heartbeat", HELPER_HEARTBEAT);
    go_not_found(fx, &srv, "GET", "/agents/" UNKNOWN_ID, NULL);
    go_not_found(fx, &srv, "GET", "/agents/cost-agent-1", NULL);
    go_not_found(fx, &srv, "POST", "/agents/" UNKNOWN_ID "/unregister", NULL);
    stop(&srv);
}

static void server_compat_go_unregister_keeps_the_agent(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_uuid id, again;
    char path[80], beat[80], gone[80];
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, id);
    char metric_name[] = "cost_usd";
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, id, sizeof m.agent_id);
    m.metric_name = metric_name;
    m.metric_value = 12.5;
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    snprintf(path, sizeof path, "/agents/%s/unregister", id);
    snprintf(beat, sizeof beat, "/agents/%s/heartbeat", id);
    snprintf(gone, sizeof gone, "/agents/%s", id);

    expect(&srv, &r, "POST", path, NULL, 200);
    assert_string_equal(r.body, "{\"message\":\"Agent unregistered successfully\"}\n");
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agents"), 1);
    get_agent(fx, id, &a);
    assert_string_equal(a.status, "unregistered");
    assert_string_equal(a.endpoint, "http://localhost:8001");
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);

    /* Absent to the dialect until it registers again. */
    expect(&srv, &r, "GET", "/agents", NULL, 200);
    assert_string_equal(r.body, "{\"agents\":[],\"count\":0}\n");
    fx_http_free(&r);
    go_not_found(fx, &srv, "GET", gone, NULL);
    go_not_found(fx, &srv, "POST", beat, HELPER_HEARTBEAT);
    go_not_found(fx, &srv, "POST", path, NULL);
    refused(fx, &srv, "POST", beat, "{\"status\": \"unregistered\"}", 422, "invalid");

    go_register(&srv, HELPER_REGISTRATION, again);
    assert_string_equal(again, id);
    get_agent(fx, id, &a);
    assert_string_equal(a.status, "healthy");
    expect(&srv, &r, "GET", "/agents", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 1);
    fx_http_free(&r);
    oi_agent_clear(&a);
    stop(&srv);
}

/* registration.py's whole life: register, the heartbeat loop (three beats
 * here), unregister on shutdown; each step checked as the helper checks
 * it, and the store after each. */
static void server_compat_registration_helper(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);

    /* register(): 201, then data["agent_id"], data.get("heartbeat_interval_seconds", 30) */
    expect(&srv, &r, "POST", "/agents/register", HELPER_REGISTRATION, 201);
    oi_uuid agent_id;
    snprintf(agent_id, sizeof agent_id, "%s", text_at(&r, "agent_id"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "heartbeat_interval_seconds")),
                     30);
    fx_http_free(&r);

    /* _send_heartbeat(), three times: 200 each */
    char path[80];
    snprintf(path, sizeof path, "/agents/%s/heartbeat", agent_id);
    oi_time last = OI_TIME_NULL;
    for (int beat = 0; beat < 3; beat++) {
        set_last_seen(fx, agent_id, 30 * INT64_C(1000000)); /* the interval, passed */
        expect(&srv, &r, "POST", path, HELPER_HEARTBEAT, 200);
        fx_http_free(&r);
        get_agent(fx, agent_id, &a);
        assert_true(a.last_heartbeat > oi_time_now() - 5 * INT64_C(1000000));
        assert_true(last == OI_TIME_NULL || a.last_heartbeat >= last);
        last = a.last_heartbeat;
        assert_string_equal(a.status, "healthy");
    }

    /* unregister(): a POST with no body, 200 */
    snprintf(path, sizeof path, "/agents/%s/unregister", agent_id);
    expect(&srv, &r, "POST", path, NULL, 200);
    fx_http_free(&r);
    get_agent(fx, agent_id, &a);
    assert_string_equal(a.status, "unregistered");
    assert_int_equal(fx_count(fx, "agents"), 1);
    oi_agent_clear(&a);
    stop(&srv);
}

static void server_compat_go_refusals_change_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_uuid id;
    char beat[80];
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, id);
    snprintf(beat, sizeof beat, "/agents/%s/heartbeat", id);

    refused(fx, &srv, "POST", "/agents/register", "{\"name\": ", 400, "malformed");
    refused(fx, &srv, "POST", "/agents/register", NULL, 400, "malformed");
    refused(fx, &srv, "POST", "/agents/register", "[]", 422, "invalid");
    static const char *const invalid[] = {
        "{\"type\": \"cost\", \"host\": \"h\", \"port\": 1}",
        "{\"name\": \"\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1}",
        "{\"name\": \"n\", \"host\": \"h\", \"port\": 1}",
        "{\"name\": \"n\", \"type\": \"cost\", \"port\": 1}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\"}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 0}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 65536}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": \"8001\"}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 80.5}",
        "{\"name\": 7, \"type\": \"cost\", \"host\": \"h\", \"port\": 1}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1, "
        "\"capabilities\": [1]}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1, "
        "\"capabilities\": [{\"name\": \"x\"}]}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1, "
        "\"capabilities\": \"x\"}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1, "
        "\"metadata\": [1]}",
        "{\"name\": \"n\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1, \"version\": 1}",
        NULL};
    for (size_t i = 0; invalid[i]; i++)
        refused(fx, &srv, "POST", "/agents/register", invalid[i], 422, "invalid");

    refused(fx, &srv, "POST", beat, "{\"status\": ", 400, "malformed");
    refused(fx, &srv, "POST", beat, "{\"status\": 5}", 422, "invalid");
    refused(fx, &srv, "POST", beat, "{\"status\": \"bad\\nword\"}", 422, "invalid");
    refused(fx, &srv, "POST", beat,
            "{\"status\": \"a-status-that-is-much-longer-than-any-status-word-should-ever-be-"
            "really\"}", 422, "invalid");
    refused(fx, &srv, "POST", beat, "{\"metadata\": \"x\"}", 422, "invalid");

    /* Not JSON at all: 415, whatever the body says. */
    char *before = dump(fx);
    fx_request(&srv, &r, "POST", "/agents/register", HELPER_REGISTRATION, "text/plain", NULL);
    assert_status(&r, 415);
    fx_http_free(&r);
    fx_request(&srv, &r, "POST", beat, HELPER_HEARTBEAT, "text/plain", NULL);
    assert_status(&r, 415);
    fx_http_free(&r);
    char *after = dump(fx);
    assert_string_equal(after, before);
    free(before);
    free(after);
    stop(&srv);
}

/* ---- access control, both dialects ------------------------------------------------ */

static void make_token(oi_fixture *fx, oi_token_role role, const char *agent_id,
                       char token[OI_TOKEN_BUFSZ])
{
    assert_ok(fx, oi_token_create(fx->store, role, agent_id, "test", token, NULL));
}

static void server_compat_tokens_are_required(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_uuid cost, other;
    char admin[OI_TOKEN_BUFSZ], reader[OI_TOKEN_BUFSZ], agent[OI_TOKEN_BUFSZ];
    char beat[80], other_beat[80], other_unregister[80];
    fx_server_start(fx, &srv, NULL);
    go_register(&srv, HELPER_REGISTRATION, cost);
    go_register(&srv, "{\"name\": \"other\", \"type\": \"cost\", \"host\": \"h\", "
                      "\"port\": 1}", other);
    py_request(&srv, &r, "POST", "/api/v1/agents/register", RESOURCE_REGISTRATION, NULL);
    assert_status(&r, 200);
    fx_http_free(&r);
    make_token(fx, OI_TOKEN_ADMIN, NULL, admin);
    make_token(fx, OI_TOKEN_READ_ONLY, NULL, reader);
    make_token(fx, OI_TOKEN_AGENT, cost, agent);
    snprintf(beat, sizeof beat, "/agents/%s/heartbeat", cost);
    snprintf(other_beat, sizeof other_beat, "/agents/%s/heartbeat", other);
    snprintf(other_unregister, sizeof other_unregister, "/agents/%s/unregister", other);

    /* No token, now that tokens exist: 401 on every route. */
    refused(fx, &srv, "GET", "/agents", NULL, 401, "unauthorized");
    refused(fx, &srv, "POST", "/agents/register", HELPER_REGISTRATION, 401, "unauthorized");
    refused(fx, &srv, "POST", beat, HELPER_HEARTBEAT, 401, "unauthorized");
    refused(fx, &srv, "POST", "/api/v1/agents/heartbeat", RESOURCE_HEARTBEAT, 401,
            "unauthorized");
    refused_as(fx, &srv, "GET", "/agents", NULL, "oit_not-a-token", 401, "invalid_token");

    /* A read-only token reads and writes nothing. */
    py_request(&srv, &r, "GET", "/agents", NULL, reader);
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 3);
    fx_http_free(&r);
    refused_as(fx, &srv, "POST", beat, HELPER_HEARTBEAT, reader, 403, "forbidden");
    refused_as(fx, &srv, "POST", "/agents/register", HELPER_REGISTRATION, reader, 403,
               "forbidden");
    refused_as(fx, &srv, "DELETE", "/api/v1/agents/resource-agent-001", NULL, reader, 403,
               "forbidden");

    /* An agent token writes its own agent only. */
    py_request(&srv, &r, "POST", beat, HELPER_HEARTBEAT, agent);
    assert_status(&r, 200);
    fx_http_free(&r);
    py_request(&srv, &r, "POST", "/agents/register", HELPER_REGISTRATION, agent);
    assert_status(&r, 201);
    assert_string_equal(text_at(&r, "agent_id"), cost);
    fx_http_free(&r);
    refused_as(fx, &srv, "POST", other_beat, HELPER_HEARTBEAT, agent, 403, "forbidden");
    refused_as(fx, &srv, "POST", other_unregister, NULL, agent, 403, "forbidden");
    refused_as(fx, &srv, "POST", "/agents/register",
               "{\"name\": \"new\", \"type\": \"cost\", \"host\": \"h\", \"port\": 1}", agent,
               403, "forbidden");
    refused_as(fx, &srv, "POST", "/api/v1/agents/heartbeat", RESOURCE_HEARTBEAT, agent, 403,
               "forbidden");
    refused_as(fx, &srv, "POST", "/api/v1/agents/register", APPLICATION_REGISTRATION, agent,
               403, "forbidden");
    refused_as(fx, &srv, "DELETE", "/api/v1/agents/resource-agent-001", NULL, agent, 403,
               "forbidden");

    /* The admin does everything. */
    py_request(&srv, &r, "POST", "/api/v1/agents/heartbeat", RESOURCE_HEARTBEAT, admin);
    assert_status(&r, 200);
    fx_http_free(&r);
    stop(&srv);
}

/* ---- the Python agents' routes ---------------------------------------------------- */

static void server_compat_python_register(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);

    expect(&srv, &r, "POST", "/api/v1/agents/register", APPLICATION_REGISTRATION, 200);
    assert_string_equal(text_at(&r, "agent_id"), "application-agent-001");
    assert_string_equal(text_at(&r, "id"), APPLICATION_ID);
    assert_true(json_is_true(json_object_get(r.json, "created")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "heartbeat_interval_seconds")),
                     30);
    fx_http_free(&r);
    get_agent(fx, APPLICATION_ID, &a);
    assert_string_equal(a.name, "Application Agent");
    assert_string_equal(a.type, "application");
    assert_string_equal(a.endpoint, "http://0.0.0.0:8004");
    assert_string_equal(a.status, "active");
    assert_string_equal(a.agent_version, "1.0.0");
    assert_json_text(a.capabilities, "[\"quality_monitoring\", \"regression_detection\", "
                                     "\"validation_engine\", \"hallucination_detection\", "
                                     "\"ab_testing\"]");
    assert_true(a.last_heartbeat != OI_TIME_NULL);

    /* Again: the same agent (200, not created). */
    expect(&srv, &r, "POST", "/api/v1/agents/register", APPLICATION_REGISTRATION, 200);
    assert_string_equal(text_at(&r, "id"), APPLICATION_ID);
    assert_true(json_is_false(json_object_get(r.json, "created")));
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agents"), 1);

    /* No name: the agent_id is the name; an endpoint instead of host and port. */
    expect(&srv, &r, "POST", "/api/v1/agents/register", PERFORMANCE_REGISTRATION, 200);
    fx_http_free(&r);
    get_agent(fx, PERFORMANCE_ID, &a);
    assert_string_equal(a.name, "performance-agent-001");
    assert_string_equal(a.endpoint, "http://localhost:8002");
    assert_string_equal(a.status, "active");
    assert_json_text(a.metadata, "{\"environment\": \"development\", \"log_level\": \"INFO\"}");

    /* A UUID agent_id is the id (lower-cased); capabilities as objects. */
    expect(&srv, &r, "POST", "/api/v1/agents/register",
           "{\"agent_id\": \"6F9619FF-8B86-D011-B42D-00C04FC964FF\", \"name\": \"gpu-agent\", "
           "\"agent_type\": \"resource\", \"host\": \"gpu-1\", \"port\": 9400, "
           "\"capabilities\": [{\"name\": \"gpu_metrics\", \"version\": \"1.0\"}, \"scaling\"],"
           " \"status\": \"healthy\"}", 200);
    assert_string_equal(text_at(&r, "id"), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    fx_http_free(&r);
    get_agent(fx, "6f9619ff-8b86-d011-b42d-00c04fc964ff", &a);
    assert_string_equal(a.name, "gpu-agent");
    assert_json_text(a.capabilities, "[\"gpu_metrics\", \"scaling\"]");

    /* The Go dialect sees them too. */
    expect(&srv, &r, "GET", "/agents/" APPLICATION_ID, NULL, 200);
    assert_go_agent(r.json, APPLICATION_ID, "Application Agent", "application", "0.0.0.0", 8004,
                    "active");
    fx_http_free(&r);
    oi_agent_clear(&a);
    stop(&srv);
}

/* The names of an agent's metric rows, one a line, in name order. */
static char *metric_names(oi_fixture *fx, const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT metric_name FROM agent_metrics WHERE agent_id = '%s' "
             "ORDER BY metric_name", id);
    return fx_sql_text(fx, sql);
}

/* Whether the agent has a metric row name = value. */
static bool has_metric(oi_fixture *fx, const char *id, const char *name, double value)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM agent_metrics WHERE agent_id = '%s' AND "
             "metric_name = '%s' AND metric_value = %.17g", id, name, value);
    return fx_sql_int(fx, sql) == 1;
}

static void server_compat_python_heartbeat_records_metrics(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);
    expect(&srv, &r, "POST", "/api/v1/agents/register", RESOURCE_REGISTRATION, 200);
    fx_http_free(&r);
    set_last_seen(fx, RESOURCE_ID, 30 * INT64_C(1000000));

    expect(&srv, &r, "POST", "/api/v1/agents/heartbeat", RESOURCE_HEARTBEAT, 200);
    assert_true(json_is_true(json_object_get(r.json, "received")));
    assert_string_equal(text_at(&r, "agent_id"), "resource-agent-001");
    assert_int_equal(json_integer_value(json_object_get(r.json, "metrics_recorded")), 2);
    assert_int_equal(json_array_size(json_object_get(r.json, "metrics_skipped")), 0);
    fx_http_free(&r);
    get_agent(fx, RESOURCE_ID, &a);
    assert_true(a.last_heartbeat > oi_time_now() - 5 * INT64_C(1000000));
    char *names = metric_names(fx, RESOURCE_ID);
    assert_string_equal(names, "avg_response_time_ms\nrequests_processed\n");
    free(names);
    assert_true(has_metric(fx, RESOURCE_ID, "requests_processed", 0));
    /* Collected at the beat's time, the server's clock. */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM agent_metrics m JOIN agents a ON "
             "a.id = m.agent_id WHERE a.id = '%s' AND m.collection_timestamp = "
             "a.last_heartbeat", RESOURCE_ID);
    assert_int_equal(fx_sql_int(fx, sql), 2);

    /* Numbers are recorded, anything else is skipped and named. */
    expect(&srv, &r, "POST", "/api/v1/agents/heartbeat",
           "{\"agent_id\": \"resource-agent-001\", \"status\": \"degraded\", \"metrics\": "
           "{\"gpu_util\": 87.5, \"mode\": \"fast\", \"ok\": true, \"none\": null, "
           "\"nested\": {\"a\": 1}, \"queue\": 12}}", 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "metrics_recorded")), 2);
    json_t *skipped = json_object_get(r.json, "metrics_skipped");
    assert_int_equal(json_array_size(skipped), 4);
    assert_string_equal(json_string_value(json_array_get(skipped, 0)), "mode");
    assert_string_equal(json_string_value(json_array_get(skipped, 3)), "nested");
    fx_http_free(&r);
    names = metric_names(fx, RESOURCE_ID);
    assert_string_equal(names, "avg_response_time_ms\ngpu_util\nqueue\nrequests_processed\n");
    free(names);
    assert_true(has_metric(fx, RESOURCE_ID, "gpu_util", 87.5));
    assert_true(has_metric(fx, RESOURCE_ID, "queue", 12));
    get_agent(fx, RESOURCE_ID, &a);
    assert_string_equal(a.status, "degraded");

    /* The performance agent's beat: no metrics. */
    expect(&srv, &r, "POST", "/api/v1/agents/heartbeat",
           "{\"agent_id\": \"resource-agent-001\", \"timestamp\": "
           "\"2025-11-02T10:16:00.000001\", \"status\": \"healthy\"}", 200);
    fx_http_free(&r);
    get_agent(fx, RESOURCE_ID, &a);
    assert_string_equal(a.status, "healthy");
    assert_int_equal(fx_count(fx, "agent_metrics"), 4);
    oi_agent_clear(&a);
    stop(&srv);
}

/* A trigger that fails the insert of a metric named "poison", on either
 * backend: a failure after the heartbeat is written. */
static void poison_metrics(oi_fixture *fx)
{
    if (fx_is_pg()) {
        fx_sql_exec(fx, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN IF NEW.metric_name = 'poison' THEN RAISE EXCEPTION "
                        "'poisoned'; END IF; RETURN NEW; END $$");
        fx_sql_exec(fx, "CREATE TRIGGER poison BEFORE INSERT ON agent_metrics FOR EACH ROW "
                        "EXECUTE FUNCTION poison()");
    } else {
        fx_sql_exec(fx, "CREATE TRIGGER poison BEFORE INSERT ON agent_metrics WHEN "
                        "NEW.metric_name = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); "
                        "END");
    }
}

static void server_compat_python_refusals_change_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    fx_server_start(fx, &srv, NULL);
    expect(&srv, &r, "POST", "/api/v1/agents/register", RESOURCE_REGISTRATION, 200);
    fx_http_free(&r);
    set_last_seen(fx, RESOURCE_ID, 20 * INT64_C(1000000));

    /* The beat and its metrics are one transaction: all or nothing. */
    poison_metrics(fx);
    char *before = dump(fx);
    py_request(&srv, &r, "POST", "/api/v1/agents/heartbeat",
               "{\"agent_id\": \"resource-agent-001\", \"status\": \"degraded\", "
               "\"metrics\": {\"fine\": 1, \"poison\": 2}}", NULL);
    assert_true(r.status >= 400);
    fx_http_free(&r);
    char *after = dump(fx);
    assert_string_equal(after, before);
    free(before);
    free(after);

    static const char *const beats[] = {
        "{\"status\": \"active\"}",
        "{\"agent_id\": \"\", \"status\": \"active\"}",
        "{\"agent_id\": 7, \"status\": \"active\"}",
        "{\"agent_id\": \"resource-agent-001\", \"metrics\": [1, 2]}",
        "{\"agent_id\": \"resource-agent-001\", \"metrics\": 3}",
        "{\"agent_id\": \"resource-agent-001\", \"timestamp\": 1700000000}",
        "{\"agent_id\": \"resource-agent-001\", \"status\": \"unregistered\"}",
        "{\"agent_id\": \"resource-agent-001\", \"status\": [\"active\"]}",
        NULL};
    for (size_t i = 0; beats[i]; i++)
        refused(fx, &srv, "POST", "/api/v1/agents/heartbeat", beats[i], 422, "invalid");
    refused(fx, &srv, "POST", "/api/v1/agents/heartbeat", "{\"agent_id\": ", 400,
            "malformed");
    refused(fx, &srv, "POST", "/api/v1/agents/heartbeat", NULL, 400, "malformed");
    refused(fx, &srv, "POST", "/api/v1/agents/heartbeat",
            "{\"agent_id\": \"no-such-agent\", \"status\": \"active\"}", 404, "not_found");

    static const char *const registrations[] = {
        "{\"agent_type\": \"cost\"}",
        "{\"agent_id\": \"cost-9\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"host\": \"h\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"host\": \"h\", \"port\": \"80\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"capabilities\": "
        "[{\"version\": \"1\"}]}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"capabilities\": [[\"x\"]]}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"metadata\": \"x\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"status\": \"unregistered\"}",
        "{\"agent_id\": \"cost-9\", \"agent_type\": \"cost\", \"endpoint\": 80}",
        NULL};
    for (size_t i = 0; registrations[i]; i++)
        refused(fx, &srv, "POST", "/api/v1/agents/register", registrations[i], 422, "invalid");
    char long_id[400], body[512];
    memset(long_id, 'x', 300);
    long_id[300] = '\0';
    snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"agent_type\": \"cost\"}", long_id);
    refused(fx, &srv, "POST", "/api/v1/agents/register", body, 422, "invalid");

    /* An agent_id is one agent: (type, name) taken by another agent_id, or
     * this agent_id already another (type, name), is a conflict. */
    expect(&srv, &r, "POST", "/api/v1/agents/register",
           "{\"agent_id\": \"cost-1\", \"agent_type\": \"cost\", \"name\": \"shared\"}", 200);
    fx_http_free(&r);
    refused(fx, &srv, "POST", "/api/v1/agents/register",
            "{\"agent_id\": \"cost-2\", \"agent_type\": \"cost\", \"name\": \"shared\"}", 409,
            "exists");
    refused(fx, &srv, "POST", "/api/v1/agents/register",
            "{\"agent_id\": \"cost-1\", \"agent_type\": \"cost\", \"name\": \"renamed\"}", 409,
            "exists");

    before = dump(fx);
    fx_request(&srv, &r, "POST", "/api/v1/agents/register", RESOURCE_REGISTRATION,
               "text/plain", NULL);
    assert_status(&r, 415);
    fx_http_free(&r);
    after = dump(fx);
    assert_string_equal(after, before);
    free(before);
    free(after);
    stop(&srv);
}

static void server_compat_python_beat_by_path_and_delete(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_agent a = OI_AGENT_INIT;
    fx_server_start(fx, &srv, NULL);
    expect(&srv, &r, "POST", "/api/v1/agents/register", APPLICATION_REGISTRATION, 200);
    fx_http_free(&r);
    expect(&srv, &r, "POST", "/api/v1/agents/heartbeat",
           "{\"agent_id\": \"application-agent-001\", \"metrics\": {\"score\": 0.93}}", 200);
    fx_http_free(&r);
    set_last_seen(fx, APPLICATION_ID, 30 * INT64_C(1000000));

    /* send_heartbeat(): {"status": "active"} to its own path */
    expect(&srv, &r, "POST", "/api/v1/agents/application-agent-001/heartbeat",
           "{\"status\": \"active\"}", 200);
    assert_string_equal(text_at(&r, "id"), APPLICATION_ID);
    fx_http_free(&r);
    get_agent(fx, APPLICATION_ID, &a);
    assert_true(a.last_heartbeat > oi_time_now() - 5 * INT64_C(1000000));

    /* deregister(): DELETE, 200; the agent and its metrics are kept. */
    expect(&srv, &r, "DELETE", "/api/v1/agents/application-agent-001", NULL, 200);
    assert_string_equal(text_at(&r, "status"), "unregistered");
    fx_http_free(&r);
    get_agent(fx, APPLICATION_ID, &a);
    assert_string_equal(a.status, "unregistered");
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);

    refused(fx, &srv, "POST", "/api/v1/agents/application-agent-001/heartbeat",
            "{\"status\": \"active\"}", 404, "not_found");
    refused(fx, &srv, "POST", "/api/v1/agents/heartbeat",
            "{\"agent_id\": \"application-agent-001\"}", 404, "not_found");
    refused(fx, &srv, "DELETE", "/api/v1/agents/application-agent-001", NULL, 404,
            "not_found");
    refused(fx, &srv, "DELETE", "/api/v1/agents/no-such-agent", NULL, 404, "not_found");
    refused(fx, &srv, "POST", "/api/v1/agents/no-such-agent/heartbeat", NULL, 404,
            "not_found");
    go_not_found(fx, &srv, "GET", "/agents/" APPLICATION_ID, NULL);

    /* Registering again brings it back, active. */
    expect(&srv, &r, "POST", "/api/v1/agents/register",
           "{\"agent_id\": \"application-agent-001\", \"agent_type\": \"application\", "
           "\"agent_name\": \"Application Agent\"}", 200);
    assert_true(json_is_false(json_object_get(r.json, "created")));
    fx_http_free(&r);
    get_agent(fx, APPLICATION_ID, &a);
    assert_string_equal(a.status, "active");
    assert_string_equal(a.endpoint, "http://0.0.0.0:8004"); /* left out: kept */
    oi_agent_clear(&a);
    stop(&srv);
}

int run_server_compat_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(server_compat_go_register_is_idempotent, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_list_and_show, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_unreachable_after_45s, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_heartbeat, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_unknown_agent_is_404, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_unregister_keeps_the_agent, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_registration_helper, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_go_refusals_change_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_tokens_are_required, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_python_register, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_python_heartbeat_records_metrics,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_python_refusals_change_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_compat_python_beat_by_path_and_delete, fx_setup,
                                        fx_teardown),
    };
    return fx_run_group("server_compat", tests);
}
