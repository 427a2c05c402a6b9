/*
 * capability.c - `optiinfra capability register|enable|disable|list|newest|
 * agents`: versioned capabilities of agents.
 *
 * Versions are semantic versions, ordered by the library
 * (oi_semver_compare): `list` shows them oldest first and `newest` picks the
 * highest enabled one, so 1.10.0 beats 1.9.0.  `newest` prints the bare
 * version, for $(...) in scripts, and exits 4 when no version is enabled, so
 * `if optiinfra capability newest A X >/dev/null` asks "can A do X?".
 * `agents NAME` is the orchestrator's question: who can do NAME, with which
 * version.
 */
#include <string.h>
#include "alloc.h"
#include "cli.h"

/* "Cost Optimizer: spot_migration 1.2.0 enabled", or "... registered (enabled)" */
static int print_change(const cli_ctx *ctx, const oi_agent *agent, const oi_agent_capability *c,
                        bool registered)
{
    const char *state = c->is_enabled ? "enabled" : "disabled";
    if (ctx->json)
        return cli_json_print(view_capability(c));
    if (registered)
        printf("%s: %s %s registered (%s)\n", agent->name, c->capability_name,
               c->capability_version, state);
    else
        printf("%s: %s %s %s\n", agent->name, c->capability_name, c->capability_version, state);
    return CLI_EXIT_OK;
}

/* ---- register, enable, disable ----------------------------------------- */

/* Registers the version, then reads it back as stored (parameters as the
 * database normalised them). */
static int register_version(cli_ctx *ctx, const cli_args *a, const oi_agent *agent,
                            oi_agent_capability *stored)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, agent->id, sizeof c.agent_id);
    c.capability_name = a->pos[1];
    c.capability_version = a->pos[2];
    c.description = (char *)cli_value(a, "--description");
    c.parameters = (char *)cli_value(a, "--parameters");
    c.is_enabled = !cli_flag(a, "--disabled");
    int rc = oi_capability_register(ctx->store, &c);
    if (rc == OI_OK)
        rc = oi_agent_capability_get(ctx->store, c.id, stored);
    return rc == OI_OK ? print_change(ctx, agent, stored, true) : cli_fail_store(ctx, rc, NULL);
}

static int run_register(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_capability stored = OI_AGENT_CAPABILITY_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK)
        exit_code = register_version(ctx, a, &agent, &stored);
    oi_agent_capability_clear(&stored);
    oi_agent_clear(&agent);
    return exit_code;
}

static int set_enabled(cli_ctx *ctx, const cli_args *a, bool enabled)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_capability_set_enabled(ctx->store, agent.id, a->pos[1], a->pos[2], enabled,
                                           &c);
        exit_code = rc == OI_OK ? print_change(ctx, &agent, &c, false)
                                : cli_fail_store(ctx, rc, rc == OI_ENOTFOUND
                                    ? "`optiinfra capability list AGENT` lists its versions"
                                    : NULL);
    }
    oi_agent_capability_clear(&c);
    oi_agent_clear(&agent);
    return exit_code;
}

static int run_enable(cli_ctx *ctx, const cli_args *a)
{
    return set_enabled(ctx, a, true);
}

static int run_disable(cli_ctx *ctx, const cli_args *a)
{
    return set_enabled(ctx, a, false);
}

/* ---- list, newest -------------------------------------------------------- */

static int print_capabilities(const cli_ctx *ctx, const oi_agent *agent,
                              const oi_agent_capability *items, size_t n)
{
    static const char *const headers[] = {"NAME", "VERSION", "ENABLED", "DESCRIPTION"};
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, view_capability(&items[i]));
        return cli_json_print(list);
    }
    if (n == 0) {
        printf("%s has no capabilities; `optiinfra capability register` adds one.\n",
               agent->name);
        return CLI_EXIT_OK;
    }
    cli_table t;
    cli_table_init(&t, 4, headers);
    for (size_t i = 0; i < n; i++) {
        const oi_agent_capability *c = &items[i];
        const char *row[] = {c->capability_name, c->capability_version,
                             c->is_enabled ? "yes" : "no", c->description};
        cli_table_add(&t, row);
    }
    cli_table_print(&t, "");
    cli_table_free(&t);
    return CLI_EXIT_OK;
}

