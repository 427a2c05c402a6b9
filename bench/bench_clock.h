/*
 * bench_clock.h - the latency arithmetic the benchmark programs share
 * (perf_client.c, scale_data.c, heartbeat_lib.c): a monotonic clock in
 * nanoseconds and nearest-rank percentiles of sorted latencies.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* For qsort of int64_t latencies, ascending. */
static inline int compare_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the latency at rank ceil(percent/100 * n) of n sorted, in ms. */
static inline double rank_ms(const int64_t *sorted, int n, int percent)
{
    int rank = (n * percent + 99) / 100;
    return (double)sorted[rank > 0 ? rank - 1 : 0] / 1e6;
}

#endif
