/*
 * fuzz_common.c - the helpers of fuzz.h: the fuzzers' store, the bytes as a
 * string, failed invariants, the import checks the CSV and NDJSON targets
 * share, and the HTTP exchange of the HTTP target (which its regression
 * test makes with a real `optiinfra serve`).
 *
 * An import is checked inside a transaction that is rolled back at the end
 * (an import inside the caller's transaction joins it), so every run starts
 * from the same rows: what one input finds, the same input finds again,
 * alone, and the regression tests leave their fixture's database as it was.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "internal.h"
#include "fuzz.h"

/* How long a request may take to be answered, on the monotonic clock: a
 * step of the wall clock (NTP setting a fresh machine's) is no hang. */
#define FUZZ_HTTP_DEADLINE_S 5

/* Rows per batch: small, so that a few lines of input already span batches
 * and the "earlier batches stay" path runs. */
#define FUZZ_IMPORT_BATCH 3

oi_store *fuzz_store(void)
{
    static oi_store *store;
    if (store)
        return store;
    if (oi_store_open(&store, "sqlite::memory:") != OI_OK ||
        oi_migrate_upgrade(store, "head", NULL, NULL, NULL) != OI_OK ||
        oi_seed_core(store, NULL) != OI_OK || oi_seed_state(store, NULL) != OI_OK) {
        fprintf(stderr, "fuzz: cannot prepare the in-memory store: %s\n",
                store ? oi_errmsg(store) : "out of memory");
        abort();
    }
    return store;
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = oi_malloc(size + 1);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#ifdef OI_FUZZ_LIBFUZZER
void fuzz_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, what);
    abort();
}
#endif

void fuzz_assert_message(const char *msg)
{
    fuzz_assert(msg && *msg);
    fuzz_assert(!strpbrk(msg, "\r\n"));
}

/* ---- import ------------------------------------------------------------- */

static int64_t metric_rows(oi_store *store)
{
    int64_t n = -1;
    fuzz_assert(oi_query_int64(store, "SELECT count(*) FROM agent_metrics", &n) == OI_OK);
    return n;
}

/* A refused import said why and where, and kept exactly the rows of the
 * batches before the bad record. */
static void check_refusal(oi_store *store, int rc, const oi_import_report *r)
{
    /* Bad input only: a database error means a check let through what the
     * database refuses (the class of a name too long for an index). */
    fuzz_assert(rc == OI_EINVALID || rc == OI_ENOTFOUND);
    fuzz_assert_message(oi_errmsg(store));
    fuzz_assert_message(r->reason);
    fuzz_assert(r->line >= 1);
    fuzz_assert(r->resume_line >= 1 && r->resume_line <= r->line);
    fuzz_assert(r->rows <= r->line);
}

/* Export every metric in `format` into memory: *rows of them. */
static char *export_all(oi_store *store, oi_metrics_format format, size_t *len, uint64_t *rows)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    fuzz_assert(out != NULL);
    int rc = oi_metrics_export(store, out, format, NULL, rows);
    fclose(out);
    fuzz_assert(rc == OI_OK);
    return text;
}

/* Import len bytes of text: the code, the report in r. */
static int import_bytes(oi_store *store, const void *text, size_t len, oi_metrics_format format,
                        oi_import_report *r)
{
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    opts.batch_size = FUZZ_IMPORT_BATCH;
    *r = (oi_import_report)OI_IMPORT_REPORT_INIT;
    /* fmemopen() of no bytes is an empty file; its buffer must not be NULL. */
    FILE *in = fmemopen(len ? (void *)text : (void *)"", len, "r");
    fuzz_assert(in != NULL);
    int rc = oi_metrics_import(store, in, format, &opts, r);
    fclose(in);
    return rc;
}

/* After a successful import, every row reads back: an export in either
 * format holds every row (a JSON view never drops one), and imports back
 * whole. */
static void check_round_trip(oi_store *store, oi_metrics_format format)
{
    int64_t before = metric_rows(store);
    size_t len;
    uint64_t exported;
    char *text = export_all(store, format, &len, &exported);
    fuzz_assert((int64_t)exported == before);
    oi_import_report r;
    int rc = import_bytes(store, text, len, format, &r);
    free(text);
    fuzz_assert(rc == OI_OK);
    fuzz_assert(r.rows == exported);
    fuzz_assert(metric_rows(store) == before + (int64_t)exported);
}

