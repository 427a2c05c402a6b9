/*
 * faults.c - the means of the crash and fault tests (faults.h says why
 * every process is recorded).
 */
#include "faults.h"
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T0 "2026-01-01T00:00:00Z"
#define MAX_CHILDREN 32

static pid_t children[MAX_CHILDREN];
static bool pg_stopped;          /* by ft_pg_ctl, not yet started again */
static char mounted[512];        /* ft_mount_tmpfs's directory, "" when none */

void ft_sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

int64_t ft_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- processes ------------------------------------------------------------ */

void ft_adopt(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("more than %d processes at once", MAX_CHILDREN);
}

void ft_forget(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void output_path(oi_fixture *fx, const char *tag, bool err, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.%s", fx->dir, tag, err ? "err" : "out");
}

pid_t ft_spawn_cli(oi_fixture *fx, const char *tag, const char *const *args)
{
    const char *argv[32] = {fx_cli_path(), "--database-url", fx->url};
    size_t n = 3;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char out_path[512], err_path[512];
    output_path(fx, tag, false, out_path, sizeof out_path);
    output_path(fx, tag, true, err_path, sizeof err_path);
    pid_t pid = fx_spawn(argv, out_path, err_path);
    ft_adopt(pid);
    return pid;
}

char *ft_output(oi_fixture *fx, const char *tag, bool err)
{
    char path[512];
    output_path(fx, tag, err, path, sizeof path);
    return fx_slurp(path);
}

bool ft_ended(pid_t pid, int *status)
{
    int raw;
    if (waitpid(pid, &raw, WNOHANG) != pid)
        return false;
    ft_forget(pid);
    *status = exit_code(raw);
    return true;
}

int ft_wait(pid_t pid, int timeout_ms)
{
    int status;
    for (int64_t until = ft_now_us() + (int64_t)timeout_ms * 1000; ft_now_us() < until;) {
        if (ft_ended(pid, &status))
            return status;
        ft_sleep_ms(5);
    }
    ft_kill(pid);
    return -1;
}

void ft_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ft_forget(pid);
}

int ft_setup(void **state)
{
    return fx_setup_agent(state);
}

/* Not an assertion: the teardown must go on whatever fails. */
static int pg_ctl_quiet(const char *action, char *out, size_t size);

int ft_teardown(void **state)
{
    oi_fixture *fx = *state;
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0)
            ft_kill(children[i]);
    }
    char out[2048];
    if (pg_stopped && pg_ctl_quiet("start", out, sizeof out) != 0)
        print_error("the PostgreSQL cluster could not be started again: %s\n", out);
    if (*mounted) {
        if (fx) {  /* the fixture's store may be open on the mounted file */
            oi_store_close(fx->store);
            fx->store = NULL;
        }
        umount2(mounted, MNT_DETACH);
        *mounted = '\0';
    }
    return fx_teardown(state);
}

/* ---- requests from a thread ------------------------------------------------- */

long ft_http(const fx_server *srv, const char *method, const char *path, const char *body,
             char **headers)
{
    char url[2048];
    long status = 0;
    fx_sink sink = {0}, head = {0};
    snprintf(url, sizeof url, "%s%s", srv->base, path);
    CURL *curl = curl_easy_init();
    struct curl_slist *list = curl_slist_append(NULL, "Content-Type: application/json");
    if (!curl)
        return 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, fx_http_take);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    free(sink.data);
    if (headers)
        *headers = head.data ? head.data : strdup("");
    else
        free(head.data);
    return status;
}

/* ---- metrics files --------------------------------------------------------- */

