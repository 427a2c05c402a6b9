/*
 * test_secrets.c - nothing leaked, nothing hidden, nothing dropped: the
 * CLI's output is checked for secrets, for what a failed report leaves
 * unsaid, and for records a JSON view could drop or a terminal could obey.
 *
 *   - URLs: a PostgreSQL URL the user mistyped (an unencoded '/', '@', '?'
 *     or '#' in its password, a scheme missing a slash) is refused before
 *     libpq sees it, and no part of it is shown; libpq's own messages are
 *     shown whole, not garbled by masking a short password's letters.
 *   - Options: an unknown option or an extra argument is named by its
 *     position, never echoed (a secret given without its option).
 *   - Sensitive config values: masked in every output that is not asked
 *     for them (validate's details included).
 *   - A report that cannot be written after a commit (stdout on /dev/full)
 *     says what was committed.
 *   - Text that is not UTF-8 (SQLite lets another client write it) is
 *     shown with U+FFFD (the CLI adds a warning; the service's answer
 *     carries no more), and its export imports back; a control character
 *     is shown escaped in text output and error lines, and nothing a
 *     command prints reaches a terminal as a control character.
 *   - Last, after every other group (fx_summary() runs this group), the
 *     output log of the whole run (harness.h) holds none of the known
 *     secrets: the tests' sensitive values, the tokens they created (and
 *     no token-shaped text at all: a test may make one through the
 *     library), the PostgreSQL password.
 */
#include "harness.h"
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define COST "Cost Optimizer"

static void assert_exit_code(const fx_run *r, int want)
{
    if (r->status == want)
        return;
    print_error("exit %d, expected %d\nstdout: %s\nstderr: %s\n", r->status, want, r->out,
                r->err);
    fail();
}

/* ---- URLs -------------------------------------------------------------------- */

/* Each is refused with exit 3 before any connection, in one line that shows
 * no part of the URL. */
