/*
 * validate.c - `optiinfra validate`: the spec's validation checklist.
 *
 * The checks themselves live in the library (oi_validate), so that the test
 * suite and this command agree on what "valid" means.  This file only
 * prints them, one line each, and turns failures into exit code 1: a script
 * can run `optiinfra validate` after a deployment and trust its status.
 *
 * A check's detail may quote a config's value (the cost agent's configs
 * are reported as "1000 (number)"); the value of a config marked
 * sensitive is masked in every detail, as every other output masks it.
 * The details are the library's text, so the masking replaces each whole
 * occurrence of a sensitive value (not inside a longer word or number).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cli.h"

/* The sensitive configs' values, to mask in the details. */
typedef struct secrets {
    oi_agent_config *configs;
    size_t n;
} secrets;

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* The sensitive value that occurs whole at p in text, or NULL. */
static const char *secret_at(const secrets *sec, const char *text, const char *p)
{
    if (p > text && word_char(p[-1]))
        return NULL;
    for (size_t i = 0; i < sec->n; i++) {
        const char *value = sec->configs[i].config_value;
        size_t len = value ? strlen(value) : 0;
        if (sec->configs[i].is_sensitive && len && strncmp(p, value, len) == 0
            && !word_char(p[len]))
            return value;
    }
    return NULL;
}

/* detail with each whole sensitive value replaced by VIEW_MASKED_VALUE; free() it. */
static char *masked(const secrets *sec, const char *detail)
{
    if (!detail)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        oi_oom(0);
    for (const char *p = detail; *p;) {
        const char *value = secret_at(sec, detail, p);
        if (value) {
            fputs(VIEW_MASKED_VALUE, f);
            p += strlen(value);
        } else {
            fputc(*p++, f);
        }
    }
    fclose(f);
    return out;
}

static void print_checks(const oi_validation *v, const secrets *sec)
{
    cli_table t;
    cli_table_init(&t, 3, NULL);
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = oi_validation_check(v, i);
        char *detail = masked(sec, c->detail);
        /* "ok  " is as wide as "FAIL": the names line up whether or not one failed. */
        const char *row[] = { c->ok ? "ok  " : "FAIL", c->name, detail ? detail : "" };
        cli_table_add(&t, row);
        free(detail);
    }
    cli_table_print(&t, "  ");
    cli_table_free(&t);
    printf("%zu checks, %zu failed\n", oi_validation_count(v), oi_validation_failed(v));
}

static json_t *checks_json(const oi_validation *v, const secrets *sec)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = oi_validation_check(v, i);
        char *detail = masked(sec, c->detail);
        json_array_append_new(checks, json_pack("{s:s, s:b, s:o}", "name", c->name, "ok", c->ok,
                                                "detail", view_string(detail)));
        free(detail);
    }
    return json_pack("{s:b, s:o, s:I}", "ok", oi_validation_failed(v) == 0, "checks", checks,
                     "failed", (json_int_t)oi_validation_failed(v));
}

static int run_validate(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    oi_validation *v;
    oi_iter *it;
    secrets sec;
    /* The schema is at head (needs_head): the configs table is there. */
    int rc = oi_agent_config_iter_new(&it, ctx->store);
    rc = view_collect_configs(rc, it, &sec.configs, &sec.n);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    if ((rc = oi_validate(ctx->store, &v)) != OI_OK) {
        view_free_configs(sec.configs, sec.n);
        return cli_fail_store(ctx, rc, NULL);
    }
    int exit_code = CLI_EXIT_OK;
    if (ctx->json)
        exit_code = cli_json_print(checks_json(v, &sec));
    else
        print_checks(v, &sec);
    if (exit_code == CLI_EXIT_OK && oi_validation_failed(v) > 0)
        exit_code = CLI_EXIT_CHECKS_FAILED;
    oi_validation_free(v);
    view_free_configs(sec.configs, sec.n);
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
