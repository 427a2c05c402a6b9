/*
 * routes_agents.c - /v1/agents: registering, listing, showing and deleting
 * agents, their heartbeats and their workflow transitions.
 *
 *   GET    /v1/agents[?type=T][&stale=D][&stale_after=D]   the agents, as `agents`
 *   POST   /v1/agents                       register: upsert by (type, name)
 *   GET    /v1/agents/{agent}               one agent, as `agent show`
 *   DELETE /v1/agents/{agent}               delete it (admin)
 *   POST   /v1/agents/{agent}/heartbeat     {"status", "metadata"} both optional
 *   POST   /v1/agents/{agent}/start         {"workflow", "data"}
 *   POST   /v1/agents/{agent}/finish
 *   POST   /v1/agents/{agent}/error         {"message", "severity"}
 *   POST   /v1/agents/{agent}/recover
 *
 * {agent} is an id or a name, as the CLI's AGENT argument.  Bodies and
 * answers use the CLI's --json shapes (src/views/), and the same library
 * calls decide, so a request gets the CLI's verdict.  The list streams
 * from the library's iterator: one agent's state is read per row.
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

/* ---- GET /v1/agents ------------------------------------------------------- */

typedef struct agent_list {
    srv_agent_rows rows;
    int64_t stale_after;
    oi_time now;
} agent_list;

static int agent_list_next(void *state, json_t **row)
{
    agent_list *l = state;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    bool has_state;
    int rc = srv_agent_rows_next(&l->rows, &a, &s, &has_state);
    if (rc == OI_OK)
        *row = view_agent_summary(&a, has_state ? &s : NULL, l->now, l->stale_after);
    oi_agent_clear(&a);
    oi_agent_state_clear(&s);
    return rc;
}

static void agent_list_free(void *state)
{
    agent_list *l = state;
    oi_iter_free(l->rows.iter);
    free(l);
}

static const srv_stream_ops agent_list_ops = {agent_list_next, NULL, agent_list_free};

static enum MHD_Result list_agents(srv_request *req)
{
    int64_t stale, stale_after;
    if (!srv_query_duration(req, "stale", &stale) ||
        !srv_query_duration(req, "stale_after", &stale_after))
        return MHD_YES;
    agent_list *l = oi_calloc(1, sizeof *l);
    bool stale_only = srv_query(req, "stale") != NULL;
    l->rows = (srv_agent_rows){.store = req->store, .by_liveness = stale_only,
                               .type = srv_query(req, "type")};
    l->stale_after = stale_only ? stale : stale_after;
    l->now = oi_time_now();
    int rc = stale_only ? oi_agent_stale_iter_new(&l->rows.iter, req->store, stale)
                        : oi_agent_iter_new(&l->rows.iter, req->store);
    if (rc != OI_OK) {
        free(l);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"agents\":[", &agent_list_ops, l);
}

/* ---- POST /v1/agents ------------------------------------------------------ */

/*
 * The registration fields of body into a: its strings borrowed from body,
 * the JSON columns' text in the caller's json_text[2] to free; false when
 * answered.
 */
static bool read_registration(srv_request *req, json_t *body, oi_agent *a, char **json_text)
{
    const char *type, *name, *version, *status, *endpoint;
    if (!srv_member_string(req, body, "type", &type) ||
        !srv_member_string(req, body, "name", &name) ||
        !srv_member_string(req, body, "version", &version) ||
        !srv_member_string(req, body, "status", &status) ||
        !srv_member_string(req, body, "endpoint", &endpoint))
        return false;
    a->type = (char *)type;
    a->name = (char *)name;
    a->agent_version = (char *)version;
    a->status = (char *)status;
    a->endpoint = (char *)endpoint;
    a->capabilities = json_text[0] = srv_json_text(json_object_get(body, "capabilities"));
    a->metadata = json_text[1] = srv_json_text(json_object_get(body, "metadata"));
    return true;
}

/* An agent token may register (again) only its own agent. */
static bool may_register(srv_request *req, const oi_agent *a)
{
    if (req->auth.role == SRV_ROLE_ADMIN)
        return true;
    oi_agent existing = OI_AGENT_INIT;
    int rc = oi_agent_find(req->store, a->type ? a->type : "", a->name ? a->name : "",
                           &existing);
    bool ok = srv_may_write_agent(req, rc == OI_OK ? existing.id : "");
    oi_agent_clear(&existing);
    return ok;
}

static enum MHD_Result register_agent(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    oi_agent a = OI_AGENT_INIT;
    char *json_text[2] = {NULL, NULL};
    bool created = false;
    enum MHD_Result r = MHD_YES;
    if (read_registration(req, body, &a, json_text) && may_register(req, &a)) {
        int rc = oi_agent_register(req->store, &a, &created);
        if (rc == OI_OK) {
            r = srv_reply_json(req, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, view_agent(&a));
            oi_agent_clear(&a); /* now the library's strings */
        } else {
            r = srv_reply_store_error(req, rc);
        }
    }
    free(json_text[0]);
    free(json_text[1]);
    json_decref(body);
    return r;
}

/* ---- GET and DELETE /v1/agents/{agent} ------------------------------------ */

static enum MHD_Result show_agent(srv_request *req)
{
    int64_t stale_after;
    view_agent_parts d;
    if (!srv_query_duration(req, "stale_after", &stale_after))
        return MHD_YES;
    int rc = view_agent_parts_load(req->store, srv_param(req, 0), &d);
    enum MHD_Result r = rc == OI_OK
        ? srv_reply_json(req, MHD_HTTP_OK, view_agent_details(&d, oi_time_now(), stale_after))
        : srv_reply_store_error(req, rc);
    view_agent_parts_free(&d);
    return r;
}

