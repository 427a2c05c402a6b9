/*
 * test_server_data.c - the data routes of `optiinfra serve` over real HTTP:
 * configs (routes_configs.c), capabilities (routes_capabilities.c), events
 * and recommendations (routes_orchestration.c).
 *
 * Each test seeds a fresh database with the library (the spec's seed data,
 * plus one sensitive config), starts the server on it (http.h) and stops
 * it, checking a graceful stop.  A success is compared with what the CLI
 * prints with --json for the same record: the parsed JSON must be equal,
 * so the service and the tool cannot drift apart.  Every refusal is
 * checked for its status and error code, and for having written nothing:
 * every data table is dumped around the library before and after.  Tokens
 * are made with `optiinfra token create`, which prints the token alone on
 * its last line; with no token in the store a loopback caller is admin.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACME_ID "550e8400-e29b-41d4-a716-446655440000"
#define ACME_EMAIL "platform@acme-ai.example"
#define COST_ID "550e8400-e29b-41d4-a716-446655440101"
#define PERF_ID "550e8400-e29b-41d4-a716-446655440102"
#define REC_EXECUTING "550e8400-e29b-41d4-a716-446655440301"
#define REC_PENDING "550e8400-e29b-41d4-a716-446655440302"
#define REC_PENDING_2 "550e8400-e29b-41d4-a716-446655440303"
#define UNKNOWN_ID "00000000-0000-4000-8000-000000000000"
#define SECRET "zq-s3cr3t-value"

#define COST_CONFIGS "/v1/agents/" COST_ID "/configs"
#define THRESHOLD COST_CONFIGS "/cost_threshold_usd"
#define COST_CAPS "/v1/agents/" COST_ID "/capabilities"
#define ACME_EVENTS "/v1/customers/" ACME_EMAIL "/events"
#define REC_PATH(id, what) "/v1/recommendations/" id what

/* ---- fixtures ----------------------------------------------------------------- */

/* The spec's seed data and a sensitive config of the Cost Optimizer. */
static void seed(oi_fixture *fx)
{
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
    assert_ok(fx, oi_config_set(fx->store, COST_ID, "api_token", SECRET, "string",
                                "the provider's key", OI_SENSITIVE_YES, NULL));
}

static void seed_and_start(oi_fixture *fx, fx_server *srv)
{
    seed(fx);
    fx_server_start(fx, srv, NULL);
}

static void stop(fx_server *srv)
{
    assert_int_equal(fx_server_stop(srv), 0);
}

/* The access log so far does not hold text (a secret, a token). */
static void assert_log_without(const fx_server *srv, const char *text)
{
    char *log = fx_server_log(srv);
    assert_not_contains(log, text);
    free(log);
}

typedef struct tokens {
    char admin[128], read_only[128], cost_agent[128];
} tokens;

static void make_tokens(oi_fixture *fx, tokens *t)
{
    fx_make_token(fx, "--admin", NULL, t->admin, sizeof t->admin);
    fx_make_token(fx, "--read-only", NULL, t->read_only, sizeof t->read_only);
    fx_make_token(fx, "--agent", "Cost Optimizer", t->cost_agent, sizeof t->cost_agent);
}

/* ---- requests ----------------------------------------------------------------- */

/* A request: a NULL token sends none; a NULL content type with a body is JSON. */
typedef struct call {
    const char *method, *path, *body, *token, *content_type;
} call;

static void perform(const fx_server *srv, fx_http *r, call c)
{
    char auth[200];
    const char *headers[] = {auth, NULL};
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c.token ? c.token : "");
    fx_request(srv, r, c.method, c.path, c.body, c.content_type, c.token ? headers : NULL);
}

#define GET(path_) ((call){.method = "GET", .path = (path_)})
#define GET_AS(path_, token_) ((call){.method = "GET", .path = (path_), .token = (token_)})
#define SEND(method_, path_, body_) ((call){.method = (method_), .path = (path_), .body = (body_)})
#define SEND_AS(method_, path_, body_, token_)                                          \
    ((call){.method = (method_), .path = (path_), .body = (body_), .token = (token_)})
#define SEND_TYPED(method_, path_, body_, type_)                                        \
    ((call){.method = (method_), .path = (path_), .body = (body_), .content_type = (type_)})

/* Send c and assert the status; the answer stays in *r.  Failures name the
 * caller's line. */
#define expect(srv, r, c, status) expect_at((srv), (r), (c), (status), __FILE__, __LINE__)

static void expect_at(const fx_server *srv, fx_http *r, call c, long status, const char *file,
                      int line)
{
    perform(srv, r, c);
    fx_assert_status(r, status, file, line);
    if (r->transport_error) {
        print_error("%s %s: the response was cut short\n", c.method, c.path);
        _fail(file, line);
    }
}

static const char *const data_tables[] = {
    "customers", "agents", "events", "recommendations", "approvals", "optimizations",
    "agent_configs", "agent_states", "agent_capabilities", "agent_metrics", NULL
};

/* PostgreSQL: every row as its text, in one query (a connection there
 * costs more than the reading, and each refusal is checked with two dumps). */
