/*
 * test_replica.c - read replicas (store.h, oi_store_open_ext): which calls
 * read from the replica, and what a store does when its replica lags or is
 * down.
 *
 * The refusals (a SQLite primary, a read URL of the wrong kind, bad
 * options, a replica that cannot be reached) need no replica and run in
 * every suite.  The rest needs a real streaming replica of the test
 * cluster: scripts/replica-test.sh makes one with pg_basebackup -R, and
 * names it in OI_TEST_READ_URL (without it they are skipped).  They show
 * that reads really go to the replica by pausing its replay
 * (pg_wal_replay_pause) and writing on the primary: the store's read then
 * returns the stale answer, a lag limit makes it fresh (the primary's) or
 * a clear error; they stop and start the replica (OI_TEST_REPLICA_CTL)
 * for a replica that is down and comes back, and cut it off from its
 * primary for one that serves but cannot know what it missed.
 */
#include "harness.h"
#include "http.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the replica, around the library ------------------------------------ */

static const char *read_url(void)
{
    const char *url = getenv("OI_TEST_READ_URL");
    return url && *url ? url : NULL;
}

static void skip_without_replica(void)
{
    fx_skip_unless_pg();
    if (!read_url())
        fx_skip("no replica: scripts/replica-test.sh runs these with OI_TEST_READ_URL");
}

/* The first column of the first row of sql run on conninfo ("" if none). */
static void raw_value(const char *conninfo, const char *sql, char *out, size_t size)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(conn));
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    snprintf(out, size, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(conn);
}

/* Wait until the replica has replayed everything the primary wrote so far. */
static void wait_replayed(oi_fixture *fx)
{
    char lsn[64], sql[160], done[8] = "";
    raw_value(fx->url, "SELECT pg_current_wal_lsn()", lsn, sizeof lsn);
    snprintf(sql, sizeof sql, "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn", lsn);
    for (int i = 0; i < 2000 && strcmp(done, "t") != 0; i++) {
        if (i)
            usleep(5000);
        raw_value(read_url(), sql, done, sizeof done);
    }
    assert_string_equal(done, "t");
}

static bool replay_paused, replica_stopped, replica_cut;
/* The servers a test started (static: a failed test's frame is gone),
 * stopped by the teardown if the test failed before it stopped them. */
static fx_server started[2];
static bool running[2];

static void pause_replay(oi_fixture *fx)
{
    char ignored[8];
    wait_replayed(fx);
    raw_value(read_url(), "SELECT pg_wal_replay_pause()", ignored, sizeof ignored);
    replay_paused = true;
}

static void resume_replay(void)
{
    char ignored[8];
    raw_value(read_url(), "SELECT pg_wal_replay_resume()", ignored, sizeof ignored);
    replay_paused = false;
}

static void replica_ctl(const char *action)
{
    char cmd[1024];
    const char *ctl = getenv("OI_TEST_REPLICA_CTL");
    if (!ctl)
        fail_msg("OI_TEST_REPLICA_CTL is not set (scripts/replica-test.sh sets it)");
    snprintf(cmd, sizeof cmd, "%s %s", ctl, action);
    assert_int_equal(system(cmd), 0);
    if (strcmp(action, "stop") == 0 || strcmp(action, "start") == 0)
        replica_stopped = strcmp(action, "stop") == 0;
    else
        replica_cut = strcmp(action, "cut") == 0;
}

/* Wait until the replica's WAL receiver is connected (true) or gone. */
static void wait_receiver(bool connected)
{
    char rows[8] = "";
    const char *want = connected ? "1" : "0";
    for (int i = 0; i < 2000 && strcmp(rows, want) != 0; i++) {
        if (i)
            usleep(10000);
        raw_value(read_url(), "SELECT count(*) FROM pg_stat_wal_receiver", rows, sizeof rows);
    }
    assert_string_equal(rows, want);
}

/* Whatever a test left behind, the next one starts with a replica that
 * runs and replays. */
