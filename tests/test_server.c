/*
 * test_server.c - the core of `optiinfra serve` over real HTTP, and its
 * contract, docs/openapi.json.
 *
 * The core is what every route relies on (request.c, reply.c, auth.c,
 * worker.c, server.c) and the two route files it shipped with
 * (routes_agents.c, routes_locks.c): probes, routing (404, 405), bodies
 * (400, 413, 415, 422), agents and locks compared with the CLI's --json
 * for the same database, tokens, the access log, a graceful stop and a
 * long streamed list.  The contract is checked both ways: every route
 * `serve --routes` prints is documented and every documented operation is
 * a route, each one answers (never the router's 404 or a 405) with a
 * status its operation documents, and GET /openapi.json is the file.
 *
 * Two groups keep the run short.  "server" shares one server (started
 * with --max-body 1000) on one database seeded with the spec's data
 * (cmocka group setup); its tests do not interfere: each writes only
 * agents of its own, and compares lists with the CLI at one moment.
 * "server_alone" has the tests that need a database or a server of their
 * own: one behind the schema head, one with tokens (which close the
 * service to callers without one), one with 5,000 agents that is stopped
 * mid-request.  On PostgreSQL every fixture is the same database, dropped
 * and made again, so the shared one must be gone before these start:
 * hence two groups, not one.
 *
 * Every refusal is checked to have written nothing: the data tables are
 * dumped around the library before and after (snapshot()).
 */
#include "http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPENAPI_FILE "docs/openapi.json"
#define MAX_BODY "1000"          /* the shared server's --max-body */
#define PLACEHOLDER "placeholder" /* a path parameter no record has */
#define MANY_AGENTS 5000

/* A fixture and the server on it; srv.pid is 0 when none runs. */
typedef struct served {
    oi_fixture *fx;
    fx_server srv;
} served;

#define SERVED(state) ((served *)*(state))

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* ---- fixtures ------------------------------------------------------------ */

static served *served_new(void)
{
    served *s = calloc(1, sizeof *s);
    assert_non_null(s);
    void *fx_state = NULL;
    fx_setup(&fx_state);
    s->fx = fx_state;
    return s;
}

/* Stop the server (if running) and free everything; the server's exit
 * code, 0 when none ran. */
static int served_free(served *s)
{
    if (!s)
        return 0;
    int exit_code = s->srv.pid > 0 ? fx_server_stop(&s->srv) : 0;
    void *fx_state = s->fx;
    fx_teardown(&fx_state);
    free(s);
    return exit_code;
}

static void seed(oi_fixture *fx)
{
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
}

/* The shared group: the spec's data, one server with a small body limit. */
static int shared_setup(void **state)
{
    served *s = served_new();
    seed(s->fx);
    fx_server_start(s->fx, &s->srv, (const char *const[]){"--max-body", MAX_BODY, NULL});
    *state = s;
    return 0;
}

static int shared_teardown(void **state)
{
    int exit_code = served_free(SERVED(state));
    *state = NULL;
    if (exit_code != 0)
        print_error("the shared server exited %d on SIGTERM, not 0\n", exit_code);
    return exit_code == 0 ? 0 : -1;
}

/* A test of its own: a fresh database, no server yet. */
static int alone_setup(void **state)
{
    *state = served_new();
    return 0;
}

/* A server a failed test left running is stopped here, not leaked. */
static int alone_teardown(void **state)
{
    served_free(SERVED(state));
    *state = NULL;
    return 0;
}

static void stop_server(served *s)
{
    assert_int_equal(fx_server_stop(&s->srv), 0);
}

static const char *const data_tables[] = {
    "customers", "agents", "events", "recommendations", "approvals", "optimizations",
    "agent_configs", "agent_states", "agent_capabilities", "agent_metrics", "resource_locks",
    "api_tokens", NULL
};

/* Append text to the malloc'd *all. */
static void append(char **all, size_t *len, const char *text)
{
    size_t add = strlen(text);
    *all = realloc(*all, *len + add + 1);
    assert_non_null(*all);
    memcpy(*all + *len, text, add + 1);
    *len += add;
}

/* PostgreSQL: one statement, each table as JSON (every raw query there
 * opens a connection of its own, and a test takes many snapshots). */
static char *pg_snapshot(oi_fixture *fx)
{
    char *sql = NULL, part[256];
    size_t len = 0;
    append(&sql, &len, "SELECT concat_ws(E'\\n'");
    for (const char *const *t = data_tables; *t; t++) {
        snprintf(part, sizeof part, ", '%s ' || coalesce((SELECT json_agg(r)::text FROM "
                 "(SELECT * FROM %s ORDER BY 1) r), '[]')", *t, *t);
        append(&sql, &len, part);
    }
    append(&sql, &len, ")");
    char *dump = fx_sql_text(fx, sql);
    free(sql);
    return dump;
}

static char *sqlite_snapshot(oi_fixture *fx)
{
    char *dump = NULL, sql[128];
    size_t len = 0;
    append(&dump, &len, "");
    for (const char *const *t = data_tables; *t; t++) {
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1", *t);
        char *rows = fx_sql_text(fx, sql);
        append(&dump, &len, *t);
        append(&dump, &len, "\n");
        append(&dump, &len, rows);
        free(rows);
    }
    return dump;
}

/* Every data table, dumped around the library: equal dumps, nothing written. */
static char *snapshot(oi_fixture *fx)
{
    return fx_is_pg() ? pg_snapshot(fx) : sqlite_snapshot(fx);
}

static void assert_unchanged(oi_fixture *fx, const char *before)
{
    char *after = snapshot(fx);
    assert_string_equal(after, before);
    free(after);
}

/* ---- requests ---------------------------------------------------------------- */

/* method path [body] with `Authorization: Bearer token` when token is set. */
static void send_as(const fx_server *srv, fx_http *r, const char *method, const char *path,
                    const char *body, const char *token)
{
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    const char *headers[] = {auth, NULL};
    fx_request(srv, r, method, path, body, NULL, token ? headers : NULL);
}

/* Assert an error answer: status, the error shape, its code. */
static void assert_error(const fx_http *r, long status, const char *code)
{
    assert_status(r, status);
    assert_true(json_is_string(json_object_get(json_object_get(r->json, "error"), "message")));
    assert_string_equal(fx_http_error_code(r), code);
}

/* The router's own 404: a path no route has. */
static bool is_no_route(const fx_http *r)
{
    const char *msg = json_string_value(
        json_object_get(json_object_get(r->json, "error"), "message"));
    return r->status == 404 && msg && strncmp(msg, "no route ", 9) == 0;
}

/* `optiinfra ARGS... --json` on fx's database, parsed (exit 0 asserted). */
static json_t *cli_json(oi_fixture *fx, const char *const *args, size_t nargs)
{
    const char *argv[16];
    assert_true(nargs < 15);
    memcpy(argv, args, nargs * sizeof *args);
    argv[nargs] = "--json";
    fx_run run;
    fx_cli_argv(fx, &run, true, argv, nargs + 1);
    if (run.status != 0)
        fail_msg("optiinfra %s: exit %d: %s", args[0], run.status, run.err);
    json_t *v = fx_json(run.out);
    fx_run_free(&run);
    return v;
}

/* Remove every member `key` at any depth: ages drift between two reads. */
static void drop_member(json_t *v, const char *key)
{
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_del(v, key);
        json_object_foreach(v, k, m)
            drop_member(m, key);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            drop_member(m, key);
    }
}

static int compare_ids(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x ? x : "", y ? y : "");
}

/* The array's items by id, in a new array: the service lists agents in
 * the library iterator's order (creation), the CLI sorts them by name, and
 * only the items are the same JSON. */
static json_t *by_id(json_t *array)
{
    size_t n = json_array_size(array);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(array, i);
    qsort(items, n, sizeof *items, compare_ids);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, items[i]);
    free(items);
    return sorted;
}

static void assert_json_equal_without(json_t *got, json_t *want, const char *drift)
{
    drop_member(got, drift);
    drop_member(want, drift);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_INDENT(1)), *w = json_dumps(want, JSON_INDENT(1));
        print_error("HTTP:\n%s\nCLI:\n%s\n", g, w);
        free(g);
        free(w);
        fail();
    }
}

/* Register agent (type, name) over HTTP: its id into id (37 bytes). */
static void register_agent(const fx_server *srv, const char *type, const char *name,
                           char *id)
{
    char body[256];
    fx_http r;
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"name\": \"%s\"}", type, name);
    fx_post(srv, &r, "/v1/agents", body);
    assert_status(&r, 201);
    snprintf(id, OI_UUID_LEN + 1, "%s", json_string_value(json_object_get(r.json, "id")));
    fx_http_free(&r);
}

static void beat(const fx_server *srv, const char *agent)
{
    char path[128];
    fx_http r;
    snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", agent);
    fx_post(srv, &r, path, "{}");
    assert_status(&r, 200);
    fx_http_free(&r);
}

/* ---- the contract ------------------------------------------------------------ */

static json_t *load_openapi(void)
{
    json_error_t err;
    json_t *doc = json_load_file(OPENAPI_FILE, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        fail_msg("%s: %s at line %d column %d (run the tests from the repository's top)",
                 OPENAPI_FILE, err.text, err.line, err.column);
    return doc;
}

typedef void (*operation_fn)(const char *method, const char *path, json_t *op, void *arg);

/* fn(METHOD, path, operation, arg) for every operation of the document. */
static void each_operation(json_t *doc, operation_fn fn, void *arg)
{
    static const char *const methods[] = {"get", "put", "post", "delete", "options", "head",
                                          "patch", "trace", NULL};
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        for (const char *const *m = methods; *m; m++) {
            json_t *op = json_object_get(item, *m);
            char upper[8];
            size_t i = 0;
            for (; (*m)[i]; i++)
                upper[i] = (char)((*m)[i] - 'a' + 'A');
            upper[i] = '\0';
            if (op)
                fn(upper, path, op, arg);
        }
    }
}

