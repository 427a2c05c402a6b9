/*
 * test_configs.c - typed configs: oi_config_set (the upsert and what it
 * keeps), the type checks and that a refused value writes nothing, the
 * typed getters, unset, secrets kept out of every message and every CLI
 * output, races between real processes, and `optiinfra config ...`.
 *
 * Rows are counted and read around the library (fx_sql_*) where the point is
 * what the database holds.
 */
#include "harness.h"
#include "race.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET "hunter2-s3cr3t"

static const char *agent_of(oi_fixture *fx)
{
    return fx->cost_agent.id;
}

static void set_ok(oi_fixture *fx, const char *key, const char *value, const char *type)
{
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), key, value, type, NULL,
                                OI_SENSITIVE_KEEP, NULL));
}

static void get(oi_fixture *fx, const char *key, oi_agent_config *out)
{
    assert_ok(fx, oi_agent_config_find(fx->store, agent_of(fx), key, out));
}

/* The stored "value|type" of a key, read around the library; "" if absent. */
static char *stored(oi_fixture *fx, const char *key)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT config_value, config_type FROM agent_configs "
             "WHERE agent_id = '%s' AND config_key = '%s'", agent_of(fx), key);
    return fx_sql_text(fx, sql);
}

static void assert_stored(oi_fixture *fx, const char *key, const char *want)
{
    char *got = stored(fx, key);
    assert_string_equal(got, want);
    free(got);
}

/* ---- set: create, update, keep ------------------------------------------- */

static void test_config_set_creates_with_defaults(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "region", "us-east-1", NULL, NULL,
                                OI_SENSITIVE_KEEP, &c));
    assert_string_equal(c.config_key, "region");
    assert_string_equal(c.config_value, "us-east-1");
    assert_string_equal(c.config_type, "string");
    assert_null(c.description);
    assert_false(c.is_sensitive);
    assert_string_equal(c.agent_id, agent_of(fx));
    assert_true(c.created_at != OI_TIME_NULL && c.created_at == c.updated_at);

    oi_agent_config again = OI_AGENT_CONFIG_INIT;
    get(fx, "region", &again);
    assert_string_equal(again.id, c.id);
    assert_true(again.created_at == c.created_at);
    oi_agent_config_clear(&again);
    oi_agent_config_clear(&c);
    assert_int_equal(fx_count(fx, "agent_configs"), 1);
}

static void test_config_set_updates_and_keeps(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config first = OI_AGENT_CONFIG_INIT, second = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "limit", "10", "integer",
                                "max parallel jobs", OI_SENSITIVE_YES, &first));
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "limit", "12", NULL, NULL,
                                OI_SENSITIVE_KEEP, &second));
    assert_string_equal(second.id, first.id);
    assert_string_equal(second.config_value, "12");
    assert_string_equal(second.config_type, "integer");
    assert_string_equal(second.description, "max parallel jobs");
    assert_true(second.is_sensitive);
    assert_true(second.created_at == first.created_at);
    assert_true(second.updated_at > first.updated_at);
    oi_agent_config_clear(&first);
    oi_agent_config_clear(&second);
    assert_stored(fx, "limit", "12|integer\n");
    assert_int_equal(fx_count(fx, "agent_configs"), 1);
}

static void test_config_description_and_sensitivity(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "token", "a", NULL, "API token",
                                OI_SENSITIVE_YES, &c));
    assert_true(c.is_sensitive);
    oi_agent_config_clear(&c);
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "token", "b", NULL, "",
                                OI_SENSITIVE_KEEP, &c));
    assert_true(c.is_sensitive);          /* kept */
    assert_string_equal(c.description, ""); /* replaced */
    oi_agent_config_clear(&c);
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "token", "c", NULL, NULL,
                                OI_SENSITIVE_NO, &c));
    assert_false(c.is_sensitive);
    assert_string_equal(c.description, "");
    oi_agent_config_clear(&c);
    get(fx, "token", &c);
    assert_false(c.is_sensitive);
    assert_string_equal(c.config_value, "c");
    oi_agent_config_clear(&c);
}

/* ---- type checks ------------------------------------------------------------ */

