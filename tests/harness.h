/*
 * harness.h - what every test file shares: fixtures, raw database access,
 * assertions that print the store's message, and the CLI runner.
 *
 * One binary runs every group against one backend, chosen by the
 * environment: OI_TEST_BACKEND=sqlite (default; each test gets a copy of a
 * file migrated to head once per run) or OI_TEST_BACKEND=postgresql (the
 * server pg_virtualenv's PG* variables point at; each test drops and
 * recreates schema public and migrates it to head), so tests never see
 * each other.
 *
 * Raw access (fx_sql_*) goes around the library on purpose: counts, schema
 * dumps and deliberate corruption must not trust the code under test.
 */
#ifndef OI_TEST_HARNESS_H
#define OI_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdbool.h>
#include <cmocka.h>
#include <jansson.h>
#include "optiinfra/optiinfra.h"

typedef struct oi_fixture {
    oi_store *store;      /* open on the fresh database */
    char dir[256];        /* private temp dir: SQLite file, CLI output */
    char url[1024];       /* the URL the store was opened with */
    char db_path[512];    /* the SQLite file; "" on PostgreSQL */
    oi_agent cost_agent;  /* sample_cost_agent, when the setup made one */
} oi_fixture;

#define FX(state) ((oi_fixture *)*(state))

/* ---- setups and teardown (cmocka test setup/teardown functions) ---- */
int fx_setup(void **state);       /* fresh database migrated to head */
int fx_setup_agent(void **state); /* ... plus sample_cost_agent */
int fx_teardown(void **state);

/* The backend under test, from OI_TEST_BACKEND. */
const char *fx_backend(void);
bool fx_is_pg(void);
/* Skip the running test (and count it as skipped) unless on PostgreSQL. */
void fx_skip_unless_pg(void);
/* Skip the running test (and count it as skipped), saying why. */
void fx_skip(const char *why);
/* Skip the test in the sanitizer build (ASan+UBSan) only, saying why: for
 * the tests of many processes, process deaths and server restarts, which
 * the coverage build runs on both backends.  Each ASan process costs
 * about 0.4 s to start and to check for leaks at exit, and the suite must
 * stay under 30 minutes. */
void fx_skip_in_sanitizer_build(const char *why);

/* ---- the spec's fixtures (FILE 2), created and then read back ---- */
void sample_agent_config(oi_fixture *fx, oi_agent_config *out);
void sample_agent_state(oi_fixture *fx, oi_agent_state *out);
void sample_agent_capability(oi_fixture *fx, oi_agent_capability *out);
void sample_agent_metric(oi_fixture *fx, oi_agent_metric *out);

/* An agent (type, name) with the spec's other fields, read back into out. */
void fx_make_agent(oi_fixture *fx, const char *type, const char *name, oi_agent *out);
/* A customer with this email, read back into out. */
void fx_make_customer(oi_fixture *fx, const char *email, oi_customer *out);
/* A recommendation of customer and agent, read back into out. */
void fx_make_recommendation(oi_fixture *fx, const char *customer_id, const char *agent_id,
                            oi_recommendation *out);
/* oi_metric_record_batch() of the n records of an array (the library takes
 * an array of pointers).  No assertion: usable in a child process. */
int fx_record_batch(oi_store *store, oi_agent_metric *items, size_t n);
/* A fresh random UUID no row has. */
void fx_random_uuid(char out[OI_UUID_LEN + 1]);

/* ---- iterators read whole into test-side arrays ---- */
/* fx_collect_X(fx, it, &items) reads every row of `it` into a new array
 * (items may be NULL: just count them), frees `it`, asserts that the
 * iteration ended with OI_ITEROVER and returns the number of rows;
 * fx_free_X(items, n) clears each record and frees the array. */
/* fx_first_X(rc, &it), called as fx_first_X(oi_X_iter_new(&it, ...), &it):
 * the code of opening an iterator and reading its first row, for checking a
 * failure: the constructor's code `rc` when it failed (asserting that it set
 * *it to NULL), else the first next()'s (OI_OK, OI_ITEROVER or a failure).
 * The iterator is freed and *it set to NULL. */
#define FX_COLLECTOR_DECL(X, T)                                            \
    size_t fx_collect_##X(oi_fixture *fx, oi_iter *it, T **out);           \
    void fx_free_##X(T *items, size_t n);                                  \
    int fx_first_##X(int rc, oi_iter **it);
FX_COLLECTOR_DECL(customers, oi_customer)
FX_COLLECTOR_DECL(agents, oi_agent)
FX_COLLECTOR_DECL(events, oi_event)
FX_COLLECTOR_DECL(recommendations, oi_recommendation)
FX_COLLECTOR_DECL(approvals, oi_approval)
FX_COLLECTOR_DECL(optimizations, oi_optimization)
FX_COLLECTOR_DECL(agent_configs, oi_agent_config)
FX_COLLECTOR_DECL(agent_states, oi_agent_state)
FX_COLLECTOR_DECL(agent_capabilities, oi_agent_capability)
FX_COLLECTOR_DECL(agent_metrics, oi_agent_metric)
FX_COLLECTOR_DECL(locks, oi_lock)
FX_COLLECTOR_DECL(livenesses, oi_agent_liveness)
FX_COLLECTOR_DECL(metric_stats, oi_metric_stats)
FX_COLLECTOR_DECL(api_tokens, oi_api_token)