static char *dump_pg(oi_fixture *fx)
{
    char sql[2048];
    size_t len = 0;
    for (size_t i = 0; data_tables[i]; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%sSELECT '%s', t::text FROM %s t",
                                i ? " UNION ALL " : "", data_tables[i], data_tables[i]);
    snprintf(sql + len, sizeof sql - len, " ORDER BY 1, 2");
    return fx_sql_text(fx, sql);
}

/* SQLite: table by table, every column. */
static char *dump_sqlite(oi_fixture *fx)
{
    char *all = strdup("");
    for (size_t i = 0; data_tables[i]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT '%s', * FROM %s ORDER BY id", data_tables[i],
                 data_tables[i]);
        char *rows = fx_sql_text(fx, sql);
        size_t have = strlen(all), add = strlen(rows);
        all = realloc(all, have + add + 1);
        assert_non_null(all);
        memcpy(all + have, rows, add + 1);
        free(rows);
    }
    return all;
}

/* Every data table, row by row, read around the library. */
static char *dump_data(oi_fixture *fx)
{
    return fx_is_pg() ? dump_pg(fx) : dump_sqlite(fx);
}

/* Send c: it must be refused with status and code, its message must
 * contain says (if not NULL), and the database must be as before. */
#define refused(fx, srv, c, status, code, says)                                         \
    refused_at((fx), (srv), (c), (status), (code), (says), __FILE__, __LINE__)

static void refused_at(oi_fixture *fx, const fx_server *srv, call c, long status,
                       const char *code, const char *says, const char *file, int line)
{
    fx_http r;
    char *before = dump_data(fx);
    expect_at(srv, &r, c, status, file, line);
    const char *message = json_string_value(fx_json_at(r.json, "error.message"));
    bool answered = strcmp(fx_http_error_code(&r), code) == 0 &&
                    (!says || (message && strstr(message, says)));
    char *after = dump_data(fx);
    bool unchanged = strcmp(before, after) == 0;
    if (!answered)
        print_error("%s %s: expected code %s saying \"%s\"; got %s", c.method, c.path, code,
                    says ? says : "", r.body);
    if (!unchanged)
        print_error("%s %s: the database changed\n--- before\n%s--- after\n%s", c.method,
                    c.path, before, after);
    free(before);
    free(after);
    fx_http_free(&r);
    if (!answered || !unchanged)
        _fail(file, line);
}

/* ---- the CLI's --json --------------------------------------------------------- */

/* The parsed standard output of the CLI run with these arguments. */
static json_t *cli_json_argv(oi_fixture *fx, const char *const *args, size_t n)
{
    fx_run run;
    fx_cli_argv(fx, &run, true, args, n);
    if (run.status != 0)
        fail_msg("optiinfra %s ...: exit %d: %s", args[0], run.status, run.err);
    json_t *v = fx_json(run.out);
    fx_run_free(&run);
    return v;
}

#define CLI_JSON(fx, ...)                                                           \
    cli_json_argv(fx, (const char *const[]){__VA_ARGS__, "--json"},                 \
                  sizeof((const char *const[]){__VA_ARGS__, "--json"}) / sizeof(char *))

#define assert_json_equal(got, want) json_equal_or_fail((got), (want), __FILE__, __LINE__)

static void json_equal_or_fail(const json_t *got, const json_t *want, const char *file,
                               int line)
{
    if (got && want && json_equal(got, want))
        return;
    char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char *w = want ? json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    print_error("JSON differs\n  got:  %s\n  want: %s\n", g ? g : "(none)", w ? w : "(none)");
    free(g);
    free(w);
    _fail(file, line);
}

/* Member `name` of the answer equals the CLI's list (which it takes). */
static void assert_list_is_cli(const fx_http *r, const char *name, json_t *cli)
{
    assert_json_equal(json_object_get(r->json, name), cli);
    json_decref(cli);
}

/* The object of list whose "id" is id, or NULL. */
static json_t *by_id(json_t *list, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
        if (strcmp(json_string_value(json_object_get(item, "id")), id) == 0)
            return item;
    return NULL;
}

/* The config value the database holds, around the library; "" if none. */
static char *stored_config(oi_fixture *fx, const char *key)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT config_value, config_type, description, CASE WHEN "
             "is_sensitive THEN 'secret' ELSE 'plain' END FROM agent_configs "
             "WHERE agent_id = '%s' AND config_key = '%s'", COST_ID, key);
    return fx_sql_text(fx, sql);
}

static void assert_stored_config(oi_fixture *fx, const char *key, const char *want)
{
    char *got = stored_config(fx, key);
    assert_string_equal(got, want);
    free(got);
}

/* ---- configs ------------------------------------------------------------------ */

