/*
 * request.c - one HTTP request, from its first byte to its log line.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, then once per piece of the body, then once with no
 * data, when the request is whole.  The body is gathered into one buffer
 * up to the size limit; a Content-Length over the limit is answered 413 at
 * once, without reading the body, and a body that grows past it is
 * dropped as it comes and answered 413 at the end.  A whole request is
 * routed, its caller authenticated, and its handler run on the worker's
 * store, or, for a request that writes on SQLite, handed to the writer
 * (writer.c) with its connection suspended until the answer is ready;
 * every path ends in exactly one answer (reply.c).  A read whose database
 * connection was lost under it is run once more on a new connection
 * (run_kept).
 *
 * A request's state is made when its URL arrives, before libmicrohttpd
 * decodes it (srv_uri_received), because decoding loses one thing: %00
 * becomes a NUL, and every string after it sees the path or value cut
 * there (/v1/agents/a%00b would act on agent "a").  No name or value of
 * the store holds a NUL, so such a URL is answered 400 whatever the route.
 *
 * The completion handler writes the access-log line: time, method, path
 * (never the query string, which may carry an agent id or show_secrets,
 * nor any header, which may carry a token; control characters escaped, so
 * that a path cannot forge a line), status, duration and body bytes; and
 * counts the request for /metrics.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "alloc.h"
#include "server.h"
#include "utf8.h"

static size_t max_body = SRV_DEFAULT_MAX_BODY;
static bool access_log = true;
static atomic_int in_flight;

void srv_request_setup(size_t max_body_bytes, bool log_requests)
{
    max_body = max_body_bytes;
    access_log = log_requests;
}

int srv_requests_in_flight(void)
{
    return atomic_load(&in_flight);
}

int64_t srv_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the body ------------------------------------------------------------- */

static bool declared_too_large(const srv_request *req)
{
    const char *length = srv_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!length)
        return false;
    char *end;
    unsigned long long n = strtoull(length, &end, 10);
    return *end == '\0' && n > max_body;
}

static void take_body(srv_request *req, const char *data, size_t size)
{
    if (req->body_too_large)
        return;
    if (size > max_body - req->body_len) {
        req->body_too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return;
    }
    size_t need = req->body_len + size + 1;
    if (need > req->body_cap) {
        req->body_cap = need > 2 * req->body_cap ? need : 2 * req->body_cap;
        req->body = oi_realloc(req->body, req->body_cap);
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = '\0';
}

static enum MHD_Result encoded_nul(srv_request *req)
{
    return srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                           "the URL holds %%00, an encoded NUL byte, which no name or value "
                           "may contain; remove it");
}

static enum MHD_Result too_large(srv_request *req)
{
    return srv_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                           "the request body is larger than %zu bytes; send less at a time "
                           "(metrics: smaller batches) or start the server with a larger "
                           "--max-body", max_body);
}

/* ---- dispatch ------------------------------------------------------------- */

static enum MHD_Result not_routed(srv_request *req, int found, const char *allow)
{
    if (found == SRV_ROUTE_NO_PATH)
        return srv_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found",
                               "no route %s; the routes are in /openapi.json", req->path);
    req->allow = allow;
    return srv_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                           "%s %s is not a route; allowed: %s", req->method, req->path, allow);
}

/* The route's work on a routed request: the store, the caller, the
 * handler; *handed_over when the writer took the request to answer it. */
static enum MHD_Result run_route(srv_request *req, bool *handed_over)
{
    *handed_over = false;
    if (req->route->access != SRV_OPEN) {
        int code;
        char msg[512];
        req->store = srv_worker_store(&code, msg, sizeof msg);
        if (!req->store) {
            /* Each request tries to reconnect: the database may be back in a moment. */
            req->retry_soon = code == OI_ECONNECT;
            return srv_reply_unavailable(req, code, msg);
        }
        /* GET reads from the replica, if any; a write and its reads run
         * on the primary (worker.c).  A replica the store may not read
         * is a 503 now, before a streamed list has sent its 200. */
        bool get = strcmp(req->method, "GET") == 0;
        oi_store_use_replica(req->store, get);
        if (!srv_authenticate(req))
            return MHD_YES; /* answered */
        if (get && oi_store_reads_ready(req->store) != OI_OK)
            return srv_reply_unavailable(req, OI_ECONNECT, oi_errmsg(req->store));
    }
    if (req->route->prepare) {
        req->route->prepare(req);
        if (req->answered) /* refused before anything is written */
            return MHD_YES;
    }
    bool writes = req->store && strcmp(req->method, "GET") != 0;
    *handed_over = writes && srv_writer_submit(req);
    if (*handed_over)
        return MHD_YES; /* suspended until the writer has answered it */
    return req->route->handler(req);
}

