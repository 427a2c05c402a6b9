/*
 * test_fencing.c - fencing tokens and locks tied to liveness (issue 8).
 *
 * The scenario the tokens exist for: agent A takes a lock, pauses past its
 * TTL, B takes the lock over; A's write with its old token must be refused
 * and B's accepted, and tokens must keep increasing across releases,
 * takeovers and restarts (of a store, and of the service).  Then the
 * lock-delay: a stale holder's resource, and a deregistered holder's, stay
 * untakeable for a while.  Then processes racing: holders that pause past
 * staleness are taken over, and a ledger written only under a checked
 * token never goes backwards.
 */
#include "harness.h"
#include "http.h"
#include "race.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int64_t SECOND = 1000000;
static const int64_t MS = 1000;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

typedef struct two_agents {
    oi_agent a, b;
} two_agents;

static void make_two(oi_fixture *fx, two_agents *t)
{
    t->a = (oi_agent)OI_AGENT_INIT;
    t->b = (oi_agent)OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "Alpha", &t->a);
    fx_make_agent(fx, "resource", "Beta", &t->b);
    assert_ok(fx, oi_agent_heartbeat(fx->store, t->a.id, NULL));
    assert_ok(fx, oi_agent_heartbeat(fx->store, t->b.id, NULL));
}

static void clear_two(two_agents *t)
{
    oi_agent_clear(&t->a);
    oi_agent_clear(&t->b);
}

static int64_t acquire_fence(oi_fixture *fx, const char *agent_id, const char *resource,
                             const oi_lock_options *opts)
{
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire_with(fx->store, agent_id, resource, opts, &lock));
    int64_t fence = lock.fence;
    assert_true(fence >= 1);
    oi_lock_clear(&lock);
    return fence;
}

/* The pattern of docs/coordination.md: check the token and write in one
 * transaction.  Returns the check's code; writes only when it passed. */
static int fenced_config_write(oi_store *store, const char *agent_id, int64_t fence,
                               const char *value)
{
    int rc = oi_begin(store);
    if (rc)
        return rc;
    rc = oi_fence_check(store, fence);
    if (rc == OI_OK)
        rc = oi_config_set(store, agent_id, "target", value, "string", NULL, OI_SENSITIVE_KEEP,
                           NULL);
    if (rc == OI_OK)
        return oi_commit(store);
    oi_rollback(store);
    return rc;
}

static char *config_value(oi_fixture *fx, const char *agent_id)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    int rc = oi_agent_config_find(fx->store, agent_id, "target", &c);
    char *value = rc == OI_OK ? strdup(c.config_value) : NULL;
    oi_agent_config_clear(&c);
    return value;
}

/* ---- the scenario ---------------------------------------------------- */

static void test_fence_takeover_refuses_old_token(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    opts.ttl = 200 * MS;
    int64_t t1 = acquire_fence(fx, t.a.id, "gpu_pool", &opts);
    assert_ok(fx, fenced_config_write(fx->store, t.a.id, t1, "A while holding"));
    sleep_ms(300); /* A pauses past its TTL */

    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire_with(fx->store, t.b.id, "gpu_pool", NULL, &lock));
    assert_string_equal(lock.previous_agent_id, t.a.id); /* a takeover */
    int64_t t2 = lock.fence;
    assert_true(t2 > t1);
    oi_lock_clear(&lock);

    /* A wakes up and writes with t1: refused, nothing written */
    assert_rc(fx, fenced_config_write(fx->store, t.a.id, t1, "A after the takeover"), OI_ESTALE);
    assert_contains(oi_errmsg(fx->store), "stale");
    char *v = config_value(fx, t.a.id);
    assert_string_equal(v, "A while holding");
    free(v);
    /* B's write with t2 goes through */
    assert_ok(fx, fenced_config_write(fx->store, t.b.id, t2, "B"));
    v = config_value(fx, t.b.id);
    assert_string_equal(v, "B");
    free(v);
    /* a token never issued is not current either */
    assert_rc(fx, fenced_config_write(fx->store, t.b.id, t2 + 1000, "x"), OI_ESTALE);
    clear_two(&t);
}