static void server_data_configs_match_cli(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r, GET(COST_CONFIGS), 200);
    assert_list_is_cli(&r, "configs", CLI_JSON(fx, "config", "list", COST_ID));
    assert_int_equal(json_array_size(json_object_get(r.json, "configs")), 4);
    assert_not_contains(r.body, SECRET);
    assert_contains(r.body, "\"value\":\"********\"");
    fx_http_free(&r);

    expect(&srv, &r, GET(COST_CONFIGS "?show_secrets=true"), 200);
    assert_list_is_cli(&r, "configs",
                       CLI_JSON(fx, "config", "list", COST_ID, "--show-secrets"));
    assert_contains(r.body, SECRET);
    fx_http_free(&r);

    /* by name, percent-encoded, as the CLI's AGENT argument */
    expect(&srv, &r, GET("/v1/agents/Cost%20Optimizer/configs/api_token"), 200);
    json_t *cli = CLI_JSON(fx, "config", "get", "Cost Optimizer", "api_token");
    assert_json_equal(r.json, cli);
    json_decref(cli);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "********");
    fx_http_free(&r);

    expect(&srv, &r, GET(COST_CONFIGS "/api_token?show_secrets=true"), 200);
    cli = CLI_JSON(fx, "config", "get", COST_ID, "api_token", "--show-secrets");
    assert_json_equal(r.json, cli);
    json_decref(cli);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), SECRET);
    fx_http_free(&r);

    expect(&srv, &r, GET(COST_CONFIGS "/cost_threshold_usd?show_secrets=false"), 200);
    cli = CLI_JSON(fx, "config", "get", COST_ID, "cost_threshold_usd");
    assert_json_equal(r.json, cli);
    json_decref(cli);
    fx_http_free(&r);
    stop(&srv);
}

static void server_data_configs_read_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    seed_and_start(fx, &srv);
    refused(fx, &srv, GET("/v1/agents/" UNKNOWN_ID "/configs"), 404, "not_found", UNKNOWN_ID);
    refused(fx, &srv, GET("/v1/agents/Nobody/configs/x"), 404, "not_found", "Nobody");
    refused(fx, &srv, GET(COST_CONFIGS "/no_such_key"), 404, "not_found", "no_such_key");
    refused(fx, &srv, GET(COST_CONFIGS "?show_secrets=perhaps"), 422, "invalid", "show_secrets");
    stop(&srv);
}

static void server_data_configs_masked_by_token(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    tokens t;
    seed(fx);
    make_tokens(fx, &t);
    fx_server_start(fx, &srv, NULL);

    const char *const readers[] = {t.read_only, t.cost_agent, t.admin};
    for (size_t i = 0; i < 3; i++) {
        expect(&srv, &r, GET_AS(COST_CONFIGS, readers[i]), 200);
        assert_not_contains(r.body, SECRET);
        assert_contains(r.body, "\"value\":\"********\"");
        fx_http_free(&r);
        expect(&srv, &r, GET_AS(COST_CONFIGS "/api_token", readers[i]), 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "value")), "********");
        fx_http_free(&r);
    }
    refused(fx, &srv, GET_AS(COST_CONFIGS "?show_secrets=true", t.read_only),
            403, "forbidden", "admin");
    refused(fx, &srv, GET_AS(COST_CONFIGS "/api_token?show_secrets=true", t.cost_agent), 403,
            "forbidden", "admin");
    refused(fx, &srv, GET(COST_CONFIGS "/api_token"), 401, "unauthorized", NULL);

    expect(&srv, &r, GET_AS(COST_CONFIGS "/api_token?show_secrets=true", t.admin), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), SECRET);
    fx_http_free(&r);
    expect(&srv, &r, GET_AS(COST_CONFIGS "?show_secrets=true", t.admin), 200);
    assert_contains(r.body, SECRET);
    fx_http_free(&r);

    /* writes are an admin's */
    refused(fx, &srv, SEND_AS("PUT", COST_CONFIGS "/api_token", "{\"value\":\"x\"}", t.read_only),
            403, "forbidden", NULL);
    refused(fx, &srv, SEND_AS("PUT", COST_CONFIGS "/api_token", "{\"value\":\"x\"}", t.cost_agent),
            403, "forbidden", NULL);
    refused(fx, &srv, SEND_AS("DELETE", COST_CONFIGS "/api_token", NULL, t.read_only), 403,
            "forbidden", NULL);
    refused(fx, &srv, SEND_AS("DELETE", COST_CONFIGS "/api_token", NULL, t.cost_agent), 403,
            "forbidden", NULL);
    expect(&srv, &r, SEND_AS("PUT", COST_CONFIGS "/api_token", "{\"value\":\"rotated\"}", t.admin),
           200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "********");
    fx_http_free(&r);
    assert_log_without(&srv, SECRET);
    assert_log_without(&srv, t.admin);
    stop(&srv);
}