static enum MHD_Result delete_agent(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    if (!srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    int rc = oi_agent_delete(req->store, a.id);
    enum MHD_Result r = rc == OI_OK
        ? srv_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:o, s:b}", "id", a.id, "name",
                                                     view_string(a.name), "deleted", 1))
        : srv_reply_store_error(req, rc);
    oi_agent_clear(&a);
    return r;
}

/* ---- POST /v1/agents/{agent}/heartbeat ------------------------------------ */

/* The agent of the path, which the caller may write; false when answered. */
static bool writable_agent(srv_request *req, oi_agent *a)
{
    return srv_agent_lookup(req, srv_param(req, 0), a) && srv_may_write_agent(req, a->id);
}

static enum MHD_Result heartbeat(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', true, &body))
        return MHD_YES;
    oi_agent a = OI_AGENT_INIT;
    oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
    char *metadata = NULL;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "status", &opts.status) && writable_agent(req, &a)) {
        oi_time at;
        opts.metadata = metadata = srv_json_text(json_object_get(body, "metadata"));
        int rc = oi_agent_heartbeat_with(req->store, a.id, &opts, &at);
        if (rc == OI_OK)
            srv_beats_written(a.id, opts.status, at);
        r = rc == OI_OK ? srv_reply_json(req, MHD_HTTP_OK, view_heartbeat(&a, at))
                        : srv_reply_store_error(req, rc);
    }
    free(metadata);
    oi_agent_clear(&a);
    json_decref(body);
    return r;
}

/* On the worker, with --heartbeat-write-interval: a beat with nothing new
 * (the status this server last wrote, no metadata, a written beat younger
 * than the interval) is answered here, unwritten (beats.c).  The checks
 * are the handler's, so a refusal here is the one the handler would give. */
static enum MHD_Result heartbeat_unless_nothing_new(srv_request *req)
{
    json_t *body;
    if (!srv_beats_enabled() || !srv_body_json(req, 'o', true, &body))
        return MHD_YES;
    const char *status = NULL;
    json_t *metadata = json_object_get(body, "metadata");
    oi_agent a = OI_AGENT_INIT;
    if (srv_member_string(req, body, "status", &status) && (!metadata || json_is_null(metadata))
        && writable_agent(req, &a)) {
        oi_time now = oi_time_now();
        if (srv_beats_coalesce(a.id, status, now))
            srv_reply_json(req, MHD_HTTP_OK, view_heartbeat(&a, now));
    }
    oi_agent_clear(&a);
    json_decref(body);
    return MHD_YES;
}

/* ---- transitions ---------------------------------------------------------- */

/* Answer the transition rc left on a: the new state, or the failure. */
static enum MHD_Result transition_done(srv_request *req, int rc, const oi_agent *a,
                                       oi_agent_state *s)
{
    enum MHD_Result r = rc == OI_OK ? srv_reply_json(req, MHD_HTTP_OK, view_transition(a, s))
                                    : srv_reply_store_error(req, rc);
    oi_agent_state_clear(s);
    return r;
}

static enum MHD_Result start_workflow(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    const char *workflow;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "workflow", &workflow) && writable_agent(req, &a)) {
        char *data = srv_json_text(json_object_get(body, "data"));
        int rc = oi_agent_start_workflow(req->store, a.id, workflow ? workflow : "", data, &s);
        free(data);
        r = transition_done(req, rc, &a, &s);
    }
    oi_agent_clear(&a);
    json_decref(body);
    return r;
}

static enum MHD_Result record_error(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    const char *message, *severity;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "message", &message) &&
        srv_member_string(req, body, "severity", &severity) && writable_agent(req, &a)) {
        int rc = oi_agent_record_error(req->store, a.id, message ? message : "", severity, &s);
        r = transition_done(req, rc, &a, &s);
    }
    oi_agent_clear(&a);
    json_decref(body);
    return r;
}

/* finish and recover: no body, one library call. */
static enum MHD_Result simple_transition(srv_request *req,
                                         int (*move)(oi_store *, const char *,
                                                     oi_agent_state *))
{
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    enum MHD_Result r = MHD_YES;
    if (writable_agent(req, &a))
        r = transition_done(req, move(req->store, a.id, &s), &a, &s);
    oi_agent_clear(&a);
    return r;
}

static enum MHD_Result finish_workflow(srv_request *req)
{
    return simple_transition(req, oi_agent_finish_workflow);
}

static enum MHD_Result recover(srv_request *req)
{
    return simple_transition(req, oi_agent_recover);
}

const srv_route srv_routes_agents[] = {
    {"GET", "/v1/agents", list_agents, SRV_READ, NULL},
    {"POST", "/v1/agents", register_agent, SRV_AGENT_WRITE, NULL},
    {"GET", "/v1/agents/{agent}", show_agent, SRV_READ, NULL},
    {"DELETE", "/v1/agents/{agent}", delete_agent, SRV_ADMIN, NULL},
    {"POST", "/v1/agents/{agent}/heartbeat", heartbeat, SRV_AGENT_WRITE,
     heartbeat_unless_nothing_new},
    {"POST", "/v1/agents/{agent}/start", start_workflow, SRV_AGENT_WRITE, NULL},
    {"POST", "/v1/agents/{agent}/finish", finish_workflow, SRV_AGENT_WRITE, NULL},
    {"POST", "/v1/agents/{agent}/error", record_error, SRV_AGENT_WRITE, NULL},
    {"POST", "/v1/agents/{agent}/recover", recover, SRV_AGENT_WRITE, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
