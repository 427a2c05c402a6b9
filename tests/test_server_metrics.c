/*
 * test_server_metrics.c - the metrics routes of `optiinfra serve`
 * (routes_metrics.c) over real HTTP, on either backend.
 *
 * Batches are posted to a real server and read back around the service,
 * with the library and raw SQL; every refusal is checked to have written
 * nothing.  A bad row is also given to `optiinfra metrics import`: both
 * paths read rows with the same code, so both must refuse it naming the
 * same line with the same reason.  Queries and aggregates are compared
 * with the CLI's --json output on the same database (equal rows, groups
 * and cursors) and with the library's own query (every row once, in order,
 * across pages).
 *
 * Batches are sent with their length (post_batch), not as C strings: one
 * of the bad rows holds a NUL byte.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT "Test Cost Agent" /* fx_setup_agent()'s */
#define OTHER "Other Agent"
#define NDJSON "application/x-ndjson"
#define ROWS 1000
#define BAD 500                 /* the bad row of a batch: line 501 of NDJSON */
#define T0 "2026-11-25T00:00:00Z"
#define SECOND INT64_C(1000000)

static oi_time t0(void)
{
    oi_time t;
    assert_int_equal(oi_time_parse(T0, &t), OI_OK);
    return t;
}

static void stop(fx_server *srv)
{
    assert_int_equal(fx_server_stop(srv), 0);
}

/* ---- batches ------------------------------------------------------------------ */

typedef struct batch {
    char *text;
    size_t len;
} batch;

/* Row i of a good batch: a second after row i - 1. */
static void write_row(FILE *f, const char *agent, int i)
{
    char at[OI_TIME_BUFSZ];
    fprintf(f, "{\"agent\": \"%s\", \"metric_name\": \"%s\", \"metric_value\": %d.25, "
               "\"metric_unit\": \"percent\", \"collection_timestamp\": \"%s\", "
               "\"metadata\": {\"i\": %d, \"region\": \"us-west\"}}",
            agent, i % 2 ? "gpu_utilization" : "cpu_utilization", i,
            oi_time_format(t0() + i * SECOND, at), i);
}

/* n rows of agent, NDJSON or a JSON array (an element per line); row
 * `bad`, when < n, is bad_row (bad_len bytes) instead. */
static batch make_batch(const char *agent, int n, bool array, int bad, const char *bad_row,
                        size_t bad_len)
{
    batch b = {NULL, 0};
    FILE *f = open_memstream(&b.text, &b.len);
    assert_non_null(f);
    fputs(array ? "[\n" : "", f);
    for (int i = 0; i < n; i++) {
        if (i == bad)
            fwrite(bad_row, 1, bad_len, f);
        else
            write_row(f, agent, i);
        fputs(array && i + 1 < n ? ",\n" : "\n", f);
    }
    fputs(array ? "]\n" : "", f);
    fclose(f);
    return b;
}

static batch good_batch(const char *agent, int n, bool array)
{
    return make_batch(agent, n, array, n, NULL, 0);
}

static batch text_batch(const char *text)
{
    return (batch){strdup(text), strlen(text)};
}

static size_t take(char *data, size_t size, size_t n, void *sink)
{
    return fwrite(data, 1, size * n, sink);
}

/* POST /v1/metrics with b's bytes as they are (fx_post() sends C strings);
 * a NULL token sends none. */
static void post_batch(const fx_server *srv, fx_http *out, const batch *b, const char *type,
                       const char *token)
{
    char url[128], content_type[128], auth[256];
    snprintf(url, sizeof url, "%s/v1/metrics", srv->base);
    snprintf(content_type, sizeof content_type, "Content-Type: %s", type);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, content_type);
    if (token)
        headers = curl_slist_append(headers, auth);
    memset(out, 0, sizeof *out);
    FILE *sink = open_memstream(&out->body, &out->body_len);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, b->text);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    out->transport_error = curl_easy_perform(curl) != CURLE_OK;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    fclose(sink);
    out->headers = strdup("");
    out->json = json_loadb(out->body, out->body_len, 0, NULL);
}