static void test_secrets_url_userinfo_refused_unshown(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct {
        const char *url, *secret, *advice;
    } cases[] = {
        {"postgres://u:S3/cret@h/db", "S3/cret", "%2F"},
        {"postgresql://u:S3@cret@h/db", "S3@cret", "%40"},
        {"postgres://u:S3?cret@h/db", "cret@h", "%3F"},
        {"postgres://u:S3#cret@h/db", "cret@h", "%23"},
        {"postgres:/u:S3cret@h/db", "S3cret", "postgresql://"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fx_run r;
        fx_cli_raw(fx, &r, "--database-url", cases[i].url, "db", "current", (char *)NULL);
        assert_exit_code(&r, 3);
        assert_int_equal(fx_count_lines(r.err), 1);
        assert_not_contains(r.err, cases[i].secret);
        assert_not_contains(r.err, "u:S3");
        assert_not_contains(r.err, "@h/");
        assert_contains(r.err, cases[i].advice);
        assert_string_equal(r.out, "");
        fx_run_free(&r);
    }
}

/* A one-letter password is not masked wherever its letter occurs: libpq's
 * message about a refused connection reads as libpq wrote it. */
static void test_secrets_short_password_does_not_garble(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli_raw(fx, &r, "--database-url", "postgresql://u:a@127.0.0.1:1/db?connect_timeout=5",
               "db", "current", (char *)NULL);
    assert_exit_code(&r, 5);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_contains(r.err, "127.0.0.1");
    assert_contains(r.err, "failed");
    assert_not_contains(r.err, "***");
    assert_not_contains(r.err, "u:a@");
    fx_run_free(&r);
}

/* ---- options ----------------------------------------------------------------- */

static void test_secrets_unknown_option_not_echoed(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "agents", "--stale-aftr=tok-Zr81", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_not_contains(r.err, "tok-Zr81");
    assert_not_contains(r.err, "aftr");
    assert_contains(r.err, "argument 4");            /* after --database-url URL */
    assert_contains(r.err, "did you mean --stale-after?");
    assert_contains(r.err, "`optiinfra agents` takes --stale, --stale-after");
    fx_run_free(&r);

    fx_cli(fx, &r, "agents", "-tok-Zr81", (char *)NULL); /* no near miss */
    assert_exit_code(&r, 2);
    assert_not_contains(r.err, "tok-Zr81");
    assert_not_contains(r.err, "did you mean");
    fx_run_free(&r);

    fx_cli_raw(fx, &r, "--databse-url=tok-Zr81", "agents", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_not_contains(r.err, "tok-Zr81");
    assert_contains(r.err, "argument 1");
    assert_contains(r.err, "did you mean --database-url?");
    fx_run_free(&r);
}

static void test_secrets_unexpected_argument_not_echoed(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "agents", "tok-Zr81", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_not_contains(r.err, "tok-Zr81");
    assert_contains(r.err, "argument 4");
    assert_contains(r.err, "usage: optiinfra agents");
    fx_run_free(&r);

    fx_cli(fx, &r, "tok-Zr81", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_not_contains(r.err, "tok-Zr81");
    fx_run_free(&r);

    fx_cli(fx, &r, "seed", "tok-Zr81", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_not_contains(r.err, "tok-Zr81");
    assert_contains(r.err, "unknown seed (argument 4, not shown)");
    fx_run_free(&r);

    fx_cli(fx, &r, "db", "upgade", (char *)NULL);
    assert_exit_code(&r, 2);
    assert_not_contains(r.err, "upgade");
    assert_contains(r.err, "did you mean `db upgrade`?");
    fx_run_free(&r);
}

/* ---- sensitive config values --------------------------------------------------- */

/* The Cost Optimizer with the seed's configs, one of them made sensitive. */
static void seed_with_secret(oi_fixture *fx)
{
    fx_run r;
    fx_cli(fx, &r, "seed", (char *)NULL);
    assert_exit_code(&r, 0);
    fx_run_free(&r);
    oi_agent cost = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_find(fx->store, "cost", COST, &cost));
    assert_ok(fx, oi_config_set(fx->store, cost.id, "cost_threshold_usd", FX_SECRET_OWN,
                                "string", NULL, OI_SENSITIVE_YES, NULL));
    oi_agent_clear(&cost);
}

static void expect_masked(oi_fixture *fx, int want_exit, const char *const *args, size_t n)
{
    fx_run r;
    fx_cli_argv(fx, &r, true, args, n);
    assert_exit_code(&r, want_exit);
    assert_not_contains(r.out, FX_SECRET_OWN);
    assert_not_contains(r.err, FX_SECRET_OWN);
    fx_run_free(&r);
}

#define EXPECT_MASKED(fx, code, ...)                                                  \
    do {                                                                              \
        const char *const args_[] = {__VA_ARGS__};                                    \
        expect_masked(fx, code, args_, sizeof args_ / sizeof *args_);                 \
    } while (0)

static void test_secrets_sensitive_values_masked(void **state)
{
    oi_fixture *fx = FX(state);
    seed_with_secret(fx);
    /* validate reports the cost configs' values; the seed's checks still pass */
    EXPECT_MASKED(fx, 0, "validate");
    EXPECT_MASKED(fx, 0, "validate", "--json");
    oi_validation *v = NULL; /* masked by the library itself, for every caller */
    assert_ok(fx, oi_validate(fx->store, &v));
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const char *detail = oi_validation_check(v, i)->detail;
        assert_not_contains(detail ? detail : "", FX_SECRET_OWN);
    }
    oi_validation_free(v);
    EXPECT_MASKED(fx, 0, "config", "list", COST);
    EXPECT_MASKED(fx, 0, "config", "list", COST, "--json");
    EXPECT_MASKED(fx, 0, "config", "get", COST, "cost_threshold_usd");
    EXPECT_MASKED(fx, 0, "agent", "show", COST);
    EXPECT_MASKED(fx, 0, "--json", "agent", "show", COST);
    EXPECT_MASKED(fx, 0, "config", "set", COST, "cost_threshold_usd", FX_SECRET_OWN "2");

    fx_run r; /* asked for: shown (and left out of the output log) */
    fx_cli(fx, &r, "config", "get", COST, "cost_threshold_usd", "--show-secrets", (char *)NULL);
    assert_exit_code(&r, 0);
    assert_string_equal(r.out, FX_SECRET_OWN "2\n");
    fx_run_free(&r);
}

/* ---- a report that cannot be written ------------------------------------------ */

/* Run the CLI on fx's database with stdout on /dev/full; stderr is kept,
 * and goes to the output log like every run's. */
static void run_to_full_disk(oi_fixture *fx, fx_run *run, const char *const *args, size_t n)
{
    static int seq;
    const char *argv[16] = {fx_cli_path(), "--database-url", fx->url};
    size_t argc = 3;
    for (size_t i = 0; i < n && argc < 15; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    char err_path[320];
    snprintf(err_path, sizeof err_path, "%s/full-%d.err", fx->dir, ++seq);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open("/dev/full", O_WRONLY);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run->out = strdup("");
    run->err = fx_slurp(err_path);
    fx_output_log(strrchr(err_path, '/') + 1, run->err);
}

#define RUN_TO_FULL(fx, run, ...)                                                     \
    do {                                                                              \
        const char *const args_[] = {__VA_ARGS__};                                    \
        run_to_full_disk(fx, run, args_, sizeof args_ / sizeof *args_);               \
    } while (0)

static void test_secrets_outcome_said_when_stdout_fails(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    RUN_TO_FULL(fx, &r, "seed");
    assert_exit_code(&r, 8);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_contains(r.err, "seeded core (14 rows created) and state (39 rows created) "
                           "(committed); then writing the report to standard output failed: "
                           "No space left on device");
    assert_int_equal(fx_count(fx, "agent_metrics"), 12);
    fx_run_free(&r);

    char csv[300];
    snprintf(csv, sizeof csv, "%s/m.csv", fx->dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata\n", f);
    for (int i = 0; i < 12; i++)
        fprintf(f, COST ",full_disk,%d,,2026-01-01T00:00:%02dZ,\n", i, i);
    fclose(f);
    RUN_TO_FULL(fx, &r, "metrics", "import", csv);
    assert_exit_code(&r, 8);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_contains(r.err, "imported 12 rows in 1 batch (committed); then writing the report "
                           "to standard output failed: No space left on device; importing "
                           "the same rows again would duplicate them");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_metrics "
                                    "WHERE metric_name = 'full_disk'"), 12);
    fx_run_free(&r);

    RUN_TO_FULL(fx, &r, "--json", "metrics", "import", csv);
    assert_exit_code(&r, 8);
    assert_contains(r.err, "imported 12 rows in 1 batch (committed)");
    fx_run_free(&r);

    /* a command that records no outcome of its own: the general line */
    RUN_TO_FULL(fx, &r, "config", "set", COST, "full_disk", "1");
    assert_exit_code(&r, 8);
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_contains(r.err, "writing to standard output failed: No space left on device; "
                           "the command had run to its end, so any change it made is committed");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_configs "
                                    "WHERE config_key = 'full_disk'"), 1);
    fx_run_free(&r);
}

