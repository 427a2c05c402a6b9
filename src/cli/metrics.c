/*
 * metrics.c - `optiinfra metrics`: record, query and aggregate the time series.
 *
 * query and aggregate share their selection options (--agent, --name...,
 * --from/--to/--since, --where KEY=VALUE...), parsed once into an
 * oi_metric_filter; the library does the rest in the database.  Options
 * are checked before the store is opened (the command's check hook), so a
 * typo is reported as such even when the database is unreachable.
 *
 * query prints one page (100 rows unless --limit says otherwise) and, when
 * more rows follow, "next: --cursor TOKEN" on stderr: stdout stays a clean
 * table (or JSON document with "next_cursor") that a script can consume
 * while a person still sees how to go on.  Rows are printed as they are
 * read, never all held (output.c's streamed table and JSON array), so that
 * `--limit 0` over a million rows runs in constant memory, read by one
 * streamed statement.  Agents are shown by name: the agent list is read
 * once per call, before the rows (agents are few; metrics are many), and
 * each row's name is looked up in it.
 *
 * The import, export and prune subcommands live in metrics_io.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "number.h"
#include "cli.h"

#define DEFAULT_PAGE 100
#define SECOND INT64_C(1000000)

/* ---- selection options (query, aggregate) ------------------------------- */

typedef struct selection {
    oi_metric_filter f;
    oi_agent agent;                            /* --agent, resolved */
    oi_metadata_match *where;                  /* --where KEY=VALUE ... */
    char **where_copy;                         /* the KEY=VALUE texts, split at '=' */
} selection;

static void free_selection(selection *sel)
{
    for (size_t i = 0; i < sel->f.nwhere; i++)
        free(sel->where_copy[i]);
    free(sel->where_copy);
    free(sel->where);
    oi_agent_clear(&sel->agent);
}

/* A value of `kind` (values.h), or exit 3 with the validator's message,
 * the same as the library's and the service's. */
static int check_value(oi_kind kind, const char *what, const char *text)
{
    char msg[OI_VALUE_MSGSZ];
    if (oi_value_check(kind, what, text, strlen(text), msg, sizeof msg) == OI_OK)
        return CLI_EXIT_OK;
    return cli_fail(CLI_EXIT_INVALID, NULL, "%s", msg);
}

static int parse_time(const char *option, const char *value, oi_time *out)
{
    int rc = value ? check_value(OI_KIND_TIME, option, value) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK && value)
        oi_time_parse(value, out);
    return rc;
}

static int parse_since(const cli_ctx *ctx, const cli_args *a, oi_time *from)
{
    const char *since = cli_value(a, "--since");
    int64_t age;
    if (!since)
        return CLI_EXIT_OK;
    if (cli_flag(a, "--from"))
        return cli_fail_usage(ctx->cmd, "give --from or --since, not both");
    int exit_code = cli_duration_option(ctx, a, "--since", &age);
    if (exit_code)
        return exit_code;
    *from = oi_time_now() - age;
    return CLI_EXIT_OK;
}

static int parse_where(const cli_args *a, selection *sel)
{
    size_t n;
    const char *const *given = cli_values(a, "--where", &n);
    sel->where = oi_calloc(n, sizeof *sel->where);
    sel->where_copy = oi_calloc(n, sizeof *sel->where_copy);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(given[i], '=');
        if (!eq || eq == given[i])
            return cli_fail(CLI_EXIT_INVALID, "write --where KEY=VALUE, e.g. --where region=us-west",
                            "--where %zu is not KEY=VALUE", i + 1);
        char *copy = oi_strdup(given[i]);
        copy[eq - given[i]] = '\0';
        sel->where_copy[i] = copy;
        sel->where[i] = (oi_metadata_match){ copy, copy + (eq - given[i]) + 1 };
        sel->f.nwhere = i + 1;
    }
    sel->f.where = sel->where;
    return CLI_EXIT_OK;
}

