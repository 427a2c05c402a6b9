/*
 * routes_metrics.c - /v1/metrics: the agents' time series, written in
 * batches, read a page at a time, and summarised.
 *
 *   POST /v1/metrics             a batch: a JSON array of metric objects, or
 *                                NDJSON (Content-Type: application/x-ndjson);
 *                                all or nothing; 200 {"accepted": N} (not 201:
 *                                a batch is no one resource a Location names)
 *   GET  /v1/metrics             one page, as `metrics query`:
 *                                {"metrics": [...], "next_cursor": C or null}
 *   GET  /v1/metrics/aggregate   as `metrics aggregate`: {"groups": [...]}
 *
 * The query arguments are the CLI's options without their dashes ('_' for
 * an inner one): agent, name (repeat it), from, to, since, where=KEY=VALUE
 * (repeat it), and for a query limit (100 unless given, as the CLI; 0:
 * every row), cursor and newest_first; for an aggregate bucket and by.
 * They are read with the CLI's rules and bounds, and an argument the route
 * does not know is refused (422): a misspelt filter must not silently
 * widen the answer.  Rows and groups use the CLI's --json views and stream
 * from the library's iterators; a page's cursor is read from its iterator
 * after the last row, so it ends the stream.
 *
 * One grammar for a metric.  A row of a batch is what `metrics import
 * --format ndjson` reads, and only oi_metrics_import() reads it: an NDJSON
 * body goes to it as it came, and a JSON array is first reframed as NDJSON,
 * one element per line.  The reframing finds where each element ends (it
 * follows strings and brackets) and judges nothing inside one, so every
 * element, even one that is not JSON, gets the import's verdict; only the
 * array's own punctuation is the server's to refuse (400).  A line break
 * between tokens becomes a space, as export writes stored JSON on one line;
 * one inside a string is kept, so the import refuses that element, at its
 * line.
 *
 * All or nothing: the import's reading half (oi_metrics_batch_read()) reads
 * the whole request as one batch, on the worker that received it, so every
 * row is checked (agent resolved, number, time, JSON) before anything is
 * written; its writing half (oi_metrics_batch_write()) then writes the
 * batch in one transaction, on SQLite in the writer's group commit, which
 * so spends its time writing, not parsing.  A bad row is 422 with the import's
 * reason, naming the row: "line N" of NDJSON, "row I" (from 0) of an array,
 * also as members of the error ("line" or "index", and "reason"), as
 * `metrics import --json` reports them.  An unknown agent is such a row
 * (422), not a missing resource.
 *
 * Agent tokens write only their own agent's rows.  The import has no hook
 * to refuse a row by its agent, so the server reads each row's "agent"
 * first, splitting lines as the import does and parsing each with the same
 * jansson call, and resolves it as the import does (oi_agent_lookup()).  A
 * row it cannot read is left alone: the import refuses it.  The check
 * comes first, so a batch with another agent's row is 403 even when a
 * later row is bad too.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "alloc.h"
#include "server.h"
#include "views/views.h"

#define NDJSON_TYPE "application/x-ndjson"
#define DEFAULT_PAGE 100      /* `metrics query`'s page */
#define MAX_PAGE 1000000000u  /* and its largest --limit */
#define SECOND INT64_C(1000000)

/* ---- POST /v1/metrics: the batch -------------------------------------------- */

/* A batch as NDJSON text: the body itself, or the array reframed. */
typedef struct batch {
    const char *text;
    size_t len;
    char *reframed; /* owned; NULL for an NDJSON body */
} batch;

/* A reframed array opens with a blank line, so that an element cannot
 * start the text: the import drops a byte order mark there, which inside
 * an array is not JSON.  Element i is on line i + 2. */
#define ARRAY_FIRST_LINE 2

/* A row is named to the client as it wrote it: "line N" of NDJSON (from
 * 1), "row I" of an array (from 0). */
static const char *row_noun(bool array)
{
    return array ? "row" : "line";
}

static bool is_array(const batch *b)
{
    return b->reframed != NULL;
}