/* An OpenAPI path with every {parameter} made PLACEHOLDER. */
static void concrete_path(const char *templ, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = templ; *p && n + sizeof PLACEHOLDER < size;) {
        if (*p == '{') {
            n += (size_t)snprintf(out + n, size - n, "%s", PLACEHOLDER);
            p = strchr(p, '}') + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* What an operation documents its caller needs: open, read, agent_write, admin. */
static const char *access_of(json_t *op)
{
    const char *access = json_string_value(json_object_get(op, "x-optiinfra-access"));
    return access ? access : "";
}

static bool is_write(json_t *op)
{
    return strcmp(access_of(op), "agent_write") == 0 || strcmp(access_of(op), "admin") == 0;
}

static bool is_open(json_t *op)
{
    json_t *security = json_object_get(op, "security");
    return json_is_array(security) && json_array_size(security) == 0;
}

/* "METHOD /path" lines, sorted, of the document or of `serve --routes`. */
typedef struct lines {
    char **items;
    size_t n;
} lines;

static void lines_add(lines *l, const char *method, const char *path)
{
    l->items = realloc(l->items, (l->n + 1) * sizeof *l->items);
    assert_non_null(l->items);
    size_t size = strlen(method) + strlen(path) + 2;
    l->items[l->n] = malloc(size);
    assert_non_null(l->items[l->n]);
    snprintf(l->items[l->n++], size, "%s %s", method, path);
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_sort(lines *l)
{
    qsort(l->items, l->n, sizeof *l->items, compare_lines);
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

/* Whether sorted l has line. */
static bool lines_have(const lines *l, const char *line)
{
    return bsearch(&line, l->items, l->n, sizeof *l->items, compare_lines) != NULL;
}

static void add_documented(const char *method, const char *path, json_t *op, void *arg)
{
    (void)op;
    lines_add(arg, method, path);
}

/* The routes `serve --routes` prints, {name...} written {name} as the
 * document writes it. */
static void served_routes(oi_fixture *fx, lines *out)
{
    fx_run run;
    fx_cli(fx, &run, "serve", "--routes", (char *)NULL);
    if (run.status != 0)
        fail_msg("serve --routes: exit %d: %s", run.status, run.err);
    assert_string_equal(run.err, "");
    for (char *save = NULL, *line = strtok_r(run.out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char method[16], pattern[256];
        if (sscanf(line, "%15s %255s", method, pattern) != 2)
            fail_msg("serve --routes printed '%s', not METHOD PATTERN", line);
        for (char *rest; (rest = strstr(pattern, "...}"));)
            memmove(rest, rest + 3, strlen(rest + 3) + 1);
        lines_add(out, method, pattern);
    }
    fx_run_free(&run);
    lines_sort(out);
}

/* Every route is documented and every documented operation is a route. */
static void server_contract_routes_documented(void **state)
{
    served *s = SERVED(state);
    json_t *doc = load_openapi();
    lines documented = {0}, routes = {0};
    each_operation(doc, add_documented, &documented);
    lines_sort(&documented);
    served_routes(s->fx, &routes);
    assert_true(routes.n >= 12); /* the core's routes at least */
    for (size_t i = 0; i < routes.n; i++)
        if (!lines_have(&documented, routes.items[i]))
            fail_msg("the server answers %s, which %s does not document", routes.items[i],
                     OPENAPI_FILE);
    for (size_t i = 0; i < documented.n; i++)
        if (!lines_have(&routes, documented.items[i]))
            fail_msg("%s documents %s, which the server does not answer", OPENAPI_FILE,
                     documented.items[i]);
    assert_int_equal(routes.n, documented.n);
    lines_free(&documented);
    lines_free(&routes);
    json_decref(doc);
}

typedef struct sweep {
    const fx_server *srv;
    const char *token; /* NULL: none */
    size_t operations;
} sweep;

/* Send the operation (no body, placeholders for its path's parameters)
 * into *r and check that it answers: never the router's 404, never 405,
 * and with a status the operation documents.  Without a body a write is
 * refused before it writes (400, 404, 422), which the caller checks. */
static void check_answer(sweep *sw, const char *method, const char *path, json_t *op,
                         fx_http *r)
{
    char url[512], status[8];
    concrete_path(path, url, sizeof url);
    if (strcmp(path, "/v1/watch") == 0) /* a long poll: answer at once, not in 30 s */
        snprintf(url, sizeof url, "/v1/watch?wait=0");
    send_as(sw->srv, r, method, url, NULL, sw->token);
    if (r->status == 0 || is_no_route(r) || r->status == 405)
        fail_msg("%s %s (as %s %s): %ld %s", method, path, method, url, r->status, r->body);
    snprintf(status, sizeof status, "%ld", r->status);
    if (!json_object_get(json_object_get(op, "responses"), status))
        fail_msg("%s %s answered %s, which its operation does not document: %s", method,
                 path, status, r->body);
    sw->operations++;
}

static void answers(const char *method, const char *path, json_t *op, void *arg)
{
    fx_http r;
    check_answer(arg, method, path, op, &r);
    fx_http_free(&r);
}

static void server_contract_every_operation_answers(void **state)
{
    served *s = SERVED(state);
    json_t *doc = load_openapi();
    char *before = snapshot(s->fx);
    sweep sw = {&s->srv, NULL, 0};
    each_operation(doc, answers, &sw);
    assert_true(sw.operations >= 12);
    assert_unchanged(s->fx, before);
    free(before);
    json_decref(doc);
}

static void server_openapi_served(void **state)
{
    served *s = SERVED(state);
    FILE *f = fopen(OPENAPI_FILE, "rb");
    assert_non_null(f);
    char *file = malloc(1 << 22);
    assert_non_null(file);
    size_t len = fread(file, 1, 1 << 22, f);
    fclose(f);
    fx_http r;
    fx_get(&s->srv, &r, "/openapi.json");
    assert_status(&r, 200);
    char *type = fx_http_header(&r, "Content-Type");
    assert_non_null(type);
    assert_contains(type, "application/json");
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, file, len);
    assert_true(json_is_object(r.json));
    free(type);
    free(file);
    fx_http_free(&r);
}

/* ---- the document's structure -------------------------------------------------- */

/* The component a local $ref names, or NULL. */
static json_t *resolve(json_t *doc, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ref + 2);
    json_t *v = doc;
    for (char *save = NULL, *seg = strtok_r(buf, "/", &save); seg && v;
         seg = strtok_r(NULL, "/", &save))
        v = json_object_get(v, seg);
    return v;
}

/* Every $ref at any depth resolves; the number of them into *n. */
static void check_refs(json_t *doc, json_t *v, size_t *n)
{
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_t *ref = json_object_get(v, "$ref");
        if (ref) {
            if (!json_is_string(ref) || !resolve(doc, json_string_value(ref)))
                fail_msg("$ref %s does not resolve", json_string_value(ref));
            ++*n;
        }
        json_object_foreach(v, k, m)
            check_refs(doc, m, n);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            check_refs(doc, m, n);
    }
}

typedef struct structure {
    json_t *doc;
    lines ids;
} structure;

/* The path parameter `name` among op's parameters (refs resolved). */
static bool has_path_parameter(json_t *doc, json_t *op, const char *name, size_t len)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        json_t *ref = json_object_get(p, "$ref");
        if (ref)
            p = resolve(doc, json_string_value(ref));
        const char *n = json_string_value(json_object_get(p, "name"));
        const char *in = json_string_value(json_object_get(p, "in"));
        if (n && in && strcmp(in, "path") == 0 && strlen(n) == len &&
            strncmp(n, name, len) == 0) {
            assert_true(json_is_true(json_object_get(p, "required")));
            return true;
        }
    }
    return false;
}

static size_t count_path_parameters(json_t *doc, json_t *op)
{
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        json_t *ref = json_object_get(p, "$ref");
        if (ref)
            p = resolve(doc, json_string_value(ref));
        const char *in = json_string_value(json_object_get(p, "in"));
        n += in && strcmp(in, "path") == 0;
    }
    return n;
}

/* An operation: an id, responses with descriptions, its path's
 * parameters declared (and no other), 401 and 403 unless open. */
static void check_operation(const char *method, const char *path, json_t *op, void *arg)
{
    structure *st = arg;
    const char *id = json_string_value(json_object_get(op, "operationId"));
    if (!id)
        fail_msg("%s %s has no operationId", method, path);
    lines_add(&st->ids, id, "");
    json_t *responses = json_object_get(op, "responses");
    if (!json_is_object(responses) || json_object_size(responses) == 0)
        fail_msg("%s %s has no responses", method, path);
    const char *status;
    json_t *resp;
    json_object_foreach(responses, status, resp) {
        json_t *ref = json_object_get(resp, "$ref");
        json_t *shown = ref ? resolve(st->doc, json_string_value(ref)) : resp;
        if (!json_is_string(json_object_get(shown, "description")))
            fail_msg("%s %s: response %s has no description", method, path, status);
    }
    size_t templated = 0;
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{'), templated++) {
        const char *end = strchr(p, '}');
        if (!has_path_parameter(st->doc, op, p + 1, (size_t)(end - p - 1)))
            fail_msg("%s %s: path parameter %.*s is not declared", method, path,
                     (int)(end - p - 1), p + 1);
    }
    assert_int_equal(count_path_parameters(st->doc, op), templated);
    static const char *const accesses[] = {"open", "read", "agent_write", "admin", NULL};
    const char *const *access = accesses;
    while (*access && strcmp(*access, access_of(op)) != 0)
        access++;
    if (!*access || (strcmp(*access, "open") == 0) != is_open(op))
        fail_msg("%s %s: x-optiinfra-access '%s' is not open, read, agent_write or admin, "
                 "or disagrees with its security", method, path, access_of(op));
    if (!is_open(op) && (!json_object_get(responses, "401") ||
                         !json_object_get(responses, "403")))
        fail_msg("%s %s needs a token but documents no 401 or 403", method, path);
}