static int run_list(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_capability *items = NULL;
    size_t n = 0;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        oi_iter *it;
        int rc = oi_agent_capability_iter_by_agent(&it, ctx->store, agent.id);
        rc = view_collect_capabilities(rc, it, &items, &n);
        exit_code = rc == OI_OK ? print_capabilities(ctx, &agent, items, n)
                                : cli_fail_store(ctx, rc, NULL);
    }
    view_free_capabilities(items, n);
    oi_agent_clear(&agent);
    return exit_code;
}

static int run_newest(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_capability_newest(ctx->store, agent.id, a->pos[1], &c);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, NULL);
        else if (ctx->json)
            exit_code = cli_json_print(view_capability(&c));
        else
            puts(c.capability_version);
    }
    oi_agent_capability_clear(&c);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- agents -------------------------------------------------------------- */

/* An agent that can do the capability, with its newest enabled version. */
typedef struct capable {
    oi_agent agent;
    oi_agent_capability capability;
} capable;

static void free_capable(capable *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        oi_agent_clear(&items[i].agent);
        oi_agent_capability_clear(&items[i].capability);
    }
    free(items);
}

static int collect_capable(oi_store *store, const char *name, capable **items, size_t *n)
{
    static const capable empty = {OI_AGENT_INIT, OI_AGENT_CAPABILITY_INIT};
    size_t cap = 0;
    oi_iter *it;
    int rc = oi_capable_agent_iter_new(&it, store, name);
    *items = NULL;
    *n = 0;
    while (rc == OI_OK) {
        *items = oi_grow(*items, &cap, *n, sizeof **items);
        (*items)[*n] = empty;
        rc = oi_capable_agent_next(it, &(*items)[*n].agent, &(*items)[*n].capability);
        if (rc == OI_OK)
            ++*n;
    }
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

static int print_capable(const cli_ctx *ctx, const char *name, const capable *items,
                         size_t n)
{
    static const char *const headers[] = {"AGENT", "TYPE", "VERSION", "STATUS", "HEARTBEAT"};
    oi_time now = oi_time_now();
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, view_capable_agent(&items[i].agent,
                                                           &items[i].capability, now));
        return cli_json_print(list);
    }
    if (n == 0) {
        printf("No agent has an enabled version of %s.\n", name);
        return CLI_EXIT_OK;
    }
    cli_table t;
    cli_table_init(&t, 5, headers);
    for (size_t i = 0; i < n; i++) {
        const oi_agent *a = &items[i].agent;
        char age[CLI_TEXT_BUFSZ];
        const char *row[] = {a->name, a->type, items[i].capability.capability_version,
                             a->status, cli_format_age(a->last_heartbeat, now, age)};
        cli_table_add(&t, row);
    }
    cli_table_print(&t, "");
    cli_table_free(&t);
    return CLI_EXIT_OK;
}

static int run_agents(cli_ctx *ctx, const cli_args *a)
{
    capable *items = NULL;
    size_t n = 0;
    int rc = collect_capable(ctx->store, a->pos[0], &items, &n);
    int exit_code = rc == OI_OK ? print_capable(ctx, a->pos[0], items, n)
                                : cli_fail_store(ctx, rc, NULL);
    free_capable(items, n);
    return exit_code;
}

/* ---- declarations -------------------------------------------------------- */

#define AGENT_HELP "AGENT is the agent's name (quote it) or its UUID.\n"
#define VERSION_HELP                                                                    \
    "VERSION is a semantic version: MAJOR.MINOR.PATCH, digits without leading\n"        \
    "zeros, with an optional -prerelease and +build (1.2.0, 2.0.0-rc.1).\n"
#define JSON_RECORD_HELP                                                                \
    "  --json  print {id, name, version, description, parameters, enabled,\n"           \
    "          created_at, updated_at, revision}\n"

static const cli_option register_options[] = {
    {"--description", true}, {"--parameters", true}, {"--disabled", false}, {NULL, false}
};

static const cli_command capability_register = {
    .name = "register", .path = "capability register",
    .synopsis = "capability register AGENT NAME VERSION [--parameters JSON]",
    .summary = "Register a version of a capability of an agent",
    .help =
        AGENT_HELP VERSION_HELP
        "Several versions of one capability may coexist; each is enabled or not.\n"
        "Exit 3 for a bad version or parameters, 4 for an unknown agent, 7 when\n"
        "the agent already has this version (enable or disable it instead).\n\n"
        "Options:\n"
        "  --description TEXT  what the capability does\n"
        "  --parameters JSON   a JSON object (default {})\n"
        "  --disabled          register it disabled (default: enabled)\n"
        JSON_RECORD_HELP "\n"
        "Example:\n"
        "  optiinfra capability register \"Cost Optimizer\" spot_migration 1.2.0 \\\n"
        "      --parameters '{\"max_interruption_rate\": 0.05}'\n",
    .options = register_options, .min_args = 3, .max_args = 3, .needs_head = true,
    .run = run_register,
};

