/*
 * test_server_beats.c - `serve --heartbeat-write-interval`: beats with
 * nothing new answered from memory, unwritten (src/server/beats.c).
 *
 * A beat is written when it is the first this server sees of the agent,
 * when its status differs from the one last written, when it carries
 * metadata, or when the written beat is the interval old; the others
 * change nothing in the database (no row, no revision) and show in
 * /metrics.  Refusals are the same with the option as without.
 */
#include "harness.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static long beat(const fx_server *srv, const char *agent_id, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", agent_id);
    fx_http r;
    fx_post(srv, &r, path, body);
    long status = r.status;
    fx_http_free(&r);
    return status;
}

static int64_t store_revision(oi_fixture *fx)
{
    int64_t rev = -1;
    assert_ok(fx, oi_store_revision(fx->store, &rev));
    return rev;
}

/* The value of a sample line "NAME{...agent_id=\"ID\"...} V" or "NAME V". */
static double sample(const char *text, const char *name, const char *agent_id)
{
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        const char *end = strchr(p, '\n');
        if (p > text && p[-1] != '\n')
            continue;
        if (agent_id && (!end || !memmem(p, (size_t)(end - p), agent_id, strlen(agent_id))))
            continue;
        const char *space = end ? memrchr(p, ' ', (size_t)(end - p)) : NULL;
        if (space)
            return strtod(space + 1, NULL);
    }
    fail_msg("no sample %s for %s", name, agent_id ? agent_id : "-");
    return 0;
}

static void test_server_beats_unwritten_within_interval(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "Beater", &a);
    fx_server srv;
    const char *const extra[] = {"--heartbeat-write-interval", "1500ms", NULL};
    fx_server_start(fx, &srv, extra);

    assert_int_equal(beat(&srv, a.id, "{\"status\": \"healthy\"}"), 200); /* first: written */
    int64_t rev = store_revision(fx);
    /* the stored beat is made old, as if this server had been quiet */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE agent_states SET last_heartbeat = '2026-01-01T00:00:00."
                              "000000Z' WHERE agent_id = '%s'", a.id);
    fx_sql_exec(fx, sql);
    snprintf(sql, sizeof sql, "UPDATE agents SET last_heartbeat = '2026-01-01T00:00:00.000000Z'"
                              ", updated_at = '2026-01-01T00:00:00.000000Z' WHERE id = '%s'", a.id);
    fx_sql_exec(fx, sql);
    rev = store_revision(fx);

    /* nothing new: answered, not written */
    assert_int_equal(beat(&srv, a.id, "{\"status\": \"healthy\"}"), 200);
    assert_int_equal(beat(&srv, a.id, NULL), 200);
    assert_int_equal(store_revision(fx), rev);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_states WHERE agent_id = '%s' AND "
                              "last_heartbeat < '2026-02-01'", a.id);
    assert_int_equal(fx_sql_int(fx, sql), 1);
    fx_http r;
    fx_get(&srv, &r, "/metrics");
    assert_status(&r, 200);
    assert_true(sample(r.body, "optiinfra_heartbeats_unwritten_total", NULL) == 2);
    /* the age comes from the beat in memory, not the old stored one */
    assert_true(sample(r.body, "optiinfra_agent_heartbeat_age_seconds", a.id) < 60);
    fx_http_free(&r);

    /* refusals are the handler's: a status that is not text, metadata not an object */
    assert_int_equal(beat(&srv, a.id, "{\"status\": 5}"), 422);
    assert_int_equal(beat(&srv, a.id, "{\"metadata\": []}"), 422);
    assert_int_equal(beat(&srv, "00000000-0000-4000-8000-000000000000", NULL), 404);
    assert_int_equal(store_revision(fx), rev);

    /* a new status, or metadata, is written at once */
    assert_int_equal(beat(&srv, a.id, "{\"status\": \"degraded\"}"), 200);
    assert_true(store_revision(fx) > rev);
    rev = store_revision(fx);
    assert_int_equal(beat(&srv, a.id, "{\"status\": \"degraded\", \"metadata\": {\"k\": 1}}"),
                     200);
    assert_true(store_revision(fx) > rev);
    rev = store_revision(fx);
    assert_int_equal(beat(&srv, a.id, "{\"status\": \"degraded\"}"), 200);
    assert_int_equal(store_revision(fx), rev);
    /* and once the interval has passed, the next beat is written */
    sleep_ms(1600);
    assert_int_equal(beat(&srv, a.id, "{\"status\": \"degraded\"}"), 200);
    assert_true(store_revision(fx) > rev);
    assert_int_equal(fx_server_stop(&srv), 0);
    oi_agent_clear(&a);
}

static void test_server_beats_option_checked(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run run;
    fx_cli(fx, &run, "serve", "--heartbeat-write-interval", "30s", NULL);
    assert_int_equal(run.status, 2);
    assert_contains(run.err, "under 30s");
    fx_run_free(&run);
    fx_cli(fx, &run, "serve", "--heartbeat-write-interval", "soon", NULL);
    assert_int_equal(run.status, 3);
    assert_contains(run.err, "not a duration");
    fx_run_free(&run);
}

int run_server_beats_tests(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_server_beats_unwritten_within_interval),
        T(test_server_beats_option_checked),
    };
#undef T
    return fx_run_group("server beats", tests);
}
