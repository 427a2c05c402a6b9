/*
 * routes_python.c - the routes OptiInfra's Python agents call, for those
 * agents unchanged (the registration clients of their services).
 *
 *   POST   /api/v1/agents/register    {agent_id, agent_name | name, agent_type, version,
 *                                      host + port | endpoint, capabilities, metadata,
 *                                      status}
 *   POST   /api/v1/agents/heartbeat   {agent_id, timestamp, status, metrics: {name: number}}
 *   POST   /api/v1/agents/{agent_id}/heartbeat   {status}
 *   DELETE /api/v1/agents/{agent_id}   unregister
 *
 * all answering 200 (the agents check for nothing else).  compat.c has
 * the mapping onto the store and the rules both dialects share; this
 * dialect's own:
 *
 *   - The agent chooses its agent_id, and its code's defaults are not
 *     UUIDs ("resource-agent-001").  The store's id of an agent_id is the
 *     agent_id itself when it is a UUID (lower-cased), else the UUIDv5 of
 *     "urn:optiinfra:agent:" + agent_id in the URL namespace, which Python
 *     computes as uuid.uuid5(uuid.NAMESPACE_URL, "urn:optiinfra:agent:" +
 *     agent_id): the same agent_id is always the same agent, with nothing
 *     more stored.  Registering an agent_id whose (type, name) has another
 *     id, or whose id another (type, name) has, is 409.
 *   - The name is agent_name, else name, else the agent_id (two of the
 *     agents send none).  endpoint wins over host and port when both come.
 *     A registration is an upsert: what it leaves out keeps its stored
 *     value, except the status, which is the one sent or "active" (a
 *     registering agent is active, also after unregistering).
 *   - A heartbeat records the beat (the server's clock: the agent's
 *     "timestamp" is accepted and not used, so that one clock judges every
 *     agent's liveness), its status, and each number of "metrics" as an
 *     agent metric named by its key, collected at the beat's time, all in
 *     one transaction: all or nothing.  A metric whose value is not a
 *     number (text, true, null, an object) is skipped, not refused, so
 *     that a beat is never lost to one odd value; the answer names the
 *     skipped ones.
 *   - DELETE unregisters (compat.c: the agent is kept and marked).
 *   - Errors have the service's shape {"error": {"code", "message"}}.
 */
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

/* The longest agent_id accepted, in bytes. */
#define AGENT_ID_MAX 255

/* The store's id of the agent_id an agent chose (see the top). */
static void store_id(const char *agent_id, oi_uuid out)
{
    static const char prefix[] = "urn:optiinfra:agent:";
    uuid_t u;
    if (uuid_parse(agent_id, u) != 0) {
        char name[sizeof prefix + AGENT_ID_MAX];
        int len = snprintf(name, sizeof name, "%s%s", prefix, agent_id);
        uuid_generate_sha1(u, *uuid_get_template("url"), name, (size_t)len);
    }
    uuid_unparse_lower(u, out);
}

/* An agent_id as text: non-empty, at most AGENT_ID_MAX bytes. */
static bool valid_agent_id(srv_request *req, const char *agent_id)
{
    if (strlen(agent_id) <= AGENT_ID_MAX)
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "\"agent_id\" is longer than %d bytes: choose a shorter one",
                    AGENT_ID_MAX);
    return false;
}

/* Member "agent_id" of body, required; false when answered. */
static bool member_agent_id(srv_request *req, json_t *body, const char **agent_id)
{
    return srv_compat_text(req, body, "agent_id", true, agent_id) &&
           valid_agent_id(req, *agent_id);
}

static enum MHD_Result agent_not_found(srv_request *req, const char *agent_id)
{
    return srv_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found",
                           "no agent has agent_id '%s': register it first with POST "
                           "/api/v1/agents/register", agent_id);
}

/* ---- POST /api/v1/agents/register ------------------------------------------- */

/* endpoint, else http://host:port, else NULL (keep the stored one). */
static bool read_endpoint(srv_request *req, json_t *body, char **endpoint)
{
    const char *given, *host;
    long port;
    *endpoint = NULL;
    if (!srv_compat_text(req, body, "endpoint", false, &given) ||
        !srv_compat_text(req, body, "host", false, &host) ||
        !srv_compat_port(req, body, host && *host && !given, &port))
        return false;
    if (given && *given)
        *endpoint = oi_strdup(given);
    else if (host && *host)
        *endpoint = srv_compat_endpoint(host, port);
    return true;
}

