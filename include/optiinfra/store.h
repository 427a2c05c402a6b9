/*
 * optiinfra/store.h - opening a store, and transactions.
 *
 * A store is one connection to one database, SQLite or PostgreSQL, chosen by
 * the URL given to oi_store_open(); opened with oi_store_open_ext() and a read
 * URL (1.7), it also holds a second connection, to a PostgreSQL hot standby,
 * which serves the reads made outside transactions.  Every other call of the
 * library takes the store it acts on, and leaves the message of a failure on
 * it (errors.h).
 *
 * Threads: a store handle is not safe to use from two threads at once.  Open
 * one handle per thread (the HTTP service does exactly that); handles share
 * nothing, so any number of them may be used concurrently.  The library's
 * only process-wide setting is the allocation-failure handler (alloc.h).
 */
#ifndef OPTIINFRA_STORE_H
#define OPTIINFRA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Open a store.  URL forms:
 *   sqlite:PATH               a SQLite file (created if missing)
 *   sqlite::memory:           a private in-memory SQLite database
 *   postgresql://user:pass@host:port/db?param=value   (also postgres://)
 *   host=... dbname=... user=...                       (libpq key=value form)
 *
 * On success *out is a usable store.  On failure *out is still set, so that
 * oi_errmsg(*out) can say why; close it with oi_store_close() either way.
 * The URL is borrowed: the store keeps what it needs.
 */
int oi_store_open(oi_store **out, const char *url);

/**
 * What a store opened with a read replica does when the replica cannot
 * serve a read: it cannot be reached, or it is further behind the primary
 * than oi_store_options.max_lag allows (since 1.7).
 */
typedef enum oi_replica_fallback {
    OI_REPLICA_USE_PRIMARY = 0, /**< read from the primary instead (the default) */
    OI_REPLICA_FAIL             /**< fail the read with OI_ECONNECT, saying why */
} oi_replica_fallback;

/** The version of oi_store_options this header declares. */
#define OI_STORE_OPTIONS_VERSION 1

/** How often at most a store checks its replica by default: 1 s. */
#define OI_REPLICA_CHECK_EVERY_DEFAULT (1 * INT64_C(1000000))

/**
 * How to open a store (since 1.7): its database, and optionally a
 * streaming read replica of it that takes the store's reads made outside a
 * transaction (the list is in docs/scaling.md, "Read replicas").
 */
typedef struct oi_store_options {
    unsigned int version;     /**< OI_STORE_OPTIONS_VERSION */
    const char *url;          /**< the database (the primary), as for oi_store_open() */
    const char *read_url;     /**< a read replica of it (PostgreSQL only: a hot standby,
                                   e.g. made by pg_basebackup -R); NULL or "": none, every
                                   call goes to url */
    oi_replica_fallback fallback; /**< what a read does when the replica cannot serve it */
    bool limit_lag;           /**< whether max_lag applies; false: any lag is accepted */
    int64_t max_lag;          /**< microseconds, 0 or more, when limit_lag: a replica whose
                                   replay is further behind is not read from (0: only a
                                   replica that has replayed all it received) */
    int64_t check_every;      /**< microseconds, 0 or more: the replica's lag is measured,
                                   and a lost replica reconnected, at most this often (0:
                                   before every read); OI_REPLICA_CHECK_EVERY_DEFAULT */
} oi_store_options;

/** Options of this header's version: no replica, fall back to the primary. */
#define OI_STORE_OPTIONS_INIT                                                         \
    {.version = OI_STORE_OPTIONS_VERSION, .fallback = OI_REPLICA_USE_PRIMARY,          \
     .check_every = OI_REPLICA_CHECK_EVERY_DEFAULT}

/** Make *opts the defaults of `version`; OI_EINVALID if unknown. */
int oi_store_options_init(oi_store_options *opts, unsigned int version);

/**
 * Open a store as opts says (since 1.7): oi_store_open(opts->url), plus
 * the read replica opts->read_url when one is given.  The replica must be
 * PostgreSQL and so must the primary (OI_EINVALID otherwise); it is
 * connected at once, and a replica that cannot be reached then is not a
 * failure of the open: its reads fall back or fail as opts->fallback says,
 * and the store reconnects to it when it is back.  As with
 * oi_store_open(), *out is set even on failure, for oi_errmsg().  opts and
 * its strings are borrowed.
 */
int oi_store_open_ext(oi_store **out, const oi_store_options *opts);

/**
 * The read replica's URL with its secrets masked, as oi_store_url() shows
 * the primary's; NULL for a store without a replica (since 1.7).
 */
const char *oi_store_read_url(const oi_store *store);

/**
 * Whether the store's reads made outside a transaction may go to its
 * replica (true, the default of a store opened with one) or must all go
 * to the primary until set back (since 1.7): read-your-writes over a
 * sequence of calls without the locks of a transaction.  The service sets
 * it per request (GET routes only read from the replica).  No effect on a
 * store without a replica.
 */
void oi_store_use_replica(oi_store *store, bool use);

/**
 * Whether a read made now, outside a transaction, can be served (since
 * 1.7): OI_OK when the store has no replica, reads from it, or falls back
 * to the primary; OI_ECONNECT, saying why on the store, when the replica
 * is down or too far behind and the store fails instead.  It checks as a
 * read would (at most every check_every).  For a caller that must commit
 * to an answer before it reads (the service's streamed lists send their
 * status first).
 */
int oi_store_reads_ready(oi_store *store);

/**
 * Which database served the store's latest read made outside a
 * transaction (since 1.7): "replica", "primary" (no replica, or a
 * fallback), or "none" before the first.  For logs and tests: why an
 * answer may be stale.
 */
const char *oi_store_last_read(const oi_store *store);

/** Close a store and free everything it holds.  NULL is a no-op. */
void oi_store_close(oi_store *store);

/** "sqlite" or "postgresql"; "none" for a store whose URL was not recognised. */
const char *oi_store_backend(const oi_store *store);

/**
 * The URL the store was opened with, every secret in it (passwords, key
 * passphrases) masked; the store's own string, valid while it is open.
 */
const char *oi_store_url(const oi_store *store);

/**
 * Begin a transaction.  Each library call is atomic on its own; wrap
 * several in oi_begin()/oi_commit() to make them atomic together; calls
 * made inside join it.  Nesting is not supported: begin inside a
 * transaction fails with OI_EINVALID (oi_savepoint() marks a point to roll
 * back to instead).
 */
int oi_begin(oi_store *store);

/** Commit the transaction begun with oi_begin(). */
int oi_commit(oi_store *store);

/** Roll back the transaction begun with oi_begin(). */
int oi_rollback(oi_store *store);

/**
 * Mark a savepoint inside the transaction begun with oi_begin() (since
 * 1.2).  What follows can then be undone alone with
 * oi_savepoint_rollback(), leaving the transaction open and usable, on
 * PostgreSQL even after a failed statement; or kept with
 * oi_savepoint_release().  Savepoints nest: each release or rollback ends
 * the innermost one, and oi_commit() or oi_rollback() ends them all.  This
 * is how many independent operations share one commit, each atomic on its
 * own: the service does so to write the requests that arrive together in
 * one SQLite transaction.  OI_EINVALID outside a transaction.
 */
int oi_savepoint(oi_store *store);

/** Keep what was done since the innermost savepoint and end it (since 1.2). */
int oi_savepoint_release(oi_store *store);

/** Undo what was done since the innermost savepoint and end it (since 1.2). */
int oi_savepoint_rollback(oi_store *store);

#ifdef __cplusplus
}
#endif
#endif
