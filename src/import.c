/*
 * import.c - metrics import: CSV or NDJSON in, batches of rows out.
 *
 * The input is read one record at a time (csv.c) and each record is turned
 * into a staged row: agent resolved to its id, value parsed, time parsed,
 * metadata checked.  When a batch is full, it is written in one
 * transaction through the backend's bulk load (COPY on PostgreSQL, a
 * prepared INSERT on SQLite): one code path for both.
 *
 * Why stage a batch before writing it, rather than stream rows straight
 * into an open COPY: a bad record is found before its batch's transaction
 * begins, so it costs no rollback, and the transaction lasts as long as
 * the database needs to write the batch, not as long as a slow producer on
 * stdin takes to send it.  On SQLite an open write transaction blocks every
 * other writer.  Memory stays bounded: one batch of staged rows (their text
 * in one reused buffer) and one record.
 *
 * Agents are resolved once per name or id through a small cache: a file
 * has millions of rows but few agents.  An agent deleted while the import
 * runs is caught by the foreign key when its next batch is written.
 *
 * Failure: the store's message is "line N: reason" ("lines A-B: ..." when
 * the database refused a batch without saying which row), the batches
 * before the failing one stay committed, and the report says how many rows
 * that is and the line to resume from.
 */
#include <jansson.h>
#include <string.h>
#include "metrics_io.h"

/* The years a timestamp may have: four digits, as both backends store. */
#define TIME_MIN INT64_C(-62135596800000000)  /* 0001-01-01T00:00:00Z */
#define TIME_MAX INT64_C(253402300799999999)  /* 9999-12-31T23:59:59.999999Z */

static const char *const copy_columns[] = {
    "agent_id", "metric_name", "metric_value", "metric_unit",
    "collection_timestamp", "metadata", "created_at",
};
#define NCOPY_COLUMNS ((int)(sizeof copy_columns / sizeof *copy_columns))

/* ---- agent references ------------------------------------------------------ */

const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key)
{
    for (int i = 0; i < OI_REF_CACHE_SIZE && c->key[i]; i++)
        if (strcmp(c->key[i], key) == 0)
            return c->value[i];
    return NULL;
}

const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value)
{
    unsigned i = c->next++ % OI_REF_CACHE_SIZE;
    free(c->key[i]);
    free(c->value[i]);
    c->key[i] = oi_strdup(key);
    c->value[i] = oi_strdup(value);
    return c->value[i];
}

void oi_ref_cache_free(oi_ref_cache *c)
{
    for (int i = 0; i < OI_REF_CACHE_SIZE; i++) {
        free(c->key[i]);
        free(c->value[i]);
    }
}

/* ---- the batch -------------------------------------------------------------- */

typedef struct staged_row {
    uint64_t line;
    char agent_id[OI_UUID_LEN + 1];
    double value;
    oi_time at;
    size_t name, unit, metadata; /* offsets into the batch's text */
    bool has_unit;
} staged_row;

typedef struct batch {
    staged_row *rows;
    size_t n, cap;
    char *text;                  /* the rows' strings, NUL-terminated, back to back */
    size_t len, text_cap;
} batch;

static size_t keep_text(batch *b, const char *text)
{
    size_t n = strlen(text) + 1, at = b->len;
    if (b->len + n > b->text_cap) {
        b->text_cap = (b->len + n) * 2;
        b->text = oi_realloc(b->text, b->text_cap);
    }
    memcpy(b->text + at, text, n);
    b->len += n;
    return at;
}

static staged_row *new_row(batch *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->rows = oi_realloc(b->rows, b->cap * sizeof *b->rows);
    }
    return memset(&b->rows[b->n++], 0, sizeof *b->rows);
}

/* ---- the importer ----------------------------------------------------------- */

typedef struct importer {
    oi_store *s;
    oi_metrics_format format;
    oi_text_reader in;
    int column_field[OI_MF_COUNT]; /* CSV: the field each column holds */
    size_t ncolumns;
    oi_ref_cache agents;           /* name or id -> id */
    batch batch;
    size_t batch_size;
    oi_time started;               /* the time of rows that give none */
    const oi_import_options *opts;
    oi_import_report *report;
} importer;

