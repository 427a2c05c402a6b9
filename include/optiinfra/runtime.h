/*
 * optiinfra/runtime.h - what running agents do all day: send heartbeats,
 * run workflows, record errors and recover, and hold resource locks.
 *
 * Every call here is atomic: one statement or one transaction, which joins
 * the caller's transaction when one is open (oi_begin).  Several agents,
 * in several processes, may call them at once on one database: no update is
 * lost (an error count counts every error) and a resource never has two
 * live holders.  docs/runtime.md explains the rules and how they are kept.
 *
 * Times are taken from the caller's clock (oi_time_now()) and passed to the
 * database as values, so both backends compare them the same way; the
 * processes sharing a database should keep their clocks in sync (NTP).
 */
#ifndef OPTIINFRA_RUNTIME_H
#define OPTIINFRA_RUNTIME_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- heartbeats and liveness ------------------------------------------ */

/** An agent whose newest heartbeat is older than this is stale: 90 s,
 *  three missed beats of an agent beating every 30 s. */
#define OI_STALE_AFTER_DEFAULT (90 * INT64_C(1000000))

/** An agent's health, derived from its newest heartbeat. */
typedef enum oi_health {
    OI_HEALTH_HEALTHY,    /**< beat within the threshold */
    OI_HEALTH_STALE,      /**< last beat older than the threshold */
    OI_HEALTH_NEVER_SEEN  /**< no heartbeat recorded at all */
} oi_health;

/**
 * Record a heartbeat of the agent now: agents.last_heartbeat and
 * agent_states.last_heartbeat, in one transaction.  An agent without a
 * state row gets one (status idle).  A heartbeat never moves the stored
 * time backwards (a slower concurrent beat of the same agent does not undo
 * a newer one).  *at (if not NULL) receives the time of this beat.
 * OI_ENOTFOUND if there is no such agent.
 */
int oi_agent_heartbeat(oi_store *store, const char *agent_id, oi_time *at);

/**
 * The health of an agent whose newest heartbeat is `last_heartbeat`
 * (OI_TIME_NULL: never), as of `now`: stale when now - last_heartbeat >
 * stale_after.  stale_after 0 means OI_STALE_AFTER_DEFAULT.
 */
oi_health oi_agent_health(oi_time last_heartbeat, oi_time now, int64_t stale_after);

/** "healthy", "stale" or "never seen". */
const char *oi_health_name(oi_health health);

/** One agent's liveness.  The newest heartbeat is the newer of
 *  agents.last_heartbeat and agent_states.last_heartbeat. */
typedef struct oi_agent_liveness {
    oi_uuid agent_id;
    char *name;
    char *type;
    oi_time last_heartbeat; /**< OI_TIME_NULL: never seen */
    oi_health health;       /**< stale or never seen, for oi_agent_list_stale() */
} oi_agent_liveness;

/**
 * The agents whose newest heartbeat is older than `older_than`
 * microseconds, and those never seen, by name then type (byte order).  older_than 0
 * means OI_STALE_AFTER_DEFAULT.  Free with oi_agent_liveness_list_free().
 */
int oi_agent_list_stale(oi_store *store, int64_t older_than, oi_agent_liveness **items,
                        size_t *count);
void oi_agent_liveness_list_free(oi_agent_liveness *items, size_t count);

/* ---- state transitions -------------------------------------------------- */

/*
 * The state machine of agent_states.status (docs/runtime.md has the table):
 *
 *   start   idle               -> active  current_workflow, workflow_data set
 *   finish  active             -> idle    workflow cleared, workflow_data {}
 *   error   idle|active|error  -> error   error_count + 1, last_error set;
 *                                         the workflow is kept, to show what failed
 *   recover error              -> idle    workflow cleared; error_count and
 *                                         last_error kept
 *
 * An agent without a state row is idle.  Any other move, or a status
 * outside these three (written by other means), is refused with
 * OI_ESTATE and a message naming the current and the required status;
 * OI_ENOTFOUND if there is no such agent.  On success the agent's new
 * state is read into *out, if not NULL (free with oi_agent_state_clear()).
 */

/** Start `workflow` (non-empty) with `workflow_data`, a JSON object (NULL: {}). */
int oi_agent_start_workflow(oi_store *store, const char *agent_id, const char *workflow,
                            const char *workflow_data, oi_agent_state *out);
int oi_agent_finish_workflow(oi_store *store, const char *agent_id, oi_agent_state *out);

/** The severity of an error when none is given. */
#define OI_SEVERITY_DEFAULT "medium"

/**
 * Record an error: last_error becomes {"timestamp": now, "error": message,
 * "severity": severity}.  message is required; severity is one of low,
 * medium, high, critical (NULL: OI_SEVERITY_DEFAULT).
 */
int oi_agent_record_error(oi_store *store, const char *agent_id, const char *message,
                          const char *severity, oi_agent_state *out);
int oi_agent_recover(oi_store *store, const char *agent_id, oi_agent_state *out);

/* ---- resource locks ----------------------------------------------------- */

/** TTL of a lock when none is given: 5 minutes. */
#define OI_LOCK_TTL_DEFAULT (5 * 60 * INT64_C(1000000))
/** The longest TTL accepted: 366 days. */
#define OI_LOCK_TTL_MAX (366 * 86400 * INT64_C(1000000))
/** The longest resource name, in bytes. */
#define OI_RESOURCE_MAX 255

/** A lock, as the table resource_locks holds it and the caller's clock judges it. */
typedef struct oi_lock {
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
} oi_lock;

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
 * *out (if not NULL) receives the lock as it now stands: the agent's on
 * success, the holder's on OI_EHELD; free it with oi_lock_clear().
 * OI_ENOTFOUND if there is no such agent.
 */
int oi_lock_acquire(oi_store *store, const char *agent_id, const char *resource, int64_t ttl,
                    int64_t stale_after, oi_lock *out);

/**
 * Release the agent's lock on `resource` (expired or not), and rewrite its
 * agent_states.resource_locks.  OI_ENOTFOUND if the agent does not hold it
 * (the message says who does, if anyone).
 */
int oi_lock_release(oi_store *store, const char *agent_id, const char *resource);

/**
 * The locks (of one agent, or every lock when agent_id is NULL), by
 * resource in byte order, with expired and holder_stale judged now against
 * stale_after (0: OI_STALE_AFTER_DEFAULT).  Expired locks stay listed until
 * they are released or taken over.  Free with oi_lock_list_free().
 */
int oi_lock_list(oi_store *store, const char *agent_id, int64_t stale_after, oi_lock **items,
                 size_t *count);
void oi_lock_clear(oi_lock *lock);
void oi_lock_list_free(oi_lock *items, size_t count);

#ifdef __cplusplus
}
#endif
#endif