/* Post b and assert the status and, for an error, its code. */
static void expect_post(const fx_server *srv, const batch *b, const char *type,
                        const char *token, long status, const char *code, fx_http *out)
{
    post_batch(srv, out, b, type, token);
    assert_false(out->transport_error);
    assert_status(out, status);
    if (code)
        assert_string_equal(fx_http_error_code(out), code);
}

static long long accepted(const fx_http *r)
{
    return (long long)json_integer_value(json_object_get(r->json, "accepted"));
}

static const char *error_text(const fx_http *r, const char *member)
{
    return json_string_value(fx_json_at(r->json, member));
}

static long long error_int(const fx_http *r, const char *member)
{
    return (long long)json_integer_value(fx_json_at(r->json, member));
}

/* ---- POST /v1/metrics --------------------------------------------------------- */

/* The rows of metadata i = i: one per batch posted, as written. */
static void check_row(oi_fixture *fx, int i, size_t batches)
{
    char value[16];
    oi_metadata_match where = {"i", value};
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_agent_metric *rows;
    snprintf(value, sizeof value, "%d", i);
    f.where = &where;
    f.nwhere = 1;
    size_t n = fx_metric_query(fx, &f, &rows, NULL);
    assert_int_equal(n, batches);
    for (size_t k = 0; k < n; k++) {
        assert_string_equal(rows[k].agent_id, fx->cost_agent.id);
        assert_true(rows[k].metric_value == i + 0.25);
        assert_string_equal(rows[k].metric_unit, "percent");
        assert_true(rows[k].collection_timestamp == t0() + i * SECOND);
        json_t *meta = fx_json(rows[k].metadata), *want = json_pack("{s:i, s:s}", "i", i,
                                                                   "region", "us-west");
        assert_true(json_equal(meta, want));
        json_decref(meta);
        json_decref(want);
    }
    fx_free_agent_metrics(rows, n);
}

static void server_metrics_batches_accepted(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    fx_server_start(fx, &srv, NULL);
    for (int array = 1; array >= 0; array--) {
        batch b = good_batch(AGENT, ROWS, array);
        expect_post(&srv, &b, array ? "application/json" : NDJSON, NULL, 200, NULL, &r);
        assert_int_equal(accepted(&r), ROWS);
        assert_int_equal(fx_count(fx, "agent_metrics"), (array ? 1 : 2) * ROWS);
        fx_http_free(&r);
        free(b.text);
    }
    check_row(fx, 0, 2);
    check_row(fx, 777, 2);
    assert_int_equal(fx_sql_int(fx, "SELECT COUNT(*) FROM agent_metrics "
                                    "WHERE metric_name = 'gpu_utilization'"), ROWS);
    stop(&srv);
}

/* The array's own punctuation: what is refused 400, what 422, what passes. */
static void server_metrics_array_framing(void **state)
{
#define ROW "{\"agent\": \"" AGENT "\", \"metric_name\": \"x\", \"metric_value\": 1}"
    /* A refused element is named by its index, with the reason. */
    static const struct { const char *body; long status, index; const char *reason; } cases[] = {
        {"[" ROW, 400, -1, NULL},
        {"[" ROW ",]", 400, -1, NULL},
        {"[, " ROW "]", 400, -1, NULL},
        {"[" ROW "] []", 400, -1, NULL},
        {"{\"agent\": \"" AGENT "\"", 400, -1, NULL},
        {"not json", 400, -1, NULL},
        {ROW, 422, -1, NULL},
        {"[" ROW ", [5]]", 422, 1, "not a JSON object"}, /* the library's verdict */
        {"[" ROW ", 5]", 422, 1, "not valid JSON"},
        /* the reframing's: it cannot put the element on one line */
        {"[" ROW ", {\"agent\": \"" AGENT "\", \"metric_name\": \"x\ny\"}]", 422, 1,
         "raw line feed"},
    };
#undef ROW
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        batch b = text_batch(cases[i].body);
        expect_post(&srv, &b, "application/json", NULL, cases[i].status,
                    cases[i].status == 400 ? "malformed" : "invalid", &r);
        if (cases[i].reason) {
            assert_int_equal(error_int(&r, "error.index"), cases[i].index);
            assert_contains(error_text(&r, "error.reason"), cases[i].reason);
        }
        assert_int_equal(fx_count(fx, "agent_metrics"), 0);
        fx_http_free(&r);
        free(b.text);
    }
    /* An empty array, and an element written over several lines. */
    batch empty = text_batch(" [ ] "), pretty = text_batch(
        "[\r\n  {\r\n    \"agent\": \"" AGENT "\",\n    \"metric_name\": \"x\",\n"
        "    \"metric_value\": 1,\n    \"metadata\": {\n      \"k\": [1,\n 2]\n    }\n  }\n]");
    expect_post(&srv, &empty, "application/json", NULL, 200, NULL, &r);
    assert_int_equal(accepted(&r), 0);
    fx_http_free(&r);
    expect_post(&srv, &pretty, "application/json; charset=utf-8", NULL, 200, NULL, &r);
    assert_int_equal(accepted(&r), 1);
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
    fx_http_free(&r);
    free(empty.text);
    free(pretty.text);
    stop(&srv);
}

