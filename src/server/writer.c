/*
 * writer.c - on SQLite, the requests that write share their commits.
 *
 * SQLite admits one writer at a time, and most of a small write's cost is
 * its commit: BEGIN IMMEDIATE takes the database's write lock, COMMIT
 * appends every page the transaction touched to the WAL and updates its
 * index, and each step is a system call or several.  A heartbeat changes
 * two rows and pays all of that.  So on SQLite the workers do not write
 * themselves: a worker that has a whole request for a route that writes
 * suspends its connection (libmicrohttpd's suspend/resume, so the worker
 * goes on serving its other connections) and hands the request to one
 * writer thread.  The writer takes every request waiting, runs them in one
 * transaction, each inside a savepoint of its own, and commits once: group
 * commit, as databases do with their logs.  Each request stays atomic, as
 * if alone: one that fails is rolled back to its savepoint and answered
 * with its error, and the others commit.  Only after the commit are the
 * answers released (the connections resumed), so nothing is acknowledged
 * before it is durable to the degree SQLite's synchronous setting makes
 * it; a failed commit turns every success of its group into the error.
 *
 * The batch forms by itself: while the writer runs one group, the next
 * requests gather, so a quiet service commits each request at once and a
 * busy one commits dozens together, without a timer.  A group takes at
 * most SRV_WRITER_GROUP_MAX requests and SRV_WRITER_GROUP_BYTES of bodies
 * (metric batches), so that a burst cannot hold the write lock for long.
 *
 * The writer's own store is a worker's store like any other (worker.c):
 * opened on first use, checked to be at head, reopened after a failure.
 * PostgreSQL locks rows, not the database, so there the workers write
 * themselves, each on its own connection, and this file is idle.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "server.h"

#define SRV_WRITER_GROUP_MAX 256
#define SRV_WRITER_GROUP_BYTES (8u * 1024 * 1024) /* of request bodies */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static srv_request *head, *tail; /* waiting requests, oldest first */
static bool running, stopping;
static pthread_t thread;

/* Whether a group of n requests and `bytes` of bodies takes next too. */
static bool group_takes(int n, size_t bytes, const srv_request *next)
{
    return next && n < SRV_WRITER_GROUP_MAX && bytes + next->body_len <= SRV_WRITER_GROUP_BYTES;
}

/* Take the oldest waiting requests, at least one, within the group's
 * bounds; NULL once stopped with none waiting. */
static srv_request *take_group(void)
{
    pthread_mutex_lock(&lock);
    while (!head && !stopping)
        pthread_cond_wait(&wake, &lock);
    srv_request *group = head, *last = head;
    size_t bytes = head ? head->body_len : 0;
    for (int n = 1; last && group_takes(n, bytes, last->next_write); n++) {
        last = last->next_write;
        bytes += last->body_len;
    }
    if (last) {
        head = last->next_write;
        last->next_write = NULL;
        if (!head)
            tail = NULL;
    }
    pthread_mutex_unlock(&lock);
    return group;
}

/* Run one request's handler on the writer's store, inside a savepoint
 * when there is a transaction, and keep or undo what it did. */
static void run_one(srv_request *req, oi_store *store, bool in_tx)
{
    req->store = store;
    if (in_tx && oi_savepoint(store) != OI_OK) {
        srv_reply_store_error(req, oi_errcode(store));
        return;
    }
    req->in_group_tx = in_tx;
    req->route->handler(req);
    req->in_group_tx = false;
    if (!in_tx)
        return;
    bool kept = req->status < 400 && oi_savepoint_release(store) == OI_OK;
    if (!kept) {
        int rc = oi_errcode(store);
        oi_savepoint_rollback(store);
        if (req->status < 400)  /* the release failed: its work is undone */
            srv_reply_replace_error(req, rc);
    }
}

/*
 * One transaction for the group.  If it cannot begin, each request runs
 * alone, atomic through the library's own transactions.  If the commit
 * fails, nothing of the group was written, and every answer that said
 * otherwise becomes the commit's error.
 */
static void run_group(srv_request *group)
{
    int code;
    char msg[512];
    oi_store *store = srv_worker_store(&code, msg, sizeof msg);
    if (!store) {
        for (srv_request *r = group; r; r = r->next_write)
            srv_reply_unavailable(r, code, msg);
        return;
    }
    bool in_tx = oi_begin(store) == OI_OK;
    size_t n = 0;
    for (srv_request *r = group; r; r = r->next_write, n++)
        run_one(r, store, in_tx);
    if (!in_tx)
        return;
    if (oi_commit(store) == OI_OK) {
        srv_stats_group_committed(n);
        return;
    }
    int rc = oi_errcode(store);
    srv_worker_store_failed(rc);
    for (srv_request *r = group; r; r = r->next_write)
        if (r->status < 400)
            srv_reply_replace_error(r, rc);
}

static void *writer_main(void *arg)
{
    (void)arg;
    srv_request *group;
    while ((group = take_group()) != NULL) {
        run_group(group);
        for (srv_request *r = group, *next; r; r = next) {
            next = r->next_write; /* r may be freed once resumed */
            MHD_resume_connection(r->conn);
        }
    }
    return NULL;
}

int srv_writer_start(oi_store *store)
{
    if (strcmp(oi_store_backend(store), "sqlite") != 0)
        return 0;
    stopping = false;
    int err = pthread_create(&thread, NULL, writer_main, NULL);
    running = err == 0;
    return err;
}

void srv_writer_stop(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    if (running)
        pthread_join(thread, NULL);
    running = false;
}

bool srv_writer_submit(srv_request *req)
{
    pthread_mutex_lock(&lock);
    bool taken = running && !stopping;
    if (taken) {
        req->deferred = true;
        MHD_suspend_connection(req->conn);
        req->next_write = NULL;
        if (tail)
            tail->next_write = req;
        else
            head = req;
        tail = req;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    return taken;
}

/* ---- a request's own transaction ------------------------------------------ */

int srv_tx_begin(srv_request *req)
{
    return req->in_group_tx ? OI_OK : oi_begin(req->store);
}

int srv_tx_commit(srv_request *req)
{
    return req->in_group_tx ? OI_OK : oi_commit(req->store);
}

void srv_tx_rollback(srv_request *req)
{
    if (!req->in_group_tx)
        oi_rollback(req->store);
}
