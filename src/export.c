/*
 * export.c - metrics export: the rows, in id order, out as CSV or NDJSON.
 *
 * Two ways to read, one loop (export_page), chosen by what the backend can
 * do (backend.h, stream):
 *
 *   - Streamed (PostgreSQL): one statement, "WHERE id > $1 ORDER BY id",
 *     whose rows libpq hands out as they arrive, so the server produces
 *     rows while this file writes them, as psql's COPY TO does; memory
 *     stays that of one row.  Reading in pages made the two take turns:
 *     the server produced a page, then waited while the client wrote it.
 *     Measured on 1,000,000 rows at a load of 10 to 15 on 2 CPUs, medians
 *     of 10 alternating runs: client CPU 2.65 s -> 1.43 s, peak RSS
 *     14.0 -> 11.5 MB, wall 15.9 s -> 12.5 s (psql's \copy: 12.8 s).
 *     Nothing else may run on the connection until the last row, so the
 *     agent's name comes in the row (a join) instead of a lookup per new
 *     agent.  One statement is one snapshot: rows committed during the
 *     export are not in it, and rows deleted are.  The price: PostgreSQL keeps the row
 *     versions vacuum would remove for as long as the export runs (as for
 *     pg_dump); an export whose reader stops (a full pipe) holds them
 *     until it goes on or ends.
 *
 *   - Pages (SQLite): "WHERE id > last ORDER BY id LIMIT EXPORT_PAGE" on
 *     the primary key, a page costing the same at the end of the table as
 *     at its start (OFFSET would not).  SQLite's step reads as it goes
 *     anyway; one statement measured no faster (client CPU 1.19 s against
 *     1.24 s for 1,000,000 rows, medians of 5, within the noise), while a
 *     read transaction held for the whole export would keep the WAL from
 *     being checkpointed.  The pages are separate reads, not one snapshot:
 *     rows committed meanwhile appear if their ids are past the cursor.
 *
 * Either way the output is checked every EXPORT_PAGE rows: an export to a
 * closed pipe stops there (a stream is cancelled, not read to its end).
 *
 * The output is exactly what the import reads back: the agent by name,
 * unless another agent has the same name or the name could be read as an
 * id (then by id); times as YYYY-MM-DDTHH:MM:SS.ffffffZ; values with the
 * fewest digits that give the same double; a NULL unit as an empty CSV
 * field or null, the empty string as "".  Exporting, importing that into
 * an empty database and exporting again gives the same bytes.
 *
 * Text that is not valid UTF-8 (SQLite keeps whatever another client
 * wrote) is exported with U+FFFD in place of each bad sequence, as the
 * views show it (src/views/views.c repairs the same way on the program's
 * side): the row is exported, and the export imports back, since the
 * import refuses text that is not UTF-8.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentref.h"
#include "csv.h"
#include "metrics_io.h"
#include "ndjson.h"
#include "number.h"
#include "utf8.h"

#define EXPORT_PAGE 10000

typedef struct exporter {
    oi_store *s;
    FILE *out;
    oi_metrics_format format;
    oi_ref_cache refs;        /* agent id -> what the export calls it */
    char agent_id[OI_UUID_LEN + 1]; /* the filter's agent, resolved; "" for all */
    const oi_export_filter *filter;
    bool streamed;            /* one statement, the agents' names in its rows */
    bool began;               /* something was written: the export cannot run again */
} exporter;

/* ---- the agent column ----------------------------------------------------------- */

/* Columns of a streamed row after those of every row: the agent's name
 * and how many agents have it (see export_sql). */
#define COL_AGENT_NAME 7
#define COL_NAMESAKES 8

/* How the export names an agent: its name when that finds it again. */
static const char *remember_ref(exporter *ex, const char *agent_id, const char *name,
                                int64_t namesakes)
{
    bool by_name = name && *name && namesakes == 1 && !oi_uuid_valid(name);
    return oi_ref_cache_put(&ex->refs, agent_id, by_name ? name : agent_id);
}