static void server_data_config_put(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    /* a new key: 201, the CLI's shape */
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/max_spend",
                "{\"value\": 1500, \"type\": \"number\", \"description\": \"cap\"}"), 201);
    json_t *cli = CLI_JSON(fx, "config", "get", COST_ID, "max_spend");
    assert_json_equal(r.json, cli);
    json_decref(cli);
    fx_http_free(&r);
    assert_stored_config(fx, "max_spend", "1500|number|cap|plain\n");

    /* an update keeps the type and the description: 200 */
    expect(&srv, &r, SEND("PUT", COST_CONFIGS "/max_spend", "{\"value\": \"1200\"}"), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "type")), "number");
    fx_http_free(&r);
    assert_stored_config(fx, "max_spend", "1200|number|cap|plain\n");
    expect(&srv, &r, SEND("PUT", COST_CONFIGS "/max_spend", "{\"value\": 0.1}"), 200);
    fx_http_free(&r);
    assert_stored_config(fx, "max_spend", "0.1|number|cap|plain\n");
    expect(&srv, &r, SEND("PUT", COST_CONFIGS "/max_spend", "{\"value\": 1.2e3}"), 200);
    fx_http_free(&r);
    assert_stored_config(fx, "max_spend", "1200|number|cap|plain\n");

    /* 3.0 is 3 in JSON: an integer config takes it */
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/retries", "{\"value\": 3.0, \"type\": \"integer\"}"), 201);
    fx_http_free(&r);
    assert_stored_config(fx, "retries", "3|integer||plain\n");

    /* booleans and JSON as their JSON text */
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/dry_run", "{\"value\": true, \"type\": \"boolean\"}"), 201);
    fx_http_free(&r);
    assert_stored_config(fx, "dry_run", "true|boolean||plain\n");
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/regions",
                "{\"value\": {\"eu\": [1, 0.1]}, \"type\": \"json\"}"), 201);
    fx_http_free(&r);
    assert_stored_config(fx, "regions", "{\"eu\":[1,0.1]}|json||plain\n");

    /* sensitive: masked in the answer unless asked for; the flag is kept */
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/db_password",
                "{\"value\": \"" SECRET "\", \"sensitive\": true}"), 201);
    assert_not_contains(r.body, SECRET);
    assert_true(json_is_true(json_object_get(r.json, "is_sensitive")));
    fx_http_free(&r);
    assert_stored_config(fx, "db_password", SECRET "|string||secret\n");
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/db_password?show_secrets=true",
                "{\"value\": \"new-" SECRET "\"}"), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "new-" SECRET);
    fx_http_free(&r);
    assert_stored_config(fx, "db_password", "new-" SECRET "|string||secret\n");
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/db_password", "{\"value\": \"plain\", \"sensitive\": false}"),
           200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "plain");
    fx_http_free(&r);
    assert_stored_config(fx, "db_password", "plain|string||plain\n");

    /* a key with a slash is the rest of the path */
    expect(&srv, &r, SEND("PUT", COST_CONFIGS "/limits/gpu", "{\"value\": \"8\"}"), 201);
    assert_string_equal(json_string_value(json_object_get(r.json, "key")), "limits/gpu");
    fx_http_free(&r);
    expect(&srv, &r, GET(COST_CONFIGS "/limits/gpu"), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "8");
    fx_http_free(&r);
    assert_log_without(&srv, SECRET);
    stop(&srv);
}

static void server_data_config_put_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    seed_and_start(fx, &srv);
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"lots-of-money\"}"), 422, "invalid",
            "cost_threshold_usd");
    /* the library's message never holds the value, a secret or not */
    fx_http r;
    expect(&srv, &r,
           SEND("PUT", COST_CONFIGS "/api_token",
                "{\"value\": \"" SECRET "\", \"type\": \"integer\"}"), 422);
    assert_not_contains(r.body, SECRET);
    fx_http_free(&r);
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"1\", \"type\": \"decimal\"}"), 422,
            "invalid", "decimal");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"type\": \"number\"}"), 422, "invalid", "value");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": null}"), 422, "invalid", "value");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"1\", \"type\": 5}"), 422, "invalid",
            "type");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"1\", \"description\": []}"), 422,
            "invalid", "description");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"1\", \"sensitive\": \"yes\"}"), 422,
            "invalid", "sensitive");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": \"1\", \"sensitve\": true}"), 422,
            "invalid", "sensitve");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "[\"1\"]"), 422, "invalid", "object");
    refused(fx, &srv, SEND("PUT", THRESHOLD, "{\"value\": "), 400, "malformed", NULL);
    refused(fx, &srv, SEND("PUT", THRESHOLD, ""), 400, "malformed", NULL);
    refused(fx, &srv, SEND_TYPED("PUT", THRESHOLD, "value=1", "application/x-www-form-urlencoded"),
            415, "unsupported_media_type", NULL);
    refused(fx, &srv, SEND("PUT", THRESHOLD "?show_secrets=maybe", "{\"value\": \"1\"}"), 422,
            "invalid", "show_secrets");
    refused(fx, &srv, SEND("PUT", "/v1/agents/" UNKNOWN_ID "/configs/x", "{\"value\": \"1\"}"),
            404, "not_found", NULL);
    stop(&srv);
}

