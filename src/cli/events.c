/*
 * events.c - `optiinfra event record` and `optiinfra events`: what happens
 * to a customer, written by agents and the orchestrator, read newest first.
 *
 * A customer is named by id or email and an agent by name or id, as people
 * know them; the library resolves both (oi_customer_lookup,
 * oi_agent_lookup) so an unknown one is "not found" (exit 4) before
 * anything is written.  Severity and the data JSON are checked by the
 * library, so the tool and any other client refuse the same inputs with the
 * same messages (exit 3).  The options that only the command line has
 * (--limit, --since) are checked before the database is opened (exit 2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define DEFAULT_EVENT_LIMIT 50

/* ---- shared ---------------------------------------------------------------- */

static int lookup_customer(const cli_ctx *ctx, const char *ref, oi_customer *out)
{
    int rc = oi_customer_lookup(ctx->store, ref, out);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    return CLI_EXIT_OK;
}

/* ---- event record ------------------------------------------------------------ */

/* The agent named by --agent, if given, into ev->agent_id. */
static int resolve_agent(const cli_ctx *ctx, const cli_args *a, oi_event *ev)
{
    const char *ref = cli_value(a, "--agent");
    if (!ref)
        return CLI_EXIT_OK;
    oi_agent agent = OI_AGENT_INIT;
    int exit_code = cli_agent_lookup(ctx, ref, &agent);
    if (exit_code == CLI_EXIT_OK)
        memcpy(ev->agent_id, agent.id, sizeof ev->agent_id);
    oi_agent_clear(&agent);
    return exit_code;
}

/* Resolves the customer and agent, writes the event and reads it back as
 * the database holds it (defaults filled in, jsonb's spacing). */
static int record_event(const cli_ctx *ctx, const cli_args *a, oi_event *stored)
{
    oi_customer customer = OI_CUSTOMER_INIT;
    oi_event ev = OI_EVENT_INIT;
    ev.event_type = a->pos[1];
    ev.severity = (char *)cli_value(a, "--severity");
    ev.data = (char *)cli_value(a, "--data");
    int exit_code = lookup_customer(ctx, a->pos[0], &customer);
    if (exit_code == CLI_EXIT_OK) {
        memcpy(ev.customer_id, customer.id, sizeof ev.customer_id);
        exit_code = resolve_agent(ctx, a, &ev);
    }
    oi_customer_clear(&customer);
    if (exit_code != CLI_EXIT_OK)
        return exit_code;
    int rc = oi_event_record(ctx->store, &ev);
    if (rc == OI_OK)
        rc = oi_event_get(ctx->store, ev.id, stored);
    return rc == OI_OK ? CLI_EXIT_OK : cli_fail_store(ctx, rc, NULL);
}

static int run_event_record(cli_ctx *ctx, const cli_args *a)
{
    oi_event ev = OI_EVENT_INIT;
    int exit_code = record_event(ctx, a, &ev);
    if (exit_code == CLI_EXIT_OK && ctx->json)
        exit_code = cli_json_print(view_event(&ev));
    else if (exit_code == CLI_EXIT_OK)
        printf("Recorded event %s: %s (%s) for customer %s\n", ev.id, ev.event_type,
               ev.severity, a->pos[0]);
    oi_event_clear(&ev);
    return exit_code;
}

/* ---- events ---------------------------------------------------------------------- */

/* A whole number from 1 up, or 0 if text is anything else. */
static size_t parse_count(const char *text)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    return *text && !*end && errno == 0 && n > 0 ? (size_t)n : 0;
}

static int check_events_args(const cli_ctx *ctx, const cli_args *a)
{
    const char *limit = cli_value(a, "--limit");
    int64_t micros;
    if (limit && parse_count(limit) == 0)
        return cli_fail(CLI_EXIT_INVALID, NULL, "--limit is not a whole number of at least 1");
    return cli_duration_option(ctx, a, "--since", &micros);
}

/* The filter from the options; check_events_args() has vetted them. */
static oi_event_filter events_filter(const cli_args *a, const char *customer_id)
{
    const char *limit = cli_value(a, "--limit");
    oi_event_filter f = OI_EVENT_FILTER_INIT;
    f.customer_id = customer_id;
    f.min_severity = cli_value(a, "--severity");
    f.event_type = cli_value(a, "--type");
    f.limit = limit ? parse_count(limit) : DEFAULT_EVENT_LIMIT;
    int64_t micros = 0;
    cli_duration_option(NULL, a, "--since", &micros); /* vetted by check_events_args() */
    if (micros)
        f.since = oi_time_now() - micros;
    return f;
}

/* An agent's name from the list, or its id if it is not there (deleted since). */
static const char *agent_name(const oi_agent *agents, size_t n, const char *id)
{
    if (!id[0])
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(agents[i].id, id) == 0)
            return agents[i].name;
    return id;
}

