/*
 * race.c - forked workers on the test's database (see race.h for the why).
 */
#include "race.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { RACE_MAX_WORKERS = 64 };

const char *race_log_path(oi_fixture *fx)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/race.log", fx->dir);
    return path;
}

bool race_log(const char *path, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 1)
        return false;
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    bool ok = fd >= 0 && write(fd, line, (size_t)n) == n;
    if (fd >= 0)
        close(fd);
    return ok;
}

char *race_log_read(oi_fixture *fx)
{
    FILE *f = fopen(race_log_path(fx), "r");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (f) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            fwrite(chunk, 1, n, out);
        fclose(f);
    }
    fclose(out);
    return text;
}

/* In the child: wait for the parent to close the start pipe, then work. */
static void run_worker(int go_fd, int index, const char *url, race_worker worker, void *ctx)
{
    char c;
    if (read(go_fd, &c, 1) < 0)
        _exit(120);
    _exit(worker(index, url, ctx));
}

void race_run(oi_fixture *fx, int n, race_worker worker, void *ctx)
{
    int go[2];
    pid_t pids[RACE_MAX_WORKERS];
    assert_true(n > 0 && n <= RACE_MAX_WORKERS);
    unlink(race_log_path(fx));
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            run_worker(go[0], i, fx->url, worker, ctx);
        }
    }
    close(go[0]);
    close(go[1]); /* every worker starts now */
    int failed = -1, failed_status = 0;
    for (int i = 0; i < n; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && failed < 0) {
            failed = i;
            failed_status = status;
        }
    }
    if (failed >= 0)
        fail_msg("worker %d failed: %s %d", failed,
                 WIFEXITED(failed_status) ? "exit" : "signal",
                 WIFEXITED(failed_status) ? WEXITSTATUS(failed_status) : WTERMSIG(failed_status));
}