/* ---- a connection lost under a request -------------------------------------- */

/* A watch's answer may come from the hub's thread once its connection is
 * suspended, so it cannot be held back here. */
static bool is_watch(const srv_request *req)
{
    for (const srv_route *r = srv_routes_watch; r->pattern; r++)
        if (req->route == r)
            return true;
    return false;
}

/* Whether the answer kept is the 503 of a connection lost under the
 * route (the store's last failure).  The worker has marked the store to
 * be opened again, and the library reconnects besides. */
static bool lost_connection(const srv_request *req)
{
    return req->pending && req->status == MHD_HTTP_SERVICE_UNAVAILABLE && req->store &&
           oi_errcode(req->store) == OI_ECONNECT;
}

/*
 * The route's answer is kept (req->deferred, as the writer's are) until it
 * is known to stand.  A GET whose connection was lost under it runs once
 * more, on a new connection, rather than fail: reading twice changes
 * nothing.  A write that lost its connection is not run again, since
 * whether it committed is unknown: its 503 says to retry soon, for the
 * database is being reconnected.  (A connection the database closed
 * before the request is replaced by the library before any statement is
 * sent, backend/postgres.c: reads and writes alike go through.)
 */
static enum MHD_Result run_kept(srv_request *req)
{
    bool handed_over;
    req->deferred = true;
    enum MHD_Result r = run_route(req, &handed_over);
    if (handed_over)
        return r;
    if (lost_connection(req) && strcmp(req->method, "GET") == 0) {
        srv_reply_drop_pending(req);
        req->answered = false;
        req->retry_soon = false;
        req->store = NULL;
        r = run_route(req, &handed_over);
    }
    if (lost_connection(req))
        MHD_add_response_header(req->pending, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return req->pending ? srv_reply_send_pending(req) : r;
}

static enum MHD_Result dispatch(srv_request *req)
{
    char allow[64];
    bool handed_over;
    int found = srv_route_find(req, allow, sizeof allow);
    if (found != SRV_ROUTE_FOUND)
        return not_routed(req, found, allow);
    return is_watch(req) ? run_route(req, &handed_over) : run_kept(req);
}

void *srv_uri_received(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    srv_request *req = oi_calloc(1, sizeof *req);
    req->conn = conn;
    req->encoded_nul = strstr(uri, "%00") != NULL;
    req->started = srv_monotonic_us();
    atomic_fetch_add(&in_flight, 1);
    return req;
}

enum MHD_Result srv_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **req_cls)
{
    (void)cls, (void)conn, (void)version;
    srv_request *req = *req_cls;
    if (!req->method) { /* the first call: the headers are in */
        req->method = oi_strdup(method);
        req->path = oi_strdup(url);
        if (req->encoded_nul)
            return encoded_nul(req);
        if (declared_too_large(req))
            return too_large(req);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->pending)
        return srv_reply_send_pending(req);
    if (req->answered)
        return MHD_YES;
    return req->body_too_large ? too_large(req) : dispatch(req);
}

/* ---- completion ----------------------------------------------------------- */

static void log_request(const srv_request *req, int64_t micros)
{
    char at[OI_TIME_BUFSZ];
    char *method = oi_utf8_escape(req->method);
    char *path = oi_utf8_escape(req->path);
    /* One fprintf: stdio's lock keeps the lines of two workers apart. */
    fprintf(stderr, "%s %s %s %u %.3fms %" PRIu64 "B\n", oi_time_format(oi_time_now(), at),
            method, path, req->status, (double)micros / 1000.0, req->bytes);
    free(method);
    free(path);
}

static void free_request(srv_request *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        free(req->params[i]);
    srv_reply_drop_pending(req); /* its connection died while the writer ran it */
    if (req->prepared)
        req->prepared_free(req->prepared);
    free(req->body);
    free(req->method);
    free(req->path);
    free(req);
}

void srv_completed_handler(void *cls, struct MHD_Connection *conn, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    srv_request *req = *req_cls;
    if (!req)
        return;
    if (req->method) { /* NULL: closed before its headers were whole, nothing to log */
        int64_t micros = srv_monotonic_us() - req->started;
        if (access_log)
            log_request(req, micros);
        srv_stats_record(req, micros);
    }
    free_request(req);
    *req_cls = NULL;
    atomic_fetch_sub(&in_flight, 1);
}
