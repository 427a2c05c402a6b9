/*
 * test_metrics_io.c - metrics import, export and prune, on either backend:
 * the formats field by field (quoting, NULL against "", numbers, times),
 * every kind of bad record with its line number and what stays committed,
 * rows the database itself refuses, byte-identical round trips, paging,
 * prune boundaries and batches, and the three CLI commands (stdin
 * included).  Inputs are small and batches tiny (7 rows), so several
 * batches run in milliseconds.
 */
#include "harness.h"
#include "textset.h"
#include "agentref.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT "Test Cost Agent"
#define HEADER "agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata\n"
#define GOOD_ROW AGENT ",cpu,1.5,percent,2026-01-01T00:00:00Z,\"{\"\"k\"\": 1}\"\n"
#define GOOD_LINE "{\"agent\": \"" AGENT "\", \"metric_name\": \"cpu\", \"metric_value\": 1.5, " \
                  "\"metric_unit\": \"percent\", \"collection_timestamp\": " \
                  "\"2026-01-01T00:00:00Z\", \"metadata\": {\"k\": 1}}\n"

/* ---- helpers ------------------------------------------------------------------ */

static int import_bytes(oi_fixture *fx, oi_metrics_format format, const char *text, size_t len,
                        size_t batch, oi_import_report *report)
{
    FILE *in = fmemopen((void *)text, len, "r");
    assert_non_null(in);
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    opts.batch_size = batch;
    int rc = oi_metrics_import(fx->store, in, format, &opts, report);
    fclose(in);
    return rc;
}

static int import_text(oi_fixture *fx, oi_metrics_format format, const char *text, size_t batch,
                       oi_import_report *report)
{
    return import_bytes(fx, format, text, strlen(text), batch, report);
}

/* The export as a string; free() it. */
static char *export_text(oi_fixture *fx, oi_metrics_format format, const oi_export_filter *f,
                         uint64_t *rows)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_ok(fx, oi_metrics_export(fx->store, out, format, f, rows));
    fclose(out);
    return text;
}

static long long metrics(oi_fixture *fx)
{
    return fx_count(fx, "agent_metrics");
}

static void add_metric(oi_fixture *fx, const char *agent_id, char *name, double value,
                       char *unit, const char *at, char *metadata)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", agent_id);
    m.metric_name = name;
    m.metric_value = value;
    m.metric_unit = unit;
    assert_int_equal(oi_time_parse(at, &m.collection_timestamp), OI_OK);
    m.metadata = metadata;
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
}

/* Text of a query's single value. */
static void assert_sql(oi_fixture *fx, const char *sql, const char *want)
{
    char *got = fx_sql_text(fx, sql);
    if (strcmp(got, want) != 0) {
        print_error("%s\n got: [%s]\nwant: [%s]\n", sql, got, want);
        free(got);
        fail();
    }
    free(got);
}

/* n copies of a line. */
static void repeat(char *buf, size_t size, const char *line, int n)
{
    for (int i = 0; i < n; i++)
        strncat(buf, line, size - strlen(buf) - 1);
}

/* ---- import: CSV ----------------------------------------------------------------- */

static void test_io_import_csv_fields(void **state)
{
    oi_fixture *fx = FX(state);
    char text[2048];
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    /* Columns reordered and some left out; the agent by name and by id;
     * quoted commas, quotes and a line break; an absent unit is NULL. */
    snprintf(text, sizeof text,
             "metadata,metric_value,agent,metric_name,metric_unit\n"
             "\"{\"\"region\"\": \"\"us-west, 2\"\"}\",0.5,%s,\"gpu, \"\"util\"\"\",percent\n"
             ",-3e2,%s,mem,\"MB\"\n"
             "\"{\n}\",7,%s,multiline,\n",
             AGENT, fx->cost_agent.id, AGENT);
    oi_time before = oi_time_now();
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    oi_time after = oi_time_now();
    assert_int_equal(rep.rows, 3);
    assert_int_equal(rep.batches, 1);
    assert_int_equal(rep.line, 0);
    assert_true(uselocale((locale_t)0) == LC_GLOBAL_LOCALE);  /* the thread's locale is back */

    assert_sql(fx, "SELECT metric_name, CAST(metric_value * 10 AS INTEGER), "
                   "coalesce(metric_unit, '<null>') FROM agent_metrics ORDER BY id",
               "gpu, \"util\"|5|percent\nmem|-3000|MB\nmultiline|70|<null>\n");
    if (fx_is_pg())
        assert_sql(fx, "SELECT metadata->>'region' FROM agent_metrics ORDER BY id LIMIT 1",
                   "us-west, 2\n");
    else
        assert_sql(fx, "SELECT metadata FROM agent_metrics ORDER BY id",
                   "{\"region\": \"us-west, 2\"}\n{}\n{\n}\n");
    /* No collection_timestamp column: the time of the import. */
    oi_agent_metric *rows;
    oi_iter *it = NULL;
    assert_ok(fx, oi_agent_metric_iter_new(&it, fx->store));
    size_t n = fx_collect_agent_metrics(fx, it, &rows);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].agent_id, fx->cost_agent.id);
        oi_time at = rows[i].collection_timestamp;
        assert_true(at >= before && at <= after);
    }
    fx_free_agent_metrics(rows, n);
}

static void test_io_import_csv_crlf_bom_blank_lines(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    const char *text =
        "\xEF\xBB\xBF" "agent,metric_name,metric_value,collection_timestamp,metadata\r\n"
        "\r\n"
        AGENT ",a,1,2026-01-01T00:00:00.000001Z,{}\r\n"
        "\n"
        AGENT ",crlf,2,\"2026-01-01 00:00:00+02:00\",\"{\r\n}\"\r\n"
        AGENT ",bare,3,2026-01-01T00:00:00Z,{\r}"; /* no line break at the end */
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    assert_int_equal(rep.rows, 3);
    assert_int_equal(rep.bytes, strlen(text));
    char *names = fx_sql_text(fx, "SELECT metric_name FROM agent_metrics ORDER BY id");
    assert_string_equal(names, "a\ncrlf\nbare\n");
    free(names);
    if (!fx_is_pg()) /* as written; jsonb keeps no spacing */
        assert_sql(fx, "SELECT metadata FROM agent_metrics ORDER BY id", "{}\n{\r\n}\n{\r}\n");
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    int64_t id = fx_sql_int(fx, "SELECT min(id) FROM agent_metrics") + 1;
    assert_ok(fx, oi_agent_metric_get(fx->store, id, &m));
    char at[OI_TIME_BUFSZ];
    assert_string_equal(oi_time_format(m.collection_timestamp, at), "2025-12-31T22:00:00.000000Z");
    oi_agent_metric_clear(&m);
}

/* The reader copies runs of plain bytes in bulk (reader.c, oi_reader_add_until):
 * names of every length to the limit, each with a doubled quote or a comma at
 * a position of its own, and records that grow past each doubling of the
 * reader's buffer (the metadata), read back byte for byte and counted whole. */
static void test_io_import_csv_field_runs(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    size_t cap = 2u << 20, len = 0, wlen = 0;
    char *text = malloc(cap), *want = malloc(cap), name[OI_NAME_MAX + 1];
    len += (size_t)snprintf(text, cap, HEADER);
    for (int i = 1; i <= OI_NAME_MAX; i++) {
        for (int k = 0; k < i; k++)
            name[k] = (char)('a' + k % 26);
        name[i / 2] = i % 2 ? '"' : ',';
        name[i] = '\0';
        wlen += (size_t)snprintf(want + wlen, cap - wlen, "%s\n", name);
        len += (size_t)snprintf(text + len, cap - len, AGENT ",\"");
        for (int k = 0; k < i; k++) {
            if (name[k] == '"')
                text[len++] = '"';
            text[len++] = name[k];
        }
        len += (size_t)snprintf(text + len, cap - len, "\",%d,,,\"{\"\"k\"\": \"\"", i);
        memset(text + len, 'x', (size_t)i * 12);
        len += (size_t)i * 12;
        len += (size_t)snprintf(text + len, cap - len, "\"\"}\"\n");
    }
    assert_true(len < cap);
    assert_ok(fx, import_bytes(fx, OI_FORMAT_CSV, text, len, 0, &rep));
    assert_int_equal(rep.rows, OI_NAME_MAX);
    assert_int_equal(rep.bytes, len);
    assert_sql(fx, "SELECT metric_name FROM agent_metrics ORDER BY id", want);
    assert_int_equal(fx_sql_int(fx, fx_is_pg()
        ? "SELECT count(*) FROM agent_metrics WHERE length(metadata->>'k') = metric_value * 12"
        : "SELECT count(*) FROM agent_metrics "
          "WHERE length(json_extract(metadata, '$.k')) = metric_value * 12"), OI_NAME_MAX);
    free(text);
    free(want);

    /* At the record's bound, a quote or a NUL is refused for what it is, as
     * byte by byte reading refused it; any other byte makes it too long. */
    static const char last[] = {'"', '\0', 'x'};
    static const char *const why[] = {"line 2: a quote inside an unquoted field",
                                      "line 2: a NUL byte is not allowed",
                                      "line 2: the record is longer than"};
    size_t agent = strlen(AGENT) + 1, head = strlen(HEADER) + agent;
    size_t size = head + (OI_IMPORT_RECORD_MAX - 1 - agent) + 1;
    char *big = malloc(size);
    memcpy(big, HEADER AGENT ",", head);
    memset(big + head, 'x', size - head - 1);
    for (int k = 0; k < 3; k++) {
        big[size - 1] = last[k];
        assert_rc(fx, import_bytes(fx, OI_FORMAT_CSV, big, size, 0, &rep), OI_EINVALID);
        assert_contains(oi_errmsg(fx->store), why[k]);
    }
    free(big);
}

/* Batches of 7: 20 rows make 7 + 7 + 6, each reported as it commits. */
typedef struct progress_log {
    uint64_t rows[8], batches[8], bytes[8];
    int calls;
    oi_fixture *fx;
    const char *delete_agent;   /* deleted after the first batch */
} progress_log;

static void log_progress(void *ctx, const oi_import_report *r)
{
    progress_log *log = ctx;
    log->rows[log->calls] = r->rows;
    log->batches[log->calls] = r->batches;
    log->bytes[log->calls++] = r->bytes;
    if (log->delete_agent && log->calls == 1) {
        char sql[256];  /* the raw connection may not cascade (SQLite without foreign_keys) */
        snprintf(sql, sizeof sql, "DELETE FROM agent_metrics WHERE agent_id = '%s'; "
                 "DELETE FROM agents WHERE id = '%s'", log->delete_agent, log->delete_agent);
        fx_sql_exec(log->fx, sql);
    }
}

