/*
 * routes_capabilities.c - versioned capabilities of agents, and who can do
 * what, as `optiinfra capability ...`.
 *
 *   GET  /v1/agents/{agent}/capabilities          {"capabilities": [...]}, as `list`
 *   POST /v1/agents/{agent}/capabilities          register a version, as `register`
 *        {"name", "version", "description", "parameters": {...}}
 *   POST /v1/agents/{agent}/capabilities/{name}/{version}/enable    as `enable`
 *   POST /v1/agents/{agent}/capabilities/{name}/{version}/disable   as `disable`
 *   GET  /v1/agents/{agent}/capabilities/{name}/newest   the newest enabled version
 *   GET  /v1/capabilities/{name}/agents           {"agents": [...]}, as `agents NAME`
 *
 * {agent} is an id or a name.  Writes need an admin token or the agent's
 * own.  A registered version is enabled, as the CLI's default; to register
 * one disabled, disable it next (the CLI's --disabled).  The answers are
 * the CLI's --json shapes: view_capability() for a version,
 * view_capable_agent() for an agent that can do a capability.  Versions
 * are ordered by the library (semantic versions: 1.10.0 after 1.9.0), and
 * "newest" with no enabled version is 404, as the CLI's exit 4.
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

/* ---- GET /v1/agents/{agent}/capabilities ----------------------------------- */

static int capability_list_next(void *state, json_t **row)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int rc = oi_agent_capability_next(state, &c);
    if (rc == OI_OK)
        *row = view_capability(&c);
    oi_agent_capability_clear(&c);
    return rc;
}

static void iter_free(void *state)
{
    oi_iter_free(state);
}

static const srv_stream_ops capability_list_ops = {capability_list_next, NULL, iter_free};

static enum MHD_Result list_capabilities(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    oi_iter *it;
    if (!srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    int rc = oi_agent_capability_iter_by_agent(&it, req->store, a.id);
    oi_agent_clear(&a);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"capabilities\":[", &capability_list_ops, it);
}

/* ---- POST /v1/agents/{agent}/capabilities ---------------------------------- */

/* The agent of the path, which the caller may write; false when answered. */
static bool writable_agent(srv_request *req, oi_agent *a)
{
    return srv_agent_lookup(req, srv_param(req, 0), a) && srv_may_write_agent(req, a->id);
}

/* Register c, then read it back as stored (parameters as the database
 * normalised them), as the CLI does. */
static enum MHD_Result register_version(srv_request *req, oi_agent_capability *c)
{
    oi_agent_capability stored = OI_AGENT_CAPABILITY_INIT;
    int rc = oi_capability_register(req->store, c);
    if (rc == OI_OK)
        rc = oi_agent_capability_get(req->store, c->id, &stored);
    enum MHD_Result r = rc == OI_OK
        ? srv_reply_json(req, MHD_HTTP_CREATED, view_capability(&stored))
        : srv_reply_store_error(req, rc);
    oi_agent_capability_clear(&stored);
    return r;
}

static enum MHD_Result register_capability(srv_request *req)
{
    json_t *body;
    if (!srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    const char *name, *version, *description;
    enum MHD_Result r = MHD_YES;
    if (srv_member_string(req, body, "name", &name) &&
        srv_member_string(req, body, "version", &version) &&
        srv_member_string(req, body, "description", &description) && writable_agent(req, &a)) {
        memcpy(c.agent_id, a.id, sizeof c.agent_id);
        c.capability_name = oi_strdup(name);
        c.capability_version = oi_strdup(version);
        c.description = oi_strdup(description);
        c.parameters = srv_json_text(json_object_get(body, "parameters"));
        c.is_enabled = true;
        r = register_version(req, &c);
    }
    oi_agent_capability_clear(&c);
    oi_agent_clear(&a);
    json_decref(body);
    return r;
}

/* ---- enable, disable -------------------------------------------------------- */

static enum MHD_Result set_enabled(srv_request *req, bool enabled)
{
    oi_agent a = OI_AGENT_INIT;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    enum MHD_Result r = MHD_YES;
    if (writable_agent(req, &a)) {
        int rc = oi_capability_set_enabled(req->store, a.id, srv_param(req, 1),
                                           srv_param(req, 2), enabled, &c);
        r = rc == OI_OK ? srv_reply_json(req, MHD_HTTP_OK, view_capability(&c))
                        : srv_reply_store_error(req, rc);
    }
    oi_agent_capability_clear(&c);
    oi_agent_clear(&a);
    return r;
}

static enum MHD_Result enable_capability(srv_request *req)
{
    return set_enabled(req, true);
}

static enum MHD_Result disable_capability(srv_request *req)
{
    return set_enabled(req, false);
}

/* ---- GET /v1/agents/{agent}/capabilities/{name}/newest ---------------------- */

static enum MHD_Result newest_capability(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    if (!srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int rc = oi_capability_newest(req->store, a.id, srv_param(req, 1), &c);
    enum MHD_Result r = rc == OI_OK ? srv_reply_json(req, MHD_HTTP_OK, view_capability(&c))
                                    : srv_reply_store_error(req, rc);
    oi_agent_capability_clear(&c);
    oi_agent_clear(&a);
    return r;
}

/* ---- GET /v1/capabilities/{name}/agents ------------------------------------- */

typedef struct capable_list {
    oi_iter *iter;
    oi_time now;
} capable_list;

static int capable_list_next(void *state, json_t **row)
{
    capable_list *l = state;
    oi_agent a = OI_AGENT_INIT;
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    int rc = oi_capable_agent_next(l->iter, &a, &c);
    if (rc == OI_OK)
        *row = view_capable_agent(&a, &c, l->now);
    oi_agent_clear(&a);
    oi_agent_capability_clear(&c);
    return rc;
}

static void capable_list_free(void *state)
{
    capable_list *l = state;
    oi_iter_free(l->iter);
    free(l);
}

static const srv_stream_ops capable_list_ops = {capable_list_next, NULL, capable_list_free};

static enum MHD_Result capable_agents(srv_request *req)
{
    capable_list *l = oi_calloc(1, sizeof *l);
    l->now = oi_time_now();
    int rc = oi_capable_agent_iter_new(&l->iter, req->store, srv_param(req, 0));
    if (rc != OI_OK) {
        free(l);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"agents\":[", &capable_list_ops, l);
}

const srv_route srv_routes_capabilities[] = {
    {"GET", "/v1/agents/{agent}/capabilities", list_capabilities, SRV_READ, NULL},
    {"POST", "/v1/agents/{agent}/capabilities", register_capability, SRV_AGENT_WRITE, NULL},
    {"POST", "/v1/agents/{agent}/capabilities/{name}/{version}/enable", enable_capability,
     SRV_AGENT_WRITE, NULL},
    {"POST", "/v1/agents/{agent}/capabilities/{name}/{version}/disable", disable_capability,
     SRV_AGENT_WRITE, NULL},
    {"GET", "/v1/agents/{agent}/capabilities/{name}/newest", newest_capability, SRV_READ, NULL},
    {"GET", "/v1/capabilities/{name}/agents", capable_agents, SRV_READ, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