/* One record's fields; NULL where absent, empty (CSV) or null (NDJSON). */
typedef struct record {
    const char *field[OI_MF_COUNT];
    bool metadata_checked;  /* NDJSON: parsed with its line, and an object */
} record;

/* The import stops at lines first..last: the store's message becomes
 * "line N: why", and the report says where to resume. */
static int stop(importer *im, int rc, uint64_t first, uint64_t last, const char *doing)
{
    oi_import_report *rep = im->report;
    snprintf(rep->reason, sizeof rep->reason, "%s%s", doing, im->s->err.msg);
    rep->line = first;
    rep->resume_line = im->batch.n ? im->batch.rows[0].line : first;
    if (first == last)
        return oi_fail(im->s, rc, "line %llu: %s", (unsigned long long)first, rep->reason);
    return oi_fail(im->s, rc, "lines %llu-%llu: %s", (unsigned long long)first,
                   (unsigned long long)last, rep->reason);
}

static int field_index(const char *name, size_t len)
{
    for (int k = 0; k < OI_MF_COUNT; k++)
        if (strlen(oi_metric_fields[k]) == len && memcmp(oi_metric_fields[k], name, len) == 0)
            return k;
    return -1;
}

static int unknown_name(oi_store *s, const char *what, const char *name, int len)
{
    return oi_fail(s, OI_EINVALID, "unknown %s '%.*s' (known: agent, metric_name, metric_value, "
                   "metric_unit, collection_timestamp, metadata)", what, len, name);
}

/* ---- CSV --------------------------------------------------------------------- */

static int read_header(importer *im)
{
    oi_text_reader *r = &im->in;
    bool seen[OI_MF_COUNT] = {false};
    int rc = oi_csv_read(im->s, r);
    if (rc == OI_DONE)
        return oi_fail(im->s, OI_EINVALID, "the input is empty: CSV starts with a header row "
                       "naming the columns");
    for (size_t i = 0; rc == OI_ROW && i < r->nfields; i++) {
        const char *name = r->buf + r->field_at[i];
        int k = field_index(name, strlen(name));
        if (k < 0)
            return unknown_name(im->s, "column", name, (int)strlen(name));
        if (seen[k])
            return oi_fail(im->s, OI_EINVALID, "the column %s appears twice", name);
        seen[k] = true;
        im->column_field[i] = k;
    }
    for (int k = OI_MF_AGENT; rc == OI_ROW && k <= OI_MF_VALUE; k++)
        if (!seen[k])
            return oi_fail(im->s, OI_EINVALID, "the header has no column %s", oi_metric_fields[k]);
    im->ncolumns = r->nfields;
    return rc == OI_ROW ? OI_OK : rc;
}

static int csv_record(importer *im, record *rec)
{
    const oi_text_reader *r = &im->in;
    if (r->nfields != im->ncolumns)
        return oi_fail(im->s, OI_EINVALID, "%zu field%s, but the header has %zu columns",
                       r->nfields, r->nfields == 1 ? "" : "s", im->ncolumns);
    for (size_t i = 0; i < r->nfields; i++) {
        const char *text = r->buf + r->field_at[i];
        rec->field[im->column_field[i]] = *text || r->field_quoted[i] ? text : NULL;
    }
    return OI_OK;
}

/* ---- NDJSON ------------------------------------------------------------------ */

/* Spans of a line jansson has already accepted, so the scanning can trust
 * the syntax.  The metadata and number values are kept as written: jansson
 * would print 0.85 back as 0.84999999999999998. */

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    for (p++; *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p + 1;
}

static const char *skip_value(const char *p)
{
    int depth = 0;
    if (*p == '"')
        return skip_string(p);
    if (*p != '{' && *p != '[')
        return p + strcspn(p, ",}] \t\r\n");
    do {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
        p++;
    } while (depth > 0);
    return p;
}

