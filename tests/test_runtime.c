/*
 * test_runtime.c - registration, heartbeats (plain and reporting status and
 * metadata), liveness and the state machine of agent_states.status,
 * through the library and the CLI.
 *
 * Each guarantee is checked where it could break: a heartbeat writes both
 * columns or neither, never moves backwards, and counts the newer of the
 * two columns; health changes exactly past the threshold; every refused
 * transition leaves the row as it was; a refused report refuses its beat;
 * a registration updates the agent of its (type, name), keeping what it
 * does not give; and, with real processes racing on one database, no error
 * increment is lost, of several concurrent starts exactly one wins, and of
 * several concurrent registrations exactly one creates the agent.
 */
#include "race.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const oi_time SECOND = 1000000;

enum { MESSAGE_MAX = 512 }; /* a store's message is shorter */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

/* An agent with no heartbeat at all and no state row. */
static void make_silent_agent(oi_fixture *fx, const char *name, oi_agent *out)
{
    oi_agent a = OI_AGENT_INIT;
    a.type = "test";
    a.name = (char *)name;
    assert_ok(fx, oi_agent_create(fx->store, &a));
    assert_ok(fx, oi_agent_get(fx->store, a.id, out));
}

/* Set both heartbeat columns of an agent (the state's only if it has one). */
static void set_beats(oi_fixture *fx, const char *agent_id, oi_time agent_beat, oi_time state_beat)
{
    char sql[512], a[OI_TIME_BUFSZ + 2] = "NULL", s[OI_TIME_BUFSZ + 2] = "NULL";
    char buf[OI_TIME_BUFSZ];
    if (agent_beat != OI_TIME_NULL)
        snprintf(a, sizeof a, "'%s'", oi_time_format(agent_beat, buf));
    if (state_beat != OI_TIME_NULL)
        snprintf(s, sizeof s, "'%s'", oi_time_format(state_beat, buf));
    snprintf(sql, sizeof sql, "UPDATE agents SET last_heartbeat = %s WHERE id = '%s'; "
             "UPDATE agent_states SET last_heartbeat = %s WHERE agent_id = '%s'",
             a, agent_id, s, agent_id);
    fx_sql_exec(fx, sql);
}

static long long state_rows(oi_fixture *fx, const char *agent_id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_states WHERE agent_id = '%s'", agent_id);
    return fx_sql_int(fx, sql);
}

/* Make the open transaction fail (PostgreSQL then refuses what follows). */
static void break_transaction(oi_fixture *fx)
{
    oi_agent_state orphan = OI_AGENT_STATE_INIT;
    fx_random_uuid(orphan.agent_id);
    assert_rc(fx, oi_agent_state_create(fx->store, &orphan), OI_ECONSTRAINT);
}

static void get_state(oi_fixture *fx, const char *agent_id, oi_agent_state *out)
{
    assert_ok(fx, oi_agent_state_find(fx->store, agent_id, out));
}

/* ---- heartbeats ------------------------------------------------------------ */

static void test_heartbeat_writes_both_and_creates_state(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT, got = OI_AGENT_INIT;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    make_silent_agent(fx, "beater", &a);
    oi_time before = oi_time_now(), at = 0;
    assert_ok(fx, oi_agent_heartbeat(fx->store, a.id, &at));
    assert_true(at >= before && at <= oi_time_now());
    assert_ok(fx, oi_agent_get(fx->store, a.id, &got));
    assert_true(got.last_heartbeat == at);
    assert_true(got.updated_at == at);
    get_state(fx, a.id, &st);
    assert_string_equal(st.status, "idle");
    assert_true(st.last_heartbeat == at);
    assert_int_equal(st.error_count, 0);
    assert_string_equal(st.resource_locks, "[]");
    oi_agent_state_clear(&st);
    assert_ok(fx, oi_agent_heartbeat(fx->store, a.id, NULL)); /* at is optional */
    assert_int_equal(state_rows(fx, a.id), 1);
    oi_agent_clear(&got);
    oi_agent_clear(&a);
}

/* A beat touches only the heartbeat of an existing state: a running
 * workflow, its data and the error count stay. */
static void test_heartbeat_keeps_the_rest_of_the_state(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "rightsizing", "{\"n\": 1}", NULL));
    assert_ok(fx, oi_agent_record_error(fx->store, id, "boom", "low", NULL));
    oi_time at = 0;
    assert_ok(fx, oi_agent_heartbeat(fx->store, id, &at));
    get_state(fx, id, &st);
    assert_string_equal(st.status, "error");
    assert_string_equal(st.current_workflow, "rightsizing");
    assert_int_equal(st.error_count, 1);
    assert_true(st.last_heartbeat == at);
    assert_true(st.updated_at == at);
    oi_agent_state_clear(&st);
}

/* A beat that commits after a newer one (clocks, scheduling) does not undo it. */
static void test_heartbeat_never_moves_backwards(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    assert_ok(fx, oi_agent_heartbeat(fx->store, id, NULL));
    oi_time future = oi_time_now() + 3600 * SECOND;
    set_beats(fx, id, future, future);
    oi_time at = 0;
    assert_ok(fx, oi_agent_heartbeat(fx->store, id, &at));
    assert_true(at < future);
    oi_agent got = OI_AGENT_INIT;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    get_state(fx, id, &st);
    assert_true(got.last_heartbeat == future);
    assert_true(st.last_heartbeat == future);
    oi_agent_clear(&got);
    oi_agent_state_clear(&st);
}

static void test_heartbeat_bad_agent(void **state)
{
    oi_fixture *fx = FX(state);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_time at = 42;
    assert_rc(fx, oi_agent_heartbeat(fx->store, unknown, &at), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), unknown);
    assert_true(at == 42); /* untouched on failure */
    assert_int_equal(fx_count(fx, "agent_states"), 0);
    assert_rc(fx, oi_agent_heartbeat(fx->store, "not-a-uuid", NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_heartbeat(fx->store, NULL, NULL), OI_EINVALID);
}

