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
 * options.c -> output.c (cli.h).  An error never echoes an argument the
 * command did not declare: `optiinfra agents --stale-aftr=TOKEN` or a
 * password pasted without its option would otherwise land in a terminal's
 * scrollback or a CI log.  The message gives its position instead, the
 * options the command takes, and a near miss's name ("did you mean
 * --stale?"), which the user typed as an option name, not a value.
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

int cli_arg_position(const cli_args *a, const char *arg)
{
    for (int i = 0; a->origin && a->origin[i]; i++)
        if (a->origin[i] == arg)
            return i + 1;
    return 0;
}

bool cli_one_edit_apart(const char *given, size_t len, const char *name)
{
    size_t n = strlen(name), i = 0;
    while (i < len && i < n && given[i] == name[i])
        i++;
    if (i == len || i == n)                  /* equal, or one letter more at the end */
        return (len > n ? len - n : n - len) <= 1;
    const char *g = given + i, *m = name + i;
    size_t gl = len - i, ml = n - i;
    if (gl == ml && gl >= 2 && g[0] == m[1] && g[1] == m[0]) /* swapped */
        return strncmp(g + 2, m + 2, gl - 2) == 0;
    if (gl == ml)                            /* changed */
        return strncmp(g + 1, m + 1, gl - 1) == 0;
    if (gl == ml + 1)                        /* added */
        return strncmp(g + 1, m, ml) == 0;
    if (gl + 1 == ml)                        /* dropped */
        return strncmp(g, m + 1, gl) == 0;
    return false;
}

/* "--stale, --stale-after" into out: the options a command declares. */
static void list_options(const cli_args *a, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->noptions && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "",
                              a->options[i].option.name);
}

/* An option name one edit away from arg's (len bytes), or NULL. */
static const char *near_miss(const cli_args *a, const char *arg, size_t len)
{
    if (len < 4)   /* "-x" is one edit from every short option */
        return NULL;
    for (size_t i = 0; i < a->noptions; i++)
        if (cli_one_edit_apart(arg, len, a->options[i].option.name))
            return a->options[i].option.name;
    return NULL;
}

static int fail_unknown_option(const cli_command *cmd, const cli_args *a, const char *arg)
{
    char options[512], guess[96] = "";
    const char *near = near_miss(a, arg, strcspn(arg, "="));
    list_options(a, options, sizeof options);
    if (near)
        snprintf(guess, sizeof guess, "; did you mean %s?", near);
    return cli_fail_usage(cmd, "unknown option (argument %d, not shown%s); `optiinfra%s%s` "
                          "takes %s", cli_arg_position(a, arg), guess, cmd ? " " : "",
                          cmd ? cmd->path : "", options);
}

/* Record argv[*i] (and its value, which may be argv[*i + 1]). */
static int take_option(const cli_command *cmd, cli_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    size_t len = strcspn(arg, "=");
    const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
    cli_option_state *o = find_option(a, arg, len);
    if (!o)
        return fail_unknown_option(cmd, a, arg);
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
        return cli_fail_usage(cmd, "unexpected argument (argument %d, not shown); usage: "
                              "optiinfra %s", cli_arg_position(a, a->pos[cmd->max_args]),
                              cmd->synopsis);
    return CLI_EXIT_OK;
}
