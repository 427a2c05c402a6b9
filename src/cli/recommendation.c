/*
 * recommendation.c - `optiinfra recommendations CUSTOMER` and the
 * `optiinfra recommendation show|approve|reject|move` commands: the
 * orchestrator's (and an operator's) hands on the recommendation lifecycle.
 *
 * Every change is one library call, atomic on its own: approve and reject
 * write the status and the approvals row together, and refuse a
 * recommendation that is no longer pending (exit 7, with the current
 * status in the message), so two operators deciding at once cannot both
 * win.  After a change the command reads the recommendation back to show
 * it; with --json that is the same document `recommendation show` prints,
 * so a script sees the state it caused.  The state machine is in
 * docs/orchestration.md and in `optiinfra recommendation move --help`.
 */
#include <math.h>
#include <string.h>
#include "cli.h"

#define LIST_HINT "`optiinfra recommendations CUSTOMER` lists a customer's recommendations"

/* ---- loading ------------------------------------------------------------------ */

typedef struct rec_details {
    oi_recommendation rec;
    oi_approval *approvals;
    size_t napprovals;
} rec_details;

static void free_details(rec_details *d)
{
    oi_recommendation_clear(&d->rec);
    view_free_approvals(d->approvals, d->napprovals);
}

static int load_details(const cli_ctx *ctx, const char *id, rec_details *d)
{
    oi_iter *it;
    memset(d, 0, sizeof *d);
    oi_recommendation_init(&d->rec, OI_RECOMMENDATION_VERSION);
    int rc = oi_recommendation_get(ctx->store, id, &d->rec);
    if (rc == OI_OK) {
        rc = oi_approval_iter_by_recommendation(&it, ctx->store, id);
        rc = view_collect_approvals(rc, it, &d->approvals, &d->napprovals);
    }
    if (rc == OI_ENOTFOUND)
        return cli_fail(CLI_EXIT_NOT_FOUND, LIST_HINT, "no recommendation with id %s", id);
    return rc == OI_OK ? CLI_EXIT_OK : cli_fail_store(ctx, rc, NULL);
}

/* ---- text ------------------------------------------------------------------------ */

static const char *number_text(double v, char *buf)
{
    return isnan(v) ? NULL : cli_format_number(v, buf);
}

static const char *time_text(oi_time t, char *buf)
{
    return t == OI_TIME_NULL ? NULL : oi_time_format(t, buf);
}

static void add_field(cli_table *t, const char *label, const char *value)
{
    const char *row[] = { label, value };
    cli_table_add(t, row);
}

static void print_fields(const oi_recommendation *r)
{
    char savings[CLI_TEXT_BUFSZ], improvement[CLI_TEXT_BUFSZ], confidence[CLI_TEXT_BUFSZ];
    char created[OI_TIME_BUFSZ], updated[OI_TIME_BUFSZ], approved[OI_TIME_BUFSZ],
        executed[OI_TIME_BUFSZ];
    cli_table t;
    cli_table_init(&t, 2, NULL);
    add_field(&t, "id", r->id);
    add_field(&t, "status", r->status);
    add_field(&t, "priority", r->priority);
    add_field(&t, "type", r->type);
    add_field(&t, "customer", r->customer_id);
    add_field(&t, "agent", r->agent_id);
    add_field(&t, "description", r->description);
    add_field(&t, "estimated savings", number_text(r->estimated_savings, savings));
    add_field(&t, "estimated improvement", number_text(r->estimated_improvement, improvement));
    add_field(&t, "confidence", number_text(r->confidence_score, confidence));
    add_field(&t, "data", r->data);
    add_field(&t, "created", time_text(r->created_at, created));
    add_field(&t, "updated", time_text(r->updated_at, updated));
    add_field(&t, "approved", time_text(r->approved_at, approved));
    add_field(&t, "executed", time_text(r->executed_at, executed));
    printf("Recommendation: %s\n", r->title);
    cli_table_print(&t, "  ");
    cli_table_free(&t);
}

static void print_approvals(const rec_details *d)
{
    static const char *const headers[] = { "WHEN", "DECISION", "BY", "COMMENT" };
    if (d->napprovals == 0) {
        puts("\nApprovals: none");
        return;
    }
    cli_table t;
    cli_table_init(&t, 4, headers);
    for (size_t i = 0; i < d->napprovals; i++) {
        const oi_approval *a = &d->approvals[i];
        char when[OI_TIME_BUFSZ];
        const char *row[] = { time_text(a->created_at, when), a->status, a->approved_by,
                              a->comment };
        cli_table_add(&t, row);
    }
    printf("\nApprovals (%zu):\n", d->napprovals);
    cli_table_print(&t, "  ");
    cli_table_free(&t);
}

