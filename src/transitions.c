/*
 * transitions.c - the state machine of agent_states.status.
 *
 *   start   idle               -> active
 *   finish  active             -> idle
 *   error   idle|active|error  -> error   (error_count + 1)
 *   recover error              -> idle
 *
 * Each transition is one UPDATE whose WHERE names the statuses it may
 * start from, so the check and the change are one atomic step: two
 * concurrent starts cannot both see "idle" (on PostgreSQL the second waits
 * for the first's row lock and then re-checks its WHERE against the new
 * row), and error_count = error_count + 1 never loses an increment.  When
 * no row comes back, a second read says why, for the message only.
 *
 * The transitions are data (a table of SQL and words), run by one
 * function.  An agent without a state row is idle: the transaction first
 * gives it one (oi_rt_lock_state), and rolls it back with a refused move.
 */
#include <jansson.h>
#include <string.h>
#include "runtime.h"
#include "value.h"

typedef struct transition {
    const char *doing;   /* for messages: "cannot <doing>: ..." */
    const char *needs;   /* the statuses it starts from, in words */
    const char *sql;     /* $1 agent id, $2 now, then the transition's own values */
} transition;

static const transition start_tr = {
    "start a workflow", "idle",
    "UPDATE agent_states SET status = 'active', current_workflow = $3, workflow_data = $4, "
    "updated_at = $2 WHERE agent_id = $1 AND status = 'idle' RETURNING id"
};

static const transition finish_tr = {
    "finish the workflow", "active",
    "UPDATE agent_states SET status = 'idle', current_workflow = NULL, workflow_data = '{}', "
    "updated_at = $2 WHERE agent_id = $1 AND status = 'active' RETURNING id"
};

static const transition error_tr = {
    "record an error", "idle, active or error",
    "UPDATE agent_states SET status = 'error', error_count = error_count + 1, last_error = $3, "
    "updated_at = $2 WHERE agent_id = $1 AND status IN ('idle', 'active', 'error') RETURNING id"
};

static const transition recover_tr = {
    "recover", "error",
    "UPDATE agent_states SET status = 'idle', current_workflow = NULL, workflow_data = '{}', "
    "updated_at = $2 WHERE agent_id = $1 AND status = 'error' RETURNING id"
};

static const char *const severities[] = { "low", "medium", "high", "critical", NULL };

/* The move was refused: say what the agent is, or that it does not exist. */
static int refuse(oi_store *s, const transition *t, const char *agent_id)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT a.name, st.status, st.current_workflow FROM agents a "
                            "JOIN agent_states st ON st.agent_id = a.id WHERE a.id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ENOTFOUND, "no agent with id %s", agent_id);
    } else if (rc == OI_ROW) {
        const char *workflow = oi_col_text(st, 2);
        rc = oi_fail(s, OI_ESTATE, "cannot %s: agent '%s' is %s%s%s%s, not %s", t->doing,
                     oi_col_text(st, 0), oi_col_text(st, 1), workflow ? " (workflow '" : "",
                     workflow ? workflow : "", workflow ? "')" : "", t->needs);
    }
    if (st)
        oi_reset(st);
    return rc;
}

/* The UPDATE itself: OI_ROW when the move was made, OI_DONE when refused. */
static int apply(oi_store *s, const transition *t, const char *agent_id, oi_time now,
                 const char *const *values, int nvalues)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, t->sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 2, now);
    for (int i = 0; rc == OI_OK && i < nvalues; i++)
        rc = oi_bind_text(st, 3 + i, values[i]);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc;
}

static int run(oi_store *s, const transition *t, const char *agent_id, oi_time now,
               const char *const *values, int nvalues, oi_agent_state *out)
{
    int rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = oi_rt_lock_state(s, agent_id);
    if (rc == OI_OK)
        rc = apply(s, t, agent_id, now, values, nvalues);
    if (rc == OI_DONE)
        rc = refuse(s, t, agent_id);
    else if (rc == OI_ROW)
        rc = OI_OK;
    if (rc == OI_OK)
        rc = oi_tx_commit(s);
    else
        oi_tx_rollback(s);
    /* read after the commit: on PostgreSQL the revision moves at the commit */
    if (rc == OI_OK && out) {
        oi_read_pin(s); /* what was just written: the primary's (replica.c) */
        rc = oi_agent_state_find(s, agent_id, out);
        oi_read_unpin(s);
    }
    if (rc && out)
        oi_agent_state_clear(out);
    return rc;
}

/* `checked`: the result of the caller's own checks of its values. */
static int transition_to(oi_store *s, int checked, const transition *t, const char *agent_id,
                         oi_time now, const char *const *values, int nvalues,
                         oi_agent_state *out)
{
    int rc = oi_row_out(s, &oi_table_agent_states, out);
    if (rc)
        return rc;
    if (checked == OI_OK)
        checked = oi_rt_require_agent_id(s, agent_id);
    return checked ? checked : run(s, t, agent_id, now, values, nvalues, out);
}

int oi_agent_start_workflow(oi_store *s, const char *agent_id, const char *workflow,
                            const char *workflow_data, oi_agent_state *out)
{
    const char *values[] = { workflow, workflow_data ? workflow_data : "{}" };
    int rc = oi_rt_check_text(s, "a workflow name", workflow, OI_KIND_NAME);
    if (rc == OI_OK)
        rc = oi_json_check(s, "workflow data", values[1], 'o');
    return transition_to(s, rc, &start_tr, agent_id, oi_time_now(), values, 2, out);
}

int oi_agent_finish_workflow(oi_store *s, const char *agent_id, oi_agent_state *out)
{
    return transition_to(s, OI_OK, &finish_tr, agent_id, oi_time_now(), NULL, 0, out);
}

static int check_severity(oi_store *s, const char *severity)
{
    int rc = oi_value_require_str(s, OI_KIND_NAME, "severity", severity); /* echoed below */
    if (rc)
        return rc;
    for (const char *const *w = severities; *w; w++)
        if (strcmp(*w, severity) == 0)
            return OI_OK;
    return oi_fail(s, OI_EINVALID, "severity '%.40s' is not one of: low, medium, high, critical",
                   severity);
}

/* {"timestamp": ..., "error": ..., "severity": ...}, compact; free() it. */
static char *last_error_json(const char *message, const char *severity, oi_time now)
{
    char when[OI_TIME_BUFSZ];
    json_t *v = json_pack("{s:s, s:s, s:s}", "timestamp", oi_time_format(now, when),
                          "error", message, "severity", severity);
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!text)
        oi_oom(0); /* the inputs were checked: only memory can fail here */
    return text;
}

int oi_agent_record_error(oi_store *s, const char *agent_id, const char *message,
                          const char *severity, oi_agent_state *out)
{
    oi_time now = oi_time_now();
    if (!severity)
        severity = OI_SEVERITY_DEFAULT;
    int rc = oi_rt_check_text(s, "an error message", message, OI_KIND_TEXT);
    if (rc == OI_OK)
        rc = check_severity(s, severity);
    char *last_error = rc == OI_OK ? last_error_json(message, severity, now) : NULL;
    const char *values[] = { last_error };
    rc = transition_to(s, rc, &error_tr, agent_id, now, values, 1, out);
    free(last_error);
    return rc;
}

int oi_agent_recover(oi_store *s, const char *agent_id, oi_agent_state *out)
{
    return transition_to(s, OI_OK, &recover_tr, agent_id, oi_time_now(), NULL, 0, out);
}
