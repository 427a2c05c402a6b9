/*
 * test_server_console.c - the web console's routes (routes_console.c) and
 * the route it added to the API (GET /v1/recommendations), over real HTTP
 * to a real `optiinfra serve`.
 *
 * What is checked: GET / and every /ui/ file answer the bytes of their
 * source (the console's files in src/server/console/, Chart.js and its
 * licence from Debian's libjs-chart.js) with their content type; every
 * console answer, 304 and 404 included, carries the Content-Security-
 * Policy, nosniff, no-referrer and no-cache; If-None-Match with the ETag
 * (alone, weak, in a list, or *) is 304 without a body; HEAD is the
 * headers alone; the files need no token once tokens exist while the API
 * still does; unknown files and path traversal, plain and percent-encoded,
 * are 404 and never a file of the disk (the requests are sent as written:
 * libcurl would otherwise squash the dot segments before they reach the
 * server).  The console's sources are checked for what the policy would
 * break or an injection would need: no inline script or style, no
 * innerHTML or eval.  GET /v1/recommendations lists every customer's, and
 * filters by status with the library's check.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_DIR "src/server/console/"
/* Where the Makefile's CHARTJS and CHARTJS_LICENSE point by default. */
#define CHARTJS_FILE "/usr/share/javascript/chart.js/chart.min.js"
#define CHARTJS_LICENSE_FILE "/usr/share/doc/libjs-chart.js/copyright"
#define CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "   \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* ---- helpers ------------------------------------------------------------------ */

static void assert_header(const fx_http *r, const char *name, const char *want)
{
    char *value = fx_http_header(r, name);
    if (!value)
        fail_msg("no %s header in: %s", name, r->headers);
    if (strcmp(value, want) != 0)
        fail_msg("%s: '%s', not '%s'", name, value, want);
    free(value);
}

/* The headers every console answer carries. */
static void assert_console_headers(const fx_http *r)
{
    assert_header(r, "Content-Security-Policy", CSP);
    assert_header(r, "X-Content-Type-Options", "nosniff");
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "Cache-Control", "no-cache");
}

/* GET path: 200 with the bytes of file, of content type, and the
 * console's headers; its ETag into etag (etagsize bytes). */
static void assert_serves(const fx_server *srv, const char *path, const char *file,
                          const char *type, char *etag, size_t etagsize)
{
    fx_http r;
    char *want = fx_slurp(file);
    if (!*want)
        fail_msg("cannot read %s (run the tests from the repository's top)", file);
    fx_get(srv, &r, path);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", type);
    assert_console_headers(&r);
    if (r.body_len != strlen(want) || memcmp(r.body, want, r.body_len) != 0)
        fail_msg("GET %s: %zu bytes that are not %s's %zu", path, r.body_len, file,
                 strlen(want));
    char *tag = fx_http_header(&r, "ETag");
    assert_non_null(tag);
    assert_true(strlen(tag) == 34 && tag[0] == '"' && tag[33] == '"'); /* 128 bits in hex */
    snprintf(etag, etagsize, "%s", tag);
    free(tag);
    fx_http_free(&r);
    free(want);
}

/* GET path sent exactly as written (no dot-segment squashing): its status;
 * fails if the answer holds must_not_hold (a file never to be served). */
static long raw_get(const fx_server *srv, const char *path, const char *must_not_hold)
{
    char url[512];
    fx_sink body = {0}, head = {0};
    long status = 0;
    snprintf(url, sizeof url, "%s%s", srv->base, path);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (body.data && strstr(body.data, must_not_hold))
        fail_msg("GET %s answered a file of the disk: %.200s", path, body.data);
    free(body.data);
    free(head.data);
    return status;
}

static void stop(fx_server *srv)
{
    assert_int_equal(fx_server_stop(srv), 0);
}

/* ---- the files ------------------------------------------------------------------- */

static void server_console_serves_its_files(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    char etag[64], other[64];
    fx_server_start(fx, &srv, NULL);
    assert_serves(&srv, "/", CONSOLE_DIR "index.html", "text/html; charset=utf-8", etag,
                  sizeof etag);
    assert_serves(&srv, "/ui/index.html", CONSOLE_DIR "index.html",
                  "text/html; charset=utf-8", other, sizeof other);
    assert_string_equal(etag, other);
    assert_serves(&srv, "/ui/console.css", CONSOLE_DIR "console.css",
                  "text/css; charset=utf-8", other, sizeof other);
    assert_string_not_equal(etag, other);
    assert_serves(&srv, "/ui/console.js", CONSOLE_DIR "console.js",
                  "text/javascript; charset=utf-8", other, sizeof other);
    assert_serves(&srv, "/ui/chart.js", CHARTJS_FILE, "text/javascript; charset=utf-8", other,
                  sizeof other);
    assert_serves(&srv, "/ui/licenses", CHARTJS_LICENSE_FILE, "text/plain; charset=utf-8",
                  other, sizeof other);
    stop(&srv);
}

