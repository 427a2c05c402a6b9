/*
 * test_locks.c - resource locks: acquire, renew, take over, release, list,
 * the cascade when an agent goes, the migration that adds the table, the
 * CLI, and processes racing for the same resources.
 *
 * After every operation agent_states.resource_locks must equal the lock
 * table (assert_lists_match reads both around the library).  The race
 * tests prove exclusion the only convincing way: each winner logs "enter"
 * after acquiring and "leave" before releasing, through one O_APPEND log,
 * and the log must never show two holders of a resource at once.
 */
#include "race.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const oi_time SECOND = 1000000;

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The agent's resources in the lock table, sorted, joined by ','. */
static char *table_resources(oi_fixture *fx, const char *agent_id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT resource FROM resource_locks WHERE agent_id = '%s'", agent_id);
    char *rows = fx_sql_text(fx, sql), *names[256];
    size_t n = 0;
    for (char *save = NULL, *line = strtok_r(rows, "\n", &save); line && n < 256;
         line = strtok_r(NULL, "\n", &save))
        names[n++] = line;
    qsort(names, n, sizeof *names, by_text);
    char *out = calloc(1, 4096);
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 4096 - strlen(out), "%s%s", i ? "," : "", names[i]);
    free(rows);
    return out;
}

/* A resource_locks JSON array as "a,b", checking it is in byte order. */
static char *list_resources(const char *json_text)
{
    json_t *list = fx_json(json_text);
    char *out = calloc(1, 4096);
    const char *last = "";
    size_t i;
    json_t *item;
    assert_true(json_is_array(list));
    json_array_foreach(list, i, item) {
        assert_true(strcmp(last, json_string_value(item)) < 0);
        last = json_string_value(item);
        snprintf(out + strlen(out), 4096 - strlen(out), "%s%s", i ? "," : "", last);
    }
    json_decref(list);
    return out;
}

/* Every state's list equals its agent's rows; every holder has a state. */
static void assert_lists_match(oi_fixture *fx)
{
    char *states = fx_sql_text(fx, "SELECT agent_id, resource_locks FROM agent_states");
    for (char *save = NULL, *line = strtok_r(states, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(line, '|');
        assert_non_null(bar);
        *bar = '\0';
        char *in_list = list_resources(bar + 1), *in_table = table_resources(fx, line);
        if (strcmp(in_list, in_table) != 0)
            fail_msg("agent %s: resource_locks [%s], lock table [%s]", line, in_list, in_table);
        free(in_list);
        free(in_table);
    }
    free(states);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM resource_locks l WHERE NOT EXISTS "
                                    "(SELECT 1 FROM agent_states s WHERE s.agent_id = l.agent_id)"),
                     0);
}

static void set_lock_times(oi_fixture *fx, const char *resource, oi_time acquired, oi_time expires)
{
    char sql[300], a[OI_TIME_BUFSZ], e[OI_TIME_BUFSZ];
    snprintf(sql, sizeof sql, "UPDATE resource_locks SET acquired_at = '%s', expires_at = '%s' "
             "WHERE resource = '%s'", oi_time_format(acquired, a), oi_time_format(expires, e),
             resource);
    fx_sql_exec(fx, sql);
}

static void set_beats(oi_fixture *fx, const char *agent_id, oi_time beat)
{
    char sql[400], b[OI_TIME_BUFSZ + 2] = "NULL", buf[OI_TIME_BUFSZ];
    if (beat != OI_TIME_NULL)
        snprintf(b, sizeof b, "'%s'", oi_time_format(beat, buf));
    snprintf(sql, sizeof sql, "UPDATE agents SET last_heartbeat = %s WHERE id = '%s'; "
             "UPDATE agent_states SET last_heartbeat = %s WHERE agent_id = '%s'",
             b, agent_id, b, agent_id);
    fx_sql_exec(fx, sql);
}

/* The locks oi_lock_iter_new() gives (agent_id NULL: all), into *locks. */
static size_t list_locks(oi_fixture *fx, const char *agent_id, int64_t stale_after,
                         oi_lock **locks)
{
    oi_iter *it = NULL;
    assert_ok(fx, oi_lock_iter_new(&it, fx->store, agent_id, stale_after));
    return fx_collect_locks(fx, it, locks);
}

