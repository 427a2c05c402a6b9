/*
 * main.c - the optiinfra command: global options, dispatch, help.
 *
 *   optiinfra [--database-url URL] [--read-url URL] [--replica-fallback primary|error]
 *             [--max-replica-lag DURATION] [--json] COMMAND [ARGS] [--json]
 *
 * Commands are declared as cli_command tables by their own files; a group
 * (db, agent) is a command with subcommands.  main() resolves the command,
 * has options.c parse its options from the declaration (options may come
 * anywhere after the command, "--opt=value" or "--opt value"; "-1" and
 * other "-DIGITS" are arguments, not options, so `db downgrade -1` works),
 * opens the store, checks the schema revision when the command needs it,
 * and runs it.  The exit code is the command's; docs/cli.md lists them.
 * Running out of memory anywhere, library included, prints one line and
 * exits 8 (CLI_EXIT_OTHER) through the allocator's failure handler.
 *
 * With a read URL, the commands that only read (replica_commands) read
 * from the replica; every other command, writes and their lookups of the
 * agent named, runs on the primary alone (oi_store_use_replica).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cli.h"

static const cli_command *const top_commands[] = {
    &cli_cmd_db, &cli_cmd_seed, &cli_cmd_validate, &cli_cmd_agents, &cli_cmd_agent,
    &cli_cmd_event, &cli_cmd_events, &cli_cmd_recommendations, &cli_cmd_recommendation,
    &cli_cmd_metrics,
    &cli_cmd_config, &cli_cmd_capability,
    &cli_cmd_lock, &cli_cmd_locks,
    &cli_cmd_serve,
    &cli_cmd_token,
    &cli_cmd_watch,
    NULL
};

static const cli_option global_options[] = {
    { "--database-url", true }, { "--read-url", true }, { "--replica-fallback", true },
    { "--max-replica-lag", true }, { "--json", false }, { "--help", false },
    { "-h", false }, { "--version", false }, { NULL, false }
};

static const cli_option implicit_options[] = {
    { "--json", false }, { "--help", false }, { "-h", false }, { NULL, false }
};

static bool wants_help(const cli_args *a)
{
    return cli_flag(a, "--help") || cli_flag(a, "-h");
}

/* ---- help -------------------------------------------------------------- */

#define SYNOPSIS_WIDTH 36

static void print_command_list(FILE *out, const cli_command *const *cmds, const char *prefix)
{
    for (; *cmds; cmds++) {
        if ((*cmds)->subcommands) {
            print_command_list(out, (*cmds)->subcommands, prefix);
            continue;
        }
        /* A synopsis too long for the column gets a line of its own. */
        const char *synopsis = (*cmds)->synopsis;
        if (strlen(synopsis) > SYNOPSIS_WIDTH)
            fprintf(out, "%s%s\n%s%-*s %s\n", prefix, synopsis, prefix, SYNOPSIS_WIDTH, "",
                    (*cmds)->summary);
        else
            fprintf(out, "%s%-*s %s\n", prefix, SYNOPSIS_WIDTH, synopsis, (*cmds)->summary);
    }
}

