/*
 * locks.c - `optiinfra lock acquire|release` and `optiinfra locks`.
 *
 *   lock acquire AGENT RESOURCE [--ttl DURATION] [--stale-after DURATION]
 *                [--lock-delay DURATION]
 *   lock release AGENT RESOURCE
 *   locks [--agent AGENT] [--stale-after DURATION]
 *
 * `lock acquire` is meant for scripts: exit 0 when AGENT holds the lock
 * afterwards (acquired, renewed or taken over), exit 9 (CLI_EXIT_HELD)
 * when another live agent holds it, with one line on stderr naming the
 * holder and the expiry.  A script can loop on exit 9 and renew with the
 * same command while it works.
 */
#include <string.h>
#include "cli.h"

/* "live", "expired", "holder stale" or "expired, holder stale". */
static const char *lock_state(const oi_lock *lock)
{
    if (lock->expired)
        return lock->holder_stale ? "expired, holder stale" : "expired";
    return lock->holder_stale ? "holder stale" : "live";
}

/* ---- lock acquire --------------------------------------------------------- */

/* --lock-delay: a duration, or 0 for none (the other durations must be > 0). */
static int lock_delay_option(const cli_args *a, int64_t *micros)
{
    const char *text = cli_value(a, "--lock-delay");
    if (!text)
        return CLI_EXIT_OK;
    if (oi_duration_parse(text, micros) != OI_OK || *micros < 0 || *micros > OI_LOCK_TTL_MAX)
        return cli_fail(CLI_EXIT_INVALID, "use 0 or a duration like 500ms, 15s or 1m (at most 366d)",
                        "--lock-delay is not a duration of at most 366 days");
    return CLI_EXIT_OK;
}

static int check_acquire(const cli_ctx *ctx, const cli_args *a)
{
    int64_t micros;
    int exit_code = cli_duration_option(ctx, a, "--ttl", &micros);
    if (exit_code == CLI_EXIT_OK)
        exit_code = cli_duration_option(ctx, a, "--stale-after", &micros);
    return exit_code ? exit_code : lock_delay_option(a, &micros);
}

/* " from agent 'Cost Optimizer'" after a takeover, else "". */
static void print_taken_from(const cli_ctx *ctx, const oi_lock *lock)
{
    oi_agent previous = OI_AGENT_INIT;
    if (strcmp(view_lock_outcome(lock), "taken over") != 0)
        return;
    if (oi_agent_get(ctx->store, lock->previous_agent_id, &previous) == OI_OK)
        printf(" from agent '%s'", previous.name);
    else
        printf(" from agent %s", lock->previous_agent_id); /* deleted since */
    oi_agent_clear(&previous);
}

static int print_acquired(const cli_ctx *ctx, const oi_lock *lock)
{
    oi_time now = oi_time_now();
    char until[OI_TIME_BUFSZ], in[CLI_TEXT_BUFSZ];
    if (ctx->json)
        return cli_json_print(view_lock_acquired(lock, now));
    printf("Lock on '%s' %s by agent '%s' until %s (%s)", lock->resource,
           view_lock_outcome(lock), lock->agent_name, oi_time_format(lock->expires_at, until),
           cli_format_age(lock->expires_at, now, in));
    print_taken_from(ctx, lock);
    printf(", fence %lld\n", (long long)lock->fence);
    return CLI_EXIT_OK;
}

static int run_acquire(cli_ctx *ctx, const cli_args *a)
{
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    cli_duration_option(ctx, a, "--ttl", &opts.ttl); /* vetted by check_acquire() */
    cli_duration_option(ctx, a, "--stale-after", &opts.stale_after);
    lock_delay_option(a, &opts.lock_delay);
    oi_agent agent = OI_AGENT_INIT;
    oi_lock lock = OI_LOCK_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_lock_acquire_with(ctx->store, agent.id, a->pos[1], &opts, &lock);
        exit_code = rc == OI_OK ? print_acquired(ctx, &lock) : cli_fail_store(ctx, rc, NULL);
    }
    oi_lock_clear(&lock);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- lock release ------------------------------------------------------- */