static void server_data_config_delete(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);
    expect(&srv, &r, SEND("DELETE", COST_CONFIGS "/api_token", NULL), 200);
    json_t *want = json_pack("{s:s, s:s, s:b}", "agent_id", COST_ID, "key", "api_token",
                             "deleted", 1);
    assert_json_equal(r.json, want);
    json_decref(want);
    fx_http_free(&r);
    assert_stored_config(fx, "api_token", "");
    assert_int_equal(fx_count(fx, "agent_configs"), 12);

    refused(fx, &srv, SEND("DELETE", COST_CONFIGS "/api_token", NULL), 404, "not_found",
            "api_token");
    refused(fx, &srv, GET(COST_CONFIGS "/api_token"), 404, "not_found", NULL);
    refused(fx, &srv, SEND("DELETE", "/v1/agents/" UNKNOWN_ID "/configs/cost_threshold_usd", NULL),
            404, "not_found", NULL);
    stop(&srv);
}

/* ---- capabilities ------------------------------------------------------------- */

/* Each agent of a capable-agents list without heartbeat_age_seconds, which
 * depends on the moment it was computed. */
static void drop_ages(json_t *list)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
        json_object_del(item, "heartbeat_age_seconds");
}

static void server_data_capabilities_match_cli(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r, GET(COST_CAPS), 200);
    assert_list_is_cli(&r, "capabilities", CLI_JSON(fx, "capability", "list", COST_ID));
    assert_int_equal(json_array_size(json_object_get(r.json, "capabilities")), 3);
    fx_http_free(&r);

    expect(&srv, &r, GET("/v1/agents/Cost%20Optimizer/capabilities/gpu_cost_analysis/newest"),
           200);
    json_t *cli = CLI_JSON(fx, "capability", "newest", COST_ID, "gpu_cost_analysis");
    assert_json_equal(r.json, cli);
    json_decref(cli);
    fx_http_free(&r);

    expect(&srv, &r, GET("/v1/capabilities/kv_cache_tuning/agents"), 200);
    json_t *agents = json_object_get(r.json, "agents");
    assert_int_equal(json_array_size(agents), 1);
    assert_non_null(json_object_get(json_array_get(agents, 0), "heartbeat_age_seconds"));
    cli = CLI_JSON(fx, "capability", "agents", "kv_cache_tuning");
    drop_ages(agents);
    drop_ages(cli);
    assert_json_equal(agents, cli);
    json_decref(cli);
    fx_http_free(&r);

    expect(&srv, &r, GET("/v1/capabilities/teleportation/agents"), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "agents")), 0);
    fx_http_free(&r);

    refused(fx, &srv, GET("/v1/agents/" UNKNOWN_ID "/capabilities"), 404, "not_found", NULL);
    /* only a disabled version: no newest, as the CLI's exit 4 */
    refused(fx, &srv, GET(COST_CAPS "/spot_instance_recommendation/newest"), 404,
            "not_found", "spot_instance_recommendation");
    stop(&srv);
}

static void server_data_capability_writes(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r,
           SEND("POST", COST_CAPS,
                "{\"name\": \"spot_migration\", \"version\": \"1.2.0\", "
                "\"description\": \"moves batch work to spot\", "
                "\"parameters\": {\"max_interruption_rate\": 0.05}}"),
           201);
    json_t *list = CLI_JSON(fx, "capability", "list", COST_ID);
    const char *id = json_string_value(json_object_get(r.json, "id"));
    assert_json_equal(r.json, by_id(list, id));
    json_decref(list);
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 12);

    expect(&srv, &r, SEND("POST", COST_CAPS "/spot_migration/1.2.0/disable", NULL), 200);
    assert_true(json_is_false(json_object_get(r.json, "enabled")));
    list = CLI_JSON(fx, "capability", "list", COST_ID);
    /* the answer is the UPDATE's row, read before the triggers give it its revision */
    json_object_del(r.json, "revision");
    json_object_del(by_id(list, json_string_value(json_object_get(r.json, "id"))), "revision");
    assert_json_equal(r.json, by_id(list, json_string_value(json_object_get(r.json, "id"))));
    json_decref(list);
    fx_http_free(&r);
    refused(fx, &srv, GET(COST_CAPS "/spot_migration/newest"), 404, "not_found", NULL);
    expect(&srv, &r, SEND("POST", COST_CAPS "/spot_migration/1.2.0/enable", NULL), 200);
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    fx_http_free(&r);
    expect(&srv, &r, GET(COST_CAPS "/spot_migration/newest"), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "version")), "1.2.0");
    fx_http_free(&r);

    refused(fx, &srv,
            SEND("POST", COST_CAPS, "{\"name\": \"spot_migration\", \"version\": \"1.2.0\"}"),
            409, "exists", NULL);
    refused(fx, &srv, SEND("POST", COST_CAPS, "{\"name\": \"x\", \"version\": \"1.2\"}"), 422,
            "invalid", NULL);
    refused(fx, &srv,
            SEND("POST", COST_CAPS,
                 "{\"name\": \"x\", \"version\": \"1.0.0\", \"parameters\": [1]}"),
            422, "invalid", "parameters");
    refused(fx, &srv, SEND("POST", COST_CAPS, "{\"name\": 7, \"version\": \"1.0.0\"}"), 422,
            "invalid", "name");
    refused(fx, &srv, SEND("POST", COST_CAPS, "{\"name\": \"x\""), 400, "malformed", NULL);
    refused(fx, &srv, SEND_TYPED("POST", COST_CAPS, "name=x", "text/plain"), 415,
            "unsupported_media_type", NULL);
    refused(fx, &srv,
            SEND("POST", "/v1/agents/" UNKNOWN_ID "/capabilities",
                 "{\"name\": \"x\", \"version\": \"1.0.0\"}"), 404, "not_found", NULL);
    refused(fx, &srv, SEND("POST", COST_CAPS "/spot_migration/9.9.9/enable", NULL), 404,
            "not_found", "9.9.9");
    refused(fx, &srv, SEND("POST", COST_CAPS "/teleportation/1.0.0/disable", NULL), 404,
            "not_found", NULL);
    stop(&srv);
}