static void test_fence_kept_on_renewal_and_release(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    int64_t t1 = acquire_fence(fx, t.a.id, "db", NULL);
    assert_int_equal(acquire_fence(fx, t.a.id, "db", NULL), t1); /* a renewal keeps it */
    assert_ok(fx, oi_lock_release(fx->store, t.a.id, "db"));
    assert_ok(fx, oi_fence_check(fx->store, t1)); /* still the resource's newest */
    int64_t t2 = acquire_fence(fx, t.b.id, "db", NULL);
    assert_true(t2 > t1);
    assert_rc(fx, oi_fence_check(fx->store, t1), OI_ESTALE);
    assert_ok(fx, oi_fence_check(fx->store, t2));
    /* tokens come from one counter: another resource's are greater still */
    int64_t t3 = acquire_fence(fx, t.a.id, "other", NULL);
    assert_true(t3 > t2);
    assert_ok(fx, oi_fence_check(fx->store, t2)); /* "db" was not touched */
    /* the lock list shows the holder's token */
    oi_iter *it = NULL;
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_iter_new(&it, fx->store, t.b.id, 0));
    assert_ok(fx, oi_lock_next(it, &lock));
    assert_int_equal(lock.fence, t2);
    oi_lock_clear(&lock);
    oi_iter_free(it);
    clear_two(&t);
}

/* A caller built against 1.2 passes an oi_lock of version 1: no fence field
 * is written past its end. */
static void test_fence_version1_lock(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    struct {
        oi_lock lock;
        char guard[16];
    } v1;
    memset(&v1, 0x5a, sizeof v1);
    assert_ok(fx, oi_lock_init(&v1.lock, 1));
    assert_ok(fx, oi_lock_acquire(fx->store, t.a.id, "old", 0, 0, &v1.lock));
    assert_string_equal(v1.lock.resource, "old");
    const unsigned char *after_v1 = (const unsigned char *)&v1.lock + offsetof(oi_lock, fence);
    for (size_t i = 0; i < sizeof v1.lock - offsetof(oi_lock, fence); i++)
        assert_int_equal(after_v1[i], 0x5a);
    oi_lock_clear(&v1.lock);
    clear_two(&t);
}

/* Tokens survive closing every connection: a new store continues above. */
static void test_fence_increases_across_reopen(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    int64_t t1 = acquire_fence(fx, t.a.id, "r", NULL);
    oi_store *again = NULL;
    assert_int_equal(oi_store_open(&again, fx->url), OI_OK);
    oi_lock lock = OI_LOCK_INIT;
    assert_int_equal(oi_lock_release(again, t.a.id, "r"), OI_OK);
    assert_int_equal(oi_lock_acquire_with(again, t.b.id, "r", NULL, &lock), OI_OK);
    assert_true(lock.fence > t1);
    oi_lock_clear(&lock);
    oi_store_close(again);
    clear_two(&t);
}

/* Over HTTP, across a restart of the service; and a stale token in a
 * write through the CLI: exit 7. */
static int64_t http_acquire(const fx_server *srv, const char *agent_id, const char *resource)
{
    char path[128], body[160];
    snprintf(path, sizeof path, "/v1/locks/%s", resource);
    snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"ttl\": \"1s\"}", agent_id);
    fx_http r;
    fx_post(srv, &r, path, body);
    assert_status(&r, 200);
    json_t *fence = json_object_get(r.json, "fence");
    assert_true(json_is_integer(fence));
    int64_t value = json_integer_value(fence);
    fx_http_free(&r);
    return value;
}