/* The code of listing locks: the constructor's, or its first next()'s. */
static int list_locks_rc(oi_store *store, const char *agent_id, int64_t stale_after)
{
    oi_iter *it = NULL;
    oi_lock lock = OI_LOCK_INIT;
    int rc = oi_lock_iter_new(&it, store, agent_id, stale_after);
    if (rc == OI_OK) {
        rc = oi_lock_next(it, &lock);
        oi_lock_clear(&lock);
    } else if (it) {
        fail_msg("oi_lock_iter_new returned %d but did not set *out to NULL", rc);
    }
    oi_iter_free(it);
    return rc;
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

typedef struct two_agents {
    oi_agent a, b;
} two_agents;

static void make_two(oi_fixture *fx, two_agents *t)
{
    *t = (two_agents){OI_AGENT_INIT, OI_AGENT_INIT};
    fx_make_agent(fx, "cost", "Alpha", &t->a);
    fx_make_agent(fx, "cost", "Beta", &t->b);
}

static void clear_two(two_agents *t)
{
    oi_agent_clear(&t->a);
    oi_agent_clear(&t->b);
}

/* ---- acquire, renew, hold ----------------------------------------------------- */

static void test_acquire_free_resource(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock lock = OI_LOCK_INIT;
    oi_time before = oi_time_now();
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "gpu_pool", 10 * SECOND, 0, &lock));
    assert_string_equal(lock.resource, "gpu_pool");
    assert_string_equal(lock.agent_id, t.a.id);
    assert_string_equal(lock.agent_name, "Alpha");
    assert_string_equal(lock.previous_agent_id, "");
    assert_true(lock.acquired_at >= before);
    assert_true(lock.expires_at == lock.acquired_at + 10 * SECOND);
    assert_true(lock.holder_heartbeat != OI_TIME_NULL);
    assert_false(lock.expired);
    assert_false(lock.holder_stale);
    oi_lock_clear(&lock);
    assert_int_equal(fx_count(fx, "resource_locks"), 1);
    assert_lists_match(fx); /* Alpha had no state row: it has one now */

    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "Billing", 0, 0, NULL)); /* default TTL */
    oi_lock *locks = NULL;
    size_t n = list_locks(fx, t.a.id, 0, &locks);
    assert_int_equal(n, 2);
    assert_string_equal(locks[0].resource, "Billing"); /* byte order: B < g */
    assert_true(locks[0].expires_at - locks[0].acquired_at == OI_LOCK_TTL_DEFAULT);
    fx_free_locks(locks, n);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_find(fx->store, t.a.id, &st));
    assert_string_equal(st.resource_locks, fx_is_pg() ? "[\"Billing\", \"gpu_pool\"]"
                                                      : "[\"Billing\",\"gpu_pool\"]");
    oi_agent_state_clear(&st);
    assert_lists_match(fx);
    clear_two(&t);
}

static void test_renew_keeps_acquired_at(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock first = OI_LOCK_INIT, again = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "r", 5 * SECOND, 0, &first));
    oi_agent_state before = OI_AGENT_STATE_INIT, after = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_find(fx->store, t.a.id, &before));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "r", 60 * SECOND, 0, &again));
    assert_string_equal(again.previous_agent_id, t.a.id); /* a renewal */
    assert_true(again.acquired_at == first.acquired_at);
    assert_true(again.expires_at > first.expires_at);
    assert_ok(fx, oi_agent_state_find(fx->store, t.a.id, &after));
    assert_true(after.updated_at == before.updated_at); /* the list did not change */
    oi_agent_state_clear(&before);
    oi_agent_state_clear(&after);
    oi_lock_clear(&first);
    oi_lock_clear(&again);
    assert_lists_match(fx);
    clear_two(&t);
}

static void test_held_by_live_agent(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "gpu_pool", 3600 * SECOND, 0, NULL));
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "gpu_pool", 0, 0, &lock), OI_EHELD);
    assert_contains(oi_errmsg(fx->store), "held by agent 'Alpha'");
    assert_contains(oi_errmsg(fx->store), t.a.id);
    assert_contains(oi_errmsg(fx->store), "older than 90s");
    assert_string_equal(lock.agent_id, t.a.id); /* *out describes the holder */
    char until[OI_TIME_BUFSZ];
    assert_contains(oi_errmsg(fx->store), oi_time_format(lock.expires_at, until));
    oi_lock_clear(&lock);
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "gpu_pool", 0, 1500000, NULL), OI_EHELD);
    assert_contains(oi_errmsg(fx->store), "older than 1500ms");
    char *holder = table_resources(fx, t.a.id);
    assert_string_equal(holder, "gpu_pool");
    free(holder);
    assert_lists_match(fx);

    /* a holder that never sent a heartbeat is judged by its TTL alone */
    set_beats(fx, t.a.id, OI_TIME_NULL);
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "gpu_pool", 0, 1000, NULL), OI_EHELD);
    clear_two(&t);
}