static void test_config_types_accept_and_refuse(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct { const char *type, *value; bool ok; } cases[] = {
        {"string", "", true}, {"string", "anything at all {", true},
        {"number", "15", true}, {"number", "-0.5", true}, {"number", "1e3", true},
        {"number", "abc", false}, {"number", "", false}, {"number", "12abc", false},
        {"number", "inf", false}, {"number", "nan", false}, {"number", "1e999", false},
        {"float", "0.85", true}, {"float", "1,5", false},
        {"integer", "42", true}, {"integer", "-7", true}, {"integer", "4.2", false},
        {"integer", "99999999999999999999", false}, {"integer", "0x10", false},
        {"boolean", "true", true}, {"boolean", "false", true}, {"boolean", "True", false},
        {"boolean", "1", false}, {"boolean", "yes", false},
        {"json", "{\"a\": [1, 2]}", true}, {"json", "[1]", true}, {"json", "\"s\"", true},
        {"json", "3", true}, {"json", "{bad", false}, {"json", "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%zu", i);
        oi_agent_config c = OI_AGENT_CONFIG_INIT;
        int rc = oi_config_set(fx->store, agent_of(fx), key, cases[i].value, cases[i].type,
                               NULL, OI_SENSITIVE_KEEP, &c);
        if (rc != (cases[i].ok ? OI_OK : OI_EINVALID))
            fail_msg("%s '%s': got %d (%s)", cases[i].type, cases[i].value, rc,
                     oi_errmsg(fx->store));
        if (!cases[i].ok) {
            assert_contains(oi_errmsg(fx->store), key);
            assert_contains(oi_errmsg(fx->store), cases[i].type);
            assert_null(c.config_key); /* *out stays empty, as OI_AGENT_CONFIG_INIT made it */
        }
        oi_agent_config_clear(&c);
        char *got = stored(fx, key);
        if (cases[i].ok == !*got)
            fail_msg("%s '%s': stored \"%s\"", cases[i].type, cases[i].value, got);
        free(got);
    }
}

static void test_config_kept_type_rechecks_value(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "retries", "3", "integer");
    assert_rc(fx, oi_config_set(fx->store, agent_of(fx), "retries", "many", NULL, NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "is not an integer");
    assert_stored(fx, "retries", "3|integer\n");
    set_ok(fx, "retries", "5", NULL);
    assert_stored(fx, "retries", "5|integer\n");
}

static void test_config_type_change_rechecks_value(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "mode", "fast", NULL);
    assert_rc(fx, oi_config_set(fx->store, agent_of(fx), "mode", "fast", "boolean", NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "use true or false");
    assert_stored(fx, "mode", "fast|string\n");
    set_ok(fx, "mode", "{\"fast\": true}", "json");
    char *got = stored(fx, "mode");
    assert_contains(got, "|json\n");
    free(got);
    set_ok(fx, "mode", "fast", "string"); /* back to string: anything goes */
    assert_stored(fx, "mode", "fast|string\n");
}

