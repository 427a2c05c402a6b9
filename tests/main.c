/*
 * main.c - runs every test group against the backend OI_TEST_BACKEND names
 * and ends with one plain line "<backend>: N passed, M failed".
 *
 * OI_TEST_FILTER=glob runs only the tests whose names match.
 * OI_TEST_TIMES=1 prints, after each group, a line "time GROUP: ..." on
 * stderr: its wall and CPU seconds (this process and its children), the
 * processes it started and the seconds its setups and its waits for
 * children took (harness.h, fx_counters): where the suite's time goes.
 * OI_TEST_CLI_LEAKS=0, in the sanitizer build, turns LeakSanitizer's exit
 * check off in the programs the tests start (the CLI, `optiinfra serve`),
 * never in this process (see cli_leak_checks_off).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct group {
    const char *name;
    int (*run)(void);
} groups[] = {
    {"spec", run_spec_tests},
    {"core", run_core_tests},
    {"migrate", run_migrate_tests},
    {"seed", run_seed_tests},
    {"validate", run_validate_tests},
    {"query", run_query_tests},
    {"error", run_error_tests},
    {"cli", run_cli_tests},
    {"metrics", run_metrics_tests},
    {"metrics_io", run_metrics_io_tests},
    {"number", run_number_tests},
    {"orchestration", run_orchestration_tests},
    {"config", run_config_tests},
    {"capability", run_capability_tests},
    {"runtime", run_runtime_tests},
    {"lock", run_lock_tests},
    {"api", run_api_tests},
    {"token", run_token_tests},
    {"server_data", run_server_data_tests},
    {"server_metrics", run_server_metrics_tests},
    {"server_compat", run_server_compat_tests},
    {"server_prometheus", run_server_prometheus_tests},
    {"server", run_server_tests},
    {"server_writes", run_server_writes_tests},
    {"fencing", run_fencing_tests},
    {"server_beats", run_server_beats_tests},
    {"changes", run_changes_tests},
    {"server_watch", run_server_watch_tests},
    {"server_console", run_server_console_tests},
    {"cas", run_cas_tests},
    {"hostile", run_hostile_tests},
    {"interop", run_interop_tests},
    {"crash", run_crash_tests},
    {"fault", run_fault_tests},
    {"fuzz_regression", run_fuzz_regression_tests},
    {"values", run_values_tests},
    {"pgbouncer", run_pgbouncer_tests},
    {"partition", run_partition_tests},
    {"replica", run_replica_tests},
    {"backup", run_backup_tests},
};

static double cpu_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* LeakSanitizer's check at exit costs each ASan CLI process ~43 ms (71 ms
 * for `optiinfra --version` against 28 ms without it), and a sanitizer run
 * starts ~700 of them (OI_TEST_TIMES=1 counts them).  scripts/test.sh turns it off for them in
 * the SQLite run only: the PostgreSQL run checks the same CLI and server
 * code for leaks, and the library's backend code, the one part that
 * differs, is checked in this process on each backend (this process keeps
 * its check; the ASan runtime read ASAN_OPTIONS before main, so only the
 * children see the change).  The options this process runs with stay in
 * OI_TEST_OWN_ASAN_OPTIONS, for a child that starts this binary again. */
static void cli_leak_checks_off(void)
{
    const char *own = getenv("ASAN_OPTIONS");
    own = own ? own : "";
    setenv("OI_TEST_OWN_ASAN_OPTIONS", own, 1);
    char *options = NULL;
    if (asprintf(&options, "%s%sdetect_leaks=0", own, *own ? ":" : "") < 0)
        abort();
    setenv("ASAN_OPTIONS", options, 1); /* the last of a flag given twice wins */
    free(options);
}

/* Run one group; with OI_TEST_TIMES, say what it cost. */
static void run_group(const struct group *g, bool timed)
{
    fx_counters before = fx_counters_now;
    double wall = fx_seconds_now(), self = cpu_seconds(RUSAGE_SELF),
           children = cpu_seconds(RUSAGE_CHILDREN);
    g->run();
    if (!timed)
        return;
    fprintf(stderr, "time %s: %.2f s wall, %.2f s cpu, %.2f s cpu of children, "
                    "%ld processes started, %.2f s in setups, %.2f s waiting for children\n",
            g->name, fx_seconds_now() - wall, cpu_seconds(RUSAGE_SELF) - self,
            cpu_seconds(RUSAGE_CHILDREN) - children,
            fx_counters_now.processes - before.processes,
            fx_counters_now.setup_seconds - before.setup_seconds,
            fx_counters_now.wait_seconds - before.wait_seconds);
}

int main(void)
{
    const char *oom_case = getenv("OI_TEST_OOM_CASE");
    if (oom_case) /* started again by test_api_alloc_failure_handler */
        return fx_oom_case(oom_case);
    const char *filter = getenv("OI_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    const char *cli_leaks = getenv("OI_TEST_CLI_LEAKS");
    if (cli_leaks && strcmp(cli_leaks, "0") == 0)
        cli_leak_checks_off();
    const char *times = getenv("OI_TEST_TIMES");
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
        run_group(&groups[i], times && *times && *times != '0');
    return fx_summary();
}