static void test_io_import_batches_and_progress(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = HEADER;
    repeat(text, sizeof text, GOOD_ROW, 20);
    progress_log log = {.calls = 0};
    oi_import_options opts = {.version = OI_IMPORT_OPTIONS_VERSION, .batch_size = 7,
                              .progress = log_progress, .progress_ctx = &log};
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    FILE *in = fmemopen(text, strlen(text), "r");
    assert_ok(fx, oi_metrics_import(fx->store, in, OI_FORMAT_CSV, &opts, &rep));
    fclose(in);
    assert_int_equal(log.calls, 3);
    assert_int_equal(log.rows[0], 7);
    assert_int_equal(log.rows[1], 14);
    assert_int_equal(log.rows[2], 20);
    assert_int_equal(log.batches[2], 3);
    assert_true(log.bytes[0] > 0 && log.bytes[0] < log.bytes[1] && log.bytes[2] == strlen(text));
    assert_int_equal(rep.rows, 20);
    assert_int_equal(rep.batches, 3);
    assert_int_equal(metrics(fx), 20);
}

/* ---- import: NDJSON --------------------------------------------------------------- */

static void test_io_import_ndjson_fields(void **state)
{
    oi_fixture *fx = FX(state);
    char text[2048];
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    snprintf(text, sizeof text,
             "{\"metric_name\": \"lat\", \"agent\": \"%s\", \"metric_value\": 0.85, "
             "\"metadata\": {\"x\": 0.85, \"nested\": {\"a\": [1, \"}\"]}}}\n"
             "\n"
             "  {\"agent\":\"%s\",\"metric_name\":\"esc\\\"aped\",\"metric_value\":\"-1e-3\","
             "\"metric_unit\":null,\"metadata\":null,\"collection_timestamp\":null}  \n"
             "{\"agent\":\"%s\",\"metric\\u005fname\":\"escaped key\",\"metric_value\":2,"
             "\"metric_unit\":\"ms\",\"collection_timestamp\":\"2026-03-04T05:06:07.5Z\"}\r\n",
             AGENT, fx->cost_agent.id, AGENT);
    assert_ok(fx, import_text(fx, OI_FORMAT_NDJSON, text, 2, &rep));
    assert_int_equal(rep.rows, 3);
    assert_int_equal(rep.batches, 2);
    assert_sql(fx, "SELECT metric_name, CAST(metric_value * 1000 AS INTEGER), "
                   "coalesce(metric_unit, '<null>') FROM agent_metrics ORDER BY id",
               "lat|850|<null>\nesc\"aped|-1|<null>\nescaped key|2000|ms\n");
    if (fx_is_pg())
        assert_sql(fx, "SELECT metadata->>'x', metadata->'nested'->'a'->>1 FROM agent_metrics "
                       "ORDER BY id LIMIT 1", "0.85|}\n");
    else  /* kept as written: 0.85 is not rewritten as 0.84999999999999998 */
        assert_sql(fx, "SELECT metadata FROM agent_metrics ORDER BY id",
                   "{\"x\": 0.85, \"nested\": {\"a\": [1, \"}\"]}}\n{}\n{}\n");
    assert_sql(fx, "SELECT count(*) FROM agent_metrics WHERE metric_name = 'escaped key' AND "
                   "collection_timestamp = '2026-03-04T05:06:07.500000Z'", "1\n");
}

/* ---- bad records --------------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *header;  /* NULL: the usual one */
    const char *line;    /* the bad record, after 10 good ones */
    const char *reason;  /* expected in the message */
} bad_case;

/* Good records up to line 11, the bad one on line 12, two more good ones;
 * batches of 7.  CSV: lines 2-8 are committed, the batch of lines 9-15 is
 * not.  NDJSON (no header): lines 1-7 are, 8-14 are not. */
static void check_bad(oi_fixture *fx, oi_metrics_format format, const bad_case *c)
{
    char text[8192] = "", want[128];
    bool csv = format == OI_FORMAT_CSV, in_header = c->header != NULL;
    const char *good = csv ? GOOD_ROW : GOOD_LINE;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    if (csv)
        strcat(text, c->header ? c->header : HEADER);
    repeat(text, sizeof text, good, csv ? 10 : 11);
    strcat(text, c->line ? c->line : "");
    repeat(text, sizeof text, good, 2);
    fx_sql_exec(fx, "DELETE FROM agent_metrics");

    int rc = import_text(fx, format, text, 7, &rep);
    uint64_t line = in_header ? 1 : 12, resume = in_header ? 1 : csv ? 9 : 8;
    snprintf(want, sizeof want, "line %llu: ", (unsigned long long)line);
    if (rc >= 0 || strncmp(oi_errmsg(fx->store), want, strlen(want)) != 0 ||
        !strstr(oi_errmsg(fx->store), c->reason) || !strstr(rep.reason, c->reason) ||
        rep.line != line || rep.resume_line != resume || rep.rows != (in_header ? 0 : 7) ||
        metrics(fx) != (long long)rep.rows)
        fail_msg("%s (%s): rc %d, \"%s\", report line %llu resume %llu rows %llu, "
                 "%lld in the table; want \"%s...%s\"", c->what, csv ? "csv" : "ndjson", rc,
                 oi_errmsg(fx->store), (unsigned long long)rep.line,
                 (unsigned long long)rep.resume_line, (unsigned long long)rep.rows,
                 metrics(fx), want, c->reason);
}

/* A record of the usual six columns with these value, time and metadata fields. */
#define CSV_ROW(value, time, meta) AGENT ",cpu," value ",%," time "," meta "\n"
#define T0 "2026-01-01T00:00:00Z"