static uint64_t row_number(const batch *b, uint64_t line)
{
    return is_array(b) ? line - ARRAY_FIRST_LINE : line;
}

/* 422 for a refused row, row or line `at`. */
static enum MHD_Result refuse_row(srv_request *req, bool array, uint64_t at,
                                  const char *reason)
{
    char message[OI_IMPORT_REASON_MAX + 64];
    snprintf(message, sizeof message, "%s %llu: %s; nothing was written", row_noun(array),
             (unsigned long long)at, reason);
    json_t *body = json_pack("{s:{s:s, s:s, s:I, s:s}}", "error", "code", "invalid",
                             "message", message, array ? "index" : "line", (json_int_t)at,
                             "reason", reason);
    if (!body) /* a reason cut inside a UTF-8 sequence */
        return srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "%s", message);
    return srv_reply_json(req, MHD_HTTP_UNPROCESSABLE_CONTENT, body);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_blanks(const char *text, size_t len, size_t at)
{
    while (at < len && is_blank(text[at]))
        at++;
    return at;
}

static bool malformed_array(srv_request *req, const char *what, size_t at)
{
    srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                    "the body is not a JSON array of metrics: %s (byte %zu)", what, at);
    return false;
}

/* A body that does not open with '[' is no array: srv_body_json() says
 * whether it is malformed (400) or JSON of another kind (422). */
static bool not_an_array(srv_request *req)
{
    json_t *v = NULL;
    bool parsed = srv_body_json(req, 'a', false, &v);
    json_decref(v);
    return parsed ? malformed_array(req, "it does not open with '['", 0) : false;
}

typedef enum { ELEMENT_COPIED, ELEMENT_MISSING, ELEMENT_LINE_IN_STRING } element_copy;

/*
 * Copy the element at body[*at] to out + *n, up to the ',' or ']' that
 * ends it (*at is left on it, or at the end of the body): strings and
 * brackets are followed, nothing else is judged.  A line feed inside a
 * string cannot be carried on one line, and is not JSON: the copy stops.
 */
static element_copy copy_element(const char *body, size_t len, size_t *at, char *out,
                                 size_t *n)
{
    int depth = 0;
    bool in_string = false, copied = false;
    size_t i = *at;
    for (; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\n')
                return ELEMENT_LINE_IN_STRING;
            if (c == '\\' && i + 1 < len && body[i + 1] != '\n')
                out[(*n)++] = body[i++], c = body[i]; /* the escaped byte, whatever it is */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        } else if (depth == 0 && (c == ',' || c == ']')) {
            break;
        } else if (c == '\n' || c == '\r') {
            c = ' ';
        }
        copied = copied || !is_blank(c);
        out[(*n)++] = c;
    }
    *at = i;
    return copied ? ELEMENT_COPIED : ELEMENT_MISSING;
}

/* Why element `row` of the array could not be copied; false, answered. */
static bool copy_failed(srv_request *req, element_copy why, size_t row, size_t at,
                        size_t len)
{
    if (why == ELEMENT_LINE_IN_STRING)
        return refuse_row(req, true, row, "a string holds a raw line feed, which JSON does "
                          "not allow: write it as \\n"), false;
    if (why == ELEMENT_MISSING && at < len)
        return malformed_array(req, "an element is missing", at);
    return malformed_array(req, "it ends before its ']'", at);
}

/* The array body as NDJSON into b; false when answered. */
static bool reframe_array(srv_request *req, batch *b)
{
    const char *body = req->body;
    size_t len = req->body_len, at = skip_blanks(body, len, 0), n = 0;
    if (at == len || body[at] != '[')
        return not_an_array(req);
    char *out = oi_malloc(len + 1); /* the '[' gives way to the blank first line, and
                                       each ',' and the ']' to a line's end */
    out[n++] = '\n';
    at = skip_blanks(body, len, at + 1);
    bool closed = at < len && body[at] == ']';
    at += closed;
    for (size_t row = 0; !closed; row++) {
        element_copy copy = copy_element(body, len, &at, out, &n);
        if (copy != ELEMENT_COPIED || at == len) {
            free(out);
            return copy_failed(req, copy, row, at, len);
        }
        out[n++] = '\n';
        closed = body[at++] == ']';
    }
    at = skip_blanks(body, len, at);
    if (at < len) {
        free(out);
        return malformed_array(req, "text follows its ']'", at);
    }
    b->text = b->reframed = out;
    b->len = n;
    return true;
}

