/*
 * test_cli.c - the optiinfra command run as a user runs it: a child process
 * (OI_TEST_CLI, default build/optiinfra) on the test's database, its
 * output and exit code checked.  Exit codes are the CLI's documented ones
 * (`optiinfra --help`): 1 checks failed, 2 usage, 4 not found, 5 connect,
 * 6 schema.  Command lines built at run time go through fx_cli_argv().
 */
#include "harness.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

static void cli_ok(oi_fixture *fx, const char *a, const char *b)
{
    fx_run r;
    fx_cli(fx, &r, a, b, (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
}

static const char *const core_agents[] = {"Cost Optimizer", "Performance Tuner",
                                          "Resource Allocator", "Application Monitor"};

static void test_cli_version(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli_raw(fx, &r, "--version", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, OPTIINFRA_VERSION);
    assert_string_equal(r.err, "");
    fx_run_free(&r);
}

static void test_cli_help(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli_raw(fx, &r, "--help", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Usage");
    assert_contains(r.out, "db upgrade");
    assert_contains(r.out, "seed");
    assert_contains(r.out, "--database-url");
    assert_string_equal(r.err, "");
    fx_run_free(&r);
}

static void test_cli_db_upgrade_and_current(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL));
    fx_run r;
    fx_cli(fx, &r, "db", "upgrade", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "002_agent_state_tables");
    assert_contains(r.out, oi_migrate_head());
    fx_run_free(&r);
    const char *cur = NULL;
    assert_ok(fx, oi_migrate_current(fx->store, &cur));
    assert_string_equal(cur, oi_migrate_head());

    char head_line[80];
    snprintf(head_line, sizeof head_line, "%s (head)", oi_migrate_head());
    fx_cli(fx, &r, "db", "current", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, head_line);
    fx_run_free(&r);
}

static void test_cli_db_sql_mode_and_downgrade(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "db", "downgrade", "-6", (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
    const char *cur = NULL;
    assert_ok(fx, oi_migrate_current(fx->store, &cur));
    assert_string_equal(cur, "002_agent_state_tables");

    fx_cli(fx, &r, "db", "upgrade", "--sql", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "CREATE TABLE");
    assert_contains(r.out, "resource_locks");
    assert_contains(r.out, "api_tokens");
    assert_contains(r.out, "change_log");
    fx_run_free(&r);
    assert_ok(fx, oi_migrate_current(fx->store, &cur));
    assert_string_equal(cur, "002_agent_state_tables"); /* --sql executes nothing */
    assert_int_equal(fx_user_tables(fx), 10);
}

static void test_cli_database_url_from_environment(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    setenv("OPTIINFRA_DATABASE_URL", fx->url, 1);
    fx_cli_raw(fx, &r, "db", "current", (char *)NULL);
    unsetenv("OPTIINFRA_DATABASE_URL");
    assert_exit(&r, 0);
    assert_contains(r.out, oi_migrate_head());
    assert_contains(r.out, "(head)");
    fx_run_free(&r);
}

static void test_cli_schema_not_at_head(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "002_agent_state_tables", NULL, NULL, NULL));
    fx_run r;
    fx_cli(fx, &r, "agents", (char *)NULL);
    assert_exit(&r, 6);
    assert_contains(r.err, "002_agent_state_tables");
    fx_run_free(&r);
}

static void test_cli_seed_validate_agents(void **state)
{
    oi_fixture *fx = FX(state);
    cli_ok(fx, "seed", NULL);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 11);
    cli_ok(fx, "validate", NULL);

    fx_run r;
    fx_cli(fx, &r, "agents", (char *)NULL);
    assert_exit(&r, 0);
    for (size_t i = 0; i < 4; i++)
        assert_contains(r.out, core_agents[i]);
    fx_run_free(&r);

    fx_cli(fx, &r, "agents", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *list = fx_json(r.out);
    assert_int_equal(json_array_size(list), 4);
    json_decref(list);
    fx_run_free(&r);
}