static void test_config_bad_arguments(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *s = fx->store;
    char unknown[OI_UUID_LEN + 1], longer[64];
    fx_random_uuid(unknown);
    snprintf(longer, sizeof longer, "%sabc", agent_of(fx)); /* valid prefix, then more */
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    assert_rc(fx, oi_config_set(s, "nope", "k", "v", NULL, NULL, OI_SENSITIVE_KEEP, &c),
              OI_EINVALID);
    assert_contains(oi_errmsg(s), "not a UUID");
    assert_null(c.config_key);
    assert_rc(fx, oi_config_set(s, longer, "k", "v", "string", NULL, OI_SENSITIVE_KEEP, NULL),
              OI_EINVALID);
    assert_rc(fx, oi_config_set(s, NULL, "k", "v", "string", NULL, OI_SENSITIVE_KEEP, NULL),
              OI_EINVALID);
    assert_rc(fx, oi_config_set(s, agent_of(fx), NULL, "v", "string", NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    assert_rc(fx, oi_config_set(s, agent_of(fx), NULL, "v", NULL, NULL, OI_SENSITIVE_KEEP,
                                NULL), OI_EINVALID);
    assert_rc(fx, oi_config_set(s, agent_of(fx), "k", NULL, NULL, NULL, OI_SENSITIVE_KEEP,
                                NULL), OI_EINVALID);
    assert_rc(fx, oi_config_set(s, agent_of(fx), "k", "1", "decimal", NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(s), "not one of");
    assert_rc(fx, oi_config_set(s, unknown, "k", "v", NULL, NULL, OI_SENSITIVE_KEEP, &c),
              OI_ECONSTRAINT);
    assert_contains(oi_errmsg(s), "does not exist");
    assert_null(c.config_key);
    assert_int_equal(fx_count(fx, "agent_configs"), 0);
}

/* A refused set writes nothing, so it leaves the caller's transaction
 * usable: the next set and the commit go through. */
static void test_config_set_inside_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "n", "1", "integer");
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_config_set(fx->store, agent_of(fx), "n", "x", NULL, NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    set_ok(fx, "n", "2", NULL);
    set_ok(fx, "m", "3", NULL);
    assert_ok(fx, oi_commit(fx->store));
    assert_stored(fx, "n", "2|integer\n");

    assert_ok(fx, oi_begin(fx->store));
    set_ok(fx, "n", "9", NULL);
    assert_ok(fx, oi_rollback(fx->store));
    assert_stored(fx, "n", "2|integer\n");
}

/* ---- secrets ---------------------------------------------------------------- */

static void test_config_secret_never_in_messages(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *s = fx->store;
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    assert_ok(fx, oi_config_set(s, agent_of(fx), "api_key", "1", "integer", NULL,
                                OI_SENSITIVE_YES, NULL));
    struct { const char *type, *value; } bad[] = {
        {NULL, SECRET},                /* the kept type, integer */
        {"integer", SECRET}, {"number", SECRET "1"}, {"boolean", SECRET},
        {"json", "{\"" SECRET "\": }"}, {"json", SECRET},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_rc(fx, oi_config_set(s, agent_of(fx), "api_key", bad[i].value, bad[i].type, NULL,
                                    OI_SENSITIVE_YES, NULL), OI_EINVALID);
        assert_contains(oi_errmsg(s), "api_key");
        assert_not_contains(oi_errmsg(s), "hunter2");
    }
    /* a write the database refuses (no such agent) */
    assert_rc(fx, oi_config_set(s, unknown, "api_key", SECRET, "string", NULL,
                                OI_SENSITIVE_YES, NULL), OI_ECONSTRAINT);
    assert_not_contains(oi_errmsg(s), "hunter2");
    assert_stored(fx, "api_key", "1|integer\n");
}

/* ---- unset -------------------------------------------------------------------- */

static void test_config_unset(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "a", "1", NULL);
    set_ok(fx, "b", "2", NULL);
    assert_ok(fx, oi_config_unset(fx->store, agent_of(fx), "a"));
    assert_stored(fx, "a", "");
    assert_stored(fx, "b", "2|string\n");
    assert_rc(fx, oi_config_unset(fx->store, agent_of(fx), "a"), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "'a'");
    assert_rc(fx, oi_config_unset(fx->store, "x", "b"), OI_EINVALID);
    assert_rc(fx, oi_config_unset(fx->store, agent_of(fx), NULL), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_configs"), 1);
}

/* ---- typed getters -------------------------------------------------------------- */

static void test_config_typed_getters(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *s = fx->store;
    const char *a = agent_of(fx);
    set_ok(fx, "ratio", "0.85", "float");
    set_ok(fx, "limit", "1000", "number");
    set_ok(fx, "half", "2.5", "number");
    set_ok(fx, "huge", "1e30", "number");
    set_ok(fx, "count", "-42", "integer");
    set_ok(fx, "on", "true", "boolean");
    set_ok(fx, "off", "false", "boolean");
    set_ok(fx, "name", "x", "string");
    set_ok(fx, "doc", "{}", "json");

    double d = 0;
    int64_t n = 0;
    bool b = false;
    assert_ok(fx, oi_config_get_double(s, a, "ratio", &d));
    assert_true(d == 0.85);
    assert_ok(fx, oi_config_get_double(s, a, "count", &d));
    assert_true(d == -42);
    assert_ok(fx, oi_config_get_int64(s, a, "count", &n));
    assert_int_equal(n, -42);
    assert_ok(fx, oi_config_get_int64(s, a, "limit", &n)); /* a whole number */
    assert_int_equal(n, 1000);
    set_ok(fx, "limit", "60.0", NULL);
    assert_ok(fx, oi_config_get_int64(s, a, "limit", &n));
    assert_int_equal(n, 60);
    set_ok(fx, "limit", "-1e3", NULL);
    assert_ok(fx, oi_config_get_int64(s, a, "limit", &n));
    assert_int_equal(n, -1000);
    assert_rc(fx, oi_config_get_int64(s, a, "half", &n), OI_EINVALID);
    assert_contains(oi_errmsg(s), "whole number");
    assert_rc(fx, oi_config_get_int64(s, a, "huge", &n), OI_EINVALID);
    assert_ok(fx, oi_config_get_bool(s, a, "on", &b));
    assert_true(b);
    assert_ok(fx, oi_config_get_bool(s, a, "off", &b));
    assert_false(b);

    const char *not_numbers[] = {"on", "name", "doc"};
    for (size_t i = 0; i < 3; i++) {
        assert_rc(fx, oi_config_get_double(s, a, not_numbers[i], &d), OI_EINVALID);
        assert_contains(oi_errmsg(s), "not a number");
        assert_rc(fx, oi_config_get_int64(s, a, not_numbers[i], &n), OI_EINVALID);
    }
    assert_rc(fx, oi_config_get_bool(s, a, "count", &b), OI_EINVALID);
    assert_contains(oi_errmsg(s), "is of type integer, not a boolean");
    assert_rc(fx, oi_config_get_double(s, a, "missing", &d), OI_ENOTFOUND);
    assert_rc(fx, oi_config_get_bool(s, a, "missing", &b), OI_ENOTFOUND);
    assert_rc(fx, oi_config_get_int64(s, "x", "count", &n), OI_EINVALID);
}

/* Values written around the library (raw SQL) that do not parse. */
static void test_config_getters_refuse_unreadable_values(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "num", "1", "number");
    set_ok(fx, "int", "1", "integer");
    set_ok(fx, "flag", "true", "boolean");
    char sql[300];
    snprintf(sql, sizeof sql, "UPDATE agent_configs SET config_value = 'oops' "
             "WHERE agent_id = '%s'", agent_of(fx));
    fx_sql_exec(fx, sql);
    double d;
    int64_t n;
    bool b;
    assert_rc(fx, oi_config_get_double(fx->store, agent_of(fx), "num", &d), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "does not hold a valid number");
    assert_rc(fx, oi_config_get_int64(fx->store, agent_of(fx), "int", &n), OI_EINVALID);
    assert_rc(fx, oi_config_get_bool(fx->store, agent_of(fx), "flag", &b), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "does not hold a valid boolean");
    assert_not_contains(oi_errmsg(fx->store), "oops");
}

/* Every call on a database without the tables fails cleanly. */
static void test_config_calls_without_schema(void **state)
{
    oi_fixture *fx = FX(state);
    char id[OI_UUID_LEN + 1];
    double d;
    memcpy(id, agent_of(fx), sizeof id);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL));
    assert_rc(fx, oi_config_set(fx->store, id, "k", "v", "string", NULL, OI_SENSITIVE_KEEP,
                                NULL), OI_ESCHEMA);
    assert_rc(fx, oi_config_set(fx->store, id, "k", "v", NULL, NULL, OI_SENSITIVE_KEEP, NULL),
              OI_ESCHEMA);
    assert_rc(fx, oi_config_unset(fx->store, id, "k"), OI_ESCHEMA);
    assert_rc(fx, oi_config_get_double(fx->store, id, "k", &d), OI_ESCHEMA);
}

