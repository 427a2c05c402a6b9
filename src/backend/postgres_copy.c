/*
 * postgres_copy.c - the PostgreSQL backend's bulk load (metrics import):
 * COPY ... FROM STDIN.
 *
 * Design:
 *
 *   - COPY in text format: no statement per row, no round trip per row.
 *
 *   - Rows are gathered into one buffer sent by one PQputCopyData per
 *     COPY_SEND_BYTES, not one call (and one libpq message) per row.
 *
 *   - The server reports a refused row when the COPY ends; its context
 *     names the row (a line of the COPY's data, whatever the chunks),
 *     which copy_end passes back.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "number.h"
#include "postgres.h"

/* Rows are sent in chunks of about this many bytes, not one CopyData
 * message per row: with the plain values sent as written (import.c),
 * measured on 200 000 rows, client CPU (user+sys, median of 3) 1.14 ->
 * 1.07 s for CSV and 2.40 -> 2.15 s for NDJSON; the server's work bounds
 * the wall time. */
#define COPY_SEND_BYTES 65536

typedef struct pg_copy {
    oi_copy base;
    int ncolumns;
    char *data;        /* rows not yet sent, in COPY's text format; reused */
    size_t len, cap;
} pg_copy;

static void data_add(pg_copy *cp, const char *text, size_t n)
{
    if (cp->len + n > cp->cap) {
        cp->cap = (cp->len + n) * 2;
        cp->data = oi_realloc(cp->data, cp->cap);
    }
    memcpy(cp->data + cp->len, text, n);
    cp->len += n;
}

/* COPY's text format gives backslash, tab, newline and carriage return a
 * meaning; in a value each is written as a backslash escape. */
static void data_add_escaped(pg_copy *cp, const char *text)
{
    for (const char *run = text;; text++) {
        const char *esc = *text == '\\' ? "\\\\" : *text == '\t' ? "\\t"
                        : *text == '\n' ? "\\n" : *text == '\r' ? "\\r" : NULL;
        if (!esc && *text)
            continue;
        data_add(cp, run, (size_t)(text - run));
        if (!esc)
            return;
        data_add(cp, esc, 2);
        run = text + 1;
    }
}

/* A double goes as the caller's decimal text when it has one (it reads
 * as exactly that double), else as the shortest text that does. */
static void data_add_value(pg_copy *cp, const oi_value *v)
{
    char number[OI_NUMBER_BUFSZ];

    if (v->kind == OI_VALUE_NULL)
        data_add(cp, "\\N", 2);
    else if (v->kind == OI_VALUE_DOUBLE)
        data_add_escaped(cp, v->text ? v->text : oi_number_format(v->number, number));
    else
        data_add_escaped(cp, v->text);
}

/* The table and column names are the core's fixed identifiers. */
static char *copy_sql(const char *table, const char *const *columns, int ncolumns)
{
    oi_buf sql = {0};

    oi_buf_add(&sql, "COPY ");
    oi_buf_add(&sql, table);
    oi_buf_add(&sql, " (");
    for (int i = 0; i < ncolumns; i++) {
        oi_buf_add(&sql, i ? ", " : "");
        oi_buf_add(&sql, columns[i]);
    }
    oi_buf_add(&sql, ") FROM STDIN");
    return sql.data;
}

int pg_copy_begin(oi_conn *conn, oi_copy **out, const char *table,
                  const char *const *columns, int ncolumns)
{
    char *sql = copy_sql(table, columns, ncolumns);
    PGresult *res = PQexec(pg_handle(conn), sql);
    pg_copy *cp;

    free(sql);
    *out = NULL;
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return pg_fail(conn, res);
    PQclear(res);
    cp = oi_calloc(1, sizeof *cp);
    cp->base.conn = conn;
    cp->ncolumns = ncolumns;
    *out = &cp->base;
    return OI_OK;
}

/* Send the gathered rows. */
static int copy_send(pg_copy *cp)
{
    oi_conn *conn = cp->base.conn;

    if (cp->len && PQputCopyData(pg_handle(conn), cp->data, (int)cp->len) != 1)
        return pg_lost(conn);
    cp->len = 0;
    return OI_OK;
}

int pg_copy_row(oi_copy *copy, const oi_value *values)
{
    pg_copy *cp = (pg_copy *)copy;

    for (int i = 0; i < cp->ncolumns; i++) {
        if (i)
            data_add(cp, "\t", 1);
        data_add_value(cp, &values[i]);
    }
    data_add(cp, "\n", 1);
    return cp->len >= COPY_SEND_BYTES ? copy_send(cp) : OI_OK;
}

/* The row a COPY failed at, from its context "COPY table, line N...";
 * 0 when the failure is not tied to one row (a foreign key, checked at the
 * end).  Not classification (the SQLSTATE gives the code): the row number
 * exists only in this text, libpq has no field for it.  When the text
 * differs (another server version or language) the row is 0, unknown. */
static long copy_failed_row(const PGresult *res)
{
    const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
    const char *copy = context ? strstr(context, "COPY ") : NULL;
    const char *line = copy ? strstr(copy, ", line ") : NULL;

    return line ? strtol(line + strlen(", line "), NULL, 10) : 0;
}

int pg_copy_end(oi_copy *copy, int abandon, long *failed_row)
{
    pg_copy *cp = (pg_copy *)copy;
    PGconn *pg = pg_handle(copy->conn);
    int rc = OI_OK;
    PGresult *res;

    *failed_row = 0;
    if (!abandon)
        rc = copy_send(cp);
    abandon = abandon || rc != OI_OK;
    if (PQputCopyEnd(pg, abandon ? "abandoned by the client" : NULL) != 1 && !abandon)
        rc = pg_lost(copy->conn);
    while ((res = PQgetResult(pg)) != NULL) {
        if (rc == OI_OK && !abandon && PQresultStatus(res) != PGRES_COMMAND_OK) {
            *failed_row = copy_failed_row(res);
            rc = pg_fail(copy->conn, res);
        } else {
            PQclear(res);
        }
    }
    free(cp->data);
    free(cp);
    return rc;
}
