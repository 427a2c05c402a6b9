/*
 * metrics_io.c - `optiinfra metrics import`, `metrics export` and
 * `metrics prune`: metrics in bulk (the `metrics` group is in metrics.c).
 *
 * import and export speak the same formats, so `metrics export > f.csv`
 * then `metrics import f.csv` restores the rows.  The data goes through
 * stdin/stdout or a file, never through the terminal's line discipline of
 * this program: export writes only the data to stdout, and import's
 * progress bar is on stderr, drawn only when stderr is a terminal (a log
 * file or a pipe gets no carriage returns).
 *
 * When an import stops at a bad line, the error says how many rows were
 * committed before it and which line to resume from: the batches before
 * the failing one are in the database, and importing the whole file again
 * would duplicate them.  For the same reason an import (and a prune)
 * records what it committed before printing its report (cli_committed):
 * if stdout then fails, the error still says how many rows went in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

#define MAX_BATCH_SIZE 1000000
#define PROGRESS_EVERY 100000 /* microseconds between redraws of the bar */
#define BAR_WIDTH 24
#define INPUT_BUFFER (64 * 1024)

/* ---- shared options --------------------------------------------------------- */

static int parse_format(const cli_command *cmd, const char *name, oi_metrics_format *out)
{
    if (strcmp(name, "csv") == 0)
        *out = OI_FORMAT_CSV;
    else if (strcmp(name, "ndjson") == 0)
        *out = OI_FORMAT_NDJSON;
    else
        return cli_fail_usage(cmd, "unknown format '%s': use csv or ndjson", name);
    return CLI_EXIT_OK;
}

/* --batch-size N, 1 to MAX_BATCH_SIZE; *out keeps its value when absent. */
static int parse_batch_size(const cli_args *a, size_t *out)
{
    const char *text = cli_value(a, "--batch-size");
    char *end;
    if (!text)
        return CLI_EXIT_OK;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text < '1' || *text > '9' || *end || errno || n > MAX_BATCH_SIZE)
        return cli_fail(CLI_EXIT_INVALID, NULL, "--batch-size '%s' is not a whole number "
                        "from 1 to %d", text, MAX_BATCH_SIZE);
    *out = (size_t)n;
    return CLI_EXIT_OK;
}

/* 1234567 as "1,234,567". */
static char *with_commas(uint64_t n, char buf[CLI_TEXT_BUFSZ])
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

static double seconds_since(oi_time start)
{
    return (double)(oi_time_now() - start) / 1e6;
}

static uint64_t per_second(uint64_t n, double seconds)
{
    return seconds > 0 ? (uint64_t)((double)n / seconds) : n;
}

/* ---- the progress line ---------------------------------------------------------- */

typedef struct progress {
    bool on;              /* stderr is a terminal */
    oi_time started, drawn;
    uint64_t total_bytes; /* of the input file; 0 when unknown (a pipe) */
} progress;

/* in: the file being read, whose size makes a bar; NULL for none. */
static void progress_start(progress *p, FILE *in)
{
    struct stat st;
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    p->started = oi_time_now();
    if (in && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        p->total_bytes = (uint64_t)st.st_size;
}

static bool progress_due(progress *p)
{
    oi_time now = oi_time_now();
    if (!p->on || now - p->drawn < PROGRESS_EVERY)
        return false;
    p->drawn = now;
    return true;
}

static void draw_bar(uint64_t done, uint64_t total)
{
    int filled = total ? (int)(BAR_WIDTH * (done < total ? done : total) / total) : 0;
    fprintf(stderr, "[%.*s%*s] %3d%%  ", filled, "########################",
            BAR_WIDTH - filled, "", total ? (int)(100 * done / total) : 0);
}

/* "[#####     ]  23%  1,230,000 rows  205,000 rows/s" */
static void on_import_progress(void *data, const oi_import_report *r)
{
    progress *p = data;
    char rows[CLI_TEXT_BUFSZ], rate[CLI_TEXT_BUFSZ];
    if (!progress_due(p))
        return;
    fputc('\r', stderr);
    if (p->total_bytes)
        draw_bar(r->bytes, p->total_bytes);
    fprintf(stderr, "%s rows  %s rows/s", with_commas(r->rows, rows),
            with_commas(per_second(r->rows, seconds_since(p->started)), rate));
    fflush(stderr);
}

static void on_prune_progress(void *data, uint64_t deleted)
{
    progress *p = data;
    char rows[CLI_TEXT_BUFSZ];
    if (!progress_due(p))
        return;
    fprintf(stderr, "\r%s rows deleted", with_commas(deleted, rows));
    fflush(stderr);
}

/* Erase the progress line, so that what follows starts clean. */
static void progress_end(const progress *p)
{
    if (p->on && p->drawn)
        fputs("\r\033[K", stderr);
}

/* ---- import ------------------------------------------------------------------- */

/* The format: --format, else the file's extension, else CSV for stdin. */
static int import_format(const cli_ctx *ctx, const cli_args *a, oi_metrics_format *out)
{
    const char *given = cli_value(a, "--format");
    const char *file = a->npos ? a->pos[0] : "-";
    const char *ext = strrchr(file, '.');
    if (given)
        return parse_format(ctx->cmd, given, out);
    if (strcmp(file, "-") == 0 || (ext && strcmp(ext, ".csv") == 0))
        *out = OI_FORMAT_CSV;
    else if (ext && (strcmp(ext, ".ndjson") == 0 || strcmp(ext, ".jsonl") == 0))
        *out = OI_FORMAT_NDJSON;
    else
        return cli_fail_usage(ctx->cmd, "cannot tell the format of '%s' from its name: "
                              "give --format csv or --format ndjson", file);
    return CLI_EXIT_OK;
}

static int check_import(const cli_ctx *ctx, const cli_args *a)
{
    oi_metrics_format format;
    size_t batch_size = 0;
    int rc = import_format(ctx, a, &format);
    return rc ? rc : parse_batch_size(a, &batch_size);
}

/* A larger buffer than stdio's 4 KiB: a tenth of the read calls. */
static FILE *open_input(const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in)
        setvbuf(in, NULL, _IOFBF, INPUT_BUFFER);
    return in;
}

