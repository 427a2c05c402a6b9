/*
 * test_pgbouncer.c - the store through PgBouncer in transaction pooling
 * mode (pool_mode=transaction: src/backend/postgres_pool.c), the two
 * pieces of that mode that need no server (the $n counter and the
 * pool_mode URL parameter), and each mode on a direct connection.
 *
 * The PgBouncer tests start pgbouncer (Debian's 1.18) themselves, once
 * for the group, on a free loopback port in front of the test's
 * PostgreSQL: pool_mode = transaction, two server connections per pool,
 * so that a client's transactions really move between server connections
 * (and its statements outside one), and auth_type = trust with the
 * pg_virtualenv user's password in the auth file, for PgBouncer's own
 * login to the server.  PgBouncer refuses to run as root: as root the
 * child switches to the postgres account before it starts pgbouncer.
 * The child dies with this process (PR_SET_PDEATHSIG), and the group
 * stops it at its end, so no pgbouncer outlives a run.
 *
 * The database's own defaults are set to another time zone and date
 * style first: a server connection PgBouncer opens then starts with
 * them, so a store whose session setup did not hold on every server
 * connection would read times wrong.
 *
 * What is checked through the pooler: the CLI (db upgrade, seed, validate,
 * agents, metrics import, a streamed metrics query, export), a stream
 * freed early (its cancel) and the next statement, a reconnection after
 * PgBouncer restarts, the service (routes, and a /v1/watch long poll
 * answered by polling, woken by a heartbeat of another process), the lock
 * race, and concurrent migrate + seed.  And that the guard guards: the
 * same concurrent workload fails with named statements
 * (pool_mode=session) and passes unnamed.
 *
 * They run only with OI_TEST_PGBOUNCER=1 on PostgreSQL: scripts/test.sh
 * runs them once, in their own step (coverage build), not in the
 * PostgreSQL suites.  The counter and URL tests run on every backend, and
 * each mode straight to the server (test_pool_modes_direct) in every
 * PostgreSQL run.
 */
#include "harness.h"
#include "http.h"
#include "race.h"
#include "backend/backend.h"
#include "backend/postgres_pool.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

/* ---- the $n counter ------------------------------------------------------- */

static void test_pool_count_params(void **state)
{
    (void)state;
    static const struct { const char *sql; int n; } cases[] = {
        {"SELECT 1", 0},
        {"SELECT $1", 1},
        {"SELECT $2, $1, $10", 10},
        {"SELECT $1::jsonb @> $3::jsonb", 3},
        {"SELECT '$5'", 0},                       /* a string */
        {"SELECT 'it''s $5', $2", 2},             /* a doubled quote inside */
        {"SELECT E'\\' $5', $1", 1},               /* E'': a backslash escapes */
        {"SELECT e'\\'', $1", 1},
        {"SELECT '\\', $1", 1},                    /* a plain '' string: no escapes */
        {"SELECT \"$7\" FROM t WHERE a = $1", 1},  /* a quoted identifier */
        {"SELECT \"a\"\"$7\", $2", 2},
        {"SELECT 1 -- $9\n, $2", 2},               /* a line comment */
        {"SELECT /* $9 /* $8 */ $7 */ $1", 1},    /* block comments nest */
        {"SELECT $$ $9 $$, $1", 1},               /* a dollar-quoted string */
        {"SELECT $tag$ $9 $x$ $tag$, $3", 3},     /* with a tag, another inside */
        {"SELECT a$1 FROM t", 0},                 /* part of an identifier */
        {"SELECT CASE WHEN x THEN 'a' END'$2'", 0},
        {"SELECT $1 FROM t WHERE s = 'unterminated $4", 1},
        {"SELECT $99999999999", 2147483647},      /* too large: no index refused */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = oi_pg_count_params(cases[i].sql);
        if (got != cases[i].n)
            fail_msg("%s: %d parameters, not %d", cases[i].sql, got, cases[i].n);
    }
}

/* ---- the pool_mode parameter ------------------------------------------------ */

