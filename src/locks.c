/*
 * locks.c - resource locks with real exclusion (table resource_locks, 003).
 *
 * The decision is one statement:
 *
 *   INSERT INTO resource_locks ... VALUES (resource, agent, now, now + ttl)
 *   ON CONFLICT (resource) DO UPDATE SET <the agent takes it>
 *   WHERE <held by that agent> OR <expired> OR <holder's heartbeat stale>
 *   RETURNING previous_agent_id
 *
 * The primary key on resource makes a second row impossible, and the
 * conflict path locks the existing row before judging it, so of two agents
 * racing for one resource exactly one gets a row back; the other gets none
 * and OI_EHELD.  That holds for any number of processes on either backend,
 * with no application-level retry.  "now" comes from C as a bound value,
 * so SQLite (fixed-width text) and PostgreSQL (timestamptz) compare the
 * same instants.
 *
 * agent_states.resource_locks is a copy of the table, kept in the same
 * transaction: after a change, each agent involved (the new holder and,
 * on a takeover, the previous one, which the statement returns) has its
 * list rewritten from the table, sorted by byte order so both backends
 * write the same text.  Agents are rewritten in id order, so two
 * transactions that touch the same two agents lock their state rows in
 * the same order and cannot deadlock.
 *
 * Fencing tokens (006): an acquisition that is not a renewal draws the next
 * number of lock_fence_seq and records it in lock_fences, which outlives
 * the lock, so a resource's newest token is known after a release too.
 * Tokens come from one counter for every resource, so a token alone names
 * its holding: oi_fence_check() needs no resource name.  Order of row
 * locks in an acquisition: the lock row (the upsert), the counter, the
 * resource's fence row, then state rows in id order; a release takes no
 * counter; nothing takes them in another order.
 *
 * Liveness: a holder whose newest heartbeat is older than stale_after has
 * lost the lock, and its resource can be taken once lock_delay has also
 * passed (both judged by the caller, with now from C, as TTLs are).  A
 * holder that is deleted loses its lock rows by ON DELETE CASCADE, and a
 * trigger (006) sets its resources' free_at to the deletion plus the
 * lock's own lock_delay: until then an acquisition is refused.
 */
#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include "iter.h"
#include "runtime.h"

static const char upsert_sql[] =
    "INSERT INTO resource_locks (resource, agent_id, acquired_at, expires_at, lock_delay) "
    "VALUES ($1, $2, $3, $4, $6) ON CONFLICT (resource) DO UPDATE SET "
    "agent_id = excluded.agent_id, previous_agent_id = resource_locks.agent_id, "
    "acquired_at = CASE WHEN resource_locks.agent_id = excluded.agent_id "
    "THEN resource_locks.acquired_at ELSE excluded.acquired_at END, "
    "expires_at = excluded.expires_at, lock_delay = excluded.lock_delay "
    "WHERE resource_locks.agent_id = excluded.agent_id "
    "OR resource_locks.expires_at <= excluded.acquired_at "
    "OR (SELECT " RT_NEWEST_BEAT_SQL " FROM agents a LEFT JOIN agent_states s "
    "ON s.agent_id = a.id WHERE a.id = resource_locks.agent_id) < $5 "
    "RETURNING previous_agent_id";

#define LOCK_COLUMNS                                                             \
    "SELECT l.resource, l.agent_id, a.name, l.previous_agent_id, l.acquired_at, " \
    "l.expires_at, " RT_NEWEST_BEAT_SQL ", f.fence"
#define LOCK_FROM                                                                \
    " FROM resource_locks l JOIN agents a ON a.id = l.agent_id "                 \
    "LEFT JOIN agent_states s ON s.agent_id = l.agent_id "                       \
    "LEFT JOIN lock_fences f ON f.resource = l.resource "
#define LOCK_SELECT LOCK_COLUMNS LOCK_FROM

/* ---- checks ---------------------------------------------------------------- */