static void print_main_help(FILE *out)
{
    fputs("Usage: optiinfra [--database-url URL] [--json] COMMAND [ARGS]\n\n"
          "OptiInfra's agent state store: migrations, seed data, validation and a\n"
          "look at the agents, on SQLite or PostgreSQL.\n\nCommands:\n", out);
    print_command_list(out, top_commands, "  ");
    fputs("  help COMMAND                         Show the help of one command\n\n"
          "Global options (before the command):\n"
          "  --database-url URL  the database (default: $" CLI_DATABASE_URL_ENV ",\n"
          "                      else " CLI_DEFAULT_DATABASE_URL ")\n"
          "                      sqlite:PATH, sqlite::memory:, postgresql://user:pass@host/db\n"
          "  --read-url URL      a PostgreSQL read replica of the database (default:\n"
          "                      $" CLI_READ_URL_ENV "): the commands that only read use it\n"
          "  --replica-fallback primary|error\n"
          "                      a read the replica cannot serve goes to the primary\n"
          "                      (default) or fails with exit 5 ($" CLI_REPLICA_FALLBACK_ENV ")\n"
          "  --max-replica-lag DURATION\n"
          "                      a replica further behind is not read from, e.g. 5s\n"
          "                      or 0 (default: any lag; $" CLI_MAX_REPLICA_LAG_ENV ")\n"
          "  --json              print JSON (also accepted after the command)\n"
          "  -h, --help          show this help; `optiinfra COMMAND --help` for one command\n"
          "  --version           print the version\n\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  validate ran and some check failed\n"
          "  2  usage error: unknown command or option, missing argument\n"
          "  3  invalid input\n"
          "  4  not found: unknown agent, core agents missing for `seed state`,\n"
          "     changes older than the change log keeps (`watch --since`)\n"
          "  5  cannot connect to or authenticate with the database\n"
          "  6  schema revision problem: not at head, unknown revision\n"
          "  7  conflict: duplicate key, constraint violation, database busy,\n"
          "     a transition the current state does not allow, a record changed\n"
          "     since --if-revision, a stale fencing token (--fence)\n"
          "  8  any other error, among them output that could not be written\n"
          "     (after a write: stderr says what was committed)\n"
          "  9  the resource lock is held by another live agent\n\n"
          "Documentation: docs/cli.md\n", out);
}

static void print_command_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "Usage: optiinfra %s\n\n%s.\n", cmd->synopsis, cmd->summary);
    if (cmd->subcommands) {
        fputs("\nCommands:\n", out);
        print_command_list(out, cmd->subcommands, "  ");
    }
    if (cmd->help)
        fprintf(out, "\n%s", cmd->help);
    fputs("\nGlobal options (--database-url, --json): see `optiinfra --help`.\n", out);
}

/* ---- dispatch ---------------------------------------------------------- */

static const cli_command *find_command(const cli_command *const *cmds, const char *name)
{
    for (; *cmds; cmds++)
        if (strcmp((*cmds)->name, name) == 0)
            return *cmds;
    return NULL;
}

/* The command a slip of one letter away from name, or NULL. */
static const cli_command *near_command(const cli_command *const *cmds, const char *name)
{
    for (; cmds && *cmds; cmds++)
        if (strlen(name) >= 3 && cli_one_edit_apart(name, strlen(name), (*cmds)->name))
            return *cmds;
    return NULL;
}

/* name, argv[position - 1], is not shown: it may be a secret typed in the
 * wrong place.  A near miss of a command's name is suggested. */
static int fail_unknown_command(const cli_ctx *ctx, const cli_command *group,
                                const cli_command *const *cmds, const char *name)
{
    cli_args where = { .origin = ctx->args };
    const cli_command *near = near_command(cmds, name);
    char guess[96] = "";
    if (near)
        snprintf(guess, sizeof guess, "; did you mean `%s%s%s`?", group ? group->path : "",
                 group ? " " : "", near->name);
    return cli_fail_usage(group, "unknown command (argument %d, not shown%s)",
                          cli_arg_position(&where, name), guess);
}

/* `optiinfra help [COMMAND [SUBCOMMAND]]` */
static int run_help(const cli_ctx *ctx, int argc, char **argv)
{
    const cli_command *const *cmds = top_commands;
    const cli_command *cmd = NULL;
    for (int i = 0; i < argc; i++) {
        const cli_command *found = cmds ? find_command(cmds, argv[i]) : NULL;
        if (!found)
            return fail_unknown_command(ctx, cmd, cmds, argv[i]);
        cmd = found;
        cmds = cmd->subcommands;
    }
    if (cmd)
        print_command_help(cmd, stdout);
    else
        print_main_help(stdout);
    return CLI_EXIT_OK;
}