static void print_import_done(const cli_ctx *ctx, const oi_import_report *r, double secs)
{
    char rows[CLI_TEXT_BUFSZ], rate[CLI_TEXT_BUFSZ];
    cli_committed("importing the same rows again would duplicate them",
                  "imported %s rows in %llu batch%s", with_commas(r->rows, rows),
                  (unsigned long long)r->batches, r->batches == 1 ? "" : "es");
    if (ctx->json) {
        cli_json_print(json_pack("{s:I, s:I, s:f, s:I}", "rows", (json_int_t)r->rows,
                                 "batches", (json_int_t)r->batches, "seconds", secs,
                                 "rows_per_second", (json_int_t)per_second(r->rows, secs)));
        return;
    }
    printf("Imported %s rows in %llu batch%s (%.1fs, %s rows/s)\n", with_commas(r->rows, rows),
           (unsigned long long)r->batches, r->batches == 1 ? "" : "es", secs,
           with_commas(per_second(r->rows, secs), rate));
}

/* The import stopped: what is in the database, and where to go on from. */
static int import_failed(const cli_ctx *ctx, int rc, const oi_import_report *r)
{
    char rows[CLI_TEXT_BUFSZ], hint[256];
    if (ctx->json)
        cli_json_print(json_pack("{s:I, s:I, s:{s:I, s:I, s:o}}", "rows", (json_int_t)r->rows,
                                 "batches", (json_int_t)r->batches, "error",
                                 "line", (json_int_t)r->line,
                                 "resume_line", (json_int_t)r->resume_line,
                                 "reason", view_string(r->reason))); /* repaired, or null */
    /* Bad input is fixed in the file; a database that could not take the
     * rows (unreachable, locked, full) is waited for, the file left as it is. */
    bool input_at_fault = rc == OI_EINVALID || rc == OI_ECONSTRAINT || rc == OI_EEXISTS ||
                          rc == OI_ENOTFOUND;
    const char *then = input_at_fault ? "fix the input and import it" : "once the database can "
                                                                        "take them, import it";
    if (r->rows == 0)
        snprintf(hint, sizeof hint, "nothing was written");
    else
        snprintf(hint, sizeof hint, "%s rows before line %llu were committed, none from it "
                 "on: %s from line %llu", with_commas(r->rows, rows),
                 (unsigned long long)r->resume_line, then, (unsigned long long)r->resume_line);
    return cli_fail(cli_exit_code(rc), hint, "%s", oi_errmsg(ctx->store));
}