static void server_openapi_structure(void **state)
{
    (void)state;
    json_t *doc = load_openapi();
    assert_int_equal(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.0.", 4), 0);
    assert_true(json_is_string(fx_json_at(doc, "info.title")));
    assert_true(json_is_string(fx_json_at(doc, "info.version")));
    assert_true(json_object_size(json_object_get(doc, "paths")) > 0);
    json_t *schemes = fx_json_at(doc, "components.securitySchemes");
    assert_string_equal(json_string_value(fx_json_at(schemes, "bearerAuth.type")), "http");
    assert_string_equal(json_string_value(fx_json_at(schemes, "bearerAuth.scheme")), "bearer");
    assert_string_equal(json_string_value(fx_json_at(schemes, "apiKeyAuth.type")), "apiKey");
    assert_string_equal(json_string_value(fx_json_at(schemes, "apiKeyAuth.in")), "header");
    assert_string_equal(json_string_value(fx_json_at(schemes, "apiKeyAuth.name")), "X-API-Key");
    assert_int_equal(json_array_size(json_object_get(doc, "security")), 2);
    static const char *const shapes[] = {
        "Error", "Agent", "AgentSummary", "AgentDetails", "AgentState", "Lock", "Config",
        "Capability", "Metric", "MetricStats", "Event", "Recommendation", "Approval", NULL
    };
    for (const char *const *name = shapes; *name; name++)
        if (!json_object_get(fx_json_at(doc, "components.schemas"), *name))
            fail_msg("components.schemas has no %s", *name);
    json_t *code = fx_json_at(doc, "components.schemas.Error.properties.error.required");
    assert_int_equal(json_array_size(code), 2);
    structure st = {doc, {0}};
    each_operation(doc, check_operation, &st);
    lines_sort(&st.ids);
    for (size_t i = 1; i < st.ids.n; i++)
        if (strcmp(st.ids.items[i - 1], st.ids.items[i]) == 0)
            fail_msg("operationId %s is used twice", st.ids.items[i]);
    size_t refs = 0;
    check_refs(doc, doc, &refs);
    assert_true(refs > st.ids.n);
    lines_free(&st.ids);
    json_decref(doc);
}

/* tests/openapi-answers.pl on the document and, when not NULL, on the
 * answers recorded in the file `answers`; skipped unless Debian's
 * libjson-validator-perl is installed. */
static void validate_openapi(const char *answers)
{
    if (system("perl -MJSON::Validator::Schema::OpenAPIv3 -e 1 2>/dev/null") != 0)
        fx_skip("JSON::Validator is not installed (Debian: libjson-validator-perl)");
    char command[512];
    snprintf(command, sizeof command, "perl tests/openapi-answers.pl %s %s 1>&2",
             OPENAPI_FILE, answers ? answers : "");
    assert_int_equal(system(command), 0);
}

static void server_openapi_validator(void **state)
{
    (void)state;
    validate_openapi(NULL);
}

/* ---- probes, routing, bodies ----------------------------------------------------- */

static void server_probes(void **state)
{
    served *s = SERVED(state);
    fx_http r;
    fx_get(&s->srv, &r, "/healthz");
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/readyz");
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
    assert_string_equal(json_string_value(json_object_get(r.json, "backend")), fx_backend());
    assert_string_equal(json_string_value(json_object_get(r.json, "revision")),
                        oi_migrate_head());
    fx_http_free(&r);
}

static void expect_405(const fx_server *srv, const char *method, const char *path,
                       const char *allow)
{
    fx_http r;
    fx_request(srv, &r, method, path, "{}", NULL, NULL);
    assert_error(&r, 405, "method_not_allowed");
    char *got = fx_http_header(&r, "Allow");
    assert_non_null(got);
    assert_string_equal(got, allow);
    free(got);
    fx_http_free(&r);
}

static void server_routing_404_405(void **state)
{
    served *s = SERVED(state);
    char *before = snapshot(s->fx);
    fx_http r;
    fx_get(&s->srv, &r, "/v2/agents");
    assert_error(&r, 404, "not_found");
    assert_true(is_no_route(&r));
    assert_contains(r.body, "/openapi.json");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents/Cost%20Optimizer/heartbeat/extra", "{}");
    assert_true(is_no_route(&r));
    fx_http_free(&r);
    /* an unknown record is 404 too, but not the router's */
    fx_get(&s->srv, &r, "/v1/agents/no-such-agent");
    assert_error(&r, 404, "not_found");
    assert_false(is_no_route(&r));
    fx_http_free(&r);
    expect_405(&s->srv, "PUT", "/v1/agents", "GET, POST");
    expect_405(&s->srv, "DELETE", "/healthz", "GET");
    expect_405(&s->srv, "PATCH", "/v1/locks/gpu/0", "POST, DELETE");
    expect_405(&s->srv, "GET", "/v1/agents/Cost%20Optimizer/heartbeat", "POST");
    assert_unchanged(s->fx, before);
    free(before);
}

/* A registration of agent (limit-test, name) padded to `size` bytes. */
static char *padded_registration(const char *name, size_t size)
{
    char *body = malloc(size + 1);
    assert_non_null(body);
    int head = snprintf(body, size + 1, "{\"type\": \"limit-test\", \"name\": \"%s\", "
                        "\"metadata\": {\"pad\": \"", name);
    assert_true(head > 0 && (size_t)head + 3 < size);
    memset(body + head, 'x', size - (size_t)head - 3);
    memcpy(body + size - 3, "\"}}", 4);
    return body;
}

static bool agent_exists(oi_fixture *fx, const char *type, const char *name)
{
    oi_agent a = OI_AGENT_INIT;
    int rc = oi_agent_find(fx->store, type, name, &a);
    oi_agent_clear(&a);
    assert_true(rc == OI_OK || rc == OI_ENOTFOUND);
    return rc == OI_OK;
}

/* A body sent chunked (no Content-Length), 100 bytes a chunk. */
typedef struct chunked {
    const char *text;
    size_t len, at;
} chunked;

static size_t read_chunk(char *buf, size_t size, size_t n, void *arg)
{
    chunked *c = arg;
    size_t take = c->len - c->at;
    if (take > 100)
        take = 100;
    if (take > size * n)
        take = size * n;
    memcpy(buf, c->text + c->at, take);
    c->at += take;
    return take;
}

static size_t keep_body(char *ptr, size_t size, size_t n, void *arg)
{
    fx_http *r = arg;
    size_t add = size * n;
    r->body = realloc(r->body, r->body_len + add + 1);
    assert_non_null(r->body);
    memcpy(r->body + r->body_len, ptr, add);
    r->body_len += add;
    r->body[r->body_len] = '\0';
    return add;
}

static void post_chunked(const fx_server *srv, const char *path, const char *body,
                         fx_http *r)
{
    char url[256];
    chunked c = {body, strlen(body), 0};
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s%s", srv->base, path);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *headers = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_chunk);
    curl_easy_setopt(curl, CURLOPT_READDATA, &c);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    r->transport_error = curl_easy_perform(curl) != CURLE_OK;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    r->headers = strdup("");
    if (!r->body)
        r->body = strdup("");
    r->json = json_loadb(r->body, r->body_len, 0, NULL);
}

static void server_body_over_limit(void **state)
{
    served *s = SERVED(state);
    char *before = snapshot(s->fx);
    fx_http r;
    /* by Content-Length: refused before the body is read */
    char *big = padded_registration("declared", 2000);
    fx_post(&s->srv, &r, "/v1/agents", big);
    assert_error(&r, 413, "too_large");
    assert_contains(r.body, MAX_BODY);
    fx_http_free(&r);
    /* chunked: refused once it has grown past the limit */
    char *chunky = padded_registration("chunked", 5000);
    post_chunked(&s->srv, "/v1/agents", chunky, &r);
    assert_error(&r, 413, "too_large");
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    assert_false(agent_exists(s->fx, "limit-test", "declared"));
    assert_false(agent_exists(s->fx, "limit-test", "chunked"));
    /* the limit itself is allowed, by either framing */
    char *fits = padded_registration("fits", 1000);
    fx_post(&s->srv, &r, "/v1/agents", fits);
    assert_status(&r, 201);
    fx_http_free(&r);
    char *fits_chunked = padded_registration("fits-chunked", 1000);
    post_chunked(&s->srv, "/v1/agents", fits_chunked, &r);
    assert_status(&r, 201);
    fx_http_free(&r);
    assert_true(agent_exists(s->fx, "limit-test", "fits-chunked"));
    free(fits_chunked);
    free(fits);
    free(chunky);
    free(big);
    free(before);
}

static void server_body_refusals(void **state)
{
    served *s = SERVED(state);
    char *before = snapshot(s->fx);
    fx_http r;
    fx_request(&s->srv, &r, "POST", "/v1/agents", "{\"type\": \"t\", \"name\": \"n\"}",
               "text/plain", NULL);
    assert_error(&r, 415, "unsupported_media_type");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "{\"type\": \"t\",\n \"name\": }");
    assert_error(&r, 400, "malformed");
    assert_contains(r.body, "line 2 column");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "{\"type\": \"t\", \"type\": \"u\", \"name\": \"n\"}");
    assert_error(&r, 400, "malformed"); /* a duplicate key */
    fx_http_free(&r);
    fx_request(&s->srv, &r, "POST", "/v1/agents", NULL, NULL, NULL);
    assert_error(&r, 400, "malformed"); /* no body */
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "[{\"type\": \"t\", \"name\": \"n\"}]");
    assert_error(&r, 422, "invalid"); /* not an object */
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "{\"type\": 7, \"name\": \"n\"}");
    assert_error(&r, 422, "invalid");
    assert_contains(r.body, "\\\"type\\\" must be a string");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "{\"name\": \"no type\"}");
    assert_error(&r, 422, "invalid"); /* the library's verdict */
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents", "{\"type\": \"t\", \"name\": \"n\", \"metadata\": [1]}");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/v1/agents?stale=soon");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
}