static void assert_split(const char *url, int want_rc, const char *want_rest,
                         oi_pg_pool_mode want_mode)
{
    char *rest = (char *)"unset";
    oi_pg_pool_mode mode = OI_PG_POOL_SESSION;
    int rc = oi_pg_pool_split(url, &rest, &mode);
    if (rc != want_rc)
        fail_msg("%s: rc %d, not %d", url, rc, want_rc);
    if (rc != OI_OK) {
        assert_null(rest);
        return;
    }
    if (strcmp(rest, want_rest) != 0 || mode != want_mode)
        fail_msg("%s: \"%s\" mode %d, not \"%s\" mode %d", url, rest, mode, want_rest, want_mode);
    free(rest);
}

static void test_pool_url_parameter(void **state)
{
    (void)state;
    assert_split("postgresql://u@h/db", OI_OK, "postgresql://u@h/db", OI_PG_POOL_AUTO);
    assert_split("postgresql://u@h/db?pool_mode=transaction", OI_OK, "postgresql://u@h/db",
                 OI_PG_POOL_TRANSACTION);
    assert_split("postgres://u@h/db?sslmode=disable&pool_mode=session&application_name=x",
                 OI_OK, "postgres://u@h/db?sslmode=disable&application_name=x",
                 OI_PG_POOL_SESSION);
    assert_split("postgresql://h/db?pool_mode=session&pool_mode=transaction", OI_OK,
                 "postgresql://h/db", OI_PG_POOL_TRANSACTION);   /* the last wins */
    assert_split("postgresql://h/db?pool_mode=statement", OI_EINVALID, NULL, 0);
    assert_split("postgresql://h/db?pool_mode=", OI_EINVALID, NULL, 0);
    assert_split("postgresql://h/db?pool_mode", OI_EINVALID, NULL, 0);
    assert_split("host=h pool_mode=transaction dbname=d", OI_OK, "host=h dbname=d",
                 OI_PG_POOL_TRANSACTION);
    assert_split("  pool_mode = 'session'  host=h", OI_OK, "host=h", OI_PG_POOL_SESSION);
    assert_split("password='a b\\' pool_mode=transaction' host=h", OI_OK,
                 "password='a b\\' pool_mode=transaction' host=h", OI_PG_POOL_AUTO);
    assert_split("host=h pool_mode=Transaction", OI_EINVALID, NULL, 0);
    /* A string that does not split goes to libpq whole, to be refused. */
    assert_split("host=h pool_mode", OI_OK, "host=h pool_mode", OI_PG_POOL_AUTO);
    assert_split("host='h pool_mode=transaction", OI_OK, "host='h pool_mode=transaction",
                 OI_PG_POOL_AUTO);
    assert_split("postgres:/h/db?pool_mode=transaction", OI_OK,
                 "postgres:/h/db?pool_mode=transaction", OI_PG_POOL_AUTO);
}

static void assert_redacted(const char *url, const char *want)
{
    char *shown = oi_backend_postgres.redact(url);
    if (strcmp(shown, want) != 0)
        fail_msg("%s shows as \"%s\", not \"%s\"", url, shown, want);
    free(shown);
}

/* The redacted URL still says which mode it asks for; its password does not
 * show; a URL with a mode it cannot take shows nothing. */
static void test_pool_url_redacted(void **state)
{
    (void)state;
    assert_redacted("postgresql://u:S3cret@h/db?pool_mode=transaction",
                    "user=u password=*** dbname=db host=h pool_mode=transaction");
    assert_redacted("host=h password=S3cret pool_mode=session",
                    "password=*** host=h pool_mode=session");
    assert_redacted("postgresql://?pool_mode=transaction", "pool_mode=transaction");
    assert_redacted("postgresql://u:S3cret@h/db?pool_mode=nope", OI_URL_NOT_SHOWN);
    assert_redacted("host=h password=S3cret pool_mode=transaction bogus=1", OI_URL_NOT_SHOWN);
}