/* A bad row: what it is, and the exit code `metrics import` gives it. */
typedef struct bad_row {
    const char *what;
    const char *text;
    size_t len;
    int exit_code;
} bad_row;

#define BAD_ROW(what, text, exit_code) {what, text, sizeof text - 1, exit_code}

static const bad_row bad_rows[] = {
    BAD_ROW("a bad value", "{\"agent\": \"" AGENT "\", \"metric_name\": \"cpu\", "
            "\"metric_value\": \"abc\"}", 3),
    BAD_ROW("an unknown agent", "{\"agent\": \"No Such Agent\", \"metric_name\": \"cpu\", "
            "\"metric_value\": 1}", 4),
    BAD_ROW("a bad time", "{\"agent\": \"" AGENT "\", \"metric_name\": \"cpu\", "
            "\"metric_value\": 1, \"collection_timestamp\": \"yesterday\"}", 3),
    BAD_ROW("invalid UTF-8", "{\"agent\": \"" AGENT "\", \"metric_name\": \"cpu\xff\", "
            "\"metric_value\": 1}", 3),
    BAD_ROW("a NUL byte", "{\"agent\": \"" AGENT "\", \"metric_name\": \"cpu\0\", "
            "\"metric_value\": 1}", 3),
};

/* `metrics import --json` of b: the line and reason it refuses. */
static void import_refuses(oi_fixture *fx, const batch *b, const bad_row *bad,
                           const char *server_reason)
{
    char path[512];
    fx_run run;
    snprintf(path, sizeof path, "%s/bad.ndjson", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->text, 1, b->len, f), b->len);
    fclose(f);
    fx_cli(fx, &run, "metrics", "import", "--format", "ndjson", "--json", path, (char *)NULL);
    if (run.status != bad->exit_code)
        fail_msg("import of %s: exit %d, expected %d: %s", bad->what, run.status,
                 bad->exit_code, run.err);
    json_t *report = fx_json(run.out);
    assert_int_equal(json_integer_value(fx_json_at(report, "error.line")), BAD + 1);
    assert_string_equal(json_string_value(fx_json_at(report, "error.reason")), server_reason);
    json_decref(report);
    fx_run_free(&run);
}

static void server_metrics_bad_row_refused_like_import(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char named[32];
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof bad_rows / sizeof *bad_rows; i++) {
        const bad_row *bad = &bad_rows[i];
        batch nd = make_batch(AGENT, ROWS, false, BAD, bad->text, bad->len);
        batch ar = make_batch(AGENT, ROWS, true, BAD, bad->text, bad->len);
        expect_post(&srv, &nd, NDJSON, NULL, 422, "invalid", &r);
        assert_int_equal(error_int(&r, "error.line"), BAD + 1);
        snprintf(named, sizeof named, "line %d: ", BAD + 1);
        assert_contains(error_text(&r, "error.message"), named);
        char *reason = strdup(error_text(&r, "error.reason"));
        fx_http_free(&r);
        expect_post(&srv, &ar, "application/json", NULL, 422, "invalid", &r);
        assert_int_equal(error_int(&r, "error.index"), BAD);
        snprintf(named, sizeof named, "row %d: ", BAD);
        assert_contains(error_text(&r, "error.message"), named);
        assert_string_equal(error_text(&r, "error.reason"), reason);
        fx_http_free(&r);
        assert_int_equal(fx_count(fx, "agent_metrics"), 0);
        import_refuses(fx, &nd, bad, reason);
        assert_int_equal(fx_count(fx, "agent_metrics"), 0);
        free(reason);
        free(nd.text);
        free(ar.text);
    }
    stop(&srv);
}