/* The body as NDJSON text into b; false when answered. */
static bool read_batch(srv_request *req, batch *b)
{
    bool ndjson = srv_content_type_is(req, NDJSON_TYPE);
    memset(b, 0, sizeof *b);
    if (!req->body || req->body_len == 0) {
        srv_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed",
                        "the request needs a body: a JSON array of metrics, or NDJSON");
        return false;
    }
    if (!ndjson && !srv_body_is_json(req)) {
        srv_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                        "send a JSON array of metrics with Content-Type: application/json, "
                        "or one metric per line with Content-Type: " NDJSON_TYPE);
        return false;
    }
    if (!ndjson)
        return reframe_array(req, b);
    b->text = req->body;
    b->len = req->body_len;
    return true;
}

/* ---- POST /v1/metrics: agent tokens -------------------------------------- */

typedef struct owner_check {
    srv_request *req;
    const batch *batch;
    char *known_ref; /* the last agent reference found to be the token's */
} owner_check;

static bool foreign_row(owner_check *c, uint64_t line, const char *ref)
{
    srv_reply_error(c->req, MHD_HTTP_FORBIDDEN, "forbidden",
                    "%s %llu: agent '%s' is not this token's: an agent token writes only "
                    "the metrics of agent %s; nothing was written",
                    row_noun(is_array(c->batch)), (unsigned long long)row_number(c->batch, line),
                    ref, c->req->auth.agent_id);
    return false;
}

/* Whether the row on `line` (text, n bytes) is the token's agent's, or is
 * one the import will refuse (unreadable, an unknown or ambiguous agent);
 * false, answered, when it is another agent's or the lookup failed. */
static bool row_is_own(owner_check *c, uint64_t line, const char *text, size_t n)
{
    json_t *row = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL); /* as the import */
    const char *ref = json_string_value(json_object_get(row, "agent"));
    oi_agent a = OI_AGENT_INIT;
    bool own = true;
    if (ref && !(c->known_ref && strcmp(ref, c->known_ref) == 0)) {
        int rc = oi_agent_lookup(c->req->store, ref, &a);
        if (rc == OI_OK && strcasecmp(a.id, c->req->auth.agent_id) == 0) {
            free(c->known_ref);
            c->known_ref = oi_strdup(ref);
        } else if (rc == OI_OK) {
            own = foreign_row(c, line, ref);
        } else if (rc != OI_ENOTFOUND && rc != OI_EINVALID) {
            own = false; /* fail closed: the import could find the agent yet */
            srv_reply_store_error(c->req, rc);
        }
    }
    oi_agent_clear(&a);
    json_decref(row);
    return own;
}

/* Whether the caller may write every row of b; false when answered.  Lines
 * are split as the import splits them: at LF, a byte order mark dropped
 * from the very start. */
static bool rows_are_own(srv_request *req, const batch *b)
{
    static const char bom[] = "\xEF\xBB\xBF";
    if (req->auth.role == SRV_ROLE_ADMIN)
        return true;
    owner_check c = {req, b, NULL};
    const char *p = b->text, *end = b->text + b->len;
    if (b->len >= 3 && memcmp(p, bom, 3) == 0)
        p += 3;
    bool own = true;
    for (uint64_t line = 1; own && p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        own = row_is_own(&c, line, p, n);
        p += n + 1;
    }
    free(c.known_ref);
    return own;
}

/* ---- POST /v1/metrics: read, then written ----------------------------------- */

static void free_rows(void *rows)
{
    oi_metrics_batch_free(rows);
}

/* On the worker: every row read and checked into req->prepared, or the
 * refusal answered. */