static void test_fence_increases_across_server_restart(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    int64_t t1 = http_acquire(&srv, t.a.id, "gpu");
    assert_int_equal(fx_server_stop(&srv), 0);
    sleep_ms(1100); /* the 1 s lock lapses while no server runs */
    fx_server_start(fx, &srv, NULL);
    int64_t t2 = http_acquire(&srv, t.b.id, "gpu");
    assert_true(t2 > t1);
    assert_int_equal(fx_server_stop(&srv), 0);

    /* the CLI prints the token, and refuses the old one */
    fx_run run;
    fx_cli(fx, &run, "lock", "acquire", "Alpha", "other", "--json", NULL);
    assert_int_equal(run.status, 0);
    json_t *j = json_loads(run.out, 0, NULL);
    assert_non_null(j);
    assert_true(json_integer_value(json_object_get(j, "fence")) > t2);
    json_decref(j);
    fx_run_free(&run);
    fx_cli(fx, &run, "lock", "acquire", "Beta", "third", NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, ", fence ");
    fx_run_free(&run);
    clear_two(&t);
}

/* ---- lock-delay --------------------------------------------------------------- */

static void set_beats(oi_fixture *fx, const char *agent_id, oi_time beat)
{
    char sql[300], buf[OI_TIME_BUFSZ];
    oi_time_format(beat, buf);
    snprintf(sql, sizeof sql, "UPDATE agents SET last_heartbeat = '%s' WHERE id = '%s'", buf,
             agent_id);
    fx_sql_exec(fx, sql);
    snprintf(sql, sizeof sql,
             "UPDATE agent_states SET last_heartbeat = '%s' WHERE agent_id = '%s'", buf,
             agent_id);
    fx_sql_exec(fx, sql);
}

static void test_stale_holder_keeps_resource_for_lock_delay(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    int64_t t1 = acquire_fence(fx, t.a.id, "db", NULL);
    /* stale (90 s) but not for 90 s + the 15 s lock-delay */
    set_beats(fx, t.a.id, oi_time_now() - 100 * SECOND);
    oi_lock lock = OI_LOCK_INIT;
    assert_rc(fx, oi_lock_acquire_with(fx->store, t.b.id, "db", NULL, &lock), OI_EHELD);
    assert_string_equal(lock.agent_id, t.a.id);
    assert_true(lock.holder_stale); /* lost, not yet free */
    oi_lock_clear(&lock);
    assert_ok(fx, oi_fence_check(fx->store, t1));
    /* a caller that asks for no lock-delay takes it now */
    oi_lock_options now_opts = OI_LOCK_OPTIONS_INIT;
    now_opts.lock_delay = 0;
    oi_lock_options later = OI_LOCK_OPTIONS_INIT;
    set_beats(fx, t.a.id, oi_time_now() - 106 * SECOND);
    int64_t t2 = acquire_fence(fx, t.b.id, "db", &later); /* 106 s > 90 s + 15 s */
    assert_true(t2 > t1);
    set_beats(fx, t.b.id, oi_time_now() - 95 * SECOND);
    int64_t t3 = acquire_fence(fx, t.a.id, "db", &now_opts);
    assert_true(t3 > t2);
    oi_lock_options bad = OI_LOCK_OPTIONS_INIT;
    bad.lock_delay = -1;
    assert_rc(fx, oi_lock_acquire_with(fx->store, t.b.id, "db", &bad, NULL), OI_EINVALID);
    clear_two(&t);
}

static void test_deregistered_holder_lock_delay(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    opts.lock_delay = 400 * MS;
    int64_t t1 = acquire_fence(fx, t.a.id, "gpu", &opts);
    opts.lock_delay = 0;
    acquire_fence(fx, t.a.id, "cpu", &opts);
    assert_ok(fx, oi_agent_delete(fx->store, t.a.id)); /* deregistered: its locks go */
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_rc(fx, oi_lock_acquire_with(fx->store, t.b.id, "gpu", NULL, NULL), OI_EHELD);
    assert_contains(oi_errmsg(fx->store), "lock-delay");
    assert_int_equal(fx_count(fx, "resource_locks"), 0); /* the refusal wrote nothing */
    acquire_fence(fx, t.b.id, "cpu", NULL); /* no delay asked for that one */
    sleep_ms(500);
    int64_t t2 = acquire_fence(fx, t.b.id, "gpu", NULL);
    assert_true(t2 > t1);
    clear_two(&t);
}

/* An agent that leaves without being deleted (the registry dialect's
 * unregister) loses its locks as a deleted one does. */