/* A heartbeat inside the caller's transaction goes with it. */
static void test_heartbeat_joins_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT, got = OI_AGENT_INIT;
    make_silent_agent(fx, "quiet", &a);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_agent_heartbeat(fx->store, a.id, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_ok(fx, oi_agent_get(fx->store, a.id, &got));
    assert_true(got.last_heartbeat == OI_TIME_NULL);
    assert_int_equal(state_rows(fx, a.id), 0);
    oi_agent_clear(&got);
    oi_agent_clear(&a);
}

enum { BEATERS = 6, BEATS = 25 };

typedef struct beat_race {
    char agent_id[OI_UUID_LEN + 1];
    const char *log;
} beat_race;

/* Logs "<time>" of every beat it recorded. */
static int beat_worker(int index, const char *url, void *ctx)
{
    beat_race *race = ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    for (int i = 0; rc == OI_OK && i < BEATS; i++) {
        oi_time at;
        rc = oi_agent_heartbeat(store, race->agent_id, &at);
        if (rc == OI_OK && !race_log(race->log, "%lld", (long long)at))
            rc = OI_ERROR;
    }
    if (rc != OI_OK)
        fprintf(stderr, "beater %d: %s\n", index, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* Concurrent beats of one agent, some creating its state row: one state
 * row, and both columns end at the newest beat any process recorded. */
static void test_concurrent_heartbeats(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT, got = OI_AGENT_INIT;
    make_silent_agent(fx, "crowd", &a);
    beat_race race = {.log = race_log_path(fx)};
    snprintf(race.agent_id, sizeof race.agent_id, "%s", a.id);
    race_run(fx, BEATERS, beat_worker, &race);

    char *log = race_log_read(fx);
    oi_time newest = 0;
    int beats = 0;
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), beats++)
        if (strtoll(line, NULL, 10) > newest)
            newest = strtoll(line, NULL, 10);
    free(log);
    assert_int_equal(beats, BEATERS * BEATS);
    assert_int_equal(state_rows(fx, a.id), 1);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_get(fx->store, a.id, &got));
    get_state(fx, a.id, &st);
    assert_true(got.last_heartbeat == newest);
    assert_true(st.last_heartbeat == newest);
    oi_agent_state_clear(&st);
    oi_agent_clear(&got);
    oi_agent_clear(&a);
}

/* ---- heartbeats that report status and metadata ------------------------------ */

/* Whether JSON texts a and b hold the same value (PostgreSQL respaces jsonb). */
static bool same_json(const char *a, const char *b)
{
    json_t *x = fx_json(a), *y = fx_json(b);
    bool same = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

static void test_heartbeat_with_status_and_metadata(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
    oi_agent got = OI_AGENT_INIT;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    oi_time at = 0;
    opts.status = "busy";
    opts.metadata = "{\"load\": 0.5, \"jobs\": [1, 2]}";
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, &opts, &at));
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    assert_string_equal(got.status, "busy");
    assert_true(same_json(got.metadata, opts.metadata));
    assert_true(got.last_heartbeat == at && got.updated_at == at);
    get_state(fx, id, &st);
    assert_true(st.last_heartbeat == at);
    assert_string_equal(st.status, "idle"); /* the workflow state is not the agent's status */
    oi_agent_state_clear(&st);
    oi_agent_clear(&got);

    /* only the status: the metadata stays */
    oi_heartbeat_options status_only = OI_HEARTBEAT_OPTIONS_INIT;
    status_only.status = "draining";
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, &status_only, NULL));
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    assert_string_equal(got.status, "draining");
    assert_true(same_json(got.metadata, opts.metadata));
    oi_agent_clear(&got);

    /* only the metadata: the status stays */
    oi_heartbeat_options metadata_only;
    assert_int_equal(oi_heartbeat_options_init(&metadata_only, OI_HEARTBEAT_OPTIONS_VERSION),
                     OI_OK);
    metadata_only.metadata = "{}";
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, &metadata_only, NULL));
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    assert_string_equal(got.status, "draining");
    assert_string_equal(got.metadata, "{}");
    oi_agent_clear(&got);

    /* neither, or no options at all: a plain beat, both kept */
    oi_heartbeat_options nothing = OI_HEARTBEAT_OPTIONS_INIT;
    oi_time second = 0, third = 0;
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, &nothing, &second));
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, NULL, &third));
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    assert_string_equal(got.status, "draining");
    assert_string_equal(got.metadata, "{}");
    assert_true(third >= second && second >= at);
    assert_true(got.last_heartbeat == third);
    oi_agent_clear(&got);

    char longest[OI_HEARTBEAT_STATUS_MAX + 1];
    memset(longest, 's', OI_HEARTBEAT_STATUS_MAX);
    longest[OI_HEARTBEAT_STATUS_MAX] = '\0';
    status_only.status = longest;
    assert_ok(fx, oi_agent_heartbeat_with(fx->store, id, &status_only, NULL));
    assert_ok(fx, oi_agent_get(fx->store, id, &got));
    assert_string_equal(got.status, longest);
    oi_agent_clear(&got);
}

