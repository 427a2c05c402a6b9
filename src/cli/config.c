/*
 * config.c - `optiinfra config set|get|list|unset`: an agent's typed configs.
 *
 * The library checks every value against its type (exit 3 with a message
 * that names the key, never the value), so this file only resolves the
 * agent (a name or an id) and prints.  A sensitive value prints as
 * VIEW_MASKED_VALUE in text and JSON unless --show-secrets is given (the
 * views decide, src/views/views.h, for every output alike); `config set`
 * never echoes a sensitive value at all.  A secret on the command line
 * is visible to other users in `ps`, so `config set --stdin` reads the value
 * from standard input instead.
 *
 * `config get` prints the bare value and a newline, so that scripts can
 * write $(optiinfra config get AGENT KEY).
 *
 * `config set --if-revision N` is a compare-and-set (1.3): the write
 * happens only if the key is still at the revision N a read showed
 * (`config get --json`), else exit 7 and nothing is written; `--fence N`
 * writes only under the lock whose fencing token N is (exit 7 when stale).
 * Both are the library's (oi_config_set_with), checked in the write's own
 * transaction, not here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cli.h"

/* ---- config set ---------------------------------------------------------- */

/* Option `name` as a whole number of at least min into *out (unchanged
 * when absent): exit 3 when malformed. */
static int whole_option(const cli_args *a, const char *name, long long min, int64_t *out)
{
    const char *text = cli_value(a, name);
    char *end;
    if (!text)
        return CLI_EXIT_OK;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || n < min)
        return cli_fail(CLI_EXIT_INVALID, NULL, "%s is not a whole number of at least %lld",
                        name, min); /* not echoed: it may be any bytes */
    *out = n;
    return CLI_EXIT_OK;
}

/* The write's options, from the command line (check_set() vetted them). */
static oi_config_set_options set_options_of(const cli_args *a)
{
    oi_config_set_options o = OI_CONFIG_SET_OPTIONS_INIT;
    o.type = cli_value(a, "--type");
    o.description = cli_value(a, "--description");
    o.sensitive = cli_flag(a, "--sensitive") ? OI_SENSITIVE_YES
                  : cli_flag(a, "--not-sensitive") ? OI_SENSITIVE_NO : OI_SENSITIVE_KEEP;
    o.if_revision = cli_flag(a, "--if-revision");
    o.fenced = cli_flag(a, "--fence");
    whole_option(a, "--if-revision", 0, &o.revision);
    whole_option(a, "--fence", 1, &o.fence);
    return o;
}

static int check_set(const cli_ctx *ctx, const cli_args *a)
{
    bool from_stdin = cli_flag(a, "--stdin");
    if (a->npos == 3 && from_stdin)
        return cli_fail_usage(ctx->cmd, "give the value as VALUE or with --stdin, not both");
    if (a->npos == 2 && !from_stdin)
        return cli_fail_usage(ctx->cmd, "missing VALUE (or --stdin to read it from standard input)");
    if (cli_flag(a, "--sensitive") && cli_flag(a, "--not-sensitive"))
        return cli_fail_usage(ctx->cmd, "--sensitive and --not-sensitive contradict each other");
    int64_t n;
    int exit_code = whole_option(a, "--if-revision", 0, &n);
    return exit_code ? exit_code : whole_option(a, "--fence", 1, &n);
}

/* Standard input less one trailing newline ("\n" or "\r\n"), into *text
 * (NUL-terminated, *len bytes, NUL bytes kept for the check to refuse).
 * Reading stops a few bytes past the longest value, so a huge input is
 * refused without being held whole; what was read still is at least one
 * byte too long after the newline goes. */
