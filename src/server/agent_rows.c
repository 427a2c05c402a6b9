/*
 * agent_rows.c - the rows of an agent list, for both route families that
 * list agents (/v1/agents and the Go registry's /agents).
 *
 * Agents come from a library iterator one at a time, so a list of any
 * length is read in constant memory; those the list leaves out (another
 * type, a filter of the route's) are skipped here, and each agent comes
 * with its state, read by the unique index on agent_states.agent_id.  The
 * stale-agents iterator yields liveness rows, not agents: each agent is
 * then read by its id.
 */
#include <string.h>
#include "server.h"

static int next_agent(srv_agent_rows *rows, oi_agent *a)
{
    if (!rows->by_liveness)
        return oi_agent_next(rows->iter, a);
    oi_agent_liveness live = OI_AGENT_LIVENESS_INIT;
    int rc = oi_agent_liveness_next(rows->iter, &live);
    if (rc == OI_OK)
        rc = oi_agent_get(rows->store, live.agent_id, a);
    oi_agent_liveness_clear(&live);
    return rc;
}

static bool kept(const srv_agent_rows *rows, const oi_agent *a)
{
    if (rows->type && strcmp(a->type, rows->type) != 0)
        return false;
    return !rows->keep || rows->keep(a);
}

int srv_agent_rows_next(srv_agent_rows *rows, oi_agent *a, oi_agent_state *s, bool *has_state)
{
    int rc;
    while ((rc = next_agent(rows, a)) == OI_OK && !kept(rows, a))
        oi_agent_clear(a);
    if (rc != OI_OK)
        return rc;
    rc = oi_agent_state_find(rows->store, a->id, s);
    *has_state = rc == OI_OK;
    return rc == OI_ENOTFOUND ? OI_OK : rc;
}
