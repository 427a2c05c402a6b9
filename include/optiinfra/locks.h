/*
 * optiinfra/locks.h - resource locks held by live agents.
 *
 * A resource (a GPU pool, a cluster, any name) is held by at most one live
 * agent.  A lock has a TTL and is tied to its holder's liveness: another
 * agent may take it over once it has expired or its holder has gone stale.
 * Every call is atomic, one statement or one transaction, joining the
 * caller's transaction when one is open.  docs/runtime.md explains how.
 */
#ifndef OPTIINFRA_LOCKS_H
#define OPTIINFRA_LOCKS_H

#include <stdbool.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** TTL of a lock when none is given: 5 minutes. */
#define OI_LOCK_TTL_DEFAULT (5 * 60 * INT64_C(1000000))
/** The longest TTL accepted: 366 days. */
#define OI_LOCK_TTL_MAX (366 * 86400 * INT64_C(1000000))
/** The longest resource name, in bytes. */
#define OI_RESOURCE_MAX 255

/** How long a resource freed by its holder's loss of liveness stays
 * untakeable: 15 seconds, as Consul's lock-delay (1.3). */
#define OI_LOCK_DELAY_DEFAULT (15 * INT64_C(1000000))

/** The version of oi_lock this header declares (2 adds fence, in 1.3). */
#define OI_LOCK_VERSION 2

/** A lock, as the table resource_locks holds it and the caller's clock judges it. */
typedef struct oi_lock {
    unsigned int version;      /**< OI_LOCK_VERSION */
    char *resource;
    oi_uuid agent_id;          /**< the holder */
    char *agent_name;
    oi_uuid previous_agent_id; /**< holder before the latest acquisition ("" if the
                                    resource was free; the holder itself after a renewal) */
    oi_time acquired_at;       /**< kept on renewal, reset on takeover */
    oi_time expires_at;
    oi_time holder_heartbeat;  /**< the holder's newest heartbeat; OI_TIME_NULL: never */
    bool expired;              /**< expires_at has passed */
    bool holder_stale;         /**< the holder's heartbeat is older than the threshold */
    /* version 2 (1.3) */
    int64_t fence;             /**< the fencing token of this holding: issued when the
                                    holder acquired it (a renewal keeps it), greater than
                                    every token issued before for any resource */
} oi_lock;

/** An empty oi_lock of this header's version. */
#define OI_LOCK_INIT                                                                   \
    {.version = OI_LOCK_VERSION, .acquired_at = OI_TIME_NULL, .expires_at = OI_TIME_NULL, \
     .holder_heartbeat = OI_TIME_NULL}

/** Make *lock an empty oi_lock of `version`; OI_EINVALID if unknown. */
int oi_lock_init(oi_lock *lock, unsigned int version);

/** The version of oi_lock_options this header declares. */
#define OI_LOCK_OPTIONS_VERSION 1

/** How oi_lock_acquire_with() takes a lock (1.3). */
typedef struct oi_lock_options {
    unsigned int version; /**< OI_LOCK_OPTIONS_VERSION */
    int64_t ttl;          /**< microseconds; 0: OI_LOCK_TTL_DEFAULT */
    int64_t stale_after;  /**< a holder whose newest heartbeat is older than this has
                               lost the lock; 0: OI_STALE_AFTER_DEFAULT */
    int64_t lock_delay;   /**< ... and its resource can be taken this long after that
                               (0: at once); OI_LOCK_DELAY_DEFAULT in the INIT */
} oi_lock_options;

/** Options of the defaults: TTL 5 min, stale after 90 s, lock-delay 15 s. */
#define OI_LOCK_OPTIONS_INIT                                                           \
    {.version = OI_LOCK_OPTIONS_VERSION, .lock_delay = OI_LOCK_DELAY_DEFAULT}

/** Make *opts the defaults; OI_EINVALID for an unknown version. */
int oi_lock_options_init(oi_lock_options *opts, unsigned int version);