static void test_pool_url_refused(void **state)
{
    (void)state;
    oi_store *store = NULL;
    assert_int_equal(oi_store_open(&store, "postgresql://u:S3cret@127.0.0.1:1/db?"
                                           "pool_mode=statement"), OI_EINVALID);
    assert_contains(oi_errmsg(store), "pool_mode=transaction");
    assert_not_contains(oi_errmsg(store), "S3cret");
    oi_store_close(store);
}

/* ---- the backend on a direct connection, each mode ----------------------------- */

/* The test's server, straight, with pool_mode=mode when mode is not NULL. */
static void direct_url(char *out, size_t size, const char *mode)
{
    snprintf(out, size, "host='%s' port='%s' dbname='%s' user='%s' password='%s'%s%s",
             getenv("PGHOST"), getenv("PGPORT"), getenv("PGDATABASE"), getenv("PGUSER"),
             getenv("PGPASSWORD") ? getenv("PGPASSWORD") : "", mode ? " pool_mode=" : "",
             mode ? mode : "");
}

/* How many statements the connection has prepared by name, asked by a
 * statement of its own (itself among them when named). */
static long long prepared_by_name(oi_conn *conn)
{
    const oi_backend *b = &oi_backend_postgres;
    oi_stmt *st = NULL;
    assert_int_equal(b->prepare(conn, &st, "SELECT count(*) FROM pg_prepared_statements"), OI_OK);
    assert_int_equal(b->step(st), OI_ROW);
    long long n = b->column_int64(st, 0);
    b->finalize(st);
    return n;
}

/* Each mode, straight to the server: the same answers, bind refusing an
 * index the statement does not have (counted on the client when unnamed),
 * named statements only where the mode says, and the session set up
 * (UTC) in both. */
static void test_pool_modes_direct(void **state)
{
    (void)state;
    static const struct { const char *mode; bool named; } modes[] = {
        {NULL, true}, {"session", true}, {"transaction", false},
    };
    const oi_backend *b = &oi_backend_postgres;
    fx_skip_unless_pg();
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char url[1024];
        oi_err err = {0};
        oi_conn *conn = NULL;
        oi_stmt *st = NULL;
        direct_url(url, sizeof url, modes[i].mode);
        assert_int_equal(b->open(&conn, url, &err), OI_OK);
        assert_int_equal(b->prepare(conn, &st, "SELECT $1::int + $2::int, "
                                    "current_setting('TimeZone'), '$3'"), OI_OK);
        assert_int_equal(b->bind_int64(st, 3, 1), OI_ERROR);
        assert_contains(err.msg, "no parameter $3: the statement has 2");
        assert_int_equal(b->bind_int64(st, 1, 40), OI_OK);
        assert_int_equal(b->bind_int64(st, 2, 2), OI_OK);
        assert_int_equal(b->step(st), OI_ROW);
        assert_int_equal(b->column_int64(st, 0), 42);
        assert_string_equal(b->column_text(st, 1), "UTC");
        assert_int_equal(b->step(st), OI_DONE);
        b->finalize(st);
        assert_int_equal(prepared_by_name(conn) > 0, modes[i].named);
        b->close(conn);
    }
}

/* ---- pgbouncer, started and stopped by the group ----------------------------- */

static struct {
    pid_t pid;
    int port;
    char dir[300];
} bouncer;