static enum MHD_Result read_metrics(srv_request *req)
{
    batch b;
    if (!read_batch(req, &b) || !rows_are_own(req, &b)) {
        free(b.reframed);
        return MHD_YES;
    }
    oi_import_report report = OI_IMPORT_REPORT_INIT;
    oi_metrics_batch *rows = NULL;
    FILE *in = fmemopen((void *)b.text, b.len, "r");
    int rc = in ? oi_metrics_batch_read(req->store, in, OI_FORMAT_NDJSON, &rows, &report)
                : OI_ERROR;
    if (in)
        fclose(in);
    if (rc == OI_OK) {
        req->prepared = rows;
        req->prepared_free = free_rows;
    } else if (!in) {
        srv_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                        "cannot read the batch: out of memory");
    } else if (report.line && (rc == OI_EINVALID || rc == OI_ENOTFOUND)) {
        refuse_row(req, is_array(&b), row_number(&b, report.line), report.reason);
    } else {
        srv_reply_store_error(req, rc);
    }
    free(b.reframed);
    return MHD_YES;
}

/* On the writer (or the worker, on PostgreSQL): one transaction. */
static enum MHD_Result write_metrics(srv_request *req)
{
    oi_import_report report = OI_IMPORT_REPORT_INIT;
    int rc = oi_metrics_batch_write(req->store, req->prepared, &report);
    if (rc != OI_OK)
        return srv_reply_store_error(req, rc);
    return srv_reply_json(req, MHD_HTTP_OK,
                          json_pack("{s:I}", "accepted", (json_int_t)report.rows));
}

/* ---- GET: the selection (agent, name, from, to, since, where) -------------- */

#define SELECTION_ARGS "agent", "name", "from", "to", "since", "where"

typedef struct selection {
    oi_metric_filter f;
    oi_agent agent;           /* agent, resolved */
    const char **names;       /* the request's texts */
    oi_metadata_match *where;
    char **where_texts;       /* KEY=VALUE copies, cut at '=' */
} selection;

static void free_selection(selection *sel)
{
    for (size_t i = 0; i < sel->f.nwhere; i++)
        free(sel->where_texts[i]);
    free(sel->where_texts);
    free(sel->where);
    free(sel->names);
    oi_agent_clear(&sel->agent);
}

static bool query_time(srv_request *req, const char *name, oi_time *out)
{
    const char *text = srv_query(req, name);
    char msg[OI_VALUE_MSGSZ]; /* the validator's words, the CLI's and the library's */
    if (text && oi_value_check(OI_KIND_TIME, name, text, strlen(text), msg, sizeof msg)) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "%s", msg);
        return false;
    }
    if (text)
        oi_time_parse(text, out);
    return true;
}

/* since=D: from is D before now; a positive duration, and not with from. */
static bool query_since(srv_request *req, oi_time *from)
{
    const char *text = srv_query(req, "since");
    int64_t age;
    if (!text)
        return true;
    if (srv_query(req, "from")) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "give from or since, not both");
        return false;
    }
    if (oi_duration_parse(text, &age) != OI_OK || age <= 0) {
        srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                        "since '%s' is not a duration: use one like 500ms, 90s, 15m, 2h or "
                        "30d", text);
        return false;
    }
    *from = oi_time_now() - age;
    return true;
}

static bool query_where(srv_request *req, selection *sel)
{
    size_t n;
    const char **given = srv_query_all(req, "where", &n);
    sel->where = oi_calloc(n, sizeof *sel->where);
    sel->where_texts = oi_calloc(n, sizeof *sel->where_texts);
    sel->f.where = sel->where;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(given[i], '=');
        if (!eq || eq == given[i]) {
            srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                            "where '%s' is not KEY=VALUE: write e.g. where=region=us-west "
                            "(URL-encoded: where=region%%3Dus-west)", given[i]);
            free(given);
            return false;
        }
        char *text = oi_strdup(given[i]);
        text[eq - given[i]] = '\0';
        sel->where_texts[i] = text;
        sel->where[i] = (oi_metadata_match){text, text + (eq - given[i]) + 1};
        sel->f.nwhere = i + 1;
    }
    free(given);
    return true;
}