/* ---- takeover ----------------------------------------------------------- */

static void test_takeover_after_expiry(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_time now = oi_time_now();
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "r1", 0, 0, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "r2", 0, 0, NULL));
    set_lock_times(fx, "r1", now - 7200 * SECOND, now - 3600 * SECOND);
    oi_lock *locks = NULL;
    size_t n = list_locks(fx, NULL, 0, &locks);
    assert_int_equal(n, 2);
    assert_true(locks[0].expired && !locks[0].holder_stale);
    assert_false(locks[1].expired);
    fx_free_locks(locks, n);

    assert_ok(fx, oi_lock_acquire(fx->store, t.b.id, "r1", 0, 0, &lock));
    assert_string_equal(lock.agent_id, t.b.id);
    assert_string_equal(lock.previous_agent_id, t.a.id);
    assert_true(lock.acquired_at > now); /* reset on takeover */
    oi_lock_clear(&lock);
    char *a = table_resources(fx, t.a.id), *b = table_resources(fx, t.b.id);
    assert_string_equal(a, "r2");
    assert_string_equal(b, "r1");
    free(a);
    free(b);
    assert_lists_match(fx); /* Alpha's list lost r1 in the same transaction */

    /* and in real time: a 50 ms lease lapses */
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "short", 50000, 0, NULL));
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "short", 0, 0, NULL), OI_EHELD);
    sleep_ms(120);
    assert_ok(fx, oi_lock_acquire(fx->store, t.b.id, "short", 0, 0, NULL));
    assert_lists_match(fx);
    clear_two(&t);
}

static void test_takeover_after_stale_heartbeat(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_agent_heartbeat(fx->store, t.a.id, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "db", 3600 * SECOND, 0, NULL));
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "db", 0, 0, NULL), OI_EHELD);
    set_beats(fx, t.a.id, oi_time_now() - 120 * SECOND);
    assert_rc(fx, oi_lock_acquire(fx->store, t.b.id, "db", 0, 300 * SECOND, NULL), OI_EHELD);
    oi_lock *locks = NULL;
    size_t n = list_locks(fx, NULL, 0, &locks);
    assert_int_equal(n, 1);
    assert_true(locks[0].holder_stale && !locks[0].expired);
    fx_free_locks(locks, n);
    assert_ok(fx, oi_lock_acquire(fx->store, t.b.id, "db", 0, 0, &lock)); /* 120s > 90s */
    assert_string_equal(lock.previous_agent_id, t.a.id);
    assert_string_equal(lock.agent_name, "Beta");
    oi_lock_clear(&lock);
    assert_lists_match(fx);

    /* the newer of the two heartbeat columns counts */
    char sql[300], buf[OI_TIME_BUFSZ];
    snprintf(sql, sizeof sql, "UPDATE agent_states SET last_heartbeat = '%s' WHERE agent_id = '%s'",
             oi_time_format(oi_time_now(), buf), t.b.id);
    set_beats(fx, t.b.id, oi_time_now() - 600 * SECOND);
    fx_sql_exec(fx, sql);
    assert_rc(fx, oi_lock_acquire(fx->store, t.a.id, "db", 0, 0, NULL), OI_EHELD);
    clear_two(&t);
}

/* ---- release ----------------------------------------------------------- */

static void test_release(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "r", 0, 0, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "s", 0, 0, NULL));
    assert_rc(fx, oi_lock_release(fx->store, t.b.id, "r"), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "held by another agent, 'Alpha'");
    assert_int_equal(fx_count(fx, "resource_locks"), 2);
    assert_ok(fx, oi_lock_release(fx->store, t.a.id, "r"));
    assert_int_equal(fx_count(fx, "resource_locks"), 1);
    assert_lists_match(fx);
    assert_rc(fx, oi_lock_release(fx->store, t.a.id, "r"), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "'r': it is not locked");

    /* an expired lock is still its holder's to release */
    oi_time now = oi_time_now();
    set_lock_times(fx, "s", now - 20 * SECOND, now - 10 * SECOND);
    assert_ok(fx, oi_lock_release(fx->store, t.a.id, "s"));
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_lists_match(fx);
    clear_two(&t);
}