static void test_io_import_csv_bad_records(void **state)
{
    oi_fixture *fx = FX(state);
    static const bad_case cases[] = {
        {"bad number", NULL, CSV_ROW("abc", T0, "{}"), "metric_value is not a number"},
        {"NaN", NULL, CSV_ROW("NaN", T0, "{}"), "must be a finite number, not nan or inf"},
        {"infinity", NULL, CSV_ROW("-inf", T0, "{}"), "must be a finite number"},
        {"overflow", NULL, CSV_ROW("1e999", T0, "{}"), "not a number in the range of a double"},
        {"hex", NULL, CSV_ROW("0x10", T0, "{}"), "is not a number"},
        {"bad exponent", NULL, CSV_ROW("1e", T0, "{}"), "is not a number"},
        {"no value", NULL, CSV_ROW("", T0, "{}"), "metric_value is missing"},
        {"no agent", NULL, ",cpu,1,%," T0 ",{}\n", "agent is missing"},
        {"empty agent", NULL, "\"\",cpu,1,%," T0 ",{}\n", "an agent name or id is required"},
        {"empty unit", NULL, AGENT ",cpu,1,\"\"," T0 ",{}\n", "metric_unit is empty"},
        {"bad timestamp", NULL, CSV_ROW("1", "2026-13-01T00:00:00Z", "{}"),
         "is not a time: no such date"},
        /* the epoch is a time like any other since 1.0 (test_api.c imports it) */
        {"year 0", NULL, CSV_ROW("1", "0001-01-01T00:00:00+01:00", "{}"), "years 0001 to 9999"},
        {"year 10000", NULL, CSV_ROW("1", "9999-12-31T23:00:00-02:00", "{}"), "years 0001 to 9999"},
        {"bad JSON", NULL, CSV_ROW("1", T0, "{bad"), "metadata is not valid JSON"},
        {"JSON array", NULL, CSV_ROW("1", T0, "\"[1,2]\""), "metadata must be a JSON object"},
        {"unknown agent", NULL, "Nobody,cpu,1,%," T0 ",{}\n", "no agent named 'Nobody'"},
        {"unknown agent id", NULL, "00000000-0000-4000-8000-000000000000,cpu,1,%," T0 ",{}\n",
         "no agent with id"},
        {"ragged, short", NULL, AGENT ",cpu,1.5\n", "3 fields, but the header has 6 columns"},
        {"ragged, long", NULL, AGENT ",cpu,1,%," T0 ",{},extra\n", "7 fields"},
        {"one field", NULL, "lonely\n", "1 field, but"},
        {"quote in field", NULL, AGENT ",c\"pu,1,%," T0 ",{}\n",
         "a quote inside an unquoted field"},
        {"after quote", NULL, "\"" AGENT "\"x,cpu,1,%," T0 ",{}\n", "text after the closing quote"},
        {"bare CR after quote", NULL, "\"" AGENT "\"\r,cpu,1,%," T0 ",{}\n",
         "text after the closing quote"},
        {"bad UTF-8", NULL, AGENT ",cpu\xff,1,%," T0 ",{}\n", "not valid UTF-8 (byte 0xFF)"},
        {"overlong UTF-8", NULL, AGENT ",cpu\xc0\xaf,1,%," T0 ",{}\n", "not valid UTF-8"},
        {"surrogate", NULL, AGENT ",cpu\xed\xa0\x80,1,%," T0 ",{}\n", "not valid UTF-8"},
        {"cut UTF-8", NULL, AGENT ",cpu\xe2\x82,1,%," T0 ",{}\n", "not valid UTF-8"},
        {"missing column", "agent,metric_name,metric_unit\n", NULL,
         "the header has no column metric_value"},
        {"unknown column", "agent,metric_name,metric_value,colour\n", NULL,
         "unknown column 'colour'"},
        {"duplicate column", "agent,metric_name,metric_value,agent\n", NULL,
         "the column agent appears twice"},
        {"quoted header", "\"agent\",metric_name,\"metric\"x\n", NULL,
         "text after the closing quote"},
        {"half a BOM", "\xEF\xBB" "agent,metric_name,metric_value\n", NULL,
         "not valid UTF-8 (byte 0xEF)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_bad(fx, OI_FORMAT_CSV, &cases[i]);
}

/* A line of the agent's metric with these other members. */
#define ND_LINE(members) "{\"agent\": \"" AGENT "\", " members "}\n"

static void test_io_import_ndjson_bad_records(void **state)
{
    oi_fixture *fx = FX(state);
    static const bad_case cases[] = {
        {"invalid JSON", NULL, "{\"agent\": \"" AGENT "\",\n", "not valid JSON"},
        {"not an object", NULL, "[1, 2]\n", "not a JSON object"},
        {"unknown key", NULL, ND_LINE("\"metric_name\": \"cpu\", \"colour\": 1"),
         "unknown key 'colour'"},
        {"duplicate key", NULL, ND_LINE("\"agent\": \"x\""), "duplicate object key"},
        {"name a number", NULL, ND_LINE("\"metric_name\": 5, \"metric_value\": 1"),
         "metric_name must be a string"},
        {"value a boolean", NULL, ND_LINE("\"metric_name\": \"c\", \"metric_value\": true"),
         "metric_value must be a number"},
        {"value an object", NULL, ND_LINE("\"metric_name\": \"c\", \"metric_value\": {}"),
         "metric_value must be a number"},
        {"NaN text", NULL, ND_LINE("\"metric_name\": \"c\", \"metric_value\": \"NaN\""),
         "must be a finite number, not nan or inf"},
        {"metadata a string", NULL,
         ND_LINE("\"metric_name\": \"c\", \"metric_value\": 1, \"metadata\": \"{}\""),
         "metadata must be a JSON object"},
        {"metadata an array", NULL,
         ND_LINE("\"metric_name\": \"c\", \"metric_value\": 1, \"metadata\": [1]"),
         "metadata must be a JSON object"},
        {"no value", NULL, ND_LINE("\"metric_name\": \"c\", \"metric_value\": null"),
         "metric_value is missing"},
        {"no name", NULL, ND_LINE("\"metric_value\": 1"), "metric_name is missing"},
        {"unknown agent", NULL,
         "{\"agent\": \"Nobody\", \"metric_name\": \"c\", \"metric_value\": 1}\n",
         "no agent named 'Nobody'"},
        {"bad timestamp", NULL, ND_LINE("\"metric_name\": \"c\", \"metric_value\": 1, "
                                        "\"collection_timestamp\": \"yesterday\""),
         "collection_timestamp is not a time"},
        {"bad UTF-8", NULL, ND_LINE("\"metric_name\": \"c\xfe\", \"metric_value\": 1"),
         "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_bad(fx, OI_FORMAT_NDJSON, &cases[i]);
}

/* A record over several lines counts them all; the bad record is named by
 * the line it starts on. */
static void test_io_import_line_numbers_span_records(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    const char *text = HEADER
        AGENT ",two,1,,,\"{\n}\"\n"      /* lines 2-3 */
        AGENT ",three,1,,,\"{\n\n}\"\n"  /* lines 4-6 */
        AGENT ",bad,x,,,\"{\n}\"\n"; /* lines 7-8 */
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep), OI_EINVALID);
    assert_int_equal(rep.line, 7);
    assert_int_equal(rep.resume_line, 2);
    assert_int_equal(rep.rows, 0);
    assert_contains(oi_errmsg(fx->store), "line 7: metric_value is not a number");
    assert_int_equal(metrics(fx), 0);

    /* A quote left open runs to the end of the input: named by where it opened. */
    text = HEADER GOOD_ROW AGENT ",\"never closed,1,,,\n" AGENT ",plain,1,,,\n";
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 3: a quoted field is not closed");
}

static void test_io_import_nul_and_long_records(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    static const char with_nul[] = HEADER AGENT ",c\0pu,1,,,\n";
    assert_rc(fx, import_bytes(fx, OI_FORMAT_CSV, with_nul, sizeof with_nul - 1, 0, &rep),
              OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 2: a NUL byte is not allowed");
    static const char nul_line[] = "{\"agent\": \"\0\"}\n";
    assert_rc(fx, import_bytes(fx, OI_FORMAT_NDJSON, nul_line, sizeof nul_line - 1, 0, &rep),
              OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 1: a NUL byte");

    /* An unclosed quote stops at the record limit, not at the end of the input. */
    size_t size = OI_IMPORT_RECORD_MAX + 4096;
    char *big = malloc(size + 1);
    int n = snprintf(big, size, HEADER AGENT ",\"");
    memset(big + n, 'x', size - (size_t)n);
    big[size] = '\0';
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, big, 0, &rep), OI_EINVALID);
    char want[80];
    snprintf(want, sizeof want, "line 2: the record is longer than %d bytes", OI_IMPORT_RECORD_MAX);
    assert_contains(oi_errmsg(fx->store), want);
    assert_true(rep.bytes < size);
    memset(big, 'x', size);  /* one long NDJSON line */
    big[0] = '{';
    assert_rc(fx, import_text(fx, OI_FORMAT_NDJSON, big, 0, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 1: the record is longer than");
    free(big);
    assert_int_equal(metrics(fx), 0);
}

static void test_io_import_empty_and_bad_arguments(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, "", 0, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 1: the input is empty");
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, "\n\r\n", 0, &rep), OI_EINVALID);
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, HEADER, 0, &rep));
    assert_int_equal(rep.rows, 0);
    assert_int_equal(rep.batches, 0);
    assert_ok(fx, import_text(fx, OI_FORMAT_NDJSON, "", 0, NULL));
    assert_ok(fx, import_text(fx, OI_FORMAT_NDJSON, " \n\t\n", 0, &rep));
    assert_int_equal(rep.rows, 0);

    assert_rc(fx, oi_metrics_import(fx->store, NULL, OI_FORMAT_CSV, NULL, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "no input");
    FILE *in = fmemopen((void *)HEADER, strlen(HEADER), "r");
    assert_rc(fx, oi_metrics_import(fx->store, in, (oi_metrics_format)7, NULL, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "unknown import format 7");
    fclose(in);

    /* A read error (a directory opens, but does not read) is not the end of the input. */
    in = fopen(fx->dir, "r");
    assert_non_null(in);
    assert_rc(fx, oi_metrics_import(fx->store, in, OI_FORMAT_CSV, NULL, &rep), OI_ERROR);
    assert_contains(oi_errmsg(fx->store), "line 1: cannot read the input: Is a directory");
    rewind(in);
    assert_rc(fx, oi_metrics_import(fx->store, in, OI_FORMAT_NDJSON, NULL, &rep), OI_ERROR);
    fclose(in);
}

/* A FILE whose reads fail after `text`: an I/O error is not the end of the input. */
typedef struct failing_input {
    const char *text;
    size_t at;
} failing_input;

static ssize_t read_then_fail(void *cookie, char *buf, size_t size)
{
    failing_input *in = cookie;
    size_t left = strlen(in->text) - in->at, n = left < size ? left : size;
    if (n == 0) {
        errno = EIO;
        return -1;
    }
    memcpy(buf, in->text + in->at, n);
    in->at += n;
    return (ssize_t)n;
}

static void test_io_import_read_error_mid_record(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct {
        oi_metrics_format format;
        const char *text, *where;
    } cases[] = {
        {OI_FORMAT_CSV, HEADER AGENT ",cp", "line 2: "},             /* an unquoted field */
        {OI_FORMAT_CSV, HEADER AGENT ",\"cp", "line 2: "},          /* a quoted one */
        {OI_FORMAT_NDJSON, GOOD_LINE "{\"agent", "line 2: "},      /* a line */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        failing_input src = {cases[i].text, 0};
        FILE *in = fopencookie(&src, "r", (cookie_io_functions_t){.read = read_then_fail});
        oi_import_report rep = OI_IMPORT_REPORT_INIT;
        assert_rc(fx, oi_metrics_import(fx->store, in, cases[i].format, NULL, &rep), OI_ERROR);
        assert_contains(oi_errmsg(fx->store), cases[i].where);
        assert_contains(oi_errmsg(fx->store), "cannot read the input: Input/output error");
        fclose(in);
    }
    assert_int_equal(metrics(fx), 0);
}

/* The same name for two agents: the name is refused, the id is not. */
static void test_io_import_ambiguous_name_and_many_agents(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent twin = OI_AGENT_INIT;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    char line[256], *text = calloc(1, 64 * 1024);
    fx_make_agent(fx, "performance", AGENT, &twin);
    snprintf(text, 4096, HEADER AGENT ",cpu,1,,,\n");
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 2: 2 agents are named 'Test Cost Agent'");
    snprintf(text, 4096, HEADER "%s,cpu,1,,,\n", twin.id);
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    assert_sql(fx, "SELECT count(*) FROM agent_metrics a JOIN agents g ON g.id = a.agent_id "
                   "WHERE g.type = 'performance'", "1\n");
    oi_agent_clear(&twin);

    /* More agents than the cache holds, twice round: each row still finds its own. */
    strcpy(text, HEADER);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 70; i++) {
            snprintf(line, sizeof line, "agent-%02d,m,%d,,,\n", i, i);
            strcat(text, line);
            if (round == 0) {
                oi_agent a = OI_AGENT_INIT;
                snprintf(line, sizeof line, "agent-%02d", i);
                fx_make_agent(fx, "bulk", line, &a);
                oi_agent_clear(&a);
            }
        }
    fx_sql_exec(fx, "DELETE FROM agent_metrics");
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    assert_int_equal(rep.rows, 140);
    assert_sql(fx, "SELECT count(*) FROM agent_metrics m JOIN agents a ON a.id = m.agent_id "
                   "WHERE a.name = 'agent-' || CASE WHEN m.metric_value < 10 THEN '0' ELSE '' END "
                   "|| CAST(CAST(m.metric_value AS INTEGER) AS TEXT)", "140\n");
    free(text);
}

/* ---- rows the database refuses ---------------------------------------------------- */

static void install_refusal(oi_fixture *fx)
{
    if (fx_is_pg())
        fx_sql_exec(fx,
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.metric_name = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; "
            "RETURN NEW; END $$; "
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON agent_metrics FOR EACH ROW "
            "EXECUTE FUNCTION refuse_boom()");
    else
        fx_sql_exec(fx,
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON agent_metrics "
            "WHEN NEW.metric_name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
}

/* Valid to us, refused by the database: its row is named, its batch rolled back. */
static void test_io_import_database_refuses_row(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = HEADER;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    install_refusal(fx);
    repeat(text, sizeof text, GOOD_ROW, 10);
    strcat(text, AGENT ",boom,1,,,\n");
    repeat(text, sizeof text, GOOD_ROW, 2);
    int rc = import_text(fx, OI_FORMAT_CSV, text, 7, &rep);
    assert_true(rc < 0);
    assert_contains(oi_errmsg(fx->store), "line 12: the database refused the row: ");
    assert_contains(oi_errmsg(fx->store), "boom refused");
    assert_int_equal(rep.line, 12);
    assert_int_equal(rep.resume_line, 9);
    assert_int_equal(rep.rows, 7);
    assert_int_equal(metrics(fx), 7);
    /* The store is usable afterwards, and the next import goes through. */
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, HEADER GOOD_ROW, 7, &rep));
    assert_int_equal(metrics(fx), 8);
}

