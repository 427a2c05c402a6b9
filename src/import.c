/*
 * import.c - metrics import: CSV or NDJSON in, batches of rows out.
 *
 * The input is read one record at a time (csv.c, ndjson.c) and each record
 * is turned into a staged row: agent resolved to its id, value parsed
 * (number.c; a plain value's text is kept too, for a COPY to send as
 * written), time parsed, metadata checked.  When a batch is full, it is
 * written in one transaction through the backend's bulk load (COPY on
 * PostgreSQL, a prepared INSERT on SQLite): one code path for both.
 *
 * Why stage a batch before writing it, rather than stream rows straight
 * into an open COPY: a bad record is found before its batch's transaction
 * begins, so it costs no rollback, and the transaction lasts as long as
 * the database needs to write the batch, not as long as a slow producer on
 * stdin takes to send it.  On SQLite an open write transaction blocks every
 * other writer.  Memory stays bounded: one batch of staged rows (their text
 * in one reused buffer) and one record.
 *
 * Agents are resolved once per name or id through a small cache
 * (agentref.c): a file has millions of rows but few agents.  An agent
 * deleted while the import runs is caught by the foreign key when its next
 * batch is written.
 *
 * Failure: the store's message is "line N: reason" ("lines A-B: ..." when
 * the database refused a batch without saying which row), the batches
 * before the failing one stay committed, and the report says how many rows
 * that is and the line to resume from.
 */
#include <string.h>
#include "agentref.h"
#include "csv.h"
#include "metrics_io.h"
#include "ndjson.h"
#include "number.h"
#include "value.h"

static const char *const copy_columns[] = {
    "agent_id", "metric_name", "metric_value", "metric_unit",
    "collection_timestamp", "metadata", "created_at",
};
#define NCOPY_COLUMNS ((int)(sizeof copy_columns / sizeof *copy_columns))

/* ---- the batch -------------------------------------------------------------- */

