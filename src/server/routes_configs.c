/*
 * routes_configs.c - /v1/agents/{agent}/configs: an agent's typed configs,
 * as `optiinfra config list|get|set|unset`.
 *
 *   GET    /v1/agents/{agent}/configs[?show_secrets=true]        {"configs": [...]}
 *   GET    /v1/agents/{agent}/configs/{key}[?show_secrets=true]  one config
 *   PUT    /v1/agents/{agent}/configs/{key}[?show_secrets=true]  set it (admin)
 *          {"value": ..., "type": "number", "description": "...", "sensitive": true,
 *           "revision": 12, "fence": 7}
 *   DELETE /v1/agents/{agent}/configs/{key}                      unset it (admin)
 *
 * {agent} is an id or a name, as the CLI's AGENT argument; {key} is the
 * rest of the path, so that a key holding a slash can be named.  Configs
 * are answered in the CLI's --json shape (view_config): a sensitive value
 * is VIEW_MASKED_VALUE unless an administrator adds show_secrets=true,
 * which any other caller is refused (403) rather than silently given the
 * mask, so that a client never mistakes the mask for the value.
 *
 * The PUT body: "value" is required.  A JSON string is taken as the text
 * itself ("1500", "gpt-4o").  A number is taken as the shortest text that
 * reads back as the same double (1500 and 1500.0 -> "1500", 0.1 -> "0.1"):
 * JSON does not tell 1500.0 from 1500, and an integer config must accept
 * what a Python client writes for it.  A boolean, object or array is taken
 * as its compact JSON text (true -> "true", {"a": [0.1]} ->
 * "{\"a\":[0.1]}"), its numbers in 15 significant digits when that reads
 * back as the same values, else in 17.  Send a string to store an exact
 * text.  The library then checks the text against the config's type,
 * whichever form it came in.  "type" absent keeps the key's type (string
 * for a new key), as `config set` without --type; "description" absent
 * keeps it; "sensitive" absent keeps the flag (a new key is not
 * sensitive).  Any other member is refused: a misspelt "sensitive" must
 * not leave a secret unmasked.
 *
 * Compare-and-set (1.3): a config's answer carries its revision, in the
 * body ("revision") and as its ETag ("12", a strong tag).  A PUT may name
 * the revision it read, as If-Match: "12" (HTTP's precondition: 412 when
 * the key moved on or does not exist) or as "revision": 12 in the body (409
 * revision_conflict, 404 when the key does not exist, as the library says);
 * either way the check and the write are one statement and a refused PUT
 * writes nothing.  If-Match takes one tag: a list, a weak tag or "*" is
 * answered 400, since a precondition the service cannot check must not be
 * ignored.  "fence": N writes only if N is its lock's newest fencing token
 * (409 stale_fence otherwise), checked in the write's transaction.
 *
 * A PUT answers 201 when it created the key and 200 when it updated it.
 * The library's upsert writes created_at and updated_at from one clock
 * reading on insert, and a new updated_at on update, so the two are equal
 * exactly for a new key (an update in the very microsecond of the key's
 * creation would read as a creation): one statement, no second read that
 * another writer could slip between.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "number.h"
#include "server.h"
#include "views/views.h"

/* Whether the caller asked for secrets and may see them; false when answered. */
static bool secrets_shown(srv_request *req, bool *show)
{
    return srv_query_bool(req, "show_secrets", show) && (!*show || srv_may_show_secrets(req));
}

/* ---- GET /v1/agents/{agent}/configs ---------------------------------------- */

typedef struct config_list {
    oi_iter *iter;
    bool show_secrets;
} config_list;

static int config_list_next(void *state, json_t **row)
{
    config_list *l = state;
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    int rc = oi_agent_config_next(l->iter, &c);
    if (rc == OI_OK)
        *row = view_config(&c, l->show_secrets);
    oi_agent_config_clear(&c);
    return rc;
}

static void config_list_free(void *state)
{
    config_list *l = state;
    oi_iter_free(l->iter);
    free(l);
}

static const srv_stream_ops config_list_ops = {config_list_next, NULL, config_list_free};

