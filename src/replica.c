/*
 * replica.c - a store's read replica: which calls read from it, and when
 * it cannot serve them.
 *
 * A store opened with a read URL (oi_store_open_ext) holds a second store,
 * connected to a PostgreSQL hot standby of its primary.  Every routing
 * decision is made here, by oi_read_store(), from the store's state alone:
 * a read goes to the replica when it is made outside a transaction
 * (tx_depth 0), no call up the stack has pinned the primary (a write that
 * reads what it wrote, a read already running on the primary), the caller
 * has not switched the replica off (oi_store_use_replica), and the replica
 * is usable.  Writes never ask, so they run on the primary.  The read
 * entry points of the library call oi_read_route() (gets, finds, lookups),
 * the iterators call oi_read_store() at their first page (iter.c), and the
 * export does so once: the list is docs/scaling.md, "Read replicas".
 *
 * Usable means connected and, with a lag limit, measured within it.  The
 * lag is measured on the replica alone, one statement: 0 when it streams
 * from its primary and has replayed all the WAL it received, else the age
 * of the last transaction it replayed (pg_last_xact_replay_timestamp).  A
 * replica cut off from its primary (no WAL receiver: the primary is
 * unreachable from it, or it was told a wrong primary_conninfo) has
 * replayed everything it received and cannot know what it missed, so it
 * gets that age too: it stays usable only as long as its data is younger
 * than the limit.  A query of the primary's LSN as well would cost a
 * second round trip on another connection; the age is what an operator
 * sets a limit in.  It is measured at most every check_every
 * microseconds, so a read costs no statement in between.
 *
 * A read that finds the replica gone (OI_ECONNECT) marks it lost; the read
 * is run again on the primary when the store falls back and nothing of it
 * was handed out yet (an export that wrote rows is not).  A lost replica is
 * reconnected at the next check, once no iterator still reads from it (a
 * new connection would free statements an iterator holds).
 *
 * Errors land on the caller's store: a failure on the replica is copied
 * there, so oi_errmsg() of the store the caller holds says why.  The read
 * URL as given is kept, for reconnecting; only its redacted form is shown.
 */
#include <string.h>
#include <time.h>
#include "internal.h"

/* The replica's replay lag in microseconds (file comment), and whether it
 * streams from its primary.  A primary given as a read URL has no lag.
 * NULL: no transaction was replayed since the replica started while it has
 * WAL waiting or no primary, so its age is unknown.  pg_stat_wal_receiver
 * shows its row (the pid, the rest hidden from unprivileged roles) only
 * while the receiver is connected. */
#define LAG_SQL "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 " \
    "WHEN streaming AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM " \
    "pg_last_wal_replay_lsn() THEN 0 " \
    "ELSE (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) " \
    "* 1000000)::bigint END, streaming OR NOT pg_is_in_recovery() " \
    "FROM (SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS streaming) AS receiver"

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Connect (again) to the replica; a failure leaves it lost, saying why. */
int oi_replica_connect(oi_replica *rep)
{
    oi_store_close(rep->store);
    int rc = oi_store_open(&rep->store, rep->url);
    rep->lost = rc != OI_OK;
    rep->usable = false;
    if (rc)
        snprintf(rep->why, sizeof rep->why, "cannot be reached: %s", oi_errmsg(rep->store));
    return rc;
}

/* ---- checking -------------------------------------------------------- */

/* Why the replica may not serve (rep->why), from what LAG_SQL read. */
static void say_why_not(oi_replica *rep, bool unknown, int64_t lag, bool streaming)
{
    const char *state = streaming ? "has WAL it has not replayed"
                                  : "is not streaming from its primary (no WAL receiver)";
    if (unknown)
        snprintf(rep->why, sizeof rep->why, "%s and no replayed transaction to date its lag "
                 "by (replay paused or just started)", state);
    else if (streaming)
        snprintf(rep->why, sizeof rep->why, "is %.3f s behind the primary, more than the "
                 "%.3f s allowed", (double)lag / 1e6, (double)rep->max_lag / 1e6);
    else
        snprintf(rep->why, sizeof rep->why, "%s: its last replayed transaction is %.3f s old, "
                 "more than the %.3f s allowed", state, (double)lag / 1e6,
                 (double)rep->max_lag / 1e6);
}