static const cli_command capability_enable = {
    .name = "enable", .path = "capability enable",
    .synopsis = "capability enable AGENT NAME VERSION",
    .summary = "Enable one version of a capability of an agent",
    .help =
        AGENT_HELP VERSION_HELP
        "Enabling an enabled version changes nothing but its updated_at.\n"
        "Exit 4 when the agent or the version does not exist.\n\n"
        "Options:\n" JSON_RECORD_HELP "\n"
        "Example:\n"
        "  optiinfra capability enable \"Cost Optimizer\" spot_migration 1.2.0\n",
    .min_args = 3, .max_args = 3, .needs_head = true, .run = run_enable,
};

static const cli_command capability_disable = {
    .name = "disable", .path = "capability disable",
    .synopsis = "capability disable AGENT NAME VERSION",
    .summary = "Disable one version of a capability of an agent",
    .help =
        AGENT_HELP VERSION_HELP
        "A disabled version stays listed but is never the newest, and an agent\n"
        "with no enabled version of a capability is not among those that can do\n"
        "it.  Exit 4 when the agent or the version does not exist.\n\n"
        "Options:\n" JSON_RECORD_HELP "\n"
        "Example:\n"
        "  optiinfra capability disable \"Cost Optimizer\" spot_migration 1.1.0\n",
    .min_args = 3, .max_args = 3, .needs_head = true, .run = run_disable,
};

static const cli_command capability_list = {
    .name = "list", .path = "capability list", .synopsis = "capability list AGENT",
    .summary = "List every version of every capability of an agent",
    .help =
        AGENT_HELP
        "Columns: NAME, VERSION, ENABLED (yes/no), DESCRIPTION; by name, then\n"
        "oldest version first in semantic-version order (1.9.0 before 1.10.0).\n\n"
        "Options:\n"
        "  --json  print [{id, name, version, description, parameters, enabled,\n"
        "          created_at, updated_at, revision}]\n\n"
        "Example:\n"
        "  optiinfra capability list \"Cost Optimizer\"\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_list,
};

static const cli_command capability_newest = {
    .name = "newest", .path = "capability newest", .synopsis = "capability newest AGENT NAME",
    .summary = "Print the newest enabled version of a capability of an agent",
    .help =
        AGENT_HELP
        "Prints the version alone, highest in semantic-version order among the\n"
        "enabled ones (1.10.0 beats 1.9.0; 2.0.0-rc.1 beats 1.10.0 but not 2.0.0).\n"
        "Exit 4 when no version is enabled, or the agent does not exist.\n\n"
        "Options:\n" JSON_RECORD_HELP "\n"
        "Example:\n"
        "  optiinfra capability newest \"Cost Optimizer\" spot_migration\n",
    .min_args = 2, .max_args = 2, .needs_head = true, .run = run_newest,
};

static const cli_command capability_agents = {
    .name = "agents", .path = "capability agents", .synopsis = "capability agents NAME",
    .summary = "List the agents that can do a capability, with their newest version",
    .help =
        "Agents with at least one enabled version of capability NAME, by name.\n"
        "Columns: AGENT, TYPE, VERSION (the agent's newest enabled version),\n"
        "STATUS (the agent's), HEARTBEAT (age of its last heartbeat, or never).\n"
        "Agents of every status are listed: check STATUS and HEARTBEAT before\n"
        "sending work.  No agent is not an error (exit 0, empty list).\n\n"
        "Options:\n"
        "  --json  print [{agent_id, name, type, status, last_heartbeat,\n"
        "          heartbeat_age_seconds, version, capability: {...}}]\n\n"
        "Example:\n"
        "  optiinfra capability agents cost_analysis\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_agents,
};

static const cli_command *const capability_subcommands[] = {
    &capability_register, &capability_enable, &capability_disable, &capability_list,
    &capability_newest, &capability_agents, NULL
};

const cli_command cli_cmd_capability = {
    .name = "capability", .path = "capability", .synopsis = "capability COMMAND",
    .summary = "Register, enable and query versioned capabilities of agents",
    .subcommands = capability_subcommands,
};
