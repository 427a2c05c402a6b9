/*
 * validate.c - `optiinfra validate`: the spec's validation checklist.
 *
 * The checks themselves live in the library (oi_validate), so that the test
 * suite and this command agree on what "valid" means.  This file only
 * prints them, one line each, and turns failures into exit code 1: a script
 * can run `optiinfra validate` after a deployment and trust its status.
 *
 * A check's detail may quote a config's value (the cost agent's configs
 * are reported as "1000 (number)"); the library masks a sensitive one
 * there, as every other output does.
 */
#include <stdlib.h>
#include "cli.h"

static void print_checks(const oi_validation *v)
{
    cli_table t;
    cli_table_init(&t, 3, NULL);
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = oi_validation_check(v, i);
        /* "ok  " is as wide as "FAIL": the names line up whether or not one failed. */
        const char *row[] = { c->ok ? "ok  " : "FAIL", c->name, c->detail ? c->detail : "" };
        cli_table_add(&t, row);
    }
    cli_table_print(&t, "  ");
    cli_table_free(&t);
    printf("%zu checks, %zu failed\n", oi_validation_count(v), oi_validation_failed(v));
}

static json_t *checks_json(const oi_validation *v)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = oi_validation_check(v, i);
        json_array_append_new(checks, json_pack("{s:s, s:b, s:o}", "name", c->name, "ok", c->ok,
                                                "detail", view_string(c->detail)));
    }
    return json_pack("{s:b, s:o, s:I}", "ok", oi_validation_failed(v) == 0, "checks", checks,
                     "failed", (json_int_t)oi_validation_failed(v));
}

static int run_validate(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    oi_validation *v;
    int rc = oi_validate(ctx->store, &v);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    int exit_code = CLI_EXIT_OK;
    if (ctx->json)
        exit_code = cli_json_print(checks_json(v));
    else
        print_checks(v);
    if (exit_code == CLI_EXIT_OK && oi_validation_failed(v) > 0)
        exit_code = CLI_EXIT_CHECKS_FAILED;
    oi_validation_free(v);
    return exit_code;
}

const cli_command cli_cmd_validate = {
    .name = "validate", .path = "validate", .synopsis = "validate",
    .summary = "Run the validation checklist (exit 1 if a check fails)",
    .help =
        "Checks the revision, the tables, the seed counts (12 configs, 4 states,\n"
        "11 capabilities, 12 metrics), each agent's relations, foreign keys and\n"
        "their ON DELETE actions, indexes and the cost agent's configs.  Prints\n"
        "`  ok    NAME  DETAIL` or `  FAIL  NAME  DETAIL` per check, then a count.\n\n"
        "Options:\n"
        "  --json  print {\"ok\": bool, \"checks\": [{name, ok, detail}], \"failed\": N}\n\n"
        "Exit status: 0 when every check passed, 1 when some failed.\n",
    .max_args = 0, .needs_head = true, .run = run_validate,
};