/* ---- agents ------------------------------------------------------------------------ */

static void server_agents_list_equals_cli(void **state)
{
    served *s = SERVED(state);
    char never_seen[OI_UUID_LEN + 1];
    register_agent(&s->srv, "list-test", "never seen", never_seen);
    fx_http r;
    fx_get(&s->srv, &r, "/v1/agents");
    assert_status(&r, 200);
    json_t *cli = cli_json(s->fx, (const char *const[]){"agents"}, 1);
    assert_true(json_array_size(cli) >= 5);
    json_t *listed = by_id(json_object_get(r.json, "agents")), *shown = by_id(cli);
    assert_json_equal_without(listed, shown, "heartbeat_age_seconds");
    json_decref(listed);
    json_decref(shown);
    json_decref(cli);
    fx_http_free(&r);
    /* ?stale=: the agents not seen for that long, as `agents --stale` */
    fx_get(&s->srv, &r, "/v1/agents?stale=1h");
    assert_status(&r, 200);
    cli = cli_json(s->fx, (const char *const[]){"agents", "--stale", "1h"}, 3);
    assert_true(json_array_size(cli) >= 1);
    assert_json_equal_without(json_object_get(r.json, "agents"), cli,
                              "heartbeat_age_seconds");
    json_decref(cli);
    fx_http_free(&r);
    /* ?type=: only that type */
    fx_get(&s->srv, &r, "/v1/agents?type=list-test");
    assert_status(&r, 200);
    json_t *agents = json_object_get(r.json, "agents");
    assert_int_equal(json_array_size(agents), 1);
    assert_string_equal(json_string_value(fx_json_at(agents, "0.id")), never_seen);
    assert_string_equal(json_string_value(fx_json_at(agents, "0.health")), "never seen");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/v1/agents?type=no-such-type");
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "agents")), 0);
    fx_http_free(&r);
}

/* The members of view_agent(), and no dialect's. */
static void assert_agent_shape(json_t *agent)
{
    static const char *const members[] = {
        "id", "name", "type", "version", "status", "endpoint", "capabilities", "metadata",
        "last_heartbeat", "created_at", "updated_at", "revision", NULL
    };
    size_t n = 0;
    for (const char *const *m = members; *m; m++, n++)
        if (!json_object_get(agent, *m))
            fail_msg("the agent has no member %s", *m);
    assert_int_equal(json_object_size(agent), n);
}

static void server_agents_register_upserts(void **state)
{
    served *s = SERVED(state);
    const char *body = "{\"type\": \"reg-test\", \"name\": \"upsert\", \"version\": \"1.0\", "
                       "\"endpoint\": \"http://10.0.0.5:8001\", \"capabilities\": [\"a\"], "
                       "\"metadata\": {\"zone\": \"a\"}}";
    fx_http first, again;
    fx_post(&s->srv, &first, "/v1/agents", body);
    assert_status(&first, 201);
    assert_agent_shape(first.json);
    fx_post(&s->srv, &again, "/v1/agents",
            "{\"type\": \"reg-test\", \"name\": \"upsert\", \"version\": \"1.1\"}");
    assert_status(&again, 200);
    assert_agent_shape(again.json);
    const char *id = json_string_value(json_object_get(first.json, "id"));
    assert_string_equal(json_string_value(json_object_get(again.json, "id")), id);
    assert_string_equal(json_string_value(json_object_get(again.json, "version")), "1.1");
    /* what the second left out is kept */
    assert_true(json_equal(json_object_get(again.json, "metadata"),
                           json_object_get(first.json, "metadata")));
    oi_agent a = OI_AGENT_INIT;
    assert_ok(s->fx, oi_agent_get(s->fx->store, id, &a));
    assert_string_equal(a.agent_version, "1.1");
    assert_string_equal(a.endpoint, "http://10.0.0.5:8001");
    oi_agent_clear(&a);
    fx_http_free(&first);
    fx_http_free(&again);
}

static void show_equals_cli(served *s, const char *path, const char *ref)
{
    fx_http r;
    fx_get(&s->srv, &r, path);
    assert_status(&r, 200);
    json_t *cli = cli_json(s->fx, (const char *const[]){"agent", "show", ref}, 3);
    assert_json_equal_without(r.json, cli, "heartbeat_age_seconds");
    json_decref(cli);
    fx_http_free(&r);
}

static void server_agent_show_equals_cli(void **state)
{
    served *s = SERVED(state);
    oi_agent cost = OI_AGENT_INIT;
    assert_ok(s->fx, oi_agent_lookup(s->fx->store, "Cost Optimizer", &cost));
    char path[128];
    snprintf(path, sizeof path, "/v1/agents/%s", cost.id);
    show_equals_cli(s, path, cost.id);
    show_equals_cli(s, "/v1/agents/Cost%20Optimizer", "Cost Optimizer");
    oi_agent_clear(&cost);
    fx_http r;
    fx_get(&s->srv, &r, "/v1/agents/00000000-0000-4000-8000-000000000000");
    assert_error(&r, 404, "not_found");
    fx_http_free(&r);
}

static void server_agent_delete(void **state)
{
    served *s = SERVED(state);
    char id[OI_UUID_LEN + 1], path[128];
    register_agent(&s->srv, "delete-test", "doomed", id);
    beat(&s->srv, id);
    snprintf(path, sizeof path, "/v1/agents/%s", id);
    fx_http r;
    fx_request(&s->srv, &r, "DELETE", path, NULL, NULL, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "doomed");
    assert_true(json_is_true(json_object_get(r.json, "deleted")));
    fx_http_free(&r);
    oi_agent a = OI_AGENT_INIT;
    assert_rc(s->fx, oi_agent_get(s->fx->store, id, &a), OI_ENOTFOUND);
    char *before = snapshot(s->fx);
    fx_request(&s->srv, &r, "DELETE", path, NULL, NULL, NULL);
    assert_error(&r, 404, "not_found");
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
}

static void server_heartbeat_status_and_metadata(void **state)
{
    served *s = SERVED(state);
    char id[OI_UUID_LEN + 1], path[128];
    register_agent(&s->srv, "beat-test", "beater", id);
    snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", id);
    fx_http r;
    fx_post(&s->srv, &r, path, "{\"status\": \"busy\", \"metadata\": {\"load\": 0.5}}");
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "agent_id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "beater");
    oi_time at;
    assert_ok(s->fx, oi_time_parse(json_string_value(json_object_get(r.json,
                                                                     "last_heartbeat")), &at));
    fx_http_free(&r);
    oi_agent a = OI_AGENT_INIT;
    assert_ok(s->fx, oi_agent_get(s->fx->store, id, &a));
    assert_string_equal(a.status, "busy");
    json_t *metadata = fx_json(a.metadata), *want = fx_json("{\"load\": 0.5}");
    assert_true(json_equal(metadata, want));
    assert_true(a.last_heartbeat == at);
    json_decref(metadata);
    json_decref(want);
    oi_agent_clear(&a);
    /* no body: a plain beat, the status kept */
    fx_request(&s->srv, &r, "POST", path, NULL, NULL, NULL);
    assert_status(&r, 200);
    fx_http_free(&r);
    assert_ok(s->fx, oi_agent_get(s->fx->store, id, &a));
    assert_string_equal(a.status, "busy");
    assert_true(a.last_heartbeat > at);
    oi_agent_clear(&a);
    /* refusals write nothing, not even the beat */
    char *before = snapshot(s->fx);
    char long_status[128];
    snprintf(long_status, sizeof long_status, "{\"status\": \"%065d\"}", 0);
    fx_post(&s->srv, &r, path, long_status);
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_post(&s->srv, &r, path, "{\"status\": 1}");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_post(&s->srv, &r, path, "{\"metadata\": [1]}");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/agents/no-such-agent/heartbeat", "{}");
    assert_error(&r, 404, "not_found");
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
}

/* POST /v1/agents/ID/move body: status, and the state's status after it. */
static void transition(served *s, const char *id, const char *move, const char *body,
                       long status, const char *state_after)
{
    char path[128];
    fx_http r;
    char *before = snapshot(s->fx);
    snprintf(path, sizeof path, "/v1/agents/%s/%s", id, move);
    fx_request(&s->srv, &r, "POST", path, body, NULL, NULL);
    assert_status(&r, status);
    if (status == 200) {
        assert_string_equal(json_string_value(json_object_get(r.json, "agent_id")), id);
        assert_string_equal(json_string_value(json_object_get(r.json, "status")), state_after);
    } else {
        assert_error(&r, status, status == 409 ? "illegal_transition" : "invalid");
        assert_unchanged(s->fx, before);
    }
    fx_http_free(&r);
    free(before);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    int rc = oi_agent_state_find(s->fx->store, id, &st);
    if (rc == OI_ENOTFOUND)
        assert_string_equal("idle", state_after); /* no state row reads idle */
    else
        assert_string_equal(st.status, state_after);
    oi_agent_state_clear(&st);
}