/* Everything but --agent, which needs the store: see resolve_agent(). */
static int parse_selection(const cli_ctx *ctx, const cli_args *a, selection *sel)
{
    memset(sel, 0, sizeof *sel);
    oi_metric_filter_init(&sel->f, OI_METRIC_FILTER_VERSION);
    oi_agent_init(&sel->agent, OI_AGENT_VERSION);
    sel->f.metric_names = cli_values(a, "--name", &sel->f.nmetric_names);
    int rc = parse_time("--from", cli_value(a, "--from"), &sel->f.from);
    if (rc == CLI_EXIT_OK)
        rc = parse_time("--to", cli_value(a, "--to"), &sel->f.to);
    if (rc == CLI_EXIT_OK)
        rc = parse_since(ctx, a, &sel->f.from);
    if (rc == CLI_EXIT_OK)
        rc = parse_where(a, sel);
    return rc;
}

static int resolve_agent(cli_ctx *ctx, const cli_args *a, selection *sel)
{
    const char *ref = cli_value(a, "--agent");
    if (!ref)
        return CLI_EXIT_OK;
    int exit_code = cli_agent_lookup(ctx, ref, &sel->agent);
    if (exit_code == CLI_EXIT_OK)
        sel->f.agent_id = sel->agent.id;
    return exit_code;
}

/* ---- agent names -------------------------------------------------------- */

typedef struct agent_names {
    oi_agent *agents;
    size_t n;
} agent_names;

static int load_agent_names(cli_ctx *ctx, agent_names *names)
{
    oi_iter *it;
    int rc = oi_agent_iter_new(&it, ctx->store);
    rc = view_collect_agents(rc, it, &names->agents, &names->n);
    return rc == OI_OK ? CLI_EXIT_OK : cli_fail_store(ctx, rc, NULL);
}

/* The agent's name; its id if it is gone. */
static const char *agent_name(const agent_names *names, const char *id)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->agents[i].id, id) == 0)
            return names->agents[i].name;
    return id;
}

/* ---- metric rows -------------------------------------------------------- */

/* Where the rows go as they are read: a table or a JSON document. */
typedef struct row_printer {
    const agent_names *names;
    cli_table table;
    cli_json_array json;
    size_t count;
} row_printer;

static void begin_rows(const cli_ctx *ctx, row_printer *p)
{
    static const char *const headers[] = { "TIME", "AGENT", "NAME", "VALUE", "UNIT", "METADATA" };
    if (ctx->json) {
        cli_json_array_begin(&p->json, "rows");
        return;
    }
    cli_table_init(&p->table, 6, headers);
    cli_table_stream(&p->table, "");
}

static int print_row(const cli_ctx *ctx, row_printer *p, const oi_agent_metric *m)
{
    const char *agent = agent_name(p->names, m->agent_id);
    p->count++;
    if (ctx->json)
        return cli_json_array_add(&p->json, view_metric(m, agent));
    char when[OI_TIME_BUFSZ], value[CLI_TEXT_BUFSZ];
    const char *row[] = { oi_time_format(m->collection_timestamp, when), agent,
                          m->metric_name, cli_format_number(m->metric_value, value),
                          m->metric_unit, m->metadata };
    cli_table_add(&p->table, row);
    return ferror(stdout) ? cli_fail_output(errno, false) : CLI_EXIT_OK;
}

/* The end of the output, and "next: --cursor TOKEN" when rows follow. */
static int end_rows(const cli_ctx *ctx, row_printer *p, const char *next_cursor)
{
    const char *next = next_cursor[0] ? next_cursor : NULL;
    if (ctx->json)
        return cli_json_array_end(&p->json, json_pack("{s:o}", "next_cursor", view_string(next)));
    if (p->count == 0)
        puts("No metrics match.");
    else
        cli_table_print(&p->table, "");
    if (next)
        fprintf(stderr, "next: --cursor %s\n", next);
    return CLI_EXIT_OK;
}

/* Each row printed as it is read: `--limit 0` over millions of rows runs in
 * the memory of one row (the table holds its first CLI_TABLE_MEASURED).
 * A failure after rows were printed leaves them printed, the error on
 * stderr, as psql's FETCH_COUNT does.  Rows are borrowed, not copied: the
 * table and the JSON copy what they keep. */
static int print_rows(cli_ctx *ctx, oi_iter *it, const agent_names *names)
{
    row_printer p = { .names = names };
    const oi_agent_metric *m;
    char next[OI_CURSOR_BUFSZ] = "";
    int orc, rc = CLI_EXIT_OK;
    begin_rows(ctx, &p);
    while (rc == CLI_EXIT_OK && (orc = oi_agent_metric_next_borrowed(it, &m)) == OI_OK)
        rc = print_row(ctx, &p, m);
    if (rc == CLI_EXIT_OK && orc == OI_ITEROVER)
        orc = oi_metric_iter_cursor(it, next);
    if (rc == CLI_EXIT_OK && orc != OI_OK)
        rc = cli_fail_store(ctx, orc, NULL);
    if (rc == CLI_EXIT_OK)
        rc = end_rows(ctx, &p, next);
    cli_table_free(&p.table);
    return rc;
}

