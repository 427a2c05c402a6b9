/*
 * test_faults.c - the database failing under the code: PostgreSQL stopped
 * and restarted under the CLI and the server, SQLite locked by another
 * process, SQLite's disk full.
 *
 * Each fault is made for real: the cluster pg_virtualenv runs is stopped
 * and restarted with pg_ctlcluster, a child process holds SQLite's write
 * lock with BEGIN IMMEDIATE, a 2 MB tmpfs holds the database (mounting
 * needs root: the test is skipped, saying so, where it is not permitted).
 * What is checked is what a user sees (one clear line, the documented exit
 * code or HTTP status) and what the database holds afterwards (whole
 * batches only, nothing of a refused write, a database that opens and
 * passes its integrity check).  ft_teardown() starts a stopped cluster,
 * kills the children and unmounts the tmpfs whatever happened.
 */
#include "faults.h"
#include "http.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Processes killed, servers restarted: slow under ASan, run by the coverage build. */
#define COVERAGE_BUILD_ONLY "processes killed and restarted: the coverage build runs this"

#define ROWS 200000L
#define BATCH 10000L
#define EXIT_CONNECT 5    /* docs/api.md: OI_ECONNECT, OI_EAUTH */
#define EXIT_CONFLICT 7   /* OI_EBUSY among others */
#define EXIT_OTHER 8
#define BUSY_TIMEOUT_S 10 /* sqlite.c's BUSY_TIMEOUT_MS */

/* stderr is one line that holds `what`. */
static void assert_one_line(const char *err, const char *what)
{
    assert_int_equal(fx_count_lines(err), 1);
    assert_contains(err, what);
}

/* "... rows before line N were committed ...": N. */
static long resume_line(const char *err)
{
    const char *p = strstr(err, "before line ");
    if (!p)
        fail_msg("no resume line in: %s", err);
    return strtol(p + strlen("before line "), NULL, 10);
}

/* ---- PostgreSQL restarted under an import ----------------------------------- */