static void server_transitions(void **state)
{
    served *s = SERVED(state);
    char id[OI_UUID_LEN + 1];
    register_agent(&s->srv, "flow-test", "worker", id);
    transition(s, id, "finish", NULL, 409, "idle");
    transition(s, id, "recover", NULL, 409, "idle");
    transition(s, id, "start", "{\"workflow\": \"\"}", 422, "idle");
    transition(s, id, "start", "{\"workflow\": \"analyze\", \"data\": {\"k\": 1}}", 200,
               "active");
    transition(s, id, "start", "{\"workflow\": \"again\"}", 409, "active");
    transition(s, id, "error", "{\"message\": \"boom\", \"severity\": \"bogus\"}", 422,
               "active");
    transition(s, id, "error", "{\"message\": \"boom\", \"severity\": \"high\"}", 200,
               "error");
    transition(s, id, "finish", NULL, 409, "error");
    transition(s, id, "recover", NULL, 200, "idle");
    transition(s, id, "start", "{\"workflow\": \"second\"}", 200, "active");
    transition(s, id, "finish", NULL, 200, "idle");
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(s->fx, oi_agent_state_find(s->fx->store, id, &st));
    assert_int_equal(st.error_count, 1);
    oi_agent_state_clear(&st);
}

/* ---- locks --------------------------------------------------------------------------- */

static void acquire(served *s, fx_http *r, const char *resource_path, const char *agent)
{
    char path[256], body[256];
    snprintf(path, sizeof path, "/v1/locks/%s", resource_path);
    snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"ttl\": \"10m\"}", agent);
    fx_post(&s->srv, r, path, body);
}

static void expect_outcome(served *s, const char *agent, const char *outcome)
{
    fx_http r;
    acquire(s, &r, "gpu/node-1/0", agent);
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "outcome")), outcome);
    assert_string_equal(json_string_value(json_object_get(r.json, "resource")), "gpu/node-1/0");
    assert_string_equal(json_string_value(json_object_get(r.json, "agent")), agent);
    fx_http_free(&r);
}

static void server_locks(void **state)
{
    served *s = SERVED(state);
    char a_id[OI_UUID_LEN + 1], b_id[OI_UUID_LEN + 1];
    register_agent(&s->srv, "lock-test", "lock-a", a_id);
    register_agent(&s->srv, "lock-test", "lock-b", b_id);
    beat(&s->srv, a_id);
    beat(&s->srv, b_id);
    expect_outcome(s, "lock-a", "acquired");
    expect_outcome(s, "lock-a", "renewed");
    /* another live agent: 409 with the holder, nothing changed */
    char *before = snapshot(s->fx);
    fx_http r;
    acquire(s, &r, "gpu/node-1/0", "lock-b");
    assert_error(&r, 409, "lock_held");
    assert_string_equal(json_string_value(fx_json_at(r.json, "error.holder.agent_id")), a_id);
    assert_string_equal(json_string_value(fx_json_at(r.json, "error.holder.resource")),
                        "gpu/node-1/0");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/locks/gpu/node-1/0",
            "{\"agent_id\": \"lock-b\", \"ttl\": \"ten\"}");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_post(&s->srv, &r, "/v1/locks/gpu/node-1/0", "{\"ttl\": \"10m\"}");
    assert_error(&r, 422, "invalid");
    fx_http_free(&r);
    fx_request(&s->srv, &r, "DELETE", "/v1/locks/gpu/node-1/0?agent_id=lock-b", NULL, NULL,
               NULL);
    assert_error(&r, 404, "not_found"); /* b does not hold it */
    fx_http_free(&r);
    fx_request(&s->srv, &r, "DELETE", "/v1/locks/gpu/node-1/0", NULL, NULL, NULL);
    assert_error(&r, 422, "invalid"); /* no agent_id */
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
    /* the list, as `locks --json` */
    fx_get(&s->srv, &r, "/v1/locks?agent=lock-a");
    assert_status(&r, 200);
    json_t *cli = cli_json(s->fx, (const char *const[]){"locks", "--agent", "lock-a"}, 3);
    assert_int_equal(json_array_size(cli), 1);
    assert_json_equal_without(json_object_get(r.json, "locks"), cli, "expires_in_seconds");
    json_decref(cli);
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/v1/locks?agent=lock-b");
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "locks")), 0);
    fx_http_free(&r);
    /* released, then free for b */
    fx_request(&s->srv, &r, "DELETE", "/v1/locks/gpu/node-1/0?agent_id=lock-a", NULL, NULL,
               NULL);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "released")));
    assert_string_equal(json_string_value(json_object_get(r.json, "resource")), "gpu/node-1/0");
    fx_http_free(&r);
    expect_outcome(s, "lock-b", "acquired");
}

/* ---- the access log ---------------------------------------------------------------- */

/* The server's log once it holds needle (lines are written as requests
 * complete, just after their answer); free() it. */