/* An agent deleted while its rows are being imported: the foreign key
 * refuses the next batch (SQLite names the row; PostgreSQL checks foreign
 * keys when the COPY ends, so it names the batch). */
static void test_io_import_agent_deleted_meanwhile(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent gone = OI_AGENT_INIT;
    char text[4096] = HEADER, row[128];
    fx_make_agent(fx, "performance", "Doomed", &gone);
    snprintf(row, sizeof row, "Doomed,cpu,1,,,\n");
    repeat(text, sizeof text, GOOD_ROW, 6);
    repeat(text, sizeof text, row, 4);                /* lines 8-11 */
    repeat(text, sizeof text, GOOD_ROW, 4);
    progress_log log = {.fx = fx, .delete_agent = gone.id};
    oi_import_options opts = {.version = OI_IMPORT_OPTIONS_VERSION, .batch_size = 7,
                              .progress = log_progress, .progress_ctx = &log};
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    FILE *in = fmemopen(text, strlen(text), "r");
    int rc = oi_metrics_import(fx->store, in, OI_FORMAT_CSV, &opts, &rep);
    fclose(in);
    assert_int_equal(rc, OI_ECONSTRAINT);
    assert_int_equal(rep.rows, 7);
    assert_int_equal(rep.resume_line, 9);
    if (fx_is_pg()) {
        assert_contains(oi_errmsg(fx->store), "lines 9-15: the database refused the batch: ");
        assert_int_equal(rep.line, 9);
    } else {
        assert_contains(oi_errmsg(fx->store), "line 9: the database refused the row: ");
    }
    assert_int_equal(metrics(fx), 6);  /* the agent's row of batch 1 went with it */
    oi_agent_clear(&gone);
}

/* rows records of the agent's metric, the one at `bad` (from 1) replaced
 * by bad_row; free() it. */
static char *csv_with_bad_row(int rows, int bad, const char *bad_row)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    fputs(HEADER, out);
    for (int i = 1; i <= rows; i++)
        fprintf(out, "%s", i == bad ? bad_row : GOOD_ROW);
    fclose(out);
    return text;
}

/* The reader stages batch k+1 while batch k is written: a failure it
 * meets many batches on is still reported after the batches before it
 * commit, with the same line, resume line and rows, whether the reader
 * (a bad value) or the writer (an unknown agent) finds it. */
static void test_io_import_failure_many_batches_on(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct {
        const char *row, *reason;
        int rc;
    } cases[] = {
        {AGENT ",cpu,abc,%,,\n", "line 2551: metric_value is not a number", OI_EINVALID},
        {"Nobody,cpu,1,%,,\n", "line 2551: no agent named 'Nobody'", OI_ENOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text = csv_with_bad_row(3000, 2550, cases[i].row); /* data row 2550: line 2551 */
        progress_log log = {.calls = 0};
        oi_import_options opts = {.version = OI_IMPORT_OPTIONS_VERSION, .batch_size = 500,
                                  .progress = log_progress, .progress_ctx = &log};
        oi_import_report rep = OI_IMPORT_REPORT_INIT;
        fx_sql_exec(fx, "DELETE FROM agent_metrics");
        FILE *in = fmemopen(text, strlen(text), "r");
        assert_rc(fx, oi_metrics_import(fx->store, in, OI_FORMAT_CSV, &opts, &rep), cases[i].rc);
        fclose(in);
        assert_contains(oi_errmsg(fx->store), cases[i].reason);
        assert_int_equal(rep.rows, 2500);
        assert_int_equal(rep.batches, 5);
        assert_int_equal(log.calls, 5);
        assert_int_equal(rep.line, 2551);
        assert_int_equal(rep.resume_line, 2502);
        assert_int_equal(metrics(fx), 2500);
        free(text);
    }
}

/* Agents are resolved after their batch is read: an unknown agent before
 * a bad record of the same batch is still the failure reported, and a bad
 * record before an unknown agent still is. */
static void test_io_import_first_failure_wins(void **state)
{
    oi_fixture *fx = FX(state);
    static const char nobody[] = "Nobody,cpu,1,%,,\n", bad[] = AGENT ",cpu,abc,%,,\n";
    static const struct {
        const char *first, *second, *reason;
        int rc;
    } cases[] = {
        {nobody, bad, "line 5: no agent named 'Nobody'", OI_ENOTFOUND},
        {bad, nobody, "line 5: metric_value is not a number", OI_EINVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[4096] = HEADER;
        oi_import_report rep = OI_IMPORT_REPORT_INIT;
        repeat(text, sizeof text, GOOD_ROW, 3);  /* lines 2-4: the first batch */
        strcat(text, cases[i].first);            /* lines 5 and 6: the second */
        strcat(text, cases[i].second);
        repeat(text, sizeof text, GOOD_ROW, 3);
        fx_sql_exec(fx, "DELETE FROM agent_metrics");
        assert_rc(fx, import_text(fx, OI_FORMAT_CSV, text, 3, &rep), cases[i].rc);
        assert_contains(oi_errmsg(fx->store), cases[i].reason);
        assert_int_equal(rep.line, 5);
        assert_int_equal(rep.resume_line, 5);
        assert_int_equal(rep.rows, 3);
        assert_int_equal(metrics(fx), 3);
    }
}

/* Inside the caller's transaction the batches join it. */
static void test_io_import_inside_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = HEADER;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    repeat(text, sizeof text, GOOD_ROW, 10);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 3, &rep));
    assert_int_equal(rep.batches, 4);
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(metrics(fx), 0);
}

/* ---- a batch read apart from its writing -------------------------------------- */

static int read_batch(oi_fixture *fx, const char *text, oi_metrics_batch **out,
                      oi_import_report *report)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    int rc = oi_metrics_batch_read(fx->store, in, OI_FORMAT_NDJSON, out, report);
    fclose(in);
    return rc;
}

/* Read on one store, written on another; nothing is written by the read. */
static void test_io_batch_read_then_write(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = "";
    oi_metrics_batch *b = NULL;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    repeat(text, sizeof text, GOOD_LINE, 5);
    assert_ok(fx, read_batch(fx, text, &b, &rep));
    assert_non_null(b);
    assert_int_equal(rep.bytes, strlen(text));
    assert_int_equal(rep.rows, 0);
    assert_int_equal(metrics(fx), 0);

    oi_store *other = NULL;
    assert_int_equal(oi_store_open(&other, fx->url), OI_OK);
    assert_int_equal(oi_metrics_batch_write(other, b, &rep), OI_OK);
    assert_int_equal(rep.rows, 5);
    assert_int_equal(rep.batches, 1);
    assert_int_equal(rep.bytes, strlen(text));
    oi_store_close(other);
    assert_int_equal(metrics(fx), 5);

    assert_ok(fx, oi_begin(fx->store));          /* joins the caller's transaction */
    assert_ok(fx, oi_metrics_batch_write(fx->store, b, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(metrics(fx), 5);
    assert_ok(fx, oi_metrics_batch_write(fx->store, b, NULL)); /* again: its rows again */
    assert_int_equal(metrics(fx), 10);
    oi_metrics_batch_free(b);
    oi_metrics_batch_free(NULL);
}

/* A bad record fails the read as it fails an import, with no batch. */
static void test_io_batch_read_refuses(void **state)
{
    oi_fixture *fx = FX(state);
    oi_metrics_batch *b = (oi_metrics_batch *)fx; /* must become NULL */
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    assert_rc(fx, read_batch(fx, GOOD_LINE GOOD_LINE "{\"agent\": \"" AGENT "\"}\n", &b, &rep),
              OI_EINVALID);
    assert_null(b);
    assert_int_equal(rep.line, 3);
    assert_contains(oi_errmsg(fx->store), "line 3: ");
    assert_rc(fx, read_batch(fx, "{\"agent\": \"nobody\", \"metric_name\": \"cpu\", "
                                 "\"metric_value\": 1}\n", &b, &rep), OI_ENOTFOUND);
    assert_null(b);
    assert_rc(fx, oi_metrics_batch_write(fx->store, NULL, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "no batch to write");
    assert_int_equal(metrics(fx), 0);
}

/* An agent deleted between the read and the write: none of the batch. */
static void test_io_batch_agent_deleted_before_write(void **state)
{
    oi_fixture *fx = FX(state);
    oi_metrics_batch *b = NULL;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    oi_agent other = OI_AGENT_INIT;
    fx_make_agent(fx, "resource", "other", &other);
    char text[4096];
    snprintf(text, sizeof text, GOOD_LINE "{\"agent\": \"%s\", \"metric_name\": \"m\", "
             "\"metric_value\": 2}\n", other.id);
    assert_ok(fx, read_batch(fx, text, &b, &rep));
    assert_ok(fx, oi_agent_delete(fx->store, other.id));
    assert_rc(fx, oi_metrics_batch_write(fx->store, b, &rep), OI_ECONSTRAINT);
    assert_int_equal(rep.rows, 0);
    assert_int_equal(metrics(fx), 0);
    oi_metrics_batch_free(b);
    oi_agent_clear(&other);
}

/* Backslash, tab, newline and carriage return, which COPY's text format
 * would have to escape, are stored as written. */
static void test_io_import_copy_escapes(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    const char *text = HEADER
        AGENT ",\"back\\\\slash \\\\N\",1,\\N,2026-01-01T00:00:00Z,"
        "\"{\t\"\"p\"\":\r\n\"\"C:\\\\\\\\dir\\\\ttab\"\"}\"\n";
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    assert_sql(fx, "SELECT metric_name, metric_unit FROM agent_metrics",
               "back\\\\slash \\\\N|\\N\n");
    if (fx_is_pg())
        assert_sql(fx, "SELECT metadata->>'p' FROM agent_metrics", "C:\\\\dir\\ttab\n");
    else
        assert_sql(fx, "SELECT json_extract(metadata, '$.p') FROM agent_metrics",
                   "C:\\\\dir\\ttab\n");
}

/* Each spelling must store exactly the double it reads as (leading zeros,
 * 15 digits and more, exponents, a subnormal, the sign of zero where the
 * database keeps it). */
static void test_io_import_value_spellings(void **state)
{
    static const char *const spelled[] = {
        "489.604", "007.50", "-0", "-0.0", "0.1", "123456789012345", "0.000000000000001",
        "99999999999999.9", "1234567890123456", "0.30000000000000004", "1e-7", "-2.5E+3",
        "4.94065645841247e-320", "100",
    };
    enum { N = sizeof spelled / sizeof *spelled };
    oi_fixture *fx = FX(state);
    char text[2048] = HEADER;
    for (int i = 0; i < N; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, AGENT ",n%d,%s,,2026-01-01T00:00:00Z,{}\n", i,
                 spelled[i]);
    }
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, NULL));
    uint64_t rows = 0;
    char *got = export_text(fx, OI_FORMAT_CSV, NULL, &rows);
    assert_int_equal(rows, N);
    char *line = strchr(got, '\n') + 1; /* after the header */
    for (int seen = 0; seen < N; seen++, line = strchr(line, '\n') + 1) {
        char *name = strchr(line, ',') + 1, *value = strchr(name, ',') + 1;
        int i = atoi(name + 1);
        double want = strtod(spelled[i], NULL), stored = strtod(value, NULL);
        /* to the bit on PostgreSQL; SQLite stores a REAL zero as the integer 0 */
        bool same = fx_is_pg() ? memcmp(&want, &stored, sizeof want) == 0 : want == stored;
        if (!same) {
            print_error("%s stored as %.17g\n", spelled[i], stored);
            fail();
        }
    }
    free(got);
}