/* The agent's reference: from the streamed row, or (pages) looked up once
 * per agent between the steps of the page. */
static int agent_ref(exporter *ex, oi_stmt *row, const char *agent_id, const char **out)
{
    *out = oi_ref_cache_get(&ex->refs, agent_id);
    if (*out)
        return OI_OK;
    if (ex->streamed) {
        *out = remember_ref(ex, agent_id, oi_col_text(row, COL_AGENT_NAME),
                            oi_col_int64(row, COL_NAMESAKES));
        return OI_OK;
    }
    oi_stmt *st;
    int rc = oi_stmt_cached(ex->s,
                            "SELECT a.name, (SELECT count(*) FROM agents b WHERE b.name = a.name) "
                            "FROM agents a WHERE a.id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc < 0)
        return rc;
    *out = remember_ref(ex, agent_id, rc == OI_ROW ? oi_col_text(st, 0) : NULL,
                        rc == OI_ROW ? oi_col_int64(st, 1) : 0);
    oi_reset(st);
    return OI_OK;
}

/* ---- text that is not UTF-8 ----------------------------------------------------- */

/* Whether text is ASCII alone, so valid UTF-8: nearly every field of a
 * metric, checked a byte at a time without the decoder's call per
 * character (measured on a 1,000,000-row SQLite export: 6.5% of the
 * CPU in oi_utf8_repair -> about 1% in this loop). */
static bool is_ascii(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p && *p < 0x80)
        p++;
    return *p == '\0';
}

/* text, or a repaired copy of it kept in *owned (free() it) when it is not
 * valid UTF-8; NULL stays NULL. */
static const char *as_utf8(const char *text, char **owned)
{
    *owned = text && !is_ascii(text) ? oi_utf8_repair(text) : NULL;
    return *owned ? *owned : text;
}

/* ---- numbers: the database's own digits ----------------------------------------- */

/*
 * A value is written as oi_number_format() writes it (%.15g, else %.16g,
 * else %.17g), which costs a printf and a strtod or more.  The database
 * already has digits: PostgreSQL sends the shortest that read back as the
 * double, SQLite %.15g's.  When that text has at most 15 significant
 * digits and reads back as the value, those digits are the ones %.15g
 * would write (a decimal of at most 15 digits is the only one of its
 * length that a normal double rounds to: DBL_DIG), so they are only laid
 * out as %g lays them out.  Zero (the sign of -0), subnormals (fewer
 * digits of precision) and longer texts take oi_number_format().
 * Exporting 1,000,000 rows from PostgreSQL, with time.c's arithmetic
 * dates too: client CPU (user) 2.31 s -> 1.33 s, medians of 3.  On SQLite
 * its own %.15g text and a strtod still cost less than printf's.
 */
#define G_PRECISION 15

typedef struct decimal {
    bool negative;
    char digits[G_PRECISION];   /* significant: no leading or trailing zeros */
    int ndigits;
    int exponent;               /* of the first digit: digits[0] x 10^exponent */
} decimal;

/* Read "-ddd.ddde+xx" into d: false for anything else, or more than 15
 * significant digits. */
static bool read_decimal(const char *p, decimal *d)
{
    int point = -1, position = 0, first = -1, last = -1;
    char all[G_PRECISION];
    d->negative = *p == '-';
    p += d->negative;
    for (; (*p >= '0' && *p <= '9') || (*p == '.' && point < 0); p++) {
        if (*p == '.') {
            point = position;
            continue;
        }
        if (*p != '0' || first >= 0) {
            if (first < 0)
                first = position;
            if (position - first >= G_PRECISION)
                return false;
            all[position - first] = *p;
            if (*p != '0')
                last = position;
        }
        position++;
    }
    if (first < 0)
        return false;
    int exponent = 0;
    if (*p == 'e' || *p == 'E') {
        char *end;
        long e = strtol(p + 1, &end, 10);
        if (end == p + 1 || e < -400 || e > 400)
            return false;
        exponent = (int)e;
        p = end;
    }
    if (*p)
        return false;
    d->ndigits = last - first + 1;
    memcpy(d->digits, all, (size_t)d->ndigits);
    d->exponent = (point < 0 ? position : point) - first - 1 + exponent;
    return true;
}

