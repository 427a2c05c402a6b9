/*
 * stmt.c - the core's view of prepared statements.
 *
 * Thin wrappers over the backend's methods that speak the library's types
 * (UUID text, oi_time, NAN for NULL numbers).  The per-store cache of
 * prepared statements is stmtcache.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define OPS(st) ((st)->conn->backend)

int oi_stmt_prepare(oi_store *s, const char *sql, oi_stmt **out)
{
    *out = NULL;
    int rc = oi_store_ready(s);
    return rc ? rc : s->backend->prepare(s->conn, out, sql);
}

void oi_stmt_free(oi_stmt *st)
{
    if (st)
        OPS(st)->finalize(st);
}

int oi_bind_text(oi_stmt *st, int idx, const char *v)
{
    return v ? OPS(st)->bind_text(st, idx, v) : OPS(st)->bind_null(st, idx);
}

int oi_bind_uuid(oi_stmt *st, int idx, const char *v)
{
    char id[OI_UUID_LEN + 1];
    if (!v || !*v)
        return OPS(st)->bind_null(st, idx);
    oi_uuid_lower_copy(id, v);
    return OPS(st)->bind_text(st, idx, id);
}

int oi_bind_int64(oi_stmt *st, int idx, int64_t v)
{
    return OPS(st)->bind_int64(st, idx, v);
}

int oi_bind_double(oi_stmt *st, int idx, double v)
{
    return isnan(v) ? OPS(st)->bind_null(st, idx) : OPS(st)->bind_double(st, idx, v);
}

int oi_bind_bool(oi_stmt *st, int idx, bool v)
{
    return OPS(st)->bind_bool(st, idx, v);
}

int oi_bind_time(oi_stmt *st, int idx, oi_time v)
{
    char buf[OI_TIME_BUFSZ];
    if (v == OI_TIME_NULL)
        return OPS(st)->bind_null(st, idx);
    return OPS(st)->bind_text(st, idx, oi_time_format(v, buf));
}

int oi_step(oi_stmt *st)
{
    return OPS(st)->step(st);
}

bool oi_store_streams(const oi_store *s)
{
    return s->backend->stream != NULL;
}

int oi_stmt_stream(oi_stmt *st)
{
    return OPS(st)->stream(st);
}

/* A streamed iterator (metrics.h, stream) holds the connection until its
 * last row: on PostgreSQL another statement could not even be sent.  Both
 * backends refuse alike, so a program behaves the same on either. */
int oi_store_ready(oi_store *s)
{
    if (!s->conn)
        return oi_fail(s, OI_ECONNECT, "the store is not connected");
    if (s->streaming)
        return oi_fail(s, OI_EBUSY, "a streamed metrics iterator is reading from this store: "
                       "read it to its end or free it first");
    return OI_OK;
}

int oi_reset(oi_stmt *st)
{
    return OPS(st)->reset(st);
}

bool oi_col_null(oi_stmt *st, int col)
{
    return OPS(st)->column_is_null(st, col);
}

/* column_text is NULL for NULL itself (backend.h): no column_is_null call
 * first, which was 7% of the instructions of reading a metric row. */
const char *oi_col_text(oi_stmt *st, int col)
{
    return OPS(st)->column_text(st, col);
}

char *oi_col_strdup(oi_stmt *st, int col)
{
    return oi_strdup(oi_col_text(st, col));
}

int64_t oi_col_int64(oi_stmt *st, int col)
{
    return OPS(st)->column_int64(st, col);
}

double oi_col_double(oi_stmt *st, int col)
{
    return oi_col_null(st, col) ? NAN : OPS(st)->column_double(st, col);
}

bool oi_col_bool(oi_stmt *st, int col)
{
    return OPS(st)->column_bool(st, col);
}

/* A timestamp the database holds is one we wrote or its default wrote; an
 * unreadable one can only come from outside, and reads as NULL. */
oi_time oi_col_time(oi_stmt *st, int col)
{
    oi_time t;
    const char *text = oi_col_text(st, col);
    return text && oi_time_parse(text, &t) == OI_OK ? t : OI_TIME_NULL;
}

/* Copied by hand, not by snprintf: it runs for every row read. */
void oi_col_uuid(oi_stmt *st, int col, char out[OI_UUID_LEN + 1])
{
    const char *text = oi_col_text(st, col);
    size_t n = text ? strnlen(text, OI_UUID_LEN) : 0;
    memcpy(out, text ? text : "", n);
    out[n] = '\0';
}

int oi_exec(oi_store *s, const char *sql)
{
    int rc = oi_store_ready(s);
    return rc ? rc : s->backend->exec(s->conn, sql);
}

int oi_query_int64(oi_store *s, const char *sql, int64_t *out)
{
    oi_stmt *st;
    int rc = oi_stmt_prepare(s, sql, &st);
    if (rc)
        return rc;
    rc = oi_step(st);
    if (rc == OI_ROW) {
        *out = oi_col_int64(st, 0);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ERROR, "query returned no row");
    }
    oi_stmt_free(st);
    return rc;
}