static enum MHD_Result list_configs(srv_request *req)
{
    bool show;
    oi_agent a = OI_AGENT_INIT;
    if (!secrets_shown(req, &show) || !srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    config_list *l = oi_calloc(1, sizeof *l);
    l->show_secrets = show;
    int rc = oi_agent_config_iter_by_agent(&l->iter, req->store, a.id);
    oi_agent_clear(&a);
    if (rc != OI_OK) {
        free(l);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"configs\":[", &config_list_ops, l);
}

/* ---- GET /v1/agents/{agent}/configs/{key} ---------------------------------- */

/* Answer a config with its revision as ETag.  The answer is kept, as the
 * writer's answers are (reply.c), so that the header can be added to it,
 * then sent at once, unless the writer runs this request and sends it. */
static enum MHD_Result reply_config(srv_request *req, unsigned status,
                                    const oi_agent_config *c, bool show_secrets)
{
    bool writer_sends = req->deferred;
    char etag[32];
    req->deferred = true;
    srv_reply_json(req, status, view_config(c, show_secrets));
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)c->revision);
    MHD_add_response_header(req->pending, MHD_HTTP_HEADER_ETAG, etag);
    return writer_sends ? MHD_YES : srv_reply_send_pending(req);
}

static enum MHD_Result get_config(srv_request *req)
{
    bool show;
    oi_agent a = OI_AGENT_INIT;
    if (!secrets_shown(req, &show) || !srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    int rc = oi_agent_config_find(req->store, a.id, srv_param(req, 1), &c);
    enum MHD_Result r = rc == OI_OK ? reply_config(req, MHD_HTTP_OK, &c, show)
                                    : srv_reply_store_error(req, rc);
    oi_agent_config_clear(&c);
    oi_agent_clear(&a);
    return r;
}

/* ---- PUT /v1/agents/{agent}/configs/{key} ---------------------------------- */

/* What a PUT asks for; value is borrowed from the body, or owned_value.
 * opts holds its type, description, sensitivity and conditions. */
typedef struct config_change {
    const char *value;
    char *owned_value;
    oi_config_set_options opts;
    bool if_match;  /* the revision came as If-Match: a conflict is 412 */
} config_change;

/* The body names only members a PUT takes; false when answered. */
static bool only_known_members(srv_request *req, json_t *body)
{
    static const char *const known[] = {"value", "type", "description", "sensitive",
                                        "revision", "fence", NULL};
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], name) != 0)
            i++;
        if (!known[i])
            return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                   "unknown member \"%s\": a config takes \"value\", \"type\", "
                                   "\"description\", \"sensitive\", \"revision\" and "
                                   "\"fence\"", name), false;
    }
    return true;
}

/* v's compact JSON text, its reals in 15 significant digits when that
 * reads back as the same value ([0.1], not [0.10000000000000001]), else in
 * jansson's 17, which always does. */
static char *compact_text(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    json_t *back = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    bool same = back && json_equal(back, v);
    json_decref(back);
    if (same)
        return text;
    free(text);
    return srv_json_text(v);
}

/* "value" as text, by the rule of the file comment; false when answered. */
static bool read_value(srv_request *req, json_t *body, config_change *ch)
{
    json_t *v = json_object_get(body, "value");
    if (!v || json_is_null(v))
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                               "give the config's \"value\": a string, or a number, boolean "
                               "or JSON value"), false;
    char number[OI_NUMBER_BUFSZ];
    if (json_is_string(v))
        ch->value = json_string_value(v);
    else if (json_is_real(v))
        ch->value = ch->owned_value = oi_strdup(oi_number_format(json_real_value(v), number));
    else
        ch->value = ch->owned_value = compact_text(v);
    return true;
}

/* "sensitive": true, false, or absent (keep); false when answered. */
static bool read_sensitivity(srv_request *req, json_t *body, oi_sensitivity *out)
{
    json_t *v = json_object_get(body, "sensitive");
    *out = OI_SENSITIVE_KEEP;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                               "\"sensitive\" must be true or false"), false;
    *out = json_is_true(v) ? OI_SENSITIVE_YES : OI_SENSITIVE_NO;
    return true;
}

/* Member `name` as a whole number of at least `min` into *out, *given
 * telling whether it is there; false when answered. */
static bool read_whole(srv_request *req, json_t *body, const char *name, json_int_t min,
                       int64_t *out, bool *given)
{
    json_t *v = json_object_get(body, name);
    *given = v && !json_is_null(v);
    if (!*given)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                               "\"%s\" must be a whole number of at least %lld", name,
                               (long long)min), false;
    *out = json_integer_value(v);
    return true;
}

