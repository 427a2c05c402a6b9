/*
 * test_backup.c - `optiinfra db backup` and oi_store_backup() (1.7): a
 * consistent copy of a SQLite database taken while another process writes,
 * a copy that validates and holds the rows, one-line refusals of unusable
 * paths that leave nothing behind, and PostgreSQL's refusal naming its own
 * tools.  No secret is printed: the runs go to the output log, which the
 * secrets group reads, and the sensitive value stored here is recorded.
 */
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE "backup_probe"
#define SECRET "oi-backup-s3cr3t-Zt81"

/* Entries of dir whose name contains part (or every entry, part NULL),
 * "." and ".." aside. */
static int entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (!part || strstr(e->d_name, part)))
            n++;
    closedir(d);
    return n;
}

static void seed(oi_fixture *fx)
{
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
}

/* The copy at path, checked by the library: every check passes. */
static void assert_validates(const char *path)
{
    char url[1100];
    oi_store *copy = NULL;
    oi_validation *v = NULL;
    snprintf(url, sizeof url, "sqlite:%s", path);
    int rc = oi_store_open(&copy, url);
    if (rc == OI_OK)
        rc = oi_validate(copy, &v);
    if (rc != OI_OK)
        print_error("%s: %s\n", path, oi_errmsg(copy));
    assert_int_equal(rc, OI_OK);
    for (size_t i = 0; i < oi_validation_count(v); i++)
        if (!oi_validation_check(v, i)->ok)
            print_error("failed check: %s: %s\n", oi_validation_check(v, i)->name,
                        oi_validation_check(v, i)->detail);
    assert_int_equal(oi_validation_failed(v), 0);
    oi_validation_free(v);
    oi_store_close(copy);
}

/* A raw view of the copy at path, for fx_sql_* and fx_db_fingerprint. */
static oi_fixture copy_fixture(const oi_fixture *fx, const char *path)
{
    oi_fixture c = *fx;
    snprintf(c.db_path, sizeof c.db_path, "%s", path);
    snprintf(c.url, sizeof c.url, "sqlite:%s", path);
    c.store = NULL;
    return c;
}

/* ---- the writer: another process committing one probe row at a time ---- */

static void write_probes(const char *url, const char *agent_id)
{
    oi_store *s = NULL;
    if (oi_store_open(&s, url) != OI_OK)
        _exit(1);
    for (long i = 0;; i++) {
        oi_agent_metric m = OI_AGENT_METRIC_INIT;
        oi_agent_metric *items[] = {&m};
        memcpy(m.agent_id, agent_id, sizeof m.agent_id);
        m.metric_name = PROBE;
        m.metric_value = (double)i;
        if (oi_metric_record_batch(s, items, 1) != OI_OK)
            _exit(2);
    }
}

static pid_t start_writer(oi_fixture *fx, const char *agent_id)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        write_probes(fx->url, agent_id);
    return pid;
}

static long long probes(oi_fixture *fx)
{
    return fx_sql_int(fx, "SELECT count(*) FROM agent_metrics WHERE metric_name = '" PROBE "'");
}

static void wait_for_probes(oi_fixture *fx, long long n)
{
    double deadline = fx_seconds_now() + 30;
    while (probes(fx) < n && fx_seconds_now() < deadline)
        usleep(2000);
    assert_true(probes(fx) >= n);
}

/* Enough rows that the copy takes a while (a few MB), in one batch. */
static void bulk_rows(oi_fixture *fx, const char *agent_id, size_t n)
{
    oi_agent_metric *rows = calloc(n, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        oi_agent_metric m = OI_AGENT_METRIC_INIT;
        rows[i] = m;
        memcpy(rows[i].agent_id, agent_id, sizeof m.agent_id);
        rows[i].metric_name = "bulk";
        rows[i].metric_value = (double)i;
        rows[i].metadata = "{\"region\": \"us-west\", \"host\": \"gpu-017\"}";
    }
    assert_ok(fx, fx_record_batch(fx->store, rows, n));
    free(rows);
}

