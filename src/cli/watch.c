/*
 * watch.c - `optiinfra watch`: print the store's changes as they commit.
 *
 *   watch [--since REV] [--table T] [--agent AGENT] [--count N] [--json]
 *
 * A loop of oi_changes_since() (what came after the last revision seen)
 * and oi_changes_wait() (sleep until the revision moves).  One line per
 * change, flushed at once so that a pipe sees it as it happens; --json
 * makes each line a view_change() object (NDJSON).
 *
 * Stopping: SIGINT and SIGTERM are blocked except while waiting and
 * after each line is flushed, and their handler exits 0 at once.  So the
 * program stops between two lines, never in the middle of one, with
 * everything printed already flushed; a watch that is asleep stops without
 * waiting for its sleep to end, and one catching up on many changes stops
 * after the line it is printing.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/* How long one wait lasts; the loop just waits again. */
#define WATCH_WAIT_MICROS (30 * INT64_C(1000000))

typedef struct watch_plan {
    int64_t since;             /* the revision the next read starts after */
    uint64_t count;            /* changes to print before exiting 0; 0: no end */
    oi_change_filter filter;
} watch_plan;

/* A whole number >= 0 (--since) or > 0 (--count) into *out. */
static int number_option(const cli_args *a, const char *name, int64_t min, int64_t *out)
{
    const char *text = cli_value(a, name);
    if (!text)
        return CLI_EXIT_OK;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min)
        return cli_fail(CLI_EXIT_INVALID, NULL, "%s '%s' is not a whole number of at least %lld",
                        name, text, (long long)min);
    *out = v;
    return CLI_EXIT_OK;
}

static int check_watch(const cli_ctx *ctx, const cli_args *a)
{
    int64_t n;
    (void)ctx;
    int exit_code = number_option(a, "--since", 0, &n);
    return exit_code ? exit_code : number_option(a, "--count", 1, &n);
}

/* ---- signals ------------------------------------------------------------- */

static void exit_at_once(int sig)
{
    (void)sig;
    _exit(CLI_EXIT_OK);
}

static void set_stop_signals(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(how, &set, NULL);
}

/* Where a stop signal that came meanwhile ends the program. */
static void stop_if_asked(void)
{
    set_stop_signals(SIG_UNBLOCK);
    set_stop_signals(SIG_BLOCK);
}

static void handle_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = exit_at_once;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    set_stop_signals(SIG_BLOCK);
}

/* ---- printing ------------------------------------------------------------ */

static int print_change(const cli_ctx *ctx, const oi_change *c)
{
    if (ctx->json) {
        json_t *view = view_change(c);
        char *line = view ? json_dumps(view, JSON_COMPACT) : NULL;
        json_decref(view);
        if (!line)
            return cli_fail(CLI_EXIT_OTHER, NULL, "out of memory");
        puts(line);
        free(line);
    } else {
        printf("%lld %s %s %s %s\n", (long long)c->revision, c->table,
               oi_change_kind_name(c->kind), c->key, c->agent_id[0] ? c->agent_id : "-");
    }
    if (fflush(stdout) != 0)
        return cli_fail(CLI_EXIT_OTHER, NULL, "cannot write the output");
    stop_if_asked();
    return CLI_EXIT_OK;
}

/* Print the changes after plan->since, moving it on; *done when --count is
 * reached. */
static int print_new_changes(const cli_ctx *ctx, watch_plan *plan, bool *done)
{
    oi_iter *it = NULL;
    oi_change c = OI_CHANGE_INIT;
    int rc = oi_changes_since(&it, ctx->store, plan->since, &plan->filter);
    int exit_code = CLI_EXIT_OK;
    while (rc == OI_OK && !*done && (rc = oi_change_next(it, &c)) == OI_OK) {
        exit_code = print_change(ctx, &c);
        plan->since = c.revision;
        *done = exit_code != CLI_EXIT_OK || (plan->count && --plan->count == 0);
        oi_change_clear(&c);
    }
    oi_iter_free(it);
    if (rc != OI_OK && rc != OI_ITEROVER)
        return cli_fail_store(ctx, rc, rc == OI_ECOMPACTED
                                           ? "run `optiinfra watch` without --since to start "
                                             "from the current revision"
                                           : NULL);
    return exit_code;
}

