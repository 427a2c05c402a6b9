/*
 * routes_compat.c - the Go orchestrator registry's routes, for the clients
 * written against it (OptiInfra's registration helper), unchanged.
 *
 *   POST /agents/register          {name, type, host, port, capabilities: [string],
 *                                   version, metadata}
 *                                  201 {agent_id, registered_at, heartbeat_url,
 *                                       heartbeat_interval_seconds}
 *   POST /agents/{id}/heartbeat    {status, metadata}  200 {received, next_interval_seconds,
 *                                                           timestamp}
 *   POST /agents/{id}/unregister   no body             200 {message}
 *   GET  /agents                   200 {agents: [agent], count}
 *   GET  /agents/{id}              200 agent
 *   GET  /agents/type/{type}       200 {agents: [agent], count}
 *
 * where an agent is {id, name, type, host, port, capabilities, status,
 * version, registered_at, last_seen, metadata}.  compat.c has the mapping
 * onto the store (host and port are agents.endpoint) and the rules both
 * dialects share; what differs from the Go registry:
 *   - registration is idempotent: the same (type, name) answers 201 with
 *     the SAME agent_id (the Go registry minted a new one each time), and
 *     registered_at stays the first registration's (agents.created_at).
 *     Like the Go registry it sets the status to healthy, the agent's
 *     whole description (a field left out is emptied) and last_seen.
 *   - last_seen is the newest of the agent's two heartbeats (agents and
 *     agent_states, as every view reads it); an agent not seen for 45 s
 *     (the Go registry's heartbeat timeout), or never, reads unreachable
 *     whatever its stored status; never seen, last_seen is Go's zero time.
 *   - a heartbeat merges its metadata into the stored metadata, as the Go
 *     registry does; no status (or "") keeps the stored one.
 *   - unregistering keeps the agent (compat.c says why); a second one, or
 *     one of an unknown id, is 404.  Agents that unregistered are left out.
 *   - {id} is an agent id (a UUID); an unknown id is 404
 *     {"error": "Agent not found"}, the Go registry's answer.  Other errors
 *     have the service's shape {"error": {"code", "message"}}.
 * Times are written as Go's time.Time marshals them (RFC 3339, UTC, the
 * fraction without trailing zeros).  Views are the CLI's (src/views/).
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

/* The Go registry's heartbeat timeout: not seen for longer is unreachable. */
#define UNREACHABLE_AFTER (45 * INT64_C(1000000))

/* A time as Go marshals a time.Time in UTC; OI_TIME_NULL as the zero time. */
static json_t *go_time(oi_time t)
{
    char buf[OI_TIME_BUFSZ];
    if (t == OI_TIME_NULL)
        return json_string("0001-01-01T00:00:00Z");
    char *dot = strchr(oi_time_format(t, buf), '.');
    if (!dot)
        return json_string(buf);
    char *end = dot + strcspn(dot, "Z");
    char *last = end;
    while (last > dot + 1 && last[-1] == '0')
        last--;
    if (last == dot + 1)
        last = dot;
    memmove(last, end, strlen(end) + 1);
    return json_string(buf);
}

/* A text as Go shows a string: never null. */
static json_t *go_string(const char *s)
{
    return json_string(s ? s : "");
}

static const char *go_status(const oi_agent *a, oi_time seen, oi_time now)
{
    if (seen == OI_TIME_NULL || now - seen > UNREACHABLE_AFTER)
        return "unreachable";
    return a->status ? a->status : "";
}

/* One agent as the Go registry's Agent marshals. */
static json_t *go_agent(const oi_agent *a, const oi_agent_state *s, oi_time now)
{
    static const char *const head[] = {"id", "name", "type", NULL};
    char host[256];
    long port;
    srv_compat_host_port(a->endpoint, host, sizeof host, &port);
    oi_time seen = view_newest_heartbeat(a, s);
    json_t *agent = view_agent(a);
    json_t *out = view_pick(json_object(), agent, head);
    out = view_set(out, "host", json_string(host));
    out = view_set(out, "port", json_integer(port));
    out = view_copy(out, "capabilities", agent, "capabilities");
    out = view_set(out, "status", json_string(go_status(a, seen, now)));
    out = view_set(out, "version", go_string(a->agent_version));
    out = view_set(out, "registered_at", go_time(a->created_at));
    out = view_set(out, "last_seen", go_time(seen));
    out = view_copy(out, "metadata", agent, "metadata");
    json_decref(agent);
    return out;
}

