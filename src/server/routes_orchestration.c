/*
 * routes_orchestration.c - events, recommendations and the decisions on
 * them: what happens between agents and customers, as `optiinfra event
 * record`, `events`, `recommendations` and `recommendation ...`.
 *
 *   POST /v1/events                    record one, as `event record`
 *        {"customer", "type", "agent", "severity", "data": {...}}
 *   GET  /v1/customers/{customer}/events[?limit=N][&severity=S][&type=T][&since=D]
 *                                      {"events": [...]}, newest first, as `events`
 *   GET  /v1/customers/{customer}/recommendations[?status=S]
 *                                      {"recommendations": [...]}, as `recommendations`
 *   GET  /v1/recommendations[?status=S]
 *                                      every customer's, newest first, as
 *                                      `recommendations` without a customer (the web
 *                                      console's queue of decisions)
 *   GET  /v1/recommendations/{id}      as `recommendation show`
 *   POST /v1/recommendations/{id}/approve   {"by", "comment"}  (admin)
 *   POST /v1/recommendations/{id}/reject    {"by", "comment"}  (admin)
 *   POST /v1/recommendations/{id}/move      {"status"}         (admin)
 *
 * A customer is named by id or email and an agent by id or name, as the
 * CLI names them.  An event that names an agent is that agent's to write
 * (an admin token, or the agent's own); an event without one only an
 * admin may write.  The query arguments are the CLI's options with their
 * parsing and limits: limit a whole number from 1 (default 50), since a
 * duration (90s, 15m, 2h, 30d), severity and status checked by the
 * library.
 *
 * Every decision and move is one library call, atomic on its own: a
 * recommendation no longer in a status the change starts from is 409
 * illegal_transition, with its current status in the message, and nothing
 * is written.  A change answers what `recommendation show` shows
 * afterwards (view_recommendation_details), as the CLI's --json does, so a
 * client sees the state it caused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "views/collect.h"
#include "views/views.h"

#define DEFAULT_EVENT_LIMIT 50

/* ---- shared ------------------------------------------------------------------ */

/* A member that must be given and not be empty; false when answered. */
static bool required(srv_request *req, const char *value, const char *name, const char *what)
{
    if (value && *value)
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "\"%s\" is required: %s",
                    name, what);
    return false;
}

static bool customer_lookup(srv_request *req, const char *ref, oi_customer *out)
{
    int rc = oi_customer_lookup(req->store, ref, out);
    if (rc == OI_OK)
        return true;
    srv_reply_store_error(req, rc);
    return false;
}

static void iter_free(void *state)
{
    oi_iter_free(state);
}

/* ---- POST /v1/events ------------------------------------------------------------ */

/* The event's agent, if it names one, into ev->agent_id; the caller must
 * be allowed to write for it (for none: an admin).  False when answered. */
static bool event_agent(srv_request *req, const char *ref, oi_event *ev)
{
    if (!ref)
        return srv_may_write_agent(req, "");
    oi_agent a = OI_AGENT_INIT;
    bool ok = srv_agent_lookup(req, ref, &a) && srv_may_write_agent(req, a.id);
    if (ok)
        memcpy(ev->agent_id, a.id, sizeof ev->agent_id);
    oi_agent_clear(&a);
    return ok;
}

/* Writes ev and answers it as the database holds it (defaults filled in,
 * jsonb's spacing), as the CLI reads it back. */
static enum MHD_Result write_event(srv_request *req, oi_event *ev)
{
    oi_event stored = OI_EVENT_INIT;
    int rc = oi_event_record(req->store, ev);
    if (rc == OI_OK)
        rc = oi_event_get(req->store, ev->id, &stored);
    enum MHD_Result r = rc == OI_OK ? srv_reply_json(req, MHD_HTTP_CREATED, view_event(&stored))
                                    : srv_reply_store_error(req, rc);
    oi_event_clear(&stored);
    return r;
}