static void server_metrics_wrong_content_type(void **state)
{
    static const char *const types[] = {"text/csv", "text/plain",
                                        "application/x-www-form-urlencoded",
                                        "application/x-ndjsonx"};
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    batch b = good_batch(AGENT, 3, false);
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        expect_post(&srv, &b, types[i], NULL, 415, "unsupported_media_type", &r);
        fx_http_free(&r);
    }
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    expect_post(&srv, &b, "Application/X-NDJSON; charset=utf-8", NULL, 200, NULL, &r);
    assert_int_equal(accepted(&r), 3);
    fx_http_free(&r);
    free(b.text);
    stop(&srv);
}

static void server_metrics_body_over_limit(void **state)
{
    static const char *const extra[] = {"--max-body", "1000", NULL};
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    batch big = good_batch(AGENT, 10, true), small = good_batch(AGENT, 2, false);
    assert_true(big.len > 1000 && small.len < 1000);
    fx_server_start(fx, &srv, extra);
    expect_post(&srv, &big, "application/json", NULL, 413, "too_large", &r);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    expect_post(&srv, &small, NDJSON, NULL, 200, NULL, &r);
    assert_int_equal(accepted(&r), 2);
    fx_http_free(&r);
    free(big.text);
    free(small.text);
    stop(&srv);
}

static void server_metrics_agent_token_own_rows_only(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_server srv;
    fx_http r;
    char agent_token[128], admin[128], reader[128];
    fx_make_agent(fx, "performance", OTHER, &other);
    fx_make_token(fx, "--agent", AGENT, agent_token, sizeof agent_token);
    fx_make_token(fx, "--admin", NULL, admin, sizeof admin);
    fx_make_token(fx, "--read-only", NULL, reader, sizeof reader);
    fx_server_start(fx, &srv, NULL);

    char foreign[256], by_id[512];
    snprintf(foreign, sizeof foreign, "{\"agent\": \"%s\", \"metric_name\": \"cpu\", "
             "\"metric_value\": 1}", other.id);
    for (int array = 0; array <= 1; array++) {
        batch b = make_batch(AGENT, 10, array, 5, foreign, strlen(foreign));
        expect_post(&srv, &b, array ? "application/json" : NDJSON, agent_token, 403,
                    "forbidden", &r);
        assert_contains(error_text(&r, "error.message"), array ? "row 5:" : "line 6:");
        fx_http_free(&r);
        expect_post(&srv, &b, NDJSON, reader, 403, "forbidden", &r);
        fx_http_free(&r);
        expect_post(&srv, &b, NDJSON, NULL, 401, NULL, &r);
        fx_http_free(&r);
        free(b.text);
    }
    /* The check reads lines as the import does: after a byte order mark
     * too.  A row naming no agent it can find is the import's to refuse. */
    char with_bom[300];
    snprintf(with_bom, sizeof with_bom, "\xEF\xBB\xBF%s\n", foreign);
    batch bom = text_batch(with_bom), unknown = text_batch(bad_rows[1].text);
    expect_post(&srv, &bom, NDJSON, agent_token, 403, "forbidden", &r);
    assert_contains(error_text(&r, "error.message"), "line 1:");
    fx_http_free(&r);
    expect_post(&srv, &unknown, NDJSON, agent_token, 422, "invalid", &r);
    assert_int_equal(error_int(&r, "error.line"), 1);
    fx_http_free(&r);
    free(bom.text);
    free(unknown.text);
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);

    /* Its own agent, by id or by name, in one batch; an admin writes any. */
    snprintf(by_id, sizeof by_id, "{\"agent\": \"%s\", \"metric_name\": \"cpu\", "
             "\"metric_value\": 1}", fx->cost_agent.id);
    batch own = make_batch(AGENT, 10, false, 3, by_id, strlen(by_id));
    expect_post(&srv, &own, NDJSON, agent_token, 200, NULL, &r);
    assert_int_equal(accepted(&r), 10);
    fx_http_free(&r);
    batch theirs = good_batch(OTHER, 4, true);
    expect_post(&srv, &theirs, "application/json", admin, 200, NULL, &r);
    assert_int_equal(accepted(&r), 4);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), 14);
    free(own.text);
    free(theirs.text);
    oi_agent_clear(&other);
    stop(&srv);
}

