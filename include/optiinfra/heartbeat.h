/*
 * optiinfra/heartbeat.h - heartbeats and the liveness they give.
 *
 * An agent proves it is alive by beating; an agent whose newest beat is
 * older than a threshold is stale, one that never beat is never seen.
 * Times are taken from the caller's clock (oi_time_now()) and passed to the
 * database as values, so both backends judge them alike; processes sharing
 * a database should keep their clocks in sync (NTP).  docs/runtime.md has
 * the rules.
 */
#ifndef OPTIINFRA_HEARTBEAT_H
#define OPTIINFRA_HEARTBEAT_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/** The longest status a heartbeat may report, in bytes. */
#define OI_HEARTBEAT_STATUS_MAX 64

/** The version of oi_heartbeat_options this header declares. */
#define OI_HEARTBEAT_OPTIONS_VERSION 1

/** What a heartbeat reports besides the beat itself. */
typedef struct oi_heartbeat_options {
    unsigned int version;  /**< OI_HEARTBEAT_OPTIONS_VERSION */
    const char *status;    /**< the new agents.status (1 to OI_HEARTBEAT_STATUS_MAX
                                bytes, no control characters); NULL: keep it */
    const char *metadata;  /**< a JSON object replacing agents.metadata; NULL: keep it */
} oi_heartbeat_options;

/** Options that report nothing besides the beat, of this header's version. */
#define OI_HEARTBEAT_OPTIONS_INIT {.version = OI_HEARTBEAT_OPTIONS_VERSION}

/** Make *opts empty options of `version`; OI_EINVALID if unknown. */
int oi_heartbeat_options_init(oi_heartbeat_options *opts, unsigned int version);

/**
 * oi_agent_heartbeat(), also setting the agent's status and metadata
 * (agents.status, agents.metadata) when opts gives them, in the same
 * transaction and the same statement as agents.last_heartbeat: the beat
 * and its report are recorded together or not at all.  opts NULL (or both
 * fields NULL) is oi_agent_heartbeat().  agent_states.status, the workflow
 * state (states.h), is not touched.  A status or metadata that is not
 * valid is OI_EINVALID, and nothing is written, not even the beat.
 */
int oi_agent_heartbeat_with(oi_store *store, const char *agent_id,
                            const oi_heartbeat_options *opts, oi_time *at);

/**
 * The health of an agent whose newest heartbeat is `last_heartbeat`
 * (OI_TIME_NULL: never), as of `now`: stale when now - last_heartbeat >
 * stale_after.  stale_after 0 (or negative) means OI_STALE_AFTER_DEFAULT.
 */
oi_health oi_agent_health(oi_time last_heartbeat, oi_time now, int64_t stale_after);

/** "healthy", "stale" or "never seen". */
const char *oi_health_name(oi_health health);

/** The version of oi_agent_liveness this header declares. */
#define OI_AGENT_LIVENESS_VERSION 1

/** One agent's liveness.  The newest heartbeat is the newer of
 *  agents.last_heartbeat and agent_states.last_heartbeat. */
typedef struct oi_agent_liveness {
    unsigned int version;   /**< OI_AGENT_LIVENESS_VERSION */
    oi_uuid agent_id;
    char *name;
    char *type;
    oi_time last_heartbeat; /**< OI_TIME_NULL: never seen */
    oi_health health;
} oi_agent_liveness;

/** An empty oi_agent_liveness of this header's version. */
#define OI_AGENT_LIVENESS_INIT \
    {.version = OI_AGENT_LIVENESS_VERSION, .last_heartbeat = OI_TIME_NULL}

/** Make *rec an empty oi_agent_liveness of `version`; OI_EINVALID if unknown. */
int oi_agent_liveness_init(oi_agent_liveness *rec, unsigned int version);

/**
 * An iterator over the agents whose newest heartbeat is older than
 * `older_than` microseconds before the iterator's creation, and those never
 * seen, by name then type (byte order); read with oi_agent_liveness_next().  older_than 0 means
 * OI_STALE_AFTER_DEFAULT; a negative one is OI_EINVALID.
 */
int oi_agent_stale_iter_new(oi_iter **out, oi_store *store, int64_t older_than);

/** The next row of a stale-agents iterator into *out: OI_OK, OI_ITEROVER or a failure. */
int oi_agent_liveness_next(oi_iter *iter, oi_agent_liveness *out);

/** Free the strings of rec and make it empty again, keeping its version. */
void oi_agent_liveness_clear(oi_agent_liveness *rec);

#ifdef __cplusplus
}
#endif
#endif
