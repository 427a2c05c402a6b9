/*
 * http.c - the service under test as a process, and requests to it
 * (http.h says how).
 */
#include "http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { START_TIMEOUT_MS = 30000, STOP_TIMEOUT_MS = 60000 };

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

char *fx_server_log(const fx_server *srv)
{
    return fx_slurp(srv->log_path);
}

/* The port of the "listening on ... port N," line, or 0. */
static int port_in_log(const fx_server *srv)
{
    char *log = fx_server_log(srv);
    const char *p = strstr(log, " port ");
    int port = p && strstr(log, "listening on") ? atoi(p + 6) : 0;
    free(log);
    return port;
}

static pid_t spawn(oi_fixture *fx, const fx_server *srv, const char *const *extra)
{
    const char *argv[64] = {fx_cli_path(), "--database-url", fx->url, "serve", "--listen",
                            "127.0.0.1:0"};
    size_t n = 6;
    for (; extra && *extra && n < 63; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    fx_counters_now.processes++;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int err = open(srv->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || err < 0 || dup2(in, 0) < 0 || dup2(in, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void fx_server_start(oi_fixture *fx, fx_server *srv, const char *const *extra)
{
    static int seq;
    memset(srv, 0, sizeof *srv);
    snprintf(srv->log_path, sizeof srv->log_path, "%s/server-%d.log", fx->dir, ++seq);
    srv->pid = spawn(fx, srv, extra);
    /* The log is read every 2 ms, not 10: ~4 ms less per server start. */
    for (int waited = 0; waited < START_TIMEOUT_MS; waited += 2) {
        int status;
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            char *log = fx_server_log(srv);
            srv->pid = 0;
            fail_msg("the server exited at start (status %d): %s", status, log);
        }
        if ((srv->port = port_in_log(srv)) > 0)
            break;
        sleep_ms(2);
    }
    if (srv->port <= 0) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, NULL, 0);
        fail_msg("the server did not say which port it listens on");
    }
    snprintf(srv->base, sizeof srv->base, "http://127.0.0.1:%d", srv->port);
}

int fx_server_stop(fx_server *srv)
{
    int status = 0;
    if (srv->pid <= 0)
        return -1;
    kill(srv->pid, SIGTERM);
    if (!fx_wait_child(srv->pid, STOP_TIMEOUT_MS, &status)) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, &status, 0);
    }
    srv->pid = 0;
    char *log = fx_server_log(srv);
    fx_output_log(strrchr(srv->log_path, '/') + 1, log);
    free(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void fx_make_token(oi_fixture *fx, const char *role_flag, const char *agent, char *out,
                   size_t size)
{
    fx_run run;
    fx_cli(fx, &run, "token", "create", role_flag, agent, (char *)NULL);
    if (run.status != 0)
        fail_msg("token create %s: exit %d: %s", role_flag, run.status, run.err);
    size_t end = strlen(run.out);
    while (end > 0 && run.out[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && run.out[start - 1] != '\n')
        start--;
    assert_true(end > start && end - start < size);
    memcpy(out, run.out + start, end - start);
    out[end - start] = '\0';
    fx_run_free(&run);
}

/* ---- requests ------------------------------------------------------------- */

size_t fx_http_take(char *ptr, size_t size, size_t n, void *arg)
{
    fx_sink *s = arg;
    size_t add = size * n;
    char *grown = realloc(s->data, s->len + add + 1);
    if (!grown)
        return 0;
    s->data = grown;
    memcpy(s->data + s->len, ptr, add);
    s->len += add;
    s->data[s->len] = '\0';
    return add;
}

static struct curl_slist *request_headers(const char *body, const char *content_type,
                                          const char *const *headers)
{
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    char line[256];
    if (body) {
        snprintf(line, sizeof line, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        list = curl_slist_append(list, line);
    }
    for (; headers && *headers; headers++)
        list = curl_slist_append(list, *headers);
    return list;
}

/* An answer goes to the output log (harness.h) unless its request asked
 * for secrets. */
static void log_answer(const char *method, const char *path, const fx_http *r)
{
    if (strstr(path, "show_secrets=true"))
        return;
    char source[160];
    snprintf(source, sizeof source, "%s %.*s -> %ld", method, (int)strcspn(path, "?"), path,
             r->status);
    fx_output_log(source, r->headers);
    fx_output_log(source, r->body);
}

void fx_request(const fx_server *srv, fx_http *out, const char *method, const char *path,
             const char *body, const char *content_type, const char *const *headers)
{
    char url[2048];
    fx_sink resp = {0}, head = {0};
    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "%s%s", srv->base, path);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *list = request_headers(body, content_type, headers);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    CURLcode rc = curl_easy_perform(curl);
    out->transport_error = rc != CURLE_OK;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    out->body = resp.data ? resp.data : strdup("");
    out->body_len = resp.len;
    out->headers = head.data ? head.data : strdup("");
    out->json = json_loadb(out->body, out->body_len, 0, NULL);
    log_answer(method, path, out);
}

void fx_get(const fx_server *srv, fx_http *out, const char *path)
{
    fx_request(srv, out, "GET", path, NULL, NULL, NULL);
}

void fx_post(const fx_server *srv, fx_http *out, const char *path, const char *json_body)
{
    fx_request(srv, out, "POST", path, json_body, NULL, NULL);
}

void fx_http_free(fx_http *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

char *fx_http_header(const fx_http *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + len - v);
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            return strndup(v, vlen);
        }
        line = end ? end + 1 : line + len;
    }
    return NULL;
}

const char *fx_http_error_code(const fx_http *r)
{
    const char *code = json_string_value(json_object_get(json_object_get(r->json, "error"),
                                                         "code"));
    return code ? code : "";
}

void fx_assert_status(const fx_http *r, long want, const char *file, int line)
{
    if (r->status == want)
        return;
    print_error("HTTP status %ld, expected %ld; body: %s\n", r->status, want, r->body);
    _fail(file, line);
}