/* ---- metrics query ------------------------------------------------------ */

static int parse_limit(const cli_args *a, size_t *limit)
{
    const char *text = cli_value(a, "--limit");
    char *end;
    *limit = DEFAULT_PAGE;
    if (!text)
        return CLI_EXIT_OK;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || n > 1000000000)
        return cli_fail(CLI_EXIT_INVALID, "give a whole number of rows, 0 for all",
                        "--limit is not a page size");
    *limit = (size_t)n;
    return CLI_EXIT_OK;
}

static int parse_query(const cli_ctx *ctx, const cli_args *a, selection *sel)
{
    int rc = parse_selection(ctx, a, sel);
    if (rc == CLI_EXIT_OK)
        rc = parse_limit(a, &sel->f.limit);
    sel->f.cursor = cli_value(a, "--cursor");
    sel->f.newest_first = cli_flag(a, "--newest-first");
    /* Every row: one statement (metrics.h, stream), since nothing else runs
     * on the store while the rows are printed.  A page keeps the paged
     * iterator: up to 500 rows it is one statement already, and its plan
     * is the one of a LIMIT. */
    sel->f.stream = sel->f.limit == 0;
    return rc;
}

static int check_query(const cli_ctx *ctx, const cli_args *a)
{
    selection sel;
    int rc = parse_query(ctx, a, &sel);
    free_selection(&sel);
    return rc;
}

static int run_query(cli_ctx *ctx, const cli_args *a)
{
    selection sel;
    agent_names names = { NULL, 0 };
    oi_iter *it = NULL;
    int rc = parse_query(ctx, a, &sel);
    if (rc == CLI_EXIT_OK)
        rc = resolve_agent(ctx, a, &sel);
    if (rc == CLI_EXIT_OK)
        rc = load_agent_names(ctx, &names);
    if (rc == CLI_EXIT_OK) {
        int orc = oi_metric_iter_new(&it, ctx->store, &sel.f);
        rc = orc == OI_OK ? print_rows(ctx, it, &names) : cli_fail_store(ctx, orc, NULL);
    }
    oi_iter_free(it);
    view_free_agents(names.agents, names.n);
    free_selection(&sel);
    return rc;
}

/* ---- metrics aggregate -------------------------------------------------- */

typedef struct aggregation {
    selection sel;
    int64_t bucket; /* microseconds; 0: none */
    unsigned by;
} aggregation;

static int parse_bucket(const cli_args *a, int64_t *bucket)
{
    const char *text = cli_value(a, "--bucket");
    *bucket = 0;
    if (!text)
        return CLI_EXIT_OK;
    if (oi_duration_parse(text, bucket) != OI_OK || *bucket < SECOND || *bucket % SECOND)
        return cli_fail(CLI_EXIT_INVALID, "use whole seconds or more: 1m, 5m, 1h, 1d ...",
                        "--bucket is not a bucket width");
    return CLI_EXIT_OK;
}

static int parse_by(const cli_ctx *ctx, const cli_args *a, unsigned *by)
{
    static const struct { const char *text; unsigned by; } choices[] = {
        { "agent", OI_BY_AGENT }, { "name", OI_BY_NAME },
        { "agent,name", OI_BY_AGENT | OI_BY_NAME }, { "name,agent", OI_BY_AGENT | OI_BY_NAME },
    };
    const char *text = cli_value(a, "--by");
    *by = 0;
    if (!text)
        return CLI_EXIT_OK;
    for (size_t i = 0; i < sizeof choices / sizeof *choices; i++)
        if (strcmp(text, choices[i].text) == 0) {
            *by = choices[i].by;
            return CLI_EXIT_OK;
        }
    return cli_fail_usage(ctx->cmd, "--by takes agent, name or agent,name");
}