static void test_cascade_on_agent_delete(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_time now = oi_time_now();
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "a1", 0, 0, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "a2", 0, 0, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "a2", 0, 0, NULL)); /* previous = itself */
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "moved", 0, 0, NULL));
    set_lock_times(fx, "moved", now - 20 * SECOND, now - 10 * SECOND);
    assert_ok(fx, oi_lock_acquire(fx->store, t.b.id, "moved", 0, 0, NULL)); /* previous = Alpha */
    assert_ok(fx, oi_agent_delete(fx->store, t.a.id));
    assert_int_equal(fx_count(fx, "resource_locks"), 1);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM resource_locks "
                                    "WHERE resource = 'moved' AND previous_agent_id IS NULL"), 1);
    assert_lists_match(fx);
    assert_ok(fx, oi_agent_delete(fx->store, t.b.id));
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    clear_two(&t);
}

/* ---- list and bad input ------------------------------------------------- */

static void test_list_locks(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock *locks = NULL;
    size_t n = list_locks(fx, NULL, 0, &locks);
    assert_int_equal(n, 0);
    fx_free_locks(locks, n);
    const char *names[] = {"zeta", "Zeta", "alpha", "_x", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < 5; i++)
        assert_ok(fx, oi_lock_acquire(fx->store, i % 2 ? t.b.id : t.a.id, names[i], 0, 0, NULL));
    n = list_locks(fx, NULL, 0, &locks);
    assert_int_equal(n, 5);
    const char *order[] = {"Zeta", "_x", "alpha", "zeta", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(locks[i].resource, order[i]);
    fx_free_locks(locks, n);
    n = list_locks(fx, t.b.id, 0, &locks);
    assert_int_equal(n, 2);
    assert_string_equal(locks[0].agent_name, "Beta");
    fx_free_locks(locks, n);
    assert_lists_match(fx);
    oi_iter *it = NULL;
    assert_rc(fx, oi_lock_iter_new(&it, fx->store, "x", 0), OI_EINVALID);
    assert_null(it);
    assert_rc(fx, oi_lock_iter_new(&it, fx->store, NULL, -1), OI_EINVALID);
    assert_null(it);
    clear_two(&t);
}

static void test_lock_bad_input(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    char unknown[OI_UUID_LEN + 1], longest[OI_RESOURCE_MAX + 2];
    fx_random_uuid(unknown);
    memset(longest, 'r', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    oi_lock lock = OI_LOCK_INIT;
    memset(&lock, 0xff, sizeof lock); /* junk in every field but the version */
    lock.version = OI_LOCK_VERSION;
    assert_rc(fx, oi_lock_acquire(fx->store, unknown, "r", 0, 0, &lock), OI_ENOTFOUND);
    assert_null(lock.resource);
    assert_contains(oi_errmsg(fx->store), unknown);
    assert_rc(fx, oi_lock_acquire(fx->store, "nope", "r", 0, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, NULL, 0, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "", 0, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "a\tb", 0, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "\xff", 0, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, longest, 0, 0, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "longer than 255 bytes");
    assert_rc(fx, oi_lock_acquire(fx->store, id, "r", -1, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "r", OI_LOCK_TTL_MAX + 1, 0, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "r", 0, -1, NULL), OI_EINVALID);
    assert_rc(fx, oi_lock_release(fx->store, "nope", "r"), OI_EINVALID);
    assert_rc(fx, oi_lock_release(fx->store, id, ""), OI_EINVALID);
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_int_equal(fx_count(fx, "agent_states"), 0);
    longest[OI_RESOURCE_MAX] = '\0'; /* exactly the limit */
    assert_ok(fx, oi_lock_acquire(fx->store, id, longest, OI_LOCK_TTL_MAX, 0, NULL));
    assert_ok(fx, oi_lock_release(fx->store, id, longest));
    assert_lists_match(fx);
}

static void test_lock_joins_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_lock_acquire(fx->store, id, "r", 0, 0, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_int_equal(fx_count(fx, "agent_states"), 0);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_lock_acquire(fx->store, id, "r", 0, 0, NULL));
    assert_ok(fx, oi_lock_acquire(fx->store, id, "s", 0, 0, NULL));
    assert_ok(fx, oi_lock_release(fx->store, id, "r"));
    assert_ok(fx, oi_commit(fx->store));
    char *held = table_resources(fx, id);
    assert_string_equal(held, "s");
    free(held);
    assert_lists_match(fx);
}

/* A store that never connected: every call says so. */
static void test_locks_without_connection(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *store = NULL;
    const char *id = fx->cost_agent.id;
    assert_rc(fx, oi_store_open(&store, "nowhere:at-all"), OI_EINVALID);
    oi_lock lock = OI_LOCK_INIT;
    assert_int_equal(oi_lock_acquire(store, id, "r", 0, 0, &lock), OI_ECONNECT);
    assert_null(lock.resource);
    assert_int_equal(oi_lock_release(store, id, "r"), OI_ECONNECT);
    assert_int_equal(list_locks_rc(store, NULL, 0), OI_ECONNECT);
    assert_int_equal(list_locks_rc(store, id, 0), OI_ECONNECT);
    oi_store_close(store);
    oi_lock_clear(NULL);
}

/* PostgreSQL refuses every statement of a failed transaction. */
static void test_locks_in_failed_transaction(void **state)
{
    fx_skip_unless_pg();
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    assert_ok(fx, oi_lock_acquire(fx->store, id, "r", 0, 0, NULL)); /* statements prepared */
    assert_int_equal(list_locks(fx, NULL, 0, NULL), 1);
    assert_ok(fx, oi_begin(fx->store));
    oi_agent_state orphan = OI_AGENT_STATE_INIT;
    fx_random_uuid(orphan.agent_id);
    assert_rc(fx, oi_agent_state_create(fx->store, &orphan), OI_ECONSTRAINT);
    assert_rc(fx, list_locks_rc(fx->store, NULL, 0), OI_ERROR);
    assert_rc(fx, oi_lock_acquire(fx->store, id, "r", 0, 0, NULL), OI_ERROR);
    assert_rc(fx, oi_lock_release(fx->store, id, "r"), OI_ERROR);
    assert_ok(fx, oi_rollback(fx->store));
    assert_ok(fx, oi_lock_release(fx->store, id, "r"));
    assert_lists_match(fx);
}

/* ---- migration 003 --------------------------------------------------------- */

/* Upgrading a database whose states already list resources turns the
 * claims into locks (5 minutes), one holder per resource, lists sorted. */
static void test_migration_carries_claims_over(void **state)
{
    oi_fixture *fx = FX(state);
    char *before = fx_schema_dump(fx);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "002_agent_state_tables", NULL, NULL, NULL));
    fx_sql_exec(fx, "INSERT INTO agents (id, type, name) VALUES "
                    "('11111111-1111-4111-8111-111111111111', 't', 'one'), "
                    "('22222222-2222-4222-8222-222222222222', 't', 'two')");
    fx_sql_exec(fx, "INSERT INTO agent_states (agent_id, resource_locks) VALUES "
                    "('22222222-2222-4222-8222-222222222222', '[\"shared\", \"b\"]'), "
                    "('11111111-1111-4111-8111-111111111111', '[\"z\", \"shared\", \"a\"]')");
    oi_time at = oi_time_now();
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    assert_int_equal(fx_count(fx, "resource_locks"), 4);
    char *one = table_resources(fx, "11111111-1111-4111-8111-111111111111");
    char *two = table_resources(fx, "22222222-2222-4222-8222-222222222222");
    assert_string_equal(one, "a,shared,z"); /* the smaller id keeps "shared" */
    assert_string_equal(two, "b");
    free(one);
    free(two);
    assert_lists_match(fx);
    oi_lock *locks = NULL;
    size_t n = list_locks(fx, NULL, 0, &locks);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        int64_t ttl = locks[i].expires_at - locks[i].acquired_at;
        assert_true(ttl == OI_LOCK_TTL_DEFAULT);
        assert_true(locks[i].acquired_at > at - 5 * SECOND);
    }
    fx_free_locks(locks, n);

    /* down and up again: the same schema */
    assert_ok(fx, oi_migrate_downgrade(fx->store, "-1", NULL, NULL, NULL));
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
    char *after = fx_schema_dump(fx);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- races ------------------------------------------------------------------ */