static void init_selection(selection *sel)
{
    memset(sel, 0, sizeof *sel);
    oi_metric_filter_init(&sel->f, OI_METRIC_FILTER_VERSION);
    oi_agent_init(&sel->agent, OI_AGENT_VERSION);
}

/* The selection's arguments but agent into sel; false when answered. */
static bool read_selection(srv_request *req, selection *sel)
{
    sel->names = srv_query_all(req, "name", &sel->f.nmetric_names);
    sel->f.metric_names = sel->names;
    return query_time(req, "from", &sel->f.from) && query_time(req, "to", &sel->f.to) &&
           query_since(req, &sel->f.from) && query_where(req, sel);
}

/* agent=A, resolved last, as the CLI does: a malformed argument is named
 * even when the agent is unknown too. */
static bool resolve_agent(srv_request *req, selection *sel)
{
    const char *agent = srv_query(req, "agent");
    if (!agent)
        return true;
    if (!srv_agent_lookup(req, agent, &sel->agent))
        return false;
    sel->f.agent_id = sel->agent.id;
    return true;
}

/* ---- GET /v1/metrics --------------------------------------------------------- */

/* Agents' names, read once per page: metrics are many, agents few. */
typedef struct agent_name {
    oi_uuid id;
    char *name; /* NULL: the agent is gone, and its id is shown, as the CLI does */
} agent_name;

typedef struct metric_page {
    oi_store *store;
    oi_iter *iter;
    agent_name *names;
    size_t nnames, cap;
} metric_page;

static int name_of(metric_page *p, const char *id, const char **name)
{
    for (size_t i = 0; i < p->nnames; i++)
        if (strcmp(p->names[i].id, id) == 0) {
            *name = p->names[i].name ? p->names[i].name : p->names[i].id;
            return OI_OK;
        }
    oi_agent a = OI_AGENT_INIT;
    int rc = oi_agent_get(p->store, id, &a);
    if (rc != OI_OK && rc != OI_ENOTFOUND)
        return rc;
    p->names = oi_grow(p->names, &p->cap, p->nnames, sizeof *p->names);
    agent_name *n = &p->names[p->nnames++];
    memcpy(n->id, id, sizeof n->id);
    n->name = rc == OI_OK ? oi_strdup(a.name) : NULL;
    oi_agent_clear(&a);
    *name = n->name ? n->name : n->id;
    return OI_OK;
}

static int metric_page_next(void *state, json_t **row)
{
    metric_page *p = state;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    const char *name;
    int rc = oi_agent_metric_next(p->iter, &m);
    if (rc == OI_OK)
        rc = name_of(p, m.agent_id, &name);
    if (rc == OI_OK)
        *row = view_metric(&m, name);
    oi_agent_metric_clear(&m);
    return rc;
}

/* After the last row the iterator knows whether more follow. */
static char *metric_page_suffix(void *state, uint64_t rows)
{
    (void)rows;
    metric_page *p = state;
    char cursor[OI_CURSOR_BUFSZ], *text = oi_malloc(OI_CURSOR_BUFSZ + 32);
    oi_metric_iter_cursor(p->iter, cursor);
    if (cursor[0])
        sprintf(text, "],\"next_cursor\":\"%s\"}\n", cursor);
    else
        strcpy(text, "],\"next_cursor\":null}\n");
    return text;
}

static void metric_page_free(void *state)
{
    metric_page *p = state;
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i].name);
    free(p->names);
    oi_iter_free(p->iter);
    free(p);
}

static const srv_stream_ops metric_page_ops = {metric_page_next, metric_page_suffix,
                                               metric_page_free};

/* limit=N: 0 to MAX_PAGE, DEFAULT_PAGE when absent. */
static bool query_limit(srv_request *req, size_t *limit)
{
    const char *text = srv_query(req, "limit");
    char *end;
    *limit = DEFAULT_PAGE;
    if (!text)
        return true;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text >= '0' && *text <= '9' && !*end && n <= MAX_PAGE) {
        *limit = (size_t)n;
        return true;
    }
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "limit '%s' is not a page size: give a whole number of rows up to %u, "
                    "0 for all", text, MAX_PAGE);
    return false;
}

