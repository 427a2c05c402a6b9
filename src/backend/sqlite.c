/*
 * sqlite.c - the SQLite backend, the embedded default.
 *
 * A thin driver over libsqlite3.  What SQLite does not do by default and a
 * shared store needs is switched on for every connection: foreign keys
 * (PRAGMA foreign_keys), a busy timeout so that concurrent writers wait
 * instead of failing, and WAL so that readers never block the writer.
 * Transactions start with BEGIN IMMEDIATE: taking the write lock up front
 * means two read-then-write transactions cannot deadlock on the upgrade
 * from a read lock, which SQLite would otherwise report as SQLITE_BUSY.
 * A bulk load (copy_*) is one prepared INSERT stepped once per row inside
 * the caller's transaction: SQLite has no COPY, and in one transaction
 * that is what its own shell's .import does.
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "backend.h"


#define BUSY_TIMEOUT_MS 10000

typedef struct sqlite_conn {
    oi_conn base;
    sqlite3 *db;
} sqlite_conn;

typedef struct sqlite_stmt {
    oi_stmt base;
    sqlite3_stmt *st;
} sqlite_stmt;

#define DB(conn) (((sqlite_conn *)(conn))->db)
#define ST(stmt) (((sqlite_stmt *)(stmt))->st)

static int code_of(int rc, const char *msg)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return OI_EEXISTS;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return OI_EBUSY;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
        return OI_ECONNECT;
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        return OI_EINVALID;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return OI_ECONSTRAINT;
    if ((rc & 0xff) == SQLITE_BUSY)
        return OI_EBUSY;
    if (strstr(msg, "no such table"))
        return OI_ESCHEMA;
    return OI_ERROR;
}

/* Records the connection's last error; returns its code. */
static int fail(oi_conn *conn)
{
    const char *msg = sqlite3_errmsg(DB(conn));
    return oi_seterr(conn->err, code_of(sqlite3_extended_errcode(DB(conn)), msg), "%s", msg);
}

static int accepts(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0;
}

/* "C", byte order, as PostgreSQL names it: the core writes COLLATE "C" where
 * both backends must order text alike (keyset pages of iterators). */
static int byte_order(void *unused, int na, const void *a, int nb, const void *b)
{
    (void)unused;
    int by_bytes = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return by_bytes ? by_bytes : na - nb;
}

