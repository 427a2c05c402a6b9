/*
 * seed.c - `optiinfra seed [core|state]`: the spec's seed data.
 *
 * Without an argument both seeds run, core first, each in its own
 * transaction (the library's), so a failing state seed keeps the core
 * records.  The text output follows the spec's seed script, minus emoji:
 *
 *   Seeding agent state tables...
 *     Created 12 agent configs
 *     ...
 *   Agent state tables seeded successfully!
 *     Configs: 12
 *
 * A record already present is counted, not written again: "Created 0 agent
 * configs (12 already present)", and the summary counts both.  What each
 * seed created is recorded as committed (cli_committed) before its report
 * is printed: a report that cannot be written still says it.
 */
#include <ctype.h>
#include <string.h>
#include "cli.h"

typedef struct seed_kind {
    const char *name;  /* the argument: "core" */
    const char *title; /* "agent state tables" */
    int (*seed)(oi_store *store, oi_seed_report *report);
    const char *hint_not_found;
} seed_kind;

static const seed_kind seed_kinds[] = {
    { "core", "core tables", oi_seed_core, NULL },
    { "state", "agent state tables", oi_seed_state, "run `optiinfra seed core` first" },
};
#define NSEED_KINDS (sizeof seed_kinds / sizeof seed_kinds[0])

/* "agent_configs" -> "agent configs"; for one record "agent capability". */
static void table_words(const char *table, int count, char *buf, size_t size)
{
    snprintf(buf, size, "%s", table);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
    size_t n = strlen(buf);
    if (count == 1 && n > 3 && strcmp(buf + n - 3, "ies") == 0)
        strcpy(buf + n - 3, "y");
    else if (count == 1 && n > 1 && buf[n - 1] == 's')
        buf[n - 1] = '\0';
}

/* "agent_configs" -> "Configs", "customers" -> "Customers" */
static void table_label(const char *table, char *buf, size_t size)
{
    const char *short_name = strncmp(table, "agent_", 6) == 0 ? table + 6 : table;
    snprintf(buf, size, "%s", short_name);
    buf[0] = (char)toupper((unsigned char)buf[0]);
}

static void print_report(const seed_kind *kind, const oi_seed_report *r)
{
    char words[64];
    for (size_t i = 0; i < r->ntables; i++) {
        table_words(r->tables[i].table, r->tables[i].created, words, sizeof words);
        printf("  Created %d %s", r->tables[i].created, words);
        if (r->tables[i].existing > 0)
            printf(" (%d already present)", r->tables[i].existing);
        putchar('\n');
    }
    printf("\n%c%s seeded successfully!\n", toupper((unsigned char)kind->title[0]),
           kind->title + 1);
    for (size_t i = 0; i < r->ntables; i++) {
        table_label(r->tables[i].table, words, sizeof words);
        printf("  %s: %d\n", words, r->tables[i].created + r->tables[i].existing);
    }
}

static json_t *report_json(const oi_seed_report *r)
{
    json_t *tables = json_array();
    int created = 0, existing = 0;
    for (size_t i = 0; i < r->ntables; i++) {
        const oi_seed_count *t = &r->tables[i];
        json_array_append_new(tables, json_pack("{s:s, s:i, s:i, s:i}", "table", t->table,
                                                "created", t->created, "existing", t->existing,
                                                "total", t->created + t->existing));
        created += t->created;
        existing += t->existing;
    }
    return json_pack("{s:o, s:i, s:i}", "tables", tables, "created", created,
                     "existing", existing);
}

/* What the seeds run so far committed, in one line (cli_committed): a
 * report that cannot be written then still says it. */
static void record_committed(const seed_kind *kind, const oi_seed_report *r)
{
    static char done[256];
    int created = 0;
    for (size_t i = 0; i < r->ntables; i++)
        created += r->tables[i].created;
    size_t len = strlen(done);
    snprintf(done + len, sizeof done - len, "%s%s (%d rows created)",
             len ? " and " : "seeded ", kind->name, created);
    cli_committed(NULL, "%s", done);
}

/* Run one seed; its report goes to json (when set) or stdout. */
static int run_seed_kind(cli_ctx *ctx, const seed_kind *kind, json_t *json)
{
    oi_seed_report report = OI_SEED_REPORT_INIT;
    if (!json) {
        printf("Seeding %s...\n", kind->title);
        fflush(stdout);
    }
    int rc = kind->seed(ctx->store, &report);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, rc == OI_ENOTFOUND ? kind->hint_not_found : NULL);
    record_committed(kind, &report);
    if (json)
        json_object_set_new(json, kind->name, report_json(&report));
    else
        print_report(kind, &report);
    return CLI_EXIT_OK;
}

static const seed_kind *find_seed_kind(const char *name)
{
    for (size_t i = 0; i < NSEED_KINDS; i++)
        if (strcmp(seed_kinds[i].name, name) == 0)
            return &seed_kinds[i];
    return NULL;
}

static int check_seed_args(const cli_ctx *ctx, const cli_args *a)
{
    if (a->npos && !find_seed_kind(a->pos[0]))   /* not echoed: it may be a misplaced secret */
        return cli_fail_usage(ctx->cmd, "unknown seed (argument %d, not shown): expected core "
                              "or state", cli_arg_position(a, a->pos[0]));
    return CLI_EXIT_OK;
}

static int run_seed(cli_ctx *ctx, const cli_args *a)
{
    const seed_kind *only = a->npos ? find_seed_kind(a->pos[0]) : NULL;
    json_t *json = ctx->json ? json_object() : NULL;
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < NSEED_KINDS && rc == CLI_EXIT_OK; i++) {
        if (only && only != &seed_kinds[i])
            continue;
        if (!json && !only && i > 0)
            putchar('\n');
        rc = run_seed_kind(ctx, &seed_kinds[i], json);
    }
    if (rc != CLI_EXIT_OK) {
        json_decref(json);
        return rc;
    }
    return json ? cli_json_print(json) : CLI_EXIT_OK;
}

const cli_command cli_cmd_seed = {
    .name = "seed", .path = "seed", .synopsis = "seed [core|state]",
    .summary = "Write the seed data (core: 14 records, state: 39 records)",
    .help =
        "Without an argument, seeds core then state, each in one transaction.\n"
        "Records already present are skipped, so seeding twice writes nothing new.\n\n"
        "Arguments:\n"
        "  core   2 customers, the 4 core agents, 3 events, 3 recommendations,\n"
        "         1 approval, 1 optimization\n"
        "  state  12 agent configs, 4 agent states, 11 agent capabilities,\n"
        "         12 agent metrics; needs the core agents (exit 4 without them)\n\n"
        "Options:\n"
        "  --json  print {\"core\": {tables: [{table, created, existing, total}],\n"
        "          created, existing}, \"state\": {...}} (the seeds that ran)\n\n"
        "Examples:\n"
        "  optiinfra db upgrade && optiinfra seed\n"
        "  optiinfra seed state --json\n",
    .max_args = 1, .needs_head = true,
    .check = check_seed_args, .run = run_seed,
};
