/*
 * test_capabilities.c - versioned capabilities: the semantic-version order
 * (semver.org's own example chain, numbers too long for any integer type,
 * build metadata), register (and its refusals, which write nothing),
 * enable/disable, the newest enabled version, which agents can do a
 * capability, a registration race between real processes, and
 * `optiinfra capability ...`.
 */
#include "harness.h"
#include "race.h"

#include <stdlib.h>
#include <string.h>

static int reg(oi_fixture *fx, const char *agent_id, const char *name, const char *version,
               bool enabled)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    snprintf(c.agent_id, sizeof c.agent_id, "%s", agent_id);
    c.capability_name = (char *)name;
    c.capability_version = (char *)version;
    c.is_enabled = enabled;
    return oi_capability_register(fx->store, &c);
}

static void reg_ok(oi_fixture *fx, const char *agent_id, const char *name, const char *version,
                   bool enabled)
{
    assert_ok(fx, reg(fx, agent_id, name, version, enabled));
}

static void assert_newest(oi_fixture *fx, const char *name, const char *want)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_capability_newest(fx->store, fx->cost_agent.id, name, &c));
    assert_string_equal(c.capability_version, want);
    assert_true(c.is_enabled);
    oi_agent_capability_clear(&c);
}

/* ---- order ------------------------------------------------------------------ */

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void test_semver_order(void **state)
{
    (void)state;
    /* ascending; semver.org section 11's chain, then releases */
    static const char *const chain[] = {
        "0.0.1", "0.9.0", "1.0.0-0", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1",
        "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0", "1.0.1", "1.9.0", "1.10.0", "1.10.1", "2.0.0-rc.1", "2.0.0", "10.0.0",
        "18446744073709551616.0.0", "99999999999999999999999.0.0",
    };
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : i > j;
            if (sign(oi_semver_compare(chain[i], chain[j])) != want)
                fail_msg("compare(%s, %s) = %d, want %d", chain[i], chain[j],
                         oi_semver_compare(chain[i], chain[j]), want);
        }
}

/* Build metadata does not change precedence, but the order stays total. */
static void test_semver_build_metadata(void **state)
{
    (void)state;
    assert_true(oi_semver_compare("1.0.0+b", "1.0.0-rc.1") > 0);
    assert_true(oi_semver_compare("1.0.0+b", "1.0.1") < 0);
    int ab = oi_semver_compare("1.0.0+a", "1.0.0+b");
    assert_true(ab != 0 && sign(ab) == -sign(oi_semver_compare("1.0.0+b", "1.0.0+a")));
    assert_true(oi_semver_compare("1.0.0-rc.1+b", "1.0.0-rc.1+a") > 0);
    assert_true(oi_semver_compare("1.0.0-rc.1+zzz", "1.0.0-rc.2") < 0);
    assert_int_equal(oi_semver_compare("1.2.3+x", "1.2.3+x"), 0);
    /* not valid versions, but still ordered: leading zeros read as numbers */
    assert_true(oi_semver_compare("1.01.0", "1.2.0") < 0);
    assert_true(oi_semver_compare("1.2.0", "1.0010.0") < 0);
    assert_true(oi_semver_compare("1.01.0", "1.1.0") != 0);
}

/* ---- register -------------------------------------------------------------------- */

static void test_capability_register(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.capability_name = "spot_migration";
    c.capability_version = "1.2.0";
    c.description = "Move batch work to spot instances";
    c.parameters = "{\"max_interruption_rate\": 0.05}";
    c.is_enabled = true;
    assert_ok(fx, oi_capability_register(fx->store, &c));
    assert_true(c.id[0] && c.created_at != OI_TIME_NULL);

    oi_agent_capability got = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_agent_capability_get(fx->store, c.id, &got));
    assert_string_equal(got.capability_version, "1.2.0");
    assert_true(got.is_enabled);
    oi_agent_capability_clear(&got);

    reg_ok(fx, fx->cost_agent.id, "spot_migration", "1.10.0", false);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 2);
}