static void test_cli_validate_fails_without_seed(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "validate", (char *)NULL);
    assert_exit(&r, 1);
    fx_run_free(&r);
}

static void test_cli_agent_show(void **state)
{
    oi_fixture *fx = FX(state);
    cli_ok(fx, "seed", NULL);
    fx_run r;
    fx_cli(fx, &r, "agent", "show", "Cost Optimizer", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "cost_threshold_usd");
    assert_contains(r.out, "1000");
    assert_contains(r.out, "spot_instance_recommendation");
    fx_run_free(&r);
}

static void test_cli_sensitive_config_masked(void **state)
{
    oi_fixture *fx = FX(state);
    cli_ok(fx, "seed", NULL);
    oi_agent cost = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_find(fx->store, "cost", "Cost Optimizer", &cost));
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    memcpy(c.agent_id, cost.id, sizeof c.agent_id);
    c.config_key = "billing_api_key";
    c.config_value = "sk-live-SECRET123";
    c.is_sensitive = true;
    assert_ok(fx, oi_agent_config_create(fx->store, &c));

    fx_run r;
    fx_cli(fx, &r, "agent", "show", "Cost Optimizer", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "billing_api_key");
    assert_not_contains(r.out, "SECRET123");
    assert_not_contains(r.err, "SECRET123");
    fx_run_free(&r);

    fx_cli(fx, &r, "agent", "show", cost.id, "--json", (char *)NULL);
    assert_exit(&r, 0);
    assert_not_contains(r.out, "SECRET123");
    assert_contains(r.out, "billing_api_key");
    fx_run_free(&r);
    oi_agent_clear(&cost);
}

static void test_cli_unknown_command(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "frobnicate", (char *)NULL);
    assert_exit(&r, 2);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_not_contains(r.err, "frobnicate"); /* it may be a secret: named by position */
    assert_string_equal(r.out, "");
    fx_run_free(&r);
}

static void test_cli_agent_show_nobody(void **state)
{
    oi_fixture *fx = FX(state);
    cli_ok(fx, "seed", NULL);
    fx_run r;
    fx_cli(fx, &r, "agent", "show", "nobody", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "nobody");
    fx_run_free(&r);
}

static void test_cli_seed_state_needs_core(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "seed", "state", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "seed core");
    fx_run_free(&r);
    assert_int_equal(fx_count(fx, "agent_configs"), 0);
}

static void test_cli_password_never_shown(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli_raw(fx, &r, "--database-url", "postgresql://u:secretpw@127.0.0.1:1/db", "db",
               "current", (char *)NULL);
    assert_exit(&r, 5);
    assert_not_contains(r.out, "secretpw");
    assert_not_contains(r.err, "secretpw");
    assert_true(strlen(r.err) > 0);
    fx_run_free(&r);
}

/* ---- libraries loaded on first use (src/dynlib.h) ------------------------- */

/* The CLI's stderr with the dynamic linker's trace of the files it loads
 * (LD_DEBUG=files: "file=libpq.so.5 [0];  dynamically loaded by ..."). */
static void cli_traced(oi_fixture *fx, fx_run *r, const char *url)
{
    setenv("LD_DEBUG", "files", 1);
    fx_cli_raw(fx, r, "--database-url", url, "db", "current", (char *)NULL);
    unsetenv("LD_DEBUG");
    assert_contains(r->err, "file=libsqlite3.so.0"); /* the trace is on */
}

/* A CLI on SQLite maps neither libpq nor libmicrohttpd; one given a
 * PostgreSQL URL loads libpq, even when the server is not there. */
static void test_cli_loads_libpq_for_postgresql_only(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    cli_traced(fx, &r, fx->url);
    assert_exit(&r, 0);
    assert_not_contains(r.err, "libmicrohttpd");
    if (fx_is_pg())
        assert_contains(r.err, "file=libpq.so.5");
    else
        assert_not_contains(r.err, "libpq");
    fx_run_free(&r);

    cli_traced(fx, &r, "postgresql://127.0.0.1:1/db");
    assert_exit(&r, 5);
    assert_contains(r.err, "file=libpq.so.5");
    fx_run_free(&r);
}