static int parse_aggregate(const cli_ctx *ctx, const cli_args *a, aggregation *agg)
{
    int rc = parse_selection(ctx, a, &agg->sel);
    if (rc == CLI_EXIT_OK)
        rc = parse_bucket(a, &agg->bucket);
    if (rc == CLI_EXIT_OK)
        rc = parse_by(ctx, a, &agg->by);
    return rc;
}

static int check_aggregate(const cli_ctx *ctx, const cli_args *a)
{
    aggregation agg;
    int rc = parse_aggregate(ctx, a, &agg);
    free_selection(&agg.sel);
    return rc;
}

/* The columns shown: the group keys present, then the statistics. */
static size_t stats_headers(const aggregation *agg, const char **headers)
{
    static const char *const stats[] = { "COUNT", "SUM", "AVG", "MIN", "MAX", "P50", "P95", "P99" };
    size_t n = 0;
    if (agg->bucket)
        headers[n++] = "BUCKET";
    if (agg->by & OI_BY_AGENT)
        headers[n++] = "AGENT";
    if (agg->by & OI_BY_NAME)
        headers[n++] = "NAME";
    for (size_t i = 0; i < sizeof stats / sizeof *stats; i++)
        headers[n++] = stats[i];
    return n;
}

static void add_stats_row(cli_table *t, const aggregation *agg, const oi_metric_stats *r)
{
    char bucket[OI_TIME_BUFSZ], count[CLI_TEXT_BUFSZ], v[7][CLI_TEXT_BUFSZ];
    const double values[7] = { r->sum, r->avg, r->min, r->max, r->p50, r->p95, r->p99 };
    const char *row[11];
    size_t n = 0;
    if (agg->bucket)
        row[n++] = oi_time_format(r->bucket_start, bucket);
    if (agg->by & OI_BY_AGENT)
        row[n++] = r->agent_name;
    if (agg->by & OI_BY_NAME)
        row[n++] = r->metric_name;
    snprintf(count, sizeof count, "%lld", (long long)r->count);
    row[n++] = count;
    for (size_t i = 0; i < 7; i++)
        row[n++] = cli_format_number(values[i], v[i]);
    cli_table_add(t, row);
}

static void print_stats_table(const aggregation *agg, const oi_metric_stats *rows, size_t n)
{
    const char *headers[11];
    cli_table t;
    cli_table_init(&t, stats_headers(agg, headers), headers);
    for (size_t i = 0; i < n; i++)
        add_stats_row(&t, agg, &rows[i]);
    if (n == 0)
        puts("No metrics match.");
    else
        cli_table_print(&t, "");
    cli_table_free(&t);
}

static int print_stats(const cli_ctx *ctx, const aggregation *agg, const oi_metric_stats *rows,
                       size_t n)
{
    if (!ctx->json) {
        print_stats_table(agg, rows, n);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_metric_stats(&rows[i]));
    return cli_json_print(json_pack("{s:o}", "rows", list));
}

static int run_aggregate(cli_ctx *ctx, const cli_args *a)
{
    aggregation agg;
    oi_metric_stats *rows = NULL;
    size_t n = 0;
    int rc = parse_aggregate(ctx, a, &agg);
    if (rc == CLI_EXIT_OK)
        rc = resolve_agent(ctx, a, &agg.sel);
    if (rc == CLI_EXIT_OK) {
        oi_iter *it;
        int orc = oi_metric_aggregate_iter_new(&it, ctx->store, &agg.sel.f, agg.bucket, agg.by);
        orc = view_collect_stats(orc, it, &rows, &n);
        if (orc != OI_OK)
            rc = cli_fail_store(ctx, orc, NULL);
    }
    if (rc == CLI_EXIT_OK)
        rc = print_stats(ctx, &agg, rows, n);
    view_free_stats(rows, n);
    free_selection(&agg.sel);
    return rc;
}

/* ---- metrics record ----------------------------------------------------- */

/* The whole text is a decimal number, as the import reads one. */
static int parse_value(const char *text, double *out)
{
    int rc = check_value(OI_KIND_NUMBER, "metric value", text);
    if (rc == CLI_EXIT_OK)
        oi_number_parse(text, out);
    return rc;
}

static int parse_record(const cli_args *a, oi_agent_metric *m)
{
    oi_agent_metric_init(m, OI_AGENT_METRIC_VERSION);
    m->metric_name = a->pos[1];
    m->metric_unit = (char *)cli_value(a, "--unit");
    m->metadata = (char *)cli_value(a, "--metadata");
    int rc = parse_value(a->pos[2], &m->metric_value);
    if (rc == CLI_EXIT_OK)
        rc = parse_time("--at", cli_value(a, "--at"), &m->collection_timestamp);
    return rc;
}