/* A row of oi_capable_agent_next(). */
typedef struct fx_capable {
    oi_agent agent;
    oi_agent_capability capability;
} fx_capable;
FX_COLLECTOR_DECL(capable, fx_capable)

/* A non-NULL iterator pointer that no iterator has: start `it` with it to
 * check that a refusing constructor sets *out to NULL. */
extern oi_iter *const fx_iter_unset;

/* The metrics matching f (a whole query, f->limit respected); *cursor (if
 * not NULL, OI_CURSOR_BUFSZ bytes) receives the iterator's cursor. */
size_t fx_metric_query(oi_fixture *fx, const oi_metric_filter *f, oi_agent_metric **out,
                       char *cursor);

/* ---- raw database access, around the library ---- */
/* Rows of a query: columns joined by '|', rows ended by '\n'.  free() it. */
char *fx_sql_text(oi_fixture *fx, const char *sql);
void fx_sql_exec(oi_fixture *fx, const char *sql);
/* Whether sql runs without an error (foreign keys enforced on SQLite too):
 * for checking that the schema itself refuses a row. */
bool fx_sql_try(oi_fixture *fx, const char *sql);
long long fx_sql_int(oi_fixture *fx, const char *sql);
long long fx_count(oi_fixture *fx, const char *table);
/* Tables of the database other than alembic_version (and SQLite's own). */
long long fx_user_tables(oi_fixture *fx);
/* A text dump of the schema, to compare two states of one database. */
char *fx_schema_dump(oi_fixture *fx);
/* Every row of every table (alembic_version, the store revision, the
 * change log and heartbeats included), each table's rows ordered by its
 * primary key, as text: equal fingerprints before and after a command mean
 * it changed nothing.  free() it. */
char *fx_db_fingerprint(oi_fixture *fx);

/* ---- assertions ---- */
/* A library call must return `code`; on mismatch print the store's message. */
#define assert_rc(fx, call, code) fx_assert_rc((fx)->store, (call), (code), #call, __FILE__, __LINE__)
#define assert_ok(fx, call) assert_rc(fx, call, OI_OK)
void fx_assert_rc(oi_store *store, int got, int want, const char *what, const char *file, int line);
/* Either of two codes (where the API documents a choice). */
#define assert_rc2(fx, call, a, b) fx_assert_rc2((fx)->store, (call), (a), (b), #call, __FILE__, __LINE__)
void fx_assert_rc2(oi_store *store, int got, int a, int b, const char *what, const char *file, int line);

#define assert_contains(hay, needle) fx_assert_contains((hay), (needle), true, __FILE__, __LINE__)
#define assert_not_contains(hay, needle) fx_assert_contains((hay), (needle), false, __FILE__, __LINE__)
void fx_assert_contains(const char *hay, const char *needle, bool want, const char *file, int line);

/* Parse JSON text (must be valid); json_decref() the result. */
json_t *fx_json(const char *text);
/* A member of a JSON object by a dotted path ("analysis.total_cost"). */
json_t *fx_json_at(json_t *root, const char *path);

/* ---- the CLI ---- */
typedef struct fx_run {
    int status;   /* exit code, or 128 + signal */
    char *out;    /* stdout */
    char *err;    /* stderr */
} fx_run;

/* The CLI under test: OI_TEST_CLI, default build/optiinfra. */
const char *fx_cli_path(void);
/* A file's whole content, NUL-terminated ("" if it cannot be read); free() it. */
char *fx_slurp(const char *path);

/* Run the CLI (OI_TEST_CLI, default build/optiinfra) with these arguments
 * (NULL-terminated); fx_cli puts --database-url <fx->url> first. */
void fx_cli(oi_fixture *fx, fx_run *run, ...);
/* The same with the arguments as an array, any number of them. */
void fx_cli_argv(oi_fixture *fx, fx_run *run, bool with_url, const char *const *args,
                 size_t nargs);
void fx_cli_raw(oi_fixture *fx, fx_run *run, ...);
/* Start argv[0] (NULL-terminated argv) with stdin from /dev/null, stdout and
 * stderr into these files; its pid, for the caller to wait for. */
pid_t fx_spawn(const char *const *argv, const char *out_path, const char *err_path);
/* Wait at most timeout_ms for the child pid to end: true and its raw
 * waitpid status in *status if it did, false if it still runs. */
bool fx_wait_child(pid_t pid, int timeout_ms, int *status);
void fx_run_free(fx_run *run);
/* Number of non-empty lines of a text. */
int fx_count_lines(const char *text);