static void test_backup_while_another_process_writes(void **state)
{
    oi_fixture *fx = FX(state);
    char path[1024];
    fx_run run;
    if (fx_is_pg())
        fx_skip("db backup copies SQLite databases only (the refusal is tested on PostgreSQL)");
    seed(fx);
    oi_agent cost = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_lookup(fx->store, "Cost Optimizer", &cost));
    bulk_rows(fx, cost.id, 30000);
    snprintf(path, sizeof path, "%s/copy.db", fx->dir);
    pid_t writer = start_writer(fx, cost.id);
    oi_agent_clear(&cost);
    wait_for_probes(fx, 20);
    long long before = probes(fx);
    fx_cli(fx, &run, "db", "backup", path, NULL);
    long long after_backup = probes(fx);
    wait_for_probes(fx, after_backup + 20); /* the writer was never stopped */
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, "Backed up the database to");
    fx_run_free(&run);
    assert_true(after_backup > before); /* the writer committed while the command ran */

    assert_validates(path);
    oi_fixture copy = copy_fixture(fx, path);
    /* a snapshot: the writer's rows up to one commit, none missing after it */
    long long in_copy = probes(&copy);
    assert_true(in_copy >= before && in_copy <= after_backup);
    assert_int_equal(fx_sql_int(&copy, "SELECT count(DISTINCT metric_value) FROM agent_metrics "
                                       "WHERE metric_name = '" PROBE "'"), in_copy);
    assert_int_equal(fx_sql_int(&copy, "SELECT max(metric_value) FROM agent_metrics "
                                       "WHERE metric_name = '" PROBE "'"), in_copy - 1);
    assert_int_equal(fx_sql_int(&copy, "SELECT count(*) FROM agent_metrics WHERE metric_name = "
                                       "'bulk'"), 30000);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(entries(fx->dir, ".incomplete-"), 0);
}

/* The library call: the copy is the database, row for row; the options are
 * checked; a transaction or a streamed iterator refuses it. */