/* ---- recommendation show, and the output of every change ---------------------- */

/* The recommendation as `show` prints it; `done` (text only) is a line that
 * says what the command changed, printed instead of the details. */
static int print_recommendation(const cli_ctx *ctx, const char *id, const char *done)
{
    rec_details d;
    int exit_code = load_details(ctx, id, &d);
    if (exit_code == CLI_EXIT_OK && ctx->json) {
        exit_code = cli_json_print(view_recommendation_details(&d.rec, d.approvals,
                                                               d.napprovals));
    } else if (exit_code == CLI_EXIT_OK && done) {
        printf("%s\n", done);
    } else if (exit_code == CLI_EXIT_OK) {
        print_fields(&d.rec);
        print_approvals(&d);
    }
    free_details(&d);
    return exit_code;
}

static int run_show(cli_ctx *ctx, const cli_args *a)
{
    return print_recommendation(ctx, a->pos[0], NULL);
}

/* A library call's failure; not found gets the way to find the ids. */
static int fail_change(const cli_ctx *ctx, int rc)
{
    return cli_fail_store(ctx, rc, rc == OI_ENOTFOUND ? LIST_HINT : NULL);
}

/* ---- approve, reject ------------------------------------------------------------- */

typedef int (*decide_fn)(oi_store *store, const char *id, const char *approved_by,
                         const char *comment, oi_approval *out);

static int check_decision_args(const cli_ctx *ctx, const cli_args *a)
{
    const char *by = cli_value(a, "--by");
    if (!by)
        return cli_fail_usage(ctx->cmd, "--by WHO is required: say who decides");
    if (!*by) /* given, but empty: a bad value (exit 3), as every empty name is */
        return cli_fail(CLI_EXIT_INVALID, NULL, "--by is empty: say who decides");
    return CLI_EXIT_OK;
}

static int run_decision(cli_ctx *ctx, const cli_args *a, decide_fn decide, const char *verb)
{
    const char *id = a->pos[0], *by = cli_value(a, "--by");
    int rc = decide(ctx->store, id, by, cli_value(a, "--comment"), NULL);
    if (rc != OI_OK)
        return fail_change(ctx, rc);
    char done[256];
    snprintf(done, sizeof done, "Recommendation %s %s by %s.", id, verb, by);
    return print_recommendation(ctx, id, done);
}

static int run_approve(cli_ctx *ctx, const cli_args *a)
{
    return run_decision(ctx, a, oi_recommendation_approve, "approved");
}

static int run_reject(cli_ctx *ctx, const cli_args *a)
{
    return run_decision(ctx, a, oi_recommendation_reject, "rejected");
}

/* ---- move ---------------------------------------------------------------------------- */

/* approved and rejected need who decided: point to the commands that ask. */
static int check_move_args(const cli_ctx *ctx, const cli_args *a)
{
    (void)ctx;
    const char *status = a->pos[1];
    bool approve = strcmp(status, "approved") == 0;
    if (approve || strcmp(status, "rejected") == 0)
        return cli_fail(CLI_EXIT_INVALID, NULL, "a recommendation becomes %s by a decision "
                        "that says who made it: use `optiinfra recommendation %s %s --by WHO`",
                        status, approve ? "approve" : "reject", a->pos[0]);
    return CLI_EXIT_OK;
}

static int run_move(cli_ctx *ctx, const cli_args *a)
{
    const char *id = a->pos[0], *status = a->pos[1];
    int rc = oi_recommendation_move(ctx->store, id, status);
    if (rc != OI_OK)
        return fail_change(ctx, rc);
    char done[128];
    snprintf(done, sizeof done, "Recommendation %s is now %s.", id, status);
    return print_recommendation(ctx, id, done);
}

/* ---- recommendations [CUSTOMER] -------------------------------------------------------- */

/* The table of recs: c's, or, for c NULL, every customer's, with a
 * CUSTOMER column (the customer's id). */
