/*
 * agents.c - `optiinfra agents` and `optiinfra agent show NAME|ID`, and the
 * `agent` group (whose runtime subcommands live in runtime.c).
 *
 * `agents` is the operator's glance: one line per agent with its live state,
 * how long ago it last sent a heartbeat and the health derived from that;
 * `agents --stale D` keeps only the agents the library finds stale or never
 * seen.  `agent show` is everything the store knows about one agent: its
 * row, configs, state, capability rows and the newest value of each metric.
 *
 * A heartbeat is recorded in two places (agents.last_heartbeat from 0.2a,
 * agent_states.last_heartbeat from 0.2b); both commands show the newer, and
 * judge health by it, as the library does (view_newest_heartbeat()).
 * A sensitive config value is always printed as ********, in JSON too: this
 * command is for looking, and screens and logs are not the place for secrets.
 * The JSON of both commands is the views' (view_agent_summary(),
 * view_view_agent_parts()), which the HTTP service shares; the text is here.
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cli.h"

/* "2026-11-25T08:11:55.123456Z (12s ago)", or "never". */
static char *time_and_age(oi_time t, oi_time now, char *buf, size_t size)
{
    char when[OI_TIME_BUFSZ], age[CLI_TEXT_BUFSZ];
    if (t == OI_TIME_NULL)
        snprintf(buf, size, "never");
    else
        snprintf(buf, size, "%s (%s)", oi_time_format(t, when), cli_format_age(t, now, age));
    return buf;
}

/* ---- agents ------------------------------------------------------------ */

typedef struct agent_row {
    oi_agent *agent;
    oi_agent_state state;
    bool has_state;
} agent_row;

static int compare_rows(const void *a, const void *b)
{
    const oi_agent *x = ((const agent_row *)a)->agent, *y = ((const agent_row *)b)->agent;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->type, y->type);
}

static void free_rows(agent_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        oi_agent_state_clear(&rows[i].state);
    free(rows);
}

/* One row per agent with its state, sorted by name. */
static int load_rows(oi_store *store, oi_agent *agents, size_t n, agent_row **out)
{
    agent_row *rows = oi_calloc(n ? n : 1, sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].agent = &agents[i];
        oi_agent_state_init(&rows[i].state, OI_AGENT_STATE_VERSION);
        int rc = view_find_state(store, agents[i].id, &rows[i].state, &rows[i].has_state);
        if (rc != OI_OK) {
            free_rows(rows, n);
            return rc;
        }
    }
    qsort(rows, n, sizeof *rows, compare_rows);
    *out = rows;
    return OI_OK;
}

/* --stale: keep only the rows of the agents the library reports stale or never seen. */
static int keep_stale(oi_store *store, int64_t older_than, agent_row *rows, size_t *n)
{
    oi_agent_liveness *stale = NULL;
    size_t nstale = 0, kept = 0;
    oi_iter *it;
    int rc = oi_agent_stale_iter_new(&it, store, older_than);
    rc = view_collect_liveness(rc, it, &stale, &nstale);
    for (size_t i = 0; rc == OI_OK && i < *n; i++) {
        bool is_stale = false;
        for (size_t k = 0; k < nstale && !is_stale; k++)
            is_stale = strcmp(stale[k].agent_id, rows[i].agent->id) == 0;
        if (is_stale)
            rows[kept++] = rows[i];
        else
            oi_agent_state_clear(&rows[i].state);
    }
    if (rc == OI_OK)
        *n = kept;
    view_free_liveness(stale, nstale);
    return rc;
}

