/*
 * token.c - `optiinfra token create|list|revoke`: the API tokens of the
 * HTTP service.
 *
 *   token create --admin | --read-only | --agent AGENT [--label L]
 *   token list
 *   token revoke ID
 *
 * `token create` is the one place a token's text is ever shown: the store
 * keeps its SHA-256 only.  The text goes alone on the last line of
 * standard output, after a line for people, so that a script keeps it with
 * `tail -n 1` (or reads "token" of --json).  Nothing else prints a token or
 * its hash: `token list` shows what the store has, which is everything but
 * the secret.
 */
#include <string.h>
#include "cli.h"

/* ---- token create --------------------------------------------------------- */

static const char *const role_flags[] = { "--admin", "--read-only", "--agent" };

static int check_create(const cli_ctx *ctx, const cli_args *a)
{
    int roles = 0;
    for (size_t i = 0; i < sizeof role_flags / sizeof *role_flags; i++)
        roles += cli_flag(a, role_flags[i]);
    if (roles != 1)
        return cli_fail_usage(ctx->cmd, "give exactly one of --admin, --read-only and "
                                        "--agent AGENT");
    const char *label = cli_value(a, "--label");
    if (label && !*label) /* the library's "" is no label; said here, it is a slip */
        return cli_fail(CLI_EXIT_INVALID, NULL, "--label is empty: give a note, or leave "
                        "--label out");
    return CLI_EXIT_OK;
}

/* "API token <id> created (role agent, agent 'X', label 'L'); store it now: ...",
 * then the token alone on the last line. */
static int print_created(const cli_ctx *ctx, const oi_api_token *t, const char *token)
{
    if (ctx->json) {
        json_t *j = view_api_token(t);
        if (j)
            json_object_set_new(j, "token", json_string(token));
        return cli_json_print(j);
    }
    printf("API token %s created (role %s", t->id, oi_token_role_name(t->role));
    if (t->agent_name)
        printf(", agent '%s'", t->agent_name);
    if (t->label)
        printf(", label '%s'", t->label);
    printf("); store it now: it is shown only once\n%s\n", token);
    return CLI_EXIT_OK;
}

static int run_create(cli_ctx *ctx, const cli_args *a)
{
    const char *ref = cli_value(a, "--agent");
    oi_token_role role = cli_flag(a, "--admin") ? OI_TOKEN_ADMIN
                         : cli_flag(a, "--read-only") ? OI_TOKEN_READ_ONLY : OI_TOKEN_AGENT;
    oi_agent agent = OI_AGENT_INIT;
    oi_api_token t = OI_API_TOKEN_INIT;
    char token[OI_TOKEN_BUFSZ] = "";
    int exit_code = ref ? cli_agent_lookup(ctx, ref, &agent) : CLI_EXIT_OK;
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_token_create(ctx->store, role, ref ? agent.id : NULL, cli_value(a, "--label"),
                                 token, &t);
        exit_code = rc == OI_OK ? print_created(ctx, &t, token) : cli_fail_store(ctx, rc, NULL);
    }
    explicit_bzero(token, sizeof token);
    oi_api_token_clear(&t);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- token list ----------------------------------------------------------- */

static void print_token_table(const oi_api_token *tokens, size_t n)
{
    static const char *const headers[] = { "ID", "ROLE", "AGENT", "LABEL", "CREATED" };
    cli_table t;
    cli_table_init(&t, 5, headers);
    for (size_t i = 0; i < n; i++) {
        char created[OI_TIME_BUFSZ];
        const char *row[] = { tokens[i].id, oi_token_role_name(tokens[i].role),
                              tokens[i].agent_name, tokens[i].label,
                              oi_time_format(tokens[i].created_at, created) };
        cli_table_add(&t, row);
    }
    if (n == 0)
        puts("No API tokens; `optiinfra token create` makes one.");
    else
        cli_table_print(&t, "");
    cli_table_free(&t);
}