static void server_data_capability_tokens(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    tokens t;
    seed(fx);
    make_tokens(fx, &t);
    fx_server_start(fx, &srv, NULL);
    const char *perf_caps = "/v1/agents/" PERF_ID "/capabilities";
    const char *body = "{\"name\": \"x\", \"version\": \"1.0.0\"}";

    refused(fx, &srv, SEND_AS("POST", perf_caps, body, t.cost_agent), 403, "forbidden", NULL);
    refused(fx, &srv,
            SEND_AS("POST", "/v1/agents/" PERF_ID "/capabilities/kv_cache_tuning/2.1.0/disable",
                    NULL, t.cost_agent),
            403, "forbidden", NULL);
    refused(fx, &srv, SEND_AS("POST", COST_CAPS, body, t.read_only), 403, "forbidden", NULL);
    refused(fx, &srv,
            SEND_AS("POST", COST_CAPS "/gpu_cost_analysis/1.2.0/disable", NULL, t.read_only), 403,
            "forbidden", NULL);
    expect(&srv, &r, GET_AS(COST_CAPS, t.read_only), 200);
    fx_http_free(&r);
    expect(&srv, &r, SEND_AS("POST", COST_CAPS, body, t.cost_agent), 201);
    fx_http_free(&r);
    expect(&srv, &r, SEND_AS("POST", COST_CAPS "/x/1.0.0/disable", NULL, t.cost_agent), 200);
    fx_http_free(&r);
    expect(&srv, &r, SEND_AS("POST", perf_caps, body, t.admin), 201);
    fx_http_free(&r);
    stop(&srv);
}

/* ---- events ------------------------------------------------------------------- */

static void server_data_events_match_cli(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r,
           SEND("POST", "/v1/events",
                "{\"customer\": \"" ACME_EMAIL "\", \"type\": \"cost_spike\", "
                "\"agent\": \"Cost Optimizer\", \"severity\": \"warning\", "
                "\"data\": {\"increase_percent\": 42}}"),
           201);
    json_t *list = CLI_JSON(fx, "events", ACME_ID);
    assert_json_equal(r.json, by_id(list, json_string_value(json_object_get(r.json, "id"))));
    json_decref(list);
    assert_string_equal(json_string_value(json_object_get(r.json, "agent_id")), COST_ID);
    fx_http_free(&r);

    /* the defaults: no agent, info, {} */
    expect(&srv, &r,
           SEND("POST", "/v1/events", "{\"customer\": \"" ACME_ID "\", \"type\": \"login\"}"), 201);
    assert_true(json_is_null(json_object_get(r.json, "agent_id")));
    assert_string_equal(json_string_value(json_object_get(r.json, "severity")), "info");
    assert_int_equal(json_object_size(json_object_get(r.json, "data")), 0);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "events"), 5);

    expect(&srv, &r, GET(ACME_EVENTS), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "events")), 4);
    assert_list_is_cli(&r, "events", CLI_JSON(fx, "events", ACME_EMAIL));
    fx_http_free(&r);

    expect(&srv, &r, GET(ACME_EVENTS "?severity=warning&since=1h&limit=5"), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "events")), 3);
    assert_list_is_cli(&r, "events", CLI_JSON(fx, "events", ACME_EMAIL, "--severity",
                                              "warning", "--since", "1h", "--limit", "5"));
    fx_http_free(&r);

    expect(&srv, &r, GET(ACME_EVENTS "?type=login&limit=1"), 200);
    assert_list_is_cli(&r, "events", CLI_JSON(fx, "events", ACME_EMAIL, "--type", "login",
                                              "--limit", "1"));
    fx_http_free(&r);

    expect(&srv, &r, GET(ACME_EVENTS "?limit=2"), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "events")), 2);
    fx_http_free(&r);
    stop(&srv);
}

