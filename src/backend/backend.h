/*
 * backend.h - the interface every database backend implements.
 *
 * The store core never talks to SQLite or libpq directly: it holds an
 * oi_conn and calls the methods of that connection's oi_backend, much as
 * SQLite's core calls an sqlite3_vfs.  A backend supplies a driver (open,
 * prepare, bind, step, read columns, transactions, bulk load), the redaction
 * of its URLs and its SQL dialect; everything else (validation, JSON, seed,
 * migrations bookkeeping, output) is written once, above this line.
 *
 * As in libgit2's git_refdb_backend, the struct starts with the version of
 * this interface it was written for (the core refuses another), and every
 * member says whether a backend MUST provide it or MAY leave it NULL; for
 * the optional ones it says what the core does instead.
 *
 * SQL given to prepare() uses PostgreSQL's $1, $2 ... placeholders; a backend
 * whose driver spells them differently rewrites them (SQLite: ?1, ?2 ...).
 * Values always travel as bound parameters.
 *
 * Errors: methods return OI_OK or a negative OI_E* code and, on failure, put
 * a one-line message into conn->err (oi_seterr).  step() returns OI_ROW while
 * rows come, then OI_DONE.  A backend classifies a failure by its driver's
 * codes only (SQLite's extended result codes, PostgreSQL's SQLSTATE and
 * libpq's connection API), never by searching the text of a message: the
 * text is for people and changes with versions and locales.  A constraint
 * failure also says which kind of constraint (err->constraint).
 *
 * Secrets: no message a backend writes holds a secret of the URL (a
 * password); it never quotes the URL, nor a driver message that quotes it.
 */
#ifndef OI_BACKEND_H
#define OI_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "optiinfra/errors.h"
#include "optiinfra/times.h"
#include "buf.h"

#define OI_ROW 100
#define OI_DONE 101

#define OI_ERRMSG_MAX 512

/* What oi_store_url() shows for a URL that cannot be shown safely: no
 * backend takes it, or its backend cannot parse it (so cannot tell where
 * its secrets are). */
#define OI_URL_NOT_SHOWN "(URL not shown)"

/** Kind of constraint a write violated (OI_EEXISTS, OI_ECONSTRAINT). */
typedef enum oi_constraint {
    OI_CONSTRAINT_NONE = 0,     /* not a constraint failure */
    OI_CONSTRAINT_UNIQUE,       /* unique or primary key (OI_EEXISTS) */
    OI_CONSTRAINT_FOREIGN_KEY,  /* the referenced row does not exist, or is still referenced */
    OI_CONSTRAINT_CHECK,
    OI_CONSTRAINT_NOT_NULL,
    OI_CONSTRAINT_OTHER         /* a trigger, an exclusion constraint ... */
} oi_constraint;

