/*
 * heartbeat_lib.c - the library's own heartbeat rate: the baseline the
 * service's heartbeats are measured against (bench/serve.sh).
 *
 *   heartbeat_lib URL FILE THREADS SECONDS
 *
 * FILE lists the agents, one "ID ..." line each (bench_agents register
 * writes it).  THREADS threads, each with a store of its own
 * (oi_store_open(), as each worker of the service has), call
 * oi_agent_heartbeat_with() round-robin over the agents for SECONDS
 * seconds, each thread starting at its own offset so that the threads
 * beat different agents, as wrk's connections do.  Each beat reports
 * status "healthy": the same statement and bound values as the service's
 * heartbeat request with the body {"status":"healthy"}.
 *
 * The clock starts when every thread has opened its store: opening 64
 * PostgreSQL connections takes a while, and is not a heartbeat.  (The
 * service's workers open theirs on their first request; with a worker per
 * CPU that is two openings in a 10 s run.)
 *
 * Prints one line: "beats N seconds S rate R p50_ms P p99_ms Q" (the
 * latency of one call, from a histogram of 2^(1/16) steps: within 4.5%).
 * Any failed beat stops the program with exit 1: the baseline must be
 * error-free as the service's run must be.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <optiinfra/optiinfra.h>
#include "bench_clock.h"

#define STEPS_PER_DOUBLING 16
#define BUCKETS (40 * STEPS_PER_DOUBLING) /* up to 2^40 ns: far beyond any call */

typedef struct agents {
    char (*ids)[sizeof(oi_uuid)];
    size_t n;
} agents;

typedef struct worker {
    pthread_t thread;
    const char *url;
    const agents *agents;
    size_t first;           /* the agent it starts with */
    uint64_t beats;
    uint64_t latency[BUCKETS];
} worker;

static atomic_bool stop;
static atomic_bool failed;
/* The clock starts once every thread has its store open. */
static pthread_barrier_t opened;

static size_t bucket_of(int64_t ns)
{
    size_t b = ns > 1 ? (size_t)(log2((double)ns) * STEPS_PER_DOUBLING) : 0;
    return b < BUCKETS ? b : BUCKETS - 1;
}

static double bucket_ms(size_t b)
{
    return exp2((double)(b + 1) / STEPS_PER_DOUBLING) / 1e6; /* its upper edge */
}

static void *beat(void *arg)
{
    worker *w = arg;
    oi_store *store = NULL;
    oi_heartbeat_options report = OI_HEARTBEAT_OPTIONS_INIT;
    report.status = "healthy";
    if (oi_store_open(&store, w->url) != OI_OK) {
        fprintf(stderr, "heartbeat_lib: opening the store: %s\n", oi_errmsg(store));
        atomic_store(&failed, true);
    }
    pthread_barrier_wait(&opened);
    for (size_t i = w->first; !atomic_load(&failed) && !atomic_load(&stop); i++) {
        int64_t start = now_ns();
        if (oi_agent_heartbeat_with(store, w->agents->ids[i % w->agents->n], &report, NULL)
            != OI_OK) {
            fprintf(stderr, "heartbeat_lib: a beat failed: %s\n", oi_errmsg(store));
            atomic_store(&failed, true);
            break;
        }
        w->latency[bucket_of(now_ns() - start)]++;
        w->beats++;
    }
    oi_store_close(store);
    return NULL;
}

static int read_agents(const char *path, agents *out)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return perror(path), -1;
    size_t cap = 0;
    char line[512];
    while (fgets(line, sizeof line, in)) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 1024;
            out->ids = realloc(out->ids, cap * sizeof *out->ids);
            if (!out->ids)
                return fclose(in), -1;
        }
        if (sscanf(line, "%36s", out->ids[out->n]) == 1)
            out->n++;
    }
    fclose(in);
    return out->n ? 0 : -1;
}

/* The latency at quantile q of the merged histograms, in ms. */
static double quantile_ms(const worker *w, int nthreads, uint64_t total, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        for (int t = 0; t < nthreads; t++)
            seen += w[t].latency[b];
        if (seen >= want)
            return bucket_ms(b);
    }
    return bucket_ms(BUCKETS - 1);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: heartbeat_lib URL FILE THREADS SECONDS\n");
        return 2;
    }
    agents list = {0};
    int nthreads = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (read_agents(argv[2], &list) != 0 || nthreads < 1 || seconds <= 0) {
        fprintf(stderr, "heartbeat_lib: no agents in %s, or a bad THREADS or SECONDS\n", argv[2]);
        return 2;
    }
    worker *w = calloc((size_t)nthreads, sizeof *w);
    if (!w)
        return 1;
    pthread_barrier_init(&opened, NULL, (unsigned)nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        w[t] = (worker){.url = argv[1], .agents = &list, .first = t * list.n / nthreads};
        pthread_create(&w[t].thread, NULL, beat, &w[t]);
    }
    pthread_barrier_wait(&opened);
    int64_t start = now_ns();
    struct timespec duration = {(time_t)seconds,
                                (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&duration, NULL);
    atomic_store(&stop, true);
    uint64_t beats = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(w[t].thread, NULL);
        beats += w[t].beats;
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    if (atomic_load(&failed) || beats == 0)
        return 1;
    printf("beats %" PRIu64 " seconds %.3f rate %.1f p50_ms %.3f p99_ms %.3f\n", beats, elapsed,
           (double)beats / elapsed, quantile_ms(w, nthreads, beats, 0.50),
           quantile_ms(w, nthreads, beats, 0.99));
    free(w);
    free(list.ids);
    return 0;
}