static void test_capability_register_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    reg_ok(fx, agent, "analysis", "1.0.0", true);
    assert_rc(fx, reg(fx, agent, "analysis", "1.0.0", false), OI_EEXISTS);
    assert_contains(oi_errmsg(fx->store), "already has version 1.0.0 of capability 'analysis'");

    static const char *const bad_versions[] = {"1.0", "v1.0.0", "01.0.0", "1.0.0.0", "1.a.0",
                                               "", "1.0.0 "};
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
        assert_rc(fx, reg(fx, agent, "analysis", bad_versions[i], true), OI_EINVALID);
        assert_contains(oi_errmsg(fx->store), "not a semantic version");
    }
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, agent, sizeof c.agent_id);
    c.capability_name = "analysis";
    c.capability_version = "2.0.0";
    c.parameters = "[1, 2]";
    assert_rc(fx, oi_capability_register(fx->store, &c), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "JSON object");

    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    assert_rc(fx, reg(fx, unknown, "analysis", "2.0.0", true), OI_ECONSTRAINT);
    assert_rc(fx, reg(fx, agent, NULL, "2.0.0", true), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 1);
}

/* ---- enable, disable -------------------------------------------------------------- */

static void test_capability_enable_disable(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    reg_ok(fx, agent, "tuning", "1.0.0", true);
    oi_agent_capability before = OI_AGENT_CAPABILITY_INIT, after = OI_AGENT_CAPABILITY_INIT;
    assert_ok(fx, oi_capability_newest(fx->store, agent, "tuning", &before));

    assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.0.0", false, &after));
    assert_false(after.is_enabled);
    assert_string_equal(after.id, before.id);
    assert_true(after.updated_at > before.updated_at);
    assert_true(after.created_at == before.created_at);
    oi_agent_capability_clear(&after);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_capabilities WHERE is_enabled"),
                     0);

    assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.0.0", true, NULL));
    assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.0.0", true, NULL));
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_capabilities WHERE is_enabled"),
                     1);
    oi_agent_capability_clear(&before);

    assert_rc(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.1.0", false, &after),
              OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no version 1.1.0 of capability 'tuning'");
    assert_null(after.capability_name);
    assert_rc(fx, oi_capability_set_enabled(fx->store, agent, "other", "1.0.0", false, NULL),
              OI_ENOTFOUND);
    assert_rc(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.0", false, NULL),
              OI_EINVALID);
    assert_rc(fx, oi_capability_set_enabled(fx->store, agent, NULL, "1.0.0", false, NULL),
              OI_EINVALID);
    assert_rc(fx, oi_capability_set_enabled(fx->store, "x", "tuning", "1.0.0", false, NULL),
              OI_EINVALID);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    assert_rc(fx, oi_capability_set_enabled(fx->store, unknown, "tuning", "1.0.0", false, NULL),
              OI_ENOTFOUND);
}

/* ---- newest ------------------------------------------------------------------------ */

static void test_capability_newest_enabled(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    reg_ok(fx, agent, "tuning", "1.9.0", true);
    reg_ok(fx, agent, "tuning", "1.10.0", true);
    reg_ok(fx, agent, "tuning", "2.0.0", false);
    reg_ok(fx, agent, "other", "9.0.0", true);
    assert_newest(fx, "tuning", "1.10.0"); /* not "1.9.0", as text order would say */

    assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "1.10.0", false, NULL));
    assert_newest(fx, "tuning", "1.9.0");
    reg_ok(fx, agent, "tuning", "2.0.0-rc.1", true);
    assert_newest(fx, "tuning", "2.0.0-rc.1");
    assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", "2.0.0", true, NULL));
    assert_newest(fx, "tuning", "2.0.0");

    static const char *const all[] = {"1.9.0", "1.10.0", "2.0.0", "2.0.0-rc.1"};
    for (size_t i = 0; i < 4; i++)
        assert_ok(fx, oi_capability_set_enabled(fx->store, agent, "tuning", all[i], false, NULL));
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    assert_rc(fx, oi_capability_newest(fx->store, agent, "tuning", &c), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "no enabled version of capability 'tuning'");
    assert_null(c.capability_name);
    assert_rc(fx, oi_capability_newest(fx->store, agent, "never", &c), OI_ENOTFOUND);
    assert_rc(fx, oi_capability_newest(fx->store, agent, NULL, &c), OI_EINVALID);
    assert_rc(fx, oi_capability_newest(fx->store, "x", "tuning", &c), OI_EINVALID);
}

