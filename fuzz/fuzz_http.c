/*
 * fuzz_http.c - the service's requests: a libmicrohttpd daemon with the
 * service's own handlers (request.c's srv_access_handler: routing, the body
 * reader and query-argument checks of body.c, every route's conversion of
 * a JSON body into records), on a seeded SQLite file, fed one request per
 * input over a socket pair.  No port is opened; the daemon runs in this
 * thread (external polling), so the service's worker store is this thread's
 * and a request that writes runs inline (no writer thread, no watch hub: a
 * watch answers at once).  The caller is on the loopback and no token
 * exists, so every route is open to it, as to an administrator.
 *
 * The input is a request in a loose form that keeps the fuzzer on the
 * service's code rather than on HTTP framing:
 *
 *   METHOD TARGET            e.g. "POST /v1/agents?x=1"
 *   Header: value            any number, up to an empty line
 *   <body>                   the rest, sent with its Content-Length
 *
 * sent as HTTP/1.0 (the answer ends when the connection closes; no chunks),
 * with Content-Type: application/json unless a header names one.
 *
 * Invariants: every request is answered within FUZZ_HTTP_DEADLINE_S
 * seconds; never with a 5xx (the database is up: a 500 is a check that let
 * through what the database refused, or a bug); an answer the service
 * labels JSON parses as JSON, and an error's is {"error": {"code",
 * "message"}} with a one-line message.  After a request that is not a GET
 * the database is restored from its pristine copy (SQLite's backup API), so
 * every input meets the same rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "alloc.h"
#include "buf.h"
#include "server/server.h"
#include "fuzz.h"

#define FUZZ_HTTP_DEADLINE_S 5
#define FUZZ_HTTP_MAX_BODY (1024 * 1024)

static struct MHD_Daemon *fuzz_daemon;
static char db_path[256], db_url[300];
static sqlite3 *pristine; /* the seeded database, in memory */

/* ---- the database ----------------------------------------------------------- */

static void copy_database(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    fuzz_assert(b != NULL);
    fuzz_assert(sqlite3_backup_step(b, -1) == SQLITE_DONE);
    fuzz_assert(sqlite3_backup_finish(b) == SQLITE_OK);
}

static void prepare_database(void)
{
    char dir[] = "/tmp/optiinfra-fuzz-http.XXXXXX";
    fuzz_assert(mkdtemp(dir) != NULL);
    snprintf(db_path, sizeof db_path, "%s/fuzz.db", dir);
    snprintf(db_url, sizeof db_url, "sqlite:%s", db_path);
    oi_store *store;
    fuzz_assert(oi_store_open(&store, db_url) == OI_OK);
    fuzz_assert(oi_migrate_upgrade(store, "head", NULL, NULL, NULL) == OI_OK);
    fuzz_assert(oi_seed_core(store, NULL) == OI_OK && oi_seed_state(store, NULL) == OI_OK);
    oi_store_close(store);
    sqlite3 *file;
    fuzz_assert(sqlite3_open(db_path, &file) == SQLITE_OK);
    fuzz_assert(sqlite3_open(":memory:", &pristine) == SQLITE_OK);
    copy_database(pristine, file);
    sqlite3_close(file);
}

static void restore_database(void)
{
    sqlite3 *file;
    fuzz_assert(sqlite3_open(db_path, &file) == SQLITE_OK);
    sqlite3_busy_timeout(file, 5000);
    copy_database(file, pristine);
    sqlite3_close(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    prepare_database();
    srv_request_setup(FUZZ_HTTP_MAX_BODY, false);
    srv_worker_setup(db_url);
    srv_stats_setup();
    srv_beats_setup(0);
    fuzz_daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME, 0,
                                   NULL, NULL, srv_access_handler, NULL,
                                   MHD_OPTION_NOTIFY_COMPLETED, srv_completed_handler, NULL,
                                   MHD_OPTION_END);
    fuzz_assert(fuzz_daemon != NULL);
    return 0;
}

