/*
 * internal.h - what the library's own files share, and users never see.
 *
 * The store struct, memory helpers that abort on exhaustion (as Redis's
 * zmalloc does: a store that cannot allocate a few bytes cannot do anything
 * useful, and checking every allocation would hide the real logic), and a
 * thin layer over the backend's statements that records errors on the store.
 */
#ifndef OI_INTERNAL_H
#define OI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "optiinfra/optiinfra.h"
#include "alloc.h"
#include "backend/backend.h"
#include "stmtcache.h"
#include "number.h"

/* A store's read replica: replica.c routes reads to it, store_options.c
 * opens it, store.c frees it. */
typedef struct oi_replica {
    oi_store *store;          /* the replica's own store: connection, statements */
    char *url;                /* as given, to reconnect: never shown */
    oi_replica_fallback fallback;
    bool limit_lag;
    int64_t max_lag, check_every;
    int64_t checked_at;       /* monotonic microseconds of the last check; 0: never */
    bool lost;                /* the connection is gone: reconnect at the next check */
    bool usable;              /* what the last check said */
    char why[OI_ERRMSG_MAX];  /* why not usable, for a read that fails */
    int iterators;            /* open iterators reading from the replica */
} oi_replica;

struct oi_store {
    oi_conn *conn;
    const oi_backend *backend;
    char *url_redacted;
    oi_err err;
    int tx_depth;                 /* 1 inside oi_begin()/oi_tx_begin() */
    int savepoints;               /* open inside oi_begin(): oi_savepoint() */
    char revision[64];            /* buffer for oi_migrate_current() */
    oi_stmtcache *stmts;         /* prepared statements (stmtcache.c) */
    bool streaming;               /* a streamed iterator's statement is open (iter.c) */
    bool partitions_known;        /* partition.c: the times whose partitions need no  */
    oi_time partitioned_from;     /*   asking for: from..to (OI_TIME_MIN/MAX: unbounded) */
    oi_time partitioned_to;
    oi_replica *replica;          /* the read replica (replica.c); NULL: none */
    int primary_pins;             /* > 0: reads go to the primary (oi_read_pin) */
    bool replica_off;             /* oi_store_use_replica(s, false) */
    const char *last_read;        /* oi_store_last_read(): a static string, NULL: none */
};

/* The backend that takes url, NULL if none (store.c). */
const oi_backend *oi_backend_for(const char *url);

/*
 * Read replicas (replica.c, whose header comment says which calls read
 * from the replica).  A read entry point runs its body in this loop, on
 * the store r it is given, so that the choice, the fallback to the primary
 * and the copy of the replica's error onto s are made in one place:
 *
 *     oi_store *r = NULL;
 *     int rc;
 *     while (oi_read_route(s, &r, &rc))
 *         rc = the_read(r, ...);
 *     return rc;
 *
 * oi_read_store: the store a read made now goes to (s or its replica);
 * OI_ECONNECT, on s, when the replica cannot serve it and the store fails
 * rather than fall back.  oi_read_failed: a read on r returned rc; true
 * when it is to run again on s (the replica was lost, the store falls back
 * and may_retry), else a failure is copied onto s.  oi_read_pin/unpin:
 * reads in between go to the primary (a write reading what it wrote).
 * oi_read_iter_count: iterators reading from the replica (not reconnected
 * under them).
 */
bool oi_read_route(oi_store *s, oi_store **r, int *rc);
int oi_read_store(oi_store *s, oi_store **r);
bool oi_read_failed(oi_store *s, oi_store *r, int rc, bool may_retry);
void oi_read_pin(oi_store *s);
void oi_read_unpin(oi_store *s);
void oi_read_iter_count(oi_store *s, int delta);
/* (Re)connect rep->store; a failure leaves the replica lost, saying why. */
int oi_replica_connect(oi_replica *rep);

/* formatted strings (util.c); memory is alloc.h */
char *oi_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growing string, for SQL built from identifiers (never from values). */
#include "buf.h"