static int replica_teardown(void **state)
{
    for (int i = 0; i < 2; i++)
        if (running[i])
            fx_server_stop(&started[i]);
    running[0] = running[1] = false;
    if (replica_stopped)
        replica_ctl("start");
    if (replica_cut)
        replica_ctl("join");
    if (replay_paused)
        resume_replay();
    return fx_teardown(state);
}

/* A store on fx's database with the replica, as these options say. */
static oi_store *open_with_replica(oi_fixture *fx, oi_replica_fallback fallback, bool limit_lag)
{
    oi_store_options o = OI_STORE_OPTIONS_INIT;
    o.url = fx->url;
    o.read_url = read_url();
    o.fallback = fallback;
    o.limit_lag = limit_lag;
    o.max_lag = 0;
    o.check_every = 0; /* every read checks: the tests change the replica under it */
    oi_store *s = NULL;
    int rc = oi_store_open_ext(&s, &o);
    if (rc != OI_OK)
        fail_msg("oi_store_open_ext: %s", oi_errmsg(s));
    return s;
}

/* Whether an agent of that name can be found through s: OI_OK or the code. */
static int find_agent(oi_store *s, const char *name)
{
    oi_agent a = OI_AGENT_INIT;
    int rc = oi_agent_lookup(s, name, &a);
    oi_agent_clear(&a);
    return rc;
}

/* How many agents an iterator of s lists. */
static size_t count_agents(oi_store *s)
{
    oi_iter *it = NULL;
    oi_agent a = OI_AGENT_INIT;
    size_t n = 0;
    assert_int_equal(oi_agent_iter_new(&it, s), OI_OK);
    int rc;
    while ((rc = oi_agent_next(it, &a)) == OI_OK) {
        n++;
        oi_agent_clear(&a); /* a row overwrites the last without freeing it */
    }
    if (rc != OI_ITEROVER)
        fail_msg("oi_agent_next: %s", oi_errmsg(s));
    oi_agent_clear(&a);
    oi_iter_free(it);
    return n;
}

/* An agent written through the fixture's store (the primary). */
static void register_agent(oi_fixture *fx, const char *name)
{
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", name, &a);
    oi_agent_clear(&a);
}

/* ---- without a replica ---------------------------------------------------- */

static void test_replica_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *s = NULL;
    oi_store_options o = OI_STORE_OPTIONS_INIT;
    o.url = fx->url;

    assert_int_equal(oi_store_open_ext(&s, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(s), "no store options");
    oi_store_close(s);
    oi_store_options unset = {0};
    unset.url = fx->url;
    assert_int_equal(oi_store_open_ext(&s, &unset), OI_EINVALID);
    assert_contains(oi_errmsg(s), "oi_store_options");
    oi_store_close(s);

    oi_store_options later = OI_STORE_OPTIONS_INIT;
    later.version = OI_STORE_OPTIONS_VERSION + 1; /* built against newer headers */
    later.url = fx->url;
    assert_int_equal(oi_store_open_ext(&s, &later), OI_EINVALID);
    oi_store_close(s);
    oi_store_options defaults;
    assert_int_equal(oi_store_options_init(&defaults, OI_STORE_OPTIONS_VERSION), OI_OK);
    assert_int_equal(defaults.fallback, OI_REPLICA_USE_PRIMARY);
    assert_false(defaults.limit_lag);
    assert_int_equal(defaults.check_every, OI_REPLICA_CHECK_EVERY_DEFAULT);
    assert_int_equal(oi_store_options_init(&defaults, 0), OI_EINVALID);

    assert_int_equal(oi_store_open_ext(&s, &o), OI_OK); /* no read URL: oi_store_open() */
    assert_int_equal(oi_store_reads_ready(s), OI_OK);
    assert_null(oi_store_read_url(s));
    assert_string_equal(oi_store_last_read(s), "none");
    assert_int_equal(find_agent(s, "Test Cost Agent"), OI_OK);
    assert_string_equal(oi_store_last_read(s), "primary");
    oi_store_close(s);

    char sqlite_url[600];
    snprintf(sqlite_url, sizeof sqlite_url, "sqlite:%s/made.db", fx->dir);
    o.read_url = fx_is_pg() ? sqlite_url : "postgresql://u:s3cret@127.0.0.1:1/db";
    assert_int_equal(oi_store_open_ext(&s, &o), OI_EINVALID);
    assert_contains(oi_errmsg(s), fx_is_pg() ? "not a PostgreSQL URL" : "PostgreSQL primary");
    assert_not_contains(oi_errmsg(s), "s3cret");
    oi_store_close(s);
    char made[620];
    snprintf(made, sizeof made, "%s/made.db", fx->dir);
    assert_int_not_equal(access(made, F_OK), 0); /* refused before anything was opened */

    if (!fx_is_pg())
        return;
    o.read_url = "postgresql://u:s3cret@127.0.0.1:1/db"; /* nothing listens on port 1 */
    o.limit_lag = true;
    o.max_lag = -1;
    assert_int_equal(oi_store_open_ext(&s, &o), OI_EINVALID);
    assert_contains(oi_errmsg(s), "negative");
    oi_store_close(s);
    o.limit_lag = false;
    o.fallback = (oi_replica_fallback)7;
    assert_int_equal(oi_store_open_ext(&s, &o), OI_EINVALID);
    oi_store_close(s);
}