static bool bouncer_wanted(void)
{
    const char *on = getenv("OI_TEST_PGBOUNCER");
    if (!fx_is_pg() || !on || strcmp(on, "1") != 0) {
        fx_skip("PgBouncer tests: on PostgreSQL with OI_TEST_PGBOUNCER=1 "
                "(scripts/test.sh's pgbouncer step)");
        return false;
    }
    return true;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A libpq key=value string to PgBouncer, the test's database and user,
 * with our pool_mode when mode is not NULL. */
static void bouncer_url(char *out, size_t size, const char *mode)
{
    snprintf(out, size, "host=127.0.0.1 port=%d dbname='%s' user='%s'%s%s", bouncer.port,
             getenv("PGDATABASE"), getenv("PGUSER"), mode ? " pool_mode=" : "",
             mode ? mode : "");
}

static bool bouncer_answers(void)
{
    char url[512];
    bouncer_url(url, sizeof url, NULL);
    return PQping(url) == PQPING_OK;
}

/* In the child: not root (PgBouncer refuses), dying with the test. */
static void exec_pgbouncer(const char *ini, const struct passwd *pw, pid_t parent)
{
    if (pw && (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0))
        _exit(126);
    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* after setuid, which clears it */
    if (getppid() != parent)
        _exit(125);
    execlp("pgbouncer", "pgbouncer", "-q", ini, (char *)NULL);
    _exit(127);
}

static void bouncer_spawn(void)
{
    char ini[400];
    struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
    pid_t parent = getpid();
    snprintf(ini, sizeof ini, "%s/pgbouncer.ini", bouncer.dir);
    fflush(NULL);
    bouncer.pid = fork();
    assert_true(bouncer.pid >= 0);
    if (bouncer.pid == 0)
        exec_pgbouncer(ini, pw, parent);
    for (int i = 0; i < 200 && !bouncer_answers(); i++) {
        int status;
        if (waitpid(bouncer.pid, &status, WNOHANG) == bouncer.pid)
            fail_msg("pgbouncer exited (status %d): see %s/pgbouncer.log", status, bouncer.dir);
        nanosleep(&(struct timespec){.tv_nsec = 25 * 1000000}, NULL);
    }
    assert_true(bouncer_answers());
}

static void bouncer_write_config(void)
{
    char path[400], *text = NULL;
    const char *user = getenv("PGUSER"), *password = getenv("PGPASSWORD");
    assert_non_null(user);
    /* The auth file: "user" "password", a quote doubled inside. */
    FILE *f;
    snprintf(path, sizeof path, "%s/users.txt", bouncer.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "\"%s\" \"", user);
    for (const char *p = password ? password : ""; *p; p++)
        fprintf(f, *p == '"' ? "\"\"" : "%c", *p);
    fprintf(f, "\"\n");
    assert_int_equal(fclose(f), 0);
    assert_true(asprintf(&text,
        "[databases]\n* = host=%s port=%s\n"
        "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
        "auth_type = trust\nauth_file = %s\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n"
        "server_login_retry = 1\nlogfile = %s/pgbouncer.log\n",
        getenv("PGHOST") ? getenv("PGHOST") : "localhost",
        getenv("PGPORT") ? getenv("PGPORT") : "5432", bouncer.port, path, bouncer.dir) > 0);
    snprintf(path, sizeof path, "%s/pgbouncer.ini", bouncer.dir);
    write_file(path, text);
    free(text);
}

/* The directory is PgBouncer's user's: it writes its log there. */
static void bouncer_give_dir(void)
{
    struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
    const char *names[] = {"", "/pgbouncer.ini", "/users.txt"};
    if (!pw)
        return;
    for (size_t i = 0; i < 3; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s%s", bouncer.dir, names[i]);
        assert_int_equal(chown(path, pw->pw_uid, pw->pw_gid), 0);
    }
}

/* A database whose defaults are not the store's: each new server
 * connection starts in Tokyo time with SQL dates. */
static void set_database_defaults(oi_fixture *fx, bool foreign)
{
    char sql[300];
    snprintf(sql, sizeof sql, foreign
             ? "ALTER DATABASE \"%s\" SET TimeZone = 'Asia/Tokyo';"
               "ALTER DATABASE \"%s\" SET DateStyle = 'SQL, DMY'"
             : "ALTER DATABASE \"%s\" RESET TimeZone; ALTER DATABASE \"%s\" RESET DateStyle",
             getenv("PGDATABASE"), getenv("PGDATABASE"));
    fx_sql_exec(fx, sql);
}

static void bouncer_start(oi_fixture *fx)
{
    if (bouncer.pid > 0)
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(bouncer.dir, sizeof bouncer.dir, "%s/oi-pgbouncer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(bouncer.dir));
    bouncer.port = free_port();
    bouncer_write_config();
    bouncer_give_dir();
    set_database_defaults(fx, true);
    bouncer_spawn();
}

/* SIGINT: PgBouncer's safe shutdown (waits for clients' transactions). */
static void bouncer_kill(void)
{
    int status;
    if (bouncer.pid <= 0)
        return;
    kill(bouncer.pid, SIGINT);
    if (!fx_wait_child(bouncer.pid, 5000, &status)) {
        kill(bouncer.pid, SIGKILL);
        waitpid(bouncer.pid, &status, 0);
    }
    bouncer.pid = 0;
}

/* Its files, then its directory. */
static void bouncer_remove_dir(void)
{
    static const char *const names[] = {"pgbouncer.ini", "users.txt", "pgbouncer.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", bouncer.dir, names[i]);
        unlink(path);
    }
    rmdir(bouncer.dir);
}

static void bouncer_stop(void)
{
    bouncer_kill();
    if (!*bouncer.dir)
        return;
    bouncer_remove_dir();
    if (fx_is_pg() && getenv("PGDATABASE")) {
        char conninfo[64] = "";
        PGconn *c = PQconnectdb(conninfo);   /* the PG* variables */
        char sql[300];
        snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" RESET TimeZone;"
                 "ALTER DATABASE \"%s\" RESET DateStyle", getenv("PGDATABASE"),
                 getenv("PGDATABASE"));
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
}

/* fx->url swapped for the bouncer's (what fx_cli, the server and the races
 * use) and back: raw access (fx_sql_*) needs libpq's own form. */
typedef struct url_swap {
    char direct[1024];
} url_swap;

static void via_bouncer(oi_fixture *fx, url_swap *saved, const char *mode)
{
    bouncer_start(fx);
    snprintf(saved->direct, sizeof saved->direct, "%s", fx->url);
    bouncer_url(fx->url, sizeof fx->url, mode);
}

static void direct(oi_fixture *fx, const url_swap *saved)
{
    snprintf(fx->url, sizeof fx->url, "%s", saved->direct);
}

/* ---- the CLI ---------------------------------------------------------------- */

static void cli_ok(oi_fixture *fx, fx_run *run, const char *const *args, size_t n)
{
    fx_cli_argv(fx, run, true, args, n);
    if (run->status != 0)
        fail_msg("optiinfra %s %s: exit %d: %s", args[0], n > 1 ? args[1] : "", run->status,
                 run->err);
}

#define CLI_OK(fx, run, ...)                                                         \
    do {                                                                             \
        const char *const args_[] = {__VA_ARGS__};                                  \
        cli_ok(fx, run, args_, sizeof args_ / sizeof *args_);                        \
    } while (0)

#define METRIC_ROWS 600

static void write_metrics_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata\n", f);
    for (int i = 0; i < METRIC_ROWS; i++)
        fprintf(f, "Cost Optimizer,latency,%d.5,ms,2026-03-01T%02d:%02d:00Z,\"{\"\"i\"\": %d}\"\n",
                i, i / 60, i % 60, i);
    assert_int_equal(fclose(f), 0);
}