/* If-Match: "N", one strong tag holding a revision; false when answered. */
static bool read_if_match(srv_request *req, config_change *ch)
{
    const char *tag = srv_header(req, MHD_HTTP_HEADER_IF_MATCH);
    if (!tag)
        return true;
    char *end = NULL;
    tag += strspn(tag, " \t");
    errno = 0;
    long long revision = tag[0] == '"' && tag[1] >= '0' && tag[1] <= '9'
                             ? strtoll(tag + 1, &end, 10) : -1;
    if (revision < 0 || errno || *end != '"' || end[1 + strspn(end + 1, " \t")] != '\0')
        return srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                               "If-Match must be one strong entity tag, the config's revision "
                               "in quotes as its ETag gives it (If-Match: \"12\")"), false;
    if (ch->opts.if_revision && ch->opts.revision != revision)
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                               "If-Match says revision %lld and the body %lld: give one",
                               revision, (long long)ch->opts.revision), false;
    ch->opts.if_revision = ch->if_match = true;
    ch->opts.revision = revision;
    return true;
}

static bool read_change(srv_request *req, json_t *body, config_change *ch)
{
    return only_known_members(req, body) && read_value(req, body, ch) &&
           srv_member_string(req, body, "type", &ch->opts.type) &&
           srv_member_string(req, body, "description", &ch->opts.description) &&
           read_sensitivity(req, body, &ch->opts.sensitive) &&
           read_whole(req, body, "revision", 0, &ch->opts.revision, &ch->opts.if_revision) &&
           read_whole(req, body, "fence", 1, &ch->opts.fence, &ch->opts.fenced) &&
           read_if_match(req, ch);
}

/* 201 for a key the set created, 200 for one it updated (file comment). */
static unsigned set_status(const oi_agent_config *stored)
{
    return stored->created_at == stored->updated_at ? MHD_HTTP_CREATED : MHD_HTTP_OK;
}

/* A refused set: a precondition given as If-Match that failed is 412. */
static enum MHD_Result set_refused(srv_request *req, const config_change *ch, int rc)
{
    if (!ch->if_match || (rc != OI_ECONFLICT && rc != OI_ENOTFOUND))
        return srv_reply_store_error(req, rc);
    return srv_reply_error(req, MHD_HTTP_PRECONDITION_FAILED,
                           rc == OI_ECONFLICT ? "revision_conflict" : "not_found", "%s",
                           oi_errmsg(req->store));
}

static enum MHD_Result set_config(srv_request *req)
{
    bool show;
    json_t *body;
    if (!secrets_shown(req, &show) || !srv_body_json(req, 'o', false, &body))
        return MHD_YES;
    config_change ch = {.opts = OI_CONFIG_SET_OPTIONS_INIT};
    oi_agent a = OI_AGENT_INIT;
    oi_agent_config stored = OI_AGENT_CONFIG_INIT;
    enum MHD_Result r = MHD_YES;
    if (read_change(req, body, &ch) && srv_agent_lookup(req, srv_param(req, 0), &a)) {
        int rc = oi_config_set_with(req->store, a.id, srv_param(req, 1), ch.value, &ch.opts,
                                    &stored);
        r = rc == OI_OK ? reply_config(req, set_status(&stored), &stored, show)
                        : set_refused(req, &ch, rc);
    }
    oi_agent_config_clear(&stored);
    oi_agent_clear(&a);
    free(ch.owned_value);
    json_decref(body);
    return r;
}

/* ---- DELETE /v1/agents/{agent}/configs/{key} ------------------------------- */

static enum MHD_Result unset_config(srv_request *req)
{
    oi_agent a = OI_AGENT_INIT;
    const char *key = srv_param(req, 1);
    if (!srv_agent_lookup(req, srv_param(req, 0), &a))
        return MHD_YES;
    int rc = oi_config_unset(req->store, a.id, key);
    enum MHD_Result r = rc == OI_OK
        ? srv_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:s, s:b}", "agent_id", a.id,
                                                     "key", key, "deleted", 1))
        : srv_reply_store_error(req, rc);
    oi_agent_clear(&a);
    return r;
}

const srv_route srv_routes_configs[] = {
    {"GET", "/v1/agents/{agent}/configs", list_configs, SRV_READ, NULL},
    {"GET", "/v1/agents/{agent}/configs/{key...}", get_config, SRV_READ, NULL},
    {"PUT", "/v1/agents/{agent}/configs/{key...}", set_config, SRV_ADMIN, NULL},
    {"DELETE", "/v1/agents/{agent}/configs/{key...}", unset_config, SRV_ADMIN, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
