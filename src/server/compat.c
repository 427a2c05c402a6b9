/*
 * compat.c - what OptiInfra's two client dialects share: the Go
 * orchestrator registry's /agents routes (routes_compat.c) and the Python
 * agents' /api/v1/agents routes (routes_python.c).
 *
 * Both dialects describe an agent by host and port, list its capabilities,
 * report a status word, and register, beat and unregister; this file maps
 * those onto the store once:
 *
 *   host, port    agents.endpoint "http://HOST:PORT" (a v6 host in
 *                 brackets); read back by srv_compat_host_port(), which
 *                 reads any "scheme://host[:port]" (no port: 80 for http,
 *                 443 for https) and answers host "" and port 0 for an
 *                 endpoint that is not a URL: an honest "unknown" that
 *                 clients already treat as unset
 *   capabilities  agents.capabilities, a JSON list of names (the Python
 *                 dialect's objects {"name": ...} reduced to their names)
 *   version       agents.version;  metadata  agents.metadata (an object)
 *   status        agents.status, open text as in the schema: the words the
 *                 clients send (healthy, degraded, unhealthy; the Python
 *                 agents' active) are stored as sent, and what no status
 *                 can be (over 64 bytes, control characters: a heartbeat's
 *                 rules) is refused, in registrations too.  "" counts as
 *                 no status.
 *
 * Registering is a sign of life: a registration records a heartbeat in
 * the same transaction, as the Go registry sets LastSeen at registration.
 * Unregistering does not delete the agent (that would delete its metrics,
 * its history and its token, so that the agent could not come back): it
 * stores the status SRV_COMPAT_UNREGISTERED, and to both dialects such an
 * agent is absent (404, left out of lists) until it registers again, which
 * gives it back its id.  The word is reserved: a client may not report it.
 *
 * Writes that read first (a heartbeat merging metadata, an unregistration,
 * a Python heartbeat with its metrics) run in one transaction through
 * srv_compat_with_agent(), so they are all or nothing.  Access control is
 * /v1's: an agent token writes only its own agent, and only an admin
 * registers an agent that does not exist yet.
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"

/* ---- endpoint ------------------------------------------------------------- */

char *srv_compat_endpoint(const char *host, long port)
{
    bool bracket = strchr(host, ':') != NULL && host[0] != '[';
    size_t size = strlen(host) + 32;
    char *endpoint = oi_malloc(size);
    snprintf(endpoint, size, bracket ? "http://[%s]:%ld" : "http://%s:%ld", host, port);
    return endpoint;
}

/* The port a scheme implies when the authority names none. */
static long default_port(const char *scheme, size_t len)
{
    if (len == 4 && strncmp(scheme, "http", 4) == 0)
        return 80;
    if (len == 5 && strncmp(scheme, "https", 5) == 0)
        return 443;
    return 0;
}

/* The digits of a port, 1 to 65535; 0 when text is not one. */
static long parse_port(const char *text, size_t len)
{
    long port = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9' || port > 65535)
            return 0;
        port = port * 10 + (text[i] - '0');
    }
    return port <= 65535 ? port : 0;
}

void srv_compat_host_port(const char *endpoint, char *host, size_t hostsize, long *port)
{
    host[0] = '\0';
    *port = 0;
    const char *sep = endpoint ? strstr(endpoint, "://") : NULL;
    if (!sep)
        return;
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len); /* user:password@ is never shown */
    if (at) {
        auth_len -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *host_end, *colon;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (!close)
            return;
        snprintf(host, hostsize, "%.*s", (int)(close - auth - 1), auth + 1);
        host_end = close + 1;
        colon = host_end < auth + auth_len && *host_end == ':' ? host_end : NULL;
    } else {
        colon = memchr(auth, ':', auth_len);
        host_end = colon ? colon : auth + auth_len;
        snprintf(host, hostsize, "%.*s", (int)(host_end - auth), auth);
    }
    *port = colon ? parse_port(colon + 1, (size_t)(auth + auth_len - colon - 1))
                  : default_port(endpoint, (size_t)(sep - endpoint));
}

/* ---- members of a body ------------------------------------------------------ */

