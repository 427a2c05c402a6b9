/*
 * main.c - runs every test group against the backend OI_TEST_BACKEND names
 * and ends with one plain line "<backend>: N passed, M failed".
 *
 * OI_TEST_FILTER=glob runs only the tests whose names match.
 */
#include "harness.h"

#include <stdlib.h>

int main(void)
{
    const char *oom_case = getenv("OI_TEST_OOM_CASE");
    if (oom_case) /* started again by test_api_alloc_failure_handler */
        return fx_oom_case(oom_case);
    const char *filter = getenv("OI_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    run_spec_tests();
    run_core_tests();
    run_migrate_tests();
    run_seed_tests();
    run_validate_tests();
    run_query_tests();
    run_error_tests();
    run_cli_tests();
    run_metrics_tests();
    run_metrics_io_tests();
    run_number_tests();
    run_orchestration_tests();
    run_config_tests();
    run_capability_tests();
    run_runtime_tests();
    run_lock_tests();
    run_api_tests();
    run_token_tests();
    run_server_data_tests();
    run_server_metrics_tests();
    run_server_compat_tests(), run_server_prometheus_tests();
    run_server_tests();
    run_server_writes_tests();
    run_fencing_tests();
    run_server_beats_tests();
    run_changes_tests();
    run_server_watch_tests();
    run_server_console_tests();
    run_cas_tests();
    run_hostile_tests();
    run_interop_tests();
    run_crash_tests(), run_fault_tests();
    run_fuzz_regression_tests();
    run_values_tests();
    return fx_summary();
}
