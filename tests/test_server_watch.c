/*
 * test_server_watch.c - GET /v1/watch, the long-poll watches of `optiinfra
 * serve` (src/server/watch.c), over real HTTP to a real server process.
 *
 * Watches are opened side by side on one libcurl multi handle, so a test
 * holds hundreds of them open from one thread and sees when each answers.
 * That a watch is waiting at the server (not still on its way) is read
 * from the server's own gauge, optiinfra_watches, before anything changes.
 *
 * What is checked: a heartbeat wakes exactly the watches of its agent,
 * with the changes it made, and no other watch answers (the latency from
 * the heartbeat's answer to each woken watch is printed; the issue's
 * target is 100 ms, the assertion allows 1 s for a loaded machine); a
 * change by another process (the CLI) wakes a watch, and on PostgreSQL a
 * change through a second server does; a watch with nothing to report
 * answers at its deadline with the current revision; a `since` older than
 * the change log is 410; bad arguments are 422 and change nothing; a stop
 * answers every open watch at once and exits 0.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AGENTS 20
#define WATCHES_PER_AGENT 10
#define MAX_WATCHERS (AGENTS * WATCHES_PER_AGENT)
#define WAKE_BOUND_MS 1000   /* the issue asks for 100 ms; a busy CI gets slack */
#define QUIET_MS 300         /* how long the others are watched for not answering */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- watches in flight: one curl multi handle ------------------------------- */

typedef struct watcher {
    CURL *easy;
    fx_sink body, head;
    long status;
    int64_t done_at;   /* monotonic microseconds; 0 while waiting */
    bool failed;       /* at the transport */
} watcher;

typedef struct watchers {
    CURLM *multi;
    watcher w[MAX_WATCHERS];
    size_t n;
} watchers;

static void watchers_init(watchers *ws)
{
    memset(ws, 0, sizeof *ws);
    ws->multi = curl_multi_init();
    assert_non_null(ws->multi);
}

/* Open GET path (with its query) on srv; its index in ws->w is returned. */
static size_t watchers_add(watchers *ws, const fx_server *srv, const char *path)
{
    char url[512];
    assert_true(ws->n < MAX_WATCHERS);
    watcher *w = &ws->w[ws->n];
    snprintf(url, sizeof url, "%s%s", srv->base, path);
    w->easy = curl_easy_init();
    assert_non_null(w->easy);
    curl_easy_setopt(w->easy, CURLOPT_URL, url);
    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, fx_http_take);
    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, &w->body);
    curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, fx_http_take);
    curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, &w->head);
    curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
    assert_int_equal(curl_multi_add_handle(ws->multi, w->easy), CURLM_OK);
    return ws->n++;
}

/* Move the transfers on for up to ms milliseconds, noting when each ends;
 * returns early once `until` (if not NULL) says so. */
static void watchers_drive(watchers *ws, int ms, bool (*until)(const watchers *, void *),
                           void *arg)
{
    int64_t end = now_us() + (int64_t)ms * 1000;
    while (now_us() < end && !(until && until(ws, arg))) {
        int running;
        curl_multi_perform(ws->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(ws->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            watcher *w;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
            w->done_at = now_us();
            w->failed = msg->data.result != CURLE_OK;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &w->status);
        }
        if (until && until(ws, arg))
            break;
        curl_multi_poll(ws->multi, NULL, 0, 2, NULL);
    }
}

static void watchers_free(watchers *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        curl_multi_remove_handle(ws->multi, ws->w[i].easy);
        curl_easy_cleanup(ws->w[i].easy);
        free(ws->w[i].body.data);
        free(ws->w[i].head.data);
    }
    curl_multi_cleanup(ws->multi);
    memset(ws, 0, sizeof *ws);
}

static size_t watchers_done(const watchers *ws)
{
    size_t n = 0;
    for (size_t i = 0; i < ws->n; i++)
        n += ws->w[i].done_at != 0;
    return n;
}

static bool all_done(const watchers *ws, void *arg)
{
    (void)arg;
    return watchers_done(ws) == ws->n;
}

/* The watcher's answer, parsed: {"revision", "changes"}; json_decref() it. */
static json_t *answer_of(const watcher *w)
{
    if (w->failed || !w->body.data)
        fail_msg("a watch failed at the transport (status %ld)", w->status);
    json_t *j = json_loads(w->body.data, 0, NULL);
    if (!j)
        fail_msg("a watch answered %ld, not JSON: %s", w->status, w->body.data);
    return j;
}