/* ---- text that is not UTF-8; control characters ---------------------------------- */

/* "bad" and the byte 0xFF, written around the library (SQLite keeps any
 * bytes in a TEXT column; PostgreSQL refuses them, so SQLite only). */
static void test_secrets_invalid_utf8_shown_not_dropped(void **state)
{
    oi_fixture *fx = FX(state);
    if (fx_is_pg())
        fx_skip("PostgreSQL stores no invalid UTF-8");
    fx_run r;
    fx_cli(fx, &r, "seed", (char *)NULL);
    assert_exit_code(&r, 0);
    fx_run_free(&r);
    long long id = fx_sql_int(fx, "SELECT min(id) FROM agent_metrics");
    fx_sql_exec(fx, "UPDATE agent_metrics SET metric_unit = CAST(X'626164FF' AS TEXT) "
                    "WHERE id = (SELECT min(id) FROM agent_metrics)");

    fx_cli(fx, &r, "metrics", "query", "--json", (char *)NULL);
    assert_exit_code(&r, 0);
    json_t *j = fx_json(r.out);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 12);
    assert_string_equal(json_string_value(fx_json_at(rows, "0.metric_unit")), "bad\xEF\xBF\xBD");
    json_decref(j);
    char line[200];
    snprintf(line, sizeof line, "warning: metric_unit of record %lld is not valid UTF-8", id);
    assert_contains(r.err, line);
    assert_int_equal(fx_count_lines(r.err), 1);
    fx_run_free(&r);

    /* text output: the byte escaped */
    fx_cli(fx, &r, "metrics", "query", (char *)NULL);
    assert_exit_code(&r, 0);
    assert_contains(r.out, "bad\\xff");
    assert_null(strchr(r.out, '\xff'));
    fx_run_free(&r);

    /* the service answers the same view: the row, with U+FFFD (no header) */
    fx_server srv;
    fx_http h;
    fx_server_start(fx, &srv, NULL);
    fx_get(&srv, &h, "/v1/metrics?limit=0");
    assert_status(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "metrics")), 12);
    assert_non_null(strstr(h.body, "\"bad\xEF\xBF\xBD\""));
    fx_http_free(&h);
    assert_int_equal(fx_server_stop(&srv), 0);

    /* the export repairs the same way, in both formats, so that it imports
     * back: both exported first, then both imported, 12 rows each */
    static const char *const formats[] = {"csv", "ndjson"};
    char paths[2][300];
    for (size_t i = 0; i < 2; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/export.%s", fx->dir, formats[i]);
        fx_cli(fx, &r, "metrics", "export", "--format", formats[i], (char *)NULL);
        assert_exit_code(&r, 0);
        assert_null(strchr(r.out, '\xff'));
        FILE *f = fopen(paths[i], "w");
        assert_non_null(f);
        fputs(r.out, f);
        fclose(f);
        fx_run_free(&r);
    }
    for (size_t i = 0; i < 2; i++) {
        fx_cli(fx, &r, "metrics", "import", paths[i], "--format", formats[i], (char *)NULL);
        assert_exit_code(&r, 0);
        assert_contains(r.out, "Imported 12 rows");
        fx_run_free(&r);
    }
    assert_int_equal(fx_count(fx, "agent_metrics"), 36);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_metrics WHERE metric_unit = "
                                    "CAST(X'626164EFBFBD' AS TEXT)"), 2);
}