static void server_data_event_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    seed_and_start(fx, &srv);
#define EVENT(rest) "{\"customer\": \"" ACME_EMAIL "\", \"type\": \"t\"" rest "}"
    refused(fx, &srv,
            SEND("POST", "/v1/events", "{\"customer\": \"nobody@example.com\", \"type\": \"t\"}"),
            404, "not_found", "nobody@example.com");
    refused(fx, &srv, SEND("POST", "/v1/events", EVENT(", \"agent\": \"Nobody\"")), 404,
            "not_found", "Nobody");
    refused(fx, &srv, SEND("POST", "/v1/events", EVENT(", \"severity\": \"loud\"")), 422,
            "invalid", "loud");
    refused(fx, &srv, SEND("POST", "/v1/events", EVENT(", \"data\": [1]")), 422, "invalid", NULL);
    refused(fx, &srv, SEND("POST", "/v1/events", EVENT(", \"agent\": 5")), 422, "invalid", "agent");
    refused(fx, &srv, SEND("POST", "/v1/events", "{\"customer\": \"" ACME_EMAIL "\"}"), 422,
            "invalid", "type");
    refused(fx, &srv, SEND("POST", "/v1/events", "{\"type\": \"t\"}"), 422, "invalid", "customer");
    refused(fx, &srv, SEND("POST", "/v1/events", "{\"customer\": "), 400, "malformed", NULL);
    refused(fx, &srv, SEND_TYPED("POST", "/v1/events", "customer=x", "text/plain"), 415,
            "unsupported_media_type", NULL);
#undef EVENT
    refused(fx, &srv, GET("/v1/customers/nobody@example.com/events"), 404,
            "not_found", "nobody@example.com");
    refused(fx, &srv, GET(ACME_EVENTS "?severity=loud"), 422, "invalid", "loud");
    refused(fx, &srv, GET(ACME_EVENTS "?limit=0"), 422, "invalid", "limit");
    refused(fx, &srv, GET(ACME_EVENTS "?limit=ten"), 422, "invalid", "limit");
    refused(fx, &srv, GET(ACME_EVENTS "?since=soon"), 422, "invalid", "since");
    stop(&srv);
}

static void server_data_event_tokens(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    tokens t;
    seed(fx);
    make_tokens(fx, &t);
    fx_server_start(fx, &srv, NULL);
    const char *perf = "{\"customer\": \"" ACME_EMAIL "\", \"type\": \"t\", "
                       "\"agent\": \"Performance Tuner\"}";
    const char *cost = "{\"customer\": \"" ACME_EMAIL "\", \"type\": \"t\", "
                       "\"agent\": \"" COST_ID "\"}";
    const char *none = "{\"customer\": \"" ACME_EMAIL "\", \"type\": \"t\"}";
    refused(fx, &srv, SEND_AS("POST", "/v1/events", perf, t.cost_agent), 403, "forbidden", NULL);
    refused(fx, &srv, SEND_AS("POST", "/v1/events", none, t.cost_agent), 403, "forbidden", NULL);
    refused(fx, &srv, SEND_AS("POST", "/v1/events", cost, t.read_only), 403, "forbidden", NULL);
    refused(fx, &srv, SEND("POST", "/v1/events", cost), 401, "unauthorized", NULL);
    expect(&srv, &r, SEND_AS("POST", "/v1/events", cost, t.cost_agent), 201);
    fx_http_free(&r);
    expect(&srv, &r, SEND_AS("POST", "/v1/events", none, t.admin), 201);
    fx_http_free(&r);
    expect(&srv, &r, GET_AS(ACME_EVENTS, t.read_only), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "events")), 4);
    fx_http_free(&r);
    stop(&srv);
}

/* ---- recommendations ---------------------------------------------------------- */

/* The answer equals `recommendation show ID --json` now. */
static void assert_details_are_cli(oi_fixture *fx, const fx_http *r, const char *id)
{
    json_t *cli = CLI_JSON(fx, "recommendation", "show", id);
    assert_json_equal(r->json, cli);
    json_decref(cli);
}

static const char *status_of(const fx_http *r)
{
    return json_string_value(json_object_get(r->json, "status"));
}

static void server_data_recommendations_match_cli(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r, GET("/v1/customers/" ACME_EMAIL "/recommendations"), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "recommendations")), 2);
    assert_list_is_cli(&r, "recommendations", CLI_JSON(fx, "recommendations", ACME_EMAIL));
    fx_http_free(&r);
    expect(&srv, &r, GET("/v1/customers/" ACME_ID "/recommendations?status=pending"), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "recommendations")), 1);
    assert_list_is_cli(&r, "recommendations",
                       CLI_JSON(fx, "recommendations", ACME_ID, "--status", "pending"));
    fx_http_free(&r);

    expect(&srv, &r, GET(REC_PATH(REC_EXECUTING, "")), 200);
    assert_details_are_cli(fx, &r, REC_EXECUTING);
    assert_int_equal(json_array_size(json_object_get(r.json, "approvals")), 1);
    fx_http_free(&r);

    refused(fx, &srv, GET(REC_PATH(UNKNOWN_ID, "")), 404, "not_found", UNKNOWN_ID);
    refused(fx, &srv, GET("/v1/recommendations/not-an-id"), 422, "invalid", NULL);
    refused(fx, &srv, GET("/v1/customers/nobody@example.com/recommendations"), 404,
            "not_found", NULL);
    refused(fx, &srv, GET("/v1/customers/" ACME_ID "/recommendations?status=done"),
            422, "invalid", "done");
    stop(&srv);
}