/* The Go registry's 404, which its clients know. */
static enum MHD_Result agent_not_found(srv_request *req)
{
    return srv_reply_json(req, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
                                                             "Agent not found"));
}

/* ---- GET /agents, /agents/type/{type} ------------------------------------- */

typedef struct agent_list {
    srv_agent_rows rows;
    char *type; /* NULL: every type */
    oi_time now;
} agent_list;

/* Agents that unregistered are left out until they register again. */
static bool registered(const oi_agent *a)
{
    return !a->status || strcmp(a->status, SRV_COMPAT_UNREGISTERED) != 0;
}

static int agent_list_next(void *state, json_t **row)
{
    agent_list *l = state;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    bool has_state;
    int rc = srv_agent_rows_next(&l->rows, &a, &s, &has_state);
    if (rc == OI_OK)
        *row = go_agent(&a, has_state ? &s : NULL, l->now);
    oi_agent_clear(&a);
    oi_agent_state_clear(&s);
    return rc;
}

static char *agent_list_suffix(void *state, uint64_t rows)
{
    (void)state;
    char *text = oi_malloc(48);
    snprintf(text, 48, "],\"count\":%llu}\n", (unsigned long long)rows);
    return text;
}

static void agent_list_free(void *state)
{
    agent_list *l = state;
    oi_iter_free(l->rows.iter);
    free(l->type);
    free(l);
}

static const srv_stream_ops agent_list_ops = {agent_list_next, agent_list_suffix,
                                              agent_list_free};

static enum MHD_Result stream_agents(srv_request *req, const char *type)
{
    agent_list *l = oi_calloc(1, sizeof *l);
    l->type = oi_strdup(type);
    l->rows = (srv_agent_rows){.store = req->store, .type = l->type, .keep = registered};
    l->now = oi_time_now();
    int rc = oi_agent_iter_new(&l->rows.iter, req->store);
    if (rc != OI_OK) {
        agent_list_free(l);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"agents\":[", &agent_list_ops, l);
}

static enum MHD_Result list_agents(srv_request *req)
{
    return stream_agents(req, NULL);
}

static enum MHD_Result list_agents_of_type(srv_request *req)
{
    return stream_agents(req, srv_param(req, 0));
}

/* ---- GET /agents/{id} ------------------------------------------------------ */

static enum MHD_Result show_agent(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    int rc = srv_compat_find(req->store, srv_param(req, 0), &a);
    if (rc != OI_OK)
        return rc == OI_ENOTFOUND ? agent_not_found(req) : srv_reply_store_error(req, rc);
    rc = oi_agent_state_find(req->store, a.id, &s);
    enum MHD_Result r = rc == OI_OK || rc == OI_ENOTFOUND
        ? srv_reply_json(req, MHD_HTTP_OK, go_agent(&a, rc == OI_OK ? &s : NULL, oi_time_now()))
        : srv_reply_store_error(req, rc);
    oi_agent_clear(&a);
    oi_agent_state_clear(&s);
    return r;
}

/* ---- POST /agents/register ------------------------------------------------- */

/* The registration request into a (owned copies); false when answered. */
static bool read_registration(srv_request *req, json_t *body, oi_agent *a)
{
    const char *name, *type, *host, *version;
    long port;
    json_t *metadata;
    if (!srv_compat_text(req, body, "name", true, &name) ||
        !srv_compat_text(req, body, "type", true, &type) ||
        !srv_compat_text(req, body, "host", true, &host) ||
        !srv_compat_port(req, body, true, &port) ||
        !srv_compat_text(req, body, "version", false, &version) ||
        !srv_compat_metadata(req, body, &metadata) ||
        !srv_compat_capabilities(req, body, false, &a->capabilities))
        return false;
    /* The Go registry replaces the whole record: what is left out is empty. */
    a->name = oi_strdup(name);
    a->type = oi_strdup(type);
    a->endpoint = srv_compat_endpoint(host, port);
    /* Go's zero value "" is no version: NULL, as a name is never empty */
    a->agent_version = version && *version ? oi_strdup(version) : NULL;
    a->status = oi_strdup("healthy");
    a->metadata = metadata ? srv_json_text(metadata) : oi_strdup("{}");
    if (!a->capabilities)
        a->capabilities = oi_strdup("[]");
    return true;
}