static void test_backup_library_copy_is_the_database(void **state)
{
    oi_fixture *fx = FX(state);
    char path[1024];
    if (fx_is_pg())
        fx_skip("db backup copies SQLite databases only");
    seed(fx);
    snprintf(path, sizeof path, "%s/lib.db", fx->dir);
    oi_backup_options bad = {.version = 0};
    assert_rc(fx, oi_store_backup(fx->store, path, &bad), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_backup_options");
    assert_rc(fx, oi_store_backup(fx->store, NULL, NULL), OI_EINVALID);
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_store_backup(fx->store, path, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "transaction");
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(entries(fx->dir, "lib.db"), 0);

    assert_ok(fx, oi_store_backup(fx->store, path, NULL));
    oi_fixture copy = copy_fixture(fx, path);
    char *original = fx_db_fingerprint(fx), *copied = fx_db_fingerprint(&copy);
    assert_string_equal(copied, original);
    free(original);
    free(copied);

    oi_backup_options opts;
    assert_ok(fx, oi_backup_options_init(&opts, OI_BACKUP_OPTIONS_VERSION));
    assert_false(opts.overwrite);
    assert_rc(fx, oi_store_backup(fx->store, path, &opts), OI_EEXISTS);
    opts.overwrite = true;
    assert_ok(fx, oi_store_backup(fx->store, path, &opts));
    assert_rc(fx, oi_backup_options_init(&opts, OI_BACKUP_OPTIONS_VERSION + 1), OI_EINVALID);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* One refusal: exit code, one line naming the path and saying what is
 * wrong, nothing printed on stdout. */
static void assert_refused(oi_fixture *fx, const char *path, const char *force, int status,
                           const char *says)
{
    fx_run run;
    fx_cli(fx, &run, "db", "backup", path, force, NULL);
    if (run.status != status)
        print_error("db backup %s: exit %d, stderr: %s\n", path, run.status, run.err);
    assert_int_equal(run.status, status);
    assert_int_equal(fx_count_lines(run.err), 1);
    assert_contains(run.err, path);
    assert_contains(run.err, says);
    assert_string_equal(run.out, "");
    fx_run_free(&run);
}

static void test_backup_refuses_unusable_paths(void **state)
{
    oi_fixture *fx = FX(state);
    char missing[1024], in_file[1024], out_dir[1024], existing[1024], locked[1100],
        locked_dir[512];
    if (fx_is_pg())
        fx_skip("db backup copies SQLite databases only");
    snprintf(missing, sizeof missing, "%s/no-such-dir/copy.db", fx->dir);
    snprintf(in_file, sizeof in_file, "%s/not-a-dir", fx->db_path);
    snprintf(out_dir, sizeof out_dir, "%s/out", fx->dir);
    snprintf(existing, sizeof existing, "%s/out/existing.db", fx->dir);
    snprintf(locked_dir, sizeof locked_dir, "%s/locked", fx->dir);
    assert_int_equal(mkdir(locked_dir, 0555), 0);
    assert_int_equal(mkdir(out_dir, 0700), 0);
    /* root writes into any directory: then a file system that refuses it */
    if (geteuid() == 0)
        snprintf(locked, sizeof locked, "/sys/optiinfra-backup.db");
    else
        snprintf(locked, sizeof locked, "%s/copy.db", locked_dir);
    FILE *f = fopen(existing, "w");
    assert_non_null(f);
    fputs("not a database\n", f);
    fclose(f);

    assert_refused(fx, missing, NULL, 3, "does not exist");
    assert_false(exists(missing));
    assert_refused(fx, in_file, NULL, 3, "not a directory");
    assert_refused(fx, out_dir, NULL, 3, "is a directory");
    assert_refused(fx, locked, NULL, 3, "cannot create a file");
    assert_false(exists(locked));
    assert_refused(fx, existing, NULL, 7, "--force");
    char *kept = fx_slurp(existing);
    assert_string_equal(kept, "not a database\n");
    free(kept);
    assert_refused(fx, fx->db_path, "--force", 3, "own file");
    /* a mistyped URL: the empty database opening made has nothing to back up */
    char typo_url[1100], typo_copy[1024];
    snprintf(typo_url, sizeof typo_url, "sqlite:%s/typo.db", fx->dir);
    snprintf(typo_copy, sizeof typo_copy, "%s/typo-copy.db", fx->dir);
    fx_run typo;
    fx_cli_raw(fx, &typo, "--database-url", typo_url, "db", "backup", typo_copy, NULL);
    assert_int_equal(typo.status, 6);
    assert_int_equal(fx_count_lines(typo.err), 1);
    assert_contains(typo.err, "no schema revision");
    assert_contains(typo.err, "--database-url");
    fx_run_free(&typo);
    assert_false(exists(typo_copy));
    assert_int_equal(entries(out_dir, NULL), 1);
    assert_int_equal(entries(locked_dir, NULL), 0);
    assert_int_equal(entries(fx->dir, ".incomplete-"), 0);

    /* --force replaces the file, with a database */
    fx_run run;
    fx_cli(fx, &run, "--json", "db", "backup", existing, "--force", NULL);
    assert_int_equal(run.status, 0);
    json_t *j = fx_json(run.out);
    assert_string_equal(json_string_value(json_object_get(j, "path")), existing);
    assert_true(json_integer_value(json_object_get(j, "bytes")) > 4096);
    json_decref(j);
    fx_run_free(&run);
    oi_fixture copy = copy_fixture(fx, existing);
    assert_int_equal(fx_sql_int(&copy, "SELECT count(*) FROM agents"),
                     fx_sql_int(fx, "SELECT count(*) FROM agents"));
    assert_int_equal(entries(out_dir, NULL), 1);
}

/* A sensitive config travels in the copy, never through the output. */
static void test_backup_prints_no_secret(void **state)
{
    oi_fixture *fx = FX(state);
    char path[1024];
    fx_run run;
    if (fx_is_pg())
        fx_skip("db backup copies SQLite databases only");
    fx_secret_record(SECRET);
    assert_ok(fx, oi_config_set(fx->store, fx->cost_agent.id, "api_key", SECRET, "string", NULL,
                                OI_SENSITIVE_YES, NULL));
    snprintf(path, sizeof path, "%s/secret.db", fx->dir);
    fx_cli(fx, &run, "db", "backup", path, NULL);
    assert_int_equal(run.status, 0);
    assert_not_contains(run.out, SECRET);
    assert_not_contains(run.err, SECRET);
    fx_run_free(&run);
    oi_fixture copy = copy_fixture(fx, path);
    assert_int_equal(fx_sql_int(&copy, "SELECT count(*) FROM agent_configs WHERE config_value = '"
                                       SECRET "' AND is_sensitive"), 1);
}

/* PostgreSQL: one line naming the server's tools, exit 3, no file, and
 * neither the URL's password nor anything else of it. */
static void test_backup_postgresql_refused(void **state)
{
    oi_fixture *fx = FX(state);
    char path[1024];
    fx_run run;
    fx_skip_unless_pg();
    snprintf(path, sizeof path, "%s/pg.db", fx->dir);
    fx_cli(fx, &run, "db", "backup", path, NULL);
    assert_int_equal(run.status, 3);
    assert_int_equal(fx_count_lines(run.err), 1);
    assert_contains(run.err, "pg_dump");
    assert_contains(run.err, "pg_basebackup");
    const char *password = getenv("PGPASSWORD");
    if (password && *password)
        assert_not_contains(run.err, password);
    assert_not_contains(run.err, "postgresql://");
    fx_run_free(&run);
    assert_false(exists(path));
    assert_int_equal(entries(fx->dir, ".incomplete-"), 0);
    assert_rc(fx, oi_store_backup(fx->store, path, NULL), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "pg_basebackup");
}

int run_backup_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_while_another_process_writes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_library_copy_is_the_database, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refuses_unusable_paths, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_prints_no_secret, fx_setup_agent,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_postgresql_refused, fx_setup, fx_teardown),
    };
    return fx_run_group("backup", tests);
}