/* ---- which agents --------------------------------------------------------------------- */

static void test_capability_agents(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent b = OI_AGENT_INIT, c = OI_AGENT_INIT, d = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "B agent", &b);
    fx_make_agent(fx, "resource", "A agent", &c); /* sorts first by name */
    fx_make_agent(fx, "application", "D agent", &d);
    reg_ok(fx, fx->cost_agent.id, "analyze", "1.0.0", true);
    reg_ok(fx, fx->cost_agent.id, "analyze", "1.10.0", true);
    reg_ok(fx, fx->cost_agent.id, "analyze", "1.9.0", true);
    reg_ok(fx, fx->cost_agent.id, "analyze", "3.0.0", false);
    reg_ok(fx, b.id, "analyze", "2.0.0", false);
    reg_ok(fx, b.id, "analyze", "0.5.0", true);
    reg_ok(fx, c.id, "analyze", "1.0.0-beta", true);
    reg_ok(fx, d.id, "analyze", "9.0.0", false); /* only disabled: cannot do it */
    reg_ok(fx, d.id, "report", "1.0.0", true);

    fx_capable *items = NULL;
    oi_iter *it = NULL;
    assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "analyze"));
    size_t n = fx_collect_capable(fx, it, &items);
    assert_int_equal(n, 3);
    assert_string_equal(items[0].agent.name, "A agent");
    assert_string_equal(items[0].capability.capability_version, "1.0.0-beta");
    assert_string_equal(items[1].agent.name, "B agent");
    assert_string_equal(items[1].capability.capability_version, "0.5.0");
    assert_string_equal(items[2].agent.name, "Test Cost Agent");
    assert_string_equal(items[2].agent.type, "cost");
    assert_string_equal(items[2].capability.capability_version, "1.10.0");
    assert_string_equal(items[2].capability.agent_id, fx->cost_agent.id);
    assert_string_equal(items[2].capability.capability_name, "analyze");
    fx_free_capable(items, n);

    assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "report"));
    n = fx_collect_capable(fx, it, &items);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].agent.id, d.id);
    fx_free_capable(items, n);

    assert_ok(fx, oi_agent_delete(fx->store, c.id)); /* its capabilities go with it */
    assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "analyze"));
    n = fx_collect_capable(fx, it, &items);
    assert_int_equal(n, 2);
    fx_free_capable(items, n);
    assert_ok(fx, oi_capable_agent_iter_new(&it, fx->store, "nothing"));
    n = fx_collect_capable(fx, it, &items);
    assert_int_equal(n, 0);
    fx_free_capable(items, n);
    it = fx_iter_unset;
    assert_rc(fx, oi_capable_agent_iter_new(&it, fx->store, NULL), OI_EINVALID);
    assert_null(it);
    oi_agent_clear(&b);
    oi_agent_clear(&c);
    oi_agent_clear(&d);
}

/* ---- race -------------------------------------------------------------------------------- */

enum { RACERS = 8 };