/* A replica that cannot be reached: the open succeeds, the reads go to
 * the primary, or fail in one line, as configured; the URL never shows
 * its password. */
static void test_replica_unreachable(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    oi_store *s = NULL;
    oi_store_options o = OI_STORE_OPTIONS_INIT;
    o.url = fx->url;
    o.read_url = "postgresql://u:s3cret@127.0.0.1:1/db";
    assert_int_equal(oi_store_open_ext(&s, &o), OI_OK);
    assert_contains(oi_store_read_url(s), "password=***");
    assert_not_contains(oi_store_read_url(s), "s3cret");
    assert_int_equal(find_agent(s, "Test Cost Agent"), OI_OK);
    assert_string_equal(oi_store_last_read(s), "primary");
    oi_store_close(s);

    o.fallback = OI_REPLICA_FAIL;
    assert_int_equal(oi_store_open_ext(&s, &o), OI_OK);
    assert_int_equal(oi_store_reads_ready(s), OI_ECONNECT);
    assert_string_equal(oi_store_last_read(s), "none"); /* a check is not a read */
    assert_int_equal(find_agent(s, "Test Cost Agent"), OI_ECONNECT);
    assert_contains(oi_errmsg(s), "cannot be reached");
    assert_not_contains(oi_errmsg(s), "s3cret");
    assert_null(strchr(oi_errmsg(s), '\n'));
    assert_int_equal(oi_begin(s), OI_OK); /* in a transaction: the primary */
    assert_int_equal(find_agent(s, "Test Cost Agent"), OI_OK);
    assert_int_equal(oi_commit(s), OI_OK);
    assert_int_equal(oi_agent_heartbeat(s, fx->cost_agent.id, NULL), OI_OK); /* a write */
    oi_store_close(s);

    fx_run r;
    const char *bad_fallback[] = {"--replica-fallback", "maybe", "agents"};
    fx_cli_argv(fx, &r, true, bad_fallback, 3);
    assert_int_equal(r.status, 3);
    assert_contains(r.err, "primary or error");
    fx_run_free(&r);
    const char *down[] = {"--read-url", "postgresql://u:s3cret@127.0.0.1:1/db",
                          "--replica-fallback", "error", "agents"};
    fx_cli_argv(fx, &r, true, down, 5);
    assert_int_equal(r.status, 5);
    assert_contains(r.err, "read replica");
    assert_not_contains(r.err, "s3cret");
    fx_run_free(&r);
}