/* The registration into a (owned copies); false when answered. */
static bool read_registration(srv_request *req, json_t *body, const char *agent_id,
                              oi_agent *a)
{
    const char *type, *agent_name, *name, *version, *status;
    json_t *metadata;
    if (!srv_compat_text(req, body, "agent_type", true, &type) ||
        !srv_compat_text(req, body, "agent_name", false, &agent_name) ||
        !srv_compat_text(req, body, "name", false, &name) ||
        !srv_compat_text(req, body, "version", false, &version) ||
        !srv_compat_status(req, body, &status) ||
        !srv_compat_metadata(req, body, &metadata) ||
        !read_endpoint(req, body, &a->endpoint) ||
        !srv_compat_capabilities(req, body, true, &a->capabilities))
        return false;
    store_id(agent_id, a->id);
    a->type = oi_strdup(type);
    a->name = oi_strdup(agent_name && *agent_name ? agent_name
                        : name && *name           ? name
                                                  : agent_id);
    a->agent_version = oi_strdup(version);
    a->status = oi_strdup(status ? status : "active");
    a->metadata = srv_json_text(metadata);
    return true;
}

static json_t *registered(const char *agent_id, const oi_agent *a, bool created)
{
    return json_pack("{s:s, s:s, s:b, s:i, s:o}", "agent_id", agent_id, "id", a->id,
                     "created", created, "heartbeat_interval_seconds",
                     SRV_COMPAT_HEARTBEAT_INTERVAL_S, "agent", view_agent(a));
}

static enum MHD_Result register_agent(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    const char *agent_id;
    oi_agent given = OI_AGENT_INIT, stored = OI_AGENT_INIT;
    bool created = false;
    enum MHD_Result r = MHD_YES;
    if (member_agent_id(req, body, &agent_id) &&
        read_registration(req, body, agent_id, &given) &&
        srv_compat_register(req, &given, &stored, &created))
        r = srv_reply_json(req, MHD_HTTP_OK, registered(agent_id, &stored, created));
    oi_agent_clear(&given);
    oi_agent_clear(&stored);
    json_decref(body);
    return r;
}

/* ---- heartbeats ------------------------------------------------------------- */

typedef struct beat {
    const char *agent_id;  /* as the agent sent it */
    const char *status;
    json_t *metrics;       /* an object, or NULL */
    oi_time at;
    size_t recorded;
    json_t *skipped;       /* the names of the metrics that are not numbers */
} beat;

/* The numbers of b->metrics as metric records of a, collected at b->at,
 * into items (pointers into records); the others' names into b->skipped. */
static size_t metric_items(beat *b, const oi_agent *a, oi_agent_metric *records,
                           oi_agent_metric **items)
{
    size_t n = 0;
    const char *name;
    json_t *value;
    json_object_foreach(b->metrics, name, value) {
        if (!json_is_number(value)) {
            json_array_append_new(b->skipped, json_string(name));
            continue;
        }
        oi_agent_metric *m = &records[n];
        oi_agent_metric_init(m, OI_AGENT_METRIC_VERSION);
        memcpy(m->agent_id, a->id, sizeof m->agent_id);
        m->metric_name = oi_strdup(name);
        m->metric_value = json_number_value(value);
        m->collection_timestamp = b->at;
        items[n++] = m;
    }
    return n;
}

static int record_metrics(srv_request *req, beat *b, const oi_agent *a)
{
    size_t size = json_object_size(b->metrics);
    oi_agent_metric *records = oi_calloc(size ? size : 1, sizeof *records);
    oi_agent_metric **items = oi_calloc(size ? size : 1, sizeof *items);
    size_t n = metric_items(b, a, records, items);
    int rc = n ? oi_metric_record_batch(req->store, items, n) : OI_OK;
    b->recorded = rc == OI_OK ? n : 0;
    for (size_t i = 0; i < n; i++)
        oi_agent_metric_clear(&records[i]);
    free(items);
    free(records);
    return rc;
}

