/*
 * test_crash.c - crash consistency: the CLI and the server killed with
 * SIGKILL in the middle of their work, on either backend.
 *
 * A killed process cannot clean up, so what these tests check is what the
 * database itself guarantees through the library's transactions:
 *
 *   - an import killed after its first batches holds whole batches only
 *     (a count that is a multiple of the batch size), and importing the
 *     rest of the file from the line that count gives completes it with
 *     every row exactly once, even after a second kill;
 *   - `db upgrade` from base killed at points spread over its run leaves
 *     a database at a known revision, which a second `db upgrade` takes to
 *     head with the very schema of an uninterrupted upgrade, and which
 *     `validate` passes once seeded;
 *   - the server killed under a stream of POST /v1/metrics from several
 *     clients keeps every batch it acknowledged, holds no part of a batch,
 *     and a new server on the same database serves at once.
 *
 * The kill points come from the work itself (the row count polled through
 * a connection of its own, a fraction of a measured upgrade), not from
 * fixed sleeps, so they land inside the work on a fast or a slow machine.
 */
#include "faults.h"
#include "http.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Processes killed, servers restarted: slow under ASan, run by the coverage build. */
#define COVERAGE_BUILD_ONLY "processes killed and restarted: the coverage build runs this"

#define ROWS 200000L
#define BATCH 10000L
#define KILLS 2          /* imports killed before the one that completes */
#define UPGRADE_RUNS 5

/* ---- an import killed ------------------------------------------------------ */

/* Import rows `from` .. ROWS - 1 (a file that starts at that row, as
 * docs/metrics-io.md says to resume) in the background. */
static pid_t start_import(oi_fixture *fx, long from, const char *tag)
{
    char path[512], batch[32];
    snprintf(path, sizeof path, "%s/%s.csv", fx->dir, tag);
    snprintf(batch, sizeof batch, "%ld", BATCH);
    ft_write_csv(path, from, ROWS - from);
    const char *args[] = {"metrics", "import", path, "--batch-size", batch, NULL};
    return ft_spawn_cli(fx, tag, args);
}

static void test_crash_import_killed_resumes(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    long long rows = 0;
    for (int kill = 0; kill < KILLS; kill++) {
        char tag[32];
        snprintf(tag, sizeof tag, "import-%d", kill);
        pid_t pid = start_import(fx, (long)rows, tag);
        ft_wait_rows(fx, pid, rows, 60000);   /* a batch of this run is committed */
        ft_sleep_ms(rand() % 40);             /* then anywhere in the next ones */
        ft_kill(pid);
        rows = fx_count(fx, "agent_metrics");
        assert_true(rows > 0 && rows < ROWS);
        assert_int_equal(rows % BATCH, 0);     /* whole batches only */
        ft_assert_rows(fx, rows);             /* rows 0 .. rows - 1, each once */
        ft_assert_database_sound(fx);
    }
    /* The rest of the file, from line rows + 2, completes it. */
    pid_t pid = start_import(fx, (long)rows, "import-rest");
    assert_int_equal(ft_wait(pid, 120000), 0);
    ft_assert_rows(fx, ROWS);
}

/* ---- an upgrade killed ------------------------------------------------------ */

/* A database with no revision: a new file (the run's own), or PostgreSQL's
 * schema emptied. */
static void empty_database(oi_fixture *fx, int run)
{
    if (fx_is_pg()) {
        fx_sql_exec(fx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
        return;
    }
    snprintf(fx->db_path, sizeof fx->db_path, "%s/upgrade-%d.db", fx->dir, run);
    snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->db_path);
}

/* `db current` answers with base or a revision this tool knows. */
static void assert_known_revision(oi_fixture *fx)
{
    fx_run run;
    fx_cli(fx, &run, "db", "current", NULL);
    assert_int_equal(run.status, 0);
    bool known = strncmp(run.out, "base ", 5) == 0;
    for (size_t i = 0; !known && i < oi_migrate_revision_count(); i++) {
        const char *id = oi_migrate_revision(i)->id;
        known = strncmp(run.out, id, strlen(id)) == 0 && run.out[strlen(id)] == ' ';
    }
    if (!known)
        fail_msg("db current after a kill: %s", run.out);
    fx_run_free(&run);
}

/* Run `optiinfra WORDS`, which must succeed. */
static void cli_ok(oi_fixture *fx, const char *word, const char *word2)
{
    fx_run run;
    fx_cli(fx, &run, word, word2, NULL);
    if (run.status != 0)
        fail_msg("%s %s: exit %d: %s%s", word, word2 ? word2 : "", run.status, run.out, run.err);
    fx_run_free(&run);
}

static void upgrade(oi_fixture *fx)
{
    cli_ok(fx, "db", "upgrade");
}

static void test_crash_upgrade_killed(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    char *head_schema = fx_schema_dump(fx);   /* of an upgrade nothing interrupted */
    empty_database(fx, 0);
    int64_t started = ft_now_us();
    upgrade(fx);
    int64_t whole = ft_now_us() - started;
    for (int run = 1; run <= UPGRADE_RUNS; run++) {
        empty_database(fx, run);
        const char *args[] = {"db", "upgrade", NULL};
        pid_t pid = ft_spawn_cli(fx, "upgrade", args);
        ft_sleep_ms((int)(whole * run / (UPGRADE_RUNS + 1) / 1000));
        ft_kill(pid);
        assert_known_revision(fx);
        upgrade(fx);
        char *schema = fx_schema_dump(fx);
        assert_string_equal(schema, head_schema);
        free(schema);
        cli_ok(fx, "seed", NULL);        /* validate counts the seed's rows too */
        cli_ok(fx, "validate", NULL);
    }
    free(head_schema);
}