static void print_list(const oi_customer *c, const oi_recommendation *recs, size_t n)
{
    static const char *const one_customer[] = {
        "ID", "STATUS", "PRIORITY", "TYPE", "SAVINGS", "CREATED", "TITLE"
    };
    static const char *const every_customer[] = {
        "ID", "CUSTOMER", "STATUS", "PRIORITY", "TYPE", "SAVINGS", "CREATED", "TITLE"
    };
    if (n == 0) {
        if (c)
            printf("No recommendations for customer %s match.\n", c->email);
        else
            printf("No recommendations match.\n");
        return;
    }
    oi_time now = oi_time_now();
    cli_table t;
    cli_table_init(&t, c ? 7 : 8, c ? one_customer : every_customer);
    for (size_t i = 0; i < n; i++) {
        const oi_recommendation *r = &recs[i];
        char savings[CLI_TEXT_BUFSZ], age[CLI_TEXT_BUFSZ];
        number_text(r->estimated_savings, savings);
        cli_format_age(r->created_at, now, age);
        const char *of_one[] = { r->id, r->status, r->priority, r->type, savings, age, r->title };
        const char *of_every[] = { r->id, r->customer_id, r->status, r->priority, r->type,
                                   savings, age, r->title };
        cli_table_add(&t, c ? of_one : of_every);
    }
    cli_table_print(&t, "");
    cli_table_free(&t);
}

static int print_list_json(const oi_recommendation *recs, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_recommendation(&recs[i]));
    return cli_json_print(list);
}

static int run_list(cli_ctx *ctx, const cli_args *a)
{
    oi_customer customer = OI_CUSTOMER_INIT;
    bool one = a->npos == 1; /* else every customer's */
    oi_recommendation *recs = NULL;
    size_t n = 0;
    oi_iter *it = NULL;
    int rc = one ? oi_customer_lookup(ctx->store, a->pos[0], &customer) : OI_OK;
    if (rc == OI_OK && one)
        rc = oi_recommendation_iter_by_customer(&it, ctx->store, customer.id,
                                                cli_value(a, "--status"));
    else if (rc == OI_OK)
        rc = oi_recommendation_iter(&it, ctx->store, cli_value(a, "--status"));
    rc = view_collect_recommendations(rc, it, &recs, &n);
    int exit_code = CLI_EXIT_OK;
    if (rc != OI_OK)
        exit_code = cli_fail_store(ctx, rc, NULL);
    else if (ctx->json)
        exit_code = print_list_json(recs, n);
    else
        print_list(one ? &customer : NULL, recs, n);
    view_free_recommendations(recs, n);
    oi_customer_clear(&customer);
    return exit_code;
}

/* ---- declarations ------------------------------------------------------------------------ */

#define STATE_MACHINE_HELP                                                    \
    "Statuses and the moves between them:\n"                                 \
    "  pending   -> approved  (recommendation approve) | rejected (reject)\n" \
    "  approved  -> executing (recommendation move; sets executed_at)\n"      \
    "  executing -> completed | failed\n"                                     \
    "  completed | failed -> rolled_back\n"                                   \
    "rejected and rolled_back are final.  A move the current status does\n"  \
    "not allow exits 7 and writes nothing.\n"

static const cli_option list_options[] = { { "--status", true }, { NULL, false } };

const cli_command cli_cmd_recommendations = {
    .name = "recommendations", .path = "recommendations",
    .synopsis = "recommendations [CUSTOMER] [--status S]",
    .summary = "List a customer's recommendations, or every customer's, newest first",
    .help =
        "CUSTOMER is the customer's id or email; without it, every customer's\n"
        "recommendations are listed, with a CUSTOMER column (the customer's id).\n"
        "Columns: ID, STATUS, PRIORITY, TYPE, SAVINGS (estimated), CREATED (age),\n"
        "TITLE.\n\n"
        "Options:\n"
        "  --status S  only recommendations in status S: pending, approved,\n"
        "              rejected, executing, completed, failed, rolled_back\n"
        "  --json      print [{id, customer_id, agent_id, type, title, description,\n"
        "              estimated_savings, estimated_improvement, confidence_score,\n"
        "              priority, status, data, created_at, updated_at, approved_at,\n"
        "              executed_at, revision}]\n\n"
        "An unknown customer exits 4, an unknown status 3.\n\n"
        "Examples:\n"
        "  optiinfra recommendations platform@acme-ai.example --status pending\n"
        "  optiinfra recommendations 550e8400-e29b-41d4-a716-446655440000 --json\n"
        "  optiinfra recommendations --status pending\n",
    .options = list_options, .min_args = 0, .max_args = 1, .needs_head = true,
    .run = run_list,
};

