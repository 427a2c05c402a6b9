/*
 * optiinfra/errors.h - return codes and the message of the last failure.
 *
 * Every function that can fail returns an int: OI_OK (0) on success, one
 * of the negative OI_E* codes on failure.  OI_ITEROVER (positive) only ends
 * an iteration.  After a failure the store holds a one-line message that
 * says what went wrong and, where it can, what to do; it never contains a
 * password or the value of a sensitive config.
 */
#ifndef OPTIINFRA_ERRORS_H
#define OPTIINFRA_ERRORS_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes.  0 is success; every failure is negative. */
enum {
    OI_OK = 0,
    OI_ITEROVER = 1,     /**< an iterator has no more rows (not a failure) */
    OI_ERROR = -1,       /**< unexpected database or system error */
    OI_EINVALID = -2,    /**< bad input: malformed URL, JSON, value, an unknown struct
                              version ... */
    OI_ENOTFOUND = -3,   /**< the record asked for does not exist */
    OI_EEXISTS = -4,     /**< a unique key is already taken */
    OI_ECONSTRAINT = -5, /**< a check or foreign-key constraint refused the write (e.g.
                              a record referring to an agent that does not exist) */
    OI_ECONNECT = -6,    /**< the database cannot be reached or opened */
    OI_EAUTH = -7,       /**< the database refused the credentials */
    OI_ESCHEMA = -8,     /**< the schema revision is missing, unknown or not at head */
    OI_EBUSY = -9,       /**< the database is locked by another writer; (1.6) or a
                              streamed metrics iterator holds the store (metrics.h) */
    OI_EHELD = -10,      /**< a resource lock is held by another live agent */
    OI_ESTATE = -11,     /**< not allowed in the record's current state (an illegal
                              transition, e.g. finishing a workflow that is not running) */
    OI_ESTALE = -12,     /**< (1.3) a fencing token that is not its resource's newest: the
                              lock it came from was taken again since (locks.h) */
    OI_ECONFLICT = -13,  /**< (1.3) compare-and-set: the record's revision is not the one
                              the caller expected; another writer changed it */
    OI_ECOMPACTED = -14  /**< (1.3) changes asked for from a revision older than the change
                              log keeps (changes.h): read the records again */
};

/**
 * The message of the last failure on this store ("" if none).  It stays
 * valid until the next call on the store.
 */
const char *oi_errmsg(const oi_store *store);

/** The code of the last failure on this store (OI_OK if none). */
int oi_errcode(const oi_store *store);

/** A short, static name for a return code: "not found", "already exists" ... */
const char *oi_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
