/*
 * sqlite.c - the SQLite backend, the embedded default.
 *
 * A thin driver over libsqlite3.  What SQLite does not do by default and a
 * shared store needs is switched on for every connection: foreign keys
 * (PRAGMA foreign_keys), a busy timeout so that concurrent writers wait
 * instead of failing (BUSY_TIMEOUT_MS, 10 s: a write that cannot have the
 * lock by then fails with OI_EBUSY, saying so), and WAL so that readers
 * never block the writer, nor a writer them.
 * Transactions start with BEGIN IMMEDIATE: taking the write lock up front
 * means two read-then-write transactions cannot deadlock on the upgrade
 * from a read lock, which SQLite would otherwise report as SQLITE_BUSY.
 * A bulk load (copy_*) is one prepared INSERT stepped once per row inside
 * the caller's transaction: SQLite has no COPY, and in one transaction
 * that is what its own shell's .import does.  SQLite cannot tell another
 * process of a commit, so wait_change polls PRAGMA data_version, which
 * moves when another connection commits: a read of the WAL index, no I/O,
 * every WAIT_POLL_MS.
 *
 * Errors are classified by extended result code only (code_of,
 * constraint_of).  The one case SQLite gives no narrower code for is a
 * statement that does not compile against the database: a missing table or
 * column is plain SQLITE_ERROR, like many run-time failures.  The library's
 * statements are fixed and compile against the schema they were written
 * for, so SQLITE_ERROR while compiling one means the database does not have
 * that schema: OI_ESCHEMA (see compile_failed, step_failed).
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "alloc.h"
#include "backend.h"
#include "params.h"


#define BUSY_TIMEOUT_MS 10000
/* wait_change's poll: a watcher hears of a commit within 20 ms (the aim
 * is 50), and 50 reads a second cost a waiting process ~0.6% of a core,
 * half of it the wake-ups themselves (an idle `optiinfra watch`: 62 ms of
 * CPU in 10 s on a busy two-core VM). */
#define WAIT_POLL_MS 20

typedef struct sqlite_conn {
    oi_conn base;
    sqlite3 *db;
    sqlite3_stmt *data_version;   /* PRAGMA data_version, once wait_change ran */
    int64_t seen_version;         /* its value when wait_change last returned */
    sqlite3_stmt *tx[3];          /* BEGIN IMMEDIATE, COMMIT, ROLLBACK, once first run */
} sqlite_conn;

typedef struct sqlite_stmt {
    oi_stmt base;
    sqlite3_stmt *st;
    oi_param_texts texts;  /* the bound texts, which SQLite then need not copy */
} sqlite_stmt;

#define DB(conn) (((sqlite_conn *)(conn))->db)
#define ST(stmt) (((sqlite_stmt *)(stmt))->st)

/* OI_E* for an extended result code. */
static int code_of(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return OI_EEXISTS;
    case SQLITE_NOTADB:
        return OI_ECONNECT;
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        return OI_EINVALID;
    }
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return OI_ECONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return OI_EBUSY;
    case SQLITE_CANTOPEN:
        return OI_ECONNECT;
    }
    return OI_ERROR;
}

/* The kind of constraint an extended result code names. */
static oi_constraint constraint_of(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return OI_CONSTRAINT_UNIQUE;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return OI_CONSTRAINT_FOREIGN_KEY;
    case SQLITE_CONSTRAINT_CHECK:
        return OI_CONSTRAINT_CHECK;
    case SQLITE_CONSTRAINT_NOTNULL:
        return OI_CONSTRAINT_NOT_NULL;
    }
    return (rc & 0xff) == SQLITE_CONSTRAINT ? OI_CONSTRAINT_OTHER : OI_CONSTRAINT_NONE;
}

/* Records the connection's last error; returns its code.  SQLite's words
 * for two failures a user must act on say too little: which lock, how
 * long it waited; that the disk, not the database, is full. */