/* ---- GET /v1/metrics and /v1/metrics/aggregate --------------------------------- */

#define NSEEDED 250

/* Rows of two agents and three names; two rows share each minute, so the
 * id breaks ties. */
static void seed_metrics(oi_fixture *fx, oi_agent *other)
{
    static const char *const names[] = {"cpu", "gpu", "mem"};
    oi_agent_metric items[NSEEDED];
    fx_make_agent(fx, "performance", OTHER, other);
    for (int i = 0; i < NSEEDED; i++) {
        items[i] = (oi_agent_metric)OI_AGENT_METRIC_INIT;
        memcpy(items[i].agent_id, i % 4 ? fx->cost_agent.id : other->id, sizeof(oi_uuid));
        items[i].metric_name = (char *)names[i % 3];
        items[i].metric_value = i * 1.5;
        items[i].metric_unit = (char *)"ms";
        items[i].collection_timestamp = t0() + (i / 2) * 60 * SECOND;
        items[i].metadata = (char *)(i % 5 ? "{\"region\": \"us-west\"}" : "{\"region\": \"eu\"}");
    }
    assert_ok(fx, fx_record_batch(fx->store, items, NSEEDED));
}

/* GET path, 200, its JSON in *r. */
static void get_ok(const fx_server *srv, const char *path, fx_http *r)
{
    fx_get(srv, r, path);
    assert_false(r->transport_error);
    assert_status(r, 200);
    assert_non_null(r->json);
}

/* Every page of `query` (a path with arguments, no cursor): the ids in
 * the order given, each page at most `limit` rows. */
static size_t read_pages(const fx_server *srv, const char *query, size_t limit, int64_t *ids,
                         size_t max)
{
    char path[1024], cursor[OI_CURSOR_BUFSZ] = "";
    size_t n = 0, pages = 0;
    do {
        fx_http r;
        snprintf(path, sizeof path, "%s%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
        get_ok(srv, path, &r);
        json_t *rows = json_object_get(r.json, "metrics"), *next;
        assert_true(json_array_size(rows) <= limit);
        for (size_t i = 0; i < json_array_size(rows); i++) {
            assert_true(n < max);
            ids[n++] = json_integer_value(json_object_get(json_array_get(rows, i), "id"));
        }
        next = json_object_get(r.json, "next_cursor");
        assert_true(json_is_null(next) || json_is_string(next));
        snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next)
                                                                   : "");
        fx_http_free(&r);
        assert_true(++pages <= NSEEDED);
    } while (cursor[0]);
    return n;
}

/* The library's answer to the same filter, read whole, against ids. */
static void same_as_library(oi_fixture *fx, const oi_metric_filter *f, const int64_t *ids,
                            size_t n)
{
    oi_agent_metric *rows;
    size_t want = fx_metric_query(fx, f, &rows, NULL);
    assert_true(want > 0);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], rows[i].id);
    fx_free_agent_metrics(rows, want);
}