/* A report that is not valid refuses the whole beat: nothing is written. */
static void test_heartbeat_with_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT, got = OI_AGENT_INIT;
    make_silent_agent(fx, "reporter", &a);
    char too_long[OI_HEARTBEAT_STATUS_MAX + 2];
    memset(too_long, 's', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    static const struct {
        const char *status, *metadata, *message;
    } bad[] = {
        {NULL, "[1, 2]", "heartbeat metadata must be a JSON object"},
        {NULL, "{\"a\": ", "heartbeat metadata is not valid JSON"},
        {NULL, "{\"a\": 1, \"a\": 2}", "heartbeat metadata is not valid JSON"},
        {"", NULL, "a heartbeat status is required"},
        {"busy\n", NULL, "control characters"},
        {"\xc3", NULL, "UTF-8"},
        {"busy", "42", "must be a JSON object"}, /* a good status does not pass alone */
    };
    oi_time at = 42;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
        opts.status = bad[i].status;
        opts.metadata = bad[i].metadata;
        assert_rc(fx, oi_agent_heartbeat_with(fx->store, a.id, &opts, &at), OI_EINVALID);
        assert_contains(oi_errmsg(fx->store), bad[i].message);
    }
    oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
    opts.status = too_long;
    assert_rc(fx, oi_agent_heartbeat_with(fx->store, a.id, &opts, &at), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "at most 64 bytes");
    const unsigned versions[] = {0, OI_HEARTBEAT_OPTIONS_VERSION + 1};
    for (size_t v = 0; v < 2; v++) {
        oi_heartbeat_options unknown = {0};
        unknown.version = versions[v];
        assert_rc(fx, oi_agent_heartbeat_with(fx->store, a.id, &unknown, &at), OI_EINVALID);
        assert_contains(oi_errmsg(fx->store), "oi_heartbeat_options version");
    }
    assert_true(at == 42);
    assert_ok(fx, oi_agent_get(fx->store, a.id, &got));
    assert_true(got.last_heartbeat == OI_TIME_NULL); /* not even the beat */
    assert_true(got.updated_at == a.updated_at);
    assert_string_equal(got.status, "active");
    assert_string_equal(got.metadata, "{}");
    assert_int_equal(state_rows(fx, a.id), 0);
    oi_agent_clear(&got);

    char unknown_agent[OI_UUID_LEN + 1];
    fx_random_uuid(unknown_agent);
    opts.status = "busy";
    assert_rc(fx, oi_agent_heartbeat_with(fx->store, unknown_agent, &opts, NULL), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_heartbeat_with(fx->store, "x", &opts, NULL), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_states"), 0);
    assert_int_equal(oi_heartbeat_options_init(&opts, 0), OI_EINVALID);
    oi_agent_clear(&a);
}

/* ---- registration ------------------------------------------------------------ */

static void test_register_creates_then_updates(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent rec = OI_AGENT_INIT, again = OI_AGENT_INIT, got = OI_AGENT_INIT;
    bool created = false;
    rec.type = "cost";
    rec.name = "Registered";
    rec.agent_version = "1.0.0";
    rec.endpoint = "http://cost:8001";
    rec.capabilities = "[\"spot\"]";
    rec.metadata = "{\"zone\": \"a\"}";
    oi_time before = oi_time_now();
    assert_ok(fx, oi_agent_register(fx->store, &rec, &created));
    assert_true(created);
    assert_int_equal(strlen(rec.id), OI_UUID_LEN);
    assert_string_equal(rec.status, "active"); /* the default, as create gives it */
    assert_string_equal(rec.agent_version, "1.0.0");
    assert_true(rec.created_at >= before && rec.created_at == rec.updated_at);
    assert_ok(fx, oi_agent_get(fx->store, rec.id, &got));
    assert_string_equal(got.endpoint, "http://cost:8001");
    assert_true(same_json(got.capabilities, "[\"spot\"]"));
    oi_agent_clear(&got);

    /* the same (type, name) again: updated, same id, NULL fields kept */
    again.type = "cost";
    again.name = "Registered";
    again.agent_version = "1.1.0";
    again.metadata = "{\"zone\": \"b\"}";
    created = true;
    assert_ok(fx, oi_agent_register(fx->store, &again, &created));
    assert_false(created);
    assert_string_equal(again.id, rec.id);
    assert_string_equal(again.agent_version, "1.1.0");
    assert_string_equal(again.status, "active");
    assert_string_equal(again.endpoint, "http://cost:8001");
    assert_true(same_json(again.capabilities, "[\"spot\"]"));
    assert_true(same_json(again.metadata, "{\"zone\": \"b\"}"));
    assert_true(again.created_at == rec.created_at);
    assert_true(again.updated_at >= rec.updated_at);
    assert_ok(fx, oi_agent_get(fx->store, rec.id, &got));
    assert_string_equal(got.agent_version, "1.1.0");
    assert_true(same_json(got.metadata, "{\"zone\": \"b\"}"));
    assert_true(got.updated_at == again.updated_at);
    oi_agent_clear(&got);
    oi_agent_clear(&again);

    /* every field given, created NULL */
    again = (oi_agent)OI_AGENT_INIT;
    again.type = "cost";
    again.name = "Registered";
    again.status = "maintenance";
    again.endpoint = "http://cost:9001";
    again.capabilities = "[]";
    assert_ok(fx, oi_agent_register(fx->store, &again, NULL));
    assert_string_equal(again.status, "maintenance");
    assert_string_equal(again.endpoint, "http://cost:9001");
    assert_string_equal(again.capabilities, "[]");
    assert_string_equal(again.agent_version, "1.1.0");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agents WHERE name = 'Registered'"), 1);
    oi_agent_clear(&again);
    oi_agent_clear(&rec);
}

static void test_register_with_an_id(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent rec = OI_AGENT_INIT, again = OI_AGENT_INIT;
    char id[OI_UUID_LEN + 1], other[OI_UUID_LEN + 1];
    bool created = false;
    fx_random_uuid(id);
    fx_random_uuid(other);
    snprintf(rec.id, sizeof rec.id, "%s", id);
    for (char *p = rec.id; *p; p++) /* taken in either case, stored in lower case */
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    rec.type = "resource";
    rec.name = "Given Id";
    assert_ok(fx, oi_agent_register(fx->store, &rec, &created));
    assert_true(created);
    assert_string_equal(rec.id, id);
    snprintf(again.id, sizeof again.id, "%s", other); /* an existing agent keeps its id */
    again.type = "resource";
    again.name = "Given Id";
    assert_ok(fx, oi_agent_register(fx->store, &again, &created));
    assert_false(created);
    assert_string_equal(again.id, id);
    oi_agent_clear(&again);

    /* a new (type, name) with the id of another agent */
    oi_agent clash = OI_AGENT_INIT;
    snprintf(clash.id, sizeof clash.id, "%s", fx->cost_agent.id);
    clash.type = "resource";
    clash.name = "Clash";
    assert_rc(fx, oi_agent_register(fx->store, &clash, &created), OI_EEXISTS);
    assert_contains(oi_errmsg(fx->store), "cannot create agent");
    assert_string_equal(clash.name, "Clash"); /* rec unchanged on failure */
    assert_true(clash.created_at == OI_TIME_NULL);
    assert_int_equal(fx_count(fx, "agents"), 2);
    oi_agent_clear(&rec);
}