static int print_events_table(const cli_ctx *ctx, const oi_customer *customer,
                              const oi_event *events, size_t n)
{
    static const char *const headers[] = { "WHEN", "SEVERITY", "TYPE", "AGENT", "DATA" };
    oi_agent *agents = NULL;
    size_t nagents = 0;
    oi_iter *it;
    int rc = oi_agent_iter_new(&it, ctx->store);
    rc = view_collect_agents(rc, it, &agents, &nagents);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    oi_time now = oi_time_now();
    cli_table t;
    cli_table_init(&t, 5, headers);
    for (size_t i = 0; i < n; i++) {
        char age[CLI_TEXT_BUFSZ];
        const char *row[] = { cli_format_age(events[i].created_at, now, age),
                              events[i].severity, events[i].event_type,
                              agent_name(agents, nagents, events[i].agent_id), events[i].data };
        cli_table_add(&t, row);
    }
    if (n == 0)
        printf("No events for customer %s match.\n", customer->email);
    else
        cli_table_print(&t, "");
    cli_table_free(&t);
    view_free_agents(agents, nagents);
    return CLI_EXIT_OK;
}

static int print_events_json(const oi_event *events, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_event(&events[i]));
    return cli_json_print(list);
}

static int run_events(cli_ctx *ctx, const cli_args *a)
{
    oi_customer customer = OI_CUSTOMER_INIT;
    oi_event *events = NULL;
    size_t n = 0;
    int exit_code = lookup_customer(ctx, a->pos[0], &customer);
    if (exit_code == CLI_EXIT_OK) {
        oi_event_filter f = events_filter(a, customer.id);
        oi_iter *it;
        int rc = oi_event_iter_recent(&it, ctx->store, &f);
        rc = view_collect_events(rc, it, &events, &n);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, NULL);
        else if (ctx->json)
            exit_code = print_events_json(events, n);
        else
            exit_code = print_events_table(ctx, &customer, events, n);
    }
    view_free_events(events, n);
    oi_customer_clear(&customer);
    return exit_code;
}

/* ---- declarations ------------------------------------------------------------------ */

static const cli_option record_options[] = {
    { "--agent", true }, { "--severity", true }, { "--data", true }, { NULL, false }
};

static const cli_command event_record = {
    .name = "record", .path = "event record",
    .synopsis = "event record CUSTOMER TYPE [--agent AGENT] [--severity S] [--data JSON]",
    .summary = "Record an event for a customer",
    .help =
        "CUSTOMER is the customer's id or email; TYPE is the event type, free text\n"
        "(e.g. cost_spike, optimization_started).\n\n"
        "Options:\n"
        "  --agent AGENT   the agent the event comes from: its name or id\n"
        "  --severity S    info (default), warning, error or critical\n"
        "  --data JSON     a JSON object with the details (default {})\n"
        "  --json          print the event: {id, customer_id, agent_id, event_type,\n"
        "                  severity, data, created_at}\n\n"
        "An unknown customer or agent exits 4; a bad severity or JSON exits 3.\n"
        "Nothing is written when the command fails.\n\n"
        "Examples:\n"
        "  optiinfra event record platform@acme-ai.example cost_spike \\\n"
        "      --agent \"Cost Optimizer\" --severity warning --data '{\"increase_percent\": 42}'\n"
        "  optiinfra event record 550e8400-e29b-41d4-a716-446655440000 login\n",
    .options = record_options, .min_args = 2, .max_args = 2, .needs_head = true,
    .run = run_event_record,
};

static const cli_command *const event_subcommands[] = { &event_record, NULL };

const cli_command cli_cmd_event = {
    .name = "event", .path = "event", .synopsis = "event COMMAND",
    .summary = "Record events",
    .subcommands = event_subcommands,
};

static const cli_option events_options[] = {
    { "--limit", true }, { "--severity", true }, { "--type", true }, { "--since", true },
    { NULL, false }
};

const cli_command cli_cmd_events = {
    .name = "events", .path = "events",
    .synopsis = "events CUSTOMER [--limit N] [--severity S] [--type T] [--since DURATION]",
    .summary = "List a customer's recent events, newest first",
    .help =
        "CUSTOMER is the customer's id or email.  Columns: WHEN (age), SEVERITY,\n"
        "TYPE, AGENT (name; - for none), DATA.\n\n"
        "Options:\n"
        "  --limit N        at most N events (default 50)\n"
        "  --severity S     only S and worse: info < warning < error < critical\n"
        "  --type T         only events of type T\n"
        "  --since DURATION only events of the last DURATION (90s, 15m, 2h, 30d, 1w)\n"
        "  --json           print [{id, customer_id, agent_id, event_type, severity,\n"
        "                   data, created_at}]\n\n"
        "A malformed --limit or --since exits 2, an unknown severity 3, an unknown\n"
        "customer 4.\n\n"
        "Examples:\n"
        "  optiinfra events platform@acme-ai.example\n"
        "  optiinfra events platform@acme-ai.example --severity error --since 24h --json\n",
    .options = events_options, .min_args = 1, .max_args = 1, .needs_head = true,
    .check = check_events_args, .run = run_events,
};