/* ---- the server killed under load ------------------------------------------- */

#define POSTERS 3
#define POST_ROWS 50
#define POSTS_BEFORE_KILL 30  /* acknowledged in all before the kill */

/* A client posting batches one after another until the server is gone.
 * Its batch j holds POST_ROWS rows named "c<client>", unit "c<client>-<j>",
 * so that SQL can tell each batch apart.  No cmocka assertion: a thread. */
typedef struct poster {
    pthread_t thread;
    int client;
    const fx_server *srv;
    atomic_int acknowledged;     /* batches answered 200 */
    long last_status;            /* 0: the transport failed (the server died) */
} poster;

static atomic_int acknowledged_total;

static char *batch_body(int client, int j)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputc('[', f);
    for (int r = 0; r < POST_ROWS; r++)
        fprintf(f, "%s{\"agent\": \"" FT_AGENT "\", \"metric_name\": \"c%d\", "
                   "\"metric_value\": %d, \"metric_unit\": \"c%d-%d\"}",
                r ? ", " : "", client, j * POST_ROWS + r, client, j);
    fputc(']', f);
    fclose(f);
    return text;
}

static void *post_until_gone(void *arg)
{
    poster *p = arg;
    for (int j = 0;; j++) {
        char *body = batch_body(p->client, j);
        p->last_status = ft_http(p->srv, "POST", "/v1/metrics", body, NULL);
        free(body);
        if (p->last_status != 200)
            return NULL;
        atomic_fetch_add(&p->acknowledged, 1);
        atomic_fetch_add(&acknowledged_total, 1);
    }
}

/* Every batch is whole; client c's are its first `acknowledged` ones,
 * plus perhaps the one in flight when the server died. */
static void assert_batches(oi_fixture *fx, const poster *posters)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT metric_unit, count(*) FROM agent_metrics "
                              "GROUP BY metric_unit HAVING count(*) <> %d", POST_ROWS);
    char *partial = fx_sql_text(fx, sql);
    assert_string_equal(partial, "");
    free(partial);
    for (int c = 0; c < POSTERS; c++) {
        snprintf(sql, sizeof sql, "SELECT count(DISTINCT metric_unit) FROM agent_metrics "
                                  "WHERE metric_name = 'c%d'", c);
        long long kept = fx_sql_int(fx, sql);
        int acked = atomic_load(&posters[c].acknowledged);
        if (kept != acked && kept != acked + 1)
            fail_msg("client %d: %d batches acknowledged, %lld in the database", c, acked, kept);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_metrics WHERE metric_name = "
                                  "'c%d' AND metric_value >= %lld", c, kept * POST_ROWS);
        assert_int_equal(fx_sql_int(fx, sql), 0);   /* its first batches, no gap */
    }
}

static void test_crash_server_killed_under_load(void **state)
{
    fx_skip_in_sanitizer_build(COVERAGE_BUILD_ONLY);
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    poster posters[POSTERS];
    fx_server_start(fx, &srv, NULL);
    ft_adopt(srv.pid);
    fx_get(&srv, &r, "/readyz");   /* and libcurl initialised before the threads */
    assert_status(&r, 200);
    fx_http_free(&r);
    atomic_store(&acknowledged_total, 0);
    int started = 0;   /* no assertion until the threads are joined: they use this frame */
    for (; started < POSTERS; started++) {
        posters[started] = (poster){.client = started, .srv = &srv};
        if (pthread_create(&posters[started].thread, NULL, post_until_gone, &posters[started]))
            break;
    }
    for (int64_t until = ft_now_us() + 60000000;
         atomic_load(&acknowledged_total) < POSTS_BEFORE_KILL && ft_now_us() < until;)
        ft_sleep_ms(1);
    ft_sleep_ms(rand() % 20);
    ft_kill(srv.pid);
    for (int c = 0; c < started; c++)
        pthread_join(posters[c].thread, NULL);
    assert_int_equal(started, POSTERS);
    for (int c = 0; c < POSTERS; c++)
        assert_int_equal(posters[c].last_status, 0);   /* each stopped by the kill, no error */
    assert_true(atomic_load(&acknowledged_total) >= POSTS_BEFORE_KILL);
    ft_assert_database_sound(fx);
    assert_batches(fx, posters);

    /* A new server on the same database is ready and takes writes at once. */
    fx_server_start(fx, &srv, NULL);
    ft_adopt(srv.pid);
    fx_get(&srv, &r, "/readyz");
    assert_status(&r, 200);
    fx_http_free(&r);
    long long before = fx_count(fx, "agent_metrics");
    char *body = batch_body(POSTERS, 0);
    fx_post(&srv, &r, "/v1/metrics", body);
    free(body);
    assert_status(&r, 200);
    fx_http_free(&r);
    assert_int_equal(fx_count(fx, "agent_metrics"), before + POST_ROWS);
    pid_t pid = srv.pid;
    assert_int_equal(fx_server_stop(&srv), 0);
    ft_forget(pid);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ft_setup, ft_teardown)

int run_crash_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_crash_import_killed_resumes),
        T(test_crash_upgrade_killed),
        T(test_crash_server_killed_under_load),
    };
    return fx_run_group("crash", tests);
}