/* d as printf's %.15g writes it: fixed from 1e-4 up to 1e15, else with an
 * exponent of at least two digits; no trailing zeros. */
static char *write_g(const decimal *d, char *buf)
{
    char *p = buf;
    if (d->negative)
        *p++ = '-';
    int e = d->exponent, n = d->ndigits;
    if (e < -4 || e >= G_PRECISION) {
        *p++ = d->digits[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d->digits + 1, (size_t)n - 1);
            p += n - 1;
        }
        sprintf(p, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        return buf;
    }
    if (e < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > e; i--)
            *p++ = '0';
    }
    for (int i = 0; i < n || i <= e; i++) {
        if (i == e + 1 && e >= 0)
            *p++ = '.';
        *p++ = i < n ? d->digits[i] : '0';
    }
    *p = '\0';
    return buf;
}

/* Column col, a double, as oi_number_format() writes it. */
static const char *number_text(oi_stmt *st, int col, char buf[OI_NUMBER_BUFSZ])
{
    double v = oi_col_double(st, col);
    const char *text = oi_col_text(st, col);
    decimal d;
    if (v != 0 && fabs(v) >= DBL_MIN && text && read_decimal(text, &d) &&
        oi_strtod_c(text, NULL) == v)
        return write_g(&d, buf);
    return oi_number_format(v, buf);
}

/* ---- rows --------------------------------------------------------------------- */

typedef struct metric_row {
    const char *agent, *name, *unit, *metadata, *value;
    oi_time at;
} metric_row;

static void write_csv_header(FILE *out)
{
    const char *names[OI_MF_COUNT];
    for (int k = 0; k < OI_MF_COUNT; k++)
        names[k] = oi_metric_field(k);
    oi_csv_write_record(out, names, OI_MF_COUNT);
}

static void write_csv_row(FILE *out, const metric_row *m)
{
    char at[OI_TIME_BUFSZ];
    const char *fields[OI_MF_COUNT] = {
        m->agent, m->name, m->value, m->unit,
        oi_time_format(m->at, at), m->metadata,
    };
    oi_csv_write_record(out, fields, OI_MF_COUNT);
}

static void write_ndjson_row(FILE *out, const metric_row *m)
{
    char at[OI_TIME_BUFSZ];
    oi_ndjson_write_string(out, true, oi_metric_field(OI_MF_AGENT), m->agent);
    oi_ndjson_write_string(out, false, oi_metric_field(OI_MF_NAME), m->name);
    oi_ndjson_write_json(out, false, oi_metric_field(OI_MF_VALUE), m->value);
    oi_ndjson_write_string(out, false, oi_metric_field(OI_MF_UNIT), m->unit);
    oi_ndjson_write_string(out, false, oi_metric_field(OI_MF_TIME), oi_time_format(m->at, at));
    oi_ndjson_write_json(out, false, oi_metric_field(OI_MF_META), m->metadata);
    oi_ndjson_write_end(out);
}

/* Columns of the query: id, agent_id, metric_name, metric_value,
 * metric_unit, collection_timestamp, metadata (then, streamed, the
 * agent's). */
