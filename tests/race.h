/*
 * race.h - real OS processes racing on the test's database.
 *
 * The runtime's guarantees (no lost update, one lock holder) are about
 * processes, so their tests fork: each worker opens its own store on the
 * fixture's database, waits for a common start signal, does its work and
 * reports by exit code and by lines appended to a shared log file (one
 * write(2) per line on an O_APPEND descriptor, so lines never interleave
 * and their order is the order in which the workers wrote them).
 *
 * A worker runs in a child process: no cmocka assertion there, only its
 * exit code (0 = fine) and its log lines count.
 */
#ifndef OI_TEST_RACE_H
#define OI_TEST_RACE_H

#include "harness.h"

/* A worker: `index` 0..n-1, the database URL, the caller's context;
 * returns its exit code. */
typedef int (*race_worker)(int index, const char *url, void *ctx);

/* Run n workers at once and wait for them; fails the test if one exits
 * non-zero or dies.  The log (race_log_path) starts empty. */
void race_run(oi_fixture *fx, int n, race_worker worker, void *ctx);

/* The shared log of the fixture, and a line appended to it by a worker
 * (returns false when the write failed). */
const char *race_log_path(oi_fixture *fx);
bool race_log(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The log's content; free() it. */
char *race_log_read(oi_fixture *fx);

#endif