static const cli_command rec_show = {
    .name = "show", .path = "recommendation show", .synopsis = "recommendation show ID",
    .summary = "Show one recommendation with its approvals",
    .help =
        "The recommendation's fields, then its approvals (decisions), oldest first.\n\n"
        "Options:\n"
        "  --json  print the recommendation as in `recommendations --json`, with\n"
        "          \"approvals\": [{id, approved_by, status, comment, created_at,\n"
        "          updated_at, revision}]\n\n"
        "An unknown id exits 4.\n\n"
        "Example:\n"
        "  optiinfra recommendation show 550e8400-e29b-41d4-a716-446655440301\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_show,
};

static const cli_option decision_options[] = {
    { "--by", true }, { "--comment", true }, { NULL, false }
};

static const cli_command rec_approve = {
    .name = "approve", .path = "recommendation approve",
    .synopsis = "recommendation approve ID --by WHO [--comment WHY]",
    .summary = "Approve a pending recommendation, recording who and why",
    .help =
        "In one transaction: the status becomes approved, approved_at is set and\n"
        "an approval (status approved, approved_by WHO, comment WHY) is written.\n"
        "A recommendation that is not pending is refused with exit 7, its\n"
        "current status in the message, and nothing is written: of two people\n"
        "deciding at once, exactly one succeeds.\n\n"
        "Options:\n"
        "  --by WHO       who decides (required): a person or a service\n"
        "  --comment WHY  why\n"
        "  --json         print the recommendation as `recommendation show --json`\n\n"
        STATE_MACHINE_HELP "\n"
        "Example (on the seed data):\n"
        "  optiinfra recommendation approve 550e8400-e29b-41d4-a716-446655440302 \\\n"
        "      --by maria.chen@acme-ai.example --comment \"fits the Q3 budget\"\n",
    .options = decision_options, .min_args = 1, .max_args = 1, .needs_head = true,
    .check = check_decision_args, .run = run_approve,
};

static const cli_command rec_reject = {
    .name = "reject", .path = "recommendation reject",
    .synopsis = "recommendation reject ID --by WHO [--comment WHY]",
    .summary = "Reject a pending recommendation, recording who and why",
    .help =
        "As `recommendation approve`, with status rejected; approved_at stays\n"
        "empty.  rejected is final.\n\n"
        "Options:\n"
        "  --by WHO       who decides (required)\n"
        "  --comment WHY  why\n"
        "  --json         print the recommendation as `recommendation show --json`\n\n"
        STATE_MACHINE_HELP "\n"
        "Example (on the seed data):\n"
        "  optiinfra recommendation reject 550e8400-e29b-41d4-a716-446655440303 \\\n"
        "      --by maria.chen@acme-ai.example --comment \"too risky\"\n",
    .options = decision_options, .min_args = 1, .max_args = 1, .needs_head = true,
    .check = check_decision_args, .run = run_reject,
};

static const cli_command rec_move = {
    .name = "move", .path = "recommendation move",
    .synopsis = "recommendation move ID STATUS",
    .summary = "Move a recommendation to executing, completed, failed or rolled_back",
    .help =
        "One atomic step that checks the current status.  approved and rejected\n"
        "are reached with `recommendation approve|reject`, which record who\n"
        "decided (moving there exits 3).\n\n"
        "Options:\n"
        "  --json  print the recommendation as `recommendation show --json`\n\n"
        STATE_MACHINE_HELP "\n"
        "Examples (on the seed data, where this one is executing):\n"
        "  optiinfra recommendation move 550e8400-e29b-41d4-a716-446655440301 completed\n"
        "  optiinfra recommendation move 550e8400-e29b-41d4-a716-446655440301 rolled_back\n",
    .min_args = 2, .max_args = 2, .needs_head = true, .check = check_move_args,
    .run = run_move,
};

static const cli_command *const rec_subcommands[] = {
    &rec_show, &rec_approve, &rec_reject, &rec_move, NULL
};

const cli_command cli_cmd_recommendation = {
    .name = "recommendation", .path = "recommendation", .synopsis = "recommendation COMMAND",
    .summary = "Look at one recommendation and move it through its statuses",
    .subcommands = rec_subcommands,
};