/* A terminal escape and a bell in an agent's name (written around the
 * library, which refuses them) are shown escaped in text, as they are in
 * JSON. */
static void test_secrets_control_characters_escaped(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "seed", "core", (char *)NULL);
    assert_exit_code(&r, 0);
    fx_run_free(&r);
    fx_sql_exec(fx, fx_is_pg()
        ? "UPDATE agents SET name = E'Cost\\x1b[31mRed\\x07' WHERE type = 'cost'"
        : "UPDATE agents SET name = 'Cost' || char(27) || '[31mRed' || char(7) "
          "WHERE type = 'cost'");
    fx_cli(fx, &r, "agents", (char *)NULL);
    assert_exit_code(&r, 0);
    assert_contains(r.out, "Cost\\x1b[31mRed\\x07");
    assert_null(strchr(r.out, '\x1b'));
    assert_null(strchr(r.out, '\x07'));
    fx_run_free(&r);

    /* an error line that quotes a value escapes it too */
    fx_cli(fx, &r, "agent", "show", "Nobody\x1b[2J", (char *)NULL);
    assert_true(r.status == 3 || r.status == 4); /* no such name, or not a name at all */
    assert_int_equal(fx_count_lines(r.err), 1);
    assert_null(strchr(r.err, '\x1b'));
    fx_run_free(&r);
}

/* The CLI on fx's database with a terminal (a pseudo-terminal) as its
 * stdout: what the terminal received (its line discipline writes "\r\n"
 * for "\n"); free() it.  stderr goes to /dev/null. */