static int write_row(exporter *ex, oi_stmt *st)
{
    char agent_id[OI_UUID_LEN + 1], number[OI_NUMBER_BUFSZ];
    metric_row m;
    oi_col_uuid(st, 1, agent_id);
    int rc = agent_ref(ex, st, agent_id, &m.agent);
    if (rc)
        return rc;
    char *owned[4];
    m.agent = as_utf8(m.agent, &owned[0]);
    m.name = as_utf8(oi_col_text(st, 2), &owned[1]);
    m.value = number_text(st, 3, number);
    m.unit = as_utf8(oi_col_text(st, 4), &owned[2]);
    m.at = oi_col_time(st, 5);
    m.metadata = as_utf8(oi_col_text(st, 6), &owned[3]);
    if (ex->format == OI_FORMAT_CSV)
        write_csv_row(ex->out, &m);
    else
        write_ndjson_row(ex->out, &m);
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        free(owned[i]);
    return OI_OK;
}

/* ---- the query ---------------------------------------------------------------- */

/* The query; placeholders numbered in the order bind_page() binds.  Paged:
 * EXPORT_PAGE rows after $1.  Streamed: every row after $1, each with its
 * agent's name and how many agents have that name, since nothing else can
 * run on the connection meanwhile.  The count is a subquery per agent, not
 * per row: PostgreSQL memoizes the join on agent_id (1,000,000 rows of 4
 * agents: 4 counts). */
static char *export_sql(const exporter *ex)
{
    const oi_export_filter *f = ex->filter;
    int n = 1;
    oi_buf b = {0};
    oi_buf_add(&b, "SELECT m.id, m.agent_id, m.metric_name, m.metric_value, m.metric_unit, "
                   "m.collection_timestamp, m.metadata");
    if (ex->streamed)
        oi_buf_add(&b, ", r.name, r.namesakes FROM agent_metrics m LEFT JOIN "
                       "(SELECT a.id, a.name, (SELECT count(*) FROM agents b "
                       "WHERE b.name = a.name) AS namesakes FROM agents a) r "
                       "ON r.id = m.agent_id");
    else
        oi_buf_add(&b, " FROM agent_metrics m");
    oi_buf_add(&b, " WHERE m.id > $1");
    if (*ex->agent_id)
        oi_buf_addf(&b, " AND m.agent_id = $%d", ++n);
    if (f->metric_name)
        oi_buf_addf(&b, " AND m.metric_name = $%d", ++n);
    if (f->from != OI_TIME_NULL)
        oi_buf_addf(&b, " AND m.collection_timestamp >= $%d", ++n);
    if (f->to != OI_TIME_NULL)
        oi_buf_addf(&b, " AND m.collection_timestamp <= $%d", ++n);
    oi_buf_add(&b, " ORDER BY m.id");
    if (!ex->streamed)
        oi_buf_addf(&b, " LIMIT %d", EXPORT_PAGE);
    return b.data;
}

static int bind_page(const exporter *ex, oi_stmt *st, int64_t after)
{
    const oi_export_filter *f = ex->filter;
    int n = 1, rc = oi_bind_int64(st, 1, after);
    if (rc == OI_OK && *ex->agent_id)
        rc = oi_bind_uuid(st, ++n, ex->agent_id);
    if (rc == OI_OK && f->metric_name)
        rc = oi_bind_text(st, ++n, f->metric_name);
    if (rc == OI_OK && f->from != OI_TIME_NULL)
        rc = oi_bind_time(st, ++n, f->from);
    if (rc == OI_OK && f->to != OI_TIME_NULL)
        rc = oi_bind_time(st, ++n, f->to);
    return rc;
}

static int write_failed(oi_store *s)
{
    return oi_fail(s, OI_ERROR, "cannot write the export: %s", strerror(errno));
}

/* The rows after id *after: a page, or every one when streamed; *rows
 * receives how many, *after the last id.  The output is checked every
 * EXPORT_PAGE rows: a closed pipe stops a streamed export there too. */