static char *log_with(const fx_server *srv, const char *needle)
{
    for (int waited = 0;; waited += 20) {
        char *log = fx_server_log(srv);
        if (strstr(log, needle) || waited > 5000)
            return log;
        free(log);
        sleep_ms(20);
    }
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A log line: TIME METHOD PATH STATUS DURATIONms BYTESB. */
static void assert_log_line(const char *log, const char *method_path, long status)
{
    const char *at = strstr(log, method_path);
    assert_non_null(at);
    const char *start = at;
    while (start > log && start[-1] != '\n')
        start--;
    char when[64], method[16], path[256], ms[32], bytes[32];
    long got;
    assert_int_equal(sscanf(start, "%63s %15s %255s %ld %31s %31s", when, method, path, &got,
                            ms, bytes), 6);
    oi_time t;
    assert_int_equal(oi_time_parse(when, &t), OI_OK);
    assert_int_equal(got, status);
    assert_string_equal(ms + strlen(ms) - 2, "ms");
    assert_string_equal(bytes + strlen(bytes) - 1, "B");
    assert_true(atol(bytes) > 0);
}

static void server_access_log(void **state)
{
    served *s = SERVED(state);
    static const char *const probes[] = {"/v1/agents/log-probe-1", "/v1/agents/log-probe-2",
                                         "/v1/agents/log-probe-3"};
    fx_http r;
    for (int i = 0; i < 3; i++) {
        fx_get(&s->srv, &r, probes[i]);
        assert_status(&r, 404);
        fx_http_free(&r);
    }
    /* a secret in a body, in an answer and in the query */
    char id[OI_UUID_LEN + 1], path[192];
    register_agent(&s->srv, "log-test", "secretive", id);
    snprintf(path, sizeof path, "/v1/agents/%s/configs/api_key?show_secrets=true", id);
    fx_request(&s->srv, &r, "PUT", path, "{\"value\": \"zq-LOG-s3cr3t\", \"sensitive\": true}",
               NULL, NULL);
    assert_status(&r, 201);
    fx_http_free(&r);
    fx_get(&s->srv, &r, path);
    assert_status(&r, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "zq-LOG-s3cr3t");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/v1/agents?type=zq-query-text");
    assert_status(&r, 200);
    fx_http_free(&r);
    char *log = log_with(&s->srv, "GET /v1/agents 200");
    for (int i = 0; i < 3; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET %s 404 ", probes[i]);
        assert_int_equal(count_occurrences(log, line), 1); /* one line per request */
        assert_log_line(log, line, 404);
    }
    assert_log_line(log, "GET /v1/agents 200", 200);
    assert_not_contains(log, "zq-LOG-s3cr3t");
    assert_not_contains(log, "zq-query-text");
    assert_not_contains(log, "show_secrets");
    assert_not_contains(log, "/v1/agents?");
    assert_not_contains(log, "api_key?");
    free(log);
}

/* libmicrohttpd decodes %00 to a NUL, which cut the path or value there:
 * /v1/agents/Cost%20Optimizer%00x acted on "Cost Optimizer".  Any route,
 * any part of the URL: 400, nothing written. */
static void server_encoded_nul_refused(void **state)
{
    served *s = SERVED(state);
    char *before = snapshot(s->fx);
    static const char *const gets[] = {
        "/v1/agents/Cost%20Optimizer%00junk", "/ui/index.html%00", "/ui/index.html%00.png",
        "/v1/recommendations?status=pending%00x", "/healthz%00", "/v1/agents?type=cost%00"};
    fx_http r;
    for (size_t i = 0; i < sizeof gets / sizeof *gets; i++) {
        fx_get(&s->srv, &r, gets[i]);
        assert_error(&r, 400, "malformed");
        assert_contains(r.body, "%00");
        fx_http_free(&r);
    }
    fx_post(&s->srv, &r, "/v1/agents/Cost%20Optimizer%00/heartbeat", "{\"status\":\"healthy\"}");
    assert_error(&r, 400, "malformed");
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
    /* a literal "%00" in a name is spelled %2500 and stays an ordinary 404 */
    fx_get(&s->srv, &r, "/v1/agents/a%2500b");
    assert_error(&r, 404, "not_found");
    fx_http_free(&r);
}

/* A path is logged with its control characters escaped: a decoded %0A
 * cannot start a forged log line. */
static void server_access_log_escapes_path(void **state)
{
    served *s = SERVED(state);
    fx_http r;
    fx_get(&s->srv, &r, "/v1/agents/zq-forge%0A2026-01-01T00:00:00Z%20GET%20/forged%20200");
    assert_status(&r, 404);
    fx_http_free(&r);
    char *log = log_with(&s->srv, "zq-forge");
    assert_contains(log, "GET /v1/agents/zq-forge\\x0a2026-01-01T00:00:00Z GET /forged 200 404 ");
    assert_not_contains(log, "\n2026-01-01T00:00:00Z GET /forged");
    free(log);
}

/* ---- real answers against the document's schemas ------------------------------ */

#define ACME "platform%40acme-ai.example" /* the spec's customer, by email */

/* Answers recorded for tests/openapi-answers.pl, one NDJSON line each. */
typedef struct recorder {
    const fx_server *srv;
    FILE *out;
    json_t *last; /* the last answer's body */
    size_t n;
} recorder;

/* method url [body]: the status asserted, the answer recorded as one of
 * the operation `templ` (the document's path), its body in rec->last. */
static void answer(recorder *rec, const char *method, const char *templ, const char *url,
                   const char *body, long status)
{
    fx_http r;
    fx_request(rec->srv, &r, method, url, body, NULL, NULL);
    assert_status(&r, status);
    if (!r.json)
        fail_msg("%s %s: the answer is not JSON: %s", method, url, r.body);
    char lower[8];
    size_t i = 0;
    for (; method[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(method[i] - 'A' + 'a');
    lower[i] = '\0';
    json_t *line = json_pack("{s:s, s:s, s:i, s:O}", "method", lower, "path", templ,
                             "status", (int)status, "body", r.json);
    assert_non_null(line);
    assert_int_equal(json_dumpf(line, rec->out, JSON_COMPACT), 0);
    fputc('\n', rec->out);
    json_decref(line);
    json_decref(rec->last);
    rec->last = json_incref(r.json);
    rec->n++;
    fx_http_free(&r);
}

/* The text at `path` of the last answer, copied into out. */
static const char *last_text(const recorder *rec, const char *path, char *out, size_t size)
{
    const char *text = json_string_value(fx_json_at(rec->last, path));
    if (!text)
        fail_msg("the last answer has no text at %s", path);
    snprintf(out, size, "%s", text);
    return out;
}

static void answers_of_agents_and_locks(recorder *rec)
{
    answer(rec, "GET", "/healthz", "/healthz", NULL, 200);
    answer(rec, "GET", "/readyz", "/readyz", NULL, 200);
    answer(rec, "POST", "/v1/agents", "/v1/agents", "{\"type\": \"schema-test\", \"name\": "
           "\"s1\", \"capabilities\": [\"c\"], \"metadata\": {\"a\": 1}}", 201);
    answer(rec, "POST", "/v1/agents", "/v1/agents",
           "{\"type\": \"schema-test\", \"name\": \"s1\"}", 200);
    answer(rec, "POST", "/v1/agents", "/v1/agents",
           "{\"type\": \"schema-test\", \"name\": \"s2\"}", 201);
    answer(rec, "POST", "/v1/agents", "/v1/agents", "{\"type\": 1}", 422);
    answer(rec, "POST", "/v1/agents", "/v1/agents", "{", 400);
    answer(rec, "GET", "/v1/agents", "/v1/agents", NULL, 200);
    answer(rec, "GET", "/v1/agents", "/v1/agents?stale=1h", NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}", "/v1/agents/Cost%20Optimizer", NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}", "/v1/agents/s1", NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}", "/v1/agents/nobody", NULL, 404);
    answer(rec, "POST", "/v1/agents/{agent}/heartbeat", "/v1/agents/s1/heartbeat",
           "{\"status\": \"busy\", \"metadata\": {\"b\": 2}}", 200);
    answer(rec, "POST", "/v1/agents/{agent}/heartbeat", "/v1/agents/s2/heartbeat", NULL, 200);
    answer(rec, "POST", "/v1/agents/{agent}/start", "/v1/agents/s1/start",
           "{\"workflow\": \"w\", \"data\": {\"k\": 1}}", 200);
    answer(rec, "POST", "/v1/agents/{agent}/start", "/v1/agents/s1/start",
           "{\"workflow\": \"w\"}", 409);
    answer(rec, "POST", "/v1/agents/{agent}/error", "/v1/agents/s1/error",
           "{\"message\": \"m\"}", 200);
    answer(rec, "POST", "/v1/agents/{agent}/finish", "/v1/agents/s1/finish", NULL, 409);
    answer(rec, "POST", "/v1/agents/{agent}/recover", "/v1/agents/s1/recover", NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}", "/v1/agents/s1", NULL, 200); /* with a state */
    answer(rec, "POST", "/v1/locks/{resource}", "/v1/locks/schema/r",
           "{\"agent_id\": \"s1\"}", 200);
    answer(rec, "POST", "/v1/locks/{resource}", "/v1/locks/schema/r",
           "{\"agent_id\": \"s2\"}", 409);
    answer(rec, "GET", "/v1/locks", "/v1/locks", NULL, 200);
    answer(rec, "DELETE", "/v1/locks/{resource}", "/v1/locks/schema/r?agent_id=s1", NULL, 200);
}

static void answers_of_configs_and_capabilities(recorder *rec)
{
    answer(rec, "GET", "/v1/agents/{agent}/configs", "/v1/agents/Cost%20Optimizer/configs",
           NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}/configs/{key}",
           "/v1/agents/Cost%20Optimizer/configs/cost_threshold_usd", NULL, 200);
    answer(rec, "PUT", "/v1/agents/{agent}/configs/{key}", "/v1/agents/s1/configs/a/b",
           "{\"value\": 5, \"type\": \"integer\", \"sensitive\": true}", 201);
    answer(rec, "PUT", "/v1/agents/{agent}/configs/{key}", "/v1/agents/s1/configs/a/b",
           "{\"value\": \"x\"}", 422);
    answer(rec, "DELETE", "/v1/agents/{agent}/configs/{key}", "/v1/agents/s1/configs/a/b",
           NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}/capabilities",
           "/v1/agents/Cost%20Optimizer/capabilities", NULL, 200);
    answer(rec, "POST", "/v1/agents/{agent}/capabilities", "/v1/agents/s1/capabilities",
           "{\"name\": \"c\", \"version\": \"1.0.0\", \"parameters\": {\"p\": 1}}", 201);
    answer(rec, "POST", "/v1/agents/{agent}/capabilities/{name}/{version}/disable",
           "/v1/agents/s1/capabilities/c/1.0.0/disable", NULL, 200);
    answer(rec, "POST", "/v1/agents/{agent}/capabilities/{name}/{version}/enable",
           "/v1/agents/s1/capabilities/c/1.0.0/enable", NULL, 200);
    answer(rec, "GET", "/v1/agents/{agent}/capabilities/{name}/newest",
           "/v1/agents/s1/capabilities/c/newest", NULL, 200);
    answer(rec, "GET", "/v1/capabilities/{name}/agents", "/v1/capabilities/c/agents", NULL,
           200);
}

static void answers_of_orchestration_and_metrics(recorder *rec)
{
    char id[64], url[192];
    answer(rec, "POST", "/v1/events", "/v1/events", "{\"customer\": \"platform@acme-ai."
           "example\", \"type\": \"schema_test\", \"agent\": \"s1\", \"data\": {}}", 201);
    answer(rec, "GET", "/v1/customers/{customer}/events", "/v1/customers/" ACME "/events",
           NULL, 200);
    answer(rec, "GET", "/v1/customers/{customer}/recommendations",
           "/v1/customers/" ACME "/recommendations?status=pending", NULL, 200);
    snprintf(url, sizeof url, "/v1/recommendations/%s",
             last_text(rec, "recommendations.0.id", id, sizeof id));
    answer(rec, "GET", "/v1/recommendations/{id}", url, NULL, 200);
    answer(rec, "GET", "/v1/recommendations", "/v1/recommendations", NULL, 200);
    answer(rec, "GET", "/v1/recommendations", "/v1/recommendations?status=nope", NULL, 422);
    strcat(url, "/approve");
    answer(rec, "POST", "/v1/recommendations/{id}/approve", url, "{\"by\": \"schema\"}", 200);
    answer(rec, "POST", "/v1/recommendations/{id}/approve", url, "{\"by\": \"schema\"}", 409);
    answer(rec, "POST", "/v1/metrics", "/v1/metrics", "[{\"agent\": \"s1\", \"metric_name\": "
           "\"m\", \"metric_value\": 1.5, \"metric_unit\": \"s\"}]", 200);
    answer(rec, "POST", "/v1/metrics", "/v1/metrics",
           "[{\"agent\": \"s1\", \"metric_name\": \"m\"}]", 422);
    answer(rec, "GET", "/v1/metrics", "/v1/metrics?agent=s1&limit=1", NULL, 200);
    answer(rec, "GET", "/v1/metrics/aggregate", "/v1/metrics/aggregate?by=agent,name&bucket=1h",
           NULL, 200);
}