/* The refusals, and their messages, are oi_agent_create's; nothing is written. */
static void test_register_refuses_what_create_refuses(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct {
        const char *type, *name, *id, *capabilities, *metadata;
    } bad[] = {
        {NULL, "No Type", "", NULL, NULL},
        {"cost", NULL, "", NULL, NULL},
        {"cost", "Bad Id", "not-a-uuid", NULL, NULL},
        {"cost", "Bad Caps", "", "{\"a\": 1}", NULL},
        {"cost", "Bad Caps", "", "[1, 2]", NULL},
        {"cost", "Bad Meta", "", NULL, "[]"},
        {"cost", "Bad Meta", "", NULL, "{oops"},
        {"cost", "Test Cost Agent", "", NULL, "[]"}, /* an existing agent: no update either */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        oi_agent rec = OI_AGENT_INIT;
        char want[MESSAGE_MAX];
        rec.type = (char *)bad[i].type;
        rec.name = (char *)bad[i].name;
        snprintf(rec.id, sizeof rec.id, "%s", bad[i].id);
        rec.capabilities = (char *)bad[i].capabilities;
        rec.metadata = (char *)bad[i].metadata;
        assert_rc(fx, oi_agent_create(fx->store, &rec), OI_EINVALID);
        snprintf(want, sizeof want, "%s", oi_errmsg(fx->store));
        snprintf(rec.id, sizeof rec.id, "%s", bad[i].id);
        bool created = true;
        assert_rc(fx, oi_agent_register(fx->store, &rec, &created), OI_EINVALID);
        assert_string_equal(oi_errmsg(fx->store), want);
        assert_true(created); /* untouched */
        assert_string_equal(rec.id, bad[i].id);
        assert_true(rec.metadata == bad[i].metadata);
    }
    oi_agent unset = {0};
    assert_rc(fx, oi_agent_register(fx->store, &unset, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_agent version 0");
    assert_int_equal(fx_count(fx, "agents"), 1);
    oi_agent got = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, fx->cost_agent.id, &got));
    assert_string_equal(got.metadata, fx->cost_agent.metadata);
    assert_true(got.updated_at == fx->cost_agent.updated_at);
    oi_agent_clear(&got);
}

/* Inside the caller's transaction a registration goes with it. */
static void test_register_joins_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent rec = OI_AGENT_INIT;
    rec.type = "cost";
    rec.name = "Rolled Back";
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_agent_register(fx->store, &rec, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "agents"), 1);
    oi_agent_clear(&rec);
}

enum { REGISTRARS = 6 };

/* Registers one (type, name); logs "created" or "updated". */
static int register_worker(int index, const char *url, void *ctx)
{
    const char *log = ctx;
    oi_store *store = NULL;
    oi_agent rec = OI_AGENT_INIT;
    char version[16];
    bool created = false;
    snprintf(version, sizeof version, "w%d", index);
    rec.type = "performance";
    rec.name = "Raced";
    rec.agent_version = version;
    int rc = oi_store_open(&store, url);
    if (rc == OI_OK)
        rc = oi_agent_register(store, &rec, &created);
    if (rc == OI_OK && !race_log(log, "%s %s", created ? "created" : "updated", rec.id))
        rc = OI_ERROR;
    if (rc != OI_OK)
        fprintf(stderr, "registrar %d: %s\n", index, oi_errmsg(store));
    else
        oi_agent_clear(&rec);
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* While another process's transaction holds a new agent not yet committed,
 * the test registers the same (type, name): it waits (SQLite: for the write
 * lock; PostgreSQL: its INSERT for that row), then finds the row and
 * updates it.  On PostgreSQL this is the path where the INSERT skips the row
 * a concurrent registration inserted and the UPDATE runs again.  (The child
 * holds the transaction, not the test: a SQLite connection must not cross a
 * fork while it holds a lock.) */
static void test_register_waits_for_concurrent_insert(void **state)
{
    oi_fixture *fx = FX(state);
    int inserted[2];
    assert_int_equal(pipe(inserted), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* no cmocka here: the exit code and the pipe report */
        oi_store *store = NULL;
        oi_agent first = OI_AGENT_INIT;
        first.type = "application";
        first.name = "Twice";
        first.agent_version = "1";
        int rc = oi_store_open(&store, fx->url);
        if (rc == OI_OK)
            rc = oi_begin(store);
        if (rc == OI_OK)
            rc = oi_agent_register(store, &first, NULL);
        bool told = rc == OI_OK && write(inserted[1], first.id, OI_UUID_LEN) == OI_UUID_LEN;
        close(inserted[1]);
        usleep(500 * 1000); /* the test is waiting on this transaction now */
        if (told)
            rc = oi_commit(store);
        if (rc == OI_OK)
            oi_agent_clear(&first);
        oi_store_close(store);
        _exit(told && rc == OI_OK ? 0 : 1);
    }
    close(inserted[1]);
    char id[OI_UUID_LEN + 1] = "";
    assert_int_equal(read(inserted[0], id, OI_UUID_LEN), OI_UUID_LEN);
    close(inserted[0]);

    oi_agent second = OI_AGENT_INIT;
    bool created = true;
    second.type = "application";
    second.name = "Twice";
    second.agent_version = "2";
    int rc = oi_agent_register(fx->store, &second, &created);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_ok(fx, rc);
    assert_false(created);
    assert_string_equal(second.id, id);
    assert_string_equal(second.agent_version, "2");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agents WHERE name = 'Twice'"), 1);
    oi_agent_clear(&second);
}

/* Processes registering one new agent at once: one creates it, the others
 * update that very row. */
static void test_concurrent_registrations(void **state)
{
    oi_fixture *fx = FX(state);
    race_run(fx, REGISTRARS, register_worker, (void *)race_log_path(fx));
    char *log = race_log_read(fx), first_id[OI_UUID_LEN + 1] = "";
    int created = 0, updated = 0;
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char what[16], id[OI_UUID_LEN + 1];
        assert_int_equal(sscanf(line, "%15s %36s", what, id), 2);
        created += strcmp(what, "created") == 0;
        updated += strcmp(what, "updated") == 0;
        if (!first_id[0])
            snprintf(first_id, sizeof first_id, "%s", id);
        assert_string_equal(id, first_id); /* every one saw the same agent */
    }
    free(log);
    assert_int_equal(created, 1);
    assert_int_equal(updated, REGISTRARS - 1);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agents WHERE name = 'Raced'"), 1);
}