/* A name (values.h), whose limit is OI_RESOURCE_MAX. */
static int check_resource(oi_store *s, const char *resource)
{
    return oi_rt_check_text(s, "a resource name", resource, OI_KIND_NAME);
}

static int check_ttl(oi_store *s, int64_t ttl, int64_t *out)
{
    int rc = oi_rt_positive_or_default(s, "a lock TTL", ttl, OI_LOCK_TTL_DEFAULT, out);
    if (rc == OI_OK && *out > OI_LOCK_TTL_MAX)
        rc = oi_fail(s, OI_EINVALID, "a lock TTL may be at most 366 days");
    return rc;
}

/* ---- reading locks ------------------------------------------------------- */

/* expired and holder_stale are judged as acquire judges them. */
static void read_lock(oi_stmt *st, oi_lock *out, oi_time now, int64_t stale_after)
{
    oi_lock_init(out, out->version);
    out->resource = oi_col_strdup(st, 0);
    oi_col_uuid(st, 1, out->agent_id);
    out->agent_name = oi_col_strdup(st, 2);
    oi_col_uuid(st, 3, out->previous_agent_id);
    out->acquired_at = oi_col_time(st, 4);
    out->expires_at = oi_col_time(st, 5);
    out->holder_heartbeat = oi_col_time(st, 6);
    out->expired = out->expires_at <= now;
    out->holder_stale = oi_agent_health(out->holder_heartbeat, now, stale_after) ==
                        OI_HEALTH_STALE;
    if (out->version >= 2)
        out->fence = oi_col_int64(st, 7);
}

/* The lock on one resource into *out: OI_OK or OI_ENOTFOUND. */
static int find_lock(oi_store *s, const char *resource, oi_time now, int64_t stale_after,
                     oi_lock *out)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, LOCK_SELECT "WHERE l.resource = $1",
                            &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, resource);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        read_lock(st, out, now, stale_after);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ENOTFOUND, "resource '%s' is not locked", resource);
    }
    if (st)
        oi_reset(st);
    return rc;
}

/* The locks an iterator yields, by resource in byte order. */
static const char lock_tag[] = "lock";

static int read_lock_row(oi_iter *it, oi_stmt *st, void *out)
{
    read_lock(st, out, it->now, it->stale_after);
    return OI_OK;
}

static const oi_iter_query locks_query = {
    "lock", lock_tag, read_lock_row, 8, {"l.resource COLLATE \"C\""}, 1, 0, false, NULL};

int oi_lock_iter_new(oi_iter **out, oi_store *s, const char *agent_id, int64_t stale_after)
{
    *out = NULL;
    int rc = oi_rt_positive_or_default(s, "the stale age", stale_after, OI_STALE_AFTER_DEFAULT,
                                    &stale_after);
    if (rc == OI_OK && agent_id)
        rc = oi_rt_require_agent_id(s, agent_id);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &locks_query,
                       oi_strdup(agent_id ? LOCK_COLUMNS ", l.resource" LOCK_FROM
                                            "WHERE l.agent_id = $1"
                                          : LOCK_COLUMNS ", l.resource" LOCK_FROM "WHERE TRUE"));
    if (agent_id)
        oi_iter_param_uuid(*out, agent_id);
    (*out)->now = oi_time_now();
    (*out)->stale_after = stale_after;
    return OI_OK;
}

int oi_lock_next(oi_iter *it, oi_lock *out)
{
    return oi_struct_next(it, lock_tag, "oi_lock", OI_LOCK_VERSION, out);
}

/* The size of an oi_lock of `version`: version 1 ends before fence. */
static size_t lock_size(unsigned version)
{
    return version == 1 ? offsetof(oi_lock, fence) : sizeof(oi_lock);
}

int oi_lock_init(oi_lock *lock, unsigned int version)
{
    if (oi_struct_init(lock, lock_size(version), "oi_lock", version, OI_LOCK_VERSION))
        return OI_EINVALID;
    lock->acquired_at = lock->expires_at = lock->holder_heartbeat = OI_TIME_NULL;
    return OI_OK;
}