static void answers_of_dialects(recorder *rec)
{
    char id[64], url[192];
    answer(rec, "POST", "/agents/register", "/agents/register",
           "{\"name\": \"go-1\", \"type\": \"go-test\", \"host\": \"10.0.0.9\", "
           "\"port\": 8000, \"capabilities\": [\"x\"], \"version\": \"1\", \"metadata\": {}}",
           201);
    last_text(rec, "agent_id", id, sizeof id);
    snprintf(url, sizeof url, "/agents/%s/heartbeat", id);
    answer(rec, "POST", "/agents/{id}/heartbeat", url, "{\"status\": \"healthy\"}", 200);
    answer(rec, "GET", "/agents", "/agents", NULL, 200);
    answer(rec, "GET", "/agents/type/{type}", "/agents/type/go-test", NULL, 200);
    snprintf(url, sizeof url, "/agents/%s", id);
    answer(rec, "GET", "/agents/{id}", url, NULL, 200);
    strcat(url, "/unregister");
    answer(rec, "POST", "/agents/{id}/unregister", url, NULL, 200);
    answer(rec, "GET", "/agents/{id}", "/agents/00000000-0000-4000-8000-000000000000", NULL,
           404);
    answer(rec, "POST", "/api/v1/agents/register", "/api/v1/agents/register",
           "{\"agent_id\": \"py-1\", \"agent_type\": \"py-test\", \"agent_name\": \"p\", "
           "\"host\": \"h\", \"port\": 9, \"capabilities\": [{\"name\": \"y\"}]}", 200);
    answer(rec, "POST", "/api/v1/agents/heartbeat", "/api/v1/agents/heartbeat",
           "{\"agent_id\": \"py-1\", \"status\": \"ok\", \"metrics\": {\"cpu\": 0.5, "
           "\"note\": \"x\"}}", 200);
    answer(rec, "POST", "/api/v1/agents/{agent_id}/heartbeat", "/api/v1/agents/py-1/heartbeat",
           NULL, 200);
    answer(rec, "DELETE", "/api/v1/agents/{agent_id}", "/api/v1/agents/py-1", NULL, 200);
    answer(rec, "DELETE", "/api/v1/agents/{agent_id}", "/api/v1/agents/py-1", NULL, 404);
}

/* Real answers of every kind of route, each matched against its schema. */
static void server_openapi_answers_match_schemas(void **state)
{
    served *s = SERVED(state);
    char path[320];
    snprintf(path, sizeof path, "%s/answers.ndjson", s->fx->dir);
    recorder rec = {&s->srv, fopen(path, "w"), NULL, 0};
    assert_non_null(rec.out);
    answers_of_agents_and_locks(&rec);
    answers_of_configs_and_capabilities(&rec);
    answers_of_orchestration_and_metrics(&rec);
    answers_of_dialects(&rec);
    json_decref(rec.last);
    assert_int_equal(fclose(rec.out), 0);
    assert_true(rec.n > 50);
    validate_openapi(path);
}

/* ---- on their own: readiness follows the migration -------------------------------- */

static void server_readyz_follows_migration(void **state)
{
    served *s = SERVED(state);
    assert_ok(s->fx, oi_migrate_downgrade(s->fx->store, "004_events_recent_index", NULL, NULL,
                                          NULL));
    fx_server_start(s->fx, &s->srv, NULL);
    fx_http r;
    fx_get(&s->srv, &r, "/readyz");
    assert_error(&r, 503, "schema_not_at_head");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/v1/agents");
    assert_error(&r, 503, "schema_not_at_head");
    fx_http_free(&r);
    fx_get(&s->srv, &r, "/healthz");
    assert_status(&r, 200);
    fx_http_free(&r);
    fx_run run;
    fx_cli(s->fx, &run, "db", "upgrade", (char *)NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    /* every worker sees it at once: each asks again while it is behind */
    for (int i = 0; i < 4; i++) {
        fx_get(&s->srv, &r, "/readyz");
        assert_status(&r, 200);
        fx_http_free(&r);
        fx_get(&s->srv, &r, "/v1/agents");
        assert_status(&r, 200);
        fx_http_free(&r);
    }
    fx_get(&s->srv, &r, "/healthz");
    assert_status(&r, 200);
    fx_http_free(&r);
    char *log = fx_server_log(&s->srv);
    assert_contains(log, "warning");
    free(log);
    stop_server(s);
}

/* ---- on their own: tokens -------------------------------------------------------- */

typedef struct tokens {
    char admin[OI_TOKEN_BUFSZ], read_only[OI_TOKEN_BUFSZ], agent[OI_TOKEN_BUFSZ];
    char read_only_id[OI_UUID_LEN + 1];
} tokens;

/* `token create ARGS...`: the token, alone on the last line of its output. */
static void create_token(oi_fixture *fx, const char *const *args, size_t nargs, char *out)
{
    const char *argv[8] = {"token", "create"};
    memcpy(argv + 2, args, nargs * sizeof *args);
    fx_run run;
    fx_cli_argv(fx, &run, true, argv, nargs + 2);
    if (run.status != 0)
        fail_msg("token create %s: exit %d: %s", args[0], run.status, run.err);
    size_t len = strlen(run.out);
    while (len > 0 && run.out[len - 1] == '\n')
        len--;
    size_t start = len;
    while (start > 0 && run.out[start - 1] != '\n')
        start--;
    assert_int_equal(len - start, OI_TOKEN_LEN);
    memcpy(out, run.out + start, OI_TOKEN_LEN);
    out[OI_TOKEN_LEN] = '\0';
    fx_run_free(&run);
}

static void create_tokens(oi_fixture *fx, tokens *t)
{
    create_token(fx, (const char *const[]){"--admin"}, 1, t->admin);
    create_token(fx, (const char *const[]){"--read-only", "--label", "reader"}, 3,
                 t->read_only);
    create_token(fx, (const char *const[]){"--agent", "Cost Optimizer"}, 2, t->agent);
    json_t *list = cli_json(fx, (const char *const[]){"token", "list"}, 2);
    size_t i;
    json_t *tok;
    json_array_foreach(list, i, tok)
        if (strcmp(json_string_value(json_object_get(tok, "role")), "read_only") == 0)
            snprintf(t->read_only_id, sizeof t->read_only_id, "%s",
                     json_string_value(json_object_get(tok, "id")));
    json_decref(list);
    assert_int_equal(strlen(t->read_only_id), OI_UUID_LEN);
}

/* `serve --listen 0.0.0.0:0` in a child with its stderr to a file: the
 * exit code when it stops within 10 s, -1 when it does not. */
static int exec_open_listen(const char *url, void *ctx)
{
    const char *err_path = ctx;
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDWR);
    if (err < 0 || in < 0 || dup2(in, 0) < 0 || dup2(in, 1) < 0 || dup2(err, 2) < 0)
        return 126;
    execl(fx_cli_path(), fx_cli_path(), "--database-url", url, "serve", "--listen",
          "0.0.0.0:0", (char *)NULL);
    return 127;
}

/* With no token the service will not listen off this host; with one it does. */
static void server_refuses_open_listen_without_token(served *s)
{
    char err_path[320];
    snprintf(err_path, sizeof err_path, "%s/open-listen.err", s->fx->dir);
    int exit_code = fx_in_child(s->fx, exec_open_listen, err_path, 10000);
    char *err = fx_slurp(err_path);
    if (exit_code != 2) /* a usage error: the address needs a token first */
        fail_msg("serve --listen 0.0.0.0:0 with no token: exit %d: %s", exit_code, err);
    assert_int_equal(fx_count_lines(err), 1);
    assert_contains(err, "token create");
    free(err);
}

/* Every documented operation, without a token: 401 unless it is open. */
static void refuses_without_token(const char *method, const char *path, json_t *op,
                                  void *arg)
{
    const fx_server *srv = arg;
    char url[512];
    fx_http r;
    concrete_path(path, url, sizeof url);
    fx_request(srv, &r, method, url, NULL, NULL, NULL);
    if (is_open(op)) {
        if (r.status == 401 || r.status == 403)
            fail_msg("%s %s is open, yet answered %ld without a token", method, path,
                     r.status);
    } else {
        assert_error(&r, 401, "unauthorized");
        char *challenge = fx_http_header(&r, "WWW-Authenticate");
        assert_non_null(challenge);
        assert_string_equal(challenge, "Bearer realm=\"optiinfra\"");
        free(challenge);
    }
    fx_http_free(&r);
}

/* A read-only token: every read answers it (placeholders: 200, 404 or
 * 422), every write is 403 before its handler runs. */
static void read_only_access(const char *method, const char *path, json_t *op, void *arg)
{
    fx_http r;
    check_answer(arg, method, path, op, &r);
    if (is_write(op))
        assert_error(&r, 403, "forbidden");
    else if (r.status == 401 || r.status == 403)
        fail_msg("%s %s refused a read-only token: %ld %s", method, path, r.status, r.body);
    fx_http_free(&r);
}

/* An agent token: the admin routes are 403 for its role; the others run
 * their handler (which, with placeholders and no body, refuses otherwise). */
static void agent_access(const char *method, const char *path, json_t *op, void *arg)
{
    fx_http r;
    check_answer(arg, method, path, op, &r);
    if (strcmp(access_of(op), "admin") == 0)
        assert_error(&r, 403, "forbidden");
    else if (r.status == 401 || r.status == 403)
        fail_msg("%s %s refused an agent token: %ld %s", method, path, r.status, r.body);
    fx_http_free(&r);
}

/* method path body as token: status and error code, nothing written. */
static void refused(served *s, const char *token, const char *method, const char *path,
                    const char *body, long status, const char *code)
{
    char *before = snapshot(s->fx);
    fx_http r;
    send_as(&s->srv, &r, method, path, body, token);
    assert_error(&r, status, code);
    fx_http_free(&r);
    assert_unchanged(s->fx, before);
    free(before);
}

static void allowed(served *s, const char *token, const char *method, const char *path,
                    const char *body, long status)
{
    fx_http r;
    send_as(&s->srv, &r, method, path, body, token);
    assert_status(&r, status);
    fx_http_free(&r);
}

/* Both headers carry a token; an unknown one is 401; the router answers
 * before any token is asked for. */