/* ---- races ---------------------------------------------------------------------- */

/* A set that keeps the type reads it, then writes only if it is still that
 * type.  Here another writer changes the type in between, deterministically:
 * a child process holds the change in an open transaction (holding the row,
 * or SQLite's write lock) while this process reads the old type and waits
 * to write, then commits.  Our value would fit the old type, not the new
 * one: the write must not happen. */
static void type_changer(const char *url, const char *agent_id, int ready_fd)
{
    oi_store *s = NULL;
    int rc = oi_store_open(&s, url);
    if (rc == OI_OK)
        rc = oi_begin(s);
    if (rc == OI_OK)
        rc = oi_config_set(s, agent_id, "mode", "1", "integer", NULL, OI_SENSITIVE_KEEP, NULL);
    if (rc != OI_OK || write(ready_fd, "r", 1) != 1)
        _exit(98);
    usleep(500 * 1000); /* the parent reads "string" and waits to write */
    rc = oi_commit(s);
    oi_store_close(s);
    _exit(rc == OI_OK ? 0 : 99);
}

static void test_config_kept_type_guard(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "mode", "fast", "string");
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        type_changer(fx->url, fx->cost_agent.id, ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1); /* the change is made, not committed */
    assert_rc(fx, oi_config_set(fx->store, agent_of(fx), "mode", "slow", NULL, NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EBUSY);
    assert_contains(oi_errmsg(fx->store), "changed type");
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_stored(fx, "mode", "1|integer\n");
    close(ready[0]);
    close(ready[1]);
}

