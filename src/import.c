/*
 * import.c - metrics import: CSV or NDJSON in, batches of rows out.
 *
 * Two halves on two threads.  The reader, a thread of its own, reads the
 * input one record at a time (csv.c, ndjson.c) and stages each as a row of
 * a batch: value parsed (number.c), time parsed, metadata checked.  The
 * writer, the caller's thread, resolves each staged row's agent to its id
 * and writes the batch in one transaction through the backend's bulk load
 * (binary COPY on PostgreSQL, a prepared INSERT on SQLite): one code path
 * for both.  Two batches take turns (a mutex and a condition variable
 * hand them over), so the reader stages batch k+1 while the writer writes
 * batch k: the reading, 45% of the import's instructions on SQLite
 * (callgrind, 50,000 CSV rows: 1.37 of 3.04 G), runs beside the
 * database's work instead of before it.
 *
 * Only the writer touches the store (api.md: a store is used by one thread
 * at a time).  The reader's checks report into a store of its own that
 * holds nothing but an error, which the writer takes over when it reaches
 * that batch; agents are resolved by the writer, since a miss in the agent
 * cache (agentref.c: a file has millions of rows but few agents) queries
 * the database.  An agent deleted while the import runs is caught by the
 * foreign key when its next batch is written.
 *
 * Why stage a batch before writing it, rather than stream rows straight
 * into an open COPY: a bad record is found before its batch's transaction
 * begins, so it costs no rollback, and the transaction lasts as long as
 * the database needs to write the batch, not as long as a slow producer on
 * stdin takes to send it.  On SQLite an open write transaction blocks every
 * other writer.  Memory stays bounded: two batches of staged rows (their
 * text in one reused buffer each) and one record.
 *
 * Failure: the store's message is "line N: reason" ("lines A-B: ..." when
 * the database refused a batch without saying which row), the batches
 * before the failing one stay committed, and the report says how many rows
 * that is and the line to resume from.  A bad record the reader finds
 * while batch k is written is reported after batch k commits, exactly as
 * if the halves took turns; when the writer fails, the reader stops at its
 * next record (on a pipe: when the producer sends one, or closes it) and
 * is joined before the import returns.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <string.h>
#include "agentref.h"
#include "csv.h"
#include "metrics_io.h"
#include "ndjson.h"
#include "number.h"
#include "partition.h"
#include "textset.h"
#include "value.h"

static const char *const copy_columns[] = {
    "agent_id", "metric_name", "metric_value", "metric_unit",
    "collection_timestamp", "metadata", "created_at",
};
#define NCOPY_COLUMNS ((int)(sizeof copy_columns / sizeof *copy_columns))

/* ---- the batch -------------------------------------------------------------- */

typedef struct staged_row {
    uint64_t line;
    char agent_id[OI_UUID_LEN + 1]; /* the writer's: resolved from the text at `agent` */
    double value;
    oi_time at;
    size_t agent, name, unit, metadata; /* offsets into the batch's text */
    bool has_unit;
} staged_row;

