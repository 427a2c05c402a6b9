/*
 * watch.c - long-poll watches: GET /v1/watch answers when a change it asks
 * for commits, or at its deadline, as Consul's blocking queries do.
 *
 * A watch first looks on its worker (srv_watch): if the change log already
 * holds changes after its `since` that match, it answers at once.  If not,
 * its connection is suspended (libmicrohttpd's suspend/resume, as the
 * SQLite writer does: writer.c) and the watch is handed to the hub, so an
 * open watch costs a connection and a small record, never a thread.
 *
 * The hub is one thread with a store of its own (a worker's store, as the
 * writer has: worker.c).  It loops on oi_changes_wait() from the revision
 * it has seen, for at most 100 ms or until the nearest deadline, so it
 * wakes at the commit of any process (PostgreSQL: LISTEN/NOTIFY, so a
 * second server or the CLI wakes it; SQLite: the library polls the file),
 * reads the new changes once, and offers each only to the watches it can
 * match: those of the change's agent, found through a hash of agent ids,
 * and those without an agent filter.  A heartbeat thus wakes the watches
 * of its agent and looks at no other agent's.  A watch woken answers with
 * every matching change of the batch, which are all its changes since its
 * `since` (it had none when it was registered).
 *
 * No change is missed between the worker's look and the registration: the
 * worker notes the revision it has looked up to (`checked`), and the hub,
 * registering a watch behind what it has seen, reads the watch's changes
 * from there with the watch's own filter first.  Deadlines are a binary
 * heap, so the hub's wait ends at the nearest one and expiring costs no
 * scan.  The 100 ms bound takes new watches in promptly; a change that
 * commits meanwhile ends the wait at once anyway.
 *
 * The revision an answer gives is the one the hub has checked up to (with
 * a filter it may be past the last change shown): the client passes it as
 * its next `since`.  An answer carries at most SRV_WATCH_MAX_CHANGES; it
 * then gives the last one's revision, so nothing is skipped.
 *
 * If the hub falls so far behind that the log has pruned changes it has
 * not read (only with a log kept shorter than what commits in 100 ms), the
 * watches that might have wanted them are answered 410 `compacted`, as
 * etcd cancels a watch behind its compact revision; the others go on.
 *
 * Workers and the hub share only the queue of new watches (a mutex); the
 * index and the heap are the hub's alone.  With no watch waiting, the hub
 * reads no changes, only follows the revision.  A database failure costs
 * the hub a pause and a reopen, not its watches: the batches go on from
 * the revision it had seen; a new watch that needs a read meanwhile gets
 * 503.
 *
 * A suspended connection is not polled, so a client that goes away is
 * noticed only when its watch answers: it holds its descriptor until its
 * deadline (at most SRV_WATCH_MAX_WAIT_S).  MHD_stop_daemon() must not
 * find a suspended connection, so a stop answers every watch first.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

#define HUB_MAX_SLEEP_US (100 * 1000)
#define AGENT_BUCKETS 1024 /* a power of two */

typedef struct watch watch;
struct watch {
    srv_request *req;
    int64_t since;    /* only changes after this one are news to it */
    int64_t checked;  /* the worker found none up to this revision */
    int64_t deadline; /* monotonic microseconds */
    char table[32];   /* "": every table */
    oi_uuid agent_id; /* "": every agent */
    watch *prev, *next; /* the incoming queue, then its list in the index */
    size_t heap_at;   /* its place in the deadline heap */
    json_t *found;    /* the matching changes of the batch being offered */
    size_t nfound;
    int64_t last_found;
    watch *next_woken;
};

/* Shared with the workers, under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static watch *incoming;         /* handed over, not yet registered */
static bool running, stopping;
static pthread_t thread;

static atomic_ullong open_watches, wakeups;

/* The hub's own, touched by its thread only. */
static int64_t seen = -1;       /* the revision the hub has offered changes up to */
static watch *by_agent[AGENT_BUCKETS], *any_agent;
static watch **heap;            /* by deadline, nearest first */
static size_t nheap, heap_cap;

unsigned long long srv_watch_open(void)
{
    return atomic_load_explicit(&open_watches, memory_order_relaxed);
}

unsigned long long srv_watch_wakeups(void)
{
    return atomic_load_explicit(&wakeups, memory_order_relaxed);
}

/* ---- answers -------------------------------------------------------------- */

/* Build the answer and keep it in req->pending, to be sent from the
 * connection's thread. */
static void keep_answer(srv_request *req, int64_t revision, json_t *changes)
{
    char header[24];
    req->deferred = true;
    srv_reply_json(req, MHD_HTTP_OK, json_pack("{s:I, s:o}", "revision", (json_int_t)revision,
                                               "changes", changes ? changes : json_array()));
    snprintf(header, sizeof header, "%lld", (long long)revision);
    MHD_add_response_header(req->pending, "X-Optiinfra-Revision", header);
}