/* ---- liveness ------------------------------------------------------------ */

static void test_health_threshold(void **state)
{
    (void)state;
    oi_time now = 1700000000 * SECOND;
    assert_int_equal(oi_agent_health(OI_TIME_NULL, now, 0), OI_HEALTH_NEVER_SEEN);
    assert_int_equal(oi_agent_health(now - 90 * SECOND, now, 0), OI_HEALTH_HEALTHY);
    assert_int_equal(oi_agent_health(now - 90 * SECOND - 1, now, 0), OI_HEALTH_STALE);
    assert_int_equal(oi_agent_health(now - 90 * SECOND - 1, now, -5), OI_HEALTH_STALE);
    assert_int_equal(oi_agent_health(now - 10 * SECOND, now, 5 * SECOND), OI_HEALTH_STALE);
    assert_int_equal(oi_agent_health(now + 10 * SECOND, now, SECOND), OI_HEALTH_HEALTHY);
    assert_string_equal(oi_health_name(OI_HEALTH_HEALTHY), "healthy");
    assert_string_equal(oi_health_name(OI_HEALTH_STALE), "stale");
    assert_string_equal(oi_health_name(OI_HEALTH_NEVER_SEEN), "never seen");
}

/* Names of the listed agents, as "name:health,...". */
static void assert_stale(oi_fixture *fx, int64_t older_than, const char *want)
{
    oi_agent_liveness *items = NULL;
    oi_iter *it = NULL;
    char got[512] = "";
    size_t len = 0;
    assert_ok(fx, oi_agent_stale_iter_new(&it, fx->store, older_than));
    size_t n = fx_collect_livenesses(fx, it, &items);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(items[i].agent_id), OI_UUID_LEN);
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s:%s", i ? "," : "",
                                items[i].name, oi_health_name(items[i].health));
    }
    fx_free_livenesses(items, n);
    assert_string_equal(got, want);
}

/* The newest of the two columns counts; never-seen agents are listed. */
static void test_list_stale(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time now = oi_time_now();
    oi_agent fresh = OI_AGENT_INIT, old = OI_AGENT_INIT, never = OI_AGENT_INIT;
    oi_agent state_fresh = OI_AGENT_INIT, agent_fresh = OI_AGENT_INIT;
    fx_make_agent(fx, "t", "e-fresh", &fresh);
    fx_make_agent(fx, "t", "b-old", &old);
    make_silent_agent(fx, "a-never", &never);
    fx_make_agent(fx, "t", "c-state-fresh", &state_fresh);
    fx_make_agent(fx, "t", "d-agent-fresh", &agent_fresh);
    assert_ok(fx, oi_agent_heartbeat(fx->store, old.id, NULL));
    assert_ok(fx, oi_agent_heartbeat(fx->store, state_fresh.id, NULL));
    assert_ok(fx, oi_agent_heartbeat(fx->store, agent_fresh.id, NULL));
    set_beats(fx, old.id, now - 600 * SECOND, now - 700 * SECOND);
    set_beats(fx, state_fresh.id, now - 600 * SECOND, now);
    set_beats(fx, agent_fresh.id, now, now - 600 * SECOND);
    set_beats(fx, fx->cost_agent.id, now - 120 * SECOND, OI_TIME_NULL); /* no state row */

    assert_stale(fx, 300 * SECOND, "a-never:never seen,b-old:stale");
    assert_stale(fx, 0, "Test Cost Agent:stale,a-never:never seen,b-old:stale"); /* 90s */
    assert_stale(fx, INT64_MAX, "a-never:never seen");

    oi_agent_liveness *items = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_stale_iter_new(&it, fx->store, 300 * SECOND));
    size_t n = fx_collect_livenesses(fx, it, &items);
    assert_int_equal(n, 2);
    assert_string_equal(items[1].agent_id, old.id);
    assert_string_equal(items[1].type, "t");
    assert_true(items[1].last_heartbeat == now - 600 * SECOND);
    assert_true(items[0].last_heartbeat == OI_TIME_NULL);
    fx_free_livenesses(items, n);
    it = fx_iter_unset;
    assert_rc(fx, oi_agent_stale_iter_new(&it, fx->store, -1), OI_EINVALID);
    assert_null(it);
    oi_agent_clear(&fresh);
    oi_agent_clear(&old);
    oi_agent_clear(&never);
    oi_agent_clear(&state_fresh);
    oi_agent_clear(&agent_fresh);
}

/* ---- transitions --------------------------------------------------------- */

static void test_start_and_finish(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_int_equal(state_rows(fx, id), 0); /* no state: idle */
    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "rightsizing",
                                          "{\"cluster\": \"gpu-a\"}", &st));
    assert_string_equal(st.status, "active");
    assert_string_equal(st.current_workflow, "rightsizing");
    json_t *data = fx_json(st.workflow_data);
    assert_string_equal(json_string_value(json_object_get(data, "cluster")), "gpu-a");
    json_decref(data);
    oi_agent_state_clear(&st);

    assert_ok(fx, oi_agent_finish_workflow(fx->store, id, &st));
    assert_string_equal(st.status, "idle");
    assert_null(st.current_workflow);
    assert_string_equal(st.workflow_data, "{}");
    oi_agent_state_clear(&st);

    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "again", NULL, NULL)); /* data {} */
    get_state(fx, id, &st);
    assert_string_equal(st.workflow_data, "{}");
    assert_int_equal(state_rows(fx, id), 1);
    oi_agent_state_clear(&st);
}

