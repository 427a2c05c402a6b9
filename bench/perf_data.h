/*
 * perf_data.h - the data set of the side-by-side benchmark (bench/perf.sh),
 * shared by its generator (perf_data.c) and its query driver (perf_client.c)
 * so that both draw the same agents, names and days from the same seed.
 *
 * Rows: the agents in turn; one of PERF_NAMES metric names, one of
 * PERF_REGIONS regions and PERF_MODELS models and a boolean per row, drawn
 * from xorshift64* with a fixed seed (the same sequence on every machine);
 * collection times spread evenly over PERF_DAYS days from PERF_START, so
 * that a day holds rows/PERF_DAYS of them whatever the size.
 */
#ifndef PERF_DATA_H
#define PERF_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define PERF_NAMES 20
#define PERF_REGIONS 4
#define PERF_MODELS 50
#define PERF_DAYS 30
#define PERF_DAY_US INT64_C(86400000000)
#define PERF_START_US INT64_C(1790812800000000) /* 2026-10-01T00:00:00Z */
#define PERF_SEED UINT64_C(88172645463325252)

static const char *const perf_names[PERF_NAMES] = {
    "gpu_utilization", "gpu_memory_used_gb", "cpu_utilization", "memory_used_gb",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_rps",
    "tokens_per_second", "queue_depth", "error_rate", "cache_hit_ratio",
    "spend_usd", "power_watts", "temperature_c", "batch_size",
    "requests_in_flight", "disk_io_mbps", "network_mbps", "savings_usd",
};

static const char *const perf_units[PERF_NAMES] = {
    "percent", "GB", "percent", "GB", "ms", "ms", "ms", "rps", "tps", "count",
    "ratio", "ratio", "usd", "W", "C", "count", "count", "MB/s", "Mb/s", "usd",
};

static const char *const perf_regions[PERF_REGIONS] = {"us-west", "us-east", "eu-central",
                                                       "ap-south"};

/* xorshift64*: the same sequence on every run and machine. */
static inline uint64_t perf_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ": the text both stores compare and store. */
static inline void perf_format_time(int64_t us, char *buf, size_t size)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%06dZ", (int)(us % 1000000));
}

#endif