typedef struct staged_row {
    uint64_t line;
    char agent_id[OI_UUID_LEN + 1];
    double value;
    char value_text[OI_NUMBER_PLAIN_DIGITS + 3]; /* as written, when plain; else "" */
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
    oi_csv_fields fields;          /* CSV: the record's fields */
    oi_ndjson_object line;         /* NDJSON: the record's object */
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
        if (strlen(oi_metric_field(k)) == len && memcmp(oi_metric_field(k), name, len) == 0)
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
    const oi_csv_fields *f = &im->fields;
    bool seen[OI_MF_COUNT] = {false};
    int rc = oi_csv_read(im->s, &im->in, &im->fields);
    if (rc == OI_DONE)
        return oi_fail(im->s, OI_EINVALID, "the input is empty: CSV starts with a header row "
                       "naming the columns");
    for (size_t i = 0; rc == OI_ROW && i < f->n; i++) {
        const char *name = im->in.buf + f->at[i];
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
            return oi_fail(im->s, OI_EINVALID, "the header has no column %s", oi_metric_field(k));
    im->ncolumns = f->n;
    return rc == OI_ROW ? OI_OK : rc;
}

/* The next record's fields by column: OI_ROW, OI_DONE, or an error. */
static int csv_record(importer *im, record *rec)
{
    const oi_csv_fields *f = &im->fields;
    int rc = oi_csv_read(im->s, &im->in, &im->fields);
    if (rc != OI_ROW)
        return rc;
    if (f->n != im->ncolumns)
        return oi_fail(im->s, OI_EINVALID, "%zu field%s, but the header has %zu columns",
                       f->n, f->n == 1 ? "" : "s", im->ncolumns);
    for (size_t i = 0; i < f->n; i++) {
        const char *text = im->in.buf + f->at[i];
        rec->field[im->column_field[i]] = *text || f->quoted[i] ? text : NULL;
    }
    return OI_ROW;
}

/* ---- NDJSON ------------------------------------------------------------------ */

/* A member's value, by the field it is for.  Text fields take JSON strings
 * (decoded), metric_value a number or a string, metadata an object, each
 * number or object as written; null is absent. */
static int member_value(importer *im, int k, const oi_ndjson_member *m, const char **text)
{
    const char *value = m->value;
    *text = NULL;
    if (*value == 'n')
        return OI_OK;
    if (k == OI_MF_META && *value != '{')
        return oi_fail(im->s, OI_EINVALID, "metadata must be a JSON object");
    if (*value == '"' && k != OI_MF_META) {
        *text = m->string;
        return OI_OK;
    }
    bool number = *value == '-' || (*value >= '0' && *value <= '9');
    if (k == OI_MF_META || (k == OI_MF_VALUE && number)) {
        *text = value;
        return OI_OK;
    }
    return oi_fail(im->s, OI_EINVALID, "%s must be a %s", oi_metric_field(k),
                   k == OI_MF_VALUE ? "number" : "string");
}

/* The next line's members by field: OI_ROW, OI_DONE, or an error. */
static int ndjson_record(importer *im, record *rec)
{
    oi_ndjson_member m;
    int rc = oi_ndjson_read(im->s, &im->in, &im->line);
    if (rc != OI_ROW)
        return rc;
    while (oi_ndjson_next(&im->line, &m)) {
        int k = field_index(m.key, strlen(m.key));
        if (k < 0)
            return unknown_name(im->s, "key", m.raw_key, (int)strlen(m.raw_key));
        rc = member_value(im, k, &m, &rec->field[k]);
        if (rc)
            return rc;
    }
    return OI_ROW;
}

/* ---- one record -------------------------------------------------------------- */

static int require(oi_store *s, const record *rec, int k)
{
    if (rec->field[k])
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "%s is missing", oi_metric_field(k));
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

/* The value, and its text when that is plain: a COPY sends it as it is. */
static int parse_value(importer *im, const char *text, staged_row *row)
{
    int rc = oi_value_require_str(im->s, OI_KIND_NUMBER, "metric_value", text);
    if (rc != OI_OK)
        return rc;
    oi_number_parse_decimal(text, &row->value);
    if (oi_number_is_plain(text))
        strcpy(row->value_text, text);
    return OI_OK;
}

static int parse_time(importer *im, const char *text, oi_time *out)
{
    if (!text) {
        *out = im->started;
        return OI_OK;
    }
    int rc = oi_value_require_str(im->s, OI_KIND_TIME, "collection_timestamp", text);
    if (rc == OI_OK)
        oi_time_parse(text, out);
    return rc;
}

/* The texts as the agent_metrics columns take them (records.c): names. */
static int check_names(importer *im, const record *rec)
{
    int rc = oi_value_require_str(im->s, OI_KIND_NAME, "metric_name", rec->field[OI_MF_NAME]);
    if (rc == OI_OK)
        rc = oi_value_require_str(im->s, OI_KIND_NAME, "metric_unit", rec->field[OI_MF_UNIT]);
    return rc;
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
        rc = check_names(im, rec);
    if (rc == OI_OK)
        rc = resolve_agent(im, rec->field[OI_MF_AGENT], row.agent_id);
    if (rc == OI_OK)
        rc = parse_value(im, rec->field[OI_MF_VALUE], &row);
    if (rc == OI_OK)
        rc = parse_time(im, rec->field[OI_MF_TIME], &row.at);
    if (rc == OI_OK)
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
    record rec = {{NULL}};
    int rc = im->format == OI_FORMAT_CSV ? csv_record(im, &rec) : ndjson_record(im, &rec);
    if (rc == OI_ROW)
        rc = stage(im, &rec);
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
        {OI_VALUE_DOUBLE, row->value_text[0] ? row->value_text : NULL, row->value},
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
    *refused = rc && rc != OI_ECONNECT ? i : 0; /* a lost connection is no row's fault */
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
    if (rc) /* refused (a constraint), or not written at all (a lost connection, a full disk) */
        return stop(im, rc, b->rows[0].line, b->rows[b->n - 1].line,
                    rc == OI_ECONSTRAINT || rc == OI_EEXISTS ? "the database refused the batch: "
                                                             : "the batch could not be written: ");
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

/* Read every record, writing a batch each time im->batch_size rows are
 * staged; the last batch stays staged. */
static int read_records(importer *im)
{
    int rc = im->format == OI_FORMAT_CSV ? read_header(im) : OI_OK;
    if (rc)
        return stop(im, rc, im->in.record_line, im->in.record_line, "");
    while ((rc = next_record(im)) == OI_ROW)
        if (im->batch.n == im->batch_size && (rc = flush(im)) != OI_OK)
            return rc;
    if (rc != OI_DONE)
        return stop(im, rc, im->in.record_line, im->in.record_line, "");
    return OI_OK;
}

/* Check the arguments and start reading `in`; the report starts empty. */
static int open_importer(importer *im, FILE *in)
{
    int rc = oi_check_version(im->s, "oi_import_report", im->report->version,
                              OI_IMPORT_REPORT_VERSION);
    if (rc == OI_OK && im->opts)
        rc = oi_check_version(im->s, "oi_import_options", im->opts->version,
                              OI_IMPORT_OPTIONS_VERSION);
    if (rc)
        return rc;
    oi_import_report_init(im->report, im->report->version);
    rc = check_arguments(im->s, in, im->format);
    if (rc)
        return rc;
    im->started = oi_time_now();
    oi_text_reader_init(&im->in, in);
    flockfile(in);
    return OI_OK;
}

/* Stop reading; the staged batch is the caller's. */
static void close_importer(importer *im, FILE *in)
{
    funlockfile(in);
    oi_text_reader_free(&im->in);
    oi_csv_fields_free(&im->fields);
    oi_ndjson_free(&im->line);
    oi_ref_cache_free(&im->agents);
}

static void free_batch(batch *b)
{
    free(b->rows);
    free(b->text);
}

int oi_metrics_import(oi_store *s, FILE *in, oi_metrics_format format,
                      const oi_import_options *opts, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .format = format, .opts = opts, .report = report ? report : &unused};
    int rc = open_importer(&im, in);
    if (rc)
        return rc;
    im.batch_size = opts && opts->batch_size ? opts->batch_size : OI_IMPORT_BATCH_DEFAULT;
    rc = read_records(&im);
    if (rc == OI_OK)
        rc = flush(&im);
    close_importer(&im, in);
    free_batch(&im.batch);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

/* ---- a batch read apart from its writing ------------------------------------ */

struct oi_metrics_batch {
    batch rows;
    uint64_t bytes; /* of input they were read from */
};

int oi_metrics_batch_read(oi_store *s, FILE *in, oi_metrics_format format,
                          oi_metrics_batch **out, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .format = format, .report = report ? report : &unused,
                   .batch_size = SIZE_MAX};
    *out = NULL;
    int rc = open_importer(&im, in);
    if (rc)
        return rc;
    rc = read_records(&im); /* one batch: the size is never reached */
    im.report->bytes = im.in.bytes;
    close_importer(&im, in);
    if (rc != OI_OK) {
        free_batch(&im.batch);
        return rc;
    }
    *out = oi_malloc(sizeof **out);
    (*out)->rows = im.batch;
    (*out)->bytes = im.report->bytes;
    oi_clear_error(s);
    return OI_OK;
}

int oi_metrics_batch_write(oi_store *s, const oi_metrics_batch *b, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .report = report ? report : &unused};
    int rc = oi_check_version(s, "oi_import_report", im.report->version,
                              OI_IMPORT_REPORT_VERSION);
    if (rc == OI_OK && !b)
        rc = oi_fail(s, OI_EINVALID, "no batch to write: read one with oi_metrics_batch_read()");
    if (rc)
        return rc;
    oi_import_report_init(im.report, im.report->version);
    im.batch = b->rows;   /* a copy of the staged rows' handles: flush empties only it */
    im.in.bytes = b->bytes;
    rc = flush(&im);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

void oi_metrics_batch_free(oi_metrics_batch *b)
{
    if (!b)
        return;
    free_batch(&b->rows);
    free(b);
}

int oi_import_options_init(oi_import_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_import_options", version, OI_IMPORT_OPTIONS_VERSION))
        return OI_EINVALID;
    return OI_OK;
}

int oi_import_report_init(oi_import_report *report, unsigned int version)
{
    if (oi_struct_init(report, sizeof *report, "oi_import_report", version, OI_IMPORT_REPORT_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
