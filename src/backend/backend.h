/*
 * backend.h - the interface every database backend implements.
 *
 * The store core never talks to SQLite or libpq directly: it holds an
 * oi_conn and calls the methods of that connection's oi_backend, much as
 * SQLite's core calls an sqlite3_vfs.  A backend supplies a driver (open,
 * prepare, bind, step, read columns, transactions) and its SQL dialect;
 * everything else (validation, JSON, seed, migrations bookkeeping, output)
 * is written once, above this line.
 *
 * SQL given to prepare() uses PostgreSQL's $1, $2 ... placeholders; a backend
 * whose driver spells them differently rewrites them (SQLite: ?1, ?2 ...).
 * Values always travel as bound parameters.
 *
 * Errors: methods return OI_OK or a negative OI_E* code and, on failure, put
 * a one-line message into conn->err (oi_seterr).  step() returns OI_ROW while
 * rows come, then OI_DONE.
 */
#ifndef OI_BACKEND_H
#define OI_BACKEND_H

#include <stdint.h>
#include "optiinfra/errors.h"
#include "optiinfra/times.h"

#define OI_ROW 100
#define OI_DONE 101

#define OI_ERRMSG_MAX 512

/** Last failure of a store; shared by the store and its connection. */
typedef struct oi_err {
    int code;
    char msg[OI_ERRMSG_MAX];
} oi_err;

typedef struct oi_backend oi_backend;

/** Base of every backend's connection struct (its first member). */
typedef struct oi_conn {
    const oi_backend *backend;
    oi_err *err;
} oi_conn;

/** Base of every backend's statement struct (its first member). */
typedef struct oi_stmt {
    oi_conn *conn;
} oi_stmt;

/** Base of every backend's bulk load (copy_begin ... copy_end). */
typedef struct oi_copy {
    oi_conn *conn;
} oi_copy;

/** One value of a bulk-loaded row: NULL, text, or a double (kept binary
 * where the driver can take it, so it is stored exactly). */
typedef enum oi_value_kind { OI_VALUE_NULL, OI_VALUE_TEXT, OI_VALUE_DOUBLE } oi_value_kind;
typedef struct oi_value {
    oi_value_kind kind;
    const char *text;
    double number;
} oi_value;

/** The SQL that differs between backends, beyond the migration scripts. */
typedef struct oi_dialect {
    /* Boolean expression: metadata has key $N with text value $M, compared
     * as PostgreSQL's ->> does.  A printf pattern given N and M, which may
     * use them by position (%1$d, %2$d). */
    const char *metadata_equals;
    /* Integer expression: the start, in whole seconds since the epoch, of the
     * bucket of $N seconds (bound as an integer) that collection_timestamp
     * falls in, buckets aligned on the epoch.  A printf pattern given N, which
     * it uses by position (%1$d). */
    const char *bucket_epoch;
    /* Statement listing this database's user tables as (name). */
    const char *list_tables;
    /* Statement listing foreign keys as (table, column, ref_table, on_delete),
     * on_delete upper-case: CASCADE, SET NULL, NO ACTION ... */
    const char *list_foreign_keys;
    /* Statement listing index names as (table, index_name). */
    const char *list_indexes;
} oi_dialect;

#define OI_BACKEND_VERSION 1

struct oi_backend {
    int version;                 /* OI_BACKEND_VERSION */
    const char *name;            /* "sqlite", "postgresql": also the migrations folder */
    const oi_dialect *dialect;

    /* Whether this backend handles the URL (by its scheme or form). */
    int (*accepts)(const char *url);
    /* Connect.  On failure returns a code and fills err; *out is NULL. */
    int (*open)(oi_conn **out, const char *url, oi_err *err);
    void (*close)(oi_conn *conn);

    /* Run a script of one or more statements without parameters (migrations,
     * BEGIN/COMMIT); rows they return are ignored. */
    int (*exec)(oi_conn *conn, const char *sql);

    int (*prepare)(oi_conn *conn, oi_stmt **out, const char *sql);
    /* idx counts from 1, like $1. */
    int (*bind_null)(oi_stmt *stmt, int idx);
    int (*bind_text)(oi_stmt *stmt, int idx, const char *value);
    int (*bind_int64)(oi_stmt *stmt, int idx, int64_t value);
    int (*bind_double)(oi_stmt *stmt, int idx, double value);
    int (*bind_bool)(oi_stmt *stmt, int idx, int value);
    int (*step)(oi_stmt *stmt);
    /* Column accessors for the current row; col counts from 0.  Text stays
     * valid until the next step, reset or finalize. */
    int (*column_is_null)(oi_stmt *stmt, int col);
    const char *(*column_text)(oi_stmt *stmt, int col);
    int64_t (*column_int64)(oi_stmt *stmt, int col);
    double (*column_double)(oi_stmt *stmt, int col);
    int (*column_bool)(oi_stmt *stmt, int col);
    /* Ready the statement to be bound and stepped again: the result and
     * every binding are cleared (unbound parameters are NULL).  Stepping
     * after OI_DONE keeps returning OI_DONE until reset. */
    int (*reset)(oi_stmt *stmt);
    void (*finalize)(oi_stmt *stmt);

    /* Transactions.  exclusive: also serialise against every other
     * exclusive transaction on the database (migrations, seeds). */
    int (*begin)(oi_conn *conn, int exclusive);
    int (*commit)(oi_conn *conn);
    int (*rollback)(oi_conn *conn);

    /* Bulk load, inside a transaction the caller has begun: copy_begin for
     * `table` and its `columns` (identifiers), copy_row once per row (values
     * in column order), then copy_end.  PostgreSQL streams COPY ... FROM
     * STDIN in text format; SQLite runs one prepared INSERT per row.  The
     * database may refuse a row at once (copy_row fails: that row) or only
     * when the load ends (copy_end fails and sets *failed_row to the row
     * it refused, counted from 1, or 0 if it does not say which); either
     * way the caller rolls back.  copy_end with abandon set gives up
     * without reporting anything (the caller already has its error).
     * copy_end always frees the copy. */
    int (*copy_begin)(oi_conn *conn, oi_copy **out, const char *table,
                      const char *const *columns, int ncolumns);
    int (*copy_row)(oi_copy *copy, const oi_value *values);
    int (*copy_end)(oi_copy *copy, int abandon, long *failed_row);
};

extern const oi_backend oi_backend_sqlite;
extern const oi_backend oi_backend_postgres;

/* Set err's code and message (printf-style); returns code. */
int oi_seterr(oi_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
