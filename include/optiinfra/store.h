/*
 * optiinfra/store.h - opening a store, errors, transactions and time.
 *
 * A store is one connection to one database, SQLite or PostgreSQL, chosen by
 * the URL given to oi_store_open().  Every other call of the library takes the
 * store it acts on.
 *
 * Threads: a store handle is not safe to use from two threads at once.  Open
 * one handle per thread (the HTTP service does exactly that); handles share
 * nothing, so any number of them may be used concurrently.  The library keeps
 * no global mutable state.
 *
 * Errors: every function that can fail returns an int, OI_OK (0) on success
 * or one of the negative OI_E* codes below.  The store then also holds a
 * one-line, human-readable message, read with oi_errmsg(); it never contains
 * a password or the value of a sensitive config.
 */
#ifndef OPTIINFRA_STORE_H
#define OPTIINFRA_STORE_H

#include <stdint.h>
#include <stddef.h>
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif


/** Return codes.  0 is success; every failure is negative. */
enum {
    OI_OK = 0,
    OI_ERROR = -1,       /**< unexpected database or system error */
    OI_EINVALID = -2,    /**< bad input: malformed URL, JSON, value, ... */
    OI_ENOTFOUND = -3,   /**< the record asked for does not exist */
    OI_EEXISTS = -4,     /**< a unique key is already taken */
    OI_ECONSTRAINT = -5, /**< a check or foreign-key constraint refused the write (e.g.
                              a record referring to an agent that does not exist) */
    OI_ECONNECT = -6,    /**< the database cannot be reached or opened */
    OI_EAUTH = -7,       /**< the database refused the credentials */
    OI_ESCHEMA = -8,     /**< the schema revision is missing, unknown or not at head */
    OI_EBUSY = -9,       /**< the database is locked by another writer */
    OI_EHELD = -10,      /**< a resource lock is held by another live agent */
    OI_ESTATE = -11      /**< not allowed in the record's current state (an illegal
                              transition, e.g. finishing a workflow that is not running) */
};

/**
 * Microseconds since 1970-01-01T00:00:00Z.  OI_TIME_NULL (0) stands for SQL
 * NULL, so that a zero-initialised record has no timestamps; the instant
 * 1970-01-01T00:00:00.000000Z itself cannot be stored.
 */
typedef int64_t oi_time;
#define OI_TIME_NULL 0

/** Length of a UUID in text form, without the terminating NUL. */
#define OI_UUID_LEN 36
/** Buffer size for oi_time_format(): "2026-11-25T08:11:55.123456Z" and NUL. */
#define OI_TIME_BUFSZ 28

typedef struct oi_store oi_store;

/**
 * Open a store.  URL forms:
 *   sqlite:PATH               a SQLite file (created if missing)
 *   sqlite::memory:           a private in-memory SQLite database
 *   postgresql://user:pass@host:port/db?param=value   (also postgres://)
 *   host=... dbname=... user=...                       (libpq key=value form)
 *
 * On success *out is a usable store.  On failure *out is still set, so that
 * oi_errmsg(*out) can say why; close it with oi_store_close() either way.
 * (Like every allocation of the library, a failure to allocate the store
 * aborts the process with a message: see docs/design.md.)
 */
int oi_store_open(oi_store **out, const char *url);

/** Close a store and free everything it holds.  NULL is a no-op. */
void oi_store_close(oi_store *store);

/** "sqlite" or "postgresql"; "none" for a store whose URL was not recognised. */
const char *oi_store_backend(const oi_store *store);

/** The URL the store was opened with, its password replaced by "***". */
const char *oi_store_url(const oi_store *store);

/** The message of the last failure on this store ("" if none). */
const char *oi_errmsg(const oi_store *store);

/** The code of the last failure on this store (OI_OK if none). */
int oi_errcode(const oi_store *store);

/** A short name for a return code: "not found", "already exists", ... */
const char *oi_strerror(int code);

/**
 * Transactions.  Each library call is atomic on its own; wrap several in
 * begin/commit to make them atomic together.  Nesting is not supported:
 * begin inside a transaction fails with OI_EINVALID.
 */
int oi_begin(oi_store *store);
int oi_commit(oi_store *store);
int oi_rollback(oi_store *store);

/**
 * Parse a duration: a whole number and a unit, "500ms", "90s", "15m", "2h",
 * "30d" (also "1w"), into microseconds.  OI_OK or OI_EINVALID.
 */
int oi_duration_parse(const char *text, int64_t *micros);

/** The current time, to the microsecond. */
oi_time oi_time_now(void);

/** Write t as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into buf (OI_TIME_BUFSZ bytes). */
char *oi_time_format(oi_time t, char *buf);

/**
 * Parse an ISO 8601 UTC time ("2026-11-25T08:11:55.123456Z", a space for
 * the T, up to 6 fraction digits, "Z", "+00", "+00:00" or an offset).
 * Returns OI_OK or OI_EINVALID.
 */
int oi_time_parse(const char *text, oi_time *out);

#ifdef __cplusplus
}
#endif
#endif