/* Sleep until the revision moves past plan->since; *revision receives the
 * store's revision.  The stop signals may end the program meanwhile. */
static int wait_for_more(const cli_ctx *ctx, const watch_plan *plan, int64_t *revision)
{
    set_stop_signals(SIG_UNBLOCK);
    int rc = oi_changes_wait(ctx->store, plan->since, WATCH_WAIT_MICROS, revision);
    set_stop_signals(SIG_BLOCK);
    return rc == OI_OK ? CLI_EXIT_OK : cli_fail_store(ctx, rc, NULL);
}

static int watch(const cli_ctx *ctx, watch_plan *plan)
{
    bool done = false;
    int64_t committed = plan->since; /* every change up to it had committed before the read */
    int exit_code = print_new_changes(ctx, plan, &done);
    while (exit_code == CLI_EXIT_OK && !done) {
        /* The read saw every change up to `committed`: those the filter
         * left out need not be read again. */
        if (plan->since < committed)
            plan->since = committed;
        exit_code = wait_for_more(ctx, plan, &committed);
        if (exit_code == CLI_EXIT_OK)
            exit_code = print_new_changes(ctx, plan, &done);
    }
    return exit_code;
}

static int run_watch(cli_ctx *ctx, const cli_args *a)
{
    watch_plan plan = {.since = -1, .filter = OI_CHANGE_FILTER_INIT};
    int64_t count = 0;
    number_option(a, "--since", 0, &plan.since); /* vetted by check_watch() */
    number_option(a, "--count", 1, &count);
    plan.count = (uint64_t)count;
    plan.filter.table = cli_value(a, "--table");
    const char *ref = cli_value(a, "--agent");
    oi_agent agent = OI_AGENT_INIT;
    int exit_code = ref ? cli_agent_lookup(ctx, ref, &agent) : CLI_EXIT_OK;
    if (ref && exit_code == CLI_EXIT_OK)
        plan.filter.agent_id = agent.id;
    if (exit_code == CLI_EXIT_OK && plan.since < 0) {
        int rc = oi_store_revision(ctx->store, &plan.since);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, NULL);
    }
    if (exit_code == CLI_EXIT_OK) {
        handle_stop_signals();
        exit_code = watch(ctx, &plan);
    }
    oi_agent_clear(&agent);
    return exit_code;
}

static const cli_option watch_options[] = {
    { "--since", true }, { "--table", true }, { "--agent", true }, { "--count", true },
    { NULL, false }
};

const cli_command cli_cmd_watch = {
    .name = "watch", .path = "watch",
    .synopsis = "watch [--since REV] [--table T] [--agent AGENT] [--count N]",
    .summary = "Print the store's changes as they happen",
    .help =
        "Prints one line per committed change to agents, agent_states,\n"
        "agent_configs, agent_capabilities, resource_locks, recommendations or\n"
        "approvals, whoever made it (this tool, the service, plain SQL, another\n"
        "host), in revision order, until interrupted (Ctrl-C or SIGTERM: exit 0).\n"
        "A line: REVISION TABLE KIND KEY AGENT_ID (\"-\" for none); KIND is insert,\n"
        "update or delete; KEY is the row's id, or a lock's resource.\n\n"
        "Without --since it starts at the current revision: only changes made\n"
        "from now on.  The change log keeps the newest 100,000 changes of the\n"
        "last day; a --since older than that exits 4 (read the records again,\n"
        "then watch from the current revision).\n\n"
        "Options:\n"
        "  --since REV      print the changes after revision REV first\n"
        "  --table T        only the changes of table T (one of those above)\n"
        "  --agent AGENT    only the changes of the rows of AGENT (name or id)\n"
        "  --count N        exit 0 after N changes\n"
        "  --json           one object a line (NDJSON): {revision, table, key,\n"
        "                   agent_id, kind, changed_at}\n\n"
        "Examples:\n"
        "  optiinfra watch --agent \"Cost Optimizer\"\n"
        "  optiinfra watch --json --table resource_locks --since 1200\n",
    .options = watch_options, .max_args = 0, .needs_head = true,
    .check = check_watch, .run = run_watch,
};