enum { RACERS = 8, ROUNDS = 30 };

/* A racer's own store; NULL (after a message) if it cannot open one. */
static oi_store *racer_store(const char *url)
{
    oi_store *s = NULL;
    if (oi_store_open(&s, url) == OI_OK)
        return s;
    fprintf(stderr, "racer: %s\n", oi_errmsg(s));
    oi_store_close(s);
    return NULL;
}

static int set_first_time(int who, const char *url, void *agent_id)
{
    char value[16];
    oi_store *s = racer_store(url);
    snprintf(value, sizeof value, "%d", who);
    int rc = s ? oi_config_set(s, agent_id, "fresh", value, NULL, NULL, OI_SENSITIVE_KEEP, NULL)
               : OI_ECONNECT;
    if (rc != OI_OK)
        fprintf(stderr, "racer %d: %d %s\n", who, rc, s ? oi_errmsg(s) : "");
    oi_store_close(s);
    return rc == OI_OK ? 0 : 1;
}

/* The first set of a key by several processes at once: one insert, the
 * rest updates, nobody sees a duplicate-key error. */
static void test_config_concurrent_first_set(void **state)
{
    oi_fixture *fx = FX(state);
    race_run(fx, RACERS, set_first_time, fx->cost_agent.id);
    assert_int_equal(fx_count(fx, "agent_configs"), 1);
    char *got = stored(fx, "fresh");
    assert_contains(got, "|string\n");
    free(got);
}

/* Even racers flip the type between string and integer, with fitting
 * values, which must always go through; odd ones set values with the type
 * kept, which may be refused (the value does not fit the type read) or
 * lose the race (the type changed after the read), and nothing else. */
static int flip_or_keep(int who, const char *url, void *agent_id)
{
    oi_store *s = racer_store(url);
    int rc = s ? OI_OK : OI_ECONNECT;
    for (int i = 0; i < ROUNDS && s; i++) {
        if (who % 2 == 0)
            rc = oi_config_set(s, agent_id, "flip", i % 2 ? "1" : "a",
                               i % 2 ? "integer" : "string", NULL, OI_SENSITIVE_KEEP, NULL);
        else
            rc = oi_config_set(s, agent_id, "flip", i % 2 ? "7" : "word", NULL, NULL,
                               OI_SENSITIVE_KEEP, NULL);
        bool expected = rc == OI_OK || (who % 2 && (rc == OI_EINVALID || rc == OI_EBUSY));
        if (!expected)
            break;
        rc = OI_OK;
    }
    if (rc != OI_OK)
        fprintf(stderr, "racer %d: %d %s\n", who, rc, s ? oi_errmsg(s) : "");
    oi_store_close(s);
    return rc == OI_OK ? 0 : 1;
}

static void test_config_concurrent_type_changes(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "flip", "a", "string");
    race_run(fx, RACERS, flip_or_keep, fx->cost_agent.id);
    char *got = stored(fx, "flip");
    /* whatever won, the value fits the type */
    if (strstr(got, "|integer"))
        assert_true(strcmp(got, "1|integer\n") == 0 || strcmp(got, "7|integer\n") == 0);
    else
        assert_contains(got, "|string\n");
    free(got);
}

/* ---- the CLI ---------------------------------------------------------------------- */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

#define AGENT "Test Cost Agent"

/* Run the CLI with these arguments and expect this exit code. */
#define cli_expect(fx, code, ...)                            \
    do {                                                     \
        fx_run r_;                                           \
        fx_cli((fx), &r_, __VA_ARGS__, (char *)NULL);        \
        assert_exit(&r_, (code));                            \
        fx_run_free(&r_);                                    \
    } while (0)

