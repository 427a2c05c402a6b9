/*
 * test_changes.c - the store-wide revision and the change log (changes.h):
 * what the triggers of 006 log for each watched table, filters, retention
 * and compaction, waiting for a change made by another process, and
 * `optiinfra watch`.
 *
 * The log is read through the library and checked around it (fx_sql_*):
 * each change's revision must also be the revision column of the row it
 * changed.  Waits are timed: a wake-up must come well before the timeout
 * given, so a wait that only ever times out fails.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHANGES 64
static const int64_t MS = 1000;

typedef struct changes {
    oi_change items[MAX_CHANGES];
    size_t n;
} changes;

static void changes_free(changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        oi_change_clear(&c->items[i]);
    c->n = 0;
}

/* Every change after `since` matching (table, agent_id), read whole. */
static void read_changes(oi_fixture *fx, int64_t since, const char *table, const char *agent_id,
                         changes *out)
{
    oi_change_filter f = OI_CHANGE_FILTER_INIT;
    f.table = table;
    f.agent_id = agent_id;
    oi_iter *it = NULL;
    out->n = 0;
    assert_ok(fx, oi_changes_since(&it, fx->store, since, &f));
    int rc;
    for (;;) {
        assert_true(out->n < MAX_CHANGES);
        oi_change *c = &out->items[out->n];
        oi_change_init(c, OI_CHANGE_VERSION);
        if ((rc = oi_change_next(it, c)) != OI_OK)
            break;
        out->n++;
    }
    assert_rc(fx, rc, OI_ITEROVER);
    oi_iter_free(it);
}

static int64_t revision_now(oi_fixture *fx)
{
    int64_t rev = -1;
    assert_ok(fx, oi_store_revision(fx->store, &rev));
    assert_int_equal(rev, fx_sql_int(fx, "SELECT revision FROM store_revision"));
    return rev;
}

/* The row's revision column, by the key column the log names. */
static long long row_revision(oi_fixture *fx, const char *table, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT revision FROM %s WHERE %s = '%s'", table,
             strcmp(table, "resource_locks") == 0 ? "resource" : "id", key);
    return fx_sql_int(fx, sql);
}

static void assert_change(const oi_change *c, const char *table, const char *key,
                          const char *agent_id, oi_change_kind kind)
{
    assert_string_equal(c->table, table);
    assert_string_equal(c->key, key);
    assert_string_equal(c->agent_id, agent_id ? agent_id : "");
    assert_int_equal(c->kind, kind);
    assert_true(c->changed_at != OI_TIME_NULL);
    assert_true(llabs(oi_time_now() - c->changed_at) < 60 * 1000 * MS);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

/* ---- what the log records ----------------------------------------------- */

static void test_changes_agent_insert_update_delete(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "watched", &a);
    changes c;
    read_changes(fx, start, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_INSERT);
    assert_int_equal(c.items[0].revision, start + 1);
    assert_int_equal(row_revision(fx, "agents", a.id), start + 1);
    assert_int_equal(revision_now(fx), start + 1);
    changes_free(&c);

    free(a.endpoint);
    a.endpoint = strdup("http://changed:9000");
    assert_ok(fx, oi_agent_update(fx->store, &a));
    read_changes(fx, start + 1, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_UPDATE);
    assert_int_equal(row_revision(fx, "agents", a.id), c.items[0].revision);
    changes_free(&c);

    assert_ok(fx, oi_agent_delete(fx->store, a.id));
    read_changes(fx, start + 2, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_DELETE);
    assert_int_equal(c.items[0].revision, start + 3);
    changes_free(&c);
    oi_agent_clear(&a);
}

static void test_changes_rollback_leaves_no_change(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    long long logged = fx_count(fx, "change_log");
    oi_agent a = OI_AGENT_INIT;
    assert_ok(fx, oi_begin(fx->store));
    a.name = strdup("rolled back");
    a.type = strdup("cost");
    a.endpoint = strdup("http://x:1");
    assert_ok(fx, oi_agent_create(fx->store, &a));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(revision_now(fx), start);
    assert_int_equal(fx_count(fx, "change_log"), logged);
    changes c;
    read_changes(fx, start, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
    oi_agent_clear(&a);
}

static void test_changes_since_above_current_is_empty(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx);
    changes c;
    read_changes(fx, now, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
    read_changes(fx, now + 1000, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
}

/* ---- waiting ------------------------------------------------------------ */

static void test_changes_wait_returns_at_once_when_past(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    assert_true(now > 0); /* the fixture's agent */
    int64_t t0 = monotonic_ms();
    assert_ok(fx, oi_changes_wait(fx->store, now - 1, 10000 * MS, &rev));
    assert_int_equal(rev, now);
    assert_true(monotonic_ms() - t0 < 1000);
}

static void test_changes_wait_times_out_unchanged(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    int64_t t0 = monotonic_ms();
    assert_ok(fx, oi_changes_wait(fx->store, now, 150 * MS, &rev));
    int64_t took = monotonic_ms() - t0;
    assert_int_equal(rev, now);
    assert_true(took >= 140 && took < 2000);
    assert_ok(fx, oi_changes_wait(fx->store, now, 0, &rev)); /* 0: a look, no wait */
    assert_int_equal(rev, now);
}

/* The child: wait, then commit one change through a store of its own, and
 * report the moment of the commit (CLOCK_MONOTONIC is system-wide). */
static int commit_later(const char *url, int report_fd)
{
    sleep_ms(300);
    oi_store *s = NULL;
    int rc = oi_store_open(&s, url);
    oi_agent a = OI_AGENT_INIT;
    a.name = strdup("from another process");
    a.type = strdup("cost");
    a.endpoint = strdup("http://other:1");
    if (rc == OI_OK)
        rc = oi_agent_create(s, &a);
    int64_t done = monotonic_ms();
    if (write(report_fd, &done, sizeof done) != sizeof done)
        rc = OI_ERROR;
    oi_agent_clear(&a);
    oi_store_close(s);
    return rc == OI_OK ? 0 : 1;
}

static void test_changes_wait_wakes_on_other_process(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(commit_later(fx->url, fds[1]));
    close(fds[1]);
    int64_t t0 = monotonic_ms();
    int rc = oi_changes_wait(fx->store, now, 20000 * MS, &rev);
    int64_t woke = monotonic_ms(), committed = 0;
    ssize_t got = read(fds[0], &committed, sizeof committed);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_rc(fx, rc, OI_OK);
    assert_int_equal(got, sizeof committed);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(rev, now + 1);
    assert_true(woke - t0 < 10000);
    print_message("woke %lld ms after the other process committed\n",
                  (long long)(woke - committed));
    assert_true(woke - committed < 200);
}

static void test_changes_wait_refused_in_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = 77;
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_changes_wait(fx->store, now, 10 * MS, &rev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "transaction");
    assert_int_equal(rev, 77);
    assert_ok(fx, oi_rollback(fx->store));
    assert_rc(fx, oi_changes_wait(fx->store, now, -1, &rev), OI_EINVALID);
    assert_rc(fx, oi_changes_wait(fx->store, -1, 0, &rev), OI_EINVALID);
    assert_int_equal(rev, 77);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_changes_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_changes_agent_insert_update_delete),
        T(test_changes_rollback_leaves_no_change),
        T(test_changes_since_above_current_is_empty),
        T(test_changes_wait_returns_at_once_when_past),
        T(test_changes_wait_times_out_unchanged),
        T(test_changes_wait_wakes_on_other_process),
        T(test_changes_wait_refused_in_transaction),
    };
    return fx_run_group("changes", tests);
}
