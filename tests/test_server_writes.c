/*
 * test_server_writes.c - requests that write, sent at once from many
 * connections.
 *
 * On SQLite the service commits the writing requests that arrive together
 * in one transaction, each in a savepoint of its own (src/server/writer.c);
 * on PostgreSQL each worker writes on its own connection.  Either way each
 * request must stay atomic and independent: these tests send successes and
 * failures side by side from many threads and check that every success is
 * stored, every failure changed nothing, and every answer is the one the
 * request would get alone.  The writer's counters in /metrics say how many
 * requests its commits carried: all of them on SQLite, none on PostgreSQL.
 */
#include "http.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 30  /* per thread: a heartbeat, a lock, an unknown agent, in turn */

typedef struct sender {
    const fx_server *srv;
    int index;
    char agent_id[OI_UUID_LEN + 1];
    long status[ROUNDS];
    long shared_status; /* a lock another agent holds */
} sender;

static long post_status(const fx_server *srv, const char *path, const char *body)
{
    fx_http r;
    fx_request(srv, &r, "POST", path, body, NULL, NULL);
    long status = r.status;
    fx_http_free(&r);
    return status;
}

/* What request k of a thread sends; no assertion here (not the main thread). */
static long send_one(sender *s, int k)
{
    char path[128], body[160];
    switch (k % 3) {
    case 0:
        snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", s->agent_id);
        snprintf(body, sizeof body, "{\"status\": \"beat-%d\"}", k);
        break;
    case 1:
        snprintf(path, sizeof path, "/v1/locks/res-%d-%d", s->index, k);
        snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"ttl\": \"10m\"}", s->agent_id);
        break;
    default: {
        char unknown[OI_UUID_LEN + 1];
        fx_random_uuid(unknown);
        snprintf(path, sizeof path, "/v1/agents/%s/heartbeat", unknown);
        snprintf(body, sizeof body, "{\"status\": \"never\"}");
    }
    }
    return post_status(s->srv, path, body);
}

static void *send_all(void *arg)
{
    sender *s = arg;
    char body[160];
    snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"ttl\": \"10m\"}", s->agent_id);
    for (int k = 0; k < ROUNDS; k++) {
        s->status[k] = send_one(s, k);
        if (k == ROUNDS / 2)
            s->shared_status = post_status(s->srv, "/v1/locks/shared", body);
    }
    return NULL;
}

/* The value of the sample `name` (no labels) in a scrape, or -1. */
static long long sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

static void server_writes_side_by_side(void **state)
{
    oi_fixture *fx = FX(state);
    sender senders[THREADS];
    pthread_t threads[THREADS];
    oi_agent holder = OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "holder", &holder);
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    char body[160];
    snprintf(body, sizeof body, "{\"agent_id\": \"%s\", \"ttl\": \"10m\"}", holder.id);
    assert_int_equal(post_status(&srv, "/v1/locks/shared", body), 200);
    for (int t = 0; t < THREADS; t++) {
        char name[32];
        oi_agent a = OI_AGENT_INIT;
        snprintf(name, sizeof name, "writer-%d", t);
        fx_make_agent(fx, "cost", name, &a);
        senders[t] = (sender){.srv = &srv, .index = t};
        memcpy(senders[t].agent_id, a.id, sizeof a.id);
        oi_agent_clear(&a);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, send_all, &senders[t]), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);

    for (int t = 0; t < THREADS; t++) {
        for (int k = 0; k < ROUNDS; k++)
            assert_int_equal(senders[t].status[k], k % 3 == 2 ? 404 : 200);
        assert_int_equal(senders[t].shared_status, 409); /* held by another live agent */
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM agents WHERE id = '%s' AND "
                 "status = 'beat-%d' AND last_heartbeat IS NOT NULL", senders[t].agent_id,
                 (ROUNDS - 1) / 3 * 3); /* its last beat: a thread's requests are in order */
        assert_int_equal(fx_sql_int(fx, sql), 1);
    }
    assert_int_equal(fx_count(fx, "resource_locks"), 1 + THREADS * (ROUNDS / 3));
    snprintf(body, sizeof body, "SELECT count(*) FROM resource_locks WHERE resource = "
             "'shared' AND agent_id = '%s'", holder.id);
    assert_int_equal(fx_sql_int(fx, body), 1);
    assert_int_equal(fx_count(fx, "agents"), 1 + THREADS); /* no 404 made one */

    fx_http r;
    fx_get(&srv, &r, "/metrics");
    assert_status(&r, 200);
    long long groups = sample(r.body, "optiinfra_write_groups_total");
    long long carried = sample(r.body, "optiinfra_write_group_requests_total");
    long long writes = 1 + THREADS * (ROUNDS + 1);
    if (fx_is_pg()) {
        assert_true(groups == 0 && carried == 0);
    } else {
        assert_true(carried == writes);
        assert_true(groups >= 1 && groups <= writes);
    }
    fx_http_free(&r);
    oi_agent_clear(&holder);
    assert_int_equal(fx_server_stop(&srv), 0);
}

int run_server_writes_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(server_writes_side_by_side, fx_setup, fx_teardown),
    };
    return fx_run_group("server_writes", tests);
}