/* The changes after since that match filter, oldest first, at most
 * SRV_WATCH_MAX_CHANGES, into *changes (a new array; NULL when none or on
 * a failure) and their count into *n, the last one's revision into *last. */
static int read_changes(oi_store *store, int64_t since, const oi_change_filter *filter,
                        json_t **changes, size_t *n, int64_t *last)
{
    oi_iter *it;
    *changes = NULL;
    *n = 0;
    *last = since;
    int rc = oi_changes_since(&it, store, since, filter);
    if (rc != OI_OK)
        return rc;
    oi_change c = OI_CHANGE_INIT;
    while (*n < SRV_WATCH_MAX_CHANGES && (rc = oi_change_next(it, &c)) == OI_OK) {
        if (!*changes)
            *changes = json_array();
        json_array_append_new(*changes, view_change(&c));
        *last = c.revision;
        ++*n;
        oi_change_clear(&c);
    }
    oi_iter_free(it);
    if (rc == OI_ITEROVER || *n == SRV_WATCH_MAX_CHANGES)
        return OI_OK;
    json_decref(*changes); /* a failure halfway: none of them */
    *changes = NULL;
    *n = 0;
    return rc;
}

/* The revision an answer of n changes, the last at `last`, gives when
 * everything up to `checked` has been looked at. */
static int64_t answer_revision(size_t n, int64_t last, int64_t checked)
{
    if (n == SRV_WATCH_MAX_CHANGES)
        return last; /* cut short: the rest comes next time */
    return last > checked ? last : checked;
}

/* ---- the worker's side ---------------------------------------------------- */

static watch *watch_new(srv_request *req, const srv_watch_spec *spec, int64_t since,
                        int64_t checked)
{
    watch *w = oi_calloc(1, sizeof *w);
    w->req = req;
    w->since = since > checked ? since : checked;
    w->checked = checked;
    w->deadline = srv_monotonic_us() + spec->wait;
    snprintf(w->table, sizeof w->table, "%s", spec->table ? spec->table : "");
    snprintf(w->agent_id, sizeof w->agent_id, "%s", spec->agent_id ? spec->agent_id : "");
    for (char *p = w->agent_id; *p; p++) /* ids are stored in lower case */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return w;
}

/* Hand w to the hub, its connection suspended: false (nothing done) when
 * no hub takes watches. */