static char *run_on_terminal(oi_fixture *fx, const char *const *args, size_t n, int *status)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    const char *slave = ptsname(master);
    assert_non_null(slave);
    const char *argv[16] = {fx_cli_path(), "--database-url", fx->url};
    size_t argc = 3;
    for (size_t i = 0; i < n && argc < 15; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int tty = open(slave, O_RDWR | O_NOCTTY), null = open("/dev/null", O_RDWR);
        if (tty < 0 || null < 0 || dup2(null, 0) < 0 || dup2(tty, 1) < 0 || dup2(null, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    char *text = NULL, chunk[4096];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ssize_t got;
    while ((got = read(master, chunk, sizeof chunk)) > 0)   /* EIO once the child is gone */
        fwrite(chunk, 1, (size_t)got, out);
    fclose(out);
    close(master);
    assert_int_equal(waitpid(pid, status, 0), pid);
    *status = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
    fx_output_log("terminal", text);
    return text;
}

/* A config value holding a terminal title sequence, a bell and a C1 CSI
 * (written around the library): `config get` shows it escaped on a
 * terminal, and gives a script the bytes as stored. */
static void test_secrets_terminal_gets_no_control_character(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "config", "set", fx->cost_agent.id, "banner", "plain", (char *)NULL);
    assert_exit_code(&r, 0);
    fx_run_free(&r);
    fx_sql_exec(fx, fx_is_pg()
        ? "UPDATE agent_configs SET config_value = E'v\\x1b]0;pwned\\x07\\u009bx' "
          "WHERE config_key = 'banner'"
        : "UPDATE agent_configs SET config_value = 'v' || char(27) || ']0;pwned' || char(7) "
          "|| char(155) || 'x' WHERE config_key = 'banner'");

    const char *const args[] = {"config", "get", fx->cost_agent.id, "banner"};
    int status;
    char *shown = run_on_terminal(fx, args, 4, &status);
    assert_int_equal(status, 0);
    assert_contains(shown, "v\\x1b]0;pwned\\x07\\u009bx\r\n");
    assert_null(strchr(shown, '\x1b'));
    assert_null(strchr(shown, '\x07'));
    assert_null(strstr(shown, "\xC2\x9B"));
    free(shown);

    fx_cli(fx, &r, "config", "get", fx->cost_agent.id, "banner", (char *)NULL);
    assert_exit_code(&r, 0);
    assert_string_equal(r.out, "v\x1b]0;pwned\x07\xC2\x9Bx\n");
    fx_run_free(&r);
}

/* ---- the output log --------------------------------------------------------------- */

/* Where in the log a secret is: the "=== source" line before it. */
static void report_leak(const char *log, const char *at, const char *what)
{
    const char *source = log;
    for (const char *p = log; p < at; p++)
        if (p[0] == '\n' && strncmp(p + 1, "=== ", 4) == 0)
            source = p + 5;
    print_error("%s appears in the output of %.*s (%s)\n", what, (int)strcspn(source, "\n"),
                source, fx_output_log_path());
}

static int leaks_of(const char *log, const char *secret, const char *what)
{
    const char *at = *secret ? strstr(log, secret) : NULL;
    if (at)
        report_leak(log, at, what);
    return at != NULL;
}

static void test_secrets_output_log_holds_no_secret(void **state)
{
    (void)state;
    char *log = fx_slurp(fx_output_log_path());
    char *recorded = fx_secrets_recorded();
    int leaks = 0, known = 0;
    for (const char *const *s = fx_known_secrets; *s; s++, known++)
        leaks += leaks_of(log, *s, "a sensitive config value of the tests");
    for (char *save = NULL, *t = strtok_r(recorded, "\n", &save); t;
         t = strtok_r(NULL, "\n", &save), known++)
        leaks += leaks_of(log, t, "an API token");
    /* any token at all, also one a test made through the library: only
     * `token create` prints one, and its output is not in the log */
    for (const char *p = log; (p = strstr(p, OI_TOKEN_PREFIX)); p++) {
        if (strspn(p + 4, "0123456789abcdef") == OI_TOKEN_LEN - 4) {
            report_leak(log, p, "an API token (" OI_TOKEN_PREFIX " and 64 hex digits)");
            leaks++;
        }
    }
    const char *password = getenv("PGPASSWORD");
    if (fx_is_pg() && password && *password) {
        leaks += leaks_of(log, password, "the PostgreSQL password");
        known++;
    }
    print_message("output log: %zu bytes checked for %d secrets\n", strlen(log), known);
    free(log);
    free(recorded);
    assert_int_equal(leaks, 0);
}

int run_secrets_tests(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
#define TA(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_secrets_url_userinfo_refused_unshown),
        T(test_secrets_short_password_does_not_garble),
        T(test_secrets_unknown_option_not_echoed),
        T(test_secrets_unexpected_argument_not_echoed),
        T(test_secrets_sensitive_values_masked),
        T(test_secrets_outcome_said_when_stdout_fails),
        T(test_secrets_invalid_utf8_shown_not_dropped),
        T(test_secrets_control_characters_escaped),
        TA(test_secrets_terminal_gets_no_control_character),
        /* last: it reads what every other test printed */
        cmocka_unit_test(test_secrets_output_log_holds_no_secret),
    };
#undef T
#undef TA
    return fx_run_group("secrets", tests);
}