/* The service's path (a batch read whole, then written) gives the import's
 * verdict on the same bytes: the same code, the same line, the same rows. */
static void check_batch_path(oi_store *store, const uint8_t *data, size_t size,
                             oi_metrics_format format, int import_rc,
                             const oi_import_report *import)
{
    oi_import_report r = OI_IMPORT_REPORT_INIT;
    oi_metrics_batch *batch = NULL;
    FILE *in = fmemopen(size ? (void *)data : (void *)"", size, "r");
    fuzz_assert(in != NULL);
    int rc = oi_metrics_batch_read(store, in, format, &batch, &r);
    fclose(in);
    fuzz_assert(rc == import_rc);
    if (rc != OI_OK) {
        fuzz_assert(batch == NULL);
        fuzz_assert(r.line == import->line);
        return;
    }
    int64_t before = metric_rows(store);
    rc = oi_metrics_batch_write(store, batch, &r);
    oi_metrics_batch_free(batch);
    fuzz_assert(rc == OI_OK);
    fuzz_assert(r.rows == import->rows);
    fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
}

void fuzz_import(oi_store *store, const uint8_t *data, size_t size, oi_metrics_format format)
{
    fuzz_assert(oi_begin(store) == OI_OK);
    int64_t before = metric_rows(store);
    oi_import_report r;
    int rc = import_bytes(store, data, size, format, &r);
    fuzz_assert(r.bytes <= size);
    if (rc == OI_OK) {
        fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
        check_round_trip(store, OI_FORMAT_CSV);
        check_round_trip(store, OI_FORMAT_NDJSON);
    } else {
        check_refusal(store, rc, &r);
        fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
    }
    check_batch_path(store, data, size, format, rc, &r);
    fuzz_assert(oi_rollback(store) == OI_OK);
    fuzz_assert(metric_rows(store) == before);
}

/* ---- HTTP -------------------------------------------------------------------- */

/* The header lines from *p up to an empty line (or the end), each ended
 * by CRLF, into headers; *p moves past the empty line.  Whether one of
 * them names the content type. */
static bool read_headers(const char **p, const char *end, oi_buf *headers)
{
    bool has_type = false;
    while (*p < end && **p != '\n') {
        const char *eol = memchr(*p, '\n', (size_t)(end - *p));
        const char *line_end = eol ? eol : end;
        size_t n = (size_t)(line_end - *p);
        has_type = has_type || (n >= 13 && strncasecmp(*p, "content-type:", 13) == 0);
        oi_buf_addf(headers, "%.*s\r\n", (int)n, *p);
        *p = eol ? eol + 1 : end;
    }
    if (*p < end)
        (*p)++; /* the empty line */
    return has_type;
}

/* The input as an HTTP/1.0 request, *len bytes; *method_out and
 * *target_out: its method and target, to free.  "Connection: close" comes
 * before the input's headers: the answer ends when the server closes
 * (exchange), and an input's own "Connection: keep-alive" would otherwise
 * have it keep the connection open after a whole answer, rightly, and the
 * exchange wait for a close that never comes.  libmicrohttpd closes when
 * any Connection header says close. */
static char *request_text(const uint8_t *data, size_t size, size_t *len, char **method_out,
                          char **target_out)
{
    const char *p = (const char *)data, *end = p + size;
    const char *eol = memchr(p, '\n', size);
    const char *line_end = eol ? eol : end;
    const char *space = memchr(p, ' ', (size_t)(line_end - p));
    char *method = oi_strndup(p, space ? (size_t)(space - p) : (size_t)(line_end - p));
    char *target = space ? oi_strndup(space + 1, (size_t)(line_end - space - 1)) : oi_strdup("/");
    oi_buf headers = {0}, out = {0};
    p = eol ? eol + 1 : end;
    bool has_type = read_headers(&p, end, &headers);
    size_t body = (size_t)(end - p);
    oi_buf_addf(&out,
                "%s %s HTTP/1.0\r\nHost: fuzz\r\nConnection: close\r\nContent-Length: %zu\r\n"
                "%s%s\r\n",
                method, target, body, has_type ? "" : "Content-Type: application/json\r\n",
                headers.data ? headers.data : "");
    char *text = oi_malloc(out.len + body);
    memcpy(text, out.data, out.len);
    memcpy(text + out.len, p, body);
    *len = out.len + body;
    *method_out = method;
    *target_out = target;
    free(headers.data);
    free(out.data);
    return text;
}

