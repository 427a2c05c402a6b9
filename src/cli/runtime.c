/*
 * runtime.c - `optiinfra agent heartbeat|start|finish|error|recover`: what a
 * running agent (or an operator acting for it) records.
 *
 *   agent heartbeat AGENT
 *   agent start AGENT WORKFLOW [--data JSON]
 *   agent finish AGENT
 *   agent error AGENT MESSAGE [--severity low|medium|high|critical]
 *   agent recover AGENT
 *
 * AGENT is a name or an id.  Each command is one library call, atomic on
 * its own; a move the state machine does not allow exits 7 with the
 * library's message, which names the current and the required status.
 * These commands are declared here and listed in the `agent` group of
 * agents.c.  The duration option helper shared with `agents` and `lock`
 * lives here too.
 */
#include <string.h>
#include "cli.h"

#define AGENT_ARG_HELP \
    "AGENT is the agent's name (quote it: \"Cost Optimizer\") or its id.\n"

#define STATE_JSON_HELP                                                            \
    "  --json  print the new state: {agent_id, name, status, current_workflow,\n" \
    "          workflow_data, error_count, last_error, last_heartbeat, updated_at,\n" \
    "          revision}\n"

/* ---- agent heartbeat ----------------------------------------------------- */

static int print_heartbeat(const cli_ctx *ctx, const oi_agent *agent, oi_time at)
{
    char when[OI_TIME_BUFSZ];
    if (ctx->json)
        return cli_json_print(view_heartbeat(agent, at));
    printf("Heartbeat of agent '%s' recorded at %s\n", agent->name, oi_time_format(at, when));
    return CLI_EXIT_OK;
}

static int run_heartbeat(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_time at = OI_TIME_NULL;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_agent_heartbeat(ctx->store, agent.id, &at);
        exit_code = rc == OI_OK ? print_heartbeat(ctx, &agent, at) : cli_fail_store(ctx, rc, NULL);
    }
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- transitions ---------------------------------------------------------- */

/* "Cost Optimizer: status active, workflow 'nightly', error count 1" */
static void print_state(const oi_agent *agent, const oi_agent_state *s)
{
    printf("%s: status %s", agent->name, s->status);
    if (s->current_workflow)
        printf(", workflow '%s'", s->current_workflow);
    printf(", error count %d\n", s->error_count);
}

/* One transition of the agent named by a->pos[0]; the rest of a is its own. */
typedef int (*transition_fn)(oi_store *store, const char *agent_id, const cli_args *a,
                             oi_agent_state *out);

static int run_transition(cli_ctx *ctx, const cli_args *a, transition_fn move)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_state state = OI_AGENT_STATE_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = move(ctx->store, agent.id, a, &state);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, NULL);
        else if (ctx->json)
            exit_code = cli_json_print(view_transition(&agent, &state));
        else
            print_state(&agent, &state);
    }
    oi_agent_state_clear(&state);
    oi_agent_clear(&agent);
    return exit_code;
}

static int start_move(oi_store *st, const char *id, const cli_args *a, oi_agent_state *out)
{
    return oi_agent_start_workflow(st, id, a->pos[1], cli_value(a, "--data"), out);
}

static int finish_move(oi_store *st, const char *id, const cli_args *a, oi_agent_state *out)
{
    (void)a;
    return oi_agent_finish_workflow(st, id, out);
}

static int error_move(oi_store *st, const char *id, const cli_args *a, oi_agent_state *out)
{
    return oi_agent_record_error(st, id, a->pos[1], cli_value(a, "--severity"), out);
}

static int recover_move(oi_store *st, const char *id, const cli_args *a, oi_agent_state *out)
{
    (void)a;
    return oi_agent_recover(st, id, out);
}

static int run_start(cli_ctx *ctx, const cli_args *a) { return run_transition(ctx, a, start_move); }
static int run_finish(cli_ctx *ctx, const cli_args *a) { return run_transition(ctx, a, finish_move); }
static int run_error(cli_ctx *ctx, const cli_args *a) { return run_transition(ctx, a, error_move); }
static int run_recover(cli_ctx *ctx, const cli_args *a) { return run_transition(ctx, a, recover_move); }