/* Registers the same version as every other racer; logs its return code. */
static int register_same(int who, const char *url, void *ctx)
{
    const char *const *args = ctx; /* agent id, log path */
    oi_store *s = NULL;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int rc = oi_store_open(&s, url);
    snprintf(c.agent_id, sizeof c.agent_id, "%s", args[0]);
    c.capability_name = "raced";
    c.capability_version = "1.0.0";
    c.is_enabled = true;
    if (rc == OI_OK)
        rc = oi_capability_register(s, &c);
    oi_store_close(s);
    return race_log(args[1], "%d %d", who, rc) ? 0 : 1;
}

/* Several processes register one (agent, name, version): one wins, the
 * others are told it exists, and there is one row. */
static void test_capability_concurrent_register(void **state)
{
    oi_fixture *fx = FX(state);
    const char *args[] = {fx->cost_agent.id, race_log_path(fx)};
    race_run(fx, RACERS, register_same, (void *)args);
    char *log = race_log_read(fx);
    int who, rc, won = 0, exists = 0, lines = 0, used;
    for (const char *p = log; sscanf(p, "%d %d\n%n", &who, &rc, &used) == 2; p += used) {
        lines++;
        won += rc == OI_OK;
        exists += rc == OI_EEXISTS;
    }
    free(log);
    assert_int_equal(lines, RACERS);
    assert_int_equal(won, 1);
    assert_int_equal(exists, RACERS - 1);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 1);
}

/* ---- the CLI ------------------------------------------------------------------------------ */

#define AGENT "Test Cost Agent"

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

#define cli_expect(fx, code, ...)                            \
    do {                                                     \
        fx_run r_;                                           \
        fx_cli((fx), &r_, __VA_ARGS__, (char *)NULL);        \
        assert_exit(&r_, (code));                            \
        fx_run_free(&r_);                                    \
    } while (0)

static void test_cli_capability_lifecycle(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "capability", "register", AGENT, "spot", "1.9.0", "--description",
           "spot moves", "--parameters", "{\"rate\": 0.05}", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": spot 1.9.0 registered (enabled)\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "register", AGENT, "spot", "1.10.0", "--disabled", "--json",
           (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    assert_true(json_is_object(json_object_get(j, "parameters")));
    assert_string_equal(json_string_value(json_object_get(j, "version")), "1.10.0");
    json_decref(j);
    fx_run_free(&r);

    fx_cli(fx, &r, "capability", "newest", AGENT, "spot", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, "1.9.0\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "enable", AGENT, "spot", "1.10.0", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, AGENT ": spot 1.10.0 enabled\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "newest", AGENT, "spot", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "1.10.0");
    json_decref(j);
    fx_run_free(&r);

    fx_cli(fx, &r, "capability", "list", AGENT, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "NAME  VERSION  ENABLED  DESCRIPTION\n"
                           "spot  1.9.0    yes      spot moves\n"
                           "spot  1.10.0   yes      -\n");
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "disable", AGENT, "spot", "1.9.0", "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    assert_true(json_object_get(json_object_get(j, "parameters"), "rate") != NULL);
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "list", AGENT, "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "version")),
                        "1.10.0");
    json_decref(j);
    fx_run_free(&r);

    cli_expect(fx, 0, "capability", "disable", AGENT, "spot", "1.10.0");
    fx_cli(fx, &r, "capability", "newest", AGENT, "spot", (char *)NULL);
    assert_exit(&r, 4);
    assert_string_equal(r.out, "");
    assert_contains(r.err, "no enabled version");
    fx_run_free(&r);
}