static void test_forfeit_on_unregister(void **state)
{
    oi_fixture *fx = FX(state);
    two_agents t;
    make_two(fx, &t);
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    opts.lock_delay = 0;
    acquire_fence(fx, t.a.id, "free-at-once", &opts);
    acquire_fence(fx, t.a.id, "delayed", NULL); /* 15 s */
    acquire_fence(fx, t.b.id, "beta's", NULL);
    assert_rc(fx, oi_lock_forfeit(fx->store, "not-a-uuid"), OI_EINVALID);
    assert_ok(fx, oi_lock_forfeit(fx->store, t.a.id));
    assert_int_equal(fx_count(fx, "resource_locks"), 1); /* Beta's stays */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_states WHERE agent_id = '%s' "
                              "AND resource_locks = '[]'", t.a.id);
    assert_int_equal(fx_sql_int(fx, sql), 1);
    acquire_fence(fx, t.b.id, "free-at-once", NULL);
    assert_rc(fx, oi_lock_acquire_with(fx->store, t.b.id, "delayed", NULL, NULL), OI_EHELD);
    assert_contains(oi_errmsg(fx->store), "lock-delay");

    /* over HTTP: POST /agents/{id}/unregister */
    acquire_fence(fx, t.b.id, "gpu", NULL);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    char path[96];
    snprintf(path, sizeof path, "/agents/%s/unregister", t.b.id);
    fx_http r;
    fx_post(&srv, &r, path, NULL);
    assert_status(&r, 200);
    fx_http_free(&r);
    assert_int_equal(fx_server_stop(&srv), 0);
    assert_int_equal(fx_count(fx, "resource_locks"), 0);
    assert_rc(fx, oi_lock_acquire_with(fx->store, t.a.id, "gpu", NULL, NULL), OI_EHELD);
    clear_two(&t);
}

/* ---- processes racing: pauses past staleness, a fenced ledger ---------------- */

enum { PAUSERS = 4, PAUSE_ROUNDS = 6 };

typedef struct pause_race {
    oi_uuid agent_ids[PAUSERS];
    oi_uuid ledger; /* the agent whose config "target" is the ledger */
    const char *log;
} pause_race;

/* The ledger holds the newest token written under the lock; a write with
 * an older token than the ledger's would be the lost update fencing
 * prevents, so it is logged as a violation. */
static int write_ledger(oi_store *store, const pause_race *race, int index, int64_t fence)
{
    int rc = oi_begin(store);
    if (rc)
        return rc;
    rc = oi_fence_check(store, fence);
    int64_t current = 0;
    if (rc == OI_OK) {
        int got = oi_config_get_int64(store, race->ledger, "target", &current);
        rc = got == OI_ENOTFOUND ? OI_OK : got;
    }
    if (rc == OI_OK && current > fence)
        race_log(race->log, "violation %d %lld<%lld", index, (long long)fence,
                 (long long)current);
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)fence);
    if (rc == OI_OK)
        rc = oi_config_set(store, race->ledger, "target", text, "integer", NULL,
                           OI_SENSITIVE_KEEP, NULL);
    if (rc == OI_OK)
        rc = oi_commit(store);
    else
        oi_rollback(store);
    if (rc == OI_OK || rc == OI_ESTALE)
        race_log(race->log, "%s %d %lld", rc == OI_OK ? "wrote" : "stale", index,
                 (long long)fence);
    return rc == OI_ESTALE ? OI_OK : rc;
}

/* Until it has held the lock PAUSE_ROUNDS times: beat, try to take "ledger"
 * (stale after 150 ms, lock-delay 100 ms); holding it, every other holding
 * pauses 400 ms without a beat (long enough to be taken over) before
 * writing; the others write at once.  Then it releases (not found when it
 * was taken over meanwhile). */