static bool submit(watch *w)
{
    pthread_mutex_lock(&lock);
    bool taken = running && !stopping;
    if (taken) {
        w->req->deferred = true;
        MHD_suspend_connection(w->req->conn);
        w->next = incoming;
        incoming = w;
        atomic_fetch_add_explicit(&open_watches, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&lock);
    return taken;
}

enum MHD_Result srv_watch(srv_request *req, const srv_watch_spec *spec)
{
    oi_change_filter filter = OI_CHANGE_FILTER_INIT;
    filter.table = spec->table;
    filter.agent_id = spec->agent_id;
    int64_t current = 0, last;
    json_t *changes;
    size_t n;
    int rc = oi_store_revision(req->store, &current);
    int64_t since = spec->since < 0 ? current : spec->since;
    if (rc == OI_OK)
        rc = read_changes(req->store, since, &filter, &changes, &n, &last);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    if (n == 0 && spec->wait > 0) {
        watch *w = watch_new(req, spec, since, current);
        if (submit(w))
            return MHD_YES; /* suspended until the hub answers */
        free(w);
    }
    keep_answer(req, answer_revision(n, last, current), changes);
    return srv_reply_send_pending(req);
}

/* ---- the hub's index: by agent, and by deadline --------------------------- */

static watch **list_of(const watch *w)
{
    if (!w->agent_id[0])
        return &any_agent;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = w->agent_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &by_agent[h & (AGENT_BUCKETS - 1)];
}

static void heap_swap(size_t a, size_t b)
{
    watch *t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
    heap[a]->heap_at = a;
    heap[b]->heap_at = b;
}

static void heap_up(size_t i)
{
    for (; i > 0 && heap[(i - 1) / 2]->deadline > heap[i]->deadline; i = (i - 1) / 2)
        heap_swap(i, (i - 1) / 2);
}

static void heap_down(size_t i)
{
    for (;;) {
        size_t least = i, l = 2 * i + 1, r = l + 1;
        if (l < nheap && heap[l]->deadline < heap[least]->deadline)
            least = l;
        if (r < nheap && heap[r]->deadline < heap[least]->deadline)
            least = r;
        if (least == i)
            return;
        heap_swap(i, least);
        i = least;
    }
}

static void index_add(watch *w)
{
    watch **head = list_of(w);
    w->prev = NULL;
    w->next = *head;
    if (*head)
        (*head)->prev = w;
    *head = w;
    heap = oi_grow(heap, &heap_cap, nheap, sizeof *heap);
    w->heap_at = nheap;
    heap[nheap++] = w;
    heap_up(w->heap_at);
}

static void index_remove(watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        *list_of(w) = w->next;
    if (w->next)
        w->next->prev = w->prev;
    size_t i = w->heap_at;
    heap_swap(i, --nheap);
    if (i < nheap) {
        heap_up(i);
        heap_down(i);
    }
}

/* Send w's kept answer: resume its connection, whose worker sends it.  The
 * request may be freed from then on, so w goes first. */
static void release(watch *w)
{
    srv_request *req = w->req;
    json_decref(w->found);
    free(w);
    atomic_fetch_sub_explicit(&open_watches, 1, memory_order_relaxed);
    MHD_resume_connection(req->conn);
}

/* Answer w, out of the index, with no change: its deadline, or a stop. */
static void answer_empty(watch *w)
{
    keep_answer(w->req, answer_revision(0, seen, w->checked), NULL);
    release(w);
}

/* ---- the hub's work ------------------------------------------------------- */

static bool matches(const watch *w, const oi_change *c)
{
    return c->revision > w->since && w->nfound < SRV_WATCH_MAX_CHANGES &&
           (!w->table[0] || strcmp(w->table, c->table) == 0) &&
           (!w->agent_id[0] || strcmp(w->agent_id, c->agent_id) == 0);
}

/* Give c to the watches of list that match it; the first change a watch
 * takes puts it on *woken. */
static void offer_to(watch *list, const oi_change *c, watch **woken)
{
    for (watch *w = list; w; w = w->next) {
        if (!matches(w, c))
            continue;
        if (!w->found) {
            w->found = json_array();
            w->next_woken = *woken;
            *woken = w;
        }
        json_array_append_new(w->found, view_change(c));
        w->nfound++;
        w->last_found = c->revision;
    }
}

static void offer(const oi_change *c, watch **woken)
{
    if (c->agent_id[0]) {
        watch probe;
        memcpy(probe.agent_id, c->agent_id, sizeof probe.agent_id);
        offer_to(*list_of(&probe), c, woken);
    }
    offer_to(any_agent, c, woken);
}

/* The watches woken by a batch read up to `seen`: answer each with its changes. */
static void answer_woken(watch *woken)
{
    for (watch *w = woken, *next; w; w = next) {
        next = w->next_woken;
        index_remove(w);
        json_t *found = w->found;
        w->found = NULL;
        keep_answer(w->req, answer_revision(w->nfound, w->last_found, seen), found);
        atomic_fetch_add_explicit(&wakeups, 1, memory_order_relaxed);
        release(w);
    }
}

/* The log no longer has the changes after `seen`: answer 410 to the
 * watches that may have wanted them, and go on from what it keeps. */
static void skip_compacted(oi_store *store)
{
    int64_t compacted;
    if (oi_changes_window(store, &compacted, NULL) != OI_OK) {
        srv_worker_store_failed(oi_errcode(store));
        return;
    }
    watch *behind = NULL; /* taken out after the walk, which removals would reorder */
    for (size_t i = 0; i < nheap; i++)
        if (heap[i]->since < compacted) {
            heap[i]->next_woken = behind;
            behind = heap[i];
        }
    for (watch *w = behind, *next; w; w = next) {
        next = w->next_woken;
        index_remove(w);
        srv_reply_error(w->req, MHD_HTTP_GONE, "compacted",
                        "the changes after revision %lld are no longer kept: the change log "
                        "starts after revision %lld; read the records again, then go on from "
                        "the store's current revision", (long long)w->since,
                        (long long)compacted);
        release(w);
    }
    seen = compacted;
}

/* Read the changes after `seen` once and offer them to the watches. */
static void offer_new_changes(oi_store *store, int64_t current)
{
    oi_iter *it;
    int rc = oi_changes_since(&it, store, seen, NULL);
    if (rc == OI_ECOMPACTED) {
        skip_compacted(store);
        return;
    }
    if (rc != OI_OK) {
        srv_worker_store_failed(rc);
        return;
    }
    watch *woken = NULL;
    oi_change c = OI_CHANGE_INIT;
    while ((rc = oi_change_next(it, &c)) == OI_OK) {
        offer(&c, &woken);
        seen = c.revision;
        oi_change_clear(&c);
    }
    oi_iter_free(it);
    if (rc == OI_ITEROVER && current > seen) /* the read came after the wait, so it had */
        seen = current; /* everything up to current: a log short of rows (deleted by hand)
                           must not make every wait return at once */
    else if (rc != OI_ITEROVER)
        srv_worker_store_failed(rc); /* what was read up to `seen` still counts */
    answer_woken(woken);
}

/* Register a new watch, or answer it at once when changes it wants came
 * between its worker's look and what the hub has seen (read with its own
 * filter: the batches start at `seen`).  store is NULL when the hub has
 * none (code and msg say why): a watch that needs the read then gets 503. */
static void take_in(oi_store *store, watch *w, int code, const char *msg)
{
    if (w->since < seen || seen < 0) {
        oi_change_filter filter = OI_CHANGE_FILTER_INIT;
        filter.table = w->table[0] ? w->table : NULL;
        filter.agent_id = w->agent_id[0] ? w->agent_id : NULL;
        json_t *changes = NULL;
        size_t n = 0;
        int64_t last;
        int rc = store && seen >= 0 ? read_changes(store, w->since, &filter, &changes, &n, &last)
                                    : code;
        if (rc == OI_OK && n == 0) {
            index_add(w);
        } else if (rc == OI_OK) {
            keep_answer(w->req, answer_revision(n, last, seen), changes);
            atomic_fetch_add_explicit(&wakeups, 1, memory_order_relaxed);
            release(w);
        } else if (store) {
            w->req->store = store; /* the message is the hub's store's */
            srv_reply_store_error(w->req, rc);
            release(w);
        } else {
            srv_reply_unavailable(w->req, rc, msg);
            release(w);
        }
        return;
    }
    index_add(w);
}

static watch *take_incoming(void)
{
    pthread_mutex_lock(&lock);
    watch *list = incoming;
    incoming = NULL;
    pthread_mutex_unlock(&lock);
    return list;
}

static void expire(int64_t now)
{
    while (nheap > 0 && heap[0]->deadline <= now) {
        watch *w = heap[0];
        index_remove(w);
        answer_empty(w);
    }
}

/* How long the hub may wait for a change: until the nearest deadline, at
 * most HUB_MAX_SLEEP_US. */
static int64_t wait_time(int64_t now)
{
    int64_t t = HUB_MAX_SLEEP_US;
    if (nheap > 0 && heap[0]->deadline - now < t)
        t = heap[0]->deadline - now;
    return t > 0 ? t : 0;
}

static bool hub_stopping(void)
{
    pthread_mutex_lock(&lock);
    bool s = stopping;
    pthread_mutex_unlock(&lock);
    return s;
}

/* One turn: wait for a change or a deadline, offer what changed, take in
 * the new watches, answer the expired ones.  A failure costs a pause, not
 * a watch: the store is reopened on the next turn, and the batches go on
 * from `seen`. */
static void hub_turn(void)
{
    int code;
    char msg[512];
    oi_store *store = srv_worker_store(&code, msg, sizeof msg);
    int rc = store ? OI_OK : code;
    int64_t current = seen;
    if (store && seen < 0 && (rc = oi_store_revision(store, &current)) == OI_OK)
        seen = current; /* the first turn with a store: the hub starts here */
    if (rc == OI_OK)
        rc = oi_changes_wait(store, seen, wait_time(srv_monotonic_us()), &current);
    if (rc == OI_OK && current > seen) {
        if (nheap > 0)
            offer_new_changes(store, current);
        else
            seen = current; /* nobody to tell; a watch behind it reads for itself */
    } else if (rc != OI_OK) {
        if (store) {
            srv_worker_store_failed(rc);
            snprintf(msg, sizeof msg, "%s", oi_errmsg(store));
            code = rc;
        }
        nanosleep(&(struct timespec){0, HUB_MAX_SLEEP_US * 1000}, NULL);
    }
    for (watch *w = take_incoming(), *next; w; w = next) {
        next = w->next;
        take_in(rc == OI_OK ? store : NULL, w, code, msg);
    }
    expire(srv_monotonic_us());
}

static void *hub_main(void *arg)
{
    (void)arg;
    while (!hub_stopping())
        hub_turn();
    for (watch *w = take_incoming(), *next; w; w = next) {
        next = w->next;
        answer_empty(w);
    }
    while (nheap > 0) {
        watch *w = heap[nheap - 1];
        index_remove(w);
        answer_empty(w);
    }
    free(heap);
    heap = NULL;
    heap_cap = 0;
    return NULL;
}

int srv_watch_start(void)
{
    stopping = false;
    int err = pthread_create(&thread, NULL, hub_main, NULL);
    running = err == 0;
    return err;
}

void srv_watch_stop(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    bool was_running = running;
    running = false;
    pthread_mutex_unlock(&lock);
    if (was_running)
        pthread_join(thread, NULL);
}