static int check_record(const cli_ctx *ctx, const cli_args *a)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    (void)ctx;
    return parse_record(a, &m);
}

static void print_recorded(const oi_agent_metric *m, const oi_agent *agent)
{
    char value[CLI_TEXT_BUFSZ], when[OI_TIME_BUFSZ];
    printf("Recorded metric %lld: %s = %s%s%s for %s at %s\n", (long long)m->id,
           m->metric_name, cli_format_number(m->metric_value, value),
           m->metric_unit ? " " : "", m->metric_unit ? m->metric_unit : "", agent->name,
           oi_time_format(m->collection_timestamp, when));
}

static int run_record(cli_ctx *ctx, const cli_args *a)
{
    oi_agent agent = OI_AGENT_INIT;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    int rc = parse_record(a, &m);
    if (rc == CLI_EXIT_OK)
        rc = cli_agent_lookup(ctx, a->pos[0], &agent);
    if (rc != CLI_EXIT_OK)
        return rc;
    memcpy(m.agent_id, agent.id, sizeof m.agent_id);
    int orc = oi_agent_metric_create(ctx->store, &m);
    if (orc != OI_OK)
        rc = cli_fail_store(ctx, orc, NULL);
    else if (ctx->json)
        rc = cli_json_print(view_metric(&m, agent.name));
    else
        print_recorded(&m, &agent);
    oi_agent_clear(&agent);
    return rc;
}

/* ---- declarations ------------------------------------------------------- */

#define SELECTION_HELP                                                           \
    "  --agent A          only agent A (a name or an id); default every agent\n"     \
    "  --name N           only metric N; repeat for several names (any of them)\n"   \
    "  --from TIME        collected at or after TIME (ISO 8601, e.g.\n"              \
    "                     2026-11-25T08:00:00Z)\n"                                   \
    "  --to TIME          collected at or before TIME\n"                             \
    "  --since DURATION   collected within DURATION of now (90s, 15m, 2h, 30d);\n"   \
    "                     not with --from\n"                                         \
    "  --where KEY=VALUE  metadata KEY has VALUE (a string as itself, true/false,\n" \
    "                     a number as written); repeat: all must hold\n"

static const cli_option query_options[] = {
    { "--agent", true }, { "--name", true }, { "--from", true }, { "--to", true },
    { "--since", true }, { "--where", true }, { "--limit", true }, { "--cursor", true },
    { "--newest-first", false }, { NULL, false }
};

static const cli_command metrics_query = {
    .name = "query", .path = "metrics query",
    .synopsis = "metrics query [--agent A] [--name N]... [--where K=V]...",
    .summary = "List metrics, a page at a time",
    .help =
        "Rows come oldest first (--newest-first for the reverse), by collection time\n"
        "then id.  Columns: TIME (collection timestamp), AGENT, NAME, VALUE, UNIT,\n"
        "METADATA.  When more rows follow, the last line on stderr is\n"
        "\"next: --cursor TOKEN\": repeat the command with it for the next page.\n"
        "Rows are printed as they are read: past 1000 rows (--limit 0 or over\n"
        "1000), the columns are as wide as the first 1000 rows need and a wider\n"
        "cell later pushes the rest of its own line only; a failure midway\n"
        "leaves the rows before it printed (exit code not 0).\n\n"
        "Options:\n"
        SELECTION_HELP
        "  --limit N          rows per page (default 100; 0: every row)\n"
        "  --cursor TOKEN     continue after the page that printed TOKEN (same order)\n"
        "  --newest-first     newest rows first\n"
        "  --json             print {\"rows\": [{id, agent_id, agent, metric_name,\n"
        "                     metric_value, metric_unit, collection_timestamp,\n"
        "                     metadata, created_at}], \"next_cursor\": TOKEN or null}\n\n"
        "Exit codes: 0 rows printed (maybe none), 3 a malformed time, duration,\n"
        "--where, --limit or cursor, 4 unknown agent.\n\n"
        "Examples:\n"
        "  optiinfra metrics query --agent \"Cost Optimizer\" --since 1h\n"
        "  optiinfra metrics query --name latency_p95_ms --name latency_p99_ms \\\n"
        "      --where region=us-west --where env=prod --limit 50\n"
        "  optiinfra metrics query --limit 50 --cursor o00061a5b7c2d3e4f0000000000000032\n",
    .options = query_options, .max_args = 0, .needs_head = true,
    .check = check_query, .run = run_query,
};