static int run_import(cli_ctx *ctx, const cli_args *a)
{
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    oi_import_report report = OI_IMPORT_REPORT_INIT;
    oi_metrics_format format;
    progress bar;
    const char *path = a->npos ? a->pos[0] : "-";
    import_format(ctx, a, &format);
    parse_batch_size(a, &opts.batch_size);
    FILE *in = open_input(path);
    if (!in)
        return cli_fail(errno == ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_OTHER, NULL,
                        "cannot open %s: %s", path, strerror(errno));
    progress_start(&bar, in);
    opts.progress = on_import_progress;
    opts.progress_ctx = &bar;
    int rc = oi_metrics_import(ctx->store, in, format, &opts, &report);
    progress_end(&bar);
    if (in != stdin)
        fclose(in);
    if (rc != OI_OK)
        return import_failed(ctx, rc, &report);
    print_import_done(ctx, &report, seconds_since(bar.started));
    return CLI_EXIT_OK;
}

/* ---- export ------------------------------------------------------------------- */

/* --json is NDJSON, unless --format says otherwise. */
static int export_format(const cli_ctx *ctx, const cli_args *a, oi_metrics_format *out)
{
    const char *given = cli_value(a, "--format");
    int rc = given ? parse_format(ctx->cmd, given, out) : CLI_EXIT_OK;
    if (!given)
        *out = ctx->json ? OI_FORMAT_NDJSON : OI_FORMAT_CSV;
    if (rc == CLI_EXIT_OK && ctx->json && *out != OI_FORMAT_NDJSON)
        return cli_fail_usage(ctx->cmd, "--json exports NDJSON: leave out --format csv");
    return rc;
}

static int parse_bound(const cli_args *a, const char *option, oi_time *out)
{
    const char *text = cli_value(a, option);
    *out = OI_TIME_NULL;
    if (text && oi_time_parse(text, out) != OI_OK)
        return cli_fail(CLI_EXIT_INVALID, "use ISO 8601 UTC, e.g. 2026-11-25T08:00:00Z",
                        "%s '%s' is not a time", option, text);
    return CLI_EXIT_OK;
}

static int export_filter(const cli_ctx *ctx, const cli_args *a, oi_metrics_format *format,
                         oi_export_filter *f)
{
    oi_export_filter_init(f, OI_EXPORT_FILTER_VERSION);
    f->agent = cli_value(a, "--agent");
    f->metric_name = cli_value(a, "--name");
    int rc = export_format(ctx, a, format);
    if (rc == CLI_EXIT_OK)
        rc = parse_bound(a, "--from", &f->from);
    if (rc == CLI_EXIT_OK)
        rc = parse_bound(a, "--to", &f->to);
    return rc;
}

static int check_export(const cli_ctx *ctx, const cli_args *a)
{
    oi_metrics_format format;
    oi_export_filter f = OI_EXPORT_FILTER_INIT;
    return export_filter(ctx, a, &format, &f);
}

static int run_export(cli_ctx *ctx, const cli_args *a)
{
    oi_metrics_format format;
    oi_export_filter f = OI_EXPORT_FILTER_INIT;
    uint64_t rows;
    char count[CLI_TEXT_BUFSZ];
    export_filter(ctx, a, &format, &f);
    int rc = oi_metrics_export(ctx->store, stdout, format, &f, &rows);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    if (isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO))
        fprintf(stderr, "Exported %s rows\n", with_commas(rows, count));
    return CLI_EXIT_OK;
}

/* ---- prune -------------------------------------------------------------------- */

static int parse_older_than(const cli_ctx *ctx, const cli_args *a, int64_t *age)
{
    const char *text = cli_value(a, "--older-than");
    if (!text)
        return cli_fail_usage(ctx->cmd, "--older-than DURATION is required (e.g. 30d)");
    if (oi_duration_parse(text, age) != OI_OK)
        return cli_fail(CLI_EXIT_INVALID, "use a whole number and a unit: 90s, 15m, 2h, 30d, 1w",
                        "--older-than '%s' is not a duration", text);
    return CLI_EXIT_OK;
}

static int check_prune(const cli_ctx *ctx, const cli_args *a)
{
    int64_t age;
    size_t batch_size = 0;
    int rc = parse_older_than(ctx, a, &age);
    return rc ? rc : parse_batch_size(a, &batch_size);
}

/* " (3 partitions dropped whole: 2,000,000 rows; 1,234 rows deleted)", or
 * nothing when no partition was (or would be) dropped. */
static void print_partitions_part(const oi_prune_report *r, bool dry_run)
{
    char rows[CLI_TEXT_BUFSZ], deleted[CLI_TEXT_BUFSZ];
    if (r->dropped_partitions == 0)
        return;
    printf(" (%llu partition%s %s whole: %s row%s; %s row%s %s)",
           (unsigned long long)r->dropped_partitions, r->dropped_partitions == 1 ? "" : "s",
           dry_run ? "to drop" : "dropped", with_commas(r->dropped_rows, rows),
           r->dropped_rows == 1 ? "" : "s", with_commas(r->deleted, deleted),
           r->deleted == 1 ? "" : "s", dry_run ? "to delete" : "deleted");
}