static int fail(oi_conn *conn)
{
    int rc = sqlite3_extended_errcode(DB(conn));
    const char *msg = sqlite3_errmsg(DB(conn));
    if ((rc & 0xff) == SQLITE_BUSY)
        oi_seterr(conn->err, code_of(rc), "%s: another connection holds its write lock "
                  "(waited up to %d s)", msg, BUSY_TIMEOUT_MS / 1000);
    else if ((rc & 0xff) == SQLITE_FULL)
        oi_seterr(conn->err, code_of(rc), "disk full: %s; free space on its file system",
                  msg);
    else
        oi_seterr(conn->err, code_of(rc), "%s", msg);
    conn->err->constraint = constraint_of(rc);
    return conn->err->code;
}

/* A failure to compile one of the library's statements: plain SQLITE_ERROR
 * means the database lacks the schema the statement was written for (a
 * missing table or column).  The message says which. */
static int compile_failed(oi_conn *conn)
{
    int code = fail(conn);
    if (sqlite3_extended_errcode(DB(conn)) == SQLITE_ERROR)
        code = conn->err->code = OI_ESCHEMA;
    return code;
}

/* A statement is compiled again when the schema changes under it (another
 * connection dropped or altered a table); when that fails, step returns
 * the compiler's plain SQLITE_ERROR, the code of many run-time failures as
 * well (malformed JSON, a failed cast ...).  Compiling the statement once
 * more tells them apart by code, on this error path only. */