int oi_lock_options_init(oi_lock_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_lock_options", version,
                       OI_LOCK_OPTIONS_VERSION))
        return OI_EINVALID;
    opts->lock_delay = OI_LOCK_DELAY_DEFAULT;
    return OI_OK;
}

void oi_lock_clear(oi_lock *lock)
{
    if (!lock || oi_check_version(NULL, "oi_lock", lock->version, OI_LOCK_VERSION))
        return;
    free(lock->resource);
    free(lock->agent_name);
    oi_lock_init(lock, lock->version);
}

/* ---- agent_states.resource_locks ---------------------------------------- */

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The agent's resources as a JSON array in byte order; free() it. */
static char *resources_json(char **names, size_t n)
{
    if (n > 1)
        qsort(names, n, sizeof *names, by_text);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, json_string(names[i]));
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    if (!text)
        oi_oom(0); /* the names are valid UTF-8 (checked on the way in) */
    return text;
}

static int read_resources(oi_store *s, const char *agent_id, char **json)
{
    oi_stmt *st = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = oi_stmt_cached(s, "SELECT resource FROM resource_locks WHERE agent_id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        names = oi_grow(names, &cap, n, sizeof *names);
        names[n++] = oi_col_strdup(st, 0);
        rc = OI_OK;
    }
    if (st)
        oi_reset(st);
    if (rc == OI_DONE) {
        *json = resources_json(names, n);
        rc = OI_OK;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int write_resources(oi_store *s, const char *agent_id, const char *json, oi_time now)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "UPDATE agent_states SET resource_locks = $2, updated_at = $3 "
                            "WHERE agent_id = $1 AND resource_locks <> $2", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 2, json);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 3, now);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

/* Lock the state row first, then read: see oi_rt_lock_state(). */
static int rewrite_lock_list(oi_store *s, const char *agent_id, oi_time now)
{
    char *json = NULL;
    int rc = oi_rt_lock_state(s, agent_id);
    if (rc == OI_OK)
        rc = read_resources(s, agent_id, &json);
    if (rc == OI_OK)
        rc = write_resources(s, agent_id, json, now);
    free(json);
    return rc;
}

/* Both agents' lists, in id order; `other` may be "" or the same agent. */
static int rewrite_lock_lists(oi_store *s, const char *agent_id, const char *other, oi_time now)
{
    if (!*other || strcmp(other, agent_id) == 0)
        return rewrite_lock_list(s, agent_id, now);
    bool agent_first = strcmp(agent_id, other) < 0;
    int rc = rewrite_lock_list(s, agent_first ? agent_id : other, now);
    return rc ? rc : rewrite_lock_list(s, agent_first ? other : agent_id, now);
}

/* ---- acquire and release ------------------------------------------------- */

/* "90s", "1500ms": a threshold as a message shows it. */
static char *span_text(int64_t micros, char *buf, size_t size)
{
    if (micros % 1000000 == 0)
        snprintf(buf, size, "%llds", (long long)(micros / 1000000));
    else
        snprintf(buf, size, "%lldms", (long long)(micros / 1000));
    return buf;
}

static int held_by_other(oi_store *s, const char *resource, oi_time now, int64_t stale_after,
                         oi_lock *holder)
{
    char until[OI_TIME_BUFSZ], span[32];
    int rc = find_lock(s, resource, now, stale_after, holder);
    if (rc == OI_OK)
        rc = oi_fail(s, OI_EHELD,
                     "resource '%s' is held by agent '%s' (%s) until %s; it can be taken over "
                     "once that has passed or the holder's heartbeat is older than %s",
                     resource, holder->agent_name, holder->agent_id,
                     oi_time_format(holder->expires_at, until),
                     span_text(stale_after, span, sizeof span));
    return rc;
}