/* The file the dynamic linker loads for soname (a link: where it points). */
static void library_path(const char *soname, const char *function, char *path, size_t size)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    Dl_info info;
    assert_non_null(lib);
    assert_true(dladdr(dlsym(lib, function), &info) != 0);
    assert_non_null(realpath(info.dli_fname, path));
    assert_true(strlen(path) < size);
}

/* Run `optiinfra --database-url url args` with the library of soname
 * replaced by an empty file, in a mount namespace of its own (unshare -m,
 * root only): false when that cannot be set up. */
static bool cli_without(oi_fixture *fx, fx_run *r, const char *soname, const char *function,
                        const char *url, const char *args)
{
    char lib[PATH_MAX], empty[300], out[300], err[300], script[600];
    library_path(soname, function, lib, sizeof lib);
    snprintf(empty, sizeof empty, "%s/empty.so", fx->dir);
    snprintf(out, sizeof out, "%s/without.out", fx->dir);
    snprintf(err, sizeof err, "%s/without.err", fx->dir);
    fclose(fopen(empty, "w"));
    snprintf(script, sizeof script,
             "mount --bind \"$1\" \"$2\" 2>/dev/null || exit 77; "
             "exec timeout 60 \"$3\" --database-url \"$4\" %s", args);
    const char *const argv[] = { "/usr/bin/unshare", "--mount", "sh", "-c", script, "sh",
                                 empty, lib, fx_cli_path(), url, NULL };
    int status;
    assert_true(waitpid(fx_spawn(argv, out, err), &status, 0) > 0);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = fx_slurp(out);
    r->err = fx_slurp(err);
    if (r->status != 77 && !strstr(r->err, "unshare"))
        return true;
    fx_run_free(r);
    return false;
}

/* Without libpq: PostgreSQL says what to install, exit 5 (cannot connect);
 * SQLite works as ever.  Without libmicrohttpd: serve says what to install,
 * exit 8. */
static void test_cli_missing_library_one_line(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    if (!cli_without(fx, &r, "libpq.so.5", "PQlibVersion", fx->url, "db current"))
        fx_skip("needs root to mount over a library in a namespace (unshare -m)");
    if (fx_is_pg()) {
        assert_exit(&r, 5);
        assert_int_equal(fx_count_lines(r.err), 1);
        assert_contains(r.err, "cannot load libpq.so.5 (PostgreSQL support): ");
        assert_contains(r.err, "install the Debian package libpq5");
    } else {
        assert_exit(&r, 0);
        assert_contains(r.out, "(head)");
    }
    fx_run_free(&r);

    assert_true(cli_without(fx, &r, "libmicrohttpd.so.12", "MHD_start_daemon", fx->url,
                            "serve --listen 127.0.0.1:0"));
    assert_exit(&r, 8);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_contains(r.err, "cannot load libmicrohttpd.so.12 (the HTTP service): ");
    assert_contains(r.err, "install the Debian package libmicrohttpd12");
    fx_run_free(&r);
}

/* ---- long command lines ------------------------------------------------- */

enum { MANY = 40 }; /* values of one option: past the parser's old limit of 32 in all */

/* `metrics query --json --limit 0` with `option` given n times, once per
 * value, as "--opt VALUE" (even i) or "--opt=VALUE" (odd i): the metric
 * values of the rows returned, in order, as "1,2,3", into got. */