enum { RACERS = 8, ROUNDS = 25, RESOURCES = 2, GRABBERS = 6, GRABS = 50 };

typedef struct lock_race {
    char agent_ids[RACERS][OI_UUID_LEN + 1];
    const char *log;
    int64_t ttl;
} lock_race;

/* Hold the lock for a moment between "enter" and "leave". */
static int hold_and_release(oi_store *store, const lock_race *race, int index, const char *res)
{
    if (!race_log(race->log, "enter %s %d", res, index))
        return OI_ERROR;
    sleep_ms(2);
    if (!race_log(race->log, "leave %s %d", res, index))
        return OI_ERROR;
    return oi_lock_release(store, race->agent_ids[index], res);
}

static int racer(int index, const char *url, void *ctx)
{
    lock_race *race = ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    if (rc == OI_OK)
        rc = oi_agent_heartbeat(store, race->agent_ids[index], NULL);
    for (int round = 0; rc == OI_OK && round < ROUNDS * RESOURCES; round++) {
        char res[16];
        snprintf(res, sizeof res, "res-%d", (round + index) % RESOURCES);
        rc = oi_lock_acquire(store, race->agent_ids[index], res, race->ttl, 0, NULL);
        if (rc == OI_OK)
            rc = hold_and_release(store, race, index, res);
        else if (rc == OI_EHELD)
            rc = race_log(race->log, "held %s %d", res, index) ? OI_OK : OI_ERROR;
    }
    if (rc != OI_OK)
        fprintf(stderr, "racer %d: %d %s\n", index, rc, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* Per resource, the log must read enter/leave pairs of one worker each. */
static void assert_no_overlap(oi_fixture *fx, int *wins, int *refusals)
{
    int holder[RESOURCES];
    for (int r = 0; r < RESOURCES; r++)
        holder[r] = -1;
    *wins = *refusals = 0;
    char *log = race_log_read(fx);
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char what[8];
        int r, who;
        assert_int_equal(sscanf(line, "%7s res-%d %d", what, &r, &who), 3);
        if (strcmp(what, "enter") == 0) {
            if (holder[r] != -1)
                fail_msg("res-%d: worker %d entered while worker %d held it", r, who, holder[r]);
            holder[r] = who;
            ++*wins;
        } else if (strcmp(what, "leave") == 0) {
            assert_int_equal(holder[r], who);
            holder[r] = -1;
        } else {
            ++*refusals;
        }
    }
    free(log);
    for (int r = 0; r < RESOURCES; r++)
        assert_int_equal(holder[r], -1);
}

static void make_racers(oi_fixture *fx, lock_race *race, int n)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        oi_agent a = OI_AGENT_INIT;
        snprintf(name, sizeof name, "racer-%d", i);
        fx_make_agent(fx, "race", name, &a);
        snprintf(race->agent_ids[i], sizeof race->agent_ids[i], "%s", a.id);
        oi_agent_clear(&a);
    }
    race->log = race_log_path(fx);
}