static void test_fault_pg_restart_during_import(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    char path[512], batch[32];
    snprintf(path, sizeof path, "%s/big.csv", fx->dir);
    snprintf(batch, sizeof batch, "%ld", BATCH);
    ft_write_csv(path, 0, ROWS);
    const char *args[] = {"metrics", "import", path, "--batch-size", batch, NULL};
    pid_t pid = ft_spawn_cli(fx, "import", args);
    ft_wait_rows(fx, pid, 0, 60000);
    ft_pg_restart();
    assert_int_equal(ft_wait(pid, 60000), EXIT_CONNECT);
    /* The restart cut a batch off ("lost the connection"), or came between
     * two, and the next batch's reconnection found the server going down
     * or not yet up ("cannot connect"). */
    char *err = ft_output(fx, "import", true);
    assert_one_line(err, " to PostgreSQL: ");
    if (!strstr(err, "lost the connection to PostgreSQL: ") &&
        !strstr(err, "cannot connect to PostgreSQL: "))
        fail_msg("%s", err);
    long line = resume_line(err);
    free(err);
    /* What the line says is committed is exactly what is there. */
    long long rows = fx_count(fx, "agent_metrics");
    assert_int_equal(rows, line - 2);
    assert_int_equal(rows % BATCH, 0);
    ft_assert_rows(fx, rows);
    ft_write_csv(path, rows, ROWS - rows);
    fx_run run;
    fx_cli(fx, &run, "metrics", "import", path, NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    ft_assert_rows(fx, ROWS);
}

/* ---- PostgreSQL stopped and restarted under the server ---------------------- */

static void expect(const fx_server *srv, const char *method, const char *path,
                   const char *body, long status)
{
    fx_http r;
    fx_request(srv, &r, method, path, body, NULL, NULL);
    assert_status(&r, status);
    fx_http_free(&r);
}

#define BEAT_BODY "[{\"agent\": \"" FT_AGENT "\", \"metric_name\": \"up\", \"metric_value\": 1}]"

static void test_fault_pg_stopped_under_server(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    fx_server srv;
    fx_http r;
    fx_run run;
    /* One worker: every request below uses the one connection. */
    const char *extra[] = {"--threads", "1", NULL};
    fx_server_start(fx, &srv, extra);
    ft_adopt(srv.pid);
    expect(&srv, "GET", "/readyz", NULL, 200);

    ft_pg_ctl("stop -m fast");
    fx_get(&srv, &r, "/readyz");
    assert_status(&r, 503);
    assert_string_equal(fx_http_error_code(&r), "unavailable");
    assert_contains(r.body, "PostgreSQL");
    fx_http_free(&r);
    expect(&srv, "GET", "/v1/agents", NULL, 503);
    fx_post(&srv, &r, "/v1/metrics", BEAT_BODY);
    assert_status(&r, 503);
    char *retry = fx_http_header(&r, "Retry-After");
    assert_non_null(retry);
    free(retry);
    assert_contains(r.body, "cannot connect to PostgreSQL");
    fx_http_free(&r);
    /* The CLI: one line, the exit code of a connection failure. */
    fx_cli(fx, &run, "agents", NULL);
    assert_int_equal(run.status, EXIT_CONNECT);
    assert_one_line(run.err, "cannot connect to PostgreSQL");
    fx_run_free(&run);

    /* Back by itself, without a restart of the server. */
    ft_pg_ctl("start");
    long status = 0;
    for (int64_t until = ft_now_us() + 15000000; status != 200 && ft_now_us() < until;) {
        fx_get(&srv, &r, "/readyz");
        status = r.status;
        fx_http_free(&r);
        if (status != 200)
            ft_sleep_ms(100);
    }
    assert_int_equal(status, 200);
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);   /* the refused write wrote nothing */

    /* A restart between two requests costs none of them: the server's
     * closed connection is replaced before the next statement is sent,
     * for a read as for a write, and nothing is sent twice. */
    expect(&srv, "GET", "/v1/agents", NULL, 200);
    ft_pg_restart();
    expect(&srv, "GET", "/v1/agents", NULL, 200);
    ft_pg_restart();
    expect(&srv, "POST", "/v1/metrics", BEAT_BODY, 200);
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
    expect(&srv, "GET", "/readyz", NULL, 200);

    pid_t pid = srv.pid;
    assert_int_equal(fx_server_stop(&srv), 0);
    ft_forget(pid);
}

/* ---- a connection lost in the middle of a request ------------------------ */

/* A request made from a thread, so that the test can act while it waits. */
typedef struct in_flight {
    pthread_t thread;
    const fx_server *srv;
    const char *method, *path, *body;
    long status;
    char *headers;
} in_flight;

static void *make_request(void *arg)
{
    in_flight *r = arg;
    r->status = ft_http(r->srv, r->method, r->path, r->body, &r->headers);
    return NULL;
}

static PGconn *raw_connect(oi_fixture *fx)
{
    PGconn *c = PQconnectdb(fx->url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("raw connection: %s", PQerrorMessage(c));
    return c;
}

static void raw_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
}

/* Terminate the server's session once it waits for a lock (the request
 * is then in the middle of its statement); false if none came to wait. */
static bool terminate_waiting_session(PGconn *c)
{
    for (int64_t until = ft_now_us() + 10000000; ft_now_us() < until; ft_sleep_ms(10)) {
        PGresult *res = PQexec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
        bool done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
        PQclear(res);
        if (done)
            return true;
    }
    return false;
}

/* method path [body] sent while `table` is locked; its session is
 * terminated as it waits, then the lock is released.  The answer in *r. */