static int export_page(exporter *ex, oi_stmt *st, int64_t *after, size_t *rows)
{
    int rc = bind_page(ex, st, *after);
    *rows = 0;
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        *after = oi_col_int64(st, 0);
        rc = write_row(ex, st);
        if (rc == OI_OK && ++*rows % EXPORT_PAGE == 0 && ferror(ex->out))
            rc = write_failed(ex->s);
    }
    oi_reset(st);
    if (rc == OI_DONE)
        rc = ferror(ex->out) ? write_failed(ex->s) : OI_OK;
    return rc;
}

static int export_all(exporter *ex, uint64_t *total)
{
    ex->streamed = oi_store_streams(ex->s);
    char *sql = export_sql(ex);
    oi_stmt *st;
    int rc = oi_stmt_prepare(ex->s, sql, &st);
    free(sql);
    if (rc == OI_OK && ex->streamed)
        rc = oi_stmt_stream(st);
    if (rc) {
        oi_stmt_free(st);
        return rc;
    }
    ex->began = true;
    if (ex->format == OI_FORMAT_CSV)
        write_csv_header(ex->out);
    int64_t after = INT64_MIN;
    size_t rows;
    do {
        rc = export_page(ex, st, &after, &rows);
        *total += rows;
    } while (rc == OI_OK && !ex->streamed && rows == EXPORT_PAGE);
    oi_stmt_free(st);
    if (rc == OI_OK && fflush(ex->out) != 0)
        rc = write_failed(ex->s);
    return rc;
}

/* A read: from the replica outside a transaction (replica.c); run again
 * on the primary only when the replica was lost before anything was
 * written. */
static int export_routed(exporter *ex, uint64_t *total)
{
    oi_store *s = ex->s, *r;
    int rc = oi_read_store(s, &r);
    if (rc)
        return rc;
    ex->s = r;
    rc = export_all(ex, total);
    ex->s = s;
    if (oi_read_failed(s, r, rc, !ex->began))
        rc = export_all(ex, total);
    return rc;
}

static int resolve_filter(exporter *ex)
{
    const oi_export_filter *f = ex->filter;
    if (ex->format != OI_FORMAT_CSV && ex->format != OI_FORMAT_NDJSON)
        return oi_fail(ex->s, OI_EINVALID, "unknown export format %d: use OI_FORMAT_CSV or "
                       "OI_FORMAT_NDJSON", (int)ex->format);
    if (!ex->out)
        return oi_fail(ex->s, OI_EINVALID, "no output to export to");
    if (oi_time_check(ex->s, "the filter's from", f->from) ||
        oi_time_check(ex->s, "the filter's to", f->to))
        return OI_EINVALID;
    if (!f->agent)
        return OI_OK;
    oi_agent agent = OI_AGENT_INIT;
    int rc = oi_agent_lookup(ex->s, f->agent, &agent);
    if (rc == OI_OK)
        memcpy(ex->agent_id, agent.id, sizeof ex->agent_id);
    oi_agent_clear(&agent);
    return rc;
}

int oi_metrics_export(oi_store *s, FILE *out, oi_metrics_format format,
                      const oi_export_filter *filter, uint64_t *rows)
{
    static const oi_export_filter everything = OI_EXPORT_FILTER_INIT;
    exporter ex = {.s = s, .out = out, .format = format, .filter = filter ? filter : &everything};
    uint64_t total = 0;
    int rc = oi_check_version(s, "oi_export_filter", ex.filter->version,
                              OI_EXPORT_FILTER_VERSION);
    if (rc == OI_OK)
        rc = resolve_filter(&ex);
    if (rc == OI_OK) {
        flockfile(out);
        rc = export_routed(&ex, &total);
        funlockfile(out);
    }
    oi_ref_cache_free(&ex.refs);
    if (rows)
        *rows = total;
    return rc;
}

int oi_export_filter_init(oi_export_filter *f, unsigned int version)
{
    if (oi_struct_init(f, sizeof *f, "oi_export_filter", version, OI_EXPORT_FILTER_VERSION))
        return OI_EINVALID;
    f->from = f->to = OI_TIME_NULL;
    return OI_OK;
}