/* The message names the current and the required status; nothing changes. */
static void test_refused_transitions(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;

    assert_rc(fx, oi_agent_finish_workflow(fx->store, id, &st), OI_ESTATE);
    assert_contains(oi_errmsg(fx->store), "is idle, not active");
    assert_contains(oi_errmsg(fx->store), "Test Cost Agent");
    assert_null(st.status);
    assert_int_equal(state_rows(fx, id), 0); /* the implicit idle row was rolled back */
    assert_rc(fx, oi_agent_recover(fx->store, id, NULL), OI_ESTATE);
    assert_contains(oi_errmsg(fx->store), "is idle, not error");

    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "first", NULL, NULL));
    get_state(fx, id, &st);
    oi_time updated = st.updated_at;
    oi_agent_state_clear(&st);
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "second", NULL, NULL), OI_ESTATE);
    assert_contains(oi_errmsg(fx->store), "cannot start a workflow: agent 'Test Cost Agent' is "
                                          "active (workflow 'first'), not idle");
    assert_rc(fx, oi_agent_recover(fx->store, id, NULL), OI_ESTATE);
    get_state(fx, id, &st);
    assert_string_equal(st.current_workflow, "first");
    assert_true(st.updated_at == updated);
    oi_agent_state_clear(&st);

    fx_sql_exec(fx, "UPDATE agent_states SET status = 'paused'");
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "x", NULL, NULL), OI_ESTATE);
    assert_rc(fx, oi_agent_finish_workflow(fx->store, id, NULL), OI_ESTATE);
    assert_rc(fx, oi_agent_recover(fx->store, id, NULL), OI_ESTATE);
    assert_rc(fx, oi_agent_record_error(fx->store, id, "e", NULL, NULL), OI_ESTATE);
    assert_contains(oi_errmsg(fx->store), "is paused (workflow 'first'), not idle, active or error");
}

static void test_errors_and_recovery(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "scan", NULL, NULL));
    oi_time before = oi_time_now();
    assert_ok(fx, oi_agent_record_error(fx->store, id, "billing API \"timed\" out", NULL, &st));
    assert_string_equal(st.status, "error");
    assert_int_equal(st.error_count, 1);
    assert_string_equal(st.current_workflow, "scan"); /* kept: what failed */
    json_t *e = fx_json(st.last_error);
    assert_string_equal(json_string_value(json_object_get(e, "error")), "billing API \"timed\" out");
    assert_string_equal(json_string_value(json_object_get(e, "severity")), OI_SEVERITY_DEFAULT);
    oi_time when = 0;
    assert_ok(fx, oi_time_parse(json_string_value(json_object_get(e, "timestamp")), &when));
    assert_true(when >= before && when == st.updated_at);
    json_decref(e);
    oi_agent_state_clear(&st);

    assert_ok(fx, oi_agent_record_error(fx->store, id, "again", "critical", &st)); /* error -> error */
    assert_int_equal(st.error_count, 2);
    assert_contains(st.last_error, "critical");
    oi_agent_state_clear(&st);

    assert_ok(fx, oi_agent_recover(fx->store, id, &st));
    assert_string_equal(st.status, "idle");
    assert_null(st.current_workflow);
    assert_string_equal(st.workflow_data, "{}");
    assert_int_equal(st.error_count, 2); /* kept */
    assert_contains(st.last_error, "again");
    oi_agent_state_clear(&st);

    assert_ok(fx, oi_agent_record_error(fx->store, id, "from idle", "low", NULL));
    get_state(fx, id, &st);
    assert_int_equal(st.error_count, 3);
    oi_agent_state_clear(&st);
}

/* Bad input is refused before anything is written; *out is left empty
 * (as OI_AGENT_STATE_INIT makes it) whatever it held. */
static void test_transition_bad_input(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    memset(&st, 0xff, sizeof st); /* junk in every field but the version */
    st.version = OI_AGENT_STATE_VERSION;
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "", NULL, &st), OI_EINVALID);
    assert_null(st.status);
    assert_contains(oi_errmsg(fx->store), "workflow name is required");
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, NULL, NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "two\nlines", NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "bad\xff", NULL, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "UTF-8");
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "w", "{nope", NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "workflow data");
    assert_rc(fx, oi_agent_start_workflow(fx->store, id, "w", "[1]", NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_record_error(fx->store, id, "", NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_record_error(fx->store, id, NULL, NULL, NULL), OI_EINVALID);
    assert_rc(fx, oi_agent_record_error(fx->store, id, "\xc3(", NULL, NULL), OI_EINVALID);
    memset(&st, 0xff, sizeof st);
    st.version = OI_AGENT_STATE_VERSION;
    assert_rc(fx, oi_agent_record_error(fx->store, id, "m", "fatal", &st), OI_EINVALID);
    assert_null(st.status);
    assert_contains(oi_errmsg(fx->store), "low, medium, high, critical");
    assert_ok(fx, oi_agent_record_error(fx->store, id, "multi\nline\ttrace", "high", NULL));
    assert_int_equal(state_rows(fx, id), 1); /* only the last call wrote */

    assert_rc(fx, oi_agent_start_workflow(fx->store, unknown, "w", NULL, NULL), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), unknown);
    assert_rc(fx, oi_agent_finish_workflow(fx->store, unknown, NULL), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_record_error(fx->store, unknown, "m", NULL, NULL), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_recover(fx->store, unknown, NULL), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_recover(fx->store, "nope", NULL), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_states"), 1);
}

static void test_transition_joins_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "w", NULL, NULL));
    assert_ok(fx, oi_agent_record_error(fx->store, id, "e", NULL, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(state_rows(fx, id), 0);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_agent_start_workflow(fx->store, id, "w", NULL, NULL));
    assert_ok(fx, oi_agent_finish_workflow(fx->store, id, NULL));
    assert_ok(fx, oi_commit(fx->store));
    get_state(fx, id, &st);
    assert_string_equal(st.status, "idle");
    oi_agent_state_clear(&st);
}