static void test_cli_config_set_get_list(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "config", "set", AGENT, "cost_threshold_usd", "1500", "--type", "number",
           "--description", "alert above this", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": cost_threshold_usd = 1500 (number)\n");
    fx_run_free(&r);

    fx_cli(fx, &r, "config", "set", fx->cost_agent.id, "cost_threshold_usd", "1200",
           (char *)NULL); /* by id; the type is kept */
    assert_exit(&r, 0);
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "cost_threshold_usd", "lots", (char *)NULL);
    assert_exit(&r, 3);
    assert_string_equal(r.out, "");
    fx_run_free(&r);

    fx_cli(fx, &r, "config", "get", AGENT, "cost_threshold_usd", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, "1200\n");
    fx_run_free(&r);

    cli_expect(fx, 0, "config", "set", AGENT, "negative", "-5");
    cli_expect(fx, 0, "config", "set", AGENT, "dash", "--", "-x");
    fx_cli(fx, &r, "config", "list", AGENT, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "KEY");
    assert_contains(r.out, "SENSITIVE");
    assert_contains(r.out, "cost_threshold_usd  1200   number  no         alert above this");
    assert_contains(r.out, "-x");
    assert_int_equal(fx_count_lines(r.out), 4);
    fx_run_free(&r);

    fx_cli(fx, &r, "config", "list", AGENT, "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *list = fx_json(r.out);
    assert_int_equal(json_array_size(list), 3);
    json_t *first = json_array_get(list, 0); /* by key: cost_threshold_usd, dash, negative */
    assert_string_equal(json_string_value(json_object_get(first, "value")), "1200");
    assert_string_equal(json_string_value(json_object_get(first, "type")), "number");
    assert_true(json_is_false(json_object_get(first, "is_sensitive")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "value")),
                        "-5");
    json_decref(list);
    fx_run_free(&r);

    fx_cli(fx, &r, "config", "get", AGENT, "cost_threshold_usd", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *one = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(one, "description")),
                        "alert above this");
    json_decref(one);
    fx_run_free(&r);
}

static void test_cli_config_list_empty_and_unset(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "config", "list", AGENT, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "has no configs");
    fx_run_free(&r);
    cli_expect(fx, 0, "config", "set", AGENT, "k", "v");
    fx_cli(fx, &r, "config", "unset", AGENT, "k", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_true(json_is_true(json_object_get(j, "unset")));
    json_decref(j);
    fx_run_free(&r);
    cli_expect(fx, 0, "config", "set", AGENT, "k", "v");
    fx_cli(fx, &r, "config", "unset", AGENT, "k", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": k unset\n");
    fx_run_free(&r);
    cli_expect(fx, 4, "config", "unset", AGENT, "k");
    assert_int_equal(fx_count(fx, "agent_configs"), 0);
}

static void test_cli_config_secrets_masked(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "config", "set", AGENT, "api_token", SECRET, "--sensitive", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": api_token = ******** (string, sensitive)\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "api_token", SECRET, "--json", (char *)NULL);
    assert_exit(&r, 0);
    assert_not_contains(r.out, "hunter2");
    fx_run_free(&r);

    const char *masked[][5] = {
        {"config", "get", AGENT, "api_token", NULL},
        {"config", "get", AGENT, "api_token", "--json"},
        {"config", "list", AGENT, NULL, NULL},
        {"config", "list", AGENT, "--json", NULL},
        {"agent", "show", AGENT, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
        fx_cli(fx, &r, masked[i][0], masked[i][1], masked[i][2], masked[i][3], masked[i][4],
               (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "********");
        assert_not_contains(r.out, "hunter2");
        assert_not_contains(r.err, "hunter2");
        fx_run_free(&r);
    }
    fx_cli(fx, &r, "config", "get", AGENT, "api_token", "--show-secrets", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, SECRET "\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "list", AGENT, "--show-secrets", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *list = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "value")),
                        SECRET);
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "is_sensitive")));
    json_decref(list);
    fx_run_free(&r);

    fx_cli(fx, &r, "config", "set", AGENT, "api_token", "x", "--not-sensitive", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": api_token = x (string)\n");
    fx_run_free(&r);
}