/* The commands a deployment runs, each a process of its own through
 * PgBouncer: the schema from nothing, the seed, the checks, the agents, a
 * metrics import and reads, the times in UTC whatever the server
 * connection's defaults. */
static void test_pgbouncer_cli(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    fx_run run;
    char csv[300];
    if (!bouncer_wanted())
        return;
    fx_sql_exec(fx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    via_bouncer(fx, &saved, "transaction");
    CLI_OK(fx, &run, "db", "upgrade");
    fx_run_free(&run);
    CLI_OK(fx, &run, "seed");
    fx_run_free(&run);
    CLI_OK(fx, &run, "validate");
    assert_contains(run.out, " 0 failed");
    fx_run_free(&run);
    CLI_OK(fx, &run, "agents", "--json");
    json_t *agents = fx_json(run.out);
    assert_int_equal(json_array_size(agents), 4);
    json_decref(agents);
    fx_run_free(&run);

    snprintf(csv, sizeof csv, "%s/metrics.csv", fx->dir);
    write_metrics_csv(csv);
    CLI_OK(fx, &run, "metrics", "import", csv, "--batch-size", "250");
    fx_run_free(&run);
    CLI_OK(fx, &run, "metrics", "query", "--json", "--limit", "0", "--name", "latency");
    json_t *doc = fx_json(run.out), *rows = json_object_get(doc, "rows");
    assert_int_equal(json_array_size(rows), METRIC_ROWS);
    json_t *last = json_array_get(rows, METRIC_ROWS - 1);
    assert_string_equal(json_string_value(json_object_get(last, "collection_timestamp")),
                        "2026-03-01T09:59:00.000000Z");
    json_decref(doc);
    fx_run_free(&run);
    CLI_OK(fx, &run, "metrics", "export", "--format", "ndjson");
    assert_int_equal(fx_count_lines(run.out), METRIC_ROWS + 12);
    assert_contains(run.out, "\"collection_timestamp\":\"2026-03-01T00:00:00.000000Z\"");
    fx_run_free(&run);
    direct(fx, &saved);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_metrics WHERE collection_timestamp"
                                    " = '2026-03-01T09:59:00Z'"), 1);
}