static void print_agent_table(const agent_row *rows, size_t n, oi_time now, int64_t stale_after)
{
    static const char *const headers[] = {
        "NAME", "TYPE", "STATUS", "WORKFLOW", "HEARTBEAT", "HEALTH", "ERRORS"
    };
    cli_table t;
    cli_table_init(&t, 7, headers);
    for (size_t i = 0; i < n; i++) {
        const agent_row *r = &rows[i];
        const oi_agent_state *s = r->has_state ? &r->state : NULL;
        char age[CLI_TEXT_BUFSZ], errors[CLI_TEXT_BUFSZ] = "-";
        if (s)
            snprintf(errors, sizeof errors, "%d", s->error_count);
        const char *row[] = {
            r->agent->name, r->agent->type, s ? s->status : r->agent->status,
            s ? s->current_workflow : NULL,
            cli_format_age(view_newest_heartbeat(r->agent, s), now, age),
            view_health(r->agent, s, now, stale_after), errors
        };
        cli_table_add(&t, row);
    }
    if (n == 0)
        puts("No agents; `optiinfra seed core` writes the four core agents.");
    else
        cli_table_print(&t, "");
    cli_table_free(&t);
}

static int print_agent_rows(const cli_ctx *ctx, const agent_row *rows, size_t n,
                            int64_t stale_after, bool stale_only)
{
    oi_time now = oi_time_now();
    if (!ctx->json && n == 0 && stale_only) {
        char d[CLI_TEXT_BUFSZ];
        printf("No stale agents: every agent sent a heartbeat within %s.\n",
               cli_format_duration(stale_after / 1000000, d));
        return CLI_EXIT_OK;
    }
    if (!ctx->json) {
        print_agent_table(rows, n, now, stale_after);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const oi_agent_state *s = rows[i].has_state ? &rows[i].state : NULL;
        json_array_append_new(list, view_agent_summary(rows[i].agent, s, now, stale_after));
    }
    return cli_json_print(list);
}

static int check_agents(const cli_ctx *ctx, const cli_args *a)
{
    int64_t micros;
    if (cli_flag(a, "--stale") && cli_flag(a, "--stale-after"))
        return cli_fail_usage(ctx->cmd, "give --stale or --stale-after, not both");
    int exit_code = cli_duration_option(ctx, a, "--stale", &micros);
    return exit_code ? exit_code : cli_duration_option(ctx, a, "--stale-after", &micros);
}

static int run_agents(cli_ctx *ctx, const cli_args *args)
{
    int64_t stale_after = OI_STALE_AFTER_DEFAULT; /* options vetted by check_agents() */
    bool stale_only = cli_flag(args, "--stale");
    cli_duration_option(ctx, args, stale_only ? "--stale" : "--stale-after", &stale_after);
    oi_agent *agents = NULL;
    agent_row *rows = NULL;
    size_t n = 0, shown = 0;
    oi_iter *it;
    int rc = oi_agent_iter_new(&it, ctx->store);
    rc = view_collect_agents(rc, it, &agents, &n);
    if (rc == OI_OK)
        rc = load_rows(ctx->store, agents, n, &rows);
    shown = n;
    if (rc == OI_OK && stale_only)
        rc = keep_stale(ctx->store, stale_after, rows, &shown);
    if (rc != OI_OK) {
        if (rows)
            free_rows(rows, shown);
        view_free_agents(agents, n);
        return cli_fail_store(ctx, rc, NULL);
    }
    int exit_code = print_agent_rows(ctx, rows, shown, stale_after, stale_only);
    free_rows(rows, shown);
    view_free_agents(agents, n);
    return exit_code;
}

/* ---- agent show: loading ----------------------------------------------- */

/* ---- agent show: text -------------------------------------------------- */

static void add_field(cli_table *t, const char *label, const char *value)
{
    const char *row[] = { label, value };
    cli_table_add(t, row);
}

static void print_fields(const char *title, cli_table *t)
{
    printf("%s\n", title);
    cli_table_print(t, "  ");
    cli_table_free(t);
}

/* "Configs (3):" then the table, or "Configs: none". */
static void print_section(const char *title, cli_table *t)
{
    if (t->nrows == 0)
        printf("\n%s: none\n", title);
    else {
        printf("\n%s (%zu):\n", title, t->nrows);
        cli_table_print(t, "  ");
    }
    cli_table_free(t);
}