static void print_pruned(const cli_ctx *ctx, bool dry_run, const oi_prune_report *r,
                         oi_time cutoff)
{
    char when[OI_TIME_BUFSZ], count[CLI_TEXT_BUFSZ];
    uint64_t n = r->deleted + r->dropped_rows;
    oi_time_format(cutoff, when);
    if (!dry_run)
        cli_committed(NULL, "deleted %s metric%s collected before %s", with_commas(n, count),
                      n == 1 ? "" : "s", when);
    if (ctx->json) {
        cli_json_print(json_pack("{s:I, s:s, s:b, s:I, s:I}", dry_run ? "would_delete" : "deleted",
                                 (json_int_t)n, "cutoff", when, "dry_run", dry_run,
                                 "partitions_dropped", (json_int_t)r->dropped_partitions,
                                 "rows_in_dropped_partitions", (json_int_t)r->dropped_rows));
        return;
    }
    printf("%s %s metric%s collected before %s", dry_run ? "Would delete" : "Deleted",
           with_commas(n, count), n == 1 ? "" : "s", when);
    print_partitions_part(r, dry_run);
    putchar('\n');
}

static int run_prune(cli_ctx *ctx, const cli_args *a)
{
    oi_prune_options opts = OI_PRUNE_OPTIONS_INIT;
    oi_prune_report report = OI_PRUNE_REPORT_INIT;
    int64_t age;
    progress bar;
    opts.batch_size = OI_PRUNE_BATCH_DEFAULT;
    opts.dry_run = cli_flag(a, "--dry-run");
    parse_older_than(ctx, a, &age);
    parse_batch_size(a, &opts.batch_size);
    oi_time cutoff = oi_time_now() - age;
    progress_start(&bar, NULL);
    opts.progress = on_prune_progress;
    opts.progress_ctx = &bar;
    int rc = oi_metrics_prune_ext(ctx->store, cutoff, &opts, &report);
    progress_end(&bar);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    print_pruned(ctx, opts.dry_run, &report, cutoff);
    return CLI_EXIT_OK;
}

/* ---- the commands ---------------------------------------------------------------- */

static const cli_option import_options[] = {
    { "--format", true }, { "--batch-size", true }, { NULL, false }
};

const cli_command cli_cmd_metrics_import = {
    .name = "import", .path = "metrics import",
    .synopsis = "metrics import [FILE|-] [--format F]",
    .summary = "Import metrics from CSV or NDJSON",
    .help =
        "Reads FILE, or standard input when FILE is - or absent, one record at a\n"
        "time (memory does not grow with the input), and writes the rows in\n"
        "batches, each in one transaction: COPY on PostgreSQL, a prepared INSERT\n"
        "on SQLite.\n\n"
        "CSV (RFC 4180): a header row naming the columns, in any order:\n"
        "  agent                 the agent's name or id (required)\n"
        "  metric_name           (required)\n"
        "  metric_value          a finite decimal number (required)\n"
        "  metric_unit           empty: none\n"
        "  collection_timestamp  ISO 8601, e.g. 2026-11-25T08:11:55.123456Z;\n"
        "                        empty: the time of the import\n"
        "  metadata              a JSON object; empty: {}\n"
        "Quote a field holding a comma, quote or line break, doubling its quotes:\n"
        "  agent,metric_name,metric_value,metadata\n"
        "  Cost Optimizer,spend_usd,12.5,\"{\"\"region\"\": \"\"us-west\"\"}\"\n"
        "An unquoted empty field is no value; \"\" is the empty text.\n\n"
        "NDJSON: one JSON object per line with the same keys; metric_value a\n"
        "number, metadata an object, null or absent for no value:\n"
        "  {\"agent\": \"Cost Optimizer\", \"metric_name\": \"spend_usd\",\n"
        "   \"metric_value\": 12.5}\n\n"
        "Blank lines are skipped.  A bad record (unknown agent or column, a value\n"
        "that is not a finite number, a bad time or JSON, a row with the wrong\n"
        "number of fields) stops the import with its line number and the reason.\n"
        "No row of its batch is written; the batches before it stay committed,\n"
        "and the message says how many rows that is and which line to resume\n"
        "from (a CSV needs its header line again).  A progress bar is drawn on\n"
        "stderr when stderr is a terminal.\n\n"
        "Options:\n"
        "  --format csv|ndjson   default: from the extension (.csv; .ndjson or\n"
        "                        .jsonl), csv for standard input\n"
        "  --batch-size N        rows per transaction (default 10000, at most\n"
        "                        1000000)\n"
        "  --json                print {\"rows\", \"batches\", \"seconds\",\n"
        "                        \"rows_per_second\"}; on failure also \"error\":\n"
        "                        {\"line\", \"resume_line\", \"reason\"}\n\n"
        "Output: \"Imported N rows in B batches (S s, R rows/s)\".\n\n"
        "Exit codes: 0 imported, 2 unknown format, 3 a bad record or option,\n"
        "4 the file or an agent not found, 7 a row the database refused.\n\n"
        "Examples:\n"
        "  optiinfra metrics import metrics.csv\n"
        "  gunzip -c day.ndjson.gz | optiinfra metrics import - --format ndjson\n"
        "  (head -1 metrics.csv; tail -n +5001 metrics.csv) | optiinfra metrics import -\n",
    .options = import_options, .max_args = 1, .needs_head = true,
    .check = check_import, .run = run_import,
};