/* ---- with a streaming replica --------------------------------------------- */

static void test_replica_reads_after_replay(void **state)
{
    oi_fixture *fx = FX(state);
    skip_without_replica();
    oi_store *s = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, false);
    register_agent(fx, "replicated-1");          /* a write: the primary */
    assert_string_equal(oi_store_last_read(s), "none");
    wait_replayed(fx);
    assert_int_equal(find_agent(s, "replicated-1"), OI_OK);
    assert_string_equal(oi_store_last_read(s), "replica");
    assert_int_equal(count_agents(s), 2);        /* the fixture's agent and this one */
    assert_string_equal(oi_store_last_read(s), "replica");
    assert_contains(oi_store_read_url(s), "port=");
    oi_store_close(s);
}

static void test_replica_lag_stale_fresh_or_error(void **state)
{
    oi_fixture *fx = FX(state);
    skip_without_replica();
    oi_store *any_lag = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, false);
    oi_store *no_lag = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, true);
    oi_store *fails = open_with_replica(fx, OI_REPLICA_FAIL, true);
    pause_replay(fx);
    register_agent(fx, "written-while-paused");

    /* Any lag accepted: the replica's stale answer, by get and by listing. */
    assert_int_equal(find_agent(any_lag, "written-while-paused"), OI_ENOTFOUND);
    assert_string_equal(oi_store_last_read(any_lag), "replica");
    assert_int_equal(count_agents(any_lag), 1);
    /* In a transaction: the primary, fresh. */
    assert_int_equal(oi_begin(any_lag), OI_OK);
    assert_int_equal(find_agent(any_lag, "written-while-paused"), OI_OK);
    assert_int_equal(count_agents(any_lag), 2);
    assert_int_equal(oi_commit(any_lag), OI_OK);
    /* Switched off: the primary. */
    oi_store_use_replica(any_lag, false);
    assert_int_equal(find_agent(any_lag, "written-while-paused"), OI_OK);
    oi_store_use_replica(any_lag, true);
    /* A write that reads (a heartbeat of the agent by name) works on the primary. */
    fx_run r;
    const char *beat[] = {"--read-url", read_url(), "agent", "heartbeat", "written-while-paused"};
    fx_cli_argv(fx, &r, true, beat, 5);
    assert_int_equal(r.status, 0);
    fx_run_free(&r);

    /* Lag limited to 0: the replica has WAL it has not replayed. */
    assert_int_equal(find_agent(no_lag, "written-while-paused"), OI_OK);
    assert_string_equal(oi_store_last_read(no_lag), "primary");
    assert_int_equal(count_agents(no_lag), 2);
    assert_int_equal(find_agent(fails, "written-while-paused"), OI_ECONNECT);
    assert_contains(oi_errmsg(fails), "behind the primary");
    assert_int_equal(count_agents(any_lag), 1);  /* still stale */

    /* The CLI: a read command reads the replica; with a lag limit, fresh
     * or exit 5. */
    const char *stale[] = {"--read-url", read_url(), "agents", "--json"};
    fx_cli_argv(fx, &r, true, stale, 4);
    assert_int_equal(r.status, 0);
    assert_not_contains(r.out, "written-while-paused");
    fx_run_free(&r);
    const char *fresh[] = {"--read-url", read_url(), "--max-replica-lag", "0", "agents"};
    fx_cli_argv(fx, &r, true, fresh, 5);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "written-while-paused");
    fx_run_free(&r);
    const char *error[] = {"--read-url", read_url(), "--max-replica-lag", "0",
                           "--replica-fallback", "error", "agents"};
    fx_cli_argv(fx, &r, true, error, 7);
    assert_int_equal(r.status, 5);
    assert_contains(r.err, "behind the primary");
    fx_run_free(&r);

    /* An export: the replica's (no metric yet), or the primary's with a lag limit. */
    const char *record[] = {"--read-url", read_url(), "metrics", "record",
                            "written-while-paused", "gpu_util", "0.5"};
    fx_cli_argv(fx, &r, true, record, 7);   /* a write, naming an agent the replica lacks */
    assert_int_equal(r.status, 0);
    fx_run_free(&r);
    const char *export_stale[] = {"--read-url", read_url(), "metrics", "export",
                                  "--format", "ndjson"};
    fx_cli_argv(fx, &r, true, export_stale, 6);
    assert_int_equal(r.status, 0);
    assert_int_equal(fx_count_lines(r.out), 0);
    fx_run_free(&r);
    const char *export_fresh[] = {"--read-url", read_url(), "--max-replica-lag", "0", "metrics",
                                  "export", "--format", "ndjson"};
    fx_cli_argv(fx, &r, true, export_fresh, 8);
    assert_int_equal(r.status, 0);
    assert_int_equal(fx_count_lines(r.out), 1);
    assert_contains(r.out, "gpu_util");
    fx_run_free(&r);

    resume_replay();
    wait_replayed(fx);
    assert_int_equal(find_agent(fails, "written-while-paused"), OI_OK);
    assert_string_equal(oi_store_last_read(fails), "replica");
    oi_store_close(any_lag);
    oi_store_close(no_lag);
    oi_store_close(fails);
}