static void tokens_are_read(served *s, const tokens *t)
{
    fx_http r;
    fx_get(&s->srv, &r, "/v2/nothing");
    assert_true(is_no_route(&r));
    fx_http_free(&r);
    allowed(s, t->admin, "GET", "/v1/agents", NULL, 200);
    char key[128];
    snprintf(key, sizeof key, "X-API-Key: %s", t->admin);
    fx_request(&s->srv, &r, "GET", "/v1/agents", NULL, NULL, (const char *const[]){key, NULL});
    assert_status(&r, 200);
    fx_http_free(&r);
    refused(s, "oit_0000000000000000000000000000000000000000000000000000000000000000", "GET",
            "/v1/agents", NULL, 401, "invalid_token");
}

/* Each documented route's access, for a read-only and an agent token,
 * then writes with bodies: a read-only token writes nothing, an agent
 * token writes its own agent only, an admin the admin routes. */
static void tokens_by_role(served *s, const tokens *t, json_t *doc)
{
    char *before = snapshot(s->fx);
    sweep read_only = {&s->srv, t->read_only, 0}, agent = {&s->srv, t->agent, 0};
    each_operation(doc, read_only_access, &read_only);
    each_operation(doc, agent_access, &agent);
    assert_true(read_only.operations >= 12 && agent.operations == read_only.operations);
    assert_unchanged(s->fx, before);
    free(before);
    refused(s, t->read_only, "POST", "/v1/agents/Cost%20Optimizer/heartbeat", "{}", 403,
            "forbidden");
    refused(s, t->read_only, "POST", "/v1/agents", "{\"type\": \"t\", \"name\": \"n\"}",
            403, "forbidden");
    refused(s, t->read_only, "POST", "/v1/locks/gpu/0", "{\"agent_id\": \"Cost Optimizer\"}",
            403, "forbidden");
    refused(s, t->read_only, "GET", "/v1/agents/Cost%20Optimizer/configs?show_secrets=true",
            NULL, 403, "forbidden");
    allowed(s, t->agent, "POST", "/v1/agents/Cost%20Optimizer/heartbeat",
            "{\"status\": \"busy\"}", 200);
    allowed(s, t->agent, "POST", "/v1/locks/gpu/0", "{\"agent_id\": \"Cost Optimizer\"}", 200);
    refused(s, t->agent, "POST", "/v1/agents/Performance%20Tuner/heartbeat", "{}", 403,
            "forbidden");
    refused(s, t->agent, "POST", "/v1/locks/gpu/1", "{\"agent_id\": \"Performance Tuner\"}",
            403, "forbidden");
    refused(s, t->agent, "DELETE", "/v1/agents/Cost%20Optimizer", NULL, 403, "forbidden");
    refused(s, t->agent, "PUT", "/v1/agents/Cost%20Optimizer/configs/k",
            "{\"value\": \"v\"}", 403, "forbidden");
    oi_agent cost = OI_AGENT_INIT;
    assert_ok(s->fx, oi_agent_lookup(s->fx->store, "Cost Optimizer", &cost));
    assert_string_equal(cost.status, "busy"); /* the agent's own beat was stored */
    oi_agent_clear(&cost);
    allowed(s, t->admin, "PUT", "/v1/agents/Cost%20Optimizer/configs/k",
            "{\"value\": \"v\"}", 201);
}

/* A revoked token fails at once, without a restart. */
static void token_revoked(served *s, const tokens *t)
{
    allowed(s, t->read_only, "GET", "/v1/locks", NULL, 200);
    fx_run run;
    fx_cli(s->fx, &run, "token", "revoke", t->read_only_id, (char *)NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    refused(s, t->read_only, "GET", "/v1/locks", NULL, 401, "invalid_token");
}

static void server_tokens(void **state)
{
    served *s = SERVED(state);
    seed(s->fx);
    server_refuses_open_listen_without_token(s);
    tokens t;
    create_tokens(s->fx, &t);
    /* a token exists: the service may listen off this host */
    fx_server_start(s->fx, &s->srv, (const char *const[]){"--listen", "0.0.0.0:0", NULL});
    json_t *doc = load_openapi();
    each_operation(doc, refuses_without_token, &s->srv);
    tokens_are_read(s, &t);
    tokens_by_role(s, &t, doc);
    token_revoked(s, &t);
    json_decref(doc);
    /* no token ever reaches the log, sent either way */
    char *log = log_with(&s->srv, "GET /v1/locks 401");
    assert_log_line(log, "GET /v1/locks 401", 401);
    assert_not_contains(log, t.admin);
    assert_not_contains(log, t.read_only);
    assert_not_contains(log, t.agent);
    assert_not_contains(log, "oit_");
    free(log);
    stop_server(s);
}

/* ---- on their own: a long list, and a stop while it streams --------------------- */

static void register_many(oi_fixture *fx, size_t n)
{
    assert_ok(fx, oi_begin(fx->store));
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "fleet-%05zu", i);
        oi_agent a = OI_AGENT_INIT;
        a.type = "fleet";
        a.name = name;
        assert_ok(fx, oi_agent_register(fx->store, &a, NULL));
        oi_agent_clear(&a);
    }
    assert_ok(fx, oi_commit(fx->store));
}

static void assert_whole_list(const char *body, size_t len)
{
    json_error_t err;
    json_t *v = json_loadb(body, len, 0, &err);
    if (!v)
        fail_msg("the list is not JSON (%s at byte %d of %zu)", err.text, err.position, len);
    json_t *agents = json_object_get(v, "agents");
    assert_int_equal(json_array_size(agents), MANY_AGENTS);
    assert_string_equal(json_string_value(fx_json_at(agents, "0.name")), "fleet-00000");
    char last[32];
    snprintf(last, sizeof last, "%d", MANY_AGENTS - 1);
    assert_string_equal(json_string_value(fx_json_at(fx_json_at(agents, last), "name")),
                        "fleet-04999");
    json_decref(v);
}

/* A client that reads a long answer and, at its first bytes, stops the
 * server: the answer must still come whole. */
typedef struct stopping_reader {
    fx_server *srv;
    fx_http got;
    bool stopped;
    fx_http probe; /* a new request, made after the stop */
} stopping_reader;

static size_t read_then_stop(char *ptr, size_t size, size_t n, void *arg)
{
    stopping_reader *sr = arg;
    if (!sr->stopped) {
        sr->stopped = true;
        kill(sr->srv->pid, SIGTERM);
        sleep_ms(300); /* the server stops accepting meanwhile */
        fx_get(sr->srv, &sr->probe, "/healthz");
    }
    return keep_body(ptr, size, n, &sr->got);
}

static void server_long_list_and_graceful_stop(void **state)
{
    served *s = SERVED(state);
    register_many(s->fx, MANY_AGENTS);
    fx_server_start(s->fx, &s->srv, NULL);
    fx_http r;
    fx_get(&s->srv, &r, "/v1/agents");
    assert_status(&r, 200);
    assert_false(r.transport_error);
    assert_whole_list(r.body, r.body_len);
    fx_http_free(&r);

    char url[128];
    snprintf(url, sizeof url, "%s/v1/agents?type=fleet", s->srv.base);
    stopping_reader sr = {.srv = &s->srv};
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 1024L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, read_then_stop);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sr);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    assert_true(sr.stopped);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status, 200);
    assert_whole_list(sr.got.body, sr.got.body_len);
    assert_int_equal(sr.probe.status, 0); /* no longer accepting */
    free(sr.got.body);
    fx_http_free(&sr.probe);
    stop_server(s);
    /* the request was in flight when the signal came, and finished after */
    char *log = fx_server_log(&s->srv);
    const char *signalled = strstr(log, "SIGTERM: finishing the requests in flight");
    assert_non_null(signalled);
    assert_non_null(strstr(signalled, "GET /v1/agents 200"));
    assert_contains(log, "stopped");
    free(log);
}

/* ---- the groups ------------------------------------------------------------------ */

int run_server_tests(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(server_probes),
        cmocka_unit_test(server_contract_routes_documented),
        cmocka_unit_test(server_contract_every_operation_answers),
        cmocka_unit_test(server_openapi_served),
        cmocka_unit_test(server_openapi_structure),
        cmocka_unit_test(server_openapi_validator),
        cmocka_unit_test(server_routing_404_405),
        cmocka_unit_test(server_body_over_limit),
        cmocka_unit_test(server_body_refusals),
        cmocka_unit_test(server_agents_list_equals_cli),
        cmocka_unit_test(server_agents_register_upserts),
        cmocka_unit_test(server_agent_show_equals_cli),
        cmocka_unit_test(server_agent_delete),
        cmocka_unit_test(server_heartbeat_status_and_metadata),
        cmocka_unit_test(server_transitions),
        cmocka_unit_test(server_locks),
        cmocka_unit_test(server_access_log),
        cmocka_unit_test(server_access_log_escapes_path),
        cmocka_unit_test(server_encoded_nul_refused),
        cmocka_unit_test(server_openapi_answers_match_schemas),
    };
    const struct CMUnitTest alone[] = {
        cmocka_unit_test_setup_teardown(server_readyz_follows_migration, alone_setup,
                                        alone_teardown),
        cmocka_unit_test_setup_teardown(server_tokens, alone_setup, alone_teardown),
        cmocka_unit_test_setup_teardown(server_long_list_and_graceful_stop, alone_setup,
                                        alone_teardown),
    };
    int failed = fx_tally_tests(shared, sizeof shared / sizeof *shared,
                                cmocka_run_group_tests_name("server", shared, shared_setup,
                                                            shared_teardown));
    return failed + fx_run_group("server_alone", alone);
}