static enum MHD_Result record_event(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    const char *customer, *type, *agent, *severity;
    oi_customer c = OI_CUSTOMER_INIT;
    oi_event ev = OI_EVENT_INIT;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "customer", &customer) &&
        srv_member_string(req, body, "type", &type) &&
        srv_member_string(req, body, "agent", &agent) &&
        srv_member_string(req, body, "severity", &severity) &&
        required(req, customer, "customer", "the customer's id or email") &&
        required(req, type, "type", "the event type, e.g. cost_spike") &&
        customer_lookup(req, customer, &c) && event_agent(req, agent, &ev)) {
        memcpy(ev.customer_id, c.id, sizeof ev.customer_id);
        ev.event_type = oi_strdup(type);
        ev.severity = oi_strdup(severity);
        ev.data = srv_json_text(json_object_get(body, "data"));
        r = write_event(req, &ev);
    }
    oi_event_clear(&ev);
    oi_customer_clear(&c);
    json_decref(body);
    return r;
}

/* ---- GET /v1/customers/{customer}/events ------------------------------------------ */

/* ?limit=N: a whole number from 1, DEFAULT_EVENT_LIMIT when absent, as the
 * CLI's --limit; false when answered. */
static bool query_limit(srv_request *req, size_t *limit)
{
    const char *text = srv_query(req, "limit");
    char *end;
    *limit = DEFAULT_EVENT_LIMIT;
    if (!text)
        return true;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (*text && !*end && errno == 0 && n > 0) {
        *limit = (size_t)n;
        return true;
    }
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "limit '%s' is not a whole number of at least 1", text);
    return false;
}

static int event_list_next(void *state, json_t **row)
{
    oi_event e = OI_EVENT_INIT;
    int rc = oi_event_next(state, &e);
    if (rc == OI_OK)
        *row = view_event(&e);
    oi_event_clear(&e);
    return rc;
}

static const srv_stream_ops event_list_ops = {event_list_next, NULL, iter_free};

static enum MHD_Result list_events(srv_request *req)
{
    oi_event_filter f = OI_EVENT_FILTER_INIT;
    int64_t since;
    oi_customer c = OI_CUSTOMER_INIT;
    if (!query_limit(req, &f.limit) || !srv_query_duration(req, "since", &since) ||
        !customer_lookup(req, srv_param(req, 0), &c))
        return MHD_YES;
    f.customer_id = c.id;
    f.min_severity = srv_query(req, "severity");
    f.event_type = srv_query(req, "type");
    if (since)
        f.since = oi_time_now() - since;
    oi_iter *it;
    int rc = oi_event_iter_recent(&it, req->store, &f);
    oi_customer_clear(&c);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"events\":[", &event_list_ops, it);
}

/* ---- GET /v1/customers/{customer}/recommendations --------------------------------- */

static int recommendation_list_next(void *state, json_t **row)
{
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    int rc = oi_recommendation_next(state, &r);
    if (rc == OI_OK)
        *row = view_recommendation(&r);
    oi_recommendation_clear(&r);
    return rc;
}

static const srv_stream_ops recommendation_list_ops = {recommendation_list_next, NULL,
                                                       iter_free};

static enum MHD_Result list_recommendations(srv_request *req)
{
    oi_customer c = OI_CUSTOMER_INIT;
    oi_iter *it;
    if (!customer_lookup(req, srv_param(req, 0), &c))
        return MHD_YES;
    int rc = oi_recommendation_iter_by_customer(&it, req->store, c.id, srv_query(req, "status"));
    oi_customer_clear(&c);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"recommendations\":[",
                            &recommendation_list_ops, it);
}

/* ---- GET /v1/recommendations ------------------------------------------------------ */

static enum MHD_Result list_all_recommendations(srv_request *req)
{
    static const char *const known[] = {"status", NULL};
    if (!srv_query_known(req, known))
        return MHD_YES;
    oi_iter *it = NULL;
    int rc = oi_recommendation_iter(&it, req->store, srv_query(req, "status"));
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"recommendations\":[",
                            &recommendation_list_ops, it);
}

