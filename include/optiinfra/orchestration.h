/*
 * optiinfra/orchestration.h - events, recommendations and approvals as the
 * orchestrator uses them.
 *
 * The orchestrator records what happens to a customer (events), reads a
 * customer's recent events, and walks the agents' recommendations through
 * their lifecycle, each approval or rejection leaving an approval record
 * that says who decided and why.
 *
 * A recommendation's status follows this state machine (docs/orchestration.md):
 *
 *   pending --approve--> approved --> executing --> completed --> rolled_back
 *      |                                  |                          ^
 *      +--reject--> rejected              +--> failed ---------------+
 *
 *   pending   -> approved | rejected   only by oi_recommendation_approve/_reject,
 *                                      which also write an approvals row
 *   approved  -> executing             sets executed_at
 *   executing -> completed | failed
 *   completed | failed -> rolled_back
 *
 * Every move is one atomic step that checks the current status in the same
 * statement that changes it, so two concurrent movers never both succeed:
 * the loser gets OI_ESTATE and a message naming the current and the
 * requested status.  rejected and rolled_back are final.
 */
#ifndef OPTIINFRA_ORCHESTRATION_H
#define OPTIINFRA_ORCHESTRATION_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The customer named by `ref`: a UUID is taken as an id, anything else as
 * an email (compared exactly).  OI_ENOTFOUND if there is none.
 */
int oi_customer_lookup(oi_store *store, const char *ref, oi_customer *out);

/* ---- events ------------------------------------------------------------ */

/**
 * Record an event: oi_event_create() that first makes sure the customer
 * (and the agent, when agent_id is set) exist, so that an unknown one is
 * OI_ENOTFOUND with a message naming it rather than a foreign-key failure.
 * severity defaults to info, data to {}; id and created_at are written back
 * into ev.  One read of the references, then one INSERT: nothing is written
 * on failure.  (A customer deleted between the two still makes the INSERT
 * fail, with OI_ECONSTRAINT.)
 */
int oi_event_record(oi_store *store, oi_event *ev);

/** Which of a customer's events to list; zero-initialise and fill. */
typedef struct oi_event_filter {
    const char *customer_id;  /**< required */
    const char *min_severity; /**< NULL: any; else this severity or a worse one
                                   (info < warning < error < critical) */
    const char *event_type;   /**< NULL: any type */
    oi_time since;            /**< inclusive; OI_TIME_NULL: no lower bound */
    size_t limit;             /**< 0: no limit */
} oi_event_filter;

/**
 * The customer's events matching f, newest first (created_at, then id,
 * descending), at most f->limit of them.  One SQL statement.  An unknown
 * customer has no events (an empty list, not an error).
 */
int oi_event_list_recent(oi_store *store, const oi_event_filter *f, oi_event **items,
                         size_t *count);

/* ---- recommendations and approvals --------------------------------------- */

/**
 * Approve a pending recommendation: in one transaction its status becomes
 * approved, approved_at and updated_at are set, and an approvals row
 * (status approved, approved_by, comment) is written.  approved_by is
 * required (who decides); comment may be NULL.  If `out` is not NULL it
 * receives the approvals row (release with oi_approval_clear()).
 * OI_ENOTFOUND for an unknown id; OI_ESTATE if the recommendation is not
 * pending (nothing is written).
 */
int oi_recommendation_approve(oi_store *store, const char *id, const char *approved_by,
                              const char *comment, oi_approval *out);

/** Reject a pending recommendation: as oi_recommendation_approve(), with
 *  status rejected and approved_at left NULL. */
int oi_recommendation_reject(oi_store *store, const char *id, const char *approved_by,
                             const char *comment, oi_approval *out);

/**
 * Move a recommendation to executing, completed, failed or rolled_back, as
 * the state machine above allows; moving to executing sets executed_at.
 * One UPDATE that checks the current status.  OI_ENOTFOUND for an unknown
 * id; OI_ESTATE for a move the current status does not allow; OI_EINVALID
 * for approved or rejected (use approve/reject, which record who decided)
 * and for a word that is not a status.
 */
int oi_recommendation_move(oi_store *store, const char *id, const char *new_status);

/**
 * The customer's recommendations, newest first; status NULL for all of
 * them, else only those in that status (OI_EINVALID if it is not one).
 */
int oi_recommendation_list_by_customer(oi_store *store, const char *customer_id,
                                       const char *status, oi_recommendation **items,
                                       size_t *count);

/** The approvals of a recommendation, oldest first. */
int oi_approval_list_by_recommendation(oi_store *store, const char *recommendation_id,
                                       oi_approval **items, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
