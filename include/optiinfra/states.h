/*
 * optiinfra/states.h - the state machine of an agent's workflow.
 *
 * agent_states.status moves as follows (docs/runtime.md has the table):
 *
 *   start   idle               -> active  current_workflow, workflow_data set
 *   finish  active             -> idle    workflow cleared, workflow_data {}
 *   error   idle|active|error  -> error   error_count + 1, last_error set;
 *                                         the workflow is kept, to show what failed
 *   recover error              -> idle    workflow cleared; error_count and
 *                                         last_error kept
 *
 * An agent without a state row is idle.  Any other move, or a status
 * outside these three (written by other means), is refused with OI_ESTATE
 * and a message naming the current and the required status; OI_ENOTFOUND
 * if there is no such agent.  Each move is one guarded UPDATE, so two
 * concurrent movers never both succeed and no error is lost from the count.
 * On success the agent's new state is read into *out, if not NULL (an
 * initialised record; free it with oi_agent_state_clear()).
 */
#ifndef OPTIINFRA_STATES_H
#define OPTIINFRA_STATES_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The severity of an error when none is given. */
#define OI_SEVERITY_DEFAULT "medium"

/** Start `workflow` (non-empty) with `workflow_data`, a JSON object (NULL: {}). */
int oi_agent_start_workflow(oi_store *store, const char *agent_id, const char *workflow,
                            const char *workflow_data, oi_agent_state *out);

/** Finish the running workflow: active -> idle. */
int oi_agent_finish_workflow(oi_store *store, const char *agent_id, oi_agent_state *out);

/**
 * Record an error: last_error becomes {"timestamp": now, "error": message,
 * "severity": severity}.  message is required; severity is one of low,
 * medium, high, critical (NULL: OI_SEVERITY_DEFAULT).
 */
int oi_agent_record_error(oi_store *store, const char *agent_id, const char *message,
                          const char *severity, oi_agent_state *out);

/** Recover from an error: error -> idle. */
int oi_agent_recover(oi_store *store, const char *agent_id, oi_agent_state *out);

#ifdef __cplusplus
}
#endif
#endif