void ft_write_csv(const char *path, long first, long n)
{
    oi_time t0;
    char at[OI_TIME_BUFSZ];
    assert_int_equal(oi_time_parse(T0, &t0), OI_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata\n", f);
    for (long i = first; i < first + n; i++)
        fprintf(f, FT_AGENT ",load,%ld,,%s,\n", i,
                oi_time_format(t0 + (oi_time)i * 1000000, at));
    assert_int_equal(fclose(f), 0);
}

long long ft_wait_rows(oi_fixture *fx, pid_t pid, long long above, int timeout_ms)
{
    int status;
    for (int64_t until = ft_now_us() + (int64_t)timeout_ms * 1000; ft_now_us() < until;) {
        long long n = fx_count(fx, "agent_metrics");
        if (n > above)
            return n;
        if (ft_ended(pid, &status))
            fail_msg("the process ended (status %d) with %lld rows in agent_metrics", status, n);
        ft_sleep_ms(2);
    }
    fail_msg("agent_metrics did not grow past %lld rows in %d ms", above, timeout_ms);
    return 0;
}

void ft_assert_rows(oi_fixture *fx, long long n)
{
    char want[128];
    snprintf(want, sizeof want, n ? "%lld|%lld|0|%lld\n" : "0|0||\n", n, n, n - 1);
    char *got = fx_sql_text(fx, "SELECT count(*), count(DISTINCT metric_value), "
                                "CAST(min(metric_value) AS BIGINT), "
                                "CAST(max(metric_value) AS BIGINT) FROM agent_metrics");
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM (SELECT agent_id FROM agent_metrics "
                                    "GROUP BY agent_id, metric_name, collection_timestamp "
                                    "HAVING count(*) > 1) d"), 0);
}

void ft_assert_database_sound(oi_fixture *fx)
{
    oi_store *s = NULL;
    int rc = oi_store_open(&s, fx->url);
    if (rc == OI_OK)
        rc = oi_migrate_check_head(s);
    if (rc != OI_OK)
        print_error("%s\n", oi_errmsg(s));
    oi_store_close(s);
    assert_int_equal(rc, OI_OK);
    if (!fx_is_pg()) {
        char *check = fx_sql_text(fx, "PRAGMA integrity_check");
        assert_string_equal(check, "ok\n");
        free(check);
    }
}

/* ---- the PostgreSQL cluster ----------------------------------------------- */

/* "VERSION NAME" of the cluster listening on PGPORT, into out. */
static bool find_cluster(char *out, size_t size)
{
    const char *port = getenv("PGPORT");
    FILE *p = popen("pg_lsclusters -h 2>/dev/null", "r");
    char line[1024], version[32], name[128], at[32];
    bool found = false;
    if (!p || !port)
        return false;
    while (!found && fgets(line, sizeof line, p)) {
        found = sscanf(line, "%31s %127s %31s", version, name, at) == 3 &&
                strcmp(at, port) == 0;
    }
    pclose(p);
    if (found)
        snprintf(out, size, "%s %s", version, name);
    return found;
}

/* pg_ctlcluster's exit code; its output into out (size bytes). */
static int pg_ctl_quiet(const char *action, char *out, size_t size)
{
    char cluster[256], cmd[512];
    size_t n = 0;
    *out = '\0';
    if (!find_cluster(cluster, sizeof cluster))
        return -1;
    snprintf(cmd, sizeof cmd, "pg_ctlcluster %s %s 2>&1", cluster, action);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    while (n + 1 < size && fgets(out + n, (int)(size - n), p))
        n += strlen(out + n);
    int rc = pclose(p);
    if (rc == 0)
        pg_stopped = strncmp(action, "stop", 4) == 0;
    return rc;
}

/* While the cluster is down its port is free, and on a shared machine
 * another pg_virtualenv may take it: the start then fails with "Port
 * conflict", which the message shows. */
void ft_pg_ctl(const char *action)
{
    char out[2048];
    if (pg_ctl_quiet(action, out, sizeof out) != 0)
        fail_msg("pg_ctlcluster %s failed (run the tests under pg_virtualenv): %s", action, out);
}

void ft_pg_restart(void)
{
    ft_pg_ctl("stop -m fast");
    ft_pg_ctl("start");
}

/* ---- a small file system --------------------------------------------------- */

bool ft_mount_tmpfs(oi_fixture *fx, const char *size, char *dir, size_t dirsize)
{
    char options[64];
    snprintf(dir, dirsize, "%s/tmpfs", fx->dir);
    snprintf(options, sizeof options, "size=%s,mode=0700", size);
    assert_int_equal(mkdir(dir, 0700), 0);
    if (mount("tmpfs", dir, "tmpfs", 0, options) != 0) {
        print_message("cannot mount a tmpfs on %s: %s\n", dir, strerror(errno));
        return false;
    }
    snprintf(mounted, sizeof mounted, "%s", dir);
    return true;
}
