/*
 * auth.c - who is calling, and what they may do.
 *
 * A caller shows a token as `Authorization: Bearer TOKEN` or `X-API-Key:
 * TOKEN` (OptiInfra's own services use the latter).  The store keeps only
 * each token's SHA-256 and compares hashes in constant time
 * (oi_token_verify); this file never copies, logs or echoes a token.
 *
 * Three roles: admin (everything, including secrets), read_only (GET
 * routes), agent (reads, and writes of its own agent's records: heartbeat,
 * state, locks, metrics; a handler checks the agent with
 * srv_may_write_agent()).  With no token in the store at all, a caller on
 * this host is an administrator and any other caller is refused: that is
 * the state of a fresh install, and server.c will not listen off the host
 * in it.  The question "is there a token?" is asked on every request
 * without one, so the first `optiinfra token create` closes the service at
 * once, without a restart.
 *
 * 401 (with WWW-Authenticate) means "show a valid token"; 403 means "this
 * token may not do that".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "server.h"

bool srv_is_loopback(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static bool caller_is_local(const srv_request *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info && info->client_addr && srv_is_loopback(info->client_addr);
}

/* The token the caller shows, or NULL. */
static const char *shown_token(const srv_request *req)
{
    const char *auth = srv_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        auth += 7;
        while (*auth == ' ')
            auth++;
        return auth;
    }
    return srv_header(req, "X-API-Key");
}

static srv_role role_of(oi_token_role role)
{
    switch (role) {
    case OI_TOKEN_ADMIN:     return SRV_ROLE_ADMIN;
    case OI_TOKEN_AGENT:     return SRV_ROLE_AGENT;
    default:                 return SRV_ROLE_READ_ONLY;
    }
}

/* req->auth from the token shown, or from the no-token rule. */
static bool identify(srv_request *req)
{
    const char *token = shown_token(req);
    if (!token) {
        bool any = false;
        int rc = oi_token_any(req->store, &any);
        if (rc != OI_OK)
            return srv_reply_store_error(req, rc), false;
        if (any)
            return srv_reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                   "this route needs a token: send it as Authorization: "
                                   "Bearer TOKEN or X-API-Key: TOKEN"), false;
        if (!caller_is_local(req))
            return srv_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
                                   "no API token exists yet, so only callers on the "
                                   "server's host are served; create one with `optiinfra "
                                   "token create`"), false;
        req->auth.role = SRV_ROLE_ADMIN;
        req->auth.open_loopback = true;
        return true;
    }
    oi_api_token t = OI_API_TOKEN_INIT;
    int rc = oi_token_verify(req->store, token, &t);
    if (rc == OI_ENOTFOUND)
        return srv_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_token",
                               "the token is not valid (mistyped, or revoked); ask an "
                               "administrator for a new one"), false;
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc), false;
    req->auth.role = role_of(t.role);
    memcpy(req->auth.agent_id, t.agent_id, sizeof req->auth.agent_id);
    oi_api_token_clear(&t);
    return true;
}

bool srv_authenticate(srv_request *req)
{
    if (!identify(req))
        return false;
    srv_access need = req->route->access;
    srv_role role = req->auth.role;
    if (need == SRV_ADMIN && role != SRV_ROLE_ADMIN)
        return srv_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
                               "%s %s needs an admin token", req->method, req->path), false;
    if (need == SRV_AGENT_WRITE && role == SRV_ROLE_READ_ONLY)
        return srv_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
                               "a read-only token cannot %s %s", req->method, req->path),
               false;
    return true;
}

bool srv_may_write_agent(srv_request *req, const char *agent_id)
{
    if (req->auth.role == SRV_ROLE_ADMIN)
        return true;
    if (req->auth.role == SRV_ROLE_AGENT && strcasecmp(req->auth.agent_id, agent_id) == 0)
        return true;
    srv_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
                    "this token may write only the records of agent %s", req->auth.agent_id);
    return false;
}

bool srv_may_show_secrets(srv_request *req)
{
    if (req->auth.role == SRV_ROLE_ADMIN)
        return true;
    srv_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
                    "show_secrets=true needs an admin token");
    return false;
}