static void server_metrics_query_pages(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_server srv;
    int64_t ids[NSEEDED];
    seed_metrics(fx, &other);
    fx_server_start(fx, &srv, NULL);

    /* Every filter at once, 7 rows a page, both orders. */
    const char *names[] = {"cpu", "gpu"};
    oi_metadata_match where = {"region", "us-west"};
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = fx->cost_agent.id;
    f.metric_names = names;
    f.nmetric_names = 2;
    f.where = &where;
    f.nwhere = 1;
    assert_int_equal(oi_time_parse("2026-11-25T00:10:00Z", &f.from), OI_OK);
    assert_int_equal(oi_time_parse("2026-11-25T01:40:00Z", &f.to), OI_OK);
    const char *query = "/v1/metrics?agent=Test%20Cost%20Agent&name=cpu&name=gpu"
                        "&from=2026-11-25T00:10:00Z&to=2026-11-25T01:40:00Z"
                        "&where=region%3Dus-west&limit=7";
    size_t n = read_pages(&srv, query, 7, ids, NSEEDED);
    same_as_library(fx, &f, ids, n);
    f.newest_first = true;
    char newest[1024];
    snprintf(newest, sizeof newest, "%s&newest_first=true", query);
    assert_int_equal(read_pages(&srv, newest, 7, ids, NSEEDED), n);
    same_as_library(fx, &f, ids, n);

    /* No filter, no limit: pages of 100, every row once, oldest first. */
    oi_metric_filter all = OI_METRIC_FILTER_INIT;
    assert_int_equal(read_pages(&srv, "/v1/metrics?", 100, ids, NSEEDED), NSEEDED);
    same_as_library(fx, &all, ids, NSEEDED);
    fx_http r;
    get_ok(&srv, "/v1/metrics", &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "metrics")), 100);
    assert_true(json_is_string(json_object_get(r.json, "next_cursor")));
    fx_http_free(&r);
    get_ok(&srv, "/v1/metrics?limit=0", &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "metrics")), NSEEDED);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    fx_http_free(&r);
    oi_agent_clear(&other);
    stop(&srv);
}

/* The document `optiinfra ARGS...` prints (its nargs arguments end with --json). */
static json_t *cli_json(oi_fixture *fx, const char *const *args, size_t nargs)
{
    fx_run run;
    fx_cli_argv(fx, &run, true, args, nargs);
    if (run.status != 0)
        fail_msg("%s %s: exit %d: %s", args[0], args[1], run.status, run.err);
    json_t *doc = fx_json(run.out);
    fx_run_free(&run);
    return doc;
}

static void assert_json_equal(json_t *got, json_t *want)
{
    if (json_equal(got, want))
        return;
    char *g = json_dumps(got, JSON_ENCODE_ANY), *w = json_dumps(want, JSON_ENCODE_ANY);
    fail_msg("HTTP gave %.2000s\nthe CLI %.2000s", g, w);
}

static void server_metrics_query_equals_cli(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_server srv;
    fx_http r;
    char path[512];
    seed_metrics(fx, &other);
    fx_server_start(fx, &srv, NULL);
    const char *args[] = {"metrics", "query", "--agent", OTHER, "--name", "cpu", "--name",
                          "mem", "--where", "region=us-west", "--limit", "9", "--json",
                          "--cursor", NULL};
    json_t *cli = cli_json(fx, args, 13);
    get_ok(&srv, "/v1/metrics?agent=Other%20Agent&name=cpu&name=mem&where=region=us-west"
                 "&limit=9", &r);
    assert_int_equal(json_array_size(json_object_get(cli, "rows")), 9);
    assert_json_equal(json_object_get(r.json, "metrics"), json_object_get(cli, "rows"));
    assert_json_equal(json_object_get(r.json, "next_cursor"),
                      json_object_get(cli, "next_cursor"));

    /* The second page, from the same cursor on both paths. */
    args[14] = json_string_value(json_object_get(cli, "next_cursor"));
    snprintf(path, sizeof path, "/v1/metrics?agent=Other%%20Agent&name=cpu&name=mem"
             "&where=region=us-west&limit=9&cursor=%s", args[14]);
    json_t *cli2 = cli_json(fx, args, 15);
    fx_http_free(&r);
    get_ok(&srv, path, &r);
    assert_true(json_array_size(json_object_get(cli2, "rows")) > 0);
    assert_json_equal(json_object_get(r.json, "metrics"), json_object_get(cli2, "rows"));
    assert_json_equal(json_object_get(r.json, "next_cursor"),
                      json_object_get(cli2, "next_cursor"));
    fx_http_free(&r);
    json_decref(cli);
    json_decref(cli2);
    oi_agent_clear(&other);
    stop(&srv);
}