/* Metadata found valid is not parsed again (textset.c): a repeated text
 * still passes, and a text one byte from a valid one is still refused. */
static void test_io_import_repeated_metadata(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = HEADER;
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    repeat(text, sizeof text, GOOD_ROW, 3);
    strcat(text, AGENT ",cpu,1.5,percent,2026-01-01T00:00:00Z,\"{\"\"k\"\": 1}}\"\n");
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "line 5: metadata is not valid JSON");
    assert_int_equal(metrics(fx), 0);
}

/* The set holds what was added, a long text never, and empties itself
 * when full (every text added stays findable until then). */
static void test_io_textset(void **state)
{
    (void)state;
    oi_textset set = {0};
    char text[32], longer[OI_TEXTSET_TEXT_MAX + 2];
    assert_false(oi_textset_has(&set, "a"));
    for (int i = 0; i < 1024; i++) {
        snprintf(text, sizeof text, "{\"n\": %d}", i);
        oi_textset_add(&set, text);
    }
    for (int i = 0; i < 1024; i++) {
        snprintf(text, sizeof text, "{\"n\": %d}", i);
        assert_true(oi_textset_has(&set, text));
    }
    assert_false(oi_textset_has(&set, "{\"n\": 1024}"));
    oi_textset_add(&set, "{\"n\": 1024}");   /* full: emptied, then added */
    assert_true(oi_textset_has(&set, "{\"n\": 1024}"));
    assert_false(oi_textset_has(&set, "{\"n\": 0}"));
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    oi_textset_add(&set, longer);
    assert_false(oi_textset_has(&set, longer));
    oi_textset_free(&set);
    oi_textset_free(&set);
}

/* The agent cache holds every reference put until it is full (a fleet of
 * a thousand agents costs a lookup each, once), a newer value replaces an
 * older one, and when full it empties itself and goes on. */
static void test_io_ref_cache(void **state)
{
    (void)state;
    oi_ref_cache c = {0};
    char key[32], value[32];
    assert_null(oi_ref_cache_get(&c, "a"));
    for (int i = 0; i < OI_REF_CACHE_MAX; i++) {
        snprintf(key, sizeof key, "agent-%d", i);
        snprintf(value, sizeof value, "id-%d", i);
        assert_string_equal(oi_ref_cache_put(&c, key, value), value);
    }
    for (int i = 0; i < OI_REF_CACHE_MAX; i++) {
        snprintf(key, sizeof key, "agent-%d", i);
        snprintf(value, sizeof value, "id-%d", i);
        assert_string_equal(oi_ref_cache_get(&c, key), value);
    }
    assert_null(oi_ref_cache_get(&c, "agent-4096"));
    oi_ref_cache_put(&c, "agent-7", "renamed"); /* kept already: replaced, not added */
    assert_string_equal(oi_ref_cache_get(&c, "agent-7"), "renamed");
    oi_ref_cache_put(&c, "agent-4096", "id-4096"); /* full: emptied, then added */
    assert_string_equal(oi_ref_cache_get(&c, "agent-4096"), "id-4096");
    assert_null(oi_ref_cache_get(&c, "agent-0"));
    oi_ref_cache_free(&c);
    oi_ref_cache_free(&c);
    assert_null(oi_ref_cache_get(&c, "agent-4096"));
}

/* A CSV field holding text, quoted, its quotes doubled. */
static void add_quoted(char *buf, size_t size, const char *text)
{
    size_t len = strlen(buf);
    buf[len++] = '"';
    for (; *text && len + 3 < size; text++) {
        if (*text == '"')
            buf[len++] = '"';
        buf[len++] = *text;
    }
    buf[len++] = '"';
    buf[len] = '\0';
}

/* The import stores what a single create stores (which binds text), to
 * the bit: PostgreSQL's bulk load sends each value in the server's binary
 * form, so a wrong epoch, byte order or encoding shows here.  Times at
 * the store's ends and on either side of 1970 and of 2000 (PostgreSQL's
 * epoch); doubles at the ends of the subnormal and normal ranges and -0;
 * a unit NULL (an empty one is refused: test_io_import_csv_bad_records),
 * quoted, or 2- and 4-byte UTF-8; metadata with raw and
 * escaped UTF-8. */
static void test_io_import_stores_what_create_stores(void **state)
{
    static const char *const times[] = {
        "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000001Z", "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999999Z", "2000-01-01T00:00:00Z",
        "2000-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999999Z",
    };
    static const double values[] = {
        -0.0, 4.9406564584124654e-324, 2.2250738585072009e-308, 2.2250738585072014e-308,
        1.7976931348623157e308, -1.7976931348623157e308, 0.1, -123456.789,
    };
    static const char *const units[] = {NULL, "a \"b\", c", "\xc2\xb5s", "\xf0\x9f\x98\x80 per s"};
    static const char *const metadata[] = {
        "{}", "{\"k\": \"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
        "{\"e\": \"\\u00e9\\ud83d\\ude00\", \"n\": -0, \"big\": 1e308}",
    };
    enum { ROWS = 8 };
    oi_fixture *fx = FX(state);
    char text[4096] = HEADER;
    for (int i = 0; i < ROWS; i++) {
        const char *unit = units[i % 4], *meta = metadata[i % 3];
        add_metric(fx, fx->cost_agent.id, "edge", values[i], (char *)unit, times[i],
                   (char *)meta);
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, AGENT ",edge,%.17g,", values[i]);
        if (unit)
            add_quoted(text, sizeof text, unit);
        len = strlen(text);
        snprintf(text + len, sizeof text - len, ",%s,", times[i]);
        add_quoted(text, sizeof text, meta);
        strcat(text, "\n");
    }
    char *created = export_text(fx, OI_FORMAT_NDJSON, NULL, NULL);
    fx_sql_exec(fx, "DELETE FROM agent_metrics");
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 3, NULL));
    char *imported = export_text(fx, OI_FORMAT_NDJSON, NULL, NULL);
    assert_string_equal(imported, created);
    assert_sql(fx, "SELECT count(*) FROM agent_metrics WHERE metric_unit IS NULL", "2\n");
    if (fx_is_pg()) /* the sign of zero, which the export's text keeps too */
        assert_sql(fx, "SELECT count(*) FROM agent_metrics WHERE metric_value = 0 "
                       "AND metric_value::text = '-0'", "1\n");
    free(created);
    free(imported);
}

/* ---- export --------------------------------------------------------------------- */

static void add_export_rows(oi_fixture *fx)
{
    const char *id = fx->cost_agent.id;
    add_metric(fx, id, "cpu", 0.1, "percent", "2026-01-02T03:04:05.123456Z",
               "{\"region\": \"us-west\"}");
    add_metric(fx, id, "a,b \"q\"", -2.5e-7, NULL, "2026-01-02T03:04:06.000001Z", "{}");
    add_metric(fx, id, "cpu", 1e21, "W", "2026-01-02T03:04:07Z",
               "{\"q\": \"say \\\"hi\\\", ok\"}");
    add_metric(fx, id, "rate", 3, "per,sec", "2026-01-02T03:04:08Z", "{}");
}

static void test_io_export_csv_exact(void **state)
{
    oi_fixture *fx = FX(state);
    uint64_t rows = 0;
    add_export_rows(fx);
    char *got = export_text(fx, OI_FORMAT_CSV, NULL, &rows);
    assert_int_equal(rows, 4);
    assert_string_equal(got,
        HEADER
        AGENT ",cpu,0.1,percent,2026-01-02T03:04:05.123456Z,\"{\"\"region\"\": \"\"us-west\"\"}\"\n"
        AGENT ",\"a,b \"\"q\"\"\",-2.5e-07,,2026-01-02T03:04:06.000001Z,{}\n"
        AGENT ",cpu,1e+21,W,2026-01-02T03:04:07.000000Z,"
        "\"{\"\"q\"\": \"\"say \\\"\"hi\\\"\", ok\"\"}\"\n"
        AGENT ",rate,3,\"per,sec\",2026-01-02T03:04:08.000000Z,{}\n");
    free(got);
}

static void test_io_export_ndjson_exact(void **state)
{
    oi_fixture *fx = FX(state);
    add_export_rows(fx);
    char *got = export_text(fx, OI_FORMAT_NDJSON, NULL, NULL);
    assert_string_equal(got,
        "{\"agent\":\"" AGENT "\",\"metric_name\":\"cpu\",\"metric_value\":0.1,"
        "\"metric_unit\":\"percent\",\"collection_timestamp\":\"2026-01-02T03:04:05.123456Z\","
        "\"metadata\":{\"region\": \"us-west\"}}\n"
        "{\"agent\":\"" AGENT "\",\"metric_name\":\"a,b \\\"q\\\"\",\"metric_value\":-2.5e-07,"
        "\"metric_unit\":null,\"collection_timestamp\":\"2026-01-02T03:04:06.000001Z\","
        "\"metadata\":{}}\n"
        "{\"agent\":\"" AGENT "\",\"metric_name\":\"cpu\",\"metric_value\":1e+21,"
        "\"metric_unit\":\"W\",\"collection_timestamp\":\"2026-01-02T03:04:07.000000Z\","
        "\"metadata\":{\"q\": \"say \\\"hi\\\", ok\"}}\n"
        "{\"agent\":\"" AGENT "\",\"metric_name\":\"rate\",\"metric_value\":3,"
        "\"metric_unit\":\"per,sec\","
        "\"collection_timestamp\":\"2026-01-02T03:04:08.000000Z\","
        "\"metadata\":{}}\n");
    /* Every line is one JSON object. */
    for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *v = fx_json(line);
        assert_true(json_is_object(v));
        json_decref(v);
    }
    free(got);
}