static const cli_option aggregate_options[] = {
    { "--agent", true }, { "--name", true }, { "--from", true }, { "--to", true },
    { "--since", true }, { "--where", true }, { "--bucket", true }, { "--by", true },
    { NULL, false }
};

static const cli_command metrics_aggregate = {
    .name = "aggregate", .path = "metrics aggregate",
    .synopsis = "metrics aggregate [--bucket 1h] [--by agent,name]",
    .summary = "Count, sum, avg, min, max, p50/p95/p99 of metrics",
    .help =
        "Computed by the database over the selected metrics: one row per group,\n"
        "no row when nothing matches.  Percentiles are nearest rank: pK is the\n"
        "smallest value v such that at least K% of the group's values are <= v\n"
        "(always one of the values; no interpolation).\n\n"
        "Columns: BUCKET (with --bucket), AGENT (with --by agent), NAME (with\n"
        "--by name), COUNT, SUM, AVG, MIN, MAX, P50, P95, P99.  Rows come by\n"
        "bucket, agent name, metric name.\n\n"
        "Options:\n"
        SELECTION_HELP
        "  --bucket DURATION  one row per time bucket of DURATION (whole seconds:\n"
        "                     1m, 5m, 1h, 1d ...), aligned on the epoch in UTC\n"
        "                     (1h buckets start on the hour); BUCKET is its start\n"
        "  --by KEYS          group by agent, name or agent,name\n"
        "  --json             print {\"rows\": [{bucket_start, agent_id, agent,\n"
        "                     metric_name, count, sum, avg, min, max, p50, p95,\n"
        "                     p99}]}; keys not grouped by are null\n\n"
        "Exit codes: 0 printed (maybe no row), 2 a bad --by, 3 a malformed time,\n"
        "duration, bucket or --where, 4 unknown agent.\n\n"
        "Examples:\n"
        "  optiinfra metrics aggregate --name gpu_utilization --by agent\n"
        "  optiinfra metrics aggregate --since 1d --bucket 1h --by name --json\n",
    .options = aggregate_options, .max_args = 0, .needs_head = true,
    .check = check_aggregate, .run = run_aggregate,
};

static const cli_option record_options[] = {
    { "--unit", true }, { "--at", true }, { "--metadata", true }, { NULL, false }
};

static const cli_command metrics_record = {
    .name = "record", .path = "metrics record",
    .synopsis = "metrics record AGENT NAME VALUE [--unit U]",
    .summary = "Record one metric value",
    .help =
        "AGENT is the agent's name or id; NAME the metric name; VALUE a finite\n"
        "number.  Prints the new metric's id.\n\n"
        "Options:\n"
        "  --unit U         the unit (e.g. percent, ms, usd)\n"
        "  --at TIME        collection time, ISO 8601 (default now)\n"
        "  --metadata JSON  a JSON object (default {})\n"
        "  --json           print the metric as {id, agent_id, agent, metric_name,\n"
        "                   metric_value, metric_unit, collection_timestamp,\n"
        "                   metadata, created_at}\n\n"
        "Exit codes: 0 recorded, 3 a bad value, time or JSON, 4 unknown agent.\n\n"
        "Example:\n"
        "  optiinfra metrics record \"Cost Optimizer\" gpu_utilization 75.5 \\\n"
        "      --unit percent --metadata '{\"region\": \"us-west\"}'\n",
    .options = record_options, .min_args = 3, .max_args = 3, .needs_head = true,
    .check = check_record, .run = run_record,
};

static const cli_command *const metrics_subcommands[] = {
    &metrics_query, &metrics_aggregate, &metrics_record,
    &cli_cmd_metrics_import, &cli_cmd_metrics_export, &cli_cmd_metrics_prune,
    NULL
};

const cli_command cli_cmd_metrics = {
    .name = "metrics", .path = "metrics", .synopsis = "metrics COMMAND",
    .summary = "Record, query, aggregate, import, export and prune agent metrics",
    .subcommands = metrics_subcommands,
};
