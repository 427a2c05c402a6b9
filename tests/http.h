/*
 * http.h - the service under test: `optiinfra serve` started as a real
 * process on an ephemeral loopback port, and real HTTP requests to it
 * (libcurl).
 *
 * fx_server_start() runs the CLI under test (OI_TEST_CLI) as
 * `serve --listen 127.0.0.1:0` on the fixture's database, reads the port
 * it chose from its log, and returns then: the server prints that line
 * once its daemon has started, so the socket already listens.  Its stderr
 * (the access log) is kept in a file of the fixture's directory.
 * fx_server_stop() sends SIGTERM and returns the exit code, so a test sees
 * a graceful stop, and, in the sanitizer build, a leak, as a non-zero code.
 */
#ifndef OI_TEST_HTTP_H
#define OI_TEST_HTTP_H

#include <sys/types.h>
#include "harness.h"

typedef struct fx_server {
    pid_t pid;
    int port;
    char base[64];      /* "http://127.0.0.1:PORT" */
    char log_path[300]; /* the server's stderr */
} fx_server;

/* Start the server on fx's database with extra arguments (NULL-terminated
 * list, may be NULL) after `serve --listen 127.0.0.1:0`. */
void fx_server_start(oi_fixture *fx, fx_server *srv, const char *const *extra);
/* SIGTERM, then the exit code (128 + signal if a signal ended it). */
int fx_server_stop(fx_server *srv);
/* The server's log so far; free() it. */
char *fx_server_log(const fx_server *srv);

/* A new token from `optiinfra token create ROLE_FLAG [AGENT]` (its last line
 * of output) into out, of size bytes. */
void fx_make_token(oi_fixture *fx, const char *role_flag, const char *agent, char *out,
                   size_t size);

/* A growing NUL-terminated buffer, and libcurl's write (and header)
 * callback that appends to one: what every request here reads into. */
typedef struct fx_sink {
    char *data;
    size_t len;
} fx_sink;
size_t fx_http_take(char *ptr, size_t size, size_t n, void *arg);

typedef struct fx_http {
    long status;   /* 0 when the request failed at the transport */
    char *body;    /* NUL-terminated */
    size_t body_len;
    char *headers; /* the response's header lines */
    json_t *json;  /* the body parsed, when it is JSON; else NULL */
    bool transport_error; /* curl failed: connection reset, body cut short */
} fx_http;

/* method path (with its query) [body] [content_type: NULL with a body means
 * application/json] [headers: NULL-terminated "Name: value" lines]. */
void fx_request(const fx_server *srv, fx_http *out, const char *method, const char *path,
             const char *body, const char *content_type, const char *const *headers);
/* Shorthands without extra headers. */
void fx_get(const fx_server *srv, fx_http *out, const char *path);
void fx_post(const fx_server *srv, fx_http *out, const char *path, const char *json_body);
void fx_http_free(fx_http *r);

/* The value of a response header (case-insensitive name), or NULL; free() it. */
char *fx_http_header(const fx_http *r, const char *name);
/* The error code of an error answer ({"error": {"code": ...}}), or "". */
const char *fx_http_error_code(const fx_http *r);

/* Assert the status, printing the body when it differs. */
#define assert_status(r, want) fx_assert_status((r), (want), __FILE__, __LINE__)
void fx_assert_status(const fx_http *r, long want, const char *file, int line);

#endif