static void measure_lag(oi_replica *rep)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(rep->store, LAG_SQL, &st);
    if (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        bool unknown = oi_col_null(st, 0);
        int64_t lag = unknown ? 0 : oi_col_int64(st, 0);
        rep->usable = !unknown && lag <= rep->max_lag;
        if (!rep->usable)
            say_why_not(rep, unknown, lag, oi_col_bool(st, 1));
        rc = OI_OK;
    }
    if (rc == OI_OK)
        return;
    rep->usable = false;
    rep->lost = rc == OI_ECONNECT;
    snprintf(rep->why, sizeof rep->why, "%s: %s", rep->lost ? "was lost" :
             "cannot say how far behind it is", oi_errmsg(rep->store));
}

static void check_replica(oi_replica *rep)
{
    rep->checked_at = monotonic_us();
    if (rep->lost && (rep->iterators > 0 || oi_replica_connect(rep) != OI_OK))
        return;
    if (rep->limit_lag)
        measure_lag(rep);
    else
        rep->usable = true;
}

static bool check_due(const oi_replica *rep)
{
    return rep->checked_at == 0 || monotonic_us() - rep->checked_at >= rep->check_every;
}

static int replica_failure(oi_store *s)
{
    return oi_fail(s, OI_ECONNECT, "the read replica %s %s; reads fail instead of going to the "
                   "primary (fallback: error)", oi_store_url(s->replica->store), s->replica->why);
}

/* ---- routing --------------------------------------------------------- */

int oi_read_store(oi_store *s, oi_store **r)
{
    oi_replica *rep = s->replica;
    *r = s;
    if (!rep || s->tx_depth > 0 || s->primary_pins > 0 || s->replica_off) {
        s->last_read = "primary";
        return OI_OK;
    }
    if (check_due(rep))
        check_replica(rep);
    if (rep->usable) {
        *r = rep->store;
        s->last_read = "replica";
        return OI_OK;
    }
    s->last_read = "primary";
    return rep->fallback == OI_REPLICA_USE_PRIMARY ? OI_OK : replica_failure(s);
}

int oi_store_reads_ready(oi_store *s)
{
    const char *last = s->last_read; /* a check, not a read */
    oi_store *r;
    int rc = oi_read_store(s, &r);
    s->last_read = last;
    return rc;
}

bool oi_read_failed(oi_store *s, oi_store *r, int rc, bool may_retry)
{
    if (r == s || rc >= 0)
        return false;
    oi_replica *rep = s->replica;
    if (rc != OI_ECONNECT) {
        s->err = r->err;
        return false;
    }
    rep->lost = true;
    rep->usable = false;
    snprintf(rep->why, sizeof rep->why, "was lost: %s", oi_errmsg(r));
    if (may_retry && rep->fallback == OI_REPLICA_USE_PRIMARY) {
        s->last_read = "primary";
        return true;
    }
    if (rep->fallback == OI_REPLICA_USE_PRIMARY)
        s->err = r->err; /* rows were handed out already: no second run */
    else
        replica_failure(s);
    return false;
}

bool oi_read_route(oi_store *s, oi_store **r, int *rc)
{
    if (!*r) {
        *rc = oi_read_store(s, r);
        if (*rc)
            return false;
    } else if (*r == s) {
        s->primary_pins--;
        return false;
    } else if (!oi_read_failed(s, *r, *rc, true)) {
        return false;
    } else {
        *r = s;
    }
    if (*r == s) /* what this read calls stays on the primary with it */
        s->primary_pins++;
    return true;
}

void oi_read_pin(oi_store *s)
{
    s->primary_pins++;
}

void oi_read_unpin(oi_store *s)
{
    s->primary_pins--;
}

void oi_read_iter_count(oi_store *s, int delta)
{
    s->replica->iterators += delta;
}
