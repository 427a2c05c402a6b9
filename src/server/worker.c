/*
 * worker.c - one store per worker thread.
 *
 * A store handle must never be used by two threads at once (store.h), and
 * libmicrohttpd calls every callback of a connection on the one worker
 * thread that owns it.  So each worker opens its own store on its first
 * request and keeps it (thread-specific data, closed by the key's
 * destructor when the daemon stops and joins its workers).  No lock, no
 * pool: a worker's requests take turns on its store, as its connections
 * take turns on the thread.
 *
 * On SQLite the workers' stores only read: requests that write go to the
 * writer thread (writer.c), whose store is a worker's store like these.
 *
 * A store is checked to be at the schema head when it opens, and again
 * on every request while it is not (so the service starts before its
 * migration and begins to answer once it has run).  A connection the
 * database closed between two requests (a restart) is replaced by the
 * library before its next statement (backend/postgres.c); a store whose
 * connection failed in the middle of a request, or could not be opened,
 * is closed and opened again on the next request, but only once no
 * streamed response still reads from it.
 *
 * With a read replica (serve's --read-url), each store has one too: the
 * library sends its reads there, and request.c lets it only for GET
 * routes (oi_store_use_replica), so a write and the reads it makes run on
 * the primary.  The watch hub's changes stay on the primary in the library.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"
#include "server.h"

typedef struct worker {
    oi_store *store;
    bool at_head;
    bool broken;  /* the connection failed: reopen when no stream reads it */
    int streams;  /* streamed responses reading from store */
} worker;

static const oi_store_options *store_options;
static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;

static void close_worker(void *arg)
{
    worker *w = arg;
    oi_store_close(w->store);
    free(w);
}

static void make_key(void)
{
    pthread_key_create(&worker_key, close_worker);
}

void srv_worker_setup(const oi_store_options *opts)
{
    store_options = opts;
    pthread_once(&worker_once, make_key);
}

static worker *this_worker(void)
{
    worker *w = pthread_getspecific(worker_key);
    if (!w) {
        w = oi_calloc(1, sizeof *w);
        pthread_setspecific(worker_key, w);
    }
    return w;
}

static void close_store(worker *w)
{
    oi_store_close(w->store);
    w->store = NULL;
    w->at_head = false;
    w->broken = false;
}

oi_store *srv_worker_store(int *code, char *msg, size_t msgsize)
{
    worker *w = this_worker();
    if (w->broken && w->streams == 0)
        close_store(w);
    if (!w->store) {
        int rc = oi_store_open_ext(&w->store, store_options);
        if (rc != OI_OK) {
            *code = rc;
            snprintf(msg, msgsize, "%s", w->store ? oi_errmsg(w->store) : "out of memory");
            close_store(w);
            return NULL;
        }
    }
    if (!w->at_head) {
        int rc = oi_migrate_check_head(w->store);
        if (rc != OI_OK) {
            *code = rc;
            snprintf(msg, msgsize, "%s", oi_errmsg(w->store));
            if (rc != OI_ESCHEMA)
                w->broken = true;
            return NULL;
        }
        w->at_head = true;
    }
    return w->store;
}

void srv_worker_store_failed(int code)
{
    worker *w = this_worker();
    if (code == OI_ECONNECT)
        w->broken = true;
    else if (code == OI_ESCHEMA)
        w->at_head = false;
}

void srv_worker_stream_begin(void)
{
    this_worker()->streams++;
}

void srv_worker_stream_end(void)
{
    this_worker()->streams--;
}