/* The commands that only read, by path: they may read from the replica. */
static const char *const replica_commands[] = {
    "agents", "agent show", "events", "recommendations", "recommendation show",
    "metrics query", "metrics aggregate", "metrics export", "config get", "config list",
    "capability list", "capability newest", "capability agents", "locks", "token list", NULL
};

static bool reads_only(const cli_command *cmd)
{
    for (const char *const *p = replica_commands; *p; p++)
        if (strcmp(*p, cmd->path) == 0)
            return true;
    return false;
}

static int open_store(cli_ctx *ctx)
{
    ctx->open.url = ctx->database_url;
    int rc = oi_store_open_ext(&ctx->store, &ctx->open);
    if (rc != OI_OK) {
        if (!ctx->store)
            return cli_fail(CLI_EXIT_OTHER, NULL, "out of memory");
        return cli_fail_store(ctx, rc, ctx->open.read_url
                              ? "check --database-url and --read-url (or " CLI_DATABASE_URL_ENV
                                " and " CLI_READ_URL_ENV ")"
                              : "check --database-url or " CLI_DATABASE_URL_ENV);
    }
    oi_store_use_replica(ctx->store, reads_only(ctx->cmd));
    if (ctx->cmd->needs_head && (rc = oi_migrate_check_head(ctx->store)) != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    return CLI_EXIT_OK;
}

static int run_leaf(cli_ctx *ctx, const cli_command *cmd, const cli_args *a)
{
    ctx->cmd = cmd;
    int rc = cli_args_check_count(cmd, a);
    if (rc == CLI_EXIT_OK && cmd->check)
        rc = cmd->check(ctx, a);
    if (rc == CLI_EXIT_OK)
        rc = open_store(ctx);
    return rc != CLI_EXIT_OK ? rc : cmd->run(ctx, a);
}

static int dispatch(cli_ctx *ctx, const cli_command *group, const cli_command *const *cmds,
                    int argc, char **argv);

/* cmd's options are in a, parsed up to argv[next] (a group's subcommand). */
static int run_command(cli_ctx *ctx, const cli_command *cmd, const cli_args *a, int argc,
                       char **argv, int next)
{
    if (wants_help(a)) {
        print_command_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    ctx->json = ctx->json || cli_flag(a, "--json");
    if (!cmd->subcommands)
        return run_leaf(ctx, cmd, a);
    if (next + 1 >= argc)
        return cli_fail_usage(cmd, "missing command after `%s`", cmd->path);
    return dispatch(ctx, cmd, cmd->subcommands, argc - 1 - next, argv + 1 + next);
}

/* argv[0] names a command of cmds (a group's subcommands when group is set). */
static int dispatch(cli_ctx *ctx, const cli_command *group, const cli_command *const *cmds,
                    int argc, char **argv)
{
    const cli_command *cmd = find_command(cmds, argv[0]);
    if (!cmd)
        return fail_unknown_command(ctx, group, cmds, argv[0]);

    /* A group takes options up to its subcommand only, e.g. `db --help`. */
    cli_args a = { .origin = ctx->args };
    int next;
    if (!cmd->subcommands)
        cli_args_accept(&a, cmd->options);
    cli_args_accept(&a, implicit_options);
    int rc = cli_args_parse(cmd, &a, argc - 1, argv + 1, cmd->subcommands != NULL, &next);
    if (rc == CLI_EXIT_OK)
        rc = run_command(ctx, cmd, &a, argc, argv, next);
    cli_args_free(&a);
    return rc;
}

static const char *default_database_url(void)
{
    const char *env = getenv(CLI_DATABASE_URL_ENV);
    return env && *env ? env : CLI_DEFAULT_DATABASE_URL;
}

/* The option's value, else the environment variable's (empty is unset). */
static const char *option_or_env(const cli_args *globals, const char *name, const char *env)
{
    const char *value = cli_value(globals, name);
    if (!value)
        value = getenv(env);
    return value && *value ? value : NULL;
}

/* --read-url, --replica-fallback and --max-replica-lag (or their
 * environment variables) into ctx->open. */
static int read_replica_options(cli_ctx *ctx, const cli_args *globals)
{
    oi_store_options defaults = OI_STORE_OPTIONS_INIT;
    ctx->open = defaults;
    ctx->open.read_url = option_or_env(globals, "--read-url", CLI_READ_URL_ENV);
    const char *fallback = option_or_env(globals, "--replica-fallback", CLI_REPLICA_FALLBACK_ENV);
    const char *lag = option_or_env(globals, "--max-replica-lag", CLI_MAX_REPLICA_LAG_ENV);
    if (fallback && strcmp(fallback, "error") == 0)
        ctx->open.fallback = OI_REPLICA_FAIL;
    else if (fallback && strcmp(fallback, "primary") != 0)
        return cli_fail(CLI_EXIT_INVALID, "use primary or error", "--replica-fallback "
                        "(or " CLI_REPLICA_FALLBACK_ENV ") '%s' is not a fallback", fallback);
    if (lag && strcmp(lag, "0") == 0) /* no unit needed for none at all */
        ctx->open.max_lag = 0;
    else if (lag && (oi_duration_parse(lag, &ctx->open.max_lag) != OI_OK ||
                     ctx->open.max_lag < 0))
        return cli_fail(CLI_EXIT_INVALID, "use a duration like 0, 500ms, 5s or 1m",
                        "--max-replica-lag (or " CLI_MAX_REPLICA_LAG_ENV ") '%s' is not a "
                        "duration", lag);
    ctx->open.limit_lag = lag != NULL;
    return CLI_EXIT_OK;
}

/* The global options, up to the command at argv[next]. */
static int run_global(cli_ctx *ctx, const cli_args *globals, int argc, char **argv, int next)
{
    if (wants_help(globals)) {
        print_main_help(stdout);
        return CLI_EXIT_OK;
    }
    if (cli_flag(globals, "--version")) {
        puts("optiinfra " OPTIINFRA_VERSION);
        return CLI_EXIT_OK;
    }
    if (next == argc) {
        print_main_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[next], "help") == 0)
        return run_help(ctx, argc - next - 1, argv + next + 1);
    ctx->database_url = cli_value(globals, "--database-url"); /* in argv */
    if (!ctx->database_url)
        ctx->database_url = default_database_url();
    int rc = read_replica_options(ctx, globals);
    if (rc != CLI_EXIT_OK)
        return rc;
    ctx->json = cli_flag(globals, "--json");
    return dispatch(ctx, NULL, top_commands, argc - next, argv + next);
}

static int run(cli_ctx *ctx, int argc, char **argv)
{
    cli_args globals = { .origin = argv };
    int next;
    cli_args_accept(&globals, global_options);
    int rc = cli_args_parse(NULL, &globals, argc, argv, true, &next);
    if (rc == CLI_EXIT_OK)
        rc = run_global(ctx, &globals, argc, argv, next);
    cli_args_free(&globals);
    return rc;
}

/* The allocator's failure handler: what exit code 8 promises, not abort(). */
static void out_of_memory(size_t size, void *unused)
{
    (void)unused;
    fprintf(stderr, "optiinfra: out of memory (allocating %zu bytes)\n", size);
    exit(CLI_EXIT_OTHER);
}

int main(int argc, char **argv)
{
    cli_ctx ctx = { .args = argv + 1 };
    oi_set_alloc_failure_handler(out_of_memory, NULL);
    json_set_alloc_funcs(oi_malloc, free); /* jansson fails as the library does */
    cli_output_init();
    int rc = run(&ctx, argc - 1, argv + 1);
    oi_store_close(ctx.store);
    /* A write that failed earlier leaves the error flag; fflush sets errno. */
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_EXIT_OK)
        rc = cli_fail_output(errno, true);
    return rc;
}
