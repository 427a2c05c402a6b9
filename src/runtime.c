/*
 * runtime.c - what heartbeat.c, transitions.c and locks.c share.
 *
 * Argument checks, so that every runtime call refuses the same inputs with
 * the same words on both backends (the value layer, value.c: PostgreSQL
 * would refuse text that is not UTF-8, SQLite would store it), and the one statement that more than
 * one of them runs on an agent's state row: make it if missing and lock
 * it.  The lock is what keeps agent_states.resource_locks true on
 * PostgreSQL: a writer that locks the row before reading the lock table
 * reads after every other writer of that row has committed.  (On SQLite
 * every write transaction already excludes the others.)
 */
#include <string.h>
#include "runtime.h"
#include "value.h"

int oi_rt_require_agent_id(oi_store *s, const char *agent_id)
{
    if (oi_uuid_valid(agent_id))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", agent_id ? agent_id : "");
}

int oi_rt_positive_or_default(oi_store *s, const char *what, int64_t given, int64_t fallback,
                              int64_t *out)
{
    if (given < 0)
        return oi_fail(s, OI_EINVALID, "%s must not be negative", what);
    *out = given ? given : fallback;
    return OI_OK;
}

oi_time oi_rt_time_before(oi_time now, int64_t span)
{
    /* No earlier than the first valid time (and no overflow near INT64_MIN). */
    return span < now - OI_TIME_MIN ? now - span : OI_TIME_MIN;
}

int oi_rt_check_text(oi_store *s, const char *what, const char *text, oi_kind kind)
{
    if (!text || !*text)
        return oi_fail(s, OI_EINVALID, "%s is required", what);
    return oi_value_require_str(s, kind, what, text);
}

int oi_rt_agent_exists(oi_store *s, const char *agent_id)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT 1 FROM agents WHERE id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "no agent with id %s", agent_id);
    else if (rc == OI_ROW)
        rc = OI_OK;
    if (st)
        oi_reset(st);
    return rc;
}

/* On a conflict, DO UPDATE locks the existing row even though its WHERE
 * lets nothing be updated (PostgreSQL's documented behaviour): the row is
 * locked without being written, so no updated_at trigger fires. */
static const char lock_state_sql[] =
    "INSERT INTO agent_states (agent_id) SELECT id FROM agents WHERE id = $1 "
    "ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status WHERE false";

int oi_rt_lock_state(oi_store *s, const char *agent_id)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, lock_state_sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}