static int read_stdin(char **text, size_t *len)
{
    size_t cap = OI_DOCUMENT_MAX + 3;
    char *buf = oi_malloc(cap + 1);
    size_t n = fread(buf, 1, cap, stdin);
    if (ferror(stdin)) {
        free(buf);
        return cli_fail(CLI_EXIT_OTHER, NULL, "cannot read the value from standard input");
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CLI_EXIT_OK;
}

/* The value from standard input, as long as it is: a NUL byte in it is
 * refused here, where its length is known, rather than cutting it short. */
static int check_stdin_value(const char *key, const char *text, size_t len)
{
    char what[96], msg[OI_VALUE_MSGSZ];
    snprintf(what, sizeof what, "the value of agent config %.60s", key);
    if (oi_value_check(OI_KIND_DOCUMENT, what, text, len, msg, sizeof msg) == OI_OK)
        return CLI_EXIT_OK;
    return cli_fail(CLI_EXIT_INVALID, NULL, "%s", msg);
}

static int print_set(const cli_ctx *ctx, const oi_agent *agent, const oi_agent_config *c)
{
    if (ctx->json)
        return cli_json_print(view_config(c, false));
    printf("%s: %s = %s (%s%s)\n", agent->name, c->config_key, view_config_value(c, false),
           c->config_type, c->is_sensitive ? ", sensitive" : "");
    return CLI_EXIT_OK;
}

/* What to do when the key moved on since it was read. */
#define CONFLICT_HINT "`optiinfra config get AGENT KEY --json` shows its value and revision"

static int run_set(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_config stored = OI_AGENT_CONFIG_INIT;
    char *input = NULL;
    size_t input_len = 0;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK && cli_flag(a, "--stdin"))
        exit_code = read_stdin(&input, &input_len);
    if (exit_code == CLI_EXIT_OK && input)
        exit_code = check_stdin_value(a->pos[1], input, input_len);
    if (exit_code == CLI_EXIT_OK) {
        oi_config_set_options opts = set_options_of(a);
        int rc = oi_config_set_with(ctx->store, agent.id, a->pos[1], input ? input : a->pos[2],
                                    &opts, &stored);
        exit_code = rc == OI_OK ? print_set(ctx, &agent, &stored)
                                : cli_fail_store(ctx, rc, rc == OI_ECONFLICT ? CONFLICT_HINT
                                                                             : NULL);
        oi_agent_config_clear(&stored);
    }
    if (input) {
        memset(input, 0, input_len); /* a secret lives no longer than needed */
        free(input);
    }
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- config get ---------------------------------------------------------- */

static int run_get(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_agent_config_find(ctx->store, agent.id, a->pos[1], &c);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, "`optiinfra config list AGENT` lists its configs");
        else if (ctx->json)
            exit_code = cli_json_print(view_config(&c, cli_flag(a, "--show-secrets")));
        else
            puts(view_config_value(&c, cli_flag(a, "--show-secrets")));
    }
    oi_agent_config_clear(&c);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- config list --------------------------------------------------------- */

static void print_config_table(const oi_agent *agent, const oi_agent_config *items, size_t n,
                               bool show_secrets)
{
    static const char *const headers[] = {"KEY", "VALUE", "TYPE", "SENSITIVE", "DESCRIPTION"};
    if (n == 0) {
        printf("%s has no configs; `optiinfra config set` adds one.\n", agent->name);
        return;
    }
    cli_table t;
    cli_table_init(&t, 5, headers);
    for (size_t i = 0; i < n; i++) {
        const oi_agent_config *c = &items[i];
        const char *row[] = {c->config_key, view_config_value(c, show_secrets), c->config_type,
                             c->is_sensitive ? "yes" : "no", c->description};
        cli_table_add(&t, row);
    }
    cli_table_print(&t, "");
    cli_table_free(&t);
}

static int print_configs(const cli_ctx *ctx, const oi_agent *agent, const oi_agent_config *items,
                         size_t n, bool show_secrets)
{
    if (!ctx->json) {
        print_config_table(agent, items, n, show_secrets);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_config(&items[i], show_secrets));
    return cli_json_print(list);
}

static int run_list(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_config *items = NULL;
    size_t n = 0;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        oi_iter *it;
        int rc = oi_agent_config_iter_by_agent(&it, ctx->store, agent.id);
        rc = view_collect_configs(rc, it, &items, &n);
        exit_code = rc == OI_OK ? print_configs(ctx, &agent, items, n,
                                                cli_flag(a, "--show-secrets"))
                                : cli_fail_store(ctx, rc, NULL);
    }
    view_free_configs(items, n);
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- config unset -------------------------------------------------------- */

static int run_unset(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    int exit_code = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (exit_code == CLI_EXIT_OK) {
        int rc = oi_config_unset(ctx->store, agent.id, a->pos[1]);
        if (rc != OI_OK)
            exit_code = cli_fail_store(ctx, rc, NULL);
        else if (ctx->json)
            exit_code = cli_json_print(json_pack("{s:s, s:s, s:b}", "agent_id", agent.id,
                                                 "key", a->pos[1], "unset", 1));
        else
            printf("%s: %s unset\n", agent.name, a->pos[1]);
    }
    oi_agent_clear(&agent);
    return exit_code;
}

/* ---- declarations -------------------------------------------------------- */

#define AGENT_HELP "AGENT is the agent's name (quote it) or its UUID.\n"
#define TYPES_HELP                                                                     \
    "Types: string (anything), number and float (a finite number: 15, -0.5, 1e3),\n"   \
    "integer (a whole number in 64 bits), boolean (true or false), json (any JSON\n"   \
    "value).\n"
#define SECRETS_HELP                                                                   \
    "  --show-secrets  print sensitive values; by default they print as " VIEW_MASKED_VALUE \
    "\n"

static const cli_option set_options[] = {
    {"--type", true}, {"--description", true}, {"--sensitive", false},
    {"--not-sensitive", false}, {"--stdin", false}, {"--if-revision", true},
    {"--fence", true}, {NULL, false}
};