bool srv_compat_text(srv_request *req, json_t *body, const char *name, bool required,
                     const char **out)
{
    if (!srv_member_string(req, body, name, out))
        return false;
    if (!required || (*out && **out))
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "\"%s\" is required: a non-empty string", name);
    return false;
}

bool srv_compat_port(srv_request *req, json_t *body, bool required, long *port)
{
    json_t *v = json_object_get(body, "port");
    *port = 0;
    if ((!v || json_is_null(v)) && !required)
        return true;
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n >= 1 && n <= 65535) {
        *port = (long)n;
        return true;
    }
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "\"port\" must be an integer from 1 to 65535, the port the agent "
                    "listens on");
    return false;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* A registration's status is held to a heartbeat's rules (heartbeat.h),
 * so that a word one route stores the other accepts. */
bool srv_compat_status(srv_request *req, json_t *body, const char **out)
{
    if (!srv_member_string(req, body, "status", out))
        return false;
    if (*out && !**out)
        *out = NULL;
    if (!*out)
        return true;
    if (strlen(*out) > OI_HEARTBEAT_STATUS_MAX || has_control(*out))
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "\"status\" must be a word of at most %d bytes without control "
                        "characters, e.g. healthy, degraded or unhealthy",
                        OI_HEARTBEAT_STATUS_MAX);
    else if (strcmp(*out, SRV_COMPAT_UNREGISTERED) == 0)
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "\"status\" '%s' is the service's mark of an agent that "
                        "unregistered; report healthy, degraded or unhealthy", *out);
    else
        return true;
    return false;
}

bool srv_compat_metadata(srv_request *req, json_t *body, json_t **out)
{
    json_t *v = json_object_get(body, "metadata");
    *out = v && !json_is_null(v) ? v : NULL;
    if (!*out || json_is_object(*out))
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "\"metadata\" must be a JSON object");
    return false;
}

/* The name a capability item declares: itself, or an object's "name". */
static const char *capability_name(json_t *item, bool objects)
{
    if (objects && json_is_object(item))
        item = json_object_get(item, "name");
    return json_is_string(item) && json_string_length(item) > 0 ? json_string_value(item)
                                                                 : NULL;
}

bool srv_compat_capabilities(srv_request *req, json_t *body, bool objects, char **out)
{
    json_t *list = json_object_get(body, "capabilities");
    *out = NULL;
    if (!list || json_is_null(list))
        return true;
    json_t *names = json_is_array(list) ? json_array() : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = capability_name(item, objects);
        if (!name) {
            json_decref(names);
            names = NULL;
            break;
        }
        json_array_append_new(names, json_string(name));
    }
    if (!names) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "\"capabilities\" must be a list of names%s",
                        objects ? " (strings, or objects with a \"name\")" : " (strings)");
        return false;
    }
    *out = srv_json_text(names);
    json_decref(names);
    return true;
}

/* ---- the agent of a request ------------------------------------------------- */

int srv_compat_find(oi_store *store, const char *id, oi_agent *out)
{
    int rc = oi_agent_get(store, id, out);
    if (rc == OI_EINVALID) /* not a UUID: no agent has it */
        rc = OI_ENOTFOUND;
    if (rc == OI_OK && out->status && strcmp(out->status, SRV_COMPAT_UNREGISTERED) == 0) {
        oi_agent_clear(out);
        rc = OI_ENOTFOUND;
    }
    return rc;
}

/* Answer the failure rc of a call inside the open transaction, then roll it
 * back (the answer takes the message first: a rollback may replace it). */
static void fail_tx(srv_request *req, int rc)
{
    srv_reply_store_error(req, rc);
    srv_tx_rollback(req);
}

static int commit(srv_request *req)
{
    int rc = srv_tx_commit(req);
    if (rc != OI_OK)
        srv_reply_store_error(req, rc);
    return rc;
}

