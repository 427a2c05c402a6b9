/*
 * body.c - reading what a request says: its JSON body, its query
 * arguments, the agent it names.
 *
 * Each reader either gives the value or answers the request with the error
 * that says what is wrong (400 malformed, 415 not JSON, 422 well-formed
 * but invalid, 404 no such agent) and returns false, so that a handler is
 * a straight line of "if (!read(...)) return MHD_YES;".
 *
 * Bodies are parsed by jansson with duplicate keys refused (the CLI's
 * --data and the library refuse them too) and NUL bytes refused, so an
 * object means one thing on every path.  Text handed to the library as a
 * JSON column is the value re-serialised compactly: what the library
 * checks is exactly what it stores.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "alloc.h"
#include "server.h"

const char *srv_query(const srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_header(const srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_param(const srv_request *req, size_t i)
{
    return i < req->nparams ? req->params[i] : NULL;
}

static bool is_json_type(const char *type)
{
    if (!type)
        return false;
    size_t n = strcspn(type, ";");
    while (n > 0 && type[n - 1] == ' ')
        n--;
    if (n == 16 && strncasecmp(type, "application/json", 16) == 0)
        return true;
    return n > 5 && strncasecmp(type + n - 5, "+json", 5) == 0;
}

static const char *kind_name(char kind)
{
    return kind == 'o' ? "a JSON object" : kind == 'a' ? "a JSON array" : "JSON";
}

static bool of_kind(const json_t *v, char kind)
{
    return (kind == 'o' && json_is_object(v)) || (kind == 'a' && json_is_array(v)) ||
           (kind != 'o' && kind != 'a');
}

bool srv_body_json(srv_request *req, char kind, bool empty_ok, json_t **out)
{
    *out = NULL;
    if (!req->body || req->body_len == 0) {
        if (empty_ok) {
            *out = kind == 'a' ? json_array() : json_object();
            return true;
        }
        srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                        "the request needs a body: %s", kind_name(kind));
        return false;
    }
    if (!is_json_type(srv_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        srv_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                        "send the body as JSON, with Content-Type: application/json");
        return false;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        char *near = strstr(jerr.text, " near "); /* jansson quotes the body's own bytes */
        if (near)
            *near = '\0';
        srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                        "the body is not valid JSON: %s at line %d column %d", jerr.text,
                        jerr.line, jerr.column);
        return false;
    }
    if (!of_kind(v, kind)) {
        json_decref(v);
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "the body must be %s", kind_name(kind));
        return false;
    }
    *out = v;
    return true;
}

bool srv_member_string(srv_request *req, json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "\"%s\" must be a string", name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

char *srv_json_text(json_t *value)
{
    if (!value || json_is_null(value))
        return NULL;
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        oi_oom(0);
    return text;
}

bool srv_query_duration(srv_request *req, const char *name, int64_t *micros)
{
    const char *text = srv_query(req, name);
    *micros = 0;
    if (!text)
        return true;
    char msg[OI_VALUE_MSGSZ]; /* the validator's words, which never echo the text */
    if (oi_value_check(OI_KIND_DURATION, name, text, strlen(text), msg, sizeof msg) != OI_OK) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "%s", msg);
        return false;
    }
    oi_duration_parse(text, micros);
    return true;
}

bool srv_query_bool(srv_request *req, const char *name, bool *out)
{
    const char *text = srv_query(req, name);
    *out = false;
    if (!text)
        return true;
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "%s must be true or false, not '%s'", name, text);
    return false;
}

bool srv_agent_lookup(srv_request *req, const char *ref, oi_agent *out)
{
    int rc = oi_agent_lookup(req->store, ref, out);
    if (rc == OI_OK)
        return true;
    srv_reply_store_error(req, rc);
    return false;
}

/* ---- repeated and unknown query arguments, content types ------------------ */

typedef struct query_values {
    const char *name;
    const char **values;
    size_t n, cap;
} query_values;

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    query_values *q = cls;
    if (strcmp(key, q->name) == 0 && value) {
        q->values = oi_grow(q->values, &q->cap, q->n, sizeof *q->values);
        q->values[q->n++] = value;
    }
    return MHD_YES;
}

const char **srv_query_all(const srv_request *req, const char *name, size_t *n)
{
    query_values q = {name, NULL, 0, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_value, &q);
    *n = q.n;
    return q.values;
}

typedef struct query_check {
    const char *const *known;
    const char *unknown; /* the first argument not in known */
} query_check;

static enum MHD_Result check_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind, (void)value;
    query_check *c = cls;
    if (!*key) /* "?&a=1": an empty name carries nothing to misspell */
        return MHD_YES;
    for (const char *const *k = c->known; *k; k++)
        if (strcmp(key, *k) == 0)
            return MHD_YES;
    c->unknown = key;
    return MHD_NO;
}

bool srv_query_known(srv_request *req, const char *const *known)
{
    query_check c = {known, NULL};
    char list[512] = "";
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_name, &c);
    if (!c.unknown)
        return true;
    for (const char *const *k = known; *k; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 k == known ? "" : ", ", *k);
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "unknown query argument '%s' (known: %s)", c.unknown, list);
    return false;
}

bool srv_content_type_is(const srv_request *req, const char *type)
{
    const char *given = srv_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!given)
        return false;
    size_t n = strcspn(given, ";");
    while (n > 0 && given[n - 1] == ' ')
        n--;
    return n == strlen(type) && strncasecmp(given, type, n) == 0;
}

bool srv_body_is_json(const srv_request *req)
{
    return is_json_type(srv_header(req, MHD_HTTP_HEADER_CONTENT_TYPE));
}