/* The X-Optiinfra-Revision header of a watcher's answer, or -1. */
static long long revision_header(const watcher *w)
{
    const char *h = w->head.data ? strcasestr(w->head.data, "\nX-Optiinfra-Revision:") : NULL;
    return h ? strtoll(h + strlen("\nX-Optiinfra-Revision:"), NULL, 10) : -1;
}

/* ---- the server ------------------------------------------------------------ */

/* The value of the unlabelled sample `name` in a scrape of srv, or -1. */
static long long scrape_sample(const fx_server *srv, const char *name)
{
    fx_http r;
    fx_get(srv, &r, "/metrics");
    assert_status(&r, 200);
    long long v = -1;
    size_t n = strlen(name);
    for (const char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            v = strtoll(p + n + 1, NULL, 10);
    fx_http_free(&r);
    return v;
}

/* Drive ws until srv says `open` watches wait (they have all arrived). */
static void await_open_watches(watchers *ws, const fx_server *srv, long long open)
{
    for (int i = 0; i < 1000; i++) {
        watchers_drive(ws, 10, NULL, NULL);
        if (scrape_sample(srv, "optiinfra_watches") == open)
            return;
    }
    fail_msg("the server never had %lld watches open (it has %lld)", open,
             scrape_sample(srv, "optiinfra_watches"));
}

static int64_t store_revision(oi_fixture *fx)
{
    int64_t rev;
    assert_ok(fx, oi_store_revision(fx->store, &rev));
    return rev;
}

static void heartbeat(const fx_server *srv, const char *agent_id)
{
    char path[128];
    fx_http r;
    snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", agent_id);
    fx_post(srv, &r, path, "{\"status\": \"busy\"}");
    assert_status(&r, 200);
    fx_http_free(&r);
}

/* Every change of w's answer is of agent_id (NULL: any), after since, in
 * order, and the answer's revision is the header's and at least the last
 * change's; the number of changes is returned. */
static size_t check_answer(const watcher *w, const char *agent_id, int64_t since)
{
    assert_int_equal(w->status, 200);
    json_t *j = answer_of(w);
    json_t *changes = json_object_get(j, "changes");
    long long revision = json_integer_value(json_object_get(j, "revision"));
    assert_true(json_is_array(changes));
    assert_int_equal(revision, revision_header(w));
    long long previous = since, last = 0;
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c) {
        long long r = json_integer_value(json_object_get(c, "revision"));
        assert_true(r > previous);
        previous = last = r;
        if (agent_id)
            assert_string_equal(json_string_value(json_object_get(c, "agent_id")), agent_id);
    }
    assert_true(revision >= last);
    size_t n = json_array_size(changes);
    json_decref(j);
    return n;
}

/* w was woken by a heartbeat of agent_id: its changes are the agent's,
 * and one is of its state (a beat always writes agent_states; whether the
 * agents row is logged too depends on what else the beat changed). */
static void assert_woken_by_beat(const watcher *w, const char *agent_id, int64_t since)
{
    assert_true(check_answer(w, agent_id, since) >= 1);
    json_t *j = answer_of(w);
    bool of_state = false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "changes"), i, c)
        of_state |= strcmp(json_string_value(json_object_get(c, "table")), "agent_states") == 0;
    assert_true(of_state);
    json_decref(j);
}

/* ---- (a) 200 watches, one agent's heartbeat wakes its own ------------------------ */

typedef struct agent_watches {
    size_t first; /* its watches are first .. first + WATCHES_PER_AGENT - 1 */
} agent_watches;

static bool agent_woken(const watchers *ws, void *arg)
{
    const agent_watches *a = arg;
    for (size_t i = a->first; i < a->first + WATCHES_PER_AGENT; i++)
        if (!ws->w[i].done_at)
            return false;
    return true;
}

/* Beat agent k and check that its watches, and no other, answer; prints
 * the latencies.  Returns the revision after the beat. */