/* The fewest of 15, 16 or 17 digits that read back as v: what the export
 * writes (number.c), computed here apart from the export's own shortcut. */
static void shortest(double v, char *buf, size_t size)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* The export takes the database's digits when they are %.15g's: every
 * layout %g has (fixed, exponent, the boundaries between), and the values
 * that need more digits, zero's sign and subnormals. */
static void test_io_export_numbers_exact(void **state)
{
    oi_fixture *fx = FX(state);
    static const double values[] = {
        0.0, -0.0, 1, -1, 0.1, 0.30000000000000004, 12.5, 489.604, -987654321.123, 100,
        1e14, 1e15, 1e16, 123456789012345, 1234567890123456, 12345678901234567,
        999999999999999, 9999999999999998, 0.001, 0.0001, 0.00012345, 1e-5, 1.5e-5,
        0.000099999, 1e21, 1e22, 1.5e300, -2.5e-07, 1e-300, 2.2250738585072014e-308,
        1e-310, 5e-324, 1.7976931348623157e308, 4.35, 0.07, 1.0 / 3, 2.0 / 3, 9007199254740993,
    };
    size_t n = sizeof values / sizeof *values;
    for (size_t i = 0; i < n; i++)
        add_metric(fx, fx->cost_agent.id, "exact", values[i], NULL, "2026-01-01T00:00:00Z", "{}");
    srand(10);
    for (int i = 0; i < 300; i++) {   /* doubles from their bits, and short decimals */
        uint64_t bits = (uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (i % 2)
            v = (double)(rand() % 2000000 - 1000000) / pow(10, rand() % 12);
        if (isfinite(v))
            add_metric(fx, fx->cost_agent.id, "exact", v, NULL, "2026-01-01T00:00:00Z", "{}");
    }
    oi_export_filter f = OI_EXPORT_FILTER_INIT;
    f.metric_name = "exact";
    char *got = export_text(fx, OI_FORMAT_CSV, &f, NULL);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    oi_metric_filter q = OI_METRIC_FILTER_INIT;
    q.metric_name = "exact";
    oi_iter *it;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, &q));
    char *line = strchr(got, '\n') + 1;   /* past the header; rows in id order, as created */
    while (oi_agent_metric_next(it, &m) == OI_OK) {
        char want[64], *value = strchr(strchr(line, ',') + 1, ',') + 1;
        shortest(m.metric_value, want, sizeof want);
        if (strncmp(value, want, strlen(want)) != 0 || value[strlen(want)] != ',') {
            print_error("value %.17g exported as %.*s, want %s\n", m.metric_value,
                        (int)strcspn(value, ","), value, want);
            fail();
        }
        line = strchr(line, '\n') + 1;
        oi_agent_metric_clear(&m);
    }
    assert_int_equal(*line, '\0');
    oi_iter_free(it);
    free(got);
}

static void test_io_export_filters(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent other = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "Other Agent", &other);
    add_export_rows(fx);
    add_metric(fx, other.id, "cpu", 9, NULL, "2026-01-02T03:04:05.123456Z", "{}");
    uint64_t rows;
    const oi_export_filter empty = OI_EXPORT_FILTER_INIT;
    oi_export_filter f = empty;
    f.agent = "Other Agent";
    free(export_text(fx, OI_FORMAT_CSV, &f, &rows));
    assert_int_equal(rows, 1);
    f = empty;
    f.agent = fx->cost_agent.id;
    f.metric_name = "cpu";
    free(export_text(fx, OI_FORMAT_CSV, &f, &rows));
    assert_int_equal(rows, 2);
    f = empty;
    f.metric_name = "cpu";
    free(export_text(fx, OI_FORMAT_CSV, &f, &rows));
    assert_int_equal(rows, 3);
    /* Both bounds inclusive, to the microsecond. */
    f = empty;
    f.agent = AGENT;
    assert_int_equal(oi_time_parse("2026-01-02T03:04:05.123456Z", &f.from), OI_OK);
    assert_int_equal(oi_time_parse("2026-01-02T03:04:07Z", &f.to), OI_OK);
    free(export_text(fx, OI_FORMAT_CSV, &f, &rows));
    assert_int_equal(rows, 3);
    f.from += 1;
    f.to -= 1;
    char *text = export_text(fx, OI_FORMAT_NDJSON, &f, &rows);
    assert_int_equal(rows, 1);
    assert_contains(text, "2026-01-02T03:04:06.000001Z");
    free(text);

    f = empty;
    f.agent = "Nobody";
    FILE *out = fopen("/dev/null", "w");
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, &f, &rows), OI_ENOTFOUND);
    assert_rc(fx, oi_metrics_export(fx->store, out, (oi_metrics_format)0, NULL, &rows),
              OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "unknown export format 0");
    fclose(out);
    assert_rc(fx, oi_metrics_export(fx->store, NULL, OI_FORMAT_CSV, NULL, NULL), OI_EINVALID);
    oi_agent_clear(&other);
}

/* The name when it finds the agent again, otherwise the id. */
static void test_io_export_agent_by_id_when_name_ambiguous(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent twin = OI_AGENT_INIT, uuid_named = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", AGENT, &twin);
    fx_make_agent(fx, "odd", "123e4567-e89b-42d3-a456-426614174000", &uuid_named);
    add_metric(fx, twin.id, "a", 1, NULL, "2026-01-01T00:00:00Z", "{}");
    add_metric(fx, uuid_named.id, "b", 2, NULL, "2026-01-01T00:00:00Z", "{}");
    char *text = export_text(fx, OI_FORMAT_CSV, NULL, NULL), want[512];
    snprintf(want, sizeof want, HEADER "%s,a,1,,2026-01-01T00:00:00.000000Z,{}\n"
             "%s,b,2,,2026-01-01T00:00:00.000000Z,{}\n", twin.id, uuid_named.id);
    assert_string_equal(text, want);
    free(text);
    oi_agent_clear(&twin);
    oi_agent_clear(&uuid_named);
}

static void test_io_export_write_error(void **state)
{
    oi_fixture *fx = FX(state);
    char text[32768] = HEADER;
    repeat(text, sizeof text, GOOD_ROW, 200);
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, NULL));
    FILE *out = fopen("/dev/full", "w");
    assert_non_null(out);
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, NULL), OI_ERROR);
    assert_contains(oi_errmsg(fx->store), "cannot write the export: ");
    fclose(out);
    out = fopen("/dev/full", "w");
    setvbuf(out, NULL, _IONBF, 0);
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_NDJSON, NULL, NULL), OI_ERROR);
    fclose(out);
    /* A small export stays in the FILE's buffer: the failure comes at the flush. */
    oi_export_filter one = OI_EXPORT_FILTER_INIT;
    one.metric_name = "nothing";
    out = fopen("/dev/full", "w");
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, &one, NULL), OI_ERROR);
    assert_contains(oi_errmsg(fx->store), "cannot write the export: ");
    fclose(out);
}

/* The agents table gone (renamed) while metrics remain: the agent column
 * cannot be written, and the export says why. */
static void test_io_export_agent_lookup_fails(void **state)
{
    oi_fixture *fx = FX(state);
    add_metric(fx, fx->cost_agent.id, "m", 1, NULL, "2026-01-01T00:00:00Z", "{}");
    fx_sql_exec(fx, "ALTER TABLE agents RENAME TO agents_gone");
    FILE *out = fopen("/dev/null", "w");
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, NULL), OI_ESCHEMA);
    fclose(out);
}

/* More rows than one page of the export (10,000; two import batches): row i
 * has the value i. */
enum { PAGES_ROWS = 10000 + 37 };

static void add_numbered_rows(oi_fixture *fx)
{
    size_t size = PAGES_ROWS * 48 + 256, len;
    char *text = malloc(size);
    len = (size_t)snprintf(text, size, "agent,metric_name,metric_value\n");
    for (int i = 0; i < PAGES_ROWS; i++)
        len += (size_t)snprintf(text + len, size - len, AGENT ",m,%d\n", i);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    assert_int_equal(rep.batches, 2);
    free(text);
}

/* More rows than one page: every row once, in order. */
static void test_io_export_pages(void **state)
{
    oi_fixture *fx = FX(state);
    add_numbered_rows(fx);
    uint64_t rows;
    char *text = export_text(fx, OI_FORMAT_CSV, NULL, &rows);
    assert_int_equal(rows, PAGES_ROWS);
    assert_int_equal(fx_count_lines(text), PAGES_ROWS + 1);
    char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < PAGES_ROWS; i++) {
        char want[64];
        int n = snprintf(want, sizeof want, AGENT ",m,%d,", i);
        if (strncmp(line, want, (size_t)n) != 0)
            fail_msg("row %d: %.60s", i, line);
        line = strchr(line, '\n') + 1;
    }
    free(text);
}

/* An output that fails stops the export at the next check (every 10,000
 * rows), not at the end: on PostgreSQL the streamed query is cancelled, or,
 * inside the caller's transaction, the rest is read and dropped.  Either
 * way the store is usable at once, and the transaction goes on. */
static void test_io_export_stops_when_output_fails(void **state)
{
    oi_fixture *fx = FX(state);
    add_numbered_rows(fx);
    for (int in_transaction = 0; in_transaction < 2; in_transaction++) {
        if (in_transaction)
            assert_ok(fx, oi_begin(fx->store));
        FILE *out = fopen("/dev/full", "w");
        assert_non_null(out);
        uint64_t rows;
        assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, &rows), OI_ERROR);
        assert_contains(oi_errmsg(fx->store), "cannot write the export: ");
        assert_true(rows < PAGES_ROWS);
        fclose(out);
        char *text = export_text(fx, OI_FORMAT_NDJSON, NULL, &rows);
        assert_int_equal(rows, PAGES_ROWS);
        free(text);
        if (in_transaction)
            assert_ok(fx, oi_commit(fx->store));
    }
}

/* ---- round trips ------------------------------------------------------------------ */

/* export -> empty the table -> import -> export: the same bytes. */
static void assert_round_trip(oi_fixture *fx, oi_metrics_format out_format,
                              oi_metrics_format via)
{
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    char *first = export_text(fx, out_format, NULL, NULL);
    char *middle = export_text(fx, via, NULL, NULL);
    fx_sql_exec(fx, "DELETE FROM agent_metrics");
    assert_ok(fx, import_text(fx, via, middle, 3, &rep));
    char *second = export_text(fx, out_format, NULL, NULL);
    assert_string_equal(first, second);
    free(first);
    free(middle);
    free(second);
}