static int run_release(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_lock_release(ctx->store, agent.id, a->pos[1]);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, "`optiinfra locks` lists the holders");
        else if (ctx->json)
            exit_code = cli_json_print(json_pack("{s:s, s:s, s:b}", "resource", a->pos[1],
                                                 "agent_id", agent.id, "released", 1));
        else
            printf("Released '%s' held by agent '%s'\n", a->pos[1], agent.name);
    }
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- locks -------------------------------------------------------------- */

static void print_lock_table(const oi_lock *locks, size_t n, oi_time now)
{
    static const char *const headers[] = { "RESOURCE", "HOLDER", "ACQUIRED", "EXPIRES", "STATE" };
    cli_table t;
    cli_table_init(&t, 5, headers);
    for (size_t i = 0; i < n; i++) {
        char acquired[CLI_TEXT_BUFSZ], expires[CLI_TEXT_BUFSZ];
        const char *row[] = { locks[i].resource, locks[i].agent_name,
                              cli_format_age(locks[i].acquired_at, now, acquired),
                              cli_format_age(locks[i].expires_at, now, expires),
                              lock_state(&locks[i]) };
        cli_table_add(&t, row);
    }
    if (n == 0)
        puts("No locks.");
    else
        cli_table_print(&t, "");
    cli_table_free(&t);
}

static int print_locks(const cli_ctx *ctx, const oi_lock *locks, size_t n)
{
    oi_time now = oi_time_now();
    if (!ctx->json) {
        print_lock_table(locks, n, now);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_lock(&locks[i], now));
    return cli_json_print(list);
}

static int check_locks(const cli_ctx *ctx, const cli_args *a)
{
    int64_t micros;
    return cli_duration_option(ctx, a, "--stale-after", &micros);
}

