/*
 * beats.c - heartbeats that cost little: the newest beat of each agent,
 * kept in the server's memory (docs/coordination.md).
 *
 * Every written heartbeat is a change: a row write, a revision, a change
 * log row, a wake-up of the agent's watches, and on PostgreSQL a turn on
 * the store's revision counter.  An agent that beats every few seconds
 * says nothing new most of the time.  With `serve --heartbeat-write-interval
 * D` (off by default), a beat is written only when its status differs from
 * the one this server last wrote for the agent, or the beat this server
 * last wrote is D old or older; the others are answered at once from the
 * worker thread, without touching the database, and kept here.  The
 * database's last_heartbeat then lags the truth by less than D, which is
 * why D must stay well below the stale threshold others judge by (serve
 * refuses D of 30 s or more: a third of the default 90 s).  Consul's
 * anti-entropy makes the same trade.  /metrics reports the newer of the
 * stored beat and this one.
 *
 * A beat that carries metadata is always written: it has something to say.
 *
 * The table is a fixed array of buckets of small entries, one per agent
 * that beat through this server, behind one mutex: a beat holds it for a
 * hash lookup and a few stores.  Entries are never removed; their number
 * is bounded by the number of agents.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "alloc.h"
#include "server.h"

#define BUCKETS 1024

typedef struct beat_entry {
    oi_uuid agent_id;
    oi_time seen;     /* newest beat received, written or not */
    oi_time written;  /* newest beat this server wrote */
    char status[OI_HEARTBEAT_STATUS_MAX + 1]; /* the status written with it ("": none) */
    struct beat_entry *next;
} beat_entry;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static beat_entry *buckets[BUCKETS];
static int64_t write_interval; /* 0: every beat is written */
static atomic_uint_fast64_t coalesced;

void srv_beats_setup(int64_t interval)
{
    write_interval = interval;
}

bool srv_beats_enabled(void)
{
    return write_interval > 0;
}

/* FNV-1a of the id's text: ids are random, any mix will do. */
static unsigned bucket_of(const char *agent_id)
{
    uint32_t h = 2166136261u;
    for (const char *p = agent_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % BUCKETS;
}

/* The agent's entry, made if create; call with table_lock held. */
static beat_entry *entry_of(const char *agent_id, bool create)
{
    beat_entry **slot = &buckets[bucket_of(agent_id)];
    for (beat_entry *e = *slot; e; e = e->next)
        if (strcmp(e->agent_id, agent_id) == 0)
            return e;
    if (!create)
        return NULL;
    beat_entry *e = oi_calloc(1, sizeof *e);
    snprintf(e->agent_id, sizeof e->agent_id, "%s", agent_id);
    e->seen = e->written = OI_TIME_NULL;
    e->next = *slot;
    *slot = e;
    return e;
}

bool srv_beats_coalesce(const char *agent_id, const char *status, oi_time now)
{
    if (write_interval <= 0)
        return false;
    pthread_mutex_lock(&table_lock);
    beat_entry *e = entry_of(agent_id, true);
    bool same_status = !status || strcmp(status, e->status) == 0;
    bool skip = e->written != OI_TIME_NULL && same_status && now - e->written < write_interval;
    if (skip && now > e->seen)
        e->seen = now;
    pthread_mutex_unlock(&table_lock);
    if (skip)
        atomic_fetch_add(&coalesced, 1);
    return skip;
}

void srv_beats_written(const char *agent_id, const char *status, oi_time at)
{
    if (write_interval <= 0)
        return;
    pthread_mutex_lock(&table_lock);
    beat_entry *e = entry_of(agent_id, true);
    if (at > e->written)
        e->written = at;
    if (at > e->seen)
        e->seen = at;
    if (status)
        snprintf(e->status, sizeof e->status, "%s", status);
    pthread_mutex_unlock(&table_lock);
}

oi_time srv_beats_seen(const char *agent_id)
{
    if (write_interval <= 0)
        return OI_TIME_NULL;
    pthread_mutex_lock(&table_lock);
    beat_entry *e = entry_of(agent_id, false);
    oi_time seen = e ? e->seen : OI_TIME_NULL;
    pthread_mutex_unlock(&table_lock);
    return seen;
}

uint64_t srv_beats_coalesced_total(void)
{
    return atomic_load(&coalesced);
}

void srv_beats_free(void)
{
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < BUCKETS; i++)
        while (buckets[i]) {
            beat_entry *next = buckets[i]->next;
            free(buckets[i]);
            buckets[i] = next;
        }
    pthread_mutex_unlock(&table_lock);
}