/* The field a key (the raw text between its quotes) names, or -1. */
static int key_field(const char *key, size_t len)
{
    if (!memchr(key, '\\', len))
        return field_index(key, len);
    json_t *decoded = json_loadb(key - 1, len + 2, JSON_DECODE_ANY, NULL);
    const char *name = json_string_value(decoded);
    int k = field_index(name, strlen(name));
    json_decref(decoded);
    return k;
}

/* A member's value, by the field it is for.  Text fields take JSON strings
 * (as decoded by jansson), metric_value a number or a string, metadata an
 * object; null is absent.  *span receives values kept as written. */
static int member_value(importer *im, json_t *obj, int k, const char *value, const char **text,
                        bool *span)
{
    *span = false;
    *text = NULL;
    if (*value == 'n')
        return OI_OK;
    if (k == OI_MF_META && *value != '{')
        return oi_fail(im->s, OI_EINVALID, "metadata must be a JSON object");
    if (*value == '"' && k != OI_MF_META) {
        *text = json_string_value(json_object_get(obj, oi_metric_fields[k]));
        return OI_OK;
    }
    bool number = *value == '-' || (*value >= '0' && *value <= '9');
    if (k == OI_MF_META || (k == OI_MF_VALUE && number)) {
        *text = value;
        *span = true;
        return OI_OK;
    }
    return oi_fail(im->s, OI_EINVALID, "%s must be a %s", oi_metric_fields[k],
                   k == OI_MF_VALUE ? "number" : "string");
}

static int scan_members(importer *im, json_t *obj, record *rec)
{
    char *ends[OI_MF_COUNT];
    int nends = 0;
    const char *p = skip_blanks(skip_blanks(im->in.buf) + 1);
    while (*p == '"') {
        const char *key = p + 1, *value;
        p = skip_string(p);
        int k = key_field(key, (size_t)(p - 1 - key));
        if (k < 0)
            return unknown_name(im->s, "key", key, (int)(p - 1 - key));
        value = skip_blanks(skip_blanks(p) + 1);
        p = skip_value(value);
        bool span;
        int rc = member_value(im, obj, k, value, &rec->field[k], &span);
        if (rc)
            return rc;
        if (span)
            ends[nends++] = (char *)p;
        p = skip_blanks(p);
        p = *p == ',' ? skip_blanks(p + 1) : p;
    }
    while (nends > 0)  /* only now: the scan needed the characters after them */
        *ends[--nends] = '\0';
    return OI_OK;
}

static int ndjson_record(importer *im, record *rec, json_t **held)
{
    json_error_t jerr;
    json_t *obj = json_loadb(im->in.buf, im->in.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return oi_fail(im->s, OI_EINVALID, "not valid JSON: %s (column %d)", jerr.text,
                       jerr.column);
    *held = obj;
    if (!json_is_object(obj))
        return oi_fail(im->s, OI_EINVALID, "not a JSON object: each line holds one metric "
                       "as {\"agent\": ..., \"metric_name\": ..., ...}");
    rec->metadata_checked = true;
    return scan_members(im, obj, rec);
}

/* ---- one record -------------------------------------------------------------- */

static int require(oi_store *s, const record *rec, int k)
{
    if (rec->field[k])
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "%s is missing", oi_metric_fields[k]);
}

static int resolve_agent(importer *im, const char *ref, char id[OI_UUID_LEN + 1])
{
    const char *known = oi_ref_cache_get(&im->agents, ref);
    if (!known) {
        oi_agent agent = OI_AGENT_INIT;
        int rc = oi_agent_lookup(im->s, ref, &agent);
        if (rc)
            return rc;
        known = oi_ref_cache_put(&im->agents, ref, agent.id);
        oi_agent_clear(&agent);
    }
    memcpy(id, known, OI_UUID_LEN + 1);
    return OI_OK;
}

static int parse_time(importer *im, const char *text, oi_time *out)
{
    if (!text) {
        *out = im->started;
        return OI_OK;
    }
    if (oi_time_parse(text, out) != OI_OK)
        return oi_fail(im->s, OI_EINVALID, "collection_timestamp '%.40s' is not an ISO 8601 "
                       "time such as 2026-11-25T08:11:55.123456Z", text);
    if (*out < TIME_MIN || *out > TIME_MAX || *out == OI_TIME_NULL)
        return oi_fail(im->s, OI_EINVALID, "collection_timestamp '%.40s' cannot be stored: "
                       "years 0001 to 9999, and not 1970-01-01T00:00:00Z exactly", text);
    return OI_OK;
}