/** Last failure of a store; shared by the store and its connection. */
typedef struct oi_err {
    int code;
    oi_constraint constraint;   /* set by the backend after oi_seterr(), which resets it */
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

/** One value of a bulk-loaded row, typed as its column is, so a backend
 * may send it in the database's own binary form (PostgreSQL's binary
 * COPY: no text for the server to parse) or as the text the store keeps
 * (SQLite).  The kind is the column's type: TEXT a text column, DOUBLE
 * double precision (number, finite), TIME timestamptz (time, within
 * OI_TIME_MIN ... OI_TIME_MAX), UUID uuid (text, 36 characters), JSON
 * jsonb (text, checked JSON); NULL fits any nullable column. */
typedef enum oi_value_kind {
    OI_VALUE_NULL, OI_VALUE_TEXT, OI_VALUE_DOUBLE, OI_VALUE_TIME, OI_VALUE_UUID, OI_VALUE_JSON
} oi_value_kind;
typedef struct oi_value {
    oi_value_kind kind;
    const char *text;   /* TEXT, UUID, JSON */
    double number;      /* DOUBLE */
    oi_time time;       /* TIME */
} oi_value;

/** The SQL that differs between backends, beyond the migration scripts.
 * Every member MUST be provided, but metadata_contains.  SQL built from parameter numbers is a
 * function appending to an oi_buf, so the compiler checks its format.  The
 * partitions' statements MAY be NULL, all together (see there). */
typedef struct oi_dialect {
    /* Appends a boolean expression: metadata has key $key with text value
     * $value, compared as PostgreSQL's ->> does (JSON true and false read as
     * the words).  value_text is the text that will be bound as $value: the
     * dialect may choose the expression's shape by it (an expression right
     * for that value only), never put it in the SQL. */
    void (*metadata_equals)(oi_buf *sql, int key, int value, const char *value_text);
    /* MAY be NULL (then the core uses metadata_equals alone).  Appends a
     * boolean expression an index serves: metadata contains the JSON
     * document $doc (PostgreSQL's @>); the core puts it before
     * metadata_equals as a superset of its rows (metrics.c). */
    void (*metadata_contains)(oi_buf *sql, int doc);
    /* Appends an integer expression: the start, in whole seconds since the
     * epoch, of the bucket of $seconds seconds (bound as an integer) that
     * collection_timestamp falls in, buckets aligned on the epoch. */
    void (*bucket_epoch)(oi_buf *sql, int seconds);
    /* Whether the database has the ordered-set aggregate
     * percentile_disc(float8[]) WITHIN GROUP (ORDER BY ...) and ORDER BY
     * inside an aggregate's arguments (sum(v ORDER BY v)): aggregate.c
     * then sorts each group once for its percentiles, instead of ranking
     * every row with window functions.  The answers are the same. */
    bool percentile_disc;
    /* Statement listing this database's user tables as (name). */
    const char *list_tables;
    /* Statement listing foreign keys as (table, column, ref_table, on_delete),
     * on_delete upper-case: CASCADE, SET NULL, NO ACTION ... */
    const char *list_foreign_keys;
    /* Statement listing index names as (table, index_name). */
    const char *list_indexes;

    /* Partitioned agent_metrics (partition.c): all four, or none where the
     * table is plain (SQLite).  Where partitions are, a time no partition
     * covers goes to a default one, so none of these is needed for a write
     * to succeed; times are bound as text, as oi_bind_time() does.
     * partitions_ensure: ($1 from, $2 to) make the partitions of the times
     *   from..to and move into them the rows they take from the default
     *   partition; one row (created, moved, covered_from, covered_to), the
     *   last two the times whose partitions need not be asked for again
     *   (covered_from NULL: unbounded).
     * partitions_maintain: ($1 intervals ahead, NULL: the database's
     *   setting) the partitions from the oldest row to that far ahead; one
     *   row (created, moved).
     * partitions_before: ($1 cutoff) the partitions whose range ends at or
     *   before the cut-off, oldest first, as (name).
     * partition_drop: ($1 name, $2 dry run) drop the partition, in the
     *   caller's transaction; one row (the rows it held). */
    const char *partitions_ensure;
    const char *partitions_maintain;
    const char *partitions_before;
    const char *partition_drop;
} oi_dialect;

#define OI_BACKEND_VERSION 2

struct oi_backend {
    /* MUST be OI_BACKEND_VERSION: oi_store_open() refuses another. */
    int version;
    /* MUST: "sqlite", "postgresql": what oi_store_backend() says, and the
     * folder of the backend's migration scripts. */
    const char *name;
    /* MUST (every member of it, see oi_dialect). */
    const oi_dialect *dialect;

    /* ---- the connection ---------------------------------------------- */

    /* MUST.  Whether this backend handles the URL, judged by its form alone
     * (no I/O).  The store asks the backends in turn (SQLite first) and
     * opens the first that says yes.  A backend should also claim malformed
     * URLs of its own scheme, so that open() can say what is wrong. */
    int (*accepts)(const char *url);
    /* MAY.  A printable form of a URL this backend accepted, with every
     * secret in it masked, allocated with alloc.h (the store frees it): what
     * oi_store_url() shows.  Found with the driver's own parser, never by
     * hand; a URL the driver cannot parse gives OI_URL_NOT_SHOWN and nothing
     * of the input.  NULL: the store never shows the URL (OI_URL_NOT_SHOWN). */
    char *(*redact)(const char *url);
    /* MUST.  Connect.  On failure returns a code, fills err (with no secret:
     * see above) and sets *out to NULL. */
    int (*open)(oi_conn **out, const char *url, oi_err *err);
    /* MUST.  Disconnect and free the connection. */
    void (*close)(oi_conn *conn);

    /* MUST.  Run a script of one or more statements without parameters
     * (migrations, BEGIN/COMMIT); rows they return are ignored. */
    int (*exec)(oi_conn *conn, const char *sql);

    /* MUST, all three.  Transactions.  exclusive: also serialise against
     * every other exclusive transaction on the database (migrations, seeds).
     * After a failed commit the core calls rollback, which must then end
     * whatever is left of the transaction. */
    int (*begin)(oi_conn *conn, int exclusive);
    int (*commit)(oi_conn *conn);
    int (*rollback)(oi_conn *conn);

    /* ---- statements: MUST, every one ---------------------------------- */

    int (*prepare)(oi_conn *conn, oi_stmt **out, const char *sql);
    /* idx counts from 1, like $1; an index the statement does not have is
     * an error. */
    int (*bind_null)(oi_stmt *stmt, int idx);
    int (*bind_text)(oi_stmt *stmt, int idx, const char *value);   /* copied */
    int (*bind_int64)(oi_stmt *stmt, int idx, int64_t value);
    int (*bind_double)(oi_stmt *stmt, int idx, double value);
    int (*bind_bool)(oi_stmt *stmt, int idx, int value);
    /* Executes on the first call after prepare, bind or reset. */
    int (*step)(oi_stmt *stmt);
    /* Column accessors for the current row; col counts from 0.  Text stays
     * valid until the next step, reset or finalize; it is NULL for SQL NULL
     * (the core reads text without asking column_is_null first). */
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
    /* MAY.  Make every later execution of stmt hand its rows out as the
     * database sends them, in memory that does not grow with the result,
     * so that the database produces rows while the caller consumes them
     * (PostgreSQL: libpq's single-row mode; its default fetches a result
     * whole before step() returns the first row).  Until step() has
     * returned OI_DONE or an error, or stmt is reset or finalized, the
     * caller runs nothing else on the connection: no other statement, no
     * transaction call.  A reset or finalize before the end discards the
     * rest cheaply (PostgreSQL cancels the query outside a transaction).
     * NULL: the backend cannot stream; a caller reading a result of any
     * size reads it in bounded pages instead (export.c), and may run other
     * statements between its steps. */
    int (*stream)(oi_stmt *stmt);

    /* ---- bulk load: MUST, all three ----------------------------------- */

    /* Inside a transaction the caller has begun: copy_begin for `table` and
     * its `columns` (identifiers), copy_row once per row (values in column
     * order), then copy_end.  PostgreSQL streams COPY ... FROM STDIN in binary
     * format; SQLite runs one prepared INSERT per row.  The database may
     * refuse a row at once (copy_row fails: that row) or only when the load
     * ends (copy_end fails and sets *failed_row to the row it refused,
     * counted from 1, or 0 if it does not say which); either way the caller
     * rolls back.  copy_end with abandon set gives up without reporting
     * anything (the caller already has its error).  copy_end always frees
     * the copy. */
    int (*copy_begin)(oi_conn *conn, oi_copy **out, const char *table,
                      const char *const *columns, int ncolumns);
    int (*copy_row)(oi_copy *copy, const oi_value *values);
    int (*copy_end)(oi_copy *copy, int abandon, long *failed_row);

    /* ---- waiting for a change (1.3) ----------------------------------- */

    /* MAY.  Sleep until another connection may have committed a change to
     * the store (a watched table, migration 006), or for timeout_ms; 0 only
     * takes note of where things stand.  Returns OI_OK, whether a change
     * came or not (or a failure of the connection): the caller re-reads
     * what it waits for, so an early return costs it a read.  Each call arms the next: a commit after
     * a call returned ends the next call's sleep at once.  Called outside
     * transactions only.  PostgreSQL LISTENs on optiinfra_changes, which
     * 006's triggers notify at each commit (through a transaction pooler,
     * where a LISTEN cannot stay, it sleeps 50 ms at most and returns: the
     * caller polls); SQLite polls its data_version.
     * NULL: the core re-reads the revision every few milliseconds. */
    int (*wait_change)(oi_conn *conn, int timeout_ms);

    /* ---- backup (1.7) --------------------------------------------------- */

    /* MAY.  Copy the whole database, as one snapshot of what was committed
     * when the copy began, into `into`: an empty file the core has just
     * created (0600) beside `path`, where the core renames it once this
     * returns OI_OK (backup.c: the checks of the path, the temporary file,
     * the rename and the syncs are the core's).  Other connections keep
     * reading and writing meanwhile.  Refuses (OI_EINVALID) a `path` that
     * is the database's own file or one of its companions, which the rename
     * would replace under its users.  Called outside transactions only.
     * NULL: the database is backed up with its server's own tools, which
     * backup_tools names; oi_store_backup() refuses with OI_EINVALID. */
    int (*backup)(oi_conn *conn, const char *into, const char *path);
    /* MUST when backup is NULL: the tools that back up this backend's
     * databases, for the refusal's one line ("pg_dump ... or
     * pg_basebackup ..."). */
    const char *backup_tools;
};

extern const oi_backend oi_backend_sqlite;
extern const oi_backend oi_backend_postgres;

/* Set err's code and message (printf-style), constraint to
 * OI_CONSTRAINT_NONE; returns code. */
int oi_seterr(oi_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