static int run_locks(cli_ctx *ctx, const cli_args *a)
{
    int64_t stale_after = OI_STALE_AFTER_DEFAULT;
    cli_duration_option(ctx, a, "--stale-after", &stale_after); /* vetted by check_locks() */
    const char *ref = cli_value(a, "--agent");
    oi_agent agent = OI_AGENT_INIT;
    oi_lock *locks = NULL;
    size_t n = 0;
    int exit_code = ref ? cli_agent_lookup(ctx, ref, &agent) : CLI_EXIT_OK;
    if (exit_code == CLI_EXIT_OK) {
        oi_iter *it;
        int rc = oi_lock_iter_new(&it, ctx->store, ref ? agent.id : NULL, stale_after);
        rc = view_collect_locks(rc, it, &locks, &n);
        exit_code = rc == OI_OK ? print_locks(ctx, locks, n) : cli_fail_store(ctx, rc, NULL);
    }
    view_free_locks(locks, n);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- declarations ------------------------------------------------------- */

#define STALE_AFTER_HELP                                                             \
    "  --stale-after D  a holder whose newest heartbeat is older than D is stale\n"  \
    "                   (default 90s)\n"

static const cli_option acquire_options[] = {
    { "--ttl", true }, { "--stale-after", true }, { "--lock-delay", true }, { NULL, false }
};

static const cli_command lock_acquire = {
    .name = "acquire", .path = "lock acquire",
    .synopsis = "lock acquire AGENT RESOURCE [--ttl D] [--lock-delay D]",
    .summary = "Acquire or renew a resource lock for an agent",
    .help =
        "AGENT is a name or an id; RESOURCE is any name of 1 to 255 bytes without\n"
        "control characters (\"gpu_pool\", \"k8s/cluster-a\").\n\n"
        "Exit 0 when AGENT holds the lock afterwards:\n"
        "  acquired    the resource was free\n"
        "  renewed     AGENT held it already; its expiry moves to now + TTL\n"
        "  taken over  the holder's lock had expired, or the holder's heartbeat\n"
        "              was older than the stale threshold plus the lock-delay (a\n"
        "              holder that never sent a heartbeat is judged by its TTL alone)\n"
        "Exit 9 when another live agent holds it, or while the lock-delay of a\n"
        "deregistered holder runs; stderr says who or until when.  At most one\n"
        "agent holds a resource at a time, whatever the number of processes\n"
        "racing for it.\n\n"
        "Each acquisition (not a renewal) prints a fencing token (\"fence\"),\n"
        "greater than every token issued before.  Pass it with the writes made\n"
        "under the lock (`config set --fence N`): the store refuses a token older\n"
        "than the resource's newest, so a holder that paused past its lock cannot\n"
        "overwrite its successor (docs/coordination.md).\n\n"
        "Options:\n"
        "  --ttl D          how long the lock lasts unless renewed (default 5m;\n"
        "                   at most 366d): 500ms, 90s, 15m, 2h, 30d\n"
        STALE_AFTER_HELP
        "  --lock-delay D   a stale holder's resource is free only D after it went\n"
        "                   stale, and this lock's resource only D after AGENT is\n"
        "                   deregistered (default 15s; 0: at once)\n"
        "  --json           print {resource, agent_id, agent, previous_agent_id,\n"
        "                   acquired_at, expires_at, holder_heartbeat,\n"
        "                   expires_in_seconds, expired, holder_stale, live, fence,\n"
        "                   outcome}\n\n"
        "Examples:\n"
        "  optiinfra lock acquire \"Cost Optimizer\" gpu_pool --ttl 10m\n"
        "  until optiinfra lock acquire \"Cost Optimizer\" gpu_pool; do sleep 5; done\n",
    .options = acquire_options, .min_args = 2, .max_args = 2, .needs_head = true,
    .check = check_acquire, .run = run_acquire,
};

static const cli_command lock_release = {
    .name = "release", .path = "lock release", .synopsis = "lock release AGENT RESOURCE",
    .summary = "Release a resource lock an agent holds",
    .help =
        "Releases AGENT's lock on RESOURCE, expired or not.  Exit 4 when AGENT\n"
        "does not hold it (the message says who does, if anyone).\n\n"
        "Options:\n"
        "  --json  print {resource, agent_id, released: true}\n\n"
        "Example:\n"
        "  optiinfra lock release \"Cost Optimizer\" gpu_pool\n",
    .min_args = 2, .max_args = 2, .needs_head = true, .run = run_release,
};

static const cli_command *const lock_subcommands[] = { &lock_acquire, &lock_release, NULL };

const cli_command cli_cmd_lock = {
    .name = "lock", .path = "lock", .synopsis = "lock COMMAND",
    .summary = "Acquire and release resource locks",
    .subcommands = lock_subcommands,
};

static const cli_option locks_options[] = {
    { "--agent", true }, { "--stale-after", true }, { NULL, false }
};

const cli_command cli_cmd_locks = {
    .name = "locks", .path = "locks", .synopsis = "locks [--agent AGENT]",
    .summary = "List the resource locks and their holders",
    .help =
        "Columns: RESOURCE, HOLDER (agent name), ACQUIRED, EXPIRES (\"in 4m\" or\n"
        "\"12s ago\"), STATE: live, expired, holder stale (its heartbeat is older\n"
        "than the stale threshold) or both.  A lock that is not live can be taken\n"
        "over by the next `lock acquire`; until then it is listed.  By resource.\n\n"
        "Options:\n"
        "  --agent AGENT    only the locks AGENT holds\n"
        STALE_AFTER_HELP
        "  --json           print [{resource, agent_id, agent, previous_agent_id,\n"
        "                   acquired_at, expires_at, holder_heartbeat,\n"
        "                   expires_in_seconds, expired, holder_stale, live, fence}]\n\n"
        "Example:\n"
        "  optiinfra locks --agent \"Cost Optimizer\"\n",
    .options = locks_options, .max_args = 0, .needs_head = true,
    .check = check_locks, .run = run_locks,
};