/* If-None-Match with the file's ETag, in the forms browsers and caches send. */
static void server_console_not_modified(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char etag[64], header[160];
    fx_server_start(fx, &srv, NULL);
    assert_serves(&srv, "/ui/console.js", CONSOLE_DIR "console.js",
                  "text/javascript; charset=utf-8", etag, sizeof etag);
    const char *const forms[] = {"%s", "W/%s", "\"0123\", %s", "*", NULL};
    for (const char *const *form = forms; *form; form++) {
        char value[128];
        snprintf(value, sizeof value, *form, etag);
        snprintf(header, sizeof header, "If-None-Match: %s", value);
        fx_request(&srv, &r, "GET", "/ui/console.js", NULL, NULL,
                   (const char *const[]){header, NULL});
        assert_status(&r, 304);
        assert_int_equal(r.body_len, 0);
        assert_header(&r, "ETag", etag);
        assert_console_headers(&r);
        fx_http_free(&r);
    }
    /* another file's tag, or an old one, is the whole file */
    fx_request(&srv, &r, "GET", "/", NULL, NULL, (const char *const[]){header, NULL});
    assert_status(&r, 304); /* "*" matches any file */
    fx_http_free(&r);
    snprintf(header, sizeof header, "If-None-Match: %s", etag);
    fx_request(&srv, &r, "GET", "/", NULL, NULL, (const char *const[]){header, NULL});
    assert_status(&r, 200);
    assert_true(r.body_len > 0);
    fx_http_free(&r);
    fx_request(&srv, &r, "GET", "/ui/console.js", NULL, NULL,
               (const char *const[]){"If-None-Match: \"0123\"", NULL});
    assert_status(&r, 200);
    fx_http_free(&r);
    stop(&srv);
}

static void server_console_head(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char *page = fx_slurp(CONSOLE_DIR "index.html"), length[32];
    fx_server_start(fx, &srv, NULL);
    fx_request(&srv, &r, "HEAD", "/", NULL, NULL, NULL);
    assert_status(&r, 200);
    assert_int_equal(r.body_len, 0);
    snprintf(length, sizeof length, "%zu", strlen(page));
    assert_header(&r, "Content-Length", length);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_console_headers(&r);
    fx_http_free(&r);
    fx_request(&srv, &r, "HEAD", "/ui/nothing.js", NULL, NULL, NULL);
    assert_status(&r, 404);
    assert_console_headers(&r);
    fx_http_free(&r);
    fx_request(&srv, &r, "POST", "/", "{}", NULL, NULL);
    assert_status(&r, 405);
    assert_header(&r, "Allow", "GET, HEAD");
    fx_http_free(&r);
    stop(&srv);
    free(page);
}

/* The files are public, as /openapi.json is; the data is not. */
static void server_console_needs_no_token(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char admin[OI_TOKEN_BUFSZ];
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, "console", admin, NULL));
    fx_server_start(fx, &srv, NULL);
    const char *const paths[] = {"/", "/ui/console.js", "/ui/console.css", "/ui/chart.js",
                                 "/ui/licenses", NULL};
    for (const char *const *p = paths; *p; p++) {
        fx_get(&srv, &r, *p);
        assert_status(&r, 200);
        fx_http_free(&r);
    }
    fx_get(&srv, &r, "/v1/agents");
    assert_status(&r, 401);
    fx_http_free(&r);
    stop(&srv);
}

static void server_console_unknown_and_traversal(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    fx_server_start(fx, &srv, NULL);
    fx_get(&srv, &r, "/ui/nothing.js");
    assert_status(&r, 404);
    assert_string_equal(fx_http_error_code(&r), "not_found");
    assert_not_contains(r.body, "nothing.js"); /* the name asked is not echoed */
    assert_console_headers(&r);
    fx_http_free(&r);
    /* the Makefile's first line, a file the server must never answer */
    const char *const makefile = "# optiinfra - build, test and install.";
    const char *const paths[] = {
        "/ui/../Makefile", "/ui/%2e%2e/Makefile", "/ui/%2E%2E%2FMakefile", "/ui/..%2fMakefile",
        "/ui/../../Makefile", "/ui/%2e%2e/%2e%2e/Makefile", "/ui/....//Makefile",
        "/ui//Makefile", "/ui/./index.html/../../Makefile",
        "/ui/INDEX.HTML", "/ui/console.js.map", NULL
    };
    for (const char *const *p = paths; *p; p++) {
        long status = raw_get(&srv, *p, makefile);
        if (status != 404)
            fail_msg("GET %s: %ld, not 404", *p, status);
    }
    assert_int_equal(raw_get(&srv, "/ui/%00", makefile), 400); /* an encoded NUL: malformed */
    assert_int_equal(raw_get(&srv, "/../Makefile", makefile), 404);
    assert_int_equal(raw_get(&srv, "/Makefile", makefile), 404);
    stop(&srv);
}

