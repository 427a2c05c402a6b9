/*
 * replica_lag.c - what a read costs through a read replica, and what the
 * replica's lag check adds to it (docs/scaling.md, "Read replicas").
 *
 * Reads one agent by name (oi_agent_lookup) N times through four stores:
 * the primary alone; the replica without a lag limit; the replica with a
 * lag limit checked before every read (check_every 0); and with the
 * default check interval (1 s).  Prints the mean time per read of each.
 *
 *   make && cc -O2 -Iinclude bench/replica_lag.c build/liboptiinfra.a \
 *       $(pkg-config --libs sqlite3 jansson uuid nettle) -lm -o build/replica-lag
 *   pg_virtualenv -t sh -c 'build/optiinfra --database-url "host=$PGHOST \
 *       port=$PGPORT dbname=$PGDATABASE user=$PGUSER" db upgrade && \
 *       OI_REPLICA_RUN="build/replica-lag 20000" sh scripts/replica-test.sh build'
 *
 * The primary's URL comes from libpq's PG* variables, the replica's from
 * OI_TEST_READ_URL (scripts/replica-test.sh sets both).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "optiinfra/optiinfra.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *what, const char *read_url, bool limit_lag, int64_t check_every,
                long n)
{
    oi_store_options o = OI_STORE_OPTIONS_INIT;
    o.url = "host=127.0.0.1"; /* the rest from PGPORT, PGDATABASE, PGUSER, PGPASSWORD */
    o.read_url = read_url;
    o.limit_lag = limit_lag;
    o.max_lag = 5 * INT64_C(1000000);
    o.check_every = check_every;
    oi_store *s = NULL;
    if (oi_store_open_ext(&s, &o) != OI_OK) {
        fprintf(stderr, "replica-lag: %s\n", oi_errmsg(s));
        exit(1);
    }
    oi_agent a = OI_AGENT_INIT;
    oi_agent_lookup(s, "nobody", &a); /* the statements are prepared, the check made */
    double start = now_s();
    for (long i = 0; i < n; i++)
        if (oi_agent_lookup(s, "nobody", &a) != OI_ENOTFOUND) {
            fprintf(stderr, "replica-lag: %s\n", oi_errmsg(s));
            exit(1);
        }
    double us = (now_s() - start) / (double)n * 1e6;
    printf("%-44s %7.1f us per read (%s)\n", what, us, oi_store_last_read(s));
    oi_store_close(s);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    const char *replica = getenv("OI_TEST_READ_URL");
    if (!replica) {
        fprintf(stderr, "replica-lag: set OI_TEST_READ_URL (scripts/replica-test.sh)\n");
        return 2;
    }
    run("primary alone", NULL, false, 0, n);
    run("replica, any lag", replica, false, 0, n);
    run("replica, lag checked before every read", replica, true, 0, n);
    run("replica, lag checked at most every 1 s", replica, true,
        OI_REPLICA_CHECK_EVERY_DEFAULT, n);
    return 0;
}