/* Several processes race for two resources many times: never two holders. */
static void test_race_one_holder_at_a_time(void **state)
{
    oi_fixture *fx = FX(state);
    lock_race race = {.ttl = 60 * SECOND};
    make_racers(fx, &race, RACERS);
    race_run(fx, RACERS, racer, &race);
    int wins = 0, refusals = 0;
    assert_no_overlap(fx, &wins, &refusals);
    assert_int_equal(wins + refusals, RACERS * ROUNDS * RESOURCES);
    assert_true(wins >= RESOURCES);
    assert_true(refusals > 0); /* they did meet */
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_lists_match(fx);
}

/* Leases that lapse at once: every acquire is a takeover from another
 * process's agent, so both agents' lists are rewritten concurrently. */
static int grabber(int index, const char *url, void *ctx)
{
    lock_race *race = ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    for (int i = 0; rc == OI_OK && i < GRABS; i++) {
        char res[16];
        snprintf(res, sizeof res, "pool-%d", (i * 7 + index) % 4);
        rc = oi_lock_acquire(store, race->agent_ids[index], res, race->ttl, 0, NULL);
        if (rc == OI_EHELD)
            rc = OI_OK;
    }
    if (rc != OI_OK)
        fprintf(stderr, "grabber %d: %d %s\n", index, rc, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

static void test_race_takeovers_keep_lists_true(void **state)
{
    oi_fixture *fx = FX(state);
    lock_race race = {.ttl = 1000}; /* 1 ms */
    make_racers(fx, &race, GRABBERS);
    race_run(fx, GRABBERS, grabber, &race);
    assert_int_equal(fx_count(fx, "resource_locks"), 4);
    assert_lists_match(fx);
}

/* ---- CLI ------------------------------------------------------------------ */

static void test_cli_locks(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    fx_run r;
    fx_cli(fx, &r, "locks", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, "No locks.\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Alpha", "gpu_pool", "--ttl", "10m", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Lock on 'gpu_pool' acquired by agent 'Alpha' until");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Alpha", "gpu_pool", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "renewed");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Beta", "gpu_pool", (char *)NULL);
    assert_exit(&r, 9);
    assert_contains(r.err, "held by agent 'Alpha'");
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_string_equal(r.out, "");
    fx_run_free(&r);

    set_beats(fx, t.a.id, oi_time_now() - 600 * SECOND);
    fx_cli(fx, &r, "locks", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "RESOURCE");
    assert_contains(r.out, "holder stale");
    fx_run_free(&r);
    fx_cli(fx, &r, "locks", "--stale-after", "1h", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 1);
    assert_true(json_is_true(fx_json_at(j, "0.live")));
    assert_string_equal(json_string_value(fx_json_at(j, "0.agent")), "Alpha");
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Beta", "gpu_pool", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "taken over");
    assert_string_equal(json_string_value(json_object_get(j, "previous_agent_id")), t.a.id);
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Alpha", "other", (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
    set_lock_times(fx, "other", oi_time_now() - 20 * SECOND, oi_time_now() - 10 * SECOND);
    fx_cli(fx, &r, "lock", "acquire", "Beta", "other", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "taken over by agent 'Beta'");
    assert_contains(r.out, "from agent 'Alpha'");
    fx_run_free(&r);

    fx_cli(fx, &r, "locks", "--agent", "Beta", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "release", "Alpha", "gpu_pool", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "'Beta'");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "release", "Beta", "gpu_pool", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Released 'gpu_pool'");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "release", "Beta", "other", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_true(json_is_true(json_object_get(j, "released")));
    json_decref(j);
    fx_run_free(&r);
    assert_lists_match(fx);
    clear_two(&t);
}

static void test_cli_lock_errors_and_help(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "lock", "acquire", "Test Cost Agent", "r", "--ttl", "long", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "--ttl 'long'");
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Test Cost Agent", "r", "--stale-after", "0ms", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Test Cost Agent", "r", "--ttl", "400d", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "acquire", "Nobody", "r", (char *)NULL);
    assert_exit(&r, 4);
    fx_run_free(&r);
    fx_cli(fx, &r, "locks", "--agent", "Nobody", (char *)NULL);
    assert_exit(&r, 4);
    fx_run_free(&r);
    fx_cli(fx, &r, "locks", "--stale-after", "-", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "lock", "release", "Nobody", "r", (char *)NULL);
    assert_exit(&r, 4);
    fx_run_free(&r);
    const char *help[][2] = {{"lock", "acquire"}, {"lock", "release"}, {"locks", NULL}};
    for (size_t i = 0; i < 3; i++) {
        fx_cli_raw(fx, &r, help[i][0], help[i][1] ? help[i][1] : "--help",
                   help[i][1] ? "--help" : NULL, (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra lock");
        assert_contains(r.out, "Example");
        fx_run_free(&r);
    }
    fx_cli_raw(fx, &r, "--help", (char *)NULL);
    assert_contains(r.out, "lock acquire AGENT RESOURCE");
    assert_contains(r.out, "9  the resource lock is held");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_lock_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_acquire_free_resource),
        T(test_renew_keeps_acquired_at),
        T(test_held_by_live_agent),
        T(test_takeover_after_expiry),
        T(test_takeover_after_stale_heartbeat),
        T(test_release),
        T(test_cascade_on_agent_delete),
        T(test_list_locks),
        T(test_lock_bad_input),
        T(test_lock_joins_user_transaction),
        T(test_locks_without_connection),
        T(test_locks_in_failed_transaction),
        T(test_migration_carries_claims_over),
        T(test_race_one_holder_at_a_time),
        T(test_race_takeovers_keep_lists_true),
        T(test_cli_locks),
        T(test_cli_lock_errors_and_help),
    };
    return fx_run_group("locks", tests);
}
