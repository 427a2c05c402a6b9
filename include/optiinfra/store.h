/*
 * optiinfra/store.h - opening a store, and transactions.
 *
 * A store is one connection to one database, SQLite or PostgreSQL, chosen by
 * the URL given to oi_store_open().  Every other call of the library takes the
 * store it acts on, and leaves the message of a failure on it (errors.h).
 *
 * Threads: a store handle is not safe to use from two threads at once.  Open
 * one handle per thread (the HTTP service does exactly that); handles share
 * nothing, so any number of them may be used concurrently.  The library's
 * only process-wide setting is the allocation-failure handler (alloc.h).
 */
#ifndef OPTIINFRA_STORE_H
#define OPTIINFRA_STORE_H

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