/* A refused sensitive value: exit 3, and neither output shows it. */
static void test_cli_config_refused_secret_not_echoed(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    cli_expect(fx, 0, "config", "set", AGENT, "pin", "1234", "--type=integer", "--sensitive");
    const char *types[] = {"--type=integer", "--type=json", "--type=boolean", "--json"};
    for (size_t i = 0; i < 4; i++) {
        fx_cli(fx, &r, "config", "set", AGENT, "pin", SECRET, types[i], (char *)NULL);
        assert_exit(&r, 3);
        assert_contains(r.err, "pin");
        assert_not_contains(r.err, "hunter2");
        assert_string_equal(r.out, "");
        fx_run_free(&r);
    }
    assert_stored(fx, "pin", "1234|integer\n");
}

static void test_cli_config_errors(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    cli_expect(fx, 4, "config", "get", "nobody", "k");
    cli_expect(fx, 4, "config", "set", "nobody", "k", "v");
    cli_expect(fx, 4, "config", "list", "nobody");
    cli_expect(fx, 4, "config", "unset", "nobody", "k");
    fx_cli(fx, &r, "config", "get", AGENT, "missing", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "no config 'missing'");
    assert_contains(r.err, "config list");
    fx_run_free(&r);
    cli_expect(fx, 3, "config", "set", AGENT, "k", "v", "--type=decimal");
    fx_cli(fx, &r, "config", "set", AGENT, "k", (char *)NULL);
    assert_exit(&r, 2);
    assert_contains(r.err, "--stdin");
    fx_run_free(&r);
    cli_expect(fx, 2, "config", "set", AGENT, "k", "v", "--stdin");
    cli_expect(fx, 2, "config", "set", AGENT, "k", "--sensitive", "--not-sensitive");
    cli_expect(fx, 2, "config", "get", AGENT);
    cli_expect(fx, 2, "config", "list", AGENT, "--type=x");
    assert_int_equal(fx_count(fx, "agent_configs"), 0);
}

static void test_cli_config_help(void **state)
{
    oi_fixture *fx = FX(state);
    const char *commands[][2] = {{"set", "--stdin"}, {"get", "--show-secrets"},
                                 {"list", "SENSITIVE"}, {"unset", "Exit 4"}};
    for (size_t i = 0; i < 4; i++) {
        fx_run r;
        fx_cli_raw(fx, &r, "config", commands[i][0], "--help", (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra config");
        assert_contains(r.out, commands[i][1]);
        assert_contains(r.out, "Example");
        fx_run_free(&r);
    }
}

/* `config set --stdin`, with a real standard input. */
static void test_cli_config_stdin(void **state)
{
    oi_fixture *fx = FX(state);
    char in_path[300], out_path[300];
    snprintf(in_path, sizeof in_path, "%s/value.in", fx->dir);
    snprintf(out_path, sizeof out_path, "%s/value.out", fx->dir);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    fputs(SECRET " with spaces\n", f);
    fclose(f);
    const char *cli = getenv("OI_TEST_CLI");
    const char *argv[] = {cli && *cli ? cli : "build/optiinfra", "--database-url", fx->url,
                          "config", "set", AGENT, "token", "--stdin", "--sensitive", NULL};
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(in_path, O_RDONLY), out = open(out_path, O_WRONLY | O_CREAT, 0600);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    get(fx, "token", &c);
    assert_string_equal(c.config_value, SECRET " with spaces");
    assert_true(c.is_sensitive);
    oi_agent_config_clear(&c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_config_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_set_creates_with_defaults),
        T(test_config_set_updates_and_keeps),
        T(test_config_description_and_sensitivity),
        T(test_config_types_accept_and_refuse),
        T(test_config_kept_type_rechecks_value),
        T(test_config_type_change_rechecks_value),
        T(test_config_bad_arguments),
        T(test_config_set_inside_transaction),
        T(test_config_secret_never_in_messages),
        T(test_config_unset),
        T(test_config_typed_getters),
        T(test_config_getters_refuse_unreadable_values),
        T(test_config_calls_without_schema),
        T(test_config_kept_type_guard),
        T(test_config_concurrent_first_set),
        T(test_config_concurrent_type_changes),
        T(test_cli_config_set_get_list),
        T(test_cli_config_list_empty_and_unset),
        T(test_cli_config_secrets_masked),
        T(test_cli_config_refused_secret_not_echoed),
        T(test_cli_config_errors),
        T(test_cli_config_help),
        T(test_cli_config_stdin),
    };
    return fx_run_group("configs", tests);
}