/* ---- the output log: what the secrets check reads ---- */
/* Every output the suite is shown is appended to one file, the output log:
 * each CLI run of fx_cli*() (stdout and stderr), each server's log when
 * fx_server_stop() ends it and each HTTP answer of fx_request() (headers
 * and body).  Left out are only the runs that asked for secrets: an argv
 * holding --show-secrets, a request whose path holds show_secrets=true, and
 * `token create`, which prints its new token once by design (the token is
 * recorded as a secret instead).  The file is $OI_TEST_OUTPUT_LOG, else one
 * made in $TMPDIR for the run and removed by fx_summary(); runs that set
 * the variable may share one log (secrets recorded at run time go to the
 * log's name + ".secrets").  The secrets group (test_secrets.c), which
 * fx_summary() runs after every other group, greps the log for each
 * secret of fx_known_secrets, fx_secrets_recorded() and $PGPASSWORD. */
const char *fx_output_log_path(void);
/* Append text under a line naming where it came from ("cli-12.out"). */
void fx_output_log(const char *source, const char *text);
/* A secret made at run time (an API token): the check looks for it too. */
void fx_secret_record(const char *secret);
/* The secrets recorded so far, one per line; free() it. */
char *fx_secrets_recorded(void);
/* The sensitive values the tests store (configs marked sensitive), each
 * spelled once here: a test uses these names, so that the check knows them. */
#define FX_SECRET_CLI "sk-live-SECRET123"        /* test_cli */
#define FX_SECRET_CONFIG "hunter2-s3cr3t"        /* test_configs */
#define FX_SECRET_ERRORS "hunter2-SECRET"        /* test_errors */
#define FX_SECRET_SPEC "secret_key_123"          /* test_spec */
#define FX_SECRET_SERVER "zq-LOG-s3cr3t"         /* test_server */
#define FX_SECRET_SERVER_DATA "zq-s3cr3t-value"  /* test_server_data */
#define FX_SECRET_OWN "oi-secrets-Kq7vX2"        /* test_secrets */
/* Those values, NULL-terminated. */
extern const char *const fx_known_secrets[];

/* ---- a child process ---- */
/* Run fn(url, ctx) in a child process and return its exit code: -1 when it
 * did not end within timeout_ms (it is killed), 128 + signal when a signal
 * ended it.  For a call that might never return: a hang fails the test
 * instead of the whole run.  fn runs in the child: no cmocka assertion
 * there, and a store of its own (opened from url), never fx->store. */
int fx_in_child(oi_fixture *fx, int (*fn)(const char *url, void *ctx), void *ctx,
                int timeout_ms);

/* ---- where the time goes (OI_TEST_TIMES, main.c) ---- */
typedef struct fx_counters {
    long processes;       /* children forked by fx_spawn, fx_cli*, fx_in_child */
    double setup_seconds; /* in fx_setup and fx_setup_agent */
    double wait_seconds;  /* in fx_wait_child */
} fx_counters;
extern fx_counters fx_counters_now;
/* CLOCK_MONOTONIC in seconds. */
double fx_seconds_now(void);

/* ---- running groups ---- */
/* Run one group and add its results to the totals main() prints. */
#define fx_run_group(name, tests)                                          \
    fx_tally_tests(tests, sizeof(tests) / sizeof((tests)[0]),               \
                   cmocka_run_group_tests_name(name, tests, NULL, NULL))
int fx_tally_tests(const struct CMUnitTest *tests, size_t n, int failed);
int fx_summary(void);

/* The groups, one per file. */
int run_spec_tests(void);
int run_core_tests(void);
int run_migrate_tests(void);
int run_seed_tests(void);
int run_validate_tests(void);
int run_error_tests(void);
int run_query_tests(void);
int run_cli_tests(void);
int run_metrics_tests(void);
int run_metrics_io_tests(void);
int run_orchestration_tests(void);
int run_config_tests(void), run_capability_tests(void);
int run_runtime_tests(void), run_lock_tests(void);
int run_api_tests(void);
int run_replica_tests(void);
int run_number_tests(void);
int run_token_tests(void);
int run_server_data_tests(void);
int run_server_metrics_tests(void);
int run_server_compat_tests(void), run_server_prometheus_tests(void);
int run_server_tests(void);
int run_server_writes_tests(void);
int run_fencing_tests(void);
int run_server_beats_tests(void);
int run_changes_tests(void);
int run_server_watch_tests(void);
int run_server_console_tests(void);
int run_cas_tests(void);
int run_hostile_tests(void);
int run_interop_tests(void);
/* test_api.c: one out-of-memory case in a fresh process; main() runs it
 * instead of the groups when OI_TEST_OOM_CASE names it. */
int fx_oom_case(const char *name);
int run_crash_tests(void), run_fault_tests(void);
int run_secrets_tests(void); /* run by fx_summary(), after every other group */
int run_fuzz_regression_tests(void);
int run_values_tests(void);
int run_pgbouncer_tests(void); /* PgBouncer itself only with OI_TEST_PGBOUNCER=1 */
int run_partition_tests(void);
int run_backup_tests(void);

#endif