/* What the Content-Security-Policy forbids, and what an injection needs,
 * is absent from the console's sources. */
static void server_console_sources_are_policy_clean(void **state)
{
    (void)state;
    char *page = fx_slurp(CONSOLE_DIR "index.html");
    char *script = fx_slurp(CONSOLE_DIR "console.js");
    char *chart = fx_slurp(CHARTJS_FILE);
    assert_true(*page && *script && *chart);
    assert_not_contains(page, "<script>");
    assert_not_contains(page, "<style");
    assert_not_contains(page, "style=");
    assert_not_contains(page, "onclick");
    assert_not_contains(page, "onload");
    assert_not_contains(page, "javascript:");
    const char *const banned[] = {"innerHTML", "outerHTML", "insertAdjacentHTML",
                                  "document.write", "eval(", "new Function", "console.log",
                                  "localStorage", NULL};
    for (const char *const *b = banned; *b; b++)
        assert_not_contains(script, *b);
    assert_not_contains(chart, "eval(");
    assert_not_contains(chart, "new Function");
    free(page);
    free(script);
    free(chart);
}

/* ---- GET /v1/recommendations ---------------------------------------------------------- */

static void server_console_recommendations_of_every_customer(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    oi_customer acme = OI_CUSTOMER_INIT, other = OI_CUSTOMER_INIT;
    oi_recommendation first = OI_RECOMMENDATION_INIT, second = OI_RECOMMENDATION_INIT,
                      third = OI_RECOMMENDATION_INIT;
    fx_server_start(fx, &srv, NULL);
    fx_get(&srv, &r, "/v1/recommendations");
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "recommendations")), 0);
    fx_http_free(&r);
    fx_get(&srv, &r, "/v1/recommendations?status=pendng");
    assert_status(&r, 422); /* checked without any customer too */
    fx_http_free(&r);
    fx_make_customer(fx, "ops@acme.ai", &acme);
    fx_make_customer(fx, "cto@other.io", &other);
    fx_make_recommendation(fx, acme.id, fx->cost_agent.id, &first);
    fx_make_recommendation(fx, other.id, fx->cost_agent.id, &second);
    fx_make_recommendation(fx, other.id, fx->cost_agent.id, &third);
    assert_ok(fx, oi_recommendation_approve(fx->store, second.id, "ops", "fine", NULL));

    fx_get(&srv, &r, "/v1/recommendations");
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "recommendations");
    assert_int_equal(json_array_size(list), 3);
    bool seen[3] = {false};
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *id = json_string_value(json_object_get(item, "id"));
        seen[0] |= strcmp(id, first.id) == 0;
        seen[1] |= strcmp(id, second.id) == 0;
        seen[2] |= strcmp(id, third.id) == 0;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    fx_http_free(&r);

    fx_get(&srv, &r, "/v1/recommendations?status=pending");
    assert_status(&r, 200);
    list = json_object_get(r.json, "recommendations");
    assert_int_equal(json_array_size(list), 2);
    json_array_foreach(list, i, item)
        assert_string_equal(json_string_value(json_object_get(item, "status")), "pending");
    fx_http_free(&r);

    fx_get(&srv, &r, "/v1/recommendations?status=pendng");
    assert_status(&r, 422);
    fx_http_free(&r);
    fx_get(&srv, &r, "/v1/recommendations?stauts=pending"); /* must not widen the list */
    assert_status(&r, 422);
    fx_http_free(&r);
    oi_customer_clear(&acme);
    oi_customer_clear(&other);
    oi_recommendation_clear(&first);
    oi_recommendation_clear(&second);
    oi_recommendation_clear(&third);
    stop(&srv);
}

int run_server_console_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(server_console_serves_its_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_console_not_modified, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_console_head, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_console_needs_no_token, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_console_unknown_and_traversal, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(server_console_sources_are_policy_clean),
        cmocka_unit_test_setup_teardown(server_console_recommendations_of_every_customer,
                                        fx_setup_agent, fx_teardown),
    };
    return fx_run_group("server_console", tests);
}