static json_t *registration(const oi_agent *a)
{
    char url[80];
    snprintf(url, sizeof url, "/agents/%s/heartbeat", a->id);
    return json_pack("{s:s, s:o, s:s, s:i}", "agent_id", a->id, "registered_at",
                     go_time(a->created_at), "heartbeat_url", url,
                     "heartbeat_interval_seconds", SRV_COMPAT_HEARTBEAT_INTERVAL_S);
}

static enum MHD_Result register_agent(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    oi_agent given = OI_AGENT_INIT, stored = OI_AGENT_INIT;
    enum MHD_Result r = MHD_YES;
    if (read_registration(req, body, &given) &&
        srv_compat_register(req, &given, &stored, NULL))
        r = srv_reply_json(req, MHD_HTTP_CREATED, registration(&stored));
    oi_agent_clear(&given);
    oi_agent_clear(&stored);
    json_decref(body);
    return r;
}

/* ---- POST /agents/{id}/heartbeat ------------------------------------------- */

typedef struct beat {
    const char *status;
    json_t *metadata; /* NULL: keep the stored metadata */
    oi_time at;
} beat;

/* The stored metadata with the beat's members set over it, as JSON text. */
static char *merged_metadata(const oi_agent *a, json_t *update)
{
    json_t *merged = view_embedded(a->metadata);
    if (!json_is_object(merged)) {
        json_decref(merged);
        merged = json_object();
    }
    json_object_update(merged, update);
    char *text = srv_json_text(merged);
    json_decref(merged);
    return text;
}

static int record_beat(srv_request *req, const oi_agent *a, void *arg)
{
    beat *b = arg;
    oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
    char *metadata = b->metadata ? merged_metadata(a, b->metadata) : NULL;
    opts.status = b->status;
    opts.metadata = metadata;
    int rc = oi_agent_heartbeat_with(req->store, a->id, &opts, &b->at);
    free(metadata);
    return rc;
}

/* Answer the outcome of srv_compat_with_agent(): success with the value
 * made by done(arg), the Go registry's 404, or nothing more. */
static enum MHD_Result answer(srv_request *req, srv_compat_outcome outcome,
                              json_t *(*done)(void *arg), void *arg)
{
    if (outcome == SRV_COMPAT_DONE)
        return srv_reply_json(req, MHD_HTTP_OK, done(arg));
    return outcome == SRV_COMPAT_NO_AGENT ? agent_not_found(req) : MHD_YES;
}

static json_t *beat_received(void *arg)
{
    const beat *b = arg;
    return json_pack("{s:b, s:i, s:o}", "received", 1, "next_interval_seconds",
                     SRV_COMPAT_HEARTBEAT_INTERVAL_S, "timestamp", go_time(b->at));
}

static enum MHD_Result heartbeat(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', true, &body))
        return MHD_YES;
    beat b = {NULL, NULL, OI_TIME_NULL};
    enum MHD_Result r = MHD_YES;
    if (srv_compat_status(req, body, &b.status) && srv_compat_metadata(req, body, &b.metadata))
        r = answer(req, srv_compat_with_agent(req, srv_param(req, 0), record_beat, &b),
                   beat_received, &b);
    json_decref(body);
    return r;
}

/* ---- POST /agents/{id}/unregister ------------------------------------------ */

static json_t *unregistered(void *arg)
{
    (void)arg;
    return json_pack("{s:s}", "message", "Agent unregistered successfully");
}

static enum MHD_Result unregister(srv_request *req)
{
    return answer(req, srv_compat_with_agent(req, srv_param(req, 0), srv_compat_unregister, NULL),
                  unregistered, NULL);
}

const srv_route srv_routes_compat[] = {
    {"POST", "/agents/register", register_agent, SRV_AGENT_WRITE, NULL},
    {"POST", "/agents/{id}/heartbeat", heartbeat, SRV_AGENT_WRITE, NULL},
    {"POST", "/agents/{id}/unregister", unregister, SRV_AGENT_WRITE, NULL},
    {"GET", "/agents", list_agents, SRV_READ, NULL},
    {"GET", "/agents/{id}", show_agent, SRV_READ, NULL},
    {"GET", "/agents/type/{type}", list_agents_of_type, SRV_READ, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