/* ---- the request -------------------------------------------------------------- */

/* The input as an HTTP/1.0 request; *method_out: its method, to free. */
static char *request_text(const uint8_t *data, size_t size, size_t *len, char **method_out)
{
    const char *p = (const char *)data, *end = p + size;
    const char *eol = memchr(p, '\n', size);
    const char *line_end = eol ? eol : end;
    const char *space = memchr(p, ' ', (size_t)(line_end - p));
    char *method = oi_strndup(p, space ? (size_t)(space - p) : (size_t)(line_end - p));
    char *target = space ? oi_strndup(space + 1, (size_t)(line_end - space - 1)) : oi_strdup("/");
    oi_buf headers = {0};
    bool has_type = false;
    p = eol ? eol + 1 : end;
    while (p < end && *p != '\n') { /* header lines, up to an empty one */
        eol = memchr(p, '\n', (size_t)(end - p));
        line_end = eol ? eol : end;
        has_type = has_type || strncasecmp(p, "content-type:", 13) == 0;
        oi_buf_addf(&headers, "%.*s\r\n", (int)(line_end - p), p);
        p = eol ? eol + 1 : end;
    }
    if (p < end)
        p++; /* the empty line */
    size_t body = (size_t)(end - p);
    oi_buf out = {0};
    oi_buf_addf(&out, "%s %s HTTP/1.0\r\nHost: fuzz\r\nContent-Length: %zu\r\n%s%s\r\n", method,
                target, body, has_type ? "" : "Content-Type: application/json\r\n",
                headers.data ? headers.data : "");
    size_t head = out.len;
    char *text = oi_malloc(head + body);
    memcpy(text, out.data, head);
    memcpy(text + head, p, body);
    *len = head + body;
    *method_out = method;
    free(target);
    free(headers.data);
    free(out.data);
    return text;
}

/* Send the request on one socket of a pair whose other end the daemon
 * serves, and read the answer until the daemon closes it. */
static char *exchange(const char *request, size_t len, size_t *answer_len)
{
    int sv[2];
    fuzz_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = htons(40000),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fuzz_assert(MHD_add_connection(fuzz_daemon, sv[1], (struct sockaddr *)&loopback,
                                   sizeof loopback) == MHD_YES);
    char *answer = NULL;
    FILE *out = open_memstream(&answer, answer_len);
    fuzz_assert(out != NULL);
    size_t sent = 0;
    time_t deadline = time(NULL) + FUZZ_HTTP_DEADLINE_S;
    for (;;) {
        fuzz_assert(time(NULL) <= deadline); /* no answer in time */
        if (sent < len) {
            ssize_t n = send(sv[0], request + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        MHD_run(fuzz_daemon);
        char buf[4096];
        ssize_t n = recv(sv[0], buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
        if (n > 0)
            fwrite(buf, 1, (size_t)n, out);
    }
    close(sv[0]);
    MHD_run(fuzz_daemon); /* let it forget the connection */
    fclose(out);
    return answer;
}

/* ---- the answer ------------------------------------------------------------------ */

static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    return NULL;
}

static void check_error_shape(json_t *v)
{
    json_t *error = json_object_get(v, "error");
    fuzz_assert(json_is_object(error));
    fuzz_assert(json_is_string(json_object_get(error, "code")));
    fuzz_assert(json_is_string(json_object_get(error, "message")));
    fuzz_assert_message(json_string_value(json_object_get(error, "message")));
}

static void check_answer(const char *method, char *answer, size_t len)
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
        check_error_shape(v);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len, answer_len;
    char *method;
    char *request = request_text(data, size, &len, &method);
    char *answer = exchange(request, len, &answer_len);
    if (answer_len) /* nothing: the daemon refused the connection or its first line */
        check_answer(method, answer, answer_len);
    if (strcmp(method, "GET") != 0)
        restore_database();
    free(method);
    free(request);
    free(answer);
    return 0;
}