static void test_replica_down_and_back(void **state)
{
    oi_fixture *fx = FX(state);
    skip_without_replica();
    oi_store *falls_back = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, false);
    oi_store *fails = open_with_replica(fx, OI_REPLICA_FAIL, false);
    wait_replayed(fx);
    assert_int_equal(count_agents(falls_back), 1);
    assert_string_equal(oi_store_last_read(falls_back), "replica");
    assert_int_equal(count_agents(fails), 1);

    replica_ctl("stop");
    register_agent(fx, "written-while-down");
    assert_int_equal(find_agent(falls_back, "written-while-down"), OI_OK); /* run again */
    assert_string_equal(oi_store_last_read(falls_back), "primary");
    assert_int_equal(count_agents(falls_back), 2);
    assert_int_equal(find_agent(fails, "written-while-down"), OI_ECONNECT);
    assert_contains(oi_errmsg(fails), "read replica");
    assert_int_equal(count_agents(falls_back), 2);
    oi_store *opened_while_down = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, false);
    assert_int_equal(find_agent(opened_while_down, "written-while-down"), OI_OK);

    replica_ctl("start");
    wait_replayed(fx);
    assert_int_equal(find_agent(falls_back, "written-while-down"), OI_OK);
    assert_string_equal(oi_store_last_read(falls_back), "replica"); /* reconnected */
    assert_int_equal(find_agent(fails, "written-while-down"), OI_OK);
    assert_int_equal(find_agent(opened_while_down, "written-while-down"), OI_OK);
    assert_string_equal(oi_store_last_read(opened_while_down), "replica");
    oi_store_close(falls_back);
    oi_store_close(fails);
    oi_store_close(opened_while_down);
}

/* A replica cut off from its primary has replayed all it received: with a
 * lag limit, the age of its last replayed transaction decides, so it is
 * not taken for a fresh one. */
static void test_replica_cut_off_is_not_fresh(void **state)
{
    oi_fixture *fx = FX(state);
    skip_without_replica();
    oi_store *limited = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, true);
    oi_store *fails = open_with_replica(fx, OI_REPLICA_FAIL, true);
    wait_replayed(fx);
    wait_receiver(true);
    assert_int_equal(count_agents(limited), 1);
    assert_string_equal(oi_store_last_read(limited), "replica");

    replica_ctl("cut");
    wait_receiver(false);
    register_agent(fx, "written-while-cut-off");
    usleep(10000);   /* the last replayed transaction is older than 0 s */
    assert_int_equal(find_agent(limited, "written-while-cut-off"), OI_OK);
    assert_string_equal(oi_store_last_read(limited), "primary");
    assert_int_equal(find_agent(fails, "written-while-cut-off"), OI_ECONNECT);
    assert_contains(oi_errmsg(fails), "not streaming from its primary");
    assert_contains(oi_errmsg(fails), "more than the 0.000 s allowed");

    replica_ctl("join");
    wait_receiver(true);
    wait_replayed(fx);
    assert_int_equal(find_agent(fails, "written-while-cut-off"), OI_OK);
    assert_string_equal(oi_store_last_read(fails), "replica");
    oi_store_close(limited);
    oi_store_close(fails);
}