static void beat_wakes_only_its_watches(oi_fixture *fx, const fx_server *srv, watchers *ws,
                                        oi_agent *agents, size_t k, int64_t since)
{
    size_t done_before = watchers_done(ws);
    heartbeat(srv, agents[k].id);
    int64_t beat_at = now_us();
    agent_watches a = {k * WATCHES_PER_AGENT};
    watchers_drive(ws, WAKE_BOUND_MS, agent_woken, &a);
    watchers_drive(ws, QUIET_MS, NULL, NULL); /* give any wrong answer time to come */
    int64_t worst = 0, sum = 0;
    for (size_t i = a.first; i < a.first + WATCHES_PER_AGENT; i++) {
        watcher *w = &ws->w[i];
        if (!w->done_at)
            fail_msg("watch %zu of agent %zu did not answer within %d ms", i, k, WAKE_BOUND_MS);
        int64_t latency = w->done_at - beat_at;
        worst = latency > worst ? latency : worst;
        sum += latency;
        assert_woken_by_beat(w, agents[k].id, since);
    }
    assert_true(worst <= WAKE_BOUND_MS * 1000);
    assert_int_equal(watchers_done(ws), done_before + WATCHES_PER_AGENT);
    assert_true(store_revision(fx) > since);
    printf("[ watch    ] %s: a heartbeat woke its %d watches (of %zu open) in %.1f ms on "
           "average, %.1f ms at worst\n", fx_backend(), WATCHES_PER_AGENT,
           ws->n - done_before, (double)sum / WATCHES_PER_AGENT / 1000.0, (double)worst / 1000.0);
}

static void watch_heartbeat_wakes_only_its_agent(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent agents[AGENTS];
    for (size_t k = 0; k < AGENTS; k++) {
        char name[32];
        snprintf(name, sizeof name, "watched-%02zu", k);
        agents[k] = (oi_agent)OI_AGENT_INIT;
        fx_make_agent(fx, "cost", name, &agents[k]);
    }
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t since = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    for (size_t k = 0; k < AGENTS; k++)
        for (int i = 0; i < WATCHES_PER_AGENT; i++) {
            char path[160];
            /* half name their since, half wait for the next change */
            if (i % 2)
                snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=60s&since=%lld",
                         agents[k].id, (long long)since);
            else
                snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=60s", agents[k].id);
            watchers_add(&ws, &srv, path);
        }
    await_open_watches(&ws, &srv, MAX_WATCHERS);
    assert_int_equal(watchers_done(&ws), 0);
    long long wakeups = scrape_sample(&srv, "optiinfra_watch_wakeups_total");

    beat_wakes_only_its_watches(fx, &srv, &ws, agents, 3, since);
    beat_wakes_only_its_watches(fx, &srv, &ws, agents, 17, since);
    assert_int_equal(scrape_sample(&srv, "optiinfra_watch_wakeups_total"),
                     wakeups + 2 * WATCHES_PER_AGENT);
    assert_int_equal(scrape_sample(&srv, "optiinfra_watches"),
                     MAX_WATCHERS - 2 * WATCHES_PER_AGENT);

    /* (f) a stop answers the 180 still open at once, and exits 0 */
    int64_t stop_at = now_us();
    assert_int_equal(fx_server_stop(&srv), 0);
    double stop_ms = (double)(now_us() - stop_at) / 1000.0;
    printf("[ watch    ] %s: SIGTERM with %d open watches: exit 0 after %.0f ms\n",
           fx_backend(), MAX_WATCHERS - 2 * WATCHES_PER_AGENT, stop_ms);
    assert_true(stop_ms < 2000);
    watchers_drive(&ws, 5000, all_done, NULL);
    assert_int_equal(watchers_done(&ws), MAX_WATCHERS);
    int64_t after = store_revision(fx);
    for (size_t i = 0; i < ws.n; i++) {
        if (i / WATCHES_PER_AGENT == 3 || i / WATCHES_PER_AGENT == 17)
            continue;
        assert_int_equal(check_answer(&ws.w[i], NULL, since), 0);
        json_t *j = answer_of(&ws.w[i]);
        assert_int_equal(json_integer_value(json_object_get(j, "revision")), after);
        json_decref(j);
    }
    watchers_free(&ws);
    for (size_t k = 0; k < AGENTS; k++)
        oi_agent_clear(&agents[k]);
}

/* ---- (b) another process's change wakes a watch --------------------------------- */

/* Open one watch of path on srv and wait until the server holds it. */
static size_t open_one(watchers *ws, const fx_server *srv, const char *path, long long open)
{
    size_t i = watchers_add(ws, srv, path);
    await_open_watches(ws, srv, open);
    return i;
}

static bool one_done(const watchers *ws, void *arg)
{
    return ws->w[*(size_t *)arg].done_at != 0;
}