/* ---- GET /v1/recommendations/{id}, and the answer of every change ------------------ */

/* Answer the recommendation with its approvals, as `recommendation show`. */
static enum MHD_Result reply_details(srv_request *req, const char *id)
{
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    oi_approval *approvals = NULL;
    size_t n = 0;
    enum MHD_Result r;
    oi_iter *it;
    int rc = oi_recommendation_get(req->store, id, &rec);
    if (rc == OI_OK) {
        rc = oi_approval_iter_by_recommendation(&it, req->store, id);
        rc = view_collect_approvals(rc, it, &approvals, &n); /* a few decisions */
    }
    if (rc == OI_OK)
        r = srv_reply_json(req, MHD_HTTP_OK, view_recommendation_details(&rec, approvals, n));
    else if (rc == OI_ENOTFOUND)
        r = srv_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found",
                            "no recommendation with id %s; GET /v1/customers/CUSTOMER/"
                            "recommendations lists a customer's recommendations", id);
    else
        r = srv_reply_store_error(req, rc);
    view_free_approvals(approvals, n);
    oi_recommendation_clear(&rec);
    return r;
}

static enum MHD_Result show_recommendation(srv_request *req)
{
    return reply_details(req, srv_param(req, 0));
}

/* ---- approve, reject ----------------------------------------------------------------- */

typedef int (*decide_fn)(oi_store *store, const char *id, const char *approved_by,
                         const char *comment, oi_approval *out);

static enum MHD_Result decide(srv_request *req, decide_fn fn)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    const char *id = srv_param(req, 0), *by, *comment;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "by", &by) &&
        srv_member_string(req, body, "comment", &comment) &&
        required(req, by, "by", "say who decides, a person or a service")) {
        int rc = fn(req->store, id, by, comment, NULL);
        r = rc == OI_OK ? reply_details(req, id) : srv_reply_store_error(req, rc);
    }
    json_decref(body);
    return r;
}

static enum MHD_Result approve(srv_request *req)
{
    return decide(req, oi_recommendation_approve);
}

static enum MHD_Result reject(srv_request *req)
{
    return decide(req, oi_recommendation_reject);
}

/* ---- move ------------------------------------------------------------------------------ */

/* approved and rejected need who decided: point to the routes that ask. */
static bool movable_to(srv_request *req, const char *status)
{
    bool approve = strcmp(status, "approved") == 0;
    if (!approve && strcmp(status, "rejected") != 0)
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "a recommendation becomes %s by a decision that says who made it: POST "
                    "/v1/recommendations/%s/%s with {\"by\": WHO}", status, srv_param(req, 0),
                    approve ? "approve" : "reject");
    return false;
}

static enum MHD_Result move(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    const char *id = srv_param(req, 0), *status;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "status", &status) &&
        required(req, status, "status", "executing, completed, failed or rolled_back") &&
        movable_to(req, status)) {
        int rc = oi_recommendation_move(req->store, id, status);
        r = rc == OI_OK ? reply_details(req, id) : srv_reply_store_error(req, rc);
    }
    json_decref(body);
    return r;
}

const srv_route srv_routes_orchestration[] = {
    {"POST", "/v1/events", record_event, SRV_AGENT_WRITE, NULL},
    {"GET", "/v1/customers/{customer}/events", list_events, SRV_READ, NULL},
    {"GET", "/v1/customers/{customer}/recommendations", list_recommendations, SRV_READ, NULL},
    {"GET", "/v1/recommendations", list_all_recommendations, SRV_READ, NULL},
    {"GET", "/v1/recommendations/{id}", show_recommendation, SRV_READ, NULL},
    {"POST", "/v1/recommendations/{id}/approve", approve, SRV_ADMIN, NULL},
    {"POST", "/v1/recommendations/{id}/reject", reject, SRV_ADMIN, NULL},
    {"POST", "/v1/recommendations/{id}/move", move, SRV_ADMIN, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