static void server_data_recommendation_decisions(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r,
           SEND("POST", REC_PATH(REC_PENDING, "/approve"),
                "{\"by\": \"maria.chen@acme-ai.example\", \"comment\": \"fits\"}"), 200);
    assert_details_are_cli(fx, &r, REC_PENDING);
    assert_string_equal(status_of(&r), "approved");
    json_t *decision = json_array_get(json_object_get(r.json, "approvals"), 0);
    assert_string_equal(json_string_value(json_object_get(decision, "comment")), "fits");
    fx_http_free(&r);

    expect(&srv, &r, SEND("POST", REC_PATH(REC_PENDING_2, "/reject"), "{\"by\": \"ops\"}"), 200);
    assert_details_are_cli(fx, &r, REC_PENDING_2);
    assert_string_equal(status_of(&r), "rejected");
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "approvals"), 3);

    /* a decision on a decided recommendation: 409, nothing written */
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/approve"), "{\"by\": \"x\"}"), 409,
            "illegal_transition", "approved");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING_2, "/approve"), "{\"by\": \"x\"}"),
            409, "illegal_transition", "rejected");
    refused(fx, &srv, SEND("POST", REC_PATH(UNKNOWN_ID, "/reject"), "{\"by\": \"x\"}"), 404,
            "not_found", NULL);
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/approve"), "{\"by\": \"\"}"), 422,
            "invalid", "by");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/approve"), "{}"), 422, "invalid", "by");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/approve"), "{\"by\": "), 400,
            "malformed", NULL);
    refused(fx, &srv, SEND_TYPED("POST", REC_PATH(REC_PENDING, "/reject"), "by=x", "text/plain"),
            415, "unsupported_media_type", NULL);
    stop(&srv);
}

static void server_data_recommendation_moves(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    seed_and_start(fx, &srv);

    expect(&srv, &r, SEND("POST", REC_PATH(REC_EXECUTING, "/move"), "{\"status\": \"completed\"}"),
           200);
    assert_details_are_cli(fx, &r, REC_EXECUTING);
    assert_string_equal(status_of(&r), "completed");
    fx_http_free(&r);
    expect(&srv, &r,
           SEND("POST", REC_PATH(REC_EXECUTING, "/move"), "{\"status\": \"rolled_back\"}"), 200);
    assert_string_equal(status_of(&r), "rolled_back");
    fx_http_free(&r);

    refused(fx, &srv, SEND("POST", REC_PATH(REC_EXECUTING, "/move"), "{\"status\": \"executing\"}"),
            409, "illegal_transition", "final");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "{\"status\": \"completed\"}"),
            409, "illegal_transition", "pending");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "{\"status\": \"approved\"}"),
            422, "invalid", "/approve");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "{\"status\": \"rejected\"}"),
            422, "invalid", "/reject");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "{\"status\": \"done\"}"),
            422, "invalid", "done");
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "{}"), 422, "invalid", "status");
    refused(fx, &srv, SEND("POST", REC_PATH(UNKNOWN_ID, "/move"), "{\"status\": \"executing\"}"),
            404, "not_found", NULL);
    refused(fx, &srv, SEND("POST", REC_PATH(REC_PENDING, "/move"), "[]"), 422, "invalid", "object");
    stop(&srv);
}

static void server_data_recommendation_tokens(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    tokens t;
    seed(fx);
    make_tokens(fx, &t);
    fx_server_start(fx, &srv, NULL);
    const char *approve = REC_PATH(REC_PENDING, "/approve");
    refused(fx, &srv, SEND_AS("POST", approve, "{\"by\": \"x\"}", t.read_only), 403, "forbidden",
            NULL);
    refused(fx, &srv, SEND_AS("POST", approve, "{\"by\": \"x\"}", t.cost_agent), 403,
            "forbidden", NULL);
    refused(fx, &srv,
            SEND_AS("POST", REC_PATH(REC_EXECUTING, "/move"), "{\"status\": \"failed\"}",
                    t.cost_agent), 403, "forbidden", NULL);
    expect(&srv, &r, GET_AS(REC_PATH(REC_PENDING, ""), t.read_only), 200);
    assert_string_equal(status_of(&r), "pending");
    fx_http_free(&r);
    expect(&srv, &r, SEND_AS("POST", approve, "{\"by\": \"x\"}", t.admin), 200);
    assert_string_equal(status_of(&r), "approved");
    fx_http_free(&r);
    stop(&srv);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int run_server_data_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(server_data_configs_match_cli),
        T(server_data_configs_read_refusals),
        T(server_data_configs_masked_by_token),
        T(server_data_config_put),
        T(server_data_config_put_refusals),
        T(server_data_config_delete),
        T(server_data_capabilities_match_cli),
        T(server_data_capability_writes),
        T(server_data_capability_tokens),
        T(server_data_events_match_cli),
        T(server_data_event_refusals),
        T(server_data_event_tokens),
        T(server_data_recommendations_match_cli),
        T(server_data_recommendation_decisions),
        T(server_data_recommendation_moves),
        T(server_data_recommendation_tokens),
    };
    return fx_run_group("server_data", tests);
}
