/*
 * routes_locks.c - /v1/locks: resource locks held by live agents.
 *
 *   GET    /v1/locks[?agent=A][&stale_after=D]        the locks, as `locks`
 *   POST   /v1/locks/{resource}   {"agent_id", "ttl", "stale_after", "lock_delay"}
 *                                 acquire, renew or take over, as `lock acquire`;
 *                                 the answer's "fence" is the fencing token
 *   DELETE /v1/locks/{resource}?agent_id=A            release, as `lock release`
 *
 * A resource may contain slashes ({resource...}).  agent_id is an id or a
 * name.  A lock another live agent holds is 409 lock_held, and the error
 * carries the holder's lock ("holder"), as the CLI's exit 9 names it; a
 * resource in the lock-delay of a deregistered holder is 409 lock_held
 * without a holder.
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

/* ---- GET /v1/locks -------------------------------------------------------- */

typedef struct lock_list {
    oi_iter *iter;
    oi_time now;
} lock_list;

static int lock_list_next(void *state, json_t **row)
{
    lock_list *l = state;
    oi_lock lock = OI_LOCK_INIT;
    int rc = oi_lock_next(l->iter, &lock);
    if (rc == OI_OK)
        *row = view_lock(&lock, l->now);
    oi_lock_clear(&lock);
    return rc;
}

static void lock_list_free(void *state)
{
    lock_list *l = state;
    oi_iter_free(l->iter);
    free(l);
}

static const srv_stream_ops lock_list_ops = {lock_list_next, NULL, lock_list_free};

static enum MHD_Result list_locks(srv_request *req)
{
    int64_t stale_after;
    oi_agent a = OI_AGENT_INIT;
    const char *agent = srv_query(req, "agent");
    if (!srv_query_duration(req, "stale_after", &stale_after) ||
        (agent && !srv_agent_lookup(req, agent, &a)))
        return MHD_YES;
    lock_list *l = oi_calloc(1, sizeof *l);
    l->now = oi_time_now();
    int rc = oi_lock_iter_new(&l->iter, req->store, agent ? a.id : NULL, stale_after);
    oi_agent_clear(&a);
    if (rc != OI_OK) {
        free(l);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"locks\":[", &lock_list_ops, l);
}

/* ---- POST /v1/locks/{resource} -------------------------------------------- */

/* A duration member of body ("10m") into *micros, 0 when absent. */
static bool member_duration(srv_request *req, json_t *body, const char *name, int64_t *micros)
{
    const char *text;
    *micros = 0;
    if (!srv_member_string(req, body, name, &text))
        return false;
    char msg[OI_VALUE_MSGSZ]; /* the validator's words, which never echo the text */
    if (text && oi_value_check(OI_KIND_DURATION, name, text, strlen(text), msg,
                               sizeof msg) != OI_OK) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "%s", msg);
        return false;
    }
    if (text)
        oi_duration_parse(text, micros);
    return true;
}

/* The agent named by ref, which the caller may write; false when answered. */
static bool lock_agent(srv_request *req, const char *ref, oi_agent *a)
{
    if (!ref)
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                               "name the agent that takes the lock: \"agent_id\""), false;
    return srv_agent_lookup(req, ref, a) && srv_may_write_agent(req, a->id);
}

static enum MHD_Result held(srv_request *req, const oi_lock *holder)
{
    if (!holder->resource) /* no holder: a lock-delay runs */
        return srv_reply_store_error(req, OI_EHELD);
    json_t *body = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", "lock_held", "message",
                             oi_errmsg(req->store), "holder", view_lock(holder, oi_time_now()));
    return srv_reply_json(req, MHD_HTTP_CONFLICT, body);
}

/* The options of an acquisition; "lock_delay" absent is the default, "0s" none. */
static bool lock_options(srv_request *req, json_t *body, oi_lock_options *opts)
{
    bool has_delay = json_object_get(body, "lock_delay") != NULL;
    int64_t delay = 0;
    if (!member_duration(req, body, "ttl", &opts->ttl) ||
        !member_duration(req, body, "stale_after", &opts->stale_after) ||
        !member_duration(req, body, "lock_delay", &delay))
        return false;
    if (has_delay)
        opts->lock_delay = delay;
    return true;
}

static enum MHD_Result acquire(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    const char *ref;
    oi_lock_options opts = OI_LOCK_OPTIONS_INIT;
    oi_agent a = OI_AGENT_INIT;
    oi_lock lock = OI_LOCK_INIT;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "agent_id", &ref) && lock_options(req, body, &opts) &&
        lock_agent(req, ref, &a)) {
        int rc = oi_lock_acquire_with(req->store, a.id, srv_param(req, 0), &opts, &lock);
        if (rc == OI_OK)
            r = srv_reply_json(req, MHD_HTTP_OK, view_lock_acquired(&lock, oi_time_now()));
        else
            r = rc == OI_EHELD ? held(req, &lock) : srv_reply_store_error(req, rc);
    }
    oi_lock_clear(&lock);
    oi_agent_clear(&a);
    json_decref(body);
    return r;
}

/* ---- DELETE /v1/locks/{resource}?agent_id=A ------------------------------- */

static enum MHD_Result release(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    const char *resource = srv_param(req, 0);
    enum MHD_Result r = MHD_YES;
    if (lock_agent(req, srv_query(req, "agent_id"), &a)) {
        int rc = oi_lock_release(req->store, a.id, resource);
        r = rc == OI_OK
            ? srv_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:s, s:b}", "resource",
                                                         resource, "agent_id", a.id,
                                                         "released", 1))
            : srv_reply_store_error(req, rc);
    }
    oi_agent_clear(&a);
    return r;
}

const srv_route srv_routes_locks[] = {
    {"GET", "/v1/locks", list_locks, SRV_READ, NULL},
    {"POST", "/v1/locks/{resource...}", acquire, SRV_AGENT_WRITE, NULL},
    {"DELETE", "/v1/locks/{resource...}", release, SRV_AGENT_WRITE, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
