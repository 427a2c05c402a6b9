/*
 * options.c - the CLI's option parser and the readers commands use.
 *
 * main.c accepts a command's declared options (and the implicit ones) into
 * a cli_args and parses the command line into it; the command reads the
 * result through cli_flag(), cli_value(), cli_values() and
 * cli_duration_option().  Every array grows as needed (src/alloc.h), so no
 * declared option, option value or argument is ever dropped.
 *
 * Errors are reported through output.c, the only other file of the CLI this
 * one calls, so the files' calls go one way: main.c -> commands ->
 * options.c -> output.c (cli.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cli.h"

/* ---- declaring and reading ---------------------------------------------- */

void cli_args_accept(cli_args *a, const cli_option *opts)
{
    for (; opts && opts->name; opts++) {
        a->options = oi_grow(a->options, &a->options_cap, a->noptions, sizeof *a->options);
        a->options[a->noptions++] = (cli_option_state){ .option = *opts };
    }
}

/* The accepted option named by the first len bytes of name, NULL if none. */
static cli_option_state *find_option(const cli_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->noptions; i++)
        if (strlen(a->options[i].option.name) == len
            && strncmp(a->options[i].option.name, name, len) == 0)
            return &a->options[i];
    return NULL;
}

bool cli_flag(const cli_args *a, const char *name)
{
    const cli_option_state *o = find_option(a, name, strlen(name));
    return o && o->seen;
}

const char *cli_value(const cli_args *a, const char *name)
{
    const cli_option_state *o = find_option(a, name, strlen(name));
    return o && o->nvalues ? o->values[o->nvalues - 1] : NULL;
}

const char *const *cli_values(const cli_args *a, const char *name, size_t *n)
{
    const cli_option_state *o = find_option(a, name, strlen(name));
    *n = o ? o->nvalues : 0;
    return *n ? o->values : NULL;
}

int cli_duration_option(const cli_ctx *ctx, const cli_args *a, const char *name,
                        int64_t *micros)
{
    const char *text = cli_value(a, name);
    (void)ctx;
    if (!text)
        return CLI_EXIT_OK;
    if (oi_duration_parse(text, micros) != OI_OK || *micros <= 0)
        return cli_fail(CLI_EXIT_INVALID, "use a duration like 500ms, 90s, 15m, 2h or 30d",
                        "%s '%s' is not a duration", name, text);
    return CLI_EXIT_OK;
}

void cli_args_free(cli_args *a)
{
    for (size_t i = 0; i < a->noptions; i++)
        free(a->options[i].values);
    free(a->options);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

/* ---- parsing ------------------------------------------------------------ */

/* "-1" is a downgrade target and "-" conventionally stdin: both arguments. */
static bool is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] && !isdigit((unsigned char)arg[1]);
}

/* Record argv[*i] (and its value, which may be argv[*i + 1]). */
static int take_option(const cli_command *cmd, cli_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    size_t len = strcspn(arg, "=");
    const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
    cli_option_state *o = find_option(a, arg, len);
    if (!o)
        return cli_fail_usage(cmd, "unknown option '%.*s'", (int)len, arg);
    if (!o->option.takes_value && value)
        return cli_fail_usage(cmd, "option %s takes no value", o->option.name);
    if (o->option.takes_value && !value) {
        if (*i + 1 >= argc)
            return cli_fail_usage(cmd, "option %s needs a value", o->option.name);
        value = argv[++*i];
    }
    if (value) {
        o->values = oi_grow(o->values, &o->cap, o->nvalues, sizeof *o->values);
        o->values[o->nvalues++] = value;
    }
    o->seen = true;
    return CLI_EXIT_OK;
}

int cli_args_parse(const cli_command *cmd, cli_args *a, int argc, char **argv,
                   bool stop_at_argument, int *next)
{
    bool options_ended = false;
    int i;
    for (i = 0; i < argc; i++) {
        if (!options_ended && strcmp(argv[i], "--") == 0) {
            options_ended = true;
        } else if (options_ended || !is_option(argv[i])) {
            if (stop_at_argument)
                break;
            a->pos = oi_grow(a->pos, &a->pos_cap, (size_t)a->npos, sizeof *a->pos);
            a->pos[a->npos++] = argv[i];
        } else {
            int rc = take_option(cmd, a, argc, argv, &i);
            if (rc != CLI_EXIT_OK)
                return rc;
        }
    }
    if (next)
        *next = i;
    return CLI_EXIT_OK;
}

int cli_args_check_count(const cli_command *cmd, const cli_args *a)
{
    if (a->npos < cmd->min_args)
        return cli_fail_usage(cmd, "missing argument (usage: optiinfra %s)", cmd->synopsis);
    if (a->npos > cmd->max_args)
        return cli_fail_usage(cmd, "unexpected argument '%s' (usage: optiinfra %s)",
                              a->pos[cmd->max_args], cmd->synopsis);
    return CLI_EXIT_OK;
}