/* Check a record and add it to the batch; nothing is added on failure. */
static int stage(importer *im, const record *rec)
{
    staged_row row = {.line = im->in.record_line};
    const char *meta = rec->field[OI_MF_META] ? rec->field[OI_MF_META] : "{}";
    int rc = OI_OK;
    for (int k = OI_MF_AGENT; rc == OI_OK && k <= OI_MF_VALUE; k++)
        rc = require(im->s, rec, k);
    if (rc == OI_OK)
        rc = resolve_agent(im, rec->field[OI_MF_AGENT], row.agent_id);
    if (rc == OI_OK)
        rc = oi_number_parse(im->s, "metric_value", rec->field[OI_MF_VALUE], &row.value);
    if (rc == OI_OK)
        rc = parse_time(im, rec->field[OI_MF_TIME], &row.at);
    if (rc == OI_OK && !rec->metadata_checked)
        rc = oi_json_check(im->s, "metadata", meta, 'o');
    if (rc)
        return rc;
    batch *b = &im->batch;
    row.name = keep_text(b, rec->field[OI_MF_NAME]);
    row.has_unit = rec->field[OI_MF_UNIT] != NULL;
    row.unit = row.has_unit ? keep_text(b, rec->field[OI_MF_UNIT]) : 0;
    row.metadata = keep_text(b, meta);
    *new_row(b) = row;
    return OI_OK;
}

/* Read, check and stage the next record: OI_ROW, OI_DONE, or an error. */
static int next_record(importer *im)
{
    record rec = {{NULL}, false};
    json_t *held = NULL;
    int rc = im->format == OI_FORMAT_CSV ? oi_csv_read(im->s, &im->in)
                                         : oi_line_read(im->s, &im->in);
    if (rc == OI_ROW)
        rc = im->format == OI_FORMAT_CSV ? csv_record(im, &rec)
                                         : ndjson_record(im, &rec, &held);
    if (rc == OI_OK)
        rc = stage(im, &rec);
    json_decref(held);
    return rc == OI_OK ? OI_ROW : rc;
}

/* ---- writing a batch ----------------------------------------------------------- */

static int copy_row(oi_store *s, oi_copy *cp, const batch *b, const staged_row *row,
                    const char *created)
{
    char at[OI_TIME_BUFSZ];
    const oi_value values[NCOPY_COLUMNS] = {
        {OI_VALUE_TEXT, row->agent_id, 0},
        {OI_VALUE_TEXT, b->text + row->name, 0},
        {OI_VALUE_DOUBLE, NULL, row->value},
        {row->has_unit ? OI_VALUE_TEXT : OI_VALUE_NULL, b->text + row->unit, 0},
        {OI_VALUE_TEXT, oi_time_format(row->at, at), 0},
        {OI_VALUE_TEXT, b->text + row->metadata, 0},
        {OI_VALUE_TEXT, created, 0},
    };
    return s->backend->copy_row(cp, values);
}

/* Load the batch; *refused is the row (from 1) the database refused, or 0
 * when it did not say. */
static int load_batch(importer *im, size_t *refused)
{
    oi_store *s = im->s;
    const batch *b = &im->batch;
    char created[OI_TIME_BUFSZ];
    oi_copy *cp;
    size_t i = 0;
    long failed_row = 0;
    oi_time_format(oi_time_now(), created);
    int rc = s->backend->copy_begin(s->conn, &cp, "agent_metrics", copy_columns, NCOPY_COLUMNS);
    if (rc)
        return rc;
    for (; rc == OI_OK && i < b->n; i++)
        rc = copy_row(s, cp, b, &b->rows[i], created);
    *refused = rc ? i : 0;
    int ended = s->backend->copy_end(cp, rc != OI_OK, &failed_row);
    if (rc == OI_OK && ended != OI_OK) {
        rc = ended;
        *refused = (size_t)failed_row <= b->n ? (size_t)failed_row : 0;
    }
    return rc;
}