/* A lock request, checked: what try_acquire binds. */
typedef struct lock_request {
    const char *agent_id;
    const char *resource;
    oi_time now;
    int64_t ttl;
    int64_t stale_after;
    int64_t lock_delay;
} lock_request;

/* The upsert: OI_ROW with *previous filled when acquired, OI_DONE when held. */
static int try_acquire(oi_store *s, const lock_request *r, oi_uuid previous)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, upsert_sql, &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, r->resource);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 2, r->agent_id);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 3, r->now);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 4, r->now + r->ttl);
    if (rc == OI_OK) /* the holder lost it at beat + stale_after; free lock_delay later */
        rc = oi_bind_time(st, 5, oi_rt_time_before(oi_rt_time_before(r->now, r->stale_after),
                                                   r->lock_delay));
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 6, r->lock_delay);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW)
        oi_col_uuid(st, 0, previous);
    if (st)
        oi_reset(st);
    return rc;
}

/* The next number of the token counter into *fence. */
static int next_fence(oi_store *s, int64_t *fence)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "UPDATE lock_fence_seq SET last = last + 1 WHERE id = 1 "
                               "RETURNING last", &st);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW)
        *fence = oi_col_int64(st, 0);
    if (st)
        oi_reset(st);
    if (rc == OI_DONE)
        return oi_fail(s, OI_ERROR, "the fence counter lock_fence_seq has no row: run "
                       "`optiinfra validate`");
    return rc == OI_ROW ? OI_OK : rc;
}

/* A new holding of the resource gets the next token, and the resource's
 * lock-delay (if any) is over. */
static int issue_fence(oi_store *s, const char *resource)
{
    int64_t fence = 0;
    int rc = next_fence(s, &fence);
    if (rc)
        return rc;
    oi_stmt *st = NULL;
    rc = oi_stmt_cached(s, "INSERT INTO lock_fences (resource, fence) VALUES ($1, $2) "
                           "ON CONFLICT (resource) DO UPDATE SET fence = excluded.fence, "
                           "free_at = NULL", &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, resource);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 2, fence);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

/* OI_EHELD while a deregistered holder's lock-delay runs, else OI_OK. */
static int check_lock_delay(oi_store *s, const char *resource, oi_time now)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT free_at FROM lock_fences WHERE resource = $1 "
                               "AND free_at > $2", &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, resource);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 2, now);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        char until[OI_TIME_BUFSZ];
        oi_time_format(oi_col_time(st, 0), until);
        rc = oi_fail(s, OI_EHELD, "resource '%s' was freed when its holder was deregistered; "
                     "its lock-delay lets the old holder's work drain: it can be taken from %s",
                     resource, until);
    }
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static int acquire(oi_store *s, const lock_request *r, oi_lock *out)
{
    oi_uuid previous = "";
    int rc = oi_rt_agent_exists(s, r->agent_id);
    if (rc == OI_OK)
        rc = check_lock_delay(s, r->resource, r->now);
    if (rc == OI_OK)
        rc = try_acquire(s, r, previous);
    if (rc == OI_DONE)
        return held_by_other(s, r->resource, r->now, r->stale_after, out);
    if (rc == OI_ROW && strcmp(previous, r->agent_id) != 0)
        rc = issue_fence(s, r->resource);
    else if (rc == OI_ROW)
        rc = OI_OK; /* a renewal keeps its token */
    if (rc == OI_OK)
        rc = rewrite_lock_lists(s, r->agent_id, previous, r->now);
    if (rc == OI_OK)
        rc = find_lock(s, r->resource, r->now, r->stale_after, out);
    return rc;
}

int oi_rt_lock_claim(oi_store *s, const char *agent_id, const char *resource, oi_time now)
{
    lock_request r = {agent_id, resource, now, OI_LOCK_TTL_DEFAULT, OI_STALE_AFTER_DEFAULT,
                      OI_LOCK_DELAY_DEFAULT};
    oi_uuid previous = "";
    int rc = try_acquire(s, &r, previous);
    if (rc == OI_DONE)
        return oi_fail(s, OI_EHELD, "resource '%s' is held by another live agent: release it "
                       "(`optiinfra lock release`) or wait until its lock expires", resource);
    if (rc == OI_ROW && strcmp(previous, agent_id) != 0)
        return issue_fence(s, resource);
    return rc == OI_ROW ? OI_OK : rc;
}

