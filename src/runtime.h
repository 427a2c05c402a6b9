/*
 * runtime.h - what heartbeat.c, transitions.c and locks.c share.
 *
 * The SQL expression of an agent's newest heartbeat, and the helpers of
 * runtime.c that check arguments and make, read or lock an agent's state row.
 */
#ifndef OI_RUNTIME_H
#define OI_RUNTIME_H

#include "table.h"

/*
 * The newest heartbeat of agent `a` with state row `s` (LEFT JOINed): the
 * newer of agents.last_heartbeat and agent_states.last_heartbeat, NULL when
 * neither was ever set.  Written with CASE because PostgreSQL's greatest()
 * and SQLite's max(x, y) treat NULL differently.
 */
#define RT_NEWEST_BEAT_SQL                                                     \
    "CASE WHEN s.last_heartbeat IS NULL OR a.last_heartbeat >= s.last_heartbeat " \
    "THEN a.last_heartbeat ELSE s.last_heartbeat END"

/* OI_OK, or OI_EINVALID naming what is not a UUID. */
int oi_rt_require_agent_id(oi_store *s, const char *agent_id);

/* 0 -> the default; negative -> OI_EINVALID naming `what`. */
int oi_rt_positive_or_default(oi_store *s, const char *what, int64_t given, int64_t fallback,
                              int64_t *out);

/* now - span, kept after the epoch (a huge span means "since ever"). */
oi_time oi_rt_time_before(oi_time now, int64_t span);

/* Text given by the caller: present, non-empty, and a value of `kind`
 * (values.h: a name is one line).  `what` names it. */
int oi_rt_check_text(oi_store *s, const char *what, const char *text, oi_kind kind);

/* OI_OK when the agent exists, else OI_ENOTFOUND with a message. */
int oi_rt_agent_exists(oi_store *s, const char *agent_id);

/*
 * Give the agent a state row (status idle) if it has none, else lock its
 * row until the transaction ends, without writing it.  Callers lock before
 * reading what they will write into the row: on PostgreSQL a concurrent
 * writer of the same row then waits, and reads after our commit.  A
 * missing agent is not an error here: no row is made, and the caller's
 * next statement finds nothing.
 */
int oi_rt_lock_state(oi_store *s, const char *agent_id);

/*
 * Take the lock of `resource` for the agent for the default TTL, as
 * oi_lock_acquire does, but without rewriting agent_states.resource_locks:
 * for the seed, whose state rows already list their resources in the
 * spec's order.  OI_OK, or OI_EHELD when another live agent holds it.
 */
int oi_rt_lock_claim(oi_store *s, const char *agent_id, const char *resource, oi_time now);

#endif