/* Drive ws until watch i answers (within WAKE_BOUND_MS of `from`). */
static void await_answer(watchers *ws, size_t i, int64_t from, const char *what)
{
    watchers_drive(ws, WAKE_BOUND_MS, one_done, &i);
    if (!ws->w[i].done_at)
        fail_msg("%s did not wake the watch within %d ms", what, WAKE_BOUND_MS);
    printf("[ watch    ] %s: %s woke a watch in %.1f ms\n", fx_backend(), what,
           (double)(ws->w[i].done_at - from) / 1000.0);
}

static void watch_woken_by_the_cli(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "configured", &a);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t since = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    char path[200], upper[OI_UUID_LEN + 1];
    for (size_t k = 0; k <= OI_UUID_LEN; k++) /* an id matches in either case */
        upper[k] = a.id[k] >= 'a' && a.id[k] <= 'f' ? (char)(a.id[k] - 'a' + 'A') : a.id[k];
    snprintf(path, sizeof path, "/v1/watch?table=agent_configs&agent_id=%s&wait=60s", upper);
    size_t i = open_one(&ws, &srv, path, 1);

    fx_run run;
    fx_cli(fx, &run, "config", "set", a.id, "budget", "1500", (char *)NULL);
    int64_t cli_done = now_us();
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    await_answer(&ws, i, cli_done, "`optiinfra config set` (another process)");
    assert_int_equal(check_answer(&ws.w[i], a.id, since), 1);
    json_t *j = answer_of(&ws.w[i]);
    json_t *c = json_array_get(json_object_get(j, "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "table")), "agent_configs");
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "insert");
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), store_revision(fx));
    json_decref(j);
    watchers_free(&ws);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&a);
}

/* A change that commits right after a watch's request is never missed,
 * whether it lands before the worker looks, between the worker and the
 * hub, or after: each watch answers with it, never at its deadline. */
static void watch_misses_no_change_at_registration(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "racing", &a);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    for (int round = 0; round < 20; round++) {
        watchers ws;
        watchers_init(&ws);
        char path[200];
        int64_t since = store_revision(fx);
        snprintf(path, sizeof path, "/v1/watch?agent_id=%s&since=%lld&wait=30s", a.id,
                 (long long)since);
        size_t i = watchers_add(&ws, &srv, path);
        watchers_drive(&ws, round % 5, NULL, NULL); /* the request leaves, or not yet */
        heartbeat(&srv, a.id);
        int64_t beat_at = now_us();
        watchers_drive(&ws, WAKE_BOUND_MS, one_done, &i);
        if (!ws.w[i].done_at)
            fail_msg("round %d: the heartbeat did not wake the watch", round);
        assert_true(ws.w[i].done_at - beat_at <= WAKE_BOUND_MS * 1000);
        assert_woken_by_beat(&ws.w[i], a.id, since);
        watchers_free(&ws);
    }
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&a);
}

/* ---- (c) PostgreSQL: a change through one server wakes a watch on another --------- */

static void watch_across_two_servers(void **state)
{
    fx_skip_unless_pg();
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "shared", &a);
    fx_server one, two;
    fx_server_start(fx, &one, NULL);
    fx_server_start(fx, &two, NULL);
    int64_t since = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    char path[200];
    snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=60s", a.id);
    size_t i = open_one(&ws, &two, path, 1);
    heartbeat(&one, a.id);
    await_answer(&ws, i, now_us(), "a heartbeat through another server");
    assert_woken_by_beat(&ws.w[i], a.id, since);
    watchers_free(&ws);
    assert_int_equal(fx_server_stop(&one), 0);
    assert_int_equal(fx_server_stop(&two), 0);
    oi_agent_clear(&a);
}

/* The server's database connections are cut (PostgreSQL: terminated from
 * outside): a waiting watch survives, and the first change after the hub
 * has reconnected wakes it with what it missed. */
static void watch_survives_a_lost_connection(void **state)
{
    fx_skip_unless_pg();
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "reconnected", &a);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t since = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    char path[200];
    snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=60s", a.id);
    size_t i = open_one(&ws, &srv, path, 1);
    watchers_drive(&ws, 300, NULL, NULL); /* the hub has it, and sleeps on LISTEN */
    assert_true(fx_sql_int(fx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE pid <> pg_backend_pid() AND datname = "
                               "current_database()") >= 3); /* a worker's, the hub's, ours */
    oi_store_close(fx->store); /* the fixture's store was cut too */
    assert_int_equal(oi_store_open(&fx->store, fx->url), OI_OK);
    assert_ok(fx, oi_agent_heartbeat(fx->store, a.id, NULL));
    int64_t beat_at = now_us();
    await_answer(&ws, i, beat_at, "a heartbeat after the connections were cut");
    assert_woken_by_beat(&ws.w[i], a.id, since);
    watchers_free(&ws);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&a);
}

