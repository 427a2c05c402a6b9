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
 *
 * A beat may carry the agent's status and metadata (oi_heartbeat_options).
 * They are set by the statement that writes agents.last_heartbeat, each as
 * COALESCE($new, stored), so a plain beat binds two NULLs and runs the
 * same two cached statements: no extra round trip, one code path.
 */
#include <string.h>
#include "iter.h"
#include "runtime.h"

static const char beat_agent_sql[] =
    "UPDATE agents SET last_heartbeat = CASE WHEN last_heartbeat > $2 THEN last_heartbeat "
    "ELSE $2 END, status = COALESCE($3, status), metadata = COALESCE($4, metadata), "
    "updated_at = $2 WHERE id = $1 RETURNING id";

static const char beat_state_sql[] =
    "INSERT INTO agent_states (agent_id, last_heartbeat, created_at, updated_at) "
    "VALUES ($1, $2, $2, $2) ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = "
    "CASE WHEN agent_states.last_heartbeat > excluded.last_heartbeat "
    "THEN agent_states.last_heartbeat ELSE excluded.last_heartbeat END, "
    "updated_at = excluded.updated_at";

/* The statements are cached under their arrays' addresses: hashing the
 * texts (~250 bytes each) to find them again was 1% of a beat's CPU. */
static char *beat_sql(const void *sql, uint64_t variant)
{
    (void)variant;
    return oi_strdup(sql);
}

/* Runs a cached statement binding (agent id, time, then the texts of
 * `report`, NULL for none); OI_ROW, OI_DONE or an error.  The time comes
 * formatted, once for both statements: formatting it was 2% of a beat. */
static int run_beat(oi_store *s, const char *sql, const char *agent_id, const char *at,
                    const oi_heartbeat_options *report)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached_by(s, sql, 0, beat_sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, at);
    if (rc == OI_OK && report)
        rc = oi_bind_text(st, 3, report->status);
    if (rc == OI_OK && report)
        rc = oi_bind_text(st, 4, report->metadata);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc;
}

int oi_heartbeat_options_init(oi_heartbeat_options *opts, unsigned int version)
{
    return oi_struct_init(opts, sizeof *opts, "oi_heartbeat_options", version,
                          OI_HEARTBEAT_OPTIONS_VERSION) ? OI_EINVALID : OI_OK;
}

/* What a beat reports, checked before anything is written. */
static int check_report(oi_store *s, const oi_heartbeat_options *opts)
{
    int rc = oi_check_version(s, "oi_heartbeat_options", opts->version,
                              OI_HEARTBEAT_OPTIONS_VERSION);
    if (rc == OI_OK && opts->status) {
        rc = oi_rt_check_text(s, "a heartbeat status", opts->status, OI_KIND_NAME);
        if (rc == OI_OK && strlen(opts->status) > OI_HEARTBEAT_STATUS_MAX)
            rc = oi_fail(s, OI_EINVALID, "a heartbeat status may be at most %d bytes long",
                         OI_HEARTBEAT_STATUS_MAX);
    }
    if (rc == OI_OK && opts->metadata)
        rc = oi_json_check(s, "heartbeat metadata", opts->metadata, 'o');
    return rc;
}

int oi_agent_heartbeat_with(oi_store *s, const char *agent_id, const oi_heartbeat_options *opts,
                            oi_time *at)
{
    static const oi_heartbeat_options nothing = OI_HEARTBEAT_OPTIONS_INIT;
    oi_time now = oi_time_now();
    char now_text[OI_TIME_BUFSZ];
    oi_time_format(now, now_text);
    int rc = opts ? check_report(s, opts) : OI_OK;
    if (rc == OI_OK)
        rc = oi_rt_require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = run_beat(s, beat_agent_sql, agent_id, now_text, opts ? opts : &nothing);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "no agent with id %s", agent_id);
    else if (rc == OI_ROW)
        rc = run_beat(s, beat_state_sql, agent_id, now_text, NULL);
    if (rc != OI_DONE) {
        oi_tx_rollback(s);
        return rc;
    }
    rc = oi_tx_commit(s);
    if (rc == OI_OK && at)
        *at = now;
    return rc;
}

int oi_agent_heartbeat(oi_store *s, const char *agent_id, oi_time *at)
{
    return oi_agent_heartbeat_with(s, agent_id, NULL, at);
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

/* The liveness rows an iterator yields. */
static const char liveness_tag[] = "agent liveness";

static int read_liveness(oi_iter *it, oi_stmt *st, void *rec)
{
    oi_agent_liveness *out = rec;
    (void)it;
    oi_agent_liveness_init(out, out->version);
    oi_col_uuid(st, 0, out->agent_id);
    out->name = oi_col_strdup(st, 1);
    out->type = oi_col_strdup(st, 2);
    out->last_heartbeat = oi_col_time(st, 3);
    out->health = out->last_heartbeat == OI_TIME_NULL ? OI_HEALTH_NEVER_SEEN : OI_HEALTH_STALE;
    return OI_OK;
}

/* Agents never seen or last seen before $1, by name and type in byte order. */
static const oi_iter_query stale_query = {
    "agent liveness", liveness_tag, read_liveness, 4,
    {"name COLLATE \"C\"", "type COLLATE \"C\""}, 2, 0, false, NULL};

int oi_agent_stale_iter_new(oi_iter **out, oi_store *s, int64_t older_than)
{
    *out = NULL;
    int rc = oi_rt_positive_or_default(s, "the stale age", older_than, OI_STALE_AFTER_DEFAULT,
                                    &older_than);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &stale_query,
                       oi_sprintf("SELECT id, name, type, beat, name, type FROM (SELECT a.id, "
                                  "a.name, a.type, %s AS beat FROM agents a LEFT JOIN "
                                  "agent_states s ON s.agent_id = a.id) b "
                                  "WHERE (beat IS NULL OR beat < $1)",
                                  RT_NEWEST_BEAT_SQL));
    oi_iter_param_time(*out, oi_rt_time_before(oi_time_now(), older_than));
    return OI_OK;
}

int oi_agent_liveness_next(oi_iter *it, oi_agent_liveness *out)
{
    return oi_struct_next(it, liveness_tag, "oi_agent_liveness", OI_AGENT_LIVENESS_VERSION, out);
}

int oi_agent_liveness_init(oi_agent_liveness *rec, unsigned int version)
{
    if (oi_struct_init(rec, sizeof *rec, "oi_agent_liveness", version, OI_AGENT_LIVENESS_VERSION))
        return OI_EINVALID;
    rec->last_heartbeat = OI_TIME_NULL;
    return OI_OK;
}

void oi_agent_liveness_clear(oi_agent_liveness *rec)
{
    if (!rec || oi_check_version(NULL, "oi_agent_liveness", rec->version,
                                 OI_AGENT_LIVENESS_VERSION))
        return;
    free(rec->name);
    free(rec->type);
    oi_agent_liveness_init(rec, rec->version);
}