static int step_failed(oi_conn *conn, sqlite3_stmt *st)
{
    int code = fail(conn);
    if (sqlite3_extended_errcode(DB(conn)) == SQLITE_ERROR) {
        sqlite3_stmt *again = NULL;
        int rc = sqlite3_prepare_v3(DB(conn), sqlite3_sql(st), -1, 0, &again, NULL);
        sqlite3_finalize(again);
        if (rc == SQLITE_ERROR)
            code = conn->err->code = OI_ESCHEMA;
    }
    return code;
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

/* A SQLite URL is a file path (URI filenames are off): it holds no secret. */
static char *redact(const char *url)
{
    return oi_strdup(url);
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
    sqlite3_finalize(((sqlite_conn *)conn)->data_version);
    for (int i = 0; i < 3; i++)
        sqlite3_finalize(((sqlite_conn *)conn)->tx[i]);
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
    sqlite_conn *c = oi_calloc(1, sizeof *c);
    c->base.backend = &oi_backend_sqlite;
    c->base.err = err;
    /* NOMUTEX: a store is used by one thread at a time (api.md, Threads),
     * so the connection's own mutex only costs: 2 to 4% of a range query's
     * CPU in a profile (issue 10's W4). */
    int rc = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
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
    char *out = oi_malloc(strlen(sql) + 1), *o = out;
    char quote = 0;
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
        return compile_failed(conn);
    sqlite_stmt *s = oi_calloc(1, sizeof *s);
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

/* The copy is ours (params.h), so SQLite binds it as it is: no malloc and
 * free per parameter per execution, as SQLITE_TRANSIENT made. */
static int bind_text(oi_stmt *stmt, int idx, const char *v)
{
    int nparams = sqlite3_bind_parameter_count(ST(stmt));
    if (idx < 1 || idx > nparams) /* SQLite's own SQLITE_RANGE, and its message */
        return bound(stmt, sqlite3_bind_null(ST(stmt), idx));
    const char *copy =
        oi_param_texts_copy(&((sqlite_stmt *)stmt)->texts, nparams, idx, v, strlen(v));
    /* -1, not the length: SQLite then knows the text ends in a NUL and need
     * not copy it to give it to a function (the GLOB of a CHECK). */
    return bound(stmt, sqlite3_bind_text(ST(stmt), idx, copy, -1, SQLITE_STATIC));
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
    return step_failed(stmt->conn, ST(stmt));
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
    oi_param_texts_free(&((sqlite_stmt *)stmt)->texts);
    free(stmt);
}

enum tx_command { TX_BEGIN, TX_COMMIT, TX_ROLLBACK };

/* Transaction commands are compiled once per connection: sqlite3_exec
 * compiled and freed BEGIN and COMMIT in every transaction, 2 of the
 * 10 mallocs a heartbeat made over the raw loop's. */
static int run_tx(oi_conn *conn, enum tx_command command)
{
    static const char *const sql[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    sqlite3_stmt **st = &((sqlite_conn *)conn)->tx[command];
    if (!*st && sqlite3_prepare_v3(DB(conn), sql[command], -1, SQLITE_PREPARE_PERSISTENT, st,
                                   NULL) != SQLITE_OK)
        return fail(conn);
    int result = sqlite3_step(*st) == SQLITE_DONE ? OI_OK : fail(conn);
    sqlite3_reset(*st);
    return result;
}

static int begin(oi_conn *conn, int exclusive)
{
    (void)exclusive; /* BEGIN IMMEDIATE already excludes every other writer */
    return run_tx(conn, TX_BEGIN);
}

static int commit(oi_conn *conn)
{
    return run_tx(conn, TX_COMMIT);
}

static int rollback(oi_conn *conn)
{
    return run_tx(conn, TX_ROLLBACK);
}

/* ---- bulk load: one prepared INSERT, run once per row ------------------ */

/* A time column's text, kept from one row to the next: the store keeps
 * times as text, and a bulk load's rows often repeat a time (created_at:
 * one per batch), which is then formatted once. */
typedef struct time_text {
    oi_time time;
    char text[OI_TIME_BUFSZ];
} time_text;

typedef struct sqlite_copy {
    oi_copy base;
    sqlite3_stmt *insert;
    int ncolumns;
    time_text *times;  /* one per column */
} sqlite_copy;

/* The table and column names are the core's fixed identifiers, added as
 * text; every value is a parameter (?1, ?2 ...). */
static char *insert_sql(const char *table, const char *const *columns, int ncolumns)
{
    oi_buf sql = {0};
    oi_buf_add(&sql, "INSERT INTO ");
    oi_buf_add(&sql, table);
    oi_buf_add(&sql, " (");
    for (int i = 0; i < ncolumns; i++) {
        oi_buf_add(&sql, i ? ", " : "");
        oi_buf_add(&sql, columns[i]);
    }
    oi_buf_add(&sql, ") VALUES (");
    for (int i = 0; i < ncolumns; i++)
        oi_buf_addf(&sql, "%s?%d", i ? ", " : "", i + 1);
    oi_buf_add(&sql, ")");
    return sql.data;
}

/* A bulk load inserts into every index of the table at keys spread over
 * it (an agent's metric, a time): with SQLite's default 2 MB page cache
 * each batch reads the same index pages back from the file.  Once it has
 * loaded, the connection keeps a 16 MB cache for its life (pages are
 * allocated only as used; the import stays within its 64 MB budget):
 * measured on 1 000 000 rows, client CPU 14.1 -> 11.1 s (system time
 * 2.4 -> 1.5 s), peak RSS 13.4 -> 30.7 MB. */
static const char copy_cache_size[] = "PRAGMA cache_size = -16384"; /* KiB */

static int copy_begin(oi_conn *conn, oi_copy **out, const char *table,
                      const char *const *columns, int ncolumns)
{
    char *sql = insert_sql(table, columns, ncolumns);
    sqlite3_stmt *st;
    int rc = sqlite3_exec(DB(conn), copy_cache_size, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(DB(conn), sql, -1, 0, &st, NULL);
    free(sql);
    *out = NULL;
    if (rc != SQLITE_OK)
        return compile_failed(conn);
    sqlite_copy *cp = oi_calloc(1, sizeof *cp);
    cp->base.conn = conn;
    cp->insert = st;
    cp->ncolumns = ncolumns;
    cp->times = oi_calloc((size_t)ncolumns, sizeof *cp->times);
    for (int i = 0; i < ncolumns; i++)
        cp->times[i].time = OI_TIME_NULL;
    *out = &cp->base;
    return OI_OK;
}

static const char *time_text_of(time_text *kept, oi_time t)
{
    if (kept->time != t) {
        oi_time_format(t, kept->text);
        kept->time = t;
    }
    return kept->text;
}

/* Column i's value.  The values (and the kept times) outlive the step, so
 * SQLite need not copy them. */
static int bind_value(sqlite_copy *cp, int i, const oi_value *v)
{
    switch (v->kind) {
    case OI_VALUE_DOUBLE:
        return sqlite3_bind_double(cp->insert, i + 1, v->number);
    case OI_VALUE_TIME:
        return sqlite3_bind_text(cp->insert, i + 1, time_text_of(&cp->times[i], v->time), -1,
                                 SQLITE_STATIC);
    case OI_VALUE_TEXT:
    case OI_VALUE_UUID:
    case OI_VALUE_JSON:
        return sqlite3_bind_text(cp->insert, i + 1, v->text, -1, SQLITE_STATIC);
    case OI_VALUE_NULL:
        break;
    }
    return sqlite3_bind_null(cp->insert, i + 1);
}

static int copy_row(oi_copy *copy, const oi_value *values)
{
    sqlite_copy *cp = (sqlite_copy *)copy;
    int rc = SQLITE_OK;
    for (int i = 0; i < cp->ncolumns && rc == SQLITE_OK; i++)
        rc = bind_value(cp, i, &values[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(cp->insert);
    int result = rc == SQLITE_DONE ? OI_OK : step_failed(copy->conn, cp->insert);
    sqlite3_reset(cp->insert);
    return result;
}

/* Every row was written (or refused) by copy_row: nothing is left to report. */
static int copy_end(oi_copy *copy, int abandon, long *failed_row)
{
    (void)abandon;
    *failed_row = 0;
    sqlite3_finalize(((sqlite_copy *)copy)->insert);
    free(((sqlite_copy *)copy)->times);
    free(copy);
    return OI_OK;
}

/* ---- waiting for another connection's commit ----------------------------- */

static int read_data_version(sqlite_conn *c, int64_t *out)
{
    if (!c->data_version &&
        sqlite3_prepare_v3(c->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                           &c->data_version, NULL) != SQLITE_OK)
        return fail(&c->base);
    int rc = sqlite3_step(c->data_version);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(c->data_version, 0);
    int result = rc == SQLITE_ROW ? OI_OK : step_failed(&c->base, c->data_version);
    sqlite3_reset(c->data_version);
    return result;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int wait_change(oi_conn *conn, int timeout_ms)
{
    sqlite_conn *c = (sqlite_conn *)conn;
    int64_t version = 0;
    int rc = read_data_version(c, &version);
    for (int waited = 0; rc == OI_OK && version == c->seen_version && waited < timeout_ms;
         waited += WAIT_POLL_MS) {
        sleep_ms(timeout_ms - waited < WAIT_POLL_MS ? timeout_ms - waited : WAIT_POLL_MS);
        rc = read_data_version(c, &version);
    }
    if (rc == OI_OK)
        c->seen_version = version;
    return rc;
}

/* ---- backup (1.7) --------------------------------------------------------- */

/* Whether path names the database's file or one of its companions: the
 * core's rename would then replace a file the database's users hold open.
 * Compared by device and inode, so another spelling of the path (a link,
 * "./", a relative path) is caught too.  A path that does not exist is
 * none of them. */
static bool is_own_file(sqlite3 *db, const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    const char *file = sqlite3_db_filename(db, "main");
    struct stat target, own;
    if (!file || !*file || stat(path, &target) != 0)
        return false;
    size_t size = strlen(file) + sizeof "-journal";
    char *name = oi_malloc(size);
    bool same = false;
    for (size_t i = 0; !same && i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(name, size, "%s%s", file, suffixes[i]);
        same = stat(name, &own) == 0 && own.st_dev == target.st_dev &&
               own.st_ino == target.st_ino;
    }
    free(name);
    return same;
}

/* Why the copy is one sqlite3_backup_step(-1) and not a page at a time:
 * stepping in slices lets other connections write in between, and every
 * write to the source restarts the copy from its first page, so under a
 * steady writer a sliced backup may never end.  One step reads the whole
 * database in one read transaction: a consistent snapshot, and in WAL mode
 * the writers carry on meanwhile (they append to the WAL, which no
 * checkpoint can move past the copy's snapshot until it ends: the WAL
 * grows during a long copy).  The copy's memory is a page at a
 * time, whatever the database's size.  BUSY or LOCKED (a checkpoint
 * restarting the WAL, a recovery) is waited for up to the busy timeout. */
static int copy_database(sqlite3 *from, sqlite3 *to)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return sqlite3_extended_errcode(to);
    int rc;
    for (int waited = 0;
         ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
         waited < BUSY_TIMEOUT_MS;
         waited += WAIT_POLL_MS)
        sleep_ms(WAIT_POLL_MS);
    int finished = sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? finished : rc;
}

static int backup(oi_conn *conn, const char *into, const char *path)
{
    if (is_own_file(DB(conn), path))
        return oi_seterr(conn->err, OI_EINVALID, "that is the database's own file (or its WAL, "
                         "shared-memory or journal file); choose another path");
    sqlite3 *copy = NULL;
    int rc = sqlite3_open_v2(into, &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = copy_database(DB(conn), copy);
    if (rc != SQLITE_OK) {
        bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
        oi_seterr(conn->err, busy ? OI_EBUSY : OI_ERROR, "the copy failed: %s%s",
                  sqlite3_errstr(rc),
                  (rc & 0xff) == SQLITE_FULL ? "; free space on its file system" : "");
    }
    if (sqlite3_close(copy) != SQLITE_OK && rc == SQLITE_OK)
        rc = oi_seterr(conn->err, OI_ERROR, "the copy failed: %s", sqlite3_errmsg(copy));
    return rc == SQLITE_OK ? OI_OK : conn->err->code;
}

/* As PostgreSQL's ->>: JSON true/false read as the words, not 1/0.  The
 * text of json_extract is compared, and json_type asked only where the
 * value makes it matter: for "true"/"false" a boolean must match (its
 * json_extract is 1 or 0), for "1"/"0" a boolean must not.  Any other
 * value is one JSON lookup a row, as the sqlite3 shell's json_extract:
 * W6's common key (1M rows, 250,189 matching; CPU of the same SELECT in
 * the shell, medians of 3) 0.71 s with json_type on every matching row,
 * 0.64 s without, json_extract alone 0.65 s.  Before, the booleans'
 * branch tested in SQL cost every row three comparisons (W6's rare key,
 * 200,000 rows: 902 M -> 841 M client instructions, callgrind). */
static void metadata_equals(oi_buf *sql, int key, int value, const char *value_text)
{
    bool boolean_word = strcmp(value_text, "true") == 0 || strcmp(value_text, "false") == 0;
    bool boolean_digit = strcmp(value_text, "1") == 0 || strcmp(value_text, "0") == 0;

    oi_buf_add(sql, "(");
    if (boolean_word)
        oi_buf_addf(sql, "json_type(metadata, '$.' || json_quote($%d)) = $%d OR ", key, value);
    oi_buf_addf(sql, "CAST(json_extract(metadata, '$.' || json_quote($%d)) AS TEXT) = $%d",
                key, value);
    if (boolean_digit)
        oi_buf_addf(sql, " AND json_type(metadata, '$.' || json_quote($%d)) "
                         "NOT IN ('true', 'false')", key);
    oi_buf_add(sql, ")");
}

/* Timestamps are our fixed-width UTC text; seconds are its first 19 bytes. */
/* Seconds from 0001-01-01, the first instant the store holds, to the epoch. */
#define SECONDS_BEFORE_EPOCH "62135596800"

static void bucket_epoch(oi_buf *sql, int seconds)
{
    /* Floor, not truncation toward zero: a time before 1970 falls in the
     * bucket that starts before it, as PostgreSQL's floor() puts it.  The
     * time is shifted by K, a whole number of buckets past 0001-01-01, so
     * that it is never negative and SQLite's truncating division floors;
     * K goes back after.  K depends on the bound width alone: SQLite
     * computes it once per statement.  The time is parsed once a row, not
     * twice as (t - (t % s + s) % s) did: W5b (hourly buckets of one metric,
     * 1M rows) 2.24 -> 2.01 G instructions (callgrind), against 2.07 G for
     * the raw SQL's t / s * s, which is wrong before 1970. */
    oi_buf_addf(sql, "((unixepoch(substr(collection_timestamp, 1, 19)) + "
                     "$%d * (" SECONDS_BEFORE_EPOCH " / $%d + 1)) / $%d * $%d - "
                     "$%d * (" SECONDS_BEFORE_EPOCH " / $%d + 1))",
                seconds, seconds, seconds, seconds, seconds, seconds);
}

static const oi_dialect dialect = {
    .metadata_equals = metadata_equals,
    .bucket_epoch = bucket_epoch,
    .percentile_disc = false, /* SQLite 3.40 has no ordered-set aggregate */
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
    .redact = redact,
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
    .wait_change = wait_change,
    .backup = backup,
};