/* ---- (d) deadlines --------------------------------------------------------------- */

static void watch_answers_at_its_deadline(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent quiet = OI_AGENT_INIT, busy = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "quiet", &quiet);
    fx_make_agent(fx, "cost", "busy", &busy);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t since = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    char path[200];
    size_t any = watchers_add(&ws, &srv, "/v1/watch?wait=1s");
    snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=2s", quiet.id);
    size_t filtered = watchers_add(&ws, &srv, path);
    int64_t opened = now_us();
    await_open_watches(&ws, &srv, 2);

    /* nothing changes: the first answers at its deadline, empty, at the revision */
    watchers_drive(&ws, 3000, one_done, &any);
    int64_t took = ws.w[any].done_at - opened;
    assert_true(ws.w[any].done_at && took >= 900 * 1000 && took < 2000 * 1000);
    assert_int_equal(check_answer(&ws.w[any], NULL, since), 0);
    assert_int_equal(revision_header(&ws.w[any]), since);

    /* another agent changes: the filtered watch still answers at its deadline,
     * empty, but at the revision it has looked up to, past that change */
    assert_false(ws.w[filtered].done_at);
    heartbeat(&srv, busy.id);
    int64_t after = store_revision(fx);
    assert_true(after > since);
    watchers_drive(&ws, 3000, one_done, &filtered);
    took = ws.w[filtered].done_at - opened;
    assert_true(ws.w[filtered].done_at && took >= 1900 * 1000 && took < 3000 * 1000);
    assert_int_equal(check_answer(&ws.w[filtered], quiet.id, since), 0);
    assert_int_equal(revision_header(&ws.w[filtered]), after);
    watchers_free(&ws);

    /* wait=0 answers at once */
    fx_http r;
    fx_get(&srv, &r, "/v1/watch?wait=0");
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "changes")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "revision")), after);
    fx_http_free(&r);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&quiet);
    oi_agent_clear(&busy);
}

/* ---- changes already there: answered at once, at most 1000 at a time ---------------- */

static void watch_answers_at_once_in_pages(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t since = store_revision(fx);
    enum { MANY = 1100 };
    assert_ok(fx, oi_begin(fx->store));
    for (int i = 0; i < MANY; i++) {
        char name[32];
        snprintf(name, sizeof name, "many-%04d", i);
        oi_agent a = OI_AGENT_INIT;
        a.type = "fleet";
        a.name = name;
        assert_ok(fx, oi_agent_register(fx->store, &a, NULL));
        oi_agent_clear(&a);
    }
    assert_ok(fx, oi_commit(fx->store));
    int64_t current = store_revision(fx);
    assert_int_equal(current, since + MANY);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    char path[128];
    fx_http r;
    snprintf(path, sizeof path, "/v1/watch?since=%lld&table=agents", (long long)since);
    fx_get(&srv, &r, path);
    assert_status(&r, 200);
    json_t *changes = json_object_get(r.json, "changes");
    assert_int_equal(json_array_size(changes), 1000);
    long long page_end = json_integer_value(json_object_get(r.json, "revision"));
    assert_int_equal(page_end, since + 1000); /* the last one given, not the current */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(changes, 999),
                                                        "revision")), page_end);
    fx_http_free(&r);
    snprintf(path, sizeof path, "/v1/watch?since=%lld&table=agents", page_end);
    fx_get(&srv, &r, path);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "changes")), MANY - 1000);
    assert_int_equal(json_integer_value(json_object_get(r.json, "revision")), current);
    fx_http_free(&r);
    assert_int_equal(fx_server_stop(&srv), 0);
}

/* ---- (e) compacted, and bad arguments ----------------------------------------------- */

static void refused(const fx_server *srv, const char *path, long status, const char *code,
                    const char *says)
{
    fx_http r;
    fx_get(srv, &r, path);
    assert_status(&r, status);
    assert_string_equal(fx_http_error_code(&r), code);
    assert_contains(r.body, says);
    assert_null(fx_http_header(&r, "X-Optiinfra-Revision"));
    fx_http_free(&r);
}