static void report_progress(importer *im)
{
    im->report->rows += im->batch.n;
    im->report->batches++;
    im->report->bytes = im->in.bytes;
    im->batch.n = im->batch.len = 0;
    if (im->opts && im->opts->progress)
        im->opts->progress(im->opts->progress_ctx, im->report);
}

/* Write the staged rows in one transaction. */
static int flush(importer *im)
{
    const batch *b = &im->batch;
    size_t refused = 0;
    if (b->n == 0)
        return OI_OK;
    int rc = oi_tx_begin(im->s, false);
    if (rc == OI_OK) {
        rc = load_batch(im, &refused);
        if (rc == OI_OK)
            rc = oi_tx_commit(im->s);
        else
            oi_tx_rollback(im->s);
    }
    if (rc && refused)
        return stop(im, rc, b->rows[refused - 1].line, b->rows[refused - 1].line,
                    "the database refused the row: ");
    if (rc)
        return stop(im, rc, b->rows[0].line, b->rows[b->n - 1].line,
                    "the database refused the batch: ");
    report_progress(im);
    return OI_OK;
}

/* ---- the import ------------------------------------------------------------------- */

static int check_arguments(oi_store *s, FILE *in, oi_metrics_format format)
{
    if (!in)
        return oi_fail(s, OI_EINVALID, "no input to import from");
    if (format != OI_FORMAT_CSV && format != OI_FORMAT_NDJSON)
        return oi_fail(s, OI_EINVALID, "unknown import format %d: use OI_FORMAT_CSV or "
                       "OI_FORMAT_NDJSON", (int)format);
    return OI_OK;
}

static int run(importer *im)
{
    int rc = im->format == OI_FORMAT_CSV ? read_header(im) : OI_OK;
    if (rc)
        return stop(im, rc, im->in.record_line, im->in.record_line, "");
    while ((rc = next_record(im)) == OI_ROW)
        if (im->batch.n == im->batch_size && (rc = flush(im)) != OI_OK)
            return rc;
    if (rc != OI_DONE)
        return stop(im, rc, im->in.record_line, im->in.record_line, "");
    return flush(im);
}

int oi_metrics_import(oi_store *s, FILE *in, oi_metrics_format format,
                      const oi_import_options *opts, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .format = format, .opts = opts, .report = report ? report : &unused};
    int rc = oi_check_version(s, "oi_import_report", im.report->version,
                              OI_IMPORT_REPORT_VERSION);
    if (rc == OI_OK && opts)
        rc = oi_check_version(s, "oi_import_options", opts->version, OI_IMPORT_OPTIONS_VERSION);
    if (rc)
        return rc;
    oi_import_report_init(im.report, im.report->version);
    rc = check_arguments(s, in, format);
    if (rc)
        return rc;
    im.batch_size = opts && opts->batch_size ? opts->batch_size : OI_IMPORT_BATCH_DEFAULT;
    im.started = oi_time_now();
    oi_c_numeric numeric;
    oi_text_reader_init(&im.in, in);
    oi_c_numeric_begin(&numeric);
    flockfile(in);
    rc = run(&im);
    funlockfile(in);
    oi_c_numeric_end(&numeric);
    oi_text_reader_free(&im.in);
    oi_ref_cache_free(&im.agents);
    free(im.batch.rows);
    free(im.batch.text);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

int oi_import_options_init(oi_import_options *opts, unsigned int version)
{
    if (oi_check_version(NULL, "oi_import_options", version, OI_IMPORT_OPTIONS_VERSION))
        return OI_EINVALID;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return OI_OK;
}

int oi_import_report_init(oi_import_report *report, unsigned int version)
{
    if (oi_check_version(NULL, "oi_import_report", version, OI_IMPORT_REPORT_VERSION))
        return OI_EINVALID;
    memset(report, 0, sizeof *report);
    report->version = version;
    return OI_OK;
}
