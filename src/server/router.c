/*
 * router.c - finding the route of a request.
 *
 * Routes are declared in tables, one per routes_*.c file; this file lists
 * the tables and matches a method and path against them, segment by
 * segment.  A {name} segment of a pattern matches one non-empty segment of
 * the path; a final {name...} matches the rest of the path, slashes
 * included (a lock's resource may contain them).  libmicrohttpd has
 * already percent-decoded the path.  One trailing slash is ignored, so
 * "/agents/" is "/agents", as the Go registry's router answers it.
 *
 * A path some route has with another method is 405 with an Allow list,
 * not 404: the caller got the method wrong, not the path.  The tables are
 * small (some sixty routes); a linear scan costs less than a request's
 * smallest database round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"

static const srv_route *const tables[] = {
    srv_routes_service, srv_routes_agents,  srv_routes_locks,      srv_routes_configs,
    srv_routes_capabilities, srv_routes_orchestration, srv_routes_metrics,
    srv_routes_prometheus, srv_routes_compat, srv_routes_python, srv_routes_watch,
    srv_routes_console, NULL
};

void srv_route_each(void (*fn)(const srv_route *route, void *arg), void *arg)
{
    for (const srv_route *const *t = tables; *t; t++)
        for (const srv_route *r = *t; r->pattern; r++)
            fn(r, arg);
}

/* The length of the segment at s (up to '/' or the end). */
static size_t segment_len(const char *s)
{
    return strcspn(s, "/");
}

static bool is_rest_placeholder(const char *seg, size_t len)
{
    return len > 5 && seg[0] == '{' && memcmp(seg + len - 4, "...}", 4) == 0;
}

/*
 * Whether path matches pattern; the placeholders' values go to params
 * (when not NULL, as new strings; *nparams counts them).
 */
static bool match(const char *pattern, const char *path, char **params, size_t *nparams)
{
    size_t n = 0;
    size_t path_len = strlen(path);
    if (path_len > 1 && path[path_len - 1] == '/')
        path_len--;
    const char *p = pattern, *u = path, *u_end = path + path_len;
    while (*p && u < u_end) {
        if (*p++ != '/' || *u++ != '/')
            return false;
        size_t plen = segment_len(p);
        size_t ulen = (size_t)(u_end - u);
        ulen = segment_len(u) < ulen ? segment_len(u) : ulen;
        if (p[0] == '{') {
            if (is_rest_placeholder(p, plen))
                ulen = (size_t)(u_end - u);
            if (ulen == 0 || n == SRV_MAX_PARAMS)
                return false;
            if (params)
                params[n] = oi_strndup(u, ulen);
            n++;
        } else if (plen != ulen || memcmp(p, u, ulen) != 0) {
            return false;
        }
        p += plen;
        u += ulen;
    }
    if (*p || u != u_end) {
        if (params)
            for (size_t i = 0; i < n; i++)
                free(params[i]);
        return false;
    }
    *nparams = n;
    return true;
}

static void add_allowed(char *allow, size_t size, const char *method)
{
    if (strstr(allow, method))
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

int srv_route_find(srv_request *req, char *allow, size_t allowsize)
{
    int result = SRV_ROUTE_NO_PATH;
    size_t n;
    allow[0] = '\0';
    for (const srv_route *const *t = tables; *t; t++) {
        for (const srv_route *r = *t; r->pattern; r++) {
            if (!match(r->pattern, req->path, NULL, &n))
                continue;
            if (strcmp(r->method, req->method) == 0) {
                match(r->pattern, req->path, req->params, &req->nparams);
                req->route = r;
                return SRV_ROUTE_FOUND;
            }
            add_allowed(allow, allowsize, r->method);
            result = SRV_ROUTE_NO_METHOD;
        }
    }
    return result;
}