static void query_values(oi_fixture *fx, const char *option, char values[][16], size_t n,
                         char *got, size_t size)
{
    static const char *const head[] = { "metrics", "query", "--json", "--limit", "0" };
    size_t nhead = sizeof head / sizeof *head, nargs = nhead;
    const char **args = calloc(nhead + 2 * n, sizeof *args);
    char (*joined)[64] = calloc(n, sizeof *joined);
    assert_true(args && joined);
    memcpy(args, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 0) {
            args[nargs++] = option;
            args[nargs++] = values[i];
        } else {
            snprintf(joined[i], sizeof joined[i], "%s=%s", option, values[i]);
            args[nargs++] = joined[i];
        }
    }
    fx_run r;
    fx_cli_argv(fx, &r, true, args, nargs);
    assert_exit(&r, 0);
    json_t *doc = fx_json(r.out), *rows = fx_json_at(doc, "rows");
    size_t len = 0;
    got[0] = '\0';
    for (size_t i = 0; i < json_array_size(rows); i++)
        len += (size_t)snprintf(got + len, size - len, "%s%g", i ? "," : "",
                                json_real_value(fx_json_at(json_array_get(rows, i),
                                                           "metric_value")));
    json_decref(doc);
    fx_run_free(&r);
    free(joined);
    free(args);
}

/*
 * Every value of a repeated option reaches the command, however many: 40
 * --where conditions select the one row that meets them all, where 40
 * decoys each miss exactly one (dropping any condition lets its decoy
 * through), and 40 --name values select the 40 decoys by name (dropping
 * any loses its row).  The parser used to refuse more than 32 values.
 */
static void test_cli_repeated_options_all_kept(void **state)
{
    oi_fixture *fx = FX(state);
    char conditions[MANY][16], names[MANY][16], metadata[MANY + 1][MANY * 24];
    oi_agent_metric items[MANY + 1];
    oi_time t0 = 0;
    assert_int_equal(oi_time_parse("2026-05-01T12:00:00Z", &t0), OI_OK);
    for (size_t row = 0; row <= MANY; row++)
        items[row] = (oi_agent_metric)OI_AGENT_METRIC_INIT;
    for (size_t row = 0; row <= MANY; row++) {  /* row MANY meets every condition */
        size_t len = 0;
        for (size_t k = 0; k < MANY; k++)
            len += (size_t)snprintf(metadata[row] + len, sizeof metadata[row] - len,
                                    "%s\"k%02zu\": \"%s\"", k ? ", " : "{", k,
                                    k == row ? "other" : "yes");
        snprintf(metadata[row] + len, sizeof metadata[row] - len, "}");
        if (row < MANY)
            snprintf(names[row], sizeof names[row], "m%02zu", row);
        memcpy(items[row].agent_id, fx->cost_agent.id, sizeof items[row].agent_id);
        items[row].metric_name = row < MANY ? names[row] : "m_all";
        items[row].metric_value = row < MANY ? (double)row : 1000;
        items[row].metric_unit = "count";
        items[row].collection_timestamp = t0 + (oi_time)row * 1000000; /* rows in order */
        items[row].metadata = metadata[row];
    }
    assert_ok(fx, fx_record_batch(fx->store, items, MANY + 1));
    for (size_t k = 0; k < MANY; k++)
        snprintf(conditions[k], sizeof conditions[k], "k%02zu=yes", k);

    char got[1024], want[1024];
    query_values(fx, "--where", conditions, MANY, got, sizeof got);
    assert_string_equal(got, "1000");

    query_values(fx, "--name", names, MANY, got, sizeof got);
    size_t len = 0;
    for (size_t i = 0; i < MANY; i++)
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%zu", i ? "," : "", i);
    assert_string_equal(got, want);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int run_cli_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cli_version),
        T(test_cli_help),
        T(test_cli_db_upgrade_and_current),
        T(test_cli_db_sql_mode_and_downgrade),
        T(test_cli_database_url_from_environment),
        T(test_cli_schema_not_at_head),
        T(test_cli_seed_validate_agents),
        T(test_cli_validate_fails_without_seed),
        T(test_cli_agent_show),
        T(test_cli_sensitive_config_masked),
        T(test_cli_unknown_command),
        T(test_cli_agent_show_nobody),
        T(test_cli_seed_state_needs_core),
        T(test_cli_password_never_shown),
        T(test_cli_loads_libpq_for_postgresql_only),
        T(test_cli_missing_library_one_line),
        cmocka_unit_test_setup_teardown(test_cli_repeated_options_all_kept, fx_setup_agent,
                                        fx_teardown),
    };
    return fx_run_group("cli", tests);
}