static int record_beat(srv_request *req, const oi_agent *a, void *arg)
{
    beat *b = arg;
    oi_heartbeat_options opts = OI_HEARTBEAT_OPTIONS_INIT;
    opts.status = b->status;
    int rc = oi_agent_heartbeat_with(req->store, a->id, &opts, &b->at);
    if (rc == OI_OK && b->metrics)
        rc = record_metrics(req, b, a);
    return rc;
}

static bool read_metrics(srv_request *req, json_t *body, json_t **metrics)
{
    json_t *v = json_object_get(body, "metrics");
    *metrics = v && !json_is_null(v) ? v : NULL;
    if (!*metrics || json_is_object(*metrics))
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "\"metrics\" must be an object of metric names and numbers");
    return false;
}

static json_t *beat_received(const beat *b, const char *id)
{
    return json_pack("{s:b, s:s, s:s, s:o, s:i, s:I, s:O}", "received", 1,
                     "agent_id", b->agent_id, "id", id, "timestamp", view_time(b->at),
                     "next_interval_seconds", SRV_COMPAT_HEARTBEAT_INTERVAL_S,
                     "metrics_recorded", (json_int_t)b->recorded,
                     "metrics_skipped", b->skipped);
}

/* Record the beat b of the agent b->agent_id names, and answer. */
static enum MHD_Result beat_agent(srv_request *req, beat *b)
{
    oi_uuid id;
    store_id(b->agent_id, id);
    b->skipped = json_array();
    enum MHD_Result r = MHD_YES;
    switch (srv_compat_with_agent(req, id, record_beat, b)) {
    case SRV_COMPAT_DONE:
        r = srv_reply_json(req, MHD_HTTP_OK, beat_received(b, id));
        break;
    case SRV_COMPAT_NO_AGENT:
        r = agent_not_found(req, b->agent_id);
        break;
    case SRV_COMPAT_ANSWERED:
        break;
    }
    json_decref(b->skipped);
    return r;
}

static enum MHD_Result heartbeat(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    beat b = {.at = OI_TIME_NULL};
    const char *timestamp; /* accepted, not used (see the top) */
    enum MHD_Result r = MHD_YES;
    if (member_agent_id(req, body, &b.agent_id) &&
        srv_compat_text(req, body, "timestamp", false, &timestamp) &&
        srv_compat_status(req, body, &b.status) && read_metrics(req, body, &b.metrics))
        r = beat_agent(req, &b);
    json_decref(body);
    return r;
}

static enum MHD_Result heartbeat_by_path(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', true, &body))
        return MHD_YES;
    beat b = {.agent_id = srv_param(req, 0), .at = OI_TIME_NULL};
    enum MHD_Result r = MHD_YES;
    if (valid_agent_id(req, b.agent_id) && srv_compat_status(req, body, &b.status))
        r = beat_agent(req, &b);
    json_decref(body);
    return r;
}

/* ---- DELETE /api/v1/agents/{agent_id} --------------------------------------- */

static enum MHD_Result unregister(srv_request *req)
{
    const char *agent_id = srv_param(req, 0);
    oi_uuid id;
    if (!valid_agent_id(req, agent_id))
        return MHD_YES;
    store_id(agent_id, id);
    switch (srv_compat_with_agent(req, id, srv_compat_unregister, NULL)) {
    case SRV_COMPAT_DONE:
        return srv_reply_json(req, MHD_HTTP_OK,
                              json_pack("{s:s, s:s, s:s}", "agent_id", agent_id, "id", id,
                                        "status", SRV_COMPAT_UNREGISTERED));
    case SRV_COMPAT_NO_AGENT:
        return agent_not_found(req, agent_id);
    default:
        return MHD_YES;
    }
}

const srv_route srv_routes_python[] = {
    {"POST", "/api/v1/agents/register", register_agent, SRV_AGENT_WRITE, NULL},
    {"POST", "/api/v1/agents/heartbeat", heartbeat, SRV_AGENT_WRITE, NULL},
    {"POST", "/api/v1/agents/{agent_id}/heartbeat", heartbeat_by_path, SRV_AGENT_WRITE, NULL},
    {"DELETE", "/api/v1/agents/{agent_id}", unregister, SRV_AGENT_WRITE, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