static int configure(oi_conn *conn, int in_memory)
{
    sqlite3_extended_result_codes(DB(conn), 1);
    if (sqlite3_create_collation(DB(conn), "C", SQLITE_UTF8, NULL, byte_order) != SQLITE_OK)
        return fail(conn);
    sqlite3_busy_timeout(DB(conn), BUSY_TIMEOUT_MS);
    if (sqlite3_exec(DB(conn), "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
        return fail(conn);
    if (in_memory)
        return OI_OK;
    if (sqlite3_exec(DB(conn), "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", NULL,
                     NULL, NULL) != SQLITE_OK)
        return fail(conn);
    return OI_OK;
}

static void sqlite_close(oi_conn *conn)
{
    sqlite3_close(DB(conn));
    free(conn);
}

static int sqlite_open(oi_conn **out, const char *url, oi_err *err)
{
    const char *path = url + strlen("sqlite:");
    *out = NULL;
    if (!*path)
        return oi_seterr(err, OI_EINVALID,
                         "the SQLite URL '%s' names no file: use sqlite:PATH or sqlite::memory:",
                         url);
    int in_memory = strcmp(path, ":memory:") == 0;
    sqlite_conn *c = calloc(1, sizeof *c);
    if (!c)
        oi_oom(0);
    c->base.backend = &oi_backend_sqlite;
    c->base.err = err;
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        oi_seterr(err, OI_ECONNECT, "cannot open SQLite database %s: %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite_close(&c->base);
        return OI_ECONNECT;
    }
    rc = configure(&c->base, in_memory);
    if (rc != OI_OK) {
        oi_seterr(err, rc == OI_EBUSY ? OI_EBUSY : OI_ECONNECT,
                  "cannot open SQLite database %s: %s", path, sqlite3_errmsg(c->db));
        rc = err->code;
        sqlite_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return OI_OK;
}

static int sqlite_exec(oi_conn *conn, const char *sql)
{
    return sqlite3_exec(DB(conn), sql, NULL, NULL, NULL) == SQLITE_OK ? OI_OK : fail(conn);
}

/* $1 -> ?1, outside quoted strings and identifiers. */
static char *rewrite_placeholders(const char *sql)
{
    char *out = malloc(strlen(sql) + 1), *o = out;
    char quote = 0;
    if (!out)
        oi_oom(0);
    for (const char *p = sql; *p; p++) {
        if (quote && *p == quote)
            quote = 0;
        else if (!quote && (*p == '\'' || *p == '"'))
            quote = *p;
        *o++ = (!quote && *p == '$' && isdigit((unsigned char)p[1])) ? '?' : *p;
    }
    *o = '\0';
    return out;
}

static int sqlite_prepare(oi_conn *conn, oi_stmt **out, const char *sql)
{
    char *text = rewrite_placeholders(sql);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(DB(conn), text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return fail(conn);
    sqlite_stmt *s = calloc(1, sizeof *s);
    if (!s)
        oi_oom(0);
    s->base.conn = conn;
    s->st = st;
    *out = &s->base;
    return OI_OK;
}

static int bound(oi_stmt *stmt, int rc)
{
    return rc == SQLITE_OK ? OI_OK : fail(stmt->conn);
}

static int bind_null(oi_stmt *stmt, int idx)
{
    return bound(stmt, sqlite3_bind_null(ST(stmt), idx));
}

static int bind_text(oi_stmt *stmt, int idx, const char *v)
{
    return bound(stmt, sqlite3_bind_text(ST(stmt), idx, v, -1, SQLITE_TRANSIENT));
}

static int bind_int64(oi_stmt *stmt, int idx, int64_t v)
{
    return bound(stmt, sqlite3_bind_int64(ST(stmt), idx, v));
}

static int bind_double(oi_stmt *stmt, int idx, double v)
{
    return bound(stmt, sqlite3_bind_double(ST(stmt), idx, v));
}

static int bind_bool(oi_stmt *stmt, int idx, int v)
{
    return bound(stmt, sqlite3_bind_int(ST(stmt), idx, v != 0));
}

static int step(oi_stmt *stmt)
{
    int rc = sqlite3_step(ST(stmt));
    if (rc == SQLITE_ROW)
        return OI_ROW;
    if (rc == SQLITE_DONE)
        return OI_DONE;
    return fail(stmt->conn);
}

static int column_is_null(oi_stmt *stmt, int col)
{
    return sqlite3_column_type(ST(stmt), col) == SQLITE_NULL;
}

static const char *column_text(oi_stmt *stmt, int col)
{
    return (const char *)sqlite3_column_text(ST(stmt), col);
}

static int64_t column_int64(oi_stmt *stmt, int col)
{
    return sqlite3_column_int64(ST(stmt), col);
}

static double column_double(oi_stmt *stmt, int col)
{
    return sqlite3_column_double(ST(stmt), col);
}

static int column_bool(oi_stmt *stmt, int col)
{
    return sqlite3_column_int(ST(stmt), col) != 0;
}

/* The error of a failed step was reported by step(); reset repeats it. */
static int reset(oi_stmt *stmt)
{
    sqlite3_reset(ST(stmt));
    sqlite3_clear_bindings(ST(stmt));
    return OI_OK;
}

static void finalize(oi_stmt *stmt)
{
    sqlite3_finalize(ST(stmt));
    free(stmt);
}

static int begin(oi_conn *conn, int exclusive)
{
    (void)exclusive; /* BEGIN IMMEDIATE already excludes every other writer */
    return sqlite_exec(conn, "BEGIN IMMEDIATE");
}

static int commit(oi_conn *conn)
{
    return sqlite_exec(conn, "COMMIT");
}

static int rollback(oi_conn *conn)
{
    return sqlite_exec(conn, "ROLLBACK");
}

/* ---- bulk load: one prepared INSERT, run once per row ------------------ */

typedef struct sqlite_copy {
    oi_copy base;
    sqlite3_stmt *insert;
    int ncolumns;
} sqlite_copy;

static void append(char **at, const char *text)
{
    size_t n = strlen(text);
    memcpy(*at, text, n);
    *at += n;
}

/* The table and column names are the core's fixed identifiers; every value
 * is a parameter (?1, ?2 ...). */
static char *insert_sql(const char *table, const char *const *columns, int ncolumns)
{
    size_t size = strlen(table) + sizeof "INSERT INTO  () VALUES ()";
    for (int i = 0; i < ncolumns; i++)
        size += strlen(columns[i]) + 2 + 16;
    char *sql = calloc(size, 1), *at = sql;
    if (!sql)
        oi_oom(0);
    append(&at, "INSERT INTO ");
    append(&at, table);
    append(&at, " (");
    for (int i = 0; i < ncolumns; i++) {
        append(&at, i ? ", " : "");
        append(&at, columns[i]);
    }
    append(&at, ") VALUES (");
    for (int i = 0; i < ncolumns; i++) {
        char placeholder[16];
        snprintf(placeholder, sizeof placeholder, "%s?%d", i ? ", " : "", i + 1);
        append(&at, placeholder);
    }
    append(&at, ")");
    return sql;
}

static int copy_begin(oi_conn *conn, oi_copy **out, const char *table,
                      const char *const *columns, int ncolumns)
{
    char *sql = insert_sql(table, columns, ncolumns);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(DB(conn), sql, -1, 0, &st, NULL);
    free(sql);
    *out = NULL;
    if (rc != SQLITE_OK)
        return fail(conn);
    sqlite_copy *cp = calloc(1, sizeof *cp);
    if (!cp)
        oi_oom(0);
    cp->base.conn = conn;
    cp->insert = st;
    cp->ncolumns = ncolumns;
    *out = &cp->base;
    return OI_OK;
}

/* The values outlive the step, so SQLite need not copy them. */
static int bind_value(sqlite3_stmt *st, int idx, const oi_value *v)
{
    if (v->kind == OI_VALUE_DOUBLE)
        return sqlite3_bind_double(st, idx, v->number);
    if (v->kind == OI_VALUE_TEXT)
        return sqlite3_bind_text(st, idx, v->text, -1, SQLITE_STATIC);
    return sqlite3_bind_null(st, idx);
}

static int copy_row(oi_copy *copy, const oi_value *values)
{
    sqlite_copy *cp = (sqlite_copy *)copy;
    int rc = SQLITE_OK;
    for (int i = 0; i < cp->ncolumns && rc == SQLITE_OK; i++)
        rc = bind_value(cp->insert, i + 1, &values[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(cp->insert);
    int result = rc == SQLITE_DONE ? OI_OK : fail(copy->conn);
    sqlite3_reset(cp->insert);
    return result;
}

/* Every row was written (or refused) by copy_row: nothing is left to report. */
static int copy_end(oi_copy *copy, int abandon, long *failed_row)
{
    (void)abandon;
    *failed_row = 0;
    sqlite3_finalize(((sqlite_copy *)copy)->insert);
    free(copy);
    return OI_OK;
}

static const oi_dialect dialect = {
    /* As PostgreSQL's ->>: JSON true/false read as the words, not 1/0. */
    .metadata_equals = "CASE json_type(metadata, '$.' || json_quote($%1$d)) "
                       "WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                       "ELSE CAST(json_extract(metadata, '$.' || json_quote($%1$d)) AS TEXT) "
                       "END = $%2$d",
    /* Timestamps are our fixed-width UTC text; seconds are its first 19 bytes. */
    .bucket_epoch = "(unixepoch(substr(collection_timestamp, 1, 19)) / $%1$d) * $%1$d",
    .list_tables = "SELECT name FROM sqlite_master WHERE type = 'table' "
                   "AND name NOT LIKE 'sqlite_%' ORDER BY name",
    .list_foreign_keys = "SELECT m.name, f.\"from\", f.\"table\", f.on_delete "
                         "FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
                         "WHERE m.type = 'table' ORDER BY 1, 2",
    .list_indexes = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY 1, 2",
};

const oi_backend oi_backend_sqlite = {
    .version = OI_BACKEND_VERSION,
    .name = "sqlite",
    .dialect = &dialect,
    .accepts = accepts,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .prepare = sqlite_prepare,
    .bind_null = bind_null,
    .bind_text = bind_text,
    .bind_int64 = bind_int64,
    .bind_double = bind_double,
    .bind_bool = bind_bool,
    .step = step,
    .column_is_null = column_is_null,
    .column_text = column_text,
    .column_int64 = column_int64,
    .column_double = column_double,
    .column_bool = column_bool,
    .reset = reset,
    .finalize = finalize,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .copy_begin = copy_begin,
    .copy_row = copy_row,
    .copy_end = copy_end,
};