static void print_agent_fields(const view_agent_parts *d, oi_time now, int64_t stale_after)
{
    const oi_agent *a = &d->agent;
    const oi_agent_state *s = d->has_state ? &d->state : NULL;
    char beat[96], created[OI_TIME_BUFSZ], updated[OI_TIME_BUFSZ], title[256];
    cli_table t;
    cli_table_init(&t, 2, NULL);
    add_field(&t, "id", a->id);
    add_field(&t, "type", a->type);
    add_field(&t, "version", a->agent_version);
    add_field(&t, "status", a->status);
    add_field(&t, "endpoint", a->endpoint);
    add_field(&t, "capabilities", a->capabilities);
    add_field(&t, "metadata", a->metadata);
    add_field(&t, "last heartbeat",
              time_and_age(view_newest_heartbeat(a, s), now, beat, sizeof beat));
    add_field(&t, "health", view_health(a, s, now, stale_after));
    add_field(&t, "created", oi_time_format(a->created_at, created));
    add_field(&t, "updated", oi_time_format(a->updated_at, updated));
    snprintf(title, sizeof title, "Agent %s:", a->name);
    print_fields(title, &t);
}

static void print_configs(const view_agent_parts *d)
{
    static const char *const headers[] = { "KEY", "VALUE", "TYPE" };
    cli_table t;
    cli_table_init(&t, 3, headers);
    for (size_t i = 0; i < d->nconfigs; i++) {
        const oi_agent_config *c = &d->configs[i];
        const char *row[] = { c->config_key, view_config_value(c, false), c->config_type };
        cli_table_add(&t, row);
    }
    print_section("Configs", &t);
}

static void print_state(const view_agent_parts *d, oi_time now)
{
    if (!d->has_state) {
        puts("\nState: none");
        return;
    }
    const oi_agent_state *s = &d->state;
    char errors[CLI_TEXT_BUFSZ], beat[96];
    snprintf(errors, sizeof errors, "%d", s->error_count);
    cli_table t;
    cli_table_init(&t, 2, NULL);
    add_field(&t, "status", s->status);
    add_field(&t, "workflow", s->current_workflow);
    add_field(&t, "workflow data", s->workflow_data);
    add_field(&t, "resource locks", s->resource_locks);
    add_field(&t, "error count", errors);
    add_field(&t, "last error", s->last_error);
    add_field(&t, "heartbeat", time_and_age(s->last_heartbeat, now, beat, sizeof beat));
    print_fields("\nState:", &t);
}

static void print_capabilities(const view_agent_parts *d)
{
    static const char *const headers[] = { "NAME", "VERSION", "ENABLED" };
    cli_table t;
    cli_table_init(&t, 3, headers);
    for (size_t i = 0; i < d->ncapabilities; i++) {
        const oi_agent_capability *c = &d->capabilities[i];
        const char *row[] = { c->capability_name, c->capability_version,
                              c->is_enabled ? "yes" : "no" };
        cli_table_add(&t, row);
    }
    print_section("Capabilities", &t);
}

static void print_latest_metrics(const view_agent_parts *d, oi_time now)
{
    static const char *const headers[] = { "NAME", "VALUE", "UNIT", "COLLECTED" };
    cli_table t;
    cli_table_init(&t, 4, headers);
    for (size_t i = 0; i < d->nlatest_metrics; i++) {
        const oi_agent_metric *m = &d->latest_metrics[i];
        char value[CLI_TEXT_BUFSZ], age[CLI_TEXT_BUFSZ];
        const char *row[] = { m->metric_name, cli_format_number(m->metric_value, value),
                              m->metric_unit, cli_format_age(m->collection_timestamp, now, age) };
        cli_table_add(&t, row);
    }
    print_section("Latest metrics", &t);
}

static void print_details(const view_agent_parts *d, int64_t stale_after)
{
    oi_time now = oi_time_now();
    print_agent_fields(d, now, stale_after);
    print_configs(d);
    print_state(d, now);
    print_capabilities(d);
    print_latest_metrics(d, now);
}

static int check_agent_show(const cli_ctx *ctx, const cli_args *a)
{
    int64_t micros;
    return cli_duration_option(ctx, a, "--stale-after", &micros);
}