static const cli_option export_options[] = {
    { "--format", true }, { "--agent", true }, { "--name", true }, { "--from", true },
    { "--to", true }, { NULL, false }
};

const cli_command cli_cmd_metrics_export = {
    .name = "export", .path = "metrics export",
    .synopsis = "metrics export [--format csv|ndjson]",
    .summary = "Export metrics as CSV or NDJSON to standard output",
    .help =
        "Writes the metrics in the order they were stored, in the format that\n"
        "`metrics import` reads, so an export imports back unchanged: the agent\n"
        "by name (by id when another agent has the same name), times in UTC with\n"
        "microseconds, values with the fewest digits that keep them exact.  Rows\n"
        "are read a page at a time: memory stays the same for any table size.\n\n"
        "Options:\n"
        "  --format csv|ndjson   default csv (with a header row)\n"
        "  --agent A             one agent's metrics (name or id)\n"
        "  --name N              one metric's rows\n"
        "  --from T, --to T      collection_timestamp from T, up to T (inclusive;\n"
        "                        ISO 8601)\n"
        "  --json                the same as --format ndjson\n\n"
        "Exit codes: 0 exported, 2 unknown format, 3 a bad time, 4 unknown agent,\n"
        "8 the output cannot be written.\n\n"
        "Examples:\n"
        "  optiinfra metrics export > metrics.csv\n"
        "  optiinfra metrics export --format ndjson --agent \"Cost Optimizer\" \\\n"
        "      --from 2026-11-01T00:00:00Z | gzip > november.ndjson.gz\n",
    .options = export_options, .max_args = 0, .needs_head = true,
    .check = check_export, .run = run_export,
};

static const cli_option prune_options[] = {
    { "--older-than", true }, { "--batch-size", true }, { "--dry-run", false }, { NULL, false }
};

const cli_command cli_cmd_metrics_prune = {
    .name = "prune", .path = "metrics prune",
    .synopsis = "metrics prune --older-than DURATION",
    .summary = "Delete metrics older than a duration",
    .help =
        "Deletes the metrics whose collection_timestamp is before now - DURATION\n"
        "(one exactly at that instant stays), oldest first, in batches: each\n"
        "batch is one short transaction, so agents writing metrics meanwhile\n"
        "are not held up.  Where agent_metrics is partitioned (PostgreSQL), the\n"
        "partitions wholly before the cut-off are dropped whole first, each in\n"
        "a transaction of its own.  Interrupted, it leaves the oldest rows\n"
        "deleted; run it again to finish.\n\n"
        "Options:\n"
        "  --older-than DURATION  a whole number and a unit: 90s, 15m, 2h, 30d, 1w\n"
        "  --batch-size N         rows per DELETE (default 10000)\n"
        "  --dry-run              count the rows, delete nothing\n"
        "  --json                 print {\"deleted\" (or \"would_delete\"), \"cutoff\",\n"
        "                         \"dry_run\", \"partitions_dropped\",\n"
        "                         \"rows_in_dropped_partitions\"}\n\n"
        "Output: \"Deleted N metrics collected before TIME\", then, when partitions\n"
        "were dropped, \" (K partitions dropped whole: R rows; D rows deleted)\".\n\n"
        "Exit codes: 0 done, 2 --older-than missing, 3 a bad duration or batch\n"
        "size.\n\n"
        "Examples:\n"
        "  optiinfra metrics prune --older-than 30d\n"
        "  optiinfra metrics prune --older-than 1w --dry-run\n",
    .options = prune_options, .max_args = 0, .needs_head = true,
    .check = check_prune, .run = run_prune,
};