static void test_io_round_trip_byte_identical(void **state)
{
    oi_fixture *fx = FX(state);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    const char *text = HEADER
        AGENT ",\"spaced, quoted \"\"name\"\"\",0.30000000000000004,\"k g\","
        "2026-05-06T07:08:09.000123Z,"
        "\"{\n  \"\"multi\"\": \"\"line\"\",\n  \"\"n\"\": [1, 2.5, {\"\"deep\"\": null}]\n}\"\n"
        AGENT ",spaced name,-0,,1999-12-31T23:59:59.999999Z,{}\n"
        AGENT ",tiny,1e-300,unit,0001-01-01T00:00:00Z,"
        "\"{\"\"u\"\": \"\"caf\xc3\xa9 \\u00e9\"\"}\"\n"
        AGENT ",huge,1.7976931348623157e308,unit,9999-12-31T23:59:59.999999Z,{}\n"
        AGENT ",third,0.3333333333333333,\"back\\slash\",2026-01-01T00:00:00Z,{}\n";
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, &rep));
    add_export_rows(fx);
    for (int i = 0; i < 200; i++) {   /* doubles from their bits: every exponent */
        uint64_t bits = (uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v) && (v == 0 || fabs(v) > 1e-307))
            add_metric(fx, fx->cost_agent.id, "random", v, NULL, "2026-01-01T00:00:00Z", "{}");
    }
    assert_round_trip(fx, OI_FORMAT_CSV, OI_FORMAT_CSV);
    assert_round_trip(fx, OI_FORMAT_NDJSON, OI_FORMAT_NDJSON);
    /* Through CSV and back to NDJSON too.  Not NDJSON -> CSV: NDJSON puts the
     * metadata on one line, so line breaks between its tokens (kept as
     * written on SQLite) become blanks. */
    assert_round_trip(fx, OI_FORMAT_NDJSON, OI_FORMAT_CSV);
}

/* ---- prune ------------------------------------------------------------------------ */

static void test_io_prune_boundary(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time cutoff;
    uint64_t n = 99;
    assert_int_equal(oi_time_parse("2026-01-01T00:00:00Z", &cutoff), OI_OK);
    add_metric(fx, fx->cost_agent.id, "m", 1, NULL, "2025-12-31T23:59:59.999999Z", "{}");
    add_metric(fx, fx->cost_agent.id, "m", 2, NULL, "2026-01-01T00:00:00Z", "{}");
    add_metric(fx, fx->cost_agent.id, "m", 3, NULL, "2026-01-01T00:00:00.000001Z", "{}");
    add_metric(fx, fx->cost_agent.id, "m", 4, NULL, "1990-01-01T00:00:00Z", "{}");
    oi_prune_options dry = {.version = OI_PRUNE_OPTIONS_VERSION, .dry_run = true};
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, &dry, &n));
    assert_int_equal(n, 2);
    assert_int_equal(metrics(fx), 4);
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, NULL, &n));
    assert_int_equal(n, 2);
    assert_sql(fx, "SELECT CAST(metric_value AS INTEGER) FROM agent_metrics ORDER BY metric_value",
               "2\n3\n");
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, NULL, NULL));
    assert_int_equal(metrics(fx), 2);

    assert_rc(fx, oi_metrics_prune(fx->store, OI_TIME_NULL, NULL, &n), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "a cut-off time is required");
}

typedef struct prune_log {
    uint64_t deleted[8];
    int calls;
} prune_log;

static void log_prune(void *ctx, uint64_t deleted)
{
    prune_log *log = ctx;
    log->deleted[log->calls++] = deleted;
}

/* Batches of 7, oldest first: 20 old rows take 7 + 7 + 6. */
static void test_io_prune_batches(void **state)
{
    oi_fixture *fx = FX(state);
    char text[4096] = "agent,metric_name,metric_value,collection_timestamp\n", row[128];
    for (int i = 0; i < 23; i++) {
        snprintf(row, sizeof row, AGENT ",m,%d,2020-01-01T00:00:%02dZ\n", i, i);
        strcat(text, row);
    }
    assert_ok(fx, import_text(fx, OI_FORMAT_CSV, text, 0, NULL));
    oi_time cutoff;
    assert_int_equal(oi_time_parse("2020-01-01T00:00:20Z", &cutoff), OI_OK);
    prune_log log = {.calls = 0};
    oi_prune_options opts = {.version = OI_PRUNE_OPTIONS_VERSION, .batch_size = 7,
                             .progress = log_prune, .progress_ctx = &log};
    uint64_t n;
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, &opts, &n));
    assert_int_equal(n, 20);
    assert_int_equal(log.calls, 3);
    assert_int_equal(log.deleted[0], 7);
    assert_int_equal(log.deleted[1], 14);
    assert_int_equal(log.deleted[2], 20);
    assert_sql(fx, "SELECT CAST(min(metric_value) AS INTEGER), count(*) FROM agent_metrics",
               "20|3\n");

    /* A multiple of the batch size takes one more, empty, batch. */
    log.calls = 0;
    opts.batch_size = 3;
    assert_int_equal(oi_time_parse("2020-01-01T00:00:23Z", &cutoff), OI_OK);
    assert_ok(fx, oi_metrics_prune(fx->store, cutoff, &opts, &n));
    assert_int_equal(n, 3);
    assert_int_equal(log.calls, 2);
    assert_int_equal(metrics(fx), 0);
}

static void test_io_prune_failure(void **state)
{
    oi_fixture *fx = FX(state);
    oi_time cutoff = oi_time_now();
    uint64_t n = 99;
    oi_prune_options dry = {.version = OI_PRUNE_OPTIONS_VERSION, .dry_run = true};
    fx_sql_exec(fx, "DROP TABLE agent_metrics");
    assert_rc(fx, oi_metrics_prune(fx->store, cutoff, NULL, &n), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "cannot prune metrics: ");
    assert_contains(oi_errmsg(fx->store), "(0 deleted before the failure)");
    assert_int_equal(n, 0);
    assert_rc(fx, oi_metrics_prune(fx->store, cutoff, &dry, &n), OI_ESCHEMA);
    /* Export and import say the same. */
    FILE *out = fopen("/dev/null", "w");
    assert_rc(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, NULL), OI_ESCHEMA);
    fclose(out);
    oi_import_report rep = OI_IMPORT_REPORT_INIT;
    assert_rc(fx, import_text(fx, OI_FORMAT_CSV, HEADER GOOD_ROW GOOD_ROW, 0, &rep), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "lines 2-3: the batch could not be written: ");
}

/* ---- the CLI ---------------------------------------------------------------------- */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