/* serve --read-url: GET routes read from the replica, writes and their
 * lookups go to the primary. */
static void test_replica_service_get_routes(void **state)
{
    oi_fixture *fx = FX(state);
    skip_without_replica();
    setenv("OPTIINFRA_READ_URL", read_url(), 1);
    fx_server *srv = &started[0];
    fx_server_start(fx, srv, NULL);
    running[0] = true;
    unsetenv("OPTIINFRA_READ_URL");
    oi_store *s = open_with_replica(fx, OI_REPLICA_USE_PRIMARY, false);
    pause_replay(fx);
    register_agent(fx, "paused-agent");

    fx_http r;
    fx_get(srv, &r, "/v1/agents");
    assert_status(&r, 200);
    assert_not_contains(r.body, "paused-agent");     /* the replica's stale answer */
    assert_contains(r.body, "Test Cost Agent");
    fx_http_free(&r);
    fx_post(srv, &r, "/v1/agents/paused-agent/heartbeat", "{\"status\":\"healthy\"}");
    assert_status(&r, 200);                            /* found on the primary */
    fx_http_free(&r);

    /* A lag limit in fail mode: the GET is a 503 saying why, to retry. */
    fx_server *strict = &started[1];
    setenv("OPTIINFRA_READ_URL", read_url(), 1);
    setenv("OPTIINFRA_REPLICA_FALLBACK", "error", 1);
    setenv("OPTIINFRA_MAX_REPLICA_LAG", "0", 1);
    fx_server_start(fx, strict, NULL);
    running[1] = true;
    unsetenv("OPTIINFRA_READ_URL");
    unsetenv("OPTIINFRA_REPLICA_FALLBACK");
    unsetenv("OPTIINFRA_MAX_REPLICA_LAG");
    fx_get(strict, &r, "/v1/agents");
    assert_status(&r, 503);
    assert_contains(r.body, "behind the primary");
    char *retry = fx_http_header(&r, "Retry-After");
    assert_non_null(retry);
    free(retry);
    fx_http_free(&r);
    fx_post(strict, &r, "/v1/agents/paused-agent/heartbeat", "{\"status\":\"healthy\"}");
    assert_status(&r, 200);                            /* writes never ask the replica */
    fx_http_free(&r);
    running[1] = false;
    assert_int_equal(fx_server_stop(strict), 0);

    resume_replay();
    wait_replayed(fx);
    fx_get(srv, &r, "/v1/agents");
    assert_status(&r, 200);
    assert_contains(r.body, "paused-agent");
    fx_http_free(&r);
    running[0] = false;
    assert_int_equal(fx_server_stop(srv), 0);
    oi_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, replica_teardown)

/* The tests that need a standby run only when there is one: a skipped
 * test would still pay its fixture (~0.2 s on PostgreSQL) in every suite. */
int run_replica_tests(void)
{
    const struct CMUnitTest without_standby[] = {
        T(test_replica_refusals),
        T(test_replica_unreachable),
    };
    const struct CMUnitTest with_standby[] = {
        T(test_replica_reads_after_replay),
        T(test_replica_lag_stale_fresh_or_error),
        T(test_replica_down_and_back),
        T(test_replica_cut_off_is_not_fresh),
        T(test_replica_service_get_routes),
    };
    int failed = fx_run_group("replica", without_standby);
    if (fx_is_pg() && read_url())
        failed += fx_run_group("replica_standby", with_standby);
    return failed;
}