/* The request of opts, checked, with the defaults filled in. */
static int lock_request_of(oi_store *s, const char *agent_id, const char *resource,
                           const oi_lock_options *opts, lock_request *r)
{
    static const oi_lock_options defaults = OI_LOCK_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    *r = (lock_request){agent_id, resource, oi_time_now(), 0, 0, opts->lock_delay};
    int rc = oi_check_version(s, "oi_lock_options", opts->version, OI_LOCK_OPTIONS_VERSION);
    if (rc == OI_OK)
        rc = oi_rt_require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = check_resource(s, resource);
    if (rc == OI_OK)
        rc = check_ttl(s, opts->ttl, &r->ttl);
    if (rc == OI_OK)
        rc = oi_rt_positive_or_default(s, "the stale age", opts->stale_after,
                                       OI_STALE_AFTER_DEFAULT, &r->stale_after);
    if (rc == OI_OK && (opts->lock_delay < 0 || opts->lock_delay > OI_LOCK_TTL_MAX))
        rc = oi_fail(s, OI_EINVALID, "a lock-delay must be between 0 and 366 days");
    return rc;
}

/* Give the caller's oi_lock (of its version) what `lock` holds. */
static void hand_over(oi_lock *out, oi_lock *lock)
{
    if (!out || oi_check_version(NULL, "oi_lock", out->version, OI_LOCK_VERSION)) {
        oi_lock_clear(lock);
        return;
    }
    unsigned version = out->version;
    memcpy(out, lock, lock_size(version));
    out->version = version;
}

int oi_lock_acquire_with(oi_store *s, const char *agent_id, const char *resource,
                         const oi_lock_options *opts, oi_lock *out)
{
    oi_lock lock = OI_LOCK_INIT;
    lock_request r;
    int rc = out ? oi_check_version(s, "oi_lock", out->version, OI_LOCK_VERSION) : OI_OK;
    if (rc == OI_OK)
        rc = lock_request_of(s, agent_id, resource, opts, &r);
    if (rc == OI_OK && (rc = oi_tx_begin(s, false)) == OI_OK) {
        rc = acquire(s, &r, &lock);
        if (rc == OI_OK)
            rc = oi_tx_commit(s);
        else
            oi_tx_rollback(s);
    }
    if (rc != OI_OK && rc != OI_EHELD)
        oi_lock_clear(&lock);
    hand_over(out, &lock);
    return rc;
}

int oi_lock_acquire(oi_store *s, const char *agent_id, const char *resource, int64_t ttl,
                    int64_t stale_after, oi_lock *out)
{
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    opts.ttl = ttl;
    opts.stale_after = stale_after;
    return oi_lock_acquire_with(s, agent_id, resource, &opts, out);
}

int oi_fence_check(oi_store *s, int64_t fence)
{
    oi_stmt *st = NULL;
    /* an update that changes nothing: on PostgreSQL it holds the token's row
     * until the caller's commit, so a takeover (which rewrites the row) waits;
     * on SQLite it makes the transaction a writer from here on */
    int rc = oi_stmt_cached(s, "UPDATE lock_fences SET fence = fence WHERE fence = $1 "
                               "RETURNING resource", &st);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 1, fence);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_DONE)
        return oi_fail(s, OI_ESTALE, "fencing token %lld is stale: the lock it came with has "
                       "been acquired again since (or it was never issued); acquire the lock "
                       "again and use its new token", (long long)fence);
    return rc == OI_ROW ? OI_OK : rc;
}

