/*
 * optiinfra/recommendations.h - recommendations and their approvals.
 *
 * The orchestrator walks the agents' recommendations through their
 * lifecycle, each approval or rejection leaving an approval record that
 * says who decided and why.  A recommendation's status follows this state
 * machine (docs/orchestration.md):
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
 * the loser gets OI_ESTATE (OI_EBUSY if the database itself reports the
 * conflict) and a message naming the current and the
 * requested status.  rejected and rolled_back are final.
 */
#ifndef OPTIINFRA_RECOMMENDATIONS_H
#define OPTIINFRA_RECOMMENDATIONS_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/**
 * Reject a pending recommendation: as oi_recommendation_approve(), with
 * status rejected and approved_at left NULL.
 */
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
 * An iterator over the customer's recommendations, newest first; status
 * NULL for all of them, else only those in that status (OI_EINVALID if it
 * is not one); read with oi_recommendation_next().
 */
int oi_recommendation_iter_by_customer(oi_iter **out, oi_store *store, const char *customer_id,
                                       const char *status);

/**
 * An iterator over every customer's recommendations, newest first (since
 * 1.7); status NULL for all of them, else only those in that status
 * (OI_EINVALID if it is not one); read with oi_recommendation_next().
 */
int oi_recommendation_iter(oi_iter **out, oi_store *store, const char *status);

/**
 * An iterator over the approvals of a recommendation, oldest first; read
 * with oi_approval_next().
 */
int oi_approval_iter_by_recommendation(oi_iter **out, oi_store *store,
                                       const char *recommendation_id);

#ifdef __cplusplus
}
#endif
#endif