static const cli_command config_set = {
    .name = "set", .path = "config set",
    .synopsis = "config set AGENT KEY VALUE [--type T] [--sensitive] [--if-revision N] [--fence N]",
    .summary = "Create or update a config of an agent, checked against its type",
    .help =
        AGENT_HELP
        "Creates KEY or updates it, in one statement.  VALUE must parse as the\n"
        "config's type: the --type given, else the key's current type, else string\n"
        "for a new key.  Changing the type re-checks the value.  A value that starts\n"
        "with '-' (other than a negative number) comes after `--`.\n\n"
        TYPES_HELP "\n"
        "Options:\n"
        "  --type T            string|number|integer|float|boolean|json\n"
        "  --description TEXT  describe the key (default: keep the current one)\n"
        "  --sensitive         mark the value sensitive: masked in every output\n"
        "  --not-sensitive     clear the mark (default: keep; a new key is not)\n"
        "  --stdin             read the value from standard input (one trailing\n"
        "                      newline dropped): a secret on the command line is\n"
        "                      visible to other users in `ps`\n"
        "  --if-revision N     compare-and-set: write only if the key exists and is\n"
        "                      still at revision N (as `config get --json` showed it)\n"
        "  --fence N           write only if N is the newest fencing token of its\n"
        "                      lock (as `lock acquire` printed it)\n"
        "  --json              print the stored config as JSON (sensitive value masked),\n"
        "                      with its new revision\n\n"
        "Prints \"AGENT: KEY = VALUE (TYPE)\", the value masked if sensitive.\n"
        "Exit 3 when the value does not parse as the type (the message names the\n"
        "key, never the value) or N is not a whole number, 4 when the agent does\n"
        "not exist (or, with --if-revision, the key), 7 when another writer changed\n"
        "the key since revision N, when the fencing token is stale, or when another\n"
        "writer changed the key's type meanwhile; nothing is written then.\n\n"
        "Examples:\n"
        "  optiinfra config set \"Cost Optimizer\" cost_threshold_usd 1500 --type number\n"
        "  optiinfra config set \"Cost Optimizer\" cost_threshold_usd 1200\n"
        "  optiinfra config set \"Cost Optimizer\" cost_threshold_usd 1300 --if-revision 12\n"
        "  optiinfra config set \"Cost Optimizer\" api_token --stdin --sensitive < token.txt\n",
    .options = set_options, .min_args = 2, .max_args = 3, .needs_head = true,
    .check = check_set, .run = run_set,
};

static const cli_option secret_options[] = {{"--show-secrets", false}, {NULL, false}};

static const cli_command config_get = {
    .name = "get", .path = "config get", .synopsis = "config get AGENT KEY [--show-secrets]",
    .summary = "Print the value of one config of an agent",
    .help =
        AGENT_HELP
        "Prints the value alone and a newline, for $(optiinfra config get ...).\n"
        "Exit 4 when the agent or the key does not exist.\n\n"
        "Options:\n" SECRETS_HELP
        "  --json          print the config: {id, key, value, type, description,\n"
        "                  is_sensitive, created_at, updated_at, revision}\n\n"
        "Examples:\n"
        "  optiinfra config get \"Cost Optimizer\" cost_threshold_usd\n"
        "  optiinfra config get \"Cost Optimizer\" api_token --show-secrets\n",
    .options = secret_options, .min_args = 2, .max_args = 2, .needs_head = true,
    .run = run_get,
};

static const cli_command config_list = {
    .name = "list", .path = "config list", .synopsis = "config list AGENT [--show-secrets]",
    .summary = "List the configs of an agent",
    .help =
        AGENT_HELP
        "Columns: KEY, VALUE, TYPE, SENSITIVE (yes/no), DESCRIPTION; by key.\n\n"
        "Options:\n" SECRETS_HELP
        "  --json          print [{id, key, value, type, description, is_sensitive,\n"
        "                  created_at, updated_at, revision}]\n\n"
        "Example:\n"
        "  optiinfra config list \"Cost Optimizer\"\n",
    .options = secret_options, .min_args = 1, .max_args = 1, .needs_head = true,
    .run = run_list,
};

static const cli_command config_unset = {
    .name = "unset", .path = "config unset", .synopsis = "config unset AGENT KEY",
    .summary = "Delete one config of an agent",
    .help =
        AGENT_HELP
        "Exit 4 when the agent or the key does not exist.\n\n"
        "Options:\n"
        "  --json  print {agent_id, key, unset: true}\n\n"
        "Example:\n"
        "  optiinfra config unset \"Cost Optimizer\" api_token\n",
    .min_args = 2, .max_args = 2, .needs_head = true, .run = run_unset,
};

static const cli_command *const config_subcommands[] = {
    &config_set, &config_get, &config_list, &config_unset, NULL
};

const cli_command cli_cmd_config = {
    .name = "config", .path = "config", .synopsis = "config COMMAND",
    .summary = "Read and write an agent's typed configs",
    .subcommands = config_subcommands,
};