static int pauser(int index, const char *url, void *ctx)
{
    pause_race *race = ctx;
    oi_store *store = NULL;
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    opts.ttl = 60 * SECOND;
    opts.stale_after = 150 * MS;
    opts.lock_delay = 100 * MS;
    int rc = oi_store_open(&store, url);
    for (int held = 0, tries = 0; rc == OI_OK && held < PAUSE_ROUNDS && tries < 2000; tries++) {
        oi_lock lock = OI_LOCK_INIT;
        rc = oi_agent_heartbeat(store, race->agent_ids[index], NULL);
        if (rc == OI_OK)
            rc = oi_lock_acquire_with(store, race->agent_ids[index], "ledger", &opts, &lock);
        if (rc == OI_OK) {
            held++;
            race_log(race->log, "took %d %lld", index, (long long)lock.fence);
            if (held % 2 == 0)
                sleep_ms(400);
            rc = write_ledger(store, race, index, lock.fence);
            if (rc == OI_OK) /* else a later acquire would be a renewal, same token */
                rc = oi_lock_release(store, race->agent_ids[index], "ledger");
            if (rc == OI_ENOTFOUND) /* taken over while paused */
                rc = OI_OK;
        } else if (rc == OI_EHELD) {
            rc = OI_OK;
            sleep_ms(20);
        }
        oi_lock_clear(&lock);
    }
    if (rc != OI_OK)
        fprintf(stderr, "pauser %d: %d %s\n", index, rc, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

static void test_race_pauses_and_fenced_ledger(void **state)
{
    oi_fixture *fx = FX(state);
    pause_race race;
    memset(&race, 0, sizeof race);
    for (int i = 0; i < PAUSERS; i++) {
        char name[32];
        oi_agent a = OI_AGENT_INIT;
        snprintf(name, sizeof name, "pauser-%d", i);
        fx_make_agent(fx, "race", name, &a);
        snprintf(race.agent_ids[i], sizeof race.agent_ids[i], "%s", a.id);
        oi_agent_clear(&a);
    }
    oi_agent ledger = OI_AGENT_INIT;
    fx_make_agent(fx, "race", "ledger", &ledger);
    snprintf(race.ledger, sizeof race.ledger, "%s", ledger.id);
    oi_agent_clear(&ledger);
    race.log = race_log_path(fx);
    race_run(fx, PAUSERS, pauser, &race);

    int took = 0, wrote = 0, stale = 0;
    long long tokens[PAUSERS * PAUSE_ROUNDS], newest_written = 0;
    char *log = race_log_read(fx);
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char what[16];
        int who;
        long long fence;
        if (strncmp(line, "violation", 9) == 0)
            fail_msg("a write went back in time: %s", line);
        assert_int_equal(sscanf(line, "%15s %d %lld", what, &who, &fence), 3);
        if (strcmp(what, "took") == 0 && took == PAUSERS * PAUSE_ROUNDS)
            fail_msg("more holdings than rounds: %s", line);
        if (strcmp(what, "took") == 0) {
            /* every holding has its own token (not always in log order: a
             * holder descheduled between its commit and its log line can be
             * taken over, and its successor log first) */
            for (int i = 0; i < took; i++)
                assert_true(tokens[i] != fence);
            tokens[took++] = fence;
        } else if (strcmp(what, "wrote") == 0) {
            wrote++;
            if (fence > newest_written)
                newest_written = fence;
        } else {
            stale++;
        }
    }
    free(log);
    assert_int_equal(took, PAUSERS * PAUSE_ROUNDS);
    assert_int_equal(wrote + stale, took);
    assert_true(stale >= 1); /* some pauses were taken over, and their writes refused */
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_configs WHERE config_key = "
                                    "'target'"), 1);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT CAST(config_value AS integer) FROM agent_configs "
                              "WHERE agent_id = '%s'", race.ledger);
    assert_int_equal(fx_sql_int(fx, sql), newest_written);
}

int run_fencing_tests(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_fence_takeover_refuses_old_token),
        T(test_fence_kept_on_renewal_and_release),
        T(test_fence_version1_lock),
        T(test_fence_increases_across_reopen),
        T(test_fence_increases_across_server_restart),
        T(test_stale_holder_keeps_resource_for_lock_delay),
        T(test_deregistered_holder_lock_delay),
        T(test_forfeit_on_unregister),
        T(test_race_pauses_and_fenced_ledger),
    };
#undef T
    return fx_run_group("fencing", tests);
}