static void watch_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "pruned", &a);
    assert_ok(fx, oi_changes_set_retention(fx->store, 3, 86400));
    for (int i = 0; i < 10; i++)
        assert_ok(fx, oi_agent_heartbeat(fx->store, a.id, NULL));
    int64_t compacted, current;
    assert_ok(fx, oi_changes_window(fx->store, &compacted, &current));
    assert_true(compacted > 0 && compacted < current);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    char path[160], says[64];
    snprintf(says, sizeof says, "%lld", (long long)compacted);
    refused(&srv, "/v1/watch?since=0", 410, "compacted", says);
    snprintf(path, sizeof path, "/v1/watch?since=%lld", (long long)compacted - 1);
    refused(&srv, path, 410, "compacted", says);
    snprintf(path, sizeof path, "/v1/watch?since=%lld&wait=10s", (long long)compacted);
    fx_http r;
    fx_get(&srv, &r, path); /* what the log keeps is answered at once */
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "changes")), current - compacted);
    fx_http_free(&r);

    refused(&srv, "/v1/watch?since=abc", 422, "invalid", "since 'abc' is not a revision");
    refused(&srv, "/v1/watch?since=-1", 422, "invalid", "since '-1' is not a revision");
    refused(&srv, "/v1/watch?since=99999999999999999999", 422, "invalid", "not a revision");
    refused(&srv, "/v1/watch?wait=soon", 422, "invalid", "wait is not a duration");
    refused(&srv, "/v1/watch?wait=11m", 422, "invalid", "wait '11m' is too long");
    refused(&srv, "/v1/watch?table=metrics", 422, "invalid", "metrics");
    refused(&srv, "/v1/watch?agent_id=pruned", 422, "invalid", "not a UUID");
    refused(&srv, "/v1/watch?agent=x", 422, "invalid", "unknown query argument 'agent'");
    /* a refusal writes nothing */
    assert_int_equal(store_revision(fx), current);
    assert_int_equal(scrape_sample(&srv, "optiinfra_watches"), 0);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&a);
}

/* The log prunes, in one commit, changes the hub has not read yet: the
 * waiting watches that might have wanted them are answered 410, while one
 * waiting from after the pruned part goes on to its deadline. */
static void watch_behind_a_pruned_log(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_changes_set_retention(fx->store, 3, 86400));
    oi_agent quiet = OI_AGENT_INIT, busy = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "quiet", &quiet);
    fx_make_agent(fx, "cost", "busy", &busy);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t before = store_revision(fx);
    watchers ws;
    watchers_init(&ws);
    char path[200];
    snprintf(path, sizeof path, "/v1/watch?agent_id=%s&wait=30s", quiet.id);
    size_t behind = watchers_add(&ws, &srv, path);
    snprintf(path, sizeof path, "/v1/watch?since=%lld&wait=2s", (long long)before + 20);
    size_t ahead = watchers_add(&ws, &srv, path);
    await_open_watches(&ws, &srv, 2);
    watchers_drive(&ws, 300, NULL, NULL); /* the hub takes them in within 100 ms */

    assert_ok(fx, oi_begin(fx->store)); /* ten changes, the hub sees them at once */
    for (int i = 0; i < 5; i++)
        assert_ok(fx, oi_agent_heartbeat(fx->store, busy.id, NULL));
    assert_ok(fx, oi_commit(fx->store));
    int64_t compacted, current;
    assert_ok(fx, oi_changes_window(fx->store, &compacted, &current));
    assert_true(compacted > before && current > compacted);

    watchers_drive(&ws, WAKE_BOUND_MS, one_done, &behind);
    assert_int_equal(ws.w[behind].status, 410);
    json_t *j = answer_of(&ws.w[behind]);
    assert_string_equal(json_string_value(fx_json_at(j, "error.code")), "compacted");
    char says[64];
    snprintf(says, sizeof says, "the change log starts after revision %lld;",
             (long long)compacted);
    assert_contains(json_string_value(fx_json_at(j, "error.message")), says);
    json_decref(j);
    assert_false(ws.w[ahead].done_at);
    watchers_drive(&ws, 3000, one_done, &ahead);
    assert_int_equal(check_answer(&ws.w[ahead], NULL, before + 20), 0);
    assert_int_equal(revision_header(&ws.w[ahead]), current); /* the store's, below since */
    watchers_free(&ws);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&quiet);
    oi_agent_clear(&busy);
}

int run_server_watch_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(watch_heartbeat_wakes_only_its_agent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_woken_by_the_cli, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_misses_no_change_at_registration, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_across_two_servers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_survives_a_lost_connection, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_answers_at_its_deadline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_answers_at_once_in_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(watch_behind_a_pruned_log, fx_setup, fx_teardown),
    };
    return fx_run_group("server_watch", tests);
}