/* A stream freed after its first row (its query cancelled through
 * PgBouncer), then the store goes on; then PgBouncer restarts under the
 * idle store, which reconnects at its next call. */
static void test_pgbouncer_stream_cancel_and_reconnect(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    oi_store *store = NULL;
    if (!bouncer_wanted())
        return;
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
    fx_sql_exec(fx, "INSERT INTO agent_metrics (agent_id, metric_name, metric_value,"
                    " collection_timestamp, metadata, created_at)"
                    " SELECT (SELECT id FROM agents WHERE name = 'Cost Optimizer'), 'bulk', g,"
                    " now(), '{}', now() FROM generate_series(1, 200000) g");
    via_bouncer(fx, &saved, "transaction");
    assert_ok(fx, oi_store_open(&store, fx->url));
    assert_contains(oi_store_url(store), "pool_mode=transaction");
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.stream = true;
    f.metric_name = "bulk";
    oi_iter *it = NULL;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    double started = fx_seconds_now();
    assert_ok(fx, oi_metric_iter_new(&it, store, &f));
    assert_ok(fx, oi_agent_metric_next(it, &m));
    oi_agent_metric_clear(&m);
    oi_iter_free(it);
    double freed = fx_seconds_now() - started;
    oi_agent agent = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_find(store, "cost", "Cost Optimizer", &agent));
    print_message("stream of 200000 rows freed after one row in %.3f s\n", freed);

    bouncer_kill();
    bouncer_spawn();
    assert_ok(fx, oi_agent_heartbeat(store, agent.id, NULL));
    oi_agent_clear(&agent);
    oi_store_close(store);
    direct(fx, &saved);
}

/* ---- the service --------------------------------------------------------------- */