srv_compat_outcome srv_compat_with_agent(srv_request *req, const char *id, srv_compat_work work,
                                         void *arg)
{
    oi_agent a = OI_AGENT_INIT;
    int rc = srv_tx_begin(req);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc), SRV_COMPAT_ANSWERED;
    rc = srv_compat_find(req->store, id, &a);
    srv_compat_outcome outcome = SRV_COMPAT_ANSWERED;
    if (rc == OI_ENOTFOUND) {
        srv_tx_rollback(req);
        outcome = SRV_COMPAT_NO_AGENT;
    } else if (rc != OI_OK) {
        fail_tx(req, rc);
    } else if (!srv_may_write_agent(req, a.id)) {
        srv_tx_rollback(req);
    } else if ((rc = work(req, &a, arg)) != OI_OK) {
        fail_tx(req, rc);
    } else if (commit(req) == OI_OK) {
        outcome = SRV_COMPAT_DONE;
    }
    oi_agent_clear(&a);
    return outcome;
}

/* Mark the agent unregistered (only its status and updated_at change), and
 * take its locks away, as a deletion would: a deregistered agent holds
 * nothing (docs/coordination.md). */
int srv_compat_unregister(srv_request *req, const oi_agent *a, void *arg)
{
    (void)arg;
    char status[] = SRV_COMPAT_UNREGISTERED;
    oi_agent mark = OI_AGENT_INIT;
    mark.type = a->type;
    mark.name = a->name;
    mark.status = status;
    int rc = oi_agent_register(req->store, &mark, NULL); /* in the caller's transaction */
    if (rc == OI_OK)
        oi_agent_clear(&mark); /* the stored record the call filled in */
    return rc == OI_OK ? oi_lock_forfeit(req->store, a->id) : rc;
}

/* ---- registration ------------------------------------------------------------ */

/* Refuse an agent_id (given->id) that names another agent than (type, name). */
static bool same_identity(srv_request *req, const oi_agent *given, const oi_agent *existing,
                          bool found)
{
    if (!given->id[0])
        return true;
    if (found && strcmp(existing->id, given->id) != 0) {
        srv_reply_error(req, MHD_HTTP_CONFLICT, "exists",
                        "agent '%s' of type '%s' is registered with another agent_id (id "
                        "%s): register it with that agent_id, or choose another name",
                        given->name, given->type, existing->id);
        return false;
    }
    if (found)
        return true;
    oi_agent other = OI_AGENT_INIT;
    int rc = oi_agent_get(req->store, given->id, &other);
    if (rc == OI_OK)
        srv_reply_error(req, MHD_HTTP_CONFLICT, "exists",
                        "this agent_id (id %s) is registered as agent '%s' of type '%s': "
                        "choose another agent_id for agent '%s' of type '%s'", given->id,
                        other.name, other.type, given->name, given->type);
    else if (rc != OI_ENOTFOUND)
        srv_reply_store_error(req, rc);
    oi_agent_clear(&other);
    return rc == OI_ENOTFOUND;
}

/* The checks before a registration writes, in the open transaction. */
static bool may_register(srv_request *req, const oi_agent *given)
{
    oi_agent existing = OI_AGENT_INIT;
    int rc = given->type && given->name
                 ? oi_agent_find(req->store, given->type, given->name, &existing)
                 : OI_ENOTFOUND;
    bool ok = false;
    if (rc != OI_OK && rc != OI_ENOTFOUND)
        srv_reply_store_error(req, rc);
    else
        ok = same_identity(req, given, &existing, rc == OI_OK) &&
             srv_may_write_agent(req, rc == OI_OK ? existing.id : "");
    oi_agent_clear(&existing);
    return ok;
}

bool srv_compat_register(srv_request *req, const oi_agent *given, oi_agent *out,
                         bool *created)
{
    oi_agent rec = *given; /* the library fills it with the stored record */
    int rc = srv_tx_begin(req);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc), false;
    if (!may_register(req, given)) {
        srv_tx_rollback(req);
        return false;
    }
    rc = oi_agent_register(req->store, &rec, created);
    if (rc == OI_OK)
        *out = rec;
    if (rc == OI_OK)
        rc = oi_agent_heartbeat(req->store, out->id, &out->last_heartbeat);
    if (rc != OI_OK)
        return fail_tx(req, rc), false;
    return commit(req) == OI_OK;
}