static void test_cli_capability_agents(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "Another Agent", &other);
    reg_ok(fx, fx->cost_agent.id, "analyze", "1.9.0", true);
    reg_ok(fx, fx->cost_agent.id, "analyze", "1.10.0", true);
    reg_ok(fx, other.id, "analyze", "0.1.0", true);
    fx_run r;
    fx_cli(fx, &r, "capability", "agents", "analyze", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "AGENT            TYPE         VERSION  STATUS  HEARTBEAT\n");
    assert_contains(r.out, "Another Agent    performance  0.1.0    active  ");
    assert_contains(r.out, "Test Cost Agent  cost         1.10.0   active  ");
    assert_true(strstr(r.out, "Another") < strstr(r.out, "Test Cost"));
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "agents", "analyze", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 2);
    json_t *second = json_array_get(j, 1);
    assert_string_equal(json_string_value(json_object_get(second, "agent_id")),
                        fx->cost_agent.id);
    assert_string_equal(json_string_value(json_object_get(second, "version")), "1.10.0");
    assert_true(json_is_integer(json_object_get(second, "heartbeat_age_seconds")));
    assert_string_equal(json_string_value(fx_json_at(second, "capability.name")), "analyze");
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "agents", "nobody-can", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No agent has an enabled version of nobody-can");
    fx_run_free(&r);
    fx_cli(fx, &r, "capability", "agents", "nobody-can", "--json", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, "[]\n");
    fx_run_free(&r);
    oi_agent_clear(&other);
}

static void test_cli_capability_errors(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    cli_expect(fx, 0, "capability", "register", AGENT, "x", "1.0.0");
    fx_cli(fx, &r, "capability", "register", AGENT, "x", "1.0.0", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "already has version 1.0.0");
    fx_run_free(&r);
    cli_expect(fx, 3, "capability", "register", AGENT, "x", "1.0");
    cli_expect(fx, 3, "capability", "register", AGENT, "x", "2.0.0", "--parameters", "[]");
    cli_expect(fx, 3, "capability", "register", AGENT, "x", "2.0.0", "--parameters", "{bad");
    cli_expect(fx, 4, "capability", "register", "nobody", "x", "2.0.0");
    fx_cli(fx, &r, "capability", "enable", AGENT, "x", "9.9.9", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "capability list");
    fx_run_free(&r);
    cli_expect(fx, 4, "capability", "disable", "nobody", "x", "1.0.0");
    cli_expect(fx, 3, "capability", "disable", AGENT, "x", "1");
    cli_expect(fx, 4, "capability", "list", "nobody");
    cli_expect(fx, 4, "capability", "newest", "nobody", "x");
    cli_expect(fx, 2, "capability", "register", AGENT, "x");
    cli_expect(fx, 2, "capability", "newest", AGENT);
    cli_expect(fx, 2, "capability", "agents");
    cli_expect(fx, 2, "capability", "list", AGENT, "--disabled");
    cli_expect(fx, 2, "capability", "frobnicate");
    assert_int_equal(fx_count(fx, "agent_capabilities"), 1);

    fx_cli(fx, &r, "capability", "list", AGENT, (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
    oi_agent empty = OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "Empty Agent", &empty);
    fx_cli(fx, &r, "capability", "list", "Empty Agent", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "has no capabilities");
    fx_run_free(&r);
    oi_agent_clear(&empty);
}

static void test_cli_capability_help(void **state)
{
    oi_fixture *fx = FX(state);
    const char *commands[][2] = {{"register", "--parameters"}, {"enable", "VERSION"},
                                 {"disable", "never the newest"}, {"list", "1.9.0 before"},
                                 {"newest", "Exit 4"}, {"agents", "HEARTBEAT"}};
    for (size_t i = 0; i < 6; i++) {
        fx_run r;
        fx_cli_raw(fx, &r, "capability", commands[i][0], "--help", (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra capability");
        assert_contains(r.out, commands[i][1]);
        assert_contains(r.out, "Example");
        fx_run_free(&r);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_capability_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semver_order),
        cmocka_unit_test(test_semver_build_metadata),
        T(test_capability_register),
        T(test_capability_register_refusals),
        T(test_capability_enable_disable),
        T(test_capability_newest_enabled),
        T(test_capability_agents),
        T(test_capability_concurrent_register),
        T(test_cli_capability_lifecycle),
        T(test_cli_capability_agents),
        T(test_cli_capability_errors),
        T(test_cli_capability_help),
    };
    return fx_run_group("capabilities", tests);
}