static void test_pgbouncer_service(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    fx_server srv;
    fx_http r;
    if (!bouncer_wanted())
        return;
    via_bouncer(fx, &saved, "transaction");
    fx_run run;
    CLI_OK(fx, &run, "seed");
    fx_run_free(&run);
    fx_server_start(fx, &srv, NULL);
    fx_get(&srv, &r, "/v1/agents");
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "agents")), 4);
    fx_http_free(&r);
    fx_post(&srv, &r, "/v1/agents/Cost%20Optimizer/heartbeat", "{\"status\": \"healthy\"}");
    assert_status(&r, 200);
    fx_http_free(&r);
    fx_get(&srv, &r, "/v1/agents/Cost%20Optimizer/configs");
    assert_status(&r, 200);
    fx_http_free(&r);

    /* A long poll, woken by a heartbeat another process sends half a
     * second later through PgBouncer: no LISTEN, the hub polls. */
    char out[400], err[400];
    snprintf(out, sizeof out, "%s/beat.out", fx->dir);
    snprintf(err, sizeof err, "%s/beat.err", fx->dir);
    const char *argv[] = {"/bin/sh", "-c",
                          "sleep 0.5; exec \"$0\" --database-url \"$1\" agent heartbeat "
                          "'Performance Tuner'",
                          fx_cli_path(), fx->url, NULL};
    pid_t beat = fx_spawn(argv, out, err);
    double started = fx_seconds_now();
    fx_get(&srv, &r, "/v1/watch?wait=20s");
    double waited = fx_seconds_now() - started;
    assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "changes")) >= 1);
    assert_true(waited < 10);
    print_message("watch answered after %.3f s (heartbeat at 0.5 s)\n", waited);
    fx_http_free(&r);
    int status;
    assert_true(fx_wait_child(beat, 10000, &status));
    assert_int_equal(status, 0);
    assert_int_equal(fx_server_stop(&srv), 0);
    direct(fx, &saved);
}

/* ---- races ----------------------------------------------------------------------- */

enum { RACERS = 6, ROUNDS = 20, HEAVY_ROUNDS = 30 };

typedef struct lock_race {
    char agent_ids[RACERS][OI_UUID_LEN + 1];
    const char *log;
} lock_race;