/**
 * Acquire `resource` (1 to OI_RESOURCE_MAX bytes, no control characters)
 * for the agent until now + ttl (0: OI_LOCK_TTL_DEFAULT).  One statement
 * decides, atomically:
 *   - free resource: the agent takes it;
 *   - held by this agent: renewed (the expiry moves to now + ttl);
 *   - held by another agent whose lock has expired, or whose newest
 *     heartbeat is older than stale_after (0: OI_STALE_AFTER_DEFAULT):
 *     taken over.  A holder that never sent a heartbeat is judged by its
 *     TTL alone;
 *   - otherwise OI_EHELD, and the message names the holder and the expiry.
 * The agent_states.resource_locks of the agents involved (new and previous
 * holder) are rewritten from the lock table in the same transaction.
 * *out (if not NULL, initialised) receives the lock as it now stands: the
 * agent's on success, the holder's on OI_EHELD; free it with
 * oi_lock_clear().  OI_ENOTFOUND if there is no such agent.
 */
int oi_lock_acquire(oi_store *store, const char *agent_id, const char *resource, int64_t ttl,
                    int64_t stale_after, oi_lock *out);

/**
 * oi_lock_acquire() with options (1.3; opts NULL: the defaults of
 * OI_LOCK_OPTIONS_INIT).  Liveness: a holder whose heartbeat is older than
 * opts->stale_after has lost the lock, and the resource can be taken over
 * once opts->lock_delay has also passed, so that the old holder's work in
 * flight can drain.  A resource whose holder was deleted (deregistered) is
 * free only after the lock-delay of the deletion (oi_agent_delete); until
 * then, OI_EHELD says when.  An expired TTL frees the resource at once: the
 * holder chose the TTL.  On success out->fence is the holding's fencing
 * token: new on an acquisition, kept on a renewal.
 */
int oi_lock_acquire_with(oi_store *store, const char *agent_id, const char *resource,
                         const oi_lock_options *opts, oi_lock *out);

/**
 * Check a fencing token inside the caller's transaction (oi_begin()): OI_OK
 * when `fence` is the newest token of its resource, else OI_ESTALE (the
 * lock was acquired again since, by this agent or another, or the token was
 * never issued).  On PostgreSQL the check holds the token's row until the
 * transaction ends, so a takeover waits for the caller's commit: the writes
 * made after a successful check commit before any newer token exists.
 * Outside a transaction it only reads.  docs/coordination.md shows the
 * pattern, and how to pass the token on to systems outside the store.
 */
int oi_fence_check(oi_store *store, int64_t fence);

/**
 * Release the agent's lock on `resource` (expired or not), and rewrite its
 * agent_states.resource_locks.  OI_ENOTFOUND if the agent does not hold it
 * (the message says who does, if anyone).
 */
int oi_lock_release(oi_store *store, const char *agent_id, const char *resource);

/**
 * The agent loses every lock it holds, as when it is deleted (1.3): each
 * resource stays untakeable for its lock's lock-delay, then is free.  For
 * an agent that leaves without being deleted (the registry dialect's
 * unregister keeps the row).  OI_ENOTFOUND if there is no such agent.
 */
int oi_lock_forfeit(oi_store *store, const char *agent_id);

/**
 * An iterator over the locks (of one agent, or every lock when agent_id is
 * NULL), by resource in byte order, with expired and holder_stale judged
 * as of the iterator's creation against stale_after (0: OI_STALE_AFTER_DEFAULT); read with
 * oi_lock_next().  Expired locks stay listed until they are released or
 * taken over.
 */
int oi_lock_iter_new(oi_iter **out, oi_store *store, const char *agent_id,
                     int64_t stale_after);

/** The next lock of a lock iterator into *out: OI_OK, OI_ITEROVER or a failure. */
int oi_lock_next(oi_iter *iter, oi_lock *out);

/** Free the strings of lock and make it empty again, keeping its version. */
void oi_lock_clear(oi_lock *lock);

#ifdef __cplusplus
}
#endif
#endif
