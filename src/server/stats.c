/*
 * stats.c - the service's own request counts and latencies, for /metrics.
 *
 * One slot per route (plus one for requests that matched none), each with
 * a count per status code and a latency histogram, all relaxed atomics:
 * workers never wait for each other to count, and a scrape reads a
 * snapshot that is at most a few requests stale.  Slots are found by the
 * route's address in the table of slots filled at start, so recording is
 * a short scan and a few atomic increments, no lock and no allocation.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "server.h"

/* Latency bucket bounds, seconds: 0.5 ms to 10 s. */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBOUNDS (sizeof bounds / sizeof *bounds)

/* The statuses the service answers; any other counts as the last. */
static const unsigned statuses[] = {200, 201, 400, 401, 403, 404, 405, 409,
                                    410, 412, 413, 415, 422, 500, 503, 0};
#define NSTATUSES (sizeof statuses / sizeof *statuses)

#define MAX_SLOTS 128

typedef struct slot {
    const srv_route *route;           /* NULL: the unmatched requests */
    atomic_ullong by_status[NSTATUSES];
    atomic_ullong buckets[NBOUNDS];   /* cumulative on output, not here */
    atomic_ullong count;
    atomic_ullong micros_sum;
} slot;

static slot slots[MAX_SLOTS];
/* The writer's groups (writer.c): transactions committed, requests in them. */
static atomic_ullong groups_committed, group_requests;
static size_t nslots = 1; /* slots[0]: unmatched */

static void add_slot(const srv_route *route, void *arg)
{
    (void)arg;
    if (nslots < MAX_SLOTS)
        slots[nslots++].route = route;
}

void srv_stats_setup(void)
{
    srv_route_each(add_slot, NULL);
}

static slot *slot_of(const srv_route *route)
{
    for (size_t i = 1; route && i < nslots; i++)
        if (slots[i].route == route)
            return &slots[i];
    return &slots[0];
}

static size_t status_index(unsigned status)
{
    size_t i = 0;
    while (statuses[i] && statuses[i] != status)
        i++;
    return i;
}

void srv_stats_record(const srv_request *req, int64_t micros)
{
    slot *s = slot_of(req->route);
    double seconds = (double)micros / 1e6;
    atomic_fetch_add_explicit(&s->by_status[status_index(req->status)], 1,
                              memory_order_relaxed);
    for (size_t i = 0; i < NBOUNDS; i++)
        if (seconds <= bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->micros_sum, (unsigned long long)(micros > 0 ? micros : 0),
                              memory_order_relaxed);
}

void srv_stats_group_committed(size_t requests)
{
    atomic_fetch_add_explicit(&groups_committed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&group_requests, requests, memory_order_relaxed);
}

static const char *route_label(const slot *s)
{
    return s->route ? s->route->pattern : "unmatched";
}

static const char *method_label(const slot *s)
{
    return s->route ? s->route->method : "any";
}

static void write_counts(FILE *out)
{
    fputs("# HELP optiinfra_http_requests_total HTTP requests answered, by route and "
          "status.\n# TYPE optiinfra_http_requests_total counter\n", out);
    for (size_t i = 0; i < nslots; i++)
        for (size_t k = 0; k < NSTATUSES; k++) {
            unsigned long long n = atomic_load_explicit(&slots[i].by_status[k],
                                                        memory_order_relaxed);
            if (n == 0)
                continue;
            char code[16];
            snprintf(code, sizeof code, statuses[k] ? "%u" : "other", statuses[k]);
            fprintf(out, "optiinfra_http_requests_total{method=\"%s\",route=\"%s\","
                    "code=\"%s\"} %llu\n", method_label(&slots[i]), route_label(&slots[i]),
                    code, n);
        }
}

static void write_histogram(FILE *out, const slot *s)
{
    unsigned long long cumulative = 0;
    unsigned long long count = atomic_load_explicit(&s->count, memory_order_relaxed);
    for (size_t i = 0; i < NBOUNDS; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        fprintf(out, "optiinfra_http_request_duration_seconds_bucket{method=\"%s\","
                "route=\"%s\",le=\"%g\"} %llu\n", method_label(s), route_label(s), bounds[i],
                cumulative);
    }
    /* +Inf is the count read first: never below a bucket read after it. */
    if (count < cumulative)
        count = cumulative;
    fprintf(out, "optiinfra_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
            "le=\"+Inf\"} %llu\n", method_label(s), route_label(s), count);
    fprintf(out, "optiinfra_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
            "%.6f\n", method_label(s), route_label(s),
            (double)atomic_load_explicit(&s->micros_sum, memory_order_relaxed) / 1e6);
    fprintf(out, "optiinfra_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
            "%llu\n", method_label(s), route_label(s), count);
}

static void write_groups(FILE *out)
{
    fprintf(out, "# HELP optiinfra_write_groups_total Transactions in which the SQLite writer "
            "committed the writing requests that arrived together (0 on PostgreSQL).\n"
            "# TYPE optiinfra_write_groups_total counter\noptiinfra_write_groups_total %llu\n"
            "# HELP optiinfra_write_group_requests_total Requests those transactions "
            "carried.\n# TYPE optiinfra_write_group_requests_total counter\n"
            "optiinfra_write_group_requests_total %llu\n",
            atomic_load_explicit(&groups_committed, memory_order_relaxed),
            atomic_load_explicit(&group_requests, memory_order_relaxed));
}

void srv_stats_write(FILE *out)
{
    write_counts(out);
    write_groups(out);
    fputs("# HELP optiinfra_http_request_duration_seconds Time from a request's first byte "
          "to its answer.\n# TYPE optiinfra_http_request_duration_seconds histogram\n", out);
    for (size_t i = 0; i < nslots; i++)
        if (atomic_load_explicit(&slots[i].count, memory_order_relaxed) > 0)
            write_histogram(out, &slots[i]);
}