static void server_metrics_aggregate_equals_cli(void **state)
{
    static const struct { const char *query; const char *args[12]; size_t nargs; } cases[] = {
        {"bucket=1h&by=agent,name", {"metrics", "aggregate", "--bucket", "1h", "--by",
                                     "agent,name", "--json"}, 7},
        {"by=name&where=region=eu&from=2026-11-25T00:30:00Z",
         {"metrics", "aggregate", "--by", "name", "--where", "region=eu", "--from",
          "2026-11-25T00:30:00Z", "--json"}, 9},
        {"agent=Test%20Cost%20Agent&name=gpu&bucket=30m",
         {"metrics", "aggregate", "--agent", AGENT, "--name", "gpu", "--bucket", "30m",
          "--json"}, 9},
        {"", {"metrics", "aggregate", "--json"}, 3},
    };
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_server srv;
    fx_http r;
    char path[512];
    seed_metrics(fx, &other);
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *cli = cli_json(fx, cases[i].args, cases[i].nargs);
        snprintf(path, sizeof path, "/v1/metrics/aggregate?%s", cases[i].query);
        get_ok(&srv, path, &r);
        assert_true(json_array_size(json_object_get(cli, "rows")) > 0);
        assert_json_equal(json_object_get(r.json, "groups"), json_object_get(cli, "rows"));
        fx_http_free(&r);
        json_decref(cli);
    }
    oi_agent_clear(&other);
    stop(&srv);
}

static void server_metrics_bad_argument(void **state)
{
    static const struct { const char *path, *named; } cases[] = {
        {"/v1/metrics?limit=ten", "limit"},
        {"/v1/metrics?limit=-1", "limit"},
        {"/v1/metrics?limit=1000000001", "limit"},
        {"/v1/metrics?from=yesterday", "from"},
        {"/v1/metrics?to=2026-13-01T00:00:00Z", "to"},
        {"/v1/metrics?since=0s", "since"},
        {"/v1/metrics?since=1h&from=2026-11-25T00:00:00Z", "since"},
        {"/v1/metrics?where=region", "where"},
        {"/v1/metrics?where==eu", "where"},
        {"/v1/metrics?newest_first=maybe", "newest_first"},
        {"/v1/metrics?cursor=xyz", "cursor"},
        {"/v1/metrics?newest_first=true&cursor=o0000000000000001000000000000000a", "cursor"},
        {"/v1/metrics?nmae=cpu", "nmae"},
        {"/v1/metrics?bucket=1h", "bucket"},
        {"/v1/metrics/aggregate?bucket=90ms", "bucket"},
        {"/v1/metrics/aggregate?bucket=90", "bucket"},
        {"/v1/metrics/aggregate?by=color", "by"},
        {"/v1/metrics/aggregate?limit=5", "limit"},
        {"/v1/metrics/aggregate?since=-1h", "since"},
    };
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_server srv;
    fx_http r;
    seed_metrics(fx, &other);
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fx_get(&srv, &r, cases[i].path);
        assert_status(&r, 422);
        assert_string_equal(fx_http_error_code(&r), "invalid");
        assert_contains(error_text(&r, "error.message"), cases[i].named);
        fx_http_free(&r);
    }
    fx_get(&srv, &r, "/v1/metrics?agent=Nobody");
    assert_status(&r, 404);
    fx_http_free(&r);
    fx_get(&srv, &r, "/v1/metrics/aggregate?agent=Nobody");
    assert_status(&r, 404);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), NSEEDED);
    oi_agent_clear(&other);
    stop(&srv);
}

int run_server_metrics_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(server_metrics_batches_accepted,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_array_framing, fx_setup_agent,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_bad_row_refused_like_import,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_wrong_content_type,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_body_over_limit, fx_setup_agent,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_agent_token_own_rows_only,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_query_pages, fx_setup_agent,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_query_equals_cli,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_aggregate_equals_cli,
                                        fx_setup_agent, fx_teardown),
        cmocka_unit_test_setup_teardown(server_metrics_bad_argument, fx_setup_agent,
                                        fx_teardown),
    };
    return fx_run_group("server_metrics", tests);
}
