/*
 * reply.c - every answer the service gives.
 *
 * Three kinds: a JSON value, an error, and a streamed list.  Every body is
 * JSON (application/json; charset=utf-8) with Cache-Control: no-store,
 * since a body may hold a config shown to an administrator.  Every error
 * has one shape, {"error": {"code": "...", "message": "..."}}: a stable
 * machine-readable code, and the library's one-line message, which says
 * what is wrong and what to do and never holds a secret.  The one
 * exception is the web console's files (routes_console.c): compiled-in
 * bytes with the headers their route gives (srv_reply_static).
 *
 * Library codes map to statuses in one table (srv_status_of): bad input
 * 422, not found 404, conflicts (an existing key, a held lock, a move the
 * state does not allow) 409, a busy or unreachable database or a schema
 * behind the head 503 (busy or unreachable with Retry-After: 1, since
 * trying again soon is the cure: the store reconnects by itself).
 *
 * A request the writer runs (writer.c) is answered on the writer's
 * thread, but libmicrohttpd takes a response only from the thread of the
 * connection: its answer is kept (deferred) and sent when the connection
 * resumes.
 *
 * A streamed list reads its iterator as libmicrohttpd asks for bytes, so
 * memory stays one page of rows whatever the list's length.  A failure
 * after the first bytes cannot change the status any more: the response is
 * cut short (the chunked body never ends), which every HTTP client reports
 * as an error, and the failure is written to the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"
#include "utf8.h"

static void add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

static enum MHD_Result queue(srv_request *req, unsigned status, struct MHD_Response *resp)
{
    req->status = status;
    req->answered = true;
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"optiinfra\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && req->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE && req->retry_soon)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (req->deferred) {  /* answered by the writer: sent once resumed */
        req->pending = resp;
        return MHD_YES;
    }
    enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result srv_reply_send_pending(srv_request *req)
{
    struct MHD_Response *resp = req->pending;
    req->pending = NULL;
    req->deferred = false;
    enum MHD_Result r = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

void srv_reply_drop_pending(srv_request *req)
{
    if (req->pending)
        MHD_destroy_response(req->pending);
    req->pending = NULL;
}

enum MHD_Result srv_reply_text(srv_request *req, unsigned status, const char *content_type,
                               char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    req->bytes = len;
    return queue(req, status, resp);
}

enum MHD_Result srv_reply_static(srv_request *req, unsigned status, const char *const *headers,
                                 const void *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    for (const char *const *h = headers; h[0]; h += 2)
        MHD_add_response_header(resp, h[0], h[1]);
    req->bytes = len;
    return queue(req, status, resp);
}

enum MHD_Result srv_reply_json(srv_request *req, unsigned status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    if (!text)
        oi_oom(0);
    size_t len = strlen(text);
    text = oi_realloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    add_common_headers(resp);
    req->bytes = len;
    return queue(req, status, resp);
}

enum MHD_Result srv_reply_error(srv_request *req, unsigned status, const char *code,
                                const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* One line of valid UTF-8, whatever the message quotes of the request
     * (a CR in a path) and wherever vsnprintf cut it. */
    char *shown = oi_utf8_escape(message);
    json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", shown);
    free(shown);
    return srv_reply_json(req, status, body);
}

unsigned srv_status_of(int rc, const char **code)
{
    switch (rc) {
    case OI_EINVALID:    *code = "invalid";            return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case OI_ENOTFOUND:   *code = "not_found";          return MHD_HTTP_NOT_FOUND;
    case OI_EEXISTS:     *code = "exists";             return MHD_HTTP_CONFLICT;
    case OI_ECONSTRAINT: *code = "constraint";         return MHD_HTTP_CONFLICT;
    case OI_EHELD:       *code = "lock_held";          return MHD_HTTP_CONFLICT;
    case OI_ESTATE:      *code = "illegal_transition"; return MHD_HTTP_CONFLICT;
    case OI_ESTALE:      *code = "stale_fence";        return MHD_HTTP_CONFLICT;
    case OI_ECONFLICT:   *code = "revision_conflict";  return MHD_HTTP_CONFLICT;
    case OI_ECOMPACTED:  *code = "compacted";          return MHD_HTTP_GONE;
    case OI_EBUSY:       *code = "busy";               return MHD_HTTP_SERVICE_UNAVAILABLE;
    case OI_ECONNECT:
    case OI_EAUTH:       *code = "unavailable";        return MHD_HTTP_SERVICE_UNAVAILABLE;
    case OI_ESCHEMA:     *code = "schema_not_at_head"; return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:             *code = "internal";           return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

enum MHD_Result srv_reply_store_error(srv_request *req, int rc)
{
    const char *code;
    unsigned status = srv_status_of(rc, &code);
    srv_worker_store_failed(rc);
    req->retry_soon = rc == OI_EBUSY || rc == OI_ECONNECT;
    return srv_reply_error(req, status, code, "%s", oi_errmsg(req->store));
}

void srv_reply_replace_error(srv_request *req, int rc)
{
    srv_reply_drop_pending(req);
    srv_reply_store_error(req, rc);
}

enum MHD_Result srv_reply_unavailable(srv_request *req, int rc, const char *msg)
{
    return srv_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                           rc == OI_ESCHEMA ? "schema_not_at_head" : "unavailable", "%s", msg);
}

/* ---- streams -------------------------------------------------------------- */

typedef enum { PHASE_PREFIX, PHASE_ROWS, PHASE_SUFFIX, PHASE_DONE, PHASE_FAILED } phase;

typedef struct stream {
    const srv_stream_ops *ops;
    void *state;
    srv_request *req;
    phase phase;
    uint64_t rows;
    char *pending;          /* the text being copied out */
    size_t pending_len, pending_off;
    bool pending_owned;
} stream;

static void set_pending(stream *st, char *text, bool owned)
{
    if (st->pending_owned)
        free(st->pending);
    st->pending = text;
    st->pending_len = text ? strlen(text) : 0;
    st->pending_off = 0;
    st->pending_owned = owned;
}

static void fail_stream(stream *st, int rc)
{
    oi_store *store = st->req->store;
    fprintf(stderr, "optiinfra serve: %s %s: response cut short after %llu rows: %s\n",
            st->req->method, st->req->path, (unsigned long long)st->rows,
            store ? oi_errmsg(store) : oi_strerror(rc));
    srv_worker_store_failed(rc);
    st->phase = PHASE_FAILED;
}

/* The next piece of text into st->pending; false when there is none. */
static bool produce(stream *st, const char *prefix)
{
    json_t *row = NULL;
    switch (st->phase) {
    case PHASE_PREFIX:
        set_pending(st, (char *)prefix, false);
        st->phase = PHASE_ROWS;
        return true;
    case PHASE_ROWS: {
        int rc = st->ops->next_row(st->state, &row);
        if (rc == OI_ITEROVER) {
            st->phase = PHASE_SUFFIX;
            return produce(st, prefix);
        }
        if (rc != OI_OK) {
            fail_stream(st, rc);
            return false;
        }
        char *text = json_dumps(row, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(row);
        size_t len = strlen(text);
        char *piece = oi_malloc(len + 2);
        piece[0] = ',';
        memcpy(piece + 1, text, len + 1);
        free(text);
        set_pending(st, piece, true);
        if (st->rows++ == 0)
            st->pending_off = 1; /* no comma before the first row */
        return true;
    }
    case PHASE_SUFFIX: {
        char *suffix = st->ops->suffix ? st->ops->suffix(st->state, st->rows) : NULL;
        set_pending(st, suffix ? suffix : (char *)"]}\n", suffix != NULL);
        st->phase = PHASE_DONE;
        return true;
    }
    default:
        return false;
    }
}

typedef struct stream_box {
    stream st;
    char prefix[];
} stream_box;

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_box *box = cls;
    stream *st = &box->st;
    size_t n = 0;
    while (n < max) {
        if (st->pending_off == st->pending_len && !produce(st, box->prefix))
            break;
        size_t take = st->pending_len - st->pending_off;
        if (take > max - n)
            take = max - n;
        memcpy(buf + n, st->pending + st->pending_off, take);
        st->pending_off += take;
        n += take;
    }
    st->req->bytes += n;
    if (n > 0)
        return (ssize_t)n;
    return st->phase == PHASE_FAILED ? MHD_CONTENT_READER_END_WITH_ERROR
                                     : MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_stream(void *cls)
{
    stream_box *box = cls;
    set_pending(&box->st, NULL, false);
    box->st.ops->free_state(box->st.state);
    srv_worker_stream_end();
    free(box);
}

enum MHD_Result srv_reply_stream(srv_request *req, unsigned status, const char *prefix,
                                 const srv_stream_ops *ops, void *state)
{
    size_t plen = strlen(prefix);
    stream_box *box = oi_calloc(1, sizeof *box + plen + 1);
    memcpy(box->prefix, prefix, plen + 1);
    box->st.ops = ops;
    box->st.state = state;
    box->st.req = req;
    srv_worker_stream_begin();
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, read_stream, box,
                                          free_stream);
    add_common_headers(resp);
    return queue(req, status, resp);
}