enum { ERROR_WORKERS = 6, ERRORS_EACH = 20, STARTERS = 8 };

typedef struct state_race {
    char agent_id[OI_UUID_LEN + 1];
    const char *log;
} state_race;

static int error_worker(int index, const char *url, void *ctx)
{
    state_race *race = ctx;
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    for (int i = 0; rc == OI_OK && i < ERRORS_EACH; i++) {
        char message[64];
        snprintf(message, sizeof message, "worker %d error %d", index, i);
        rc = oi_agent_record_error(store, race->agent_id, message, "low", NULL);
    }
    if (rc != OI_OK)
        fprintf(stderr, "error worker %d: %s\n", index, oi_errmsg(store));
    oi_store_close(store);
    return rc == OI_OK ? 0 : 1;
}

/* Every concurrent increment counts, on an agent that starts without a state row. */
static void test_concurrent_errors_all_counted(void **state)
{
    oi_fixture *fx = FX(state);
    state_race race = {.log = race_log_path(fx)};
    snprintf(race.agent_id, sizeof race.agent_id, "%s", fx->cost_agent.id);
    race_run(fx, ERROR_WORKERS, error_worker, &race);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    get_state(fx, race.agent_id, &st);
    assert_int_equal(st.error_count, ERROR_WORKERS * ERRORS_EACH);
    assert_string_equal(st.status, "error");
    assert_contains(st.last_error, "error 19");
    oi_agent_state_clear(&st);
    assert_int_equal(state_rows(fx, race.agent_id), 1);
}

/* Logs "won <index>" or "refused <index>". */
static int start_worker(int index, const char *url, void *ctx)
{
    state_race *race = ctx;
    oi_store *store = NULL;
    char workflow[32];
    snprintf(workflow, sizeof workflow, "workflow-%d", index);
    int rc = oi_store_open(&store, url);
    if (rc == OI_OK)
        rc = oi_agent_start_workflow(store, race->agent_id, workflow, NULL, NULL);
    bool logged = rc == OI_OK ? race_log(race->log, "won %d", index)
                : rc == OI_ESTATE ? race_log(race->log, "refused %d", index) : false;
    if (!logged)
        fprintf(stderr, "starter %d: %d %s\n", index, rc, oi_errmsg(store));
    oi_store_close(store);
    return logged ? 0 : 1;
}

static void test_concurrent_starts_one_wins(void **state)
{
    oi_fixture *fx = FX(state);
    state_race race = {.log = race_log_path(fx)};
    snprintf(race.agent_id, sizeof race.agent_id, "%s", fx->cost_agent.id);
    for (int round = 0; round < 3; round++) {
        race_run(fx, STARTERS, start_worker, &race);
        char *log = race_log_read(fx);
        int won = 0, refused = 0, winner = -1;
        for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            if (sscanf(line, "won %d", &winner) == 1)
                won++;
            else
                refused += strncmp(line, "refused ", 8) == 0;
        }
        free(log);
        assert_int_equal(won, 1);
        assert_int_equal(refused, STARTERS - 1);
        oi_agent_state st = OI_AGENT_STATE_INIT;
        char want[32];
        snprintf(want, sizeof want, "workflow-%d", winner);
        get_state(fx, race.agent_id, &st);
        assert_string_equal(st.current_workflow, want);
        oi_agent_state_clear(&st);
        assert_ok(fx, oi_agent_finish_workflow(fx->store, race.agent_id, NULL));
    }
}

/* ---- failures of the database ------------------------------------------- */

/* A store that never connected: every call says so, and nothing is read. */
static void test_runtime_without_connection(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *store = NULL;
    const char *id = fx->cost_agent.id;
    assert_rc(fx, oi_store_open(&store, "nowhere:at-all"), OI_EINVALID);
    oi_agent_state st = OI_AGENT_STATE_INIT;
    oi_iter *it = NULL;
    assert_int_equal(oi_agent_heartbeat(store, id, NULL), OI_ECONNECT);
    assert_int_equal(oi_agent_start_workflow(store, id, "w", NULL, &st), OI_ECONNECT);
    assert_null(st.status);
    assert_int_equal(oi_agent_finish_workflow(store, id, NULL), OI_ECONNECT);
    assert_int_equal(oi_agent_record_error(store, id, "e", NULL, NULL), OI_ECONNECT);
    assert_int_equal(oi_agent_recover(store, id, NULL), OI_ECONNECT);
    /* refused by the constructor or by the first next() */
    assert_int_equal(fx_first_livenesses(oi_agent_stale_iter_new(&it, store, 0), &it),
                     OI_ECONNECT);
    oi_store_close(store);
}

/* PostgreSQL refuses every statement of a failed transaction: the calls
 * report it and leave the rollback to the caller. */
static void test_runtime_in_failed_transaction(void **state)
{
    fx_skip_unless_pg();
    oi_fixture *fx = FX(state);
    const char *id = fx->cost_agent.id;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_stale_iter_new(&it, fx->store, 0)); /* prepared now */
    fx_collect_livenesses(fx, it, NULL);
    assert_ok(fx, oi_begin(fx->store));
    break_transaction(fx);
    assert_rc(fx, fx_first_livenesses(oi_agent_stale_iter_new(&it, fx->store, 0), &it),
              OI_ERROR);
    assert_rc(fx, oi_agent_heartbeat(fx->store, id, NULL), OI_ERROR);
    assert_rc(fx, oi_agent_record_error(fx->store, id, "e", NULL, NULL), OI_ERROR);
    oi_agent rec = OI_AGENT_INIT;
    rec.type = "cost";
    rec.name = "Test Cost Agent";
    assert_rc(fx, oi_agent_register(fx->store, &rec, NULL), OI_ERROR);
    assert_contains(oi_errmsg(fx->store), "cannot update agent");
    assert_string_equal(rec.name, "Test Cost Agent"); /* unchanged */
    assert_ok(fx, oi_rollback(fx->store));
    assert_ok(fx, oi_agent_heartbeat(fx->store, id, NULL));
}