static void cut_off(oi_fixture *fx, const fx_server *srv, in_flight *r, const char *table)
{
    PGconn *locker = raw_connect(fx), *admin = raw_connect(fx);
    char lock[128];
    snprintf(lock, sizeof lock, "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table);
    raw_exec(locker, lock);
    r->srv = srv;
    /* No assertion until the lock is released and the thread joined. */
    bool started = pthread_create(&r->thread, NULL, make_request, r) == 0;
    bool terminated = started && terminate_waiting_session(admin);
    PQclear(PQexec(locker, "COMMIT"));
    if (started)
        pthread_join(r->thread, NULL);
    PQfinish(locker);
    PQfinish(admin);
    assert_true(started);
    assert_true(terminated);
}

/* A read cut off in the middle runs again on a new connection and
 * answers; a write cut off is not run again (it may have committed): 503
 * with Retry-After, and here, where it had not, nothing written. */
static void test_fault_pg_connection_lost_mid_request(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    fx_server srv;
    const char *extra[] = {"--threads", "1", NULL};
    fx_server_start(fx, &srv, extra);
    ft_adopt(srv.pid);
    expect(&srv, "GET", "/v1/agents", NULL, 200);

    /* Not a list: a list's first page is read once its answer has begun
     * (reply.c streams it), too late to run it again. */
    char path[128];
    snprintf(path, sizeof path, "/v1/agents/%s", fx->cost_agent.id);
    in_flight read = {.method = "GET", .path = path};
    cut_off(fx, &srv, &read, "agents");
    assert_int_equal(read.status, 200);
    free(read.headers);

    in_flight write = {.method = "POST", .path = "/v1/metrics", .body = BEAT_BODY};
    cut_off(fx, &srv, &write, "agent_metrics");
    assert_int_equal(write.status, 503);
    assert_contains(write.headers, "Retry-After: 1");
    free(write.headers);
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    expect(&srv, "POST", "/v1/metrics", BEAT_BODY, 200);
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);

    pid_t pid = srv.pid;
    assert_int_equal(fx_server_stop(&srv), 0);
    ft_forget(pid);
}

/* A metric of the fixture's agent, through the library. */
static int record_metric(oi_fixture *fx, double value)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "in_tx";
    m.metric_value = value;
    return oi_agent_metric_create(fx->store, &m);
}

/* ---- PostgreSQL session ended under an export ------------------------------- */

typedef struct session_killer {
    PGconn *admin;
    int writes;
} session_killer;

/* The export's output: at its first write (the export has read a few rows
 * of its stream, the server is still sending) the export's session is
 * terminated. */
static ssize_t write_then_terminate(void *cookie, const char *buf, size_t size)
{
    session_killer *k = cookie;
    (void)buf;
    if (k->writes++ == 0)
        raw_exec(k->admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    return (ssize_t)size;
}

/* One line that says the connection was lost (OI_ECONNECT: the CLI's exit
 * code 5), not a short export passed off as whole; the store goes on. */
static void test_fault_pg_session_ended_during_export(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    PGconn *admin = raw_connect(fx);
    char sql[256];
    /* More than the sockets between the server and the client can hold. */
    snprintf(sql, sizeof sql, "INSERT INTO agent_metrics (agent_id, metric_name, metric_value) "
                              "SELECT '%s', 'm', g FROM generate_series(1, %ld) g",
             fx->cost_agent.id, ROWS);
    raw_exec(admin, sql);
    session_killer k = {.admin = admin};
    FILE *out = fopencookie(&k, "w", (cookie_io_functions_t){.write = write_then_terminate});
    assert_non_null(out);
    uint64_t rows;
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, &rows), OI_ECONNECT);
    fclose(out);
    assert_one_line(oi_errmsg(fx->store), "lost the connection to PostgreSQL: ");
    assert_true(rows < (uint64_t)ROWS);
    out = fopen("/dev/null", "w");
    assert_ok(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, &rows));
    assert_int_equal(rows, ROWS);
    fclose(out);
    PQfinish(admin);
}

/* The library's own store, open across a restart, goes on by itself; a
 * transaction the restart cut off fails, and is not continued on the new
 * session (its later statements would commit one by one). */
static void test_fault_pg_restart_under_store(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    oi_agent a = OI_AGENT_INIT;
    ft_pg_restart();
    assert_ok(fx, oi_agent_lookup(fx->store, FT_AGENT, &a));   /* no error at all */
    oi_agent_clear(&a);

    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, record_metric(fx, 1));
    ft_pg_restart();
    assert_rc(fx, record_metric(fx, 2), OI_ECONNECT);
    assert_rc(fx, record_metric(fx, 3), OI_ECONNECT);
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    assert_ok(fx, record_metric(fx, 4));                     /* and on after the rollback */
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
}