/* The agent does not hold the resource: say who does, if anyone. */
static int not_held(oi_store *s, const char *resource)
{
    oi_lock holder = OI_LOCK_INIT;
    int rc = find_lock(s, resource, oi_time_now(), OI_STALE_AFTER_DEFAULT, &holder);
    if (rc == OI_OK)
        rc = oi_fail(s, OI_ENOTFOUND, "cannot release '%s': it is held by another agent, "
                     "'%s' (%s)", resource, holder.agent_name, holder.agent_id);
    else if (rc == OI_ENOTFOUND)
        oi_fail(s, rc, "cannot release '%s': it is not locked", resource);
    oi_lock_clear(&holder);
    return rc;
}

static int release(oi_store *s, const char *agent_id, const char *resource)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "DELETE FROM resource_locks WHERE resource = $1 AND agent_id = $2 "
                            "RETURNING resource", &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, resource);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 2, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    if (rc == OI_DONE)
        return not_held(s, resource);
    return rc == OI_ROW ? rewrite_lock_list(s, agent_id, oi_time_now()) : rc;
}

int oi_lock_release(oi_store *s, const char *agent_id, const char *resource)
{
    int rc = oi_rt_require_agent_id(s, agent_id);
    if (rc == OI_OK)
        rc = check_resource(s, resource);
    if (rc == OI_OK && (rc = oi_tx_begin(s, false)) == OI_OK) {
        rc = release(s, agent_id, resource);
        if (rc == OI_OK)
            rc = oi_tx_commit(s);
        else
            oi_tx_rollback(s);
    }
    return rc;
}

/* ---- forfeiting every lock ------------------------------------------------- */

/* The agent's locks: their resources and lock-delays, collected before
 * anything is written (a statement's rows are not read while others run). */
typedef struct held_locks {
    char **resources;
    int64_t *delays;
    size_t n, cap, delays_cap;
} held_locks;

static int collect_held(oi_store *s, const char *agent_id, held_locks *h)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "SELECT resource, lock_delay FROM resource_locks "
                               "WHERE agent_id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        h->resources = oi_grow(h->resources, &h->cap, h->n, sizeof *h->resources);
        h->delays = oi_grow(h->delays, &h->delays_cap, h->n, sizeof *h->delays);
        h->resources[h->n] = oi_col_strdup(st, 0);
        h->delays[h->n++] = oi_col_int64(st, 1);
        rc = OI_OK;
    }
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static void free_held(held_locks *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->resources[i]);
    free(h->resources);
    free(h->delays);
}

/* The resource cannot be taken before free_at. */
static int delay_resource(oi_store *s, const char *resource, oi_time free_at)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "UPDATE lock_fences SET free_at = $2 WHERE resource = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_text(st, 1, resource);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 2, free_at);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static int delete_locks_of(oi_store *s, const char *agent_id)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "DELETE FROM resource_locks WHERE agent_id = $1", &st);
    if (rc == OI_OK)
        rc = oi_bind_uuid(st, 1, agent_id);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

/* Each resource gets its lock's lock-delay; then the locks go. */
static int forfeit(oi_store *s, const char *agent_id, oi_time now)
{
    held_locks held = {0};
    int rc = collect_held(s, agent_id, &held);
    for (size_t i = 0; rc == OI_OK && i < held.n; i++)
        rc = delay_resource(s, held.resources[i], now + held.delays[i]);
    free_held(&held);
    if (rc == OI_OK)
        rc = delete_locks_of(s, agent_id);
    return rc == OI_OK ? rewrite_lock_list(s, agent_id, now) : rc;
}

int oi_lock_forfeit(oi_store *s, const char *agent_id)
{
    int rc = oi_rt_require_agent_id(s, agent_id);
    if (rc == OI_OK && (rc = oi_tx_begin(s, false)) == OI_OK) {
        rc = oi_rt_agent_exists(s, agent_id);
        if (rc == OI_OK)
            rc = forfeit(s, agent_id, oi_time_now());
        if (rc == OI_OK)
            rc = oi_tx_commit(s);
        else
            oi_tx_rollback(s);
    }
    return rc;
}