/* ---- declarations ------------------------------------------------------- */

const cli_command cli_cmd_agent_heartbeat = {
    .name = "heartbeat", .path = "agent heartbeat", .synopsis = "agent heartbeat AGENT",
    .summary = "Record a heartbeat of an agent now",
    .help =
        AGENT_ARG_HELP
        "Sets the agent's last heartbeat (agents.last_heartbeat and\n"
        "agent_states.last_heartbeat, in one transaction) to now.  An agent without\n"
        "a state gets one, idle.  A stored heartbeat never moves backwards.\n\n"
        "Options:\n"
        "  --json  print {agent_id, name, last_heartbeat}\n\n"
        "Example:\n"
        "  optiinfra agent heartbeat \"Cost Optimizer\"\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_heartbeat,
};

static const cli_option start_options[] = { { "--data", true }, { NULL, false } };

const cli_command cli_cmd_agent_start = {
    .name = "start", .path = "agent start", .synopsis = "agent start AGENT WORKFLOW [--data JSON]",
    .summary = "Start a workflow: idle -> active",
    .help =
        AGENT_ARG_HELP
        "Allowed only when the agent is idle (an agent without a state is idle);\n"
        "otherwise exit 7, naming the agent's status.  Of two concurrent starts\n"
        "exactly one succeeds.\n\n"
        "Options:\n"
        "  --data JSON  the workflow's data, a JSON object (default {})\n"
        STATE_JSON_HELP "\n"
        "Example:\n"
        "  optiinfra agent start \"Cost Optimizer\" nightly_rightsizing \\\n"
        "      --data '{\"cluster\": \"gpu-a\"}'\n",
    .options = start_options, .min_args = 2, .max_args = 2, .needs_head = true,
    .run = run_start,
};

const cli_command cli_cmd_agent_finish = {
    .name = "finish", .path = "agent finish", .synopsis = "agent finish AGENT",
    .summary = "Finish the running workflow: active -> idle",
    .help =
        AGENT_ARG_HELP
        "Clears the workflow and its data.  Allowed only when the agent is active;\n"
        "otherwise exit 7.\n\n"
        "Options:\n" STATE_JSON_HELP "\n"
        "Example:\n"
        "  optiinfra agent finish \"Cost Optimizer\"\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_finish,
};

static const cli_option error_options[] = { { "--severity", true }, { NULL, false } };

const cli_command cli_cmd_agent_error = {
    .name = "error", .path = "agent error",
    .synopsis = "agent error AGENT MESSAGE [--severity S]",
    .summary = "Record an error: status error, error count + 1",
    .help =
        AGENT_ARG_HELP
        "Sets last_error to {timestamp, error: MESSAGE, severity} and adds one to\n"
        "the error count; the running workflow, if any, is kept to show what\n"
        "failed.  Allowed from idle, active and error; otherwise exit 7.\n"
        "Concurrent errors are all counted.\n\n"
        "Options:\n"
        "  --severity S  low, medium, high or critical (default " OI_SEVERITY_DEFAULT ")\n"
        STATE_JSON_HELP "\n"
        "Example:\n"
        "  optiinfra agent error \"Cost Optimizer\" \"billing API timed out\" --severity high\n",
    .options = error_options, .min_args = 2, .max_args = 2, .needs_head = true,
    .run = run_error,
};

const cli_command cli_cmd_agent_recover = {
    .name = "recover", .path = "agent recover", .synopsis = "agent recover AGENT",
    .summary = "Recover from an error: error -> idle",
    .help =
        AGENT_ARG_HELP
        "Clears the workflow; keeps the error count and the last error.  Allowed\n"
        "only when the agent's status is error; otherwise exit 7.\n\n"
        "Options:\n" STATE_JSON_HELP "\n"
        "Example:\n"
        "  optiinfra agent recover \"Cost Optimizer\"\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_recover,
};