/* Staged rows, and how the reading went on after them. */
typedef struct batch {
    staged_row *rows;
    size_t n, cap;
    char *text;                  /* the rows' strings, NUL-terminated, back to back */
    size_t len, text_cap;
    uint64_t bytes;              /* of input read up to the batch's end */
    int ended;                   /* OI_ROW: more may follow; OI_DONE: the input's end; else
                                    the reading failed at error_line (the reader's error) */
    uint64_t error_line;
    size_t out_of_memory;        /* the reading failed allocating this many bytes */
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

static void free_batch(batch *b)
{
    free(b->rows);
    free(b->text);
}

/* ---- the reader's half: records to staged rows --------------------------------- */

typedef struct parser {
    oi_store errors;               /* holds only the reader's error: never the user's store */
    oi_metrics_format format;
    oi_text_reader in;
    oi_csv_fields fields;          /* CSV: the record's fields */
    oi_ndjson_object line;         /* NDJSON: the record's object */
    int column_field[OI_MF_COUNT]; /* CSV: the field each column holds */
    size_t ncolumns;               /* CSV: 0 until the header is read */
    size_t batch_size;
    oi_time started;               /* the time of rows that give none */
    atomic_bool stop;              /* set by the writer: stop at the next record */
    oi_textset valid_metadata;     /* metadata texts found valid */
} parser;

/* One record's fields; NULL where absent, empty (CSV) or null (NDJSON). */
typedef struct record {
    const char *field[OI_MF_COUNT];
} record;

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

static int read_header(parser *p)
{
    const oi_csv_fields *f = &p->fields;
    bool seen[OI_MF_COUNT] = {false};
    int rc = oi_csv_read(&p->errors, &p->in, &p->fields);
    if (rc == OI_DONE)
        return oi_fail(&p->errors, OI_EINVALID, "the input is empty: CSV starts with a "
                       "header row naming the columns");
    for (size_t i = 0; rc == OI_ROW && i < f->n; i++) {
        const char *name = p->in.buf + f->at[i];
        int k = field_index(name, strlen(name));
        if (k < 0)
            return unknown_name(&p->errors, "column", name, (int)strlen(name));
        if (seen[k])
            return oi_fail(&p->errors, OI_EINVALID, "the column %s appears twice", name);
        seen[k] = true;
        p->column_field[i] = k;
    }
    for (int k = OI_MF_AGENT; rc == OI_ROW && k <= OI_MF_VALUE; k++)
        if (!seen[k])
            return oi_fail(&p->errors, OI_EINVALID, "the header has no column %s",
                           oi_metric_field(k));
    p->ncolumns = f->n;
    return rc == OI_ROW ? OI_OK : rc;
}

/* The next record's fields by column: OI_ROW, OI_DONE, or an error. */
static int csv_record(parser *p, record *rec)
{
    const oi_csv_fields *f = &p->fields;
    int rc = oi_csv_read(&p->errors, &p->in, &p->fields);
    if (rc != OI_ROW)
        return rc;
    if (f->n != p->ncolumns)
        return oi_fail(&p->errors, OI_EINVALID, "%zu field%s, but the header has %zu columns",
                       f->n, f->n == 1 ? "" : "s", p->ncolumns);
    for (size_t i = 0; i < f->n; i++) {
        const char *text = p->in.buf + f->at[i];
        rec->field[p->column_field[i]] = *text || f->quoted[i] ? text : NULL;
    }
    return OI_ROW;
}

/* ---- NDJSON ------------------------------------------------------------------ */

/* A member's value, by the field it is for.  Text fields take JSON strings
 * (decoded), metric_value a number or a string, metadata an object, each
 * number or object as written; null is absent. */
static int member_value(parser *p, int k, const oi_ndjson_member *m, const char **text)
{
    const char *value = m->value;
    *text = NULL;
    if (*value == 'n')
        return OI_OK;
    if (k == OI_MF_META && *value != '{')
        return oi_fail(&p->errors, OI_EINVALID, "metadata must be a JSON object");
    if (*value == '"' && k != OI_MF_META) {
        *text = m->string;
        return OI_OK;
    }
    bool number = *value == '-' || (*value >= '0' && *value <= '9');
    if (k == OI_MF_META || (k == OI_MF_VALUE && number)) {
        *text = value;
        return OI_OK;
    }
    return oi_fail(&p->errors, OI_EINVALID, "%s must be a %s", oi_metric_field(k),
                   k == OI_MF_VALUE ? "number" : "string");
}

/* The next line's members by field: OI_ROW, OI_DONE, or an error. */
static int ndjson_record(parser *p, record *rec)
{
    oi_ndjson_member m;
    int rc = oi_ndjson_read(&p->errors, &p->in, &p->line);
    if (rc != OI_ROW)
        return rc;
    while (oi_ndjson_next(&p->line, &m)) {
        int k = field_index(m.key, strlen(m.key));
        if (k < 0)
            return unknown_name(&p->errors, "key", m.raw_key, (int)strlen(m.raw_key));
        rc = member_value(p, k, &m, &rec->field[k]);
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

static int parse_value(parser *p, const char *text, double *out)
{
    int rc = oi_value_require_str(&p->errors, OI_KIND_NUMBER, "metric_value", text);
    if (rc == OI_OK)
        oi_number_parse_decimal(text, out);
    return rc;
}

static int parse_time(parser *p, const char *text, oi_time *out)
{
    if (!text) {
        *out = p->started;
        return OI_OK;
    }
    int rc = oi_value_require_str(&p->errors, OI_KIND_TIME, "collection_timestamp", text);
    if (rc == OI_OK)
        oi_time_parse(text, out);
    return rc;
}

/* The texts as the agent_metrics columns take them (records.c): names. */
static int check_names(parser *p, const record *rec)
{
    int rc = oi_value_require_str(&p->errors, OI_KIND_NAME, "metric_name",
                                  rec->field[OI_MF_NAME]);
    if (rc == OI_OK)
        rc = oi_value_require_str(&p->errors, OI_KIND_NAME, "metric_unit",
                                  rec->field[OI_MF_UNIT]);
    return rc;
}

/* Rows repeat a few metadata texts (an agent's labels): one found valid
 * is not parsed again.  Measured with callgrind, 50,000 CSV rows of
 * bench/perf.sh's W2 (400 distinct metadata texts): 1.44 -> 0.82 G
 * instructions into PostgreSQL, 2.97 -> 2.34 G into SQLite. */
static int check_metadata(parser *p, const char *meta)
{
    if (oi_textset_has(&p->valid_metadata, meta))
        return OI_OK;
    int rc = oi_json_check(&p->errors, "metadata", meta, 'o');
    if (rc == OI_OK)
        oi_textset_add(&p->valid_metadata, meta);
    return rc;
}

/* Check a record and add it to the batch; nothing is added on failure. */
static int stage(parser *p, batch *b, const record *rec)
{
    staged_row row = {.line = p->in.record_line};
    const char *meta = rec->field[OI_MF_META] ? rec->field[OI_MF_META] : "{}";
    int rc = OI_OK;
    for (int k = OI_MF_AGENT; rc == OI_OK && k <= OI_MF_VALUE; k++)
        rc = require(&p->errors, rec, k);
    if (rc == OI_OK)
        rc = check_names(p, rec);
    if (rc == OI_OK)
        rc = parse_value(p, rec->field[OI_MF_VALUE], &row.value);
    if (rc == OI_OK)
        rc = parse_time(p, rec->field[OI_MF_TIME], &row.at);
    if (rc == OI_OK)
        rc = check_metadata(p, meta);
    if (rc)
        return rc;
    row.agent = keep_text(b, rec->field[OI_MF_AGENT]);
    row.name = keep_text(b, rec->field[OI_MF_NAME]);
    row.has_unit = rec->field[OI_MF_UNIT] != NULL;
    row.unit = row.has_unit ? keep_text(b, rec->field[OI_MF_UNIT]) : 0;
    row.metadata = keep_text(b, meta);
    *new_row(b) = row;
    return OI_OK;
}

/* Read, check and stage the next record: OI_OK, OI_DONE, or an error. */
static int next_record(parser *p, batch *b)
{
    record rec = {{NULL}};
    int rc = p->format == OI_FORMAT_CSV ? csv_record(p, &rec) : ndjson_record(p, &rec);
    return rc == OI_ROW ? stage(p, b, &rec) : rc;
}

/* Stage records into b (emptied first) until it holds batch_size rows, the
 * input ends, a record is bad, or the writer says stop; b->ended says
 * which.  The CSV header is read first. */
static void fill_batch(parser *p, batch *b)
{
    int rc = p->format == OI_FORMAT_CSV && p->ncolumns == 0 ? read_header(p) : OI_OK;
    b->n = b->len = 0;
    while (rc == OI_OK && b->n < p->batch_size &&
           !atomic_load_explicit(&p->stop, memory_order_relaxed))
        rc = next_record(p, b);
    b->ended = rc == OI_OK ? OI_ROW : rc;
    b->error_line = p->in.record_line;
    b->bytes = p->in.bytes;
}

/* ---- the writer's half: staged rows to the database ----------------------------- */

typedef struct importer {
    oi_store *s;
    parser p;
    oi_ref_cache agents;           /* name or id -> id */
    const oi_import_options *opts;
    oi_import_report *report;
    /* the handoff: slot k is the reader's while full[k] is false, the writer's while true */
    pthread_mutex_t lock;
    pthread_cond_t turned;         /* a slot changed hands, or the writer stopped */
    batch slot[2];
    bool full[2];
    unsigned reading;              /* the reader's slot */
    jmp_buf reader_failed;         /* where the reader goes when an allocation fails */
    size_t out_of_memory;          /* the writer's: the size the reader could not allocate */
} importer;

/* The import stops at lines first..last of batch b: the store's message
 * becomes "line N: why", and the report says where to resume. */
static int stop(importer *im, const batch *b, int rc, uint64_t first, uint64_t last,
                const char *doing)
{
    oi_import_report *rep = im->report;
    snprintf(rep->reason, sizeof rep->reason, "%s%s", doing, im->s->err.msg);
    rep->line = first;
    rep->resume_line = b->n ? b->rows[0].line : first;
    if (first == last)
        return oi_fail(im->s, rc, "line %llu: %s", (unsigned long long)first, rep->reason);
    return oi_fail(im->s, rc, "lines %llu-%llu: %s", (unsigned long long)first,
                   (unsigned long long)last, rep->reason);
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

/* Finish what the reader staged: each row's agent resolved, in line order,
 * then the reader's own failure, if it stopped at a bad record after them. */
static int finish_staging(importer *im, batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        staged_row *row = &b->rows[i];
        int rc = resolve_agent(im, b->text + row->agent, row->agent_id);
        if (rc)
            return stop(im, b, rc, row->line, row->line, "");
    }
    if (b->ended == OI_ROW || b->ended == OI_DONE)
        return OI_OK;
    im->s->err = im->p.errors.err;
    return stop(im, b, b->ended, b->error_line, b->error_line, "");
}

/* The row as the agent_metrics columns are typed (the backend may send
 * each value in the database's binary form). */
static int copy_row(oi_store *s, oi_copy *cp, const batch *b, const staged_row *row,
                    oi_time created)
{
    const oi_value values[NCOPY_COLUMNS] = {
        {.kind = OI_VALUE_UUID, .text = row->agent_id},
        {.kind = OI_VALUE_TEXT, .text = b->text + row->name},
        {.kind = OI_VALUE_DOUBLE, .number = row->value},
        {.kind = row->has_unit ? OI_VALUE_TEXT : OI_VALUE_NULL, .text = b->text + row->unit},
        {.kind = OI_VALUE_TIME, .time = row->at},
        {.kind = OI_VALUE_JSON, .text = b->text + row->metadata},
        {.kind = OI_VALUE_TIME, .time = created},
    };
    return s->backend->copy_row(cp, values);
}

/* Load the batch; *refused is the row (from 1) the database refused, or 0
 * when it did not say. */
static int load_batch(oi_store *s, const batch *b, size_t *refused)
{
    oi_time created = oi_time_now();
    oi_copy *cp;
    size_t i = 0;
    long failed_row = 0;
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

static void report_progress(importer *im, const batch *b)
{
    im->report->rows += b->n;
    im->report->batches++;
    im->report->bytes = b->bytes;
    if (im->opts && im->opts->progress)
        im->opts->progress(im->opts->progress_ctx, im->report);
}

/* Where agent_metrics is partitioned, the partitions of the batch's times
 * are made before its transaction (partition.c; nothing when they exist). */
static void ensure_partitions(oi_store *s, const batch *b)
{
    oi_time from = b->rows[0].at, to = b->rows[0].at;
    for (size_t i = 1; i < b->n; i++) {
        from = b->rows[i].at < from ? b->rows[i].at : from;
        to = b->rows[i].at > to ? b->rows[i].at : to;
    }
    oi_partitions_ensure(s, from, to);
}

/* Write the staged rows, agents resolved, in one transaction. */
static int flush(importer *im, const batch *b)
{
    size_t refused = 0;
    if (b->n == 0)
        return OI_OK;
    ensure_partitions(im->s, b);
    int rc = oi_tx_begin(im->s, false);
    if (rc == OI_OK) {
        rc = load_batch(im->s, b, &refused);
        if (rc == OI_OK)
            rc = oi_tx_commit(im->s);
        else
            oi_tx_rollback(im->s);
    }
    if (rc && refused)
        return stop(im, b, rc, b->rows[refused - 1].line, b->rows[refused - 1].line,
                    "the database refused the row: ");
    if (rc) /* refused (a constraint), or not written at all (a lost connection, a full disk) */
        return stop(im, b, rc, b->rows[0].line, b->rows[b->n - 1].line,
                    rc == OI_ECONSTRAINT || rc == OI_EEXISTS ? "the database refused the batch: "
                                                             : "the batch could not be written: ");
    report_progress(im, b);
    return OI_OK;
}

/* Finish the batch the reader staged and write it in one transaction. */
static int write_batch(importer *im, batch *b)
{
    int rc = finish_staging(im, b);
    return rc == OI_OK ? flush(im, b) : rc;
}

/* ---- the handoff ------------------------------------------------------------------ */

/* Wait until slot k is full (the writer) or empty (the reader); the reader
 * gets false instead when the writer has stopped. */
static bool wait_turn(importer *im, unsigned k, bool full)
{
    pthread_mutex_lock(&im->lock);
    while (im->full[k] != full && (full || !atomic_load(&im->p.stop)))
        pthread_cond_wait(&im->turned, &im->lock);
    bool mine = im->full[k] == full;
    pthread_mutex_unlock(&im->lock);
    return mine;
}

static void pass_turn(importer *im, unsigned k, bool full)
{
    pthread_mutex_lock(&im->lock);
    im->full[k] = full;
    pthread_cond_broadcast(&im->turned);
    pthread_mutex_unlock(&im->lock);
}

/* Whatever the reader is doing, it stops at its next record or turn. */
static void stop_reader(importer *im)
{
    pthread_mutex_lock(&im->lock);
    atomic_store(&im->p.stop, true);
    pthread_cond_broadcast(&im->turned);
    pthread_mutex_unlock(&im->lock);
}

/* Fill the slots in turn until the input ends, a record is bad, or the
 * writer stops. */
static void fill_slots(importer *im)
{
    int ended = OI_ROW;
    for (im->reading = 0; ended == OI_ROW && wait_turn(im, im->reading, false);
         im->reading ^= 1) {
        fill_batch(&im->p, &im->slot[im->reading]);
        ended = im->slot[im->reading].ended;
        pass_turn(im, im->reading, true);
    }
}

/* The reader's allocation failure: its batch goes to the writer, which
 * reports it on the caller's thread (alloc.c). */
static void reader_out_of_memory(size_t size, void *ctx)
{
    importer *im = ctx;
    im->slot[im->reading].out_of_memory = size;
    longjmp(im->reader_failed, 1);
}

/* The reader thread.  It holds the FILE's lock (reader.c reads with
 * getc_unlocked). */
static void *read_batches(void *arg)
{
    importer *im = arg;
    flockfile(im->p.in.in);
    oi_set_thread_oom_handler(reader_out_of_memory, im);
    if (setjmp(im->reader_failed) == 0) {
        fill_slots(im);
    } else {
        im->slot[im->reading].ended = OI_ERROR;
        pass_turn(im, im->reading, true);
    }
    funlockfile(im->p.in.in);
    return NULL;
}

/* The writer: finish and write the batches in turn, until the last one or
 * a failure. */
static int write_batches(importer *im)
{
    int rc = OI_OK, ended = OI_ROW;
    for (unsigned k = 0; rc == OI_OK && ended == OI_ROW; k ^= 1) {
        wait_turn(im, k, true);
        ended = im->slot[k].ended;
        im->out_of_memory = im->slot[k].out_of_memory;
        rc = im->out_of_memory ? OI_ERROR : write_batch(im, &im->slot[k]);
        pass_turn(im, k, false);
    }
    return rc;
}

/* No thread could be started: read a batch, write it, and so on. */
static int read_then_write(importer *im)
{
    batch *b = &im->slot[0];
    int rc;
    flockfile(im->p.in.in);
    do {
        fill_batch(&im->p, b);
        rc = write_batch(im, b);
    } while (rc == OI_OK && b->ended == OI_ROW);
    funlockfile(im->p.in.in);
    return rc;
}

/* Read on a thread, write on this one; the reader is joined before return. */
static int read_and_write(importer *im)
{
    pthread_t reader;
    if (pthread_create(&reader, NULL, read_batches, im) != 0)
        return read_then_write(im); /* e.g. no address space left for its stack */
    int rc = write_batches(im);
    stop_reader(im);
    pthread_join(reader, NULL);
    return rc;
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

/* Check the arguments and get ready to read `in`; the report starts empty. */
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
    rc = check_arguments(im->s, in, im->p.format);
    if (rc)
        return rc;
    im->p.started = oi_time_now();
    oi_text_reader_init(&im->p.in, in);
    return OI_OK;
}

/* Stop reading; the slots are the caller's. */
static void close_importer(importer *im)
{
    oi_text_reader_free(&im->p.in);
    oi_csv_fields_free(&im->p.fields);
    oi_ndjson_free(&im->p.line);
    oi_textset_free(&im->p.valid_metadata);
    oi_ref_cache_free(&im->agents);
}

int oi_metrics_import(oi_store *s, FILE *in, oi_metrics_format format,
                      const oi_import_options *opts, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .p.format = format, .opts = opts,
                   .report = report ? report : &unused,
                   .lock = PTHREAD_MUTEX_INITIALIZER, .turned = PTHREAD_COND_INITIALIZER};
    int rc = open_importer(&im, in);
    if (rc)
        return rc;
    im.p.batch_size = opts && opts->batch_size ? opts->batch_size : OI_IMPORT_BATCH_DEFAULT;
    rc = read_and_write(&im);
    close_importer(&im);
    free_batch(&im.slot[0]);
    free_batch(&im.slot[1]);
    pthread_cond_destroy(&im.turned);
    pthread_mutex_destroy(&im.lock);
    if (im.out_of_memory) /* here, on the caller's thread: its handler may jump out */
        oi_oom(im.out_of_memory);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

/* ---- a batch read apart from its writing ------------------------------------ */

struct oi_metrics_batch {
    batch rows;
};

int oi_metrics_batch_read(oi_store *s, FILE *in, oi_metrics_format format,
                          oi_metrics_batch **out, oi_import_report *report)
{
    oi_import_report unused = OI_IMPORT_REPORT_INIT;
    importer im = {.s = s, .p = {.format = format, .batch_size = SIZE_MAX},
                   .report = report ? report : &unused};
    batch *b = &im.slot[0];
    *out = NULL;
    int rc = open_importer(&im, in);
    if (rc)
        return rc;
    flockfile(in);
    fill_batch(&im.p, b); /* one batch: the size is never reached */
    funlockfile(in);
    im.report->bytes = b->bytes;
    rc = finish_staging(&im, b);
    close_importer(&im);
    if (rc != OI_OK) {
        free_batch(b);
        return rc;
    }
    *out = oi_malloc(sizeof **out);
    (*out)->rows = *b;
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
    rc = flush(&im, &b->rows);
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
