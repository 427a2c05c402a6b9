/*
 * heartbeat.c - heartbeats, and which agents have stopped sending them.
 *
 * A heartbeat lives in two columns, agents.last_heartbeat (0.2a) and
 * agent_states.last_heartbeat (0.2b); oi_agent_heartbeat() writes both in
 * one transaction, and liveness reads the newer of the two, so that a beat
 * written by another tool into either column still counts.
 *
 * A stored heartbeat only moves forward: "CASE WHEN stored > new THEN
 * stored ELSE new END" keeps the newer time when two beats of one agent
 * commit out of order (portable, where greatest() is not).  Health is
 * derived, never stored: it depends on the threshold the reader chooses.
 */
#include <string.h>
#include "runtime.h"

static const char beat_agent_sql[] =
    "UPDATE agents SET last_heartbeat = CASE WHEN last_heartbeat > $2 THEN last_heartbeat "
    "ELSE $2 END, updated_at = $2 WHERE id = $1 RETURNING id";

static const char beat_state_sql[] =
    "INSERT INTO agent_states (agent_id, last_heartbeat, created_at, updated_at) "
    "VALUES ($1, $2, $2, $2) ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = "
    "CASE WHEN agent_states.last_heartbeat > excluded.last_heartbeat "
    "THEN agent_states.last_heartbeat ELSE excluded.last_heartbeat END, "
    "updated_at = excluded.updated_at";

static const char stale_sql[] =
    "SELECT id, name, type, beat FROM (SELECT a.id, a.name, a.type, " RT_NEWEST_BEAT_SQL
    " AS beat FROM agents a LEFT JOIN agent_states s ON s.agent_id = a.id) b "
    "WHERE beat IS NULL OR beat < $1";

/* Runs a cached statement binding (agent id, time); OI_ROW, OI_DONE or an error. */
static int run_beat(oi_store *s, int slot, const char *sql, const char *agent_id, oi_time now)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, slot, sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 2, now);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc;
}

int oi_agent_heartbeat(oi_store *s, const char *agent_id, oi_time *at)
{
    oi_time now = oi_time_now();
    int rc = oi_rt_require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = run_beat(s, RT_SLOT_BEAT_AGENT, beat_agent_sql, agent_id, now);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "no agent with id %s", agent_id);
    else if (rc == OI_ROW)
        rc = run_beat(s, RT_SLOT_BEAT_STATE, beat_state_sql, agent_id, now);
    if (rc != OI_DONE) {
        oi_tx_rollback(s);
        return rc;
    }
    rc = oi_tx_commit(s);
    if (rc == OI_OK && at)
        *at = now;
    return rc;
}

oi_health oi_agent_health(oi_time last_heartbeat, oi_time now, int64_t stale_after)
{
    if (last_heartbeat == OI_TIME_NULL)
        return OI_HEALTH_NEVER_SEEN;
    if (stale_after <= 0)
        stale_after = OI_STALE_AFTER_DEFAULT;
    return now - last_heartbeat > stale_after ? OI_HEALTH_STALE : OI_HEALTH_HEALTHY;
}

const char *oi_health_name(oi_health health)
{
    switch (health) {
    case OI_HEALTH_HEALTHY: return "healthy";
    case OI_HEALTH_STALE: return "stale";
    default: return "never seen";
    }
}

static void read_liveness(oi_stmt *st, oi_agent_liveness *out)
{
    memset(out, 0, sizeof *out);
    oi_col_uuid(st, 0, out->agent_id);
    out->name = oi_col_strdup(st, 1);
    out->type = oi_col_strdup(st, 2);
    out->last_heartbeat = oi_col_time(st, 3);
    out->health = out->last_heartbeat == OI_TIME_NULL ? OI_HEALTH_NEVER_SEEN : OI_HEALTH_STALE;
}

/* Byte order, not the database's collation, so both backends list alike. */
static int by_name_and_type(const void *a, const void *b)
{
    const oi_agent_liveness *x = a, *y = b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : strcmp(x->type, y->type);
}

static int collect_liveness(oi_stmt *st, oi_agent_liveness **items, size_t *count)
{
    oi_agent_liveness *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = oi_step(st)) == OI_ROW) {
        rows = oi_grow(rows, &cap, n, sizeof *rows);
        read_liveness(st, &rows[n++]);
    }
    oi_reset(st);
    if (rc != OI_DONE) {
        oi_agent_liveness_list_free(rows, n);
        return rc;
    }
    if (n > 1)
        qsort(rows, n, sizeof *rows, by_name_and_type);
    *items = rows;
    *count = n;
    return OI_OK;
}

int oi_agent_list_stale(oi_store *s, int64_t older_than, oi_agent_liveness **items,
                        size_t *count)
{
    oi_stmt *st = NULL;
    *items = NULL;
    *count = 0;
    int rc = oi_rt_positive_or_default(s, "the stale age", older_than, OI_STALE_AFTER_DEFAULT,
                                       &older_than);
    if (rc == OI_OK)
        rc = oi_stmt_cached(s, RT_SLOT_STALE, stale_sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 1, oi_rt_time_before(oi_time_now(), older_than));
    return rc ? rc : collect_liveness(st, items, count);
}

void oi_agent_liveness_list_free(oi_agent_liveness *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(items[i].name);
        free(items[i].type);
    }
    free(items);
}