static enum MHD_Result stream_page(srv_request *req, const oi_metric_filter *f)
{
    metric_page *p = oi_calloc(1, sizeof *p);
    p->store = req->store;
    int rc = oi_metric_iter_new(&p->iter, req->store, f);
    if (rc != OI_OK) {
        free(p);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_stream(req, MHD_HTTP_OK, "{\"metrics\":[", &metric_page_ops, p);
}

static enum MHD_Result query_metrics(srv_request *req)
{
    static const char *const known[] = {SELECTION_ARGS, "limit", "cursor", "newest_first",
                                        NULL};
    selection sel;
    init_selection(&sel);
    enum MHD_Result r = MHD_YES;
    if (srv_query_known(req, known) && read_selection(req, &sel) &&
        query_limit(req, &sel.f.limit) &&
        srv_query_bool(req, "newest_first", &sel.f.newest_first) &&
        resolve_agent(req, &sel)) {
        sel.f.cursor = srv_query(req, "cursor");
        r = stream_page(req, &sel.f);
    }
    free_selection(&sel);
    return r;
}

/* ---- GET /v1/metrics/aggregate ---------------------------------------------- */

static int group_next(void *state, json_t **row)
{
    oi_metric_stats s = OI_METRIC_STATS_INIT;
    int rc = oi_metric_stats_next(state, &s);
    if (rc == OI_OK)
        *row = view_metric_stats(&s);
    oi_metric_stats_clear(&s);
    return rc;
}

static void group_free(void *state)
{
    oi_iter_free(state);
}

static const srv_stream_ops group_ops = {group_next, NULL, group_free};

/* bucket=D: whole seconds, at least one; 0 (no buckets) when absent. */
static bool query_bucket(srv_request *req, int64_t *bucket)
{
    const char *text = srv_query(req, "bucket");
    *bucket = 0;
    if (!text || (oi_duration_parse(text, bucket) == OI_OK && *bucket >= SECOND &&
                  *bucket % SECOND == 0))
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "bucket '%s' is not a bucket width: use whole seconds or more: 1m, 5m, "
                    "1h, 1d ...", text);
    return false;
}

/* by=agent, name, agent,name or name,agent; 0 (one group) when absent. */
static bool query_by(srv_request *req, unsigned *by)
{
    static const struct { const char *text; unsigned by; } choices[] = {
        {"agent", OI_BY_AGENT}, {"name", OI_BY_NAME},
        {"agent,name", OI_BY_AGENT | OI_BY_NAME}, {"name,agent", OI_BY_AGENT | OI_BY_NAME},
    };
    const char *text = srv_query(req, "by");
    *by = 0;
    if (!text)
        return true;
    for (size_t i = 0; i < sizeof choices / sizeof *choices; i++)
        if (strcmp(text, choices[i].text) == 0) {
            *by = choices[i].by;
            return true;
        }
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "by takes agent, name or agent,name, not '%s'", text);
    return false;
}

static enum MHD_Result aggregate_metrics(srv_request *req)
{
    static const char *const known[] = {SELECTION_ARGS, "bucket", "by", NULL};
    selection sel;
    int64_t bucket;
    unsigned by;
    init_selection(&sel);
    enum MHD_Result r = MHD_YES;
    if (srv_query_known(req, known) && read_selection(req, &sel) &&
        query_bucket(req, &bucket) && query_by(req, &by) && resolve_agent(req, &sel)) {
        oi_iter *it;
        int rc = oi_metric_aggregate_iter_new(&it, req->store, &sel.f, bucket, by);
        r = rc == OI_OK ? srv_reply_stream(req, MHD_HTTP_OK, "{\"groups\":[", &group_ops, it)
                        : srv_reply_store_error(req, rc);
    }
    free_selection(&sel);
    return r;
}

const srv_route srv_routes_metrics[] = {
    {"POST", "/v1/metrics", write_metrics, SRV_AGENT_WRITE, read_metrics},
    {"GET", "/v1/metrics", query_metrics, SRV_READ, NULL},
    {"GET", "/v1/metrics/aggregate", aggregate_metrics, SRV_READ, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