/* ---- SQLite locked by another process ----------------------------------------- */

/* A child holding the write lock (BEGIN IMMEDIATE) until killed; returns
 * once it holds it. */
static pid_t hold_write_lock(oi_fixture *fx)
{
    int ready[2];
    char byte = 0;
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sqlite3 *db = NULL;
        close(ready[0]);
        if (sqlite3_open(fx->db_path, &db) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    ft_adopt(pid);
    close(ready[1]);
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    return pid;
}

static void test_fault_sqlite_locked(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    if (fx_is_pg())
        fx_skip("SQLite's file lock; PostgreSQL locks rows");
    fx_run run;
    pid_t holder = hold_write_lock(fx);

    /* Reads go on: WAL readers do not wait for the writer. */
    int64_t started = ft_now_us();
    fx_cli(fx, &run, "agents", NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, FT_AGENT);
    fx_run_free(&run);
    assert_true(ft_now_us() - started < 2000000);

    /* A write waits the busy timeout, then fails saying why. */
    started = ft_now_us();
    fx_cli(fx, &run, "metrics", "record", FT_AGENT, "locked", "1", NULL);
    int64_t waited = ft_now_us() - started;
    assert_int_equal(run.status, EXIT_CONFLICT);
    assert_one_line(run.err, "database is locked: another connection holds its write lock "
                             "(waited up to 10 s)");
    fx_run_free(&run);
    assert_true(waited >= (BUSY_TIMEOUT_S - 1) * INT64_C(1000000));
    assert_true(waited < (BUSY_TIMEOUT_S + 10) * INT64_C(1000000));
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);

    /* The holder gone, the same write goes through. */
    ft_kill(holder);
    fx_cli(fx, &run, "metrics", "record", FT_AGENT, "locked", "1", NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
}

/* ---- SQLite's disk full ------------------------------------------------------- */

/* The fixture's database moved to dir: migrated, with the agent. */
static void database_in(oi_fixture *fx, const char *dir)
{
    oi_store_close(fx->store);
    oi_agent_clear(&fx->cost_agent);
    snprintf(fx->db_path, sizeof fx->db_path, "%s/test.db", dir);
    snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->db_path);
    assert_ok(fx, oi_store_open(&fx->store, fx->url));
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    fx_make_agent(fx, "cost", FT_AGENT, &fx->cost_agent);
}

static void test_fault_sqlite_disk_full(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    if (fx_is_pg())
        fx_skip("a file system of its own for the database: SQLite only");
    char dir[400], path[512];
    if (!ft_mount_tmpfs(fx, "2m", dir, sizeof dir))
        fx_skip("mounting a tmpfs is not permitted here (needs root)");
    database_in(fx, dir);
    snprintf(path, sizeof path, "%s/big.csv", fx->dir);   /* not on the small disk */
    ft_write_csv(path, 0, 50000);
    fx_run run;
    fx_cli(fx, &run, "metrics", "import", path, "--batch-size", "1000", NULL);
    assert_int_equal(run.status, EXIT_OTHER);
    assert_one_line(run.err, "disk full: ");
    long line = resume_line(run.err);
    fx_run_free(&run);

    /* The database opens, is sound, and holds the batches reported. */
    ft_assert_database_sound(fx);
    long long rows = fx_count(fx, "agent_metrics");
    assert_int_equal(rows, line - 2);
    assert_int_equal(rows % 1000, 0);
    ft_assert_rows(fx, rows);
    fx_cli(fx, &run, "agents", NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ft_setup, ft_teardown)

int run_fault_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fault_pg_restart_during_import),
        T(test_fault_pg_stopped_under_server),
        T(test_fault_pg_restart_under_store),
        T(test_fault_pg_session_ended_during_export),
        T(test_fault_pg_connection_lost_mid_request),
        T(test_fault_sqlite_locked),
        T(test_fault_sqlite_disk_full),
    };
    return fx_run_group("faults", tests);
}