static int run_agent_show(cli_ctx *ctx, const cli_args *args)
{
    view_agent_parts d;
    int64_t stale_after = OI_STALE_AFTER_DEFAULT; /* vetted by check_agent_show() */
    cli_duration_option(ctx, args, "--stale-after", &stale_after);
    int rc = view_agent_parts_load(ctx->store, args->pos[0], &d);
    if (rc != OI_OK) {
        view_agent_parts_free(&d);
        return cli_fail_store(ctx, rc,
                              rc == OI_ENOTFOUND ? "`optiinfra agents` lists the agents" : NULL);
    }
    int exit_code = CLI_EXIT_OK;
    if (ctx->json)
        exit_code = cli_json_print(view_agent_details(&d, oi_time_now(), stale_after));
    else
        print_details(&d, stale_after);
    view_agent_parts_free(&d);
    return exit_code;
}

/* ---- declarations ------------------------------------------------------ */

static const cli_option agents_options[] = {
    { "--stale", true }, { "--stale-after", true }, { NULL, false }
};

const cli_command cli_cmd_agents = {
    .name = "agents", .path = "agents", .synopsis = "agents [--stale D | --stale-after D]",
    .summary = "List the agents with their state, last heartbeat and health",
    .help =
        "Columns: NAME, TYPE, STATUS (the state's status, else the agent's),\n"
        "WORKFLOW (current workflow), HEARTBEAT (age of the newest heartbeat, or\n"
        "never), HEALTH, ERRORS (the state's error count).  Sorted by name.\n\n"
        "HEALTH is healthy (a heartbeat within the threshold), stale (the newest\n"
        "heartbeat is older) or never seen.  The threshold is 90s unless given.\n\n"
        "Options:\n"
        "  --stale D        list only the agents whose newest heartbeat is older\n"
        "                   than D, and those never seen (exit 0 even if none);\n"
        "                   D is also the HEALTH threshold: 90s, 15m, 2h, 30d\n"
        "  --stale-after D  the HEALTH threshold, listing every agent\n"
        "  --json           print [{id, name, type, version, status, state:\n"
        "                   {status, current_workflow, error_count} or null,\n"
        "                   last_heartbeat, heartbeat_age_seconds, health}]\n\n"
        "Examples:\n"
        "  optiinfra agents\n"
        "  optiinfra agents --stale 90s\n",
    .options = agents_options, .max_args = 0, .needs_head = true,
    .check = check_agents, .run = run_agents,
};

static const cli_option show_options[] = { { "--stale-after", true }, { NULL, false } };

static const cli_command agent_show = {
    .name = "show", .path = "agent show", .synopsis = "agent show NAME|ID [--stale-after D]",
    .summary = "Show one agent: fields, configs, state, capabilities, metrics",
    .help =
        "NAME is the agent's name (e.g. \"Cost Optimizer\"; quote it) or its UUID.\n"
        "A name that agents of several types share must be given as an id.\n"
        "Sensitive config values are always shown as " VIEW_MASKED_VALUE ".\n"
        "Latest metrics: the newest value of each metric of the agent, by name.\n\n"
        "The health (healthy, stale, never seen) is judged from the newest\n"
        "heartbeat against the threshold (default 90s).\n\n"
        "Options:\n"
        "  --stale-after D  the health threshold: 90s, 15m, 2h, 30d\n"
        "  --json           print the agent as a JSON object with health, configs,\n"
        "                   state, agent_capabilities and latest_metrics\n\n"
        "Examples:\n"
        "  optiinfra agent show \"Cost Optimizer\"\n"
        "  optiinfra agent show 3f0c8a9e-0d1b-4c55-9a57-5d0f1b7e2c11 --json\n",
    .options = show_options, .min_args = 1, .max_args = 1, .needs_head = true,
    .check = check_agent_show, .run = run_agent_show,
};

static const cli_command *const agent_subcommands[] = {
    &agent_show, &cli_cmd_agent_heartbeat, &cli_cmd_agent_start, &cli_cmd_agent_finish,
    &cli_cmd_agent_error, &cli_cmd_agent_recover, NULL
};

const cli_command cli_cmd_agent = {
    .name = "agent", .path = "agent", .synopsis = "agent COMMAND",
    .summary = "Look at one agent, record its heartbeats and state changes",
    .subcommands = agent_subcommands,
};
