/*
 * locks.c - views of resource locks: a lock with its holder and its
 * liveness, and the outcome of the acquisition that returned it.
 *
 * A lock carries three judgements the library made when it read the row
 * (expired, holder_stale) and one the view derives (live: neither); the
 * seconds until expiry are counted from the caller's `now`, so that a list
 * of locks is judged against one instant.
 */
#include <string.h>
#include "views.h"

json_t *view_lock(const oi_lock *lock, oi_time now)
{
    json_int_t expires_in = -((now - lock->expires_at) / 1000000);
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:b, s:b, s:I}",
                     "resource", view_string(lock->resource), "agent_id", lock->agent_id,
                     "agent", view_string(lock->agent_name),
                     "previous_agent_id",
                     view_string(lock->previous_agent_id[0] ? lock->previous_agent_id : NULL),
                     "acquired_at", view_time(lock->acquired_at),
                     "expires_at", view_time(lock->expires_at),
                     "holder_heartbeat", view_time(lock->holder_heartbeat),
                     "expires_in_seconds", expires_in,
                     "expired", lock->expired, "holder_stale", lock->holder_stale,
                     "live", !lock->expired && !lock->holder_stale,
                     "fence", (json_int_t)lock->fence);
}

const char *view_lock_outcome(const oi_lock *lock)
{
    if (!lock->previous_agent_id[0])
        return "acquired";
    return strcmp(lock->previous_agent_id, lock->agent_id) == 0 ? "renewed" : "taken over";
}

json_t *view_lock_acquired(const oi_lock *lock, oi_time now)
{
    return view_set(view_lock(lock, now), "outcome", json_string(view_lock_outcome(lock)));
}