/* ---- CLI ------------------------------------------------------------------- */

static void test_cli_heartbeat_and_stale(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent never = OI_AGENT_INIT;
    make_silent_agent(fx, "Silent Agent", &never);
    oi_time now = oi_time_now();
    set_beats(fx, fx->cost_agent.id, now - 600 * SECOND, OI_TIME_NULL);
    fx_run r;
    fx_cli(fx, &r, "agents", "--stale", "5m", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Silent Agent");
    assert_contains(r.out, "never seen");
    assert_contains(r.out, "Test Cost Agent");
    assert_contains(r.out, "HEALTH");
    assert_int_equal(fx_count_lines(r.out), 3);
    fx_run_free(&r);

    fx_cli(fx, &r, "agent", "heartbeat", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Heartbeat of agent 'Test Cost Agent' recorded at");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "heartbeat", never.id, "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "Silent Agent");
    assert_true(json_is_string(json_object_get(j, "last_heartbeat")));
    json_decref(j);
    fx_run_free(&r);

    fx_cli(fx, &r, "agents", "--stale", "5m", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No stale agents");
    fx_run_free(&r);
    fx_cli(fx, &r, "agents", "--stale", "5m", "--json", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, "[]\n");
    fx_run_free(&r);

    set_beats(fx, never.id, now - 100 * SECOND, now - 100 * SECOND);
    fx_cli(fx, &r, "agents", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *agent = json_array_get(j, i);
        bool silent = strcmp(json_string_value(json_object_get(agent, "name")), "Silent Agent") == 0;
        assert_string_equal(json_string_value(json_object_get(agent, "health")),
                            silent ? "stale" : "healthy"); /* 100s > 90s */
    }
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "agents", "--stale-after", "2m", (char *)NULL);
    assert_exit(&r, 0);
    assert_not_contains(r.out, "stale");
    assert_int_equal(fx_count_lines(r.out), 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "show", "Silent Agent", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "health          stale");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "show", "Silent Agent", "--stale-after", "1h", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "health")), "healthy");
    json_decref(j);
    fx_run_free(&r);
    oi_agent_clear(&never);
}

static void test_cli_runtime_errors(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "agents", "--stale", "soon", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "--stale 'soon' is not a duration");
    fx_run_free(&r);
    fx_cli(fx, &r, "agents", "--stale", "0s", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "agents", "--stale", "1m", "--stale-after", "1m", (char *)NULL);
    assert_exit(&r, 2);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "show", "Test Cost Agent", "--stale-after", "x", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "heartbeat", "Nobody", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "Nobody");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "start", "Nobody", "w", (char *)NULL);
    assert_exit(&r, 4);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "start", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 2);
    fx_run_free(&r);
}

static void test_cli_transitions(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "agent", "start", "Test Cost Agent", "rightsizing", "--data",
           "{\"cluster\": \"gpu-a\"}", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Test Cost Agent: status active, workflow 'rightsizing', error count 0");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "start", "Test Cost Agent", "other", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "is active (workflow 'rightsizing'), not idle");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "error", "Test Cost Agent", "disk full", "--severity", "high",
           "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    assert_int_equal(json_integer_value(json_object_get(j, "error_count")), 1);
    assert_string_equal(json_string_value(fx_json_at(j, "last_error.error")), "disk full");
    assert_string_equal(json_string_value(fx_json_at(j, "last_error.severity")), "high");
    assert_string_equal(json_string_value(fx_json_at(j, "workflow_data.cluster")), "gpu-a");
    assert_string_equal(json_string_value(json_object_get(j, "agent_id")), fx->cost_agent.id);
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "error", "Test Cost Agent", "x", "--severity", "meh", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "finish", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "is error (workflow 'rightsizing'), not active");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "recover", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "status idle, error count 1");
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "start", "Test Cost Agent", "w", "--data", "[]", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "start", fx->cost_agent.id, "w", (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
    fx_cli(fx, &r, "agent", "finish", "Test Cost Agent", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_true(json_is_null(json_object_get(j, "current_workflow")));
    json_decref(j);
    fx_run_free(&r);
}

static void test_cli_runtime_help(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const commands[] = {"heartbeat", "start", "finish", "error", "recover"};
    fx_run r;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        fx_cli_raw(fx, &r, "agent", commands[i], "--help", (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra agent ");
        assert_contains(r.out, "Example");
        assert_contains(r.out, "--json");
        fx_run_free(&r);
    }
    fx_cli_raw(fx, &r, "agents", "--help", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "--stale D");
    fx_run_free(&r);
    fx_cli_raw(fx, &r, "agent", "--help", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "agent recover AGENT");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_runtime_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_heartbeat_writes_both_and_creates_state),
        T(test_heartbeat_keeps_the_rest_of_the_state),
        T(test_heartbeat_never_moves_backwards),
        T(test_heartbeat_bad_agent),
        T(test_heartbeat_joins_user_transaction),
        T(test_concurrent_heartbeats),
        T(test_heartbeat_with_status_and_metadata),
        T(test_heartbeat_with_refused),
        T(test_register_creates_then_updates),
        T(test_register_with_an_id),
        T(test_register_refuses_what_create_refuses),
        T(test_register_joins_user_transaction),
        T(test_register_waits_for_concurrent_insert),
        T(test_concurrent_registrations),
        cmocka_unit_test(test_health_threshold),
        T(test_list_stale),
        T(test_start_and_finish),
        T(test_refused_transitions),
        T(test_errors_and_recovery),
        T(test_transition_bad_input),
        T(test_transition_joins_user_transaction),
        T(test_concurrent_errors_all_counted),
        T(test_concurrent_starts_one_wins),
        T(test_runtime_without_connection),
        T(test_runtime_in_failed_transaction),
        T(test_cli_heartbeat_and_stale),
        T(test_cli_runtime_errors),
        T(test_cli_transitions),
        T(test_cli_runtime_help),
    };
    return fx_run_group("runtime", tests);
}
