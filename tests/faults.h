/*
 * faults.h - what the crash and fault tests (test_crash.c, test_faults.c)
 * share: processes started in the background and always ended, a big
 * metrics file and the checks of what an import left, and the PostgreSQL
 * cluster of pg_virtualenv stopped and started under the code.
 *
 * Every process a test starts here (a CLI, the server, a lock holder) is
 * recorded, and ft_teardown() kills and reaps whatever is still running,
 * restarts a cluster the test stopped and unmounts its file system, even
 * when an assertion ended the test half-way: one failure must not leave a
 * stopped database or a stray writer to the tests that follow.
 */
#ifndef OI_TEST_FAULTS_H
#define OI_TEST_FAULTS_H

#include <sys/types.h>
#include "harness.h"

/* The agent fx_setup_agent() registers: every generated row is its. */
#define FT_AGENT "Test Cost Agent"

/* ---- processes ------------------------------------------------------------ */

/* Start the CLI with --database-url fx->url and args (NULL-terminated),
 * stdout and stderr into files of fx->dir named after `tag` (ft_output()
 * reads them).  Returns its pid, recorded for the teardown. */
pid_t ft_spawn_cli(oi_fixture *fx, const char *tag, const char *const *args);
/* The stdout (err false) or stderr of the CLI started with tag; free() it. */
char *ft_output(oi_fixture *fx, const char *tag, bool err);
/* Record a process started otherwise (a server), for the teardown. */
void ft_adopt(pid_t pid);
/* Wait for pid to end: its exit code, 128 + signal, or -1 after
 * timeout_ms (it is then killed).  It is reaped and forgotten. */
int ft_wait(pid_t pid, int timeout_ms);
/* SIGKILL pid and reap it. */
void ft_kill(pid_t pid);
/* Forget pid, reaped by other means (fx_server_stop). */
void ft_forget(pid_t pid);
/* Whether pid has ended (it is then reaped and forgotten; *status as
 * ft_wait's). */
bool ft_ended(pid_t pid, int *status);

/* fx_setup_agent, and the teardown that ends what a test left running. */
int ft_setup(void **state);
int ft_teardown(void **state);

void ft_sleep_ms(int ms);
/* Microseconds of a monotonic clock. */
int64_t ft_now_us(void);

/* ---- requests from a thread ------------------------------------------------- */

struct fx_server;
/* method path [body, JSON] to the server without a cmocka assertion (for a
 * thread): the status, 0 when the transport failed (the server died).
 * *headers (when not NULL) receives the answer's header lines; free() it. */
long ft_http(const struct fx_server *srv, const char *method, const char *path,
             const char *body, char **headers);

/* ---- metrics files and what an import left --------------------------------- */

/* A CSV file of rows first .. first + n - 1 of FT_AGENT's metric "load":
 * row i has the value i and the time T0 + i seconds, so every row is
 * distinct by (agent, name, time).  Row i is on line i + 2 of a file that
 * starts at row 0 (the header is line 1). */
void ft_write_csv(const char *path, long first, long n);
/* Poll the table through a connection of its own until more than `above`
 * rows are in agent_metrics; fails if pid ends first or after timeout_ms.
 * Returns the count seen. */
long long ft_wait_rows(oi_fixture *fx, pid_t pid, long long above, int timeout_ms);
/* agent_metrics holds exactly rows 0 .. n - 1 of ft_write_csv, each once. */
void ft_assert_rows(oi_fixture *fx, long long n);
/* The database opens with the library, is at the schema head and, on
 * SQLite, passes PRAGMA integrity_check. */
void ft_assert_database_sound(oi_fixture *fx);

/* ---- the PostgreSQL cluster ----------------------------------------------- */

/* pg_ctlcluster ACTION ("stop -m fast", "start") on the cluster
 * pg_virtualenv made (found by PGPORT in pg_lsclusters); the test fails if
 * it cannot.  A cluster left stopped is started by ft_teardown(). */
void ft_pg_ctl(const char *action);
/* Stop (fast: every session is ended) and start again.  Not pg_ctlcluster
 * restart, which on a busy machine took the cluster for stopped and
 * answered "Cluster is already running" without stopping it. */
void ft_pg_restart(void);

/* ---- a small file system --------------------------------------------------- */

/* Mount a tmpfs of `size` (mount's syntax, "2m") on a new directory of
 * fx->dir into dir; false (the caller skips) when mounting is not
 * permitted.  ft_teardown() unmounts it. */
bool ft_mount_tmpfs(oi_fixture *fx, const char *size, char *dir, size_t dirsize);

#endif