static char *write_file(oi_fixture *fx, const char *name, const char *text)
{
    char *path = malloc(strlen(fx->dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int c;
    while (f && (c = getc(f)) != EOF)
        putc(c, out);
    if (f)
        fclose(f);
    fclose(out);
    return text;
}

/* The CLI with --database-url and `input` as its standard input. */
static void cli_stdin(oi_fixture *fx, fx_run *run, const char *input, const char *a,
                      const char *b, const char *c)
{
    char *in = write_file(fx, "stdin.txt", input);
    char out[300], err[300];
    const char *cli = getenv("OI_TEST_CLI") && *getenv("OI_TEST_CLI") ? getenv("OI_TEST_CLI")
                                                                     : "build/optiinfra";
    snprintf(out, sizeof out, "%s/stdin.out", fx->dir);
    snprintf(err, sizeof err, "%s/stdin.err", fx->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd0 = open(in, O_RDONLY), fd1 = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            fd2 = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd0 < 0 || fd1 < 0 || fd2 < 0 || dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 ||
            dup2(fd2, 2) < 0)
            _exit(126);
        execl(cli, cli, "--database-url", fx->url, a, b, c, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run->out = slurp(out);
    run->err = slurp(err);
    free(in);
}

static void test_io_cli_import(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    char text[4096] = HEADER;
    repeat(text, sizeof text, GOOD_ROW, 10);
    char *csv = write_file(fx, "m.csv", text);
    fx_cli(fx, &r, "metrics", "import", csv, "--batch-size", "4", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Imported 10 rows in 3 batches (");
    assert_string_equal(r.err, "");  /* no progress bar: stderr is not a terminal */
    fx_run_free(&r);

    char *nd = write_file(fx, "m.jsonl", GOOD_LINE GOOD_LINE);
    fx_cli(fx, &r, "metrics", "import", nd, "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_integer_value(json_object_get(j, "rows")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "batches")), 1);
    assert_non_null(json_object_get(j, "rows_per_second"));
    json_decref(j);
    fx_run_free(&r);
    assert_int_equal(metrics(fx), 12);

    cli_stdin(fx, &r, GOOD_LINE, "metrics", "import", "--format=ndjson");
    assert_exit(&r, 0);
    assert_contains(r.out, "Imported 1 rows in 1 batch (");
    fx_run_free(&r);
    cli_stdin(fx, &r, HEADER GOOD_ROW GOOD_ROW, "metrics", "import", "-");
    assert_exit(&r, 0);
    assert_contains(r.out, "Imported 2 rows");
    fx_run_free(&r);
    assert_int_equal(metrics(fx), 15);
    free(csv);
    free(nd);
}

static void test_io_cli_import_errors(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    char text[4096] = HEADER;
    repeat(text, sizeof text, GOOD_ROW, 5);
    strcat(text, AGENT ",cpu,NaN,,,\n");
    char *bad = write_file(fx, "bad.csv", text);
    fx_cli(fx, &r, "metrics", "import", bad, "--batch-size", "2", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "optiinfra: line 7: metric_value must be a finite number, not nan or "
                           "inf; 4 rows before line 6 were committed, none from it on: fix the "
                           "input and import it from line 6");
    fx_run_free(&r);
    fx_cli(fx, &r, "metrics", "import", bad, "--batch-size", "2", "--json", (char *)NULL);
    assert_exit(&r, 3);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_integer_value(fx_json_at(j, "error.line")), 7);
    assert_int_equal(json_integer_value(fx_json_at(j, "error.resume_line")), 6);
    assert_int_equal(json_integer_value(json_object_get(j, "rows")), 4);
    assert_contains(json_string_value(fx_json_at(j, "error.reason")), "finite number");
    json_decref(j);
    fx_run_free(&r);
    assert_int_equal(metrics(fx), 8);

    fx_cli(fx, &r, "metrics", "import", bad, "--batch-size", "20", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "line 7: metric_value must be a finite number, not nan or inf; nothing "
                           "was written");
    fx_run_free(&r);

    cli_stdin(fx, &r, HEADER "Nobody,x,1,,,\n", "metrics", "import", NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "line 2: no agent named 'Nobody'");
    fx_run_free(&r);

    struct { const char *a, *b, *c; int code; const char *msg; } usage[] = {
        {"/nonexistent/m.csv", NULL, NULL, 4, "cannot open /nonexistent/m.csv: No such file"},
        {"m.txt", NULL, NULL, 2, "cannot tell the format of 'm.txt'"},
        {"-", "--format", "xml", 2, "unknown format 'xml': use csv or ndjson"},
        {"-", "--batch-size", "0", 3, "--batch-size '0' is not a whole number from 1 to 1000000"},
        {"-", "--batch-size", "1000001", 3, "--batch-size '1000001'"},
        {"-", "--batch-size", "7x", 3, "--batch-size '7x'"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
        fx_cli(fx, &r, "metrics", "import", usage[i].a, usage[i].b, usage[i].c, (char *)NULL);
        assert_exit(&r, usage[i].code);
        assert_contains(r.err, usage[i].msg);
        fx_run_free(&r);
    }
    free(bad);
}

static void test_io_cli_export(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    add_export_rows(fx);
    char *want = export_text(fx, OI_FORMAT_CSV, NULL, NULL);
    fx_cli(fx, &r, "metrics", "export", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    fx_run_free(&r);
    free(want);

    oi_export_filter f = OI_EXPORT_FILTER_INIT;
    f.metric_name = "cpu";
    want = export_text(fx, OI_FORMAT_NDJSON, &f, NULL);
    fx_cli(fx, &r, "metrics", "export", "--json", "--name", "cpu", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, want);
    fx_run_free(&r);
    fx_cli(fx, &r, "metrics", "export", "--format", "ndjson", "--agent", AGENT,
           "--name", "cpu", "--from", "2026-01-02T03:04:05Z", "--to", "2026-01-02T03:04:07Z",
           (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, want);
    fx_run_free(&r);
    free(want);

    struct { const char *a, *b, *c; int code; const char *msg; } errors[] = {
        {"--json", "--format", "csv", 2, "--json exports NDJSON"},
        {"--format", "tsv", NULL, 2, "unknown format 'tsv'"},
        {"--from", "yesterday", NULL, 3, "--from 'yesterday' is not a time"},
        {"--to", "2026-02-30T00:00:00Z", NULL, 3, "--to '2026-02-30T00:00:00Z' is not a time"},
        {"--agent", "Nobody", NULL, 4, "no agent named 'Nobody'"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        fx_cli(fx, &r, "metrics", "export", errors[i].a, errors[i].b, errors[i].c, (char *)NULL);
        assert_exit(&r, errors[i].code);
        assert_contains(r.err, errors[i].msg);
        fx_run_free(&r);
    }
}

/* export | import into an emptied table | export: the same bytes, through the CLI. */
static void test_io_cli_round_trip(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    add_export_rows(fx);
    fx_cli(fx, &r, "metrics", "export", (char *)NULL);
    assert_exit(&r, 0);
    char *first = r.out;
    r.out = NULL;
    fx_run_free(&r);
    fx_sql_exec(fx, "DELETE FROM agent_metrics");
    cli_stdin(fx, &r, first, "metrics", "import", "-");
    assert_exit(&r, 0);
    fx_run_free(&r);
    fx_cli(fx, &r, "metrics", "export", (char *)NULL);
    assert_exit(&r, 0);
    assert_string_equal(r.out, first);
    fx_run_free(&r);
    free(first);
}

static void test_io_cli_prune(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    char old[OI_TIME_BUFSZ], recent[OI_TIME_BUFSZ];
    oi_time now = oi_time_now();
    oi_time_format(now - INT64_C(3) * 86400 * 1000000, old);
    oi_time_format(now - INT64_C(3600) * 1000000, recent);
    add_metric(fx, fx->cost_agent.id, "m", 1, NULL, old, "{}");
    add_metric(fx, fx->cost_agent.id, "m", 2, NULL, old, "{}");
    add_metric(fx, fx->cost_agent.id, "m", 3, NULL, recent, "{}");

    fx_cli(fx, &r, "metrics", "prune", "--older-than", "2d", "--dry-run", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Would delete 2 metrics collected before ");
    fx_run_free(&r);
    assert_int_equal(metrics(fx), 3);
    fx_cli(fx, &r, "metrics", "prune", "--older-than=2d", "--batch-size", "1", "--json",
           (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 2);
    assert_false(json_boolean_value(json_object_get(j, "dry_run")));
    assert_non_null(json_string_value(json_object_get(j, "cutoff")));
    json_decref(j);
    fx_run_free(&r);
    fx_cli(fx, &r, "metrics", "prune", "--older-than", "30m", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "Deleted 1 metric collected before ");
    fx_run_free(&r);
    assert_int_equal(metrics(fx), 0);

    struct { const char *a, *b; int code; const char *msg; } errors[] = {
        {NULL, NULL, 2, "--older-than DURATION is required"},
        {"--older-than", "30 days", 3, "--older-than '30 days' is not a duration"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        fx_cli(fx, &r, "metrics", "prune", errors[i].a, errors[i].b, (char *)NULL);
        assert_exit(&r, errors[i].code);
        assert_contains(r.err, errors[i].msg);
        fx_run_free(&r);
    }
    fx_cli(fx, &r, "metrics", "prune", "--older-than", "1d", "--batch-size", "0", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_sql_exec(fx, "DROP TABLE agent_metrics");
    fx_cli(fx, &r, "metrics", "prune", "--older-than", "1d", (char *)NULL);
    assert_exit(&r, 6);
    assert_contains(r.err, "cannot prune metrics: ");
    fx_run_free(&r);
}

/* The CLI with stderr on a pseudo-terminal: what it draws there. */
static char *cli_on_terminal(oi_fixture *fx, int *status, const char *a, const char *b,
                             const char *c, const char *d)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    char out[300], *seen = NULL;
    size_t len = 0;
    snprintf(out, sizeof out, "%s/tty.out", fx->dir);
    const char *cli = getenv("OI_TEST_CLI") && *getenv("OI_TEST_CLI") ? getenv("OI_TEST_CLI")
                                                                     : "build/optiinfra";
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int tty = open(ptsname(master), O_RDWR);
        int fd1 = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (tty < 0 || fd1 < 0 || dup2(fd1, 1) < 0 || dup2(tty, 2) < 0)
            _exit(126);
        execl(cli, cli, "--database-url", fx->url, "metrics", a, b, c, d, (char *)NULL);
        _exit(127);
    }
    FILE *log = open_memstream(&seen, &len);
    for (bool done = false;;) {
        struct pollfd p = {master, POLLIN, 0};
        char buf[4096];
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0)
                fwrite(buf, 1, (size_t)n, log);
            else if (done)
                break;
        } else if (done) {
            break;
        }
        if (!done && waitpid(pid, status, WNOHANG) == pid)
            done = true;
    }
    fclose(log);
    close(master);
    return seen;
}

static void test_io_cli_progress_on_terminal(void **state)
{
    oi_fixture *fx = FX(state);
    int status;
    char text[8192] = HEADER;
    repeat(text, sizeof text, GOOD_ROW, 40);
    char *csv = write_file(fx, "m.csv", text);
    char *tty = cli_on_terminal(fx, &status, "import", csv, "--batch-size", "10");
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_contains(tty, "rows/s");
    assert_contains(tty, "] ");        /* a bar: the file's size is known */
    assert_contains(tty, "\r\033[K");  /* erased at the end */
    free(tty);
    tty = cli_on_terminal(fx, &status, "export", NULL, NULL, NULL);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_contains(tty, "Exported 40 rows");
    free(tty);
    tty = cli_on_terminal(fx, &status, "prune", "--older-than", "1d", NULL);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_contains(tty, "40 rows deleted");
    free(tty);
    free(csv);
}

static void test_io_cli_help(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const commands[] = {"import", "export", "prune"};
    for (size_t i = 0; i < 3; i++) {
        fx_run r;
        fx_cli_raw(fx, &r, "metrics", commands[i], "--help", (char *)NULL);
        assert_exit(&r, 0);
        assert_contains(r.out, "Usage: optiinfra metrics ");
        assert_contains(r.out, "Exit codes:");
        assert_contains(r.out, "Examples:");
        fx_run_free(&r);
    }
    fx_run r;
    fx_cli_raw(fx, &r, "metrics", "--help", (char *)NULL);
    assert_contains(r.out, "metrics import [FILE|-]");
    assert_contains(r.out, "metrics prune --older-than DURATION");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_metrics_io_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_io_import_csv_fields),
        T(test_io_import_csv_crlf_bom_blank_lines),
        T(test_io_import_csv_field_runs),
        T(test_io_import_batches_and_progress),
        T(test_io_import_ndjson_fields),
        T(test_io_import_csv_bad_records),
        T(test_io_import_ndjson_bad_records),
        T(test_io_import_line_numbers_span_records),
        T(test_io_import_nul_and_long_records),
        T(test_io_import_empty_and_bad_arguments),
        T(test_io_import_read_error_mid_record),
        T(test_io_import_ambiguous_name_and_many_agents),
        T(test_io_import_database_refuses_row),
        T(test_io_import_agent_deleted_meanwhile),
        T(test_io_import_failure_many_batches_on),
        T(test_io_import_first_failure_wins),
        T(test_io_import_inside_transaction),
        T(test_io_batch_read_then_write),
        T(test_io_batch_read_refuses),
        T(test_io_batch_agent_deleted_before_write),
        T(test_io_import_copy_escapes),
        T(test_io_import_value_spellings),
        T(test_io_import_stores_what_create_stores),
        T(test_io_import_repeated_metadata),
        cmocka_unit_test(test_io_textset),
        cmocka_unit_test(test_io_ref_cache),
        T(test_io_export_csv_exact),
        T(test_io_export_ndjson_exact),
        T(test_io_export_numbers_exact),
        T(test_io_export_filters),
        T(test_io_export_agent_by_id_when_name_ambiguous),
        T(test_io_export_write_error),
        T(test_io_export_agent_lookup_fails),
        T(test_io_export_pages),
        T(test_io_export_stops_when_output_fails),
        T(test_io_round_trip_byte_identical),
        T(test_io_prune_boundary),
        T(test_io_prune_batches),
        T(test_io_prune_failure),
        T(test_io_cli_import),
        T(test_io_cli_import_errors),
        T(test_io_cli_export),
        T(test_io_cli_round_trip),
        T(test_io_cli_prune),
        T(test_io_cli_progress_on_terminal),
        T(test_io_cli_help),
    };
    return fx_run_group("metrics_io", tests);
}