static int lock_racer(int index, const char *url, void *ctx)
{
    lock_race *race = ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    for (int round = 0; rc == OI_OK && round < ROUNDS; round++) {
        rc = oi_lock_acquire(store, race->agent_ids[index], "gpu-pool", 60000000, 0, NULL);
        if (rc == OI_OK) {
            rc = race_log(race->log, "enter %d", index) && race_log(race->log, "leave %d", index)
                     ? oi_lock_release(store, race->agent_ids[index], "gpu-pool")
                     : OI_ERROR;
        } else if (rc == OI_EHELD) {
            rc = OI_OK;
        }
    }
    if (rc != OI_OK)
        fprintf(stderr, "lock racer %d: %s\n", index, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* Processes race for one lock through PgBouncer: never two holders. */
static void test_pgbouncer_lock_race(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    lock_race race;
    if (!bouncer_wanted())
        return;
    for (int i = 0; i < RACERS; i++) {
        char name[32];
        oi_agent a = OI_AGENT_INIT;
        snprintf(name, sizeof name, "racer-%d", i);
        fx_make_agent(fx, "race", name, &a);
        snprintf(race.agent_ids[i], sizeof race.agent_ids[i], "%s", a.id);
        oi_agent_clear(&a);
    }
    race.log = race_log_path(fx);
    via_bouncer(fx, &saved, "transaction");
    race_run(fx, RACERS, lock_racer, &race);
    direct(fx, &saved);
    char *log = race_log_read(fx);
    int holder = -1, wins = 0;
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int who = -1;
        if (sscanf(line, "enter %d", &who) == 1) {
            assert_int_equal(holder, -1);   /* nobody held it */
            holder = who;
            wins++;
        } else {
            assert_int_equal(sscanf(line, "leave %d", &who), 1);
            assert_int_equal(holder, who);
            holder = -1;
        }
    }
    free(log);
    assert_true(wins >= ROUNDS);
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
}

static int migrate_and_seed(int index, const char *url, void *ctx)
{
    (void)index;
    (void)ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    if (rc == OI_OK)
        rc = oi_migrate_upgrade(store, "head", NULL, NULL, NULL);
    if (rc == OI_OK)
        rc = oi_seed_core(store, NULL);
    if (rc == OI_OK)
        rc = oi_seed_state(store, NULL);
    if (rc != OI_OK)
        fprintf(stderr, "migrate+seed: %s\n", oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* Migrators and seeders from nothing, at once, through PgBouncer: the
 * advisory lock of each (pg_advisory_xact_lock, inside its transaction)
 * holds on the one server connection the transaction has. */
static void test_pgbouncer_migrate_seed_race(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    if (!bouncer_wanted())
        return;
    fx_sql_exec(fx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    via_bouncer(fx, &saved, "transaction");
    race_run(fx, 4, migrate_and_seed, NULL);
    direct(fx, &saved);
    assert_int_equal(fx_count(fx, "alembic_version"), 1);
    assert_int_equal(fx_count(fx, "agents"), 4);
    assert_int_equal(fx_count(fx, "agent_configs"), 12);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 11);
    assert_int_equal(fx_count(fx, "agent_metrics"), 12);
}

/* Heartbeats and reads, many statements outside and inside transactions;
 * a failure is logged ("fail <message>"), not fatal: the test counts them. */
static int busy_worker(int index, const char *url, void *ctx)
{
    (void)index;
    const char *log = race_log_path(ctx);
    oi_store *store = NULL;
    oi_agent agent = OI_AGENT_INIT;
    int rc = oi_store_open(&store, url);
    for (int round = 0; rc == OI_OK && round < HEAVY_ROUNDS; round++) {
        rc = oi_agent_find(store, "cost", "Cost Optimizer", &agent);
        if (rc == OI_OK)
            rc = oi_agent_heartbeat(store, agent.id, NULL);
        oi_agent_clear(&agent);
    }
    if (rc != OI_OK && !race_log(log, "fail %.200s", store ? oi_errmsg(store) : "open"))
        return 1;
    oi_store_close(store);
    return 0;
}

static int failures_of(oi_fixture *fx, char *first, size_t size)
{
    char *log = race_log_read(fx);
    int n = 0;
    for (char *p = log; (p = strstr(p, "fail ")) != NULL; p++) {
        if (n++ == 0)
            snprintf(first, size, "%.*s", (int)strcspn(p, "\n"), p);
    }
    free(log);
    return n;
}

/* The failure the mode guards against: with named statements
 * (pool_mode=session) concurrent clients through PgBouncer find their
 * statements missing ("prepared statement "s3" does not exist") or taken;
 * unnamed (pool_mode=transaction, and the default, which detects the
 * pooler), the same work passes. */
static void test_pgbouncer_named_statements_fail(void **state)
{
    oi_fixture *fx = FX(state);
    url_swap saved;
    char first[300] = "";
    if (!bouncer_wanted())
        return;
    fx_run run;
    via_bouncer(fx, &saved, "transaction");
    CLI_OK(fx, &run, "seed");
    fx_run_free(&run);
    direct(fx, &saved);

    static const char *const modes[] = {"session", "transaction", NULL};
    for (size_t i = 0; i < 3; i++) {
        via_bouncer(fx, &saved, modes[i]);
        race_run(fx, RACERS, busy_worker, fx);
        direct(fx, &saved);
        int failures = failures_of(fx, first, sizeof first);
        print_message("pool_mode=%s: %d of %d workers failed%s%s\n",
                      modes[i] ? modes[i] : "(none)", failures, RACERS,
                      failures ? ": " : "", failures ? first : "");
        if (i == 0) {
            assert_true(failures > 0);
            assert_contains(first, "prepared statement");
        } else {
            assert_int_equal(failures, 0);
        }
    }
}

int run_pgbouncer_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_count_params),
        cmocka_unit_test(test_pool_url_parameter),
        cmocka_unit_test(test_pool_url_redacted),
        cmocka_unit_test(test_pool_url_refused),
        cmocka_unit_test(test_pool_modes_direct),
        cmocka_unit_test_setup_teardown(test_pgbouncer_cli, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pgbouncer_stream_cancel_and_reconnect, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_pgbouncer_service, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pgbouncer_lock_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pgbouncer_migrate_seed_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pgbouncer_named_statements_fail, fx_setup,
                                        fx_teardown),
    };
    int failed = fx_run_group("pgbouncer", tests);
    bouncer_stop();
    return failed;
}