/* Seconds since some fixed point, on a clock nothing sets. */
static time_t monotonic_s(void)
{
    struct timespec ts;
    fuzz_assert(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return ts.tv_sec;
}

/* Send the request on fd (non-blocking) and read the answer until the
 * server closes the connection; pump (may be NULL) runs the server's loop
 * when it runs in this thread.  Closes fd. */
static char *exchange(int fd, void (*pump)(void), const char *request, size_t len,
                      size_t *answer_len)
{
    char *answer = NULL;
    FILE *out = open_memstream(&answer, answer_len);
    fuzz_assert(out != NULL);
    size_t sent = 0;
    time_t deadline = monotonic_s() + FUZZ_HTTP_DEADLINE_S;
    for (;;) {
        fuzz_assert(monotonic_s() <= deadline); /* no answer in time */
        if (sent < len) {
            ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        if (pump)
            pump();
        else
            poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 10);
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
        if (n > 0)
            fwrite(buf, 1, (size_t)n, out);
    }
    close(fd);
    fclose(out);
    return answer;
}

/* The value of header `name` in the answer's head, or NULL. */
static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    return NULL;
}

static int hex_digit(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Whether the target's path, percent-decoded as libmicrohttpd decodes it
 * before the service routes it (blanks before it skipped, "%XX" a byte),
 * starts with prefix. */
static bool path_starts_with(const char *target, const char *prefix)
{
    const char *p = target + strspn(target, " ");
    for (; *prefix; prefix++) {
        char c = *p;
        if (c == '\0' || c == '?')
            return false;
        if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            c = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
            p += 3;
        } else {
            p++;
        }
        if (c != *prefix)
            return false;
    }
    return true;
}

/* The Go registry's answer to an agent id it does not know, which its
 * clients read and the service keeps on the registry's routes, all under
 * /agents/ (routes_compat.c): 404 {"error": "Agent not found"}. */
static bool is_go_registry_not_found(int status, json_t *v, const char *target)
{
    json_t *error = json_object_get(v, "error");
    return status == 404 && json_object_size(v) == 1 && json_is_string(error) &&
           strcmp(json_string_value(error), "Agent not found") == 0 &&
           path_starts_with(target, "/agents/");
}

/* {"error": {"code": "...", "message": "one line"}}, but for the Go
 * registry's 404 on its routes. */
static void check_error_shape(int status, json_t *v, const char *target)
{
    if (is_go_registry_not_found(status, v, target))
        return;
    json_t *error = json_object_get(v, "error");
    fuzz_assert(json_is_object(error));
    fuzz_assert(json_is_string(json_object_get(error, "code")));
    fuzz_assert(json_is_string(json_object_get(error, "message")));
    fuzz_assert_message(json_string_value(json_object_get(error, "message")));
}

/* An answer: a status below 500, a JSON body when it says so, an error's
 * in the one shape.  The head is cut from the body in place. */
static void check_answer(const char *method, const char *target, char *answer, size_t len)
{
    int status = 0;
    fuzz_assert(sscanf(answer, "HTTP/1.%*d %d", &status) == 1);
    fuzz_assert(status >= 100 && status < 500);
    char *body = strstr(answer, "\r\n\r\n");
    fuzz_assert(body != NULL);
    *body = '\0';
    body += 4;
    const char *type = header_value(answer, "Content-Type");
    if (strcmp(method, "HEAD") == 0 || !type || strncmp(type, "application/json", 16) != 0)
        return;
    json_error_t jerr;
    json_t *v = json_loadb(body, len - (size_t)(body - answer), JSON_DECODE_ANY, &jerr);
    fuzz_assert(v != NULL);
    if (status >= 400)
        check_error_shape(status, v, target);
    json_decref(v);
}

bool fuzz_http(int fd, void (*pump)(void), const uint8_t *data, size_t size, char **answer_out)
{
    size_t len, answer_len;
    char *method, *target;
    char *request = request_text(data, size, &len, &method, &target);
    char *answer = exchange(fd, pump, request, len, &answer_len);
    if (answer_out)
        *answer_out = oi_strdup(answer);
    if (answer_len) /* nothing: the server refused the connection or its first line */
        check_answer(method, target, answer, answer_len);
    bool writes = strcmp(method, "GET") != 0;
    free(method);
    free(target);
    free(request);
    free(answer);
    return writes;
}