/* errors: set the store's error; returns code */
int oi_fail(oi_store *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, the store's current message kept after fmt's as its cause:
 * "<fmt>: <cause>". */
int oi_fail_context(oi_store *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void oi_clear_error(oi_store *s);

/* time.c: OI_OK for OI_TIME_NULL or a time the store accepts, else
 * OI_EINVALID naming `what`. */
int oi_time_check(oi_store *s, const char *what, oi_time t);

/* uuid.c */
void oi_uuid_generate(char out[OI_UUID_LEN + 1]);
bool oi_uuid_valid(const char *s);   /* either case */
void oi_uuid_lower(char *id);        /* ids are stored in lower case */
void oi_uuid_lower_copy(char out[OI_UUID_LEN + 1], const char *id); /* at most 36 bytes of id */

/* json.c: whether text is valid JSON of the kind: 'o' an object, 'a' an
 * array of strings.  `what` names the field in the error message. */
int oi_json_check(oi_store *s, const char *what, const char *text, char kind);

/* Transactions that know about nesting: inner begin/commit are no-ops, so a
 * library call made inside the user's transaction joins it.  A failed
 * commit has already rolled back: call oi_tx_rollback only after a failure
 * before the commit. */
int oi_tx_begin(oi_store *s, bool exclusive);
int oi_tx_commit(oi_store *s);
void oi_tx_rollback(oi_store *s);   /* after a failure: keeps the error */

/* Cached statements (stmtcache.c, whose header says when to use which).
 * oi_stmt_cached: fixed SQL, keyed by its text.  oi_stmt_cached_by: SQL
 * built by build(descriptor, variant) on first use.  Both belong to the
 * store.  oi_stmt_acquire/release: exclusive use; release with the
 * private flag acquire set. */
int oi_stmt_cached(oi_store *s, const char *sql, oi_stmt **out);
int oi_stmt_cached_by(oi_store *s, const void *descriptor, uint64_t variant,
                      oi_sql_builder build, oi_stmt **out);
int oi_stmt_acquire(oi_store *s, const char *sql, oi_stmt **out, bool *private_stmt);
void oi_stmt_release(oi_store *s, oi_stmt *st, bool private_stmt);

/* Statements (stmt.c): oi_stmt_prepare's statement is the caller's to free. */
int oi_stmt_prepare(oi_store *s, const char *sql, oi_stmt **out);
void oi_stmt_free(oi_stmt *st);
int oi_bind_text(oi_stmt *st, int idx, const char *v);      /* NULL binds NULL */
int oi_bind_uuid(oi_stmt *st, int idx, const char *v);      /* lower-cased; "" or NULL binds NULL */
int oi_bind_int64(oi_stmt *st, int idx, int64_t v);
int oi_bind_double(oi_stmt *st, int idx, double v);         /* NAN binds NULL */
int oi_bind_bool(oi_stmt *st, int idx, bool v);
int oi_bind_time(oi_stmt *st, int idx, oi_time v);          /* OI_TIME_NULL binds NULL */
int oi_step(oi_stmt *st);                                   /* OI_ROW, OI_DONE or < 0 */
/* Streaming (backend.h, stream): whether the store's backend can; then
 * oi_stmt_stream makes st's executions stream, and nothing else runs on
 * the store until st's OI_DONE, an error or a reset.  A backend that
 * cannot is read in pages. */
bool oi_store_streams(const oi_store *s);
int oi_stmt_stream(oi_stmt *st);
/* OI_OK when the store may run a statement or a transaction call: it is
 * connected and no streamed iterator holds it (else OI_ECONNECT, OI_EBUSY). */
int oi_store_ready(oi_store *s);
int oi_reset(oi_stmt *st);
bool oi_col_null(oi_stmt *st, int col);
char *oi_col_strdup(oi_stmt *st, int col);                  /* NULL for NULL */
const char *oi_col_text(oi_stmt *st, int col);              /* NULL for NULL */
int64_t oi_col_int64(oi_stmt *st, int col);
double oi_col_double(oi_stmt *st, int col);                 /* NAN for NULL */
bool oi_col_bool(oi_stmt *st, int col);
oi_time oi_col_time(oi_stmt *st, int col);                  /* OI_TIME_NULL for NULL */
void oi_col_uuid(oi_stmt *st, int col, char out[OI_UUID_LEN + 1]);

/* Run a statement without rows (or ignoring them) / read one int64. */
int oi_exec(oi_store *s, const char *sql);
int oi_query_int64(oi_store *s, const char *sql, int64_t *out);

#endif