static int run_list(cli_ctx *ctx, const cli_args *a)
{
    oi_api_token *tokens = NULL;
    size_t n = 0;
    oi_iter *it;
    (void)a;
    int rc = oi_token_iter_new(&it, ctx->store);
    rc = view_collect_tokens(rc, it, &tokens, &n);
    int exit_code = CLI_EXIT_OK;
    if (rc != OI_OK) {
        exit_code = cli_fail_store(ctx, rc, NULL);
    } else if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, view_api_token(&tokens[i]));
        exit_code = cli_json_print(list);
    } else {
        print_token_table(tokens, n);
    }
    view_free_tokens(tokens, n);
    return exit_code;
}

/* ---- token revoke --------------------------------------------------------- */

static int run_revoke(cli_ctx *ctx, const cli_args *a)
{
    int rc = oi_token_revoke(ctx->store, a->pos[0]);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, rc == OI_ENOTFOUND ? "`optiinfra token list` lists them"
                                                          : NULL);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s, s:b}", "id", a->pos[0], "revoked", 1));
    printf("API token %s revoked\n", a->pos[0]);
    return CLI_EXIT_OK;
}

/* ---- declarations --------------------------------------------------------- */

static const cli_option create_options[] = {
    { "--admin", false }, { "--read-only", false }, { "--agent", true }, { "--label", true },
    { NULL, false }
};

static const cli_command token_create = {
    .name = "create", .path = "token create",
    .synopsis = "token create --admin | --read-only | --agent AGENT [--label L]",
    .summary = "Make an API token for optiinfra serve and print it once",
    .help =
        "The token is oit_ followed by 64 hex digits, 256 random bits.  The store\n"
        "keeps only its SHA-256, so it cannot be shown again: store it now (revoke\n"
        "it and make another if it is lost).  It is alone on the last line of\n"
        "standard output, after a line saying what was made.\n\n"
        "Give exactly one role: --admin, --read-only or --agent AGENT.\n\n"
        "Options:\n"
        "  --admin        an admin token: every operation\n"
        "  --read-only    a read-only token: reads only\n"
        "  --agent AGENT  an agent token, acting for AGENT (a name or an id) only;\n"
        "                 it is deleted with the agent\n"
        "  --label L      a note for people, at most 200 bytes (token list shows it)\n"
        "  --json         print {id, role, agent_id, agent, label, created_at, token}\n\n"
        "Examples:\n"
        "  optiinfra token create --admin --label ops\n"
        "  TOKEN=$(optiinfra token create --agent \"Cost Optimizer\" | tail -n 1)\n",
    .options = create_options, .max_args = 0, .needs_head = true,
    .check = check_create, .run = run_create,
};

static const cli_command token_list = {
    .name = "list", .path = "token list", .synopsis = "token list",
    .summary = "List the API tokens (never the tokens themselves)",
    .help =
        "Columns: ID, ROLE (admin, read_only or agent), AGENT (of an agent token),\n"
        "LABEL, CREATED.  Oldest first.  The store does not have the tokens'\n"
        "text, only their SHA-256, and shows neither.\n\n"
        "Options:\n"
        "  --json  print [{id, role, agent_id, agent, label, created_at}]\n",
    .max_args = 0, .needs_head = true, .run = run_list,
};

static const cli_command token_revoke = {
    .name = "revoke", .path = "token revoke", .synopsis = "token revoke ID",
    .summary = "Revoke an API token",
    .help =
        "Deletes the token with this id (from `optiinfra token list`): it stops\n"
        "working at once.  Exit 4 when there is no such token.\n\n"
        "Options:\n"
        "  --json  print {id, revoked: true}\n",
    .min_args = 1, .max_args = 1, .needs_head = true, .run = run_revoke,
};

static const cli_command *const token_subcommands[] = {
    &token_create, &token_list, &token_revoke, NULL
};

const cli_command cli_cmd_token = {
    .name = "token", .path = "token", .synopsis = "token COMMAND",
    .summary = "Make, list and revoke the API tokens of optiinfra serve",
    .subcommands = token_subcommands,
};
