/*
 * scale_data.c - the data and the range queries of the scale benchmark
 * (bench/scale.sh, issue 12): many agents over months.
 *
 *   scale_data csv ROWS FIRST COUNT AGENTS START DAYS
 *   scale_data range URL QUERIES IDS START DAYS
 *
 * csv writes rows FIRST ... FIRST+COUNT-1 of a data set of ROWS rows, as
 * `optiinfra metrics import` reads them (a header, agents by name).  The
 * rows come in scrapes, as a collector sends them: one agent's 20 metrics
 * (the names of perf_data.h, in order) at one time, then the next agent's;
 * the agents "scale-agent-0001" ... AGENTS in turn.  Values have three
 * decimals; metadata is {"region": R, "host": H}, one per scrape.  The
 * scrapes' times are spread evenly over DAYS days from START (epoch
 * seconds), in row order, so a batch of rows covers a slice of time and
 * the whole covers the span at any size.  Each row is drawn from its own
 * number (splitmix64 of its index): a batch is the same whether written
 * alone or within the whole, and nothing is held in memory, so
 * bench/scale.sh streams 50 M rows through a pipe in batches.
 *
 * Why scrapes: they are what a collector sends, one agent's metrics at a
 * time.  (The 50 M run also found that the import's agent cache, then 64
 * agents, made rows cycling through 1,000 agents cost a lookup each: 7,500
 * rows/s against 24,700 in scrapes; src/agentref.c now holds 4,096.)
 *
 * range runs QUERIES range queries through the library (oi_metric_iter_new,
 * every row read as a C caller reads it): one agent (drawn from the file
 * IDS, one agent id per line), one metric name, one whole day of the span,
 * from a fixed seed.  Prints "queries N rows R p50_ms P p99_ms Q" (nearest
 * rank over the N latencies, each from the query's start to its last row).
 * Any failure: a message, exit 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <optiinfra/optiinfra.h>
#include "bench_clock.h"
#include "perf_data.h"

#define SCALE_REGIONS 4
#define SCALE_HOSTS 512
#define MAX_IDS 100000

/* splitmix64: a row's random bits from its index alone. */
static uint64_t row_random(uint64_t i)
{
    uint64_t z = i + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int write_csv(long long rows, long long first, long long count, int agents,
                     int64_t start_us, int days)
{
    long long scrapes = (rows + PERF_NAMES - 1) / PERF_NAMES;
    double step_us = (double)days * (double)PERF_DAY_US / (double)scrapes;
    puts("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata");
    for (long long i = first; i < first + count && i < rows; i++) {
        long long scrape = i / PERF_NAMES;
        int name = (int)(i % PERF_NAMES);
        uint64_t x = row_random((uint64_t)i), host = row_random((uint64_t)scrape);
        char at[40];
        perf_format_time(start_us + (int64_t)((double)scrape * step_us), at, sizeof at);
        printf("scale-agent-%04d,%s,%.3f,%s,%s,\"{\"\"region\"\": \"\"%s\"\", "
               "\"\"host\"\": \"\"gpu-%03d\"\"}\"\n",
               (int)(scrape % agents) + 1, perf_names[name], (double)(x % 10000000) / 1000.0,
               perf_units[name], at, perf_regions[host % SCALE_REGIONS],
               (int)((host >> 8) % SCALE_HOSTS));
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- range queries -------------------------------------------------------- */

static int die(const char *what, const char *why)
{
    fprintf(stderr, "scale_data: %s: %s\n", what, why);
    exit(1);
}

static char **read_ids(const char *path, int *n)
{
    FILE *in = fopen(path, "r");
    char **ids = calloc(MAX_IDS, sizeof *ids), line[128];
    if (!in || !ids)
        die(path, "cannot read");
    *n = 0;
    while (*n < MAX_IDS && fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            ids[(*n)++] = strdup(line);
    }
    fclose(in);
    if (*n == 0)
        die(path, "no agent id");
    return ids;
}

/* One query: its rows read, every column as the library lends it. */
static long range_query(oi_store *store, const char *agent_id, const char *name, int64_t from)
{
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = agent_id;
    f.metric_name = name;
    f.from = from;
    f.to = from + PERF_DAY_US - 1;
    oi_iter *it = NULL;
    const oi_agent_metric *m;
    long rows = 0;
    int rc = oi_metric_iter_new(&it, store, &f);
    while (rc == OI_OK && (rc = oi_agent_metric_next_borrowed(it, &m)) == OI_OK)
        rows++;
    oi_iter_free(it);
    if (rc != OI_ITEROVER)
        die("a range query", oi_errmsg(store));
    return rows;
}

static int run_ranges(const char *url, int n, const char *ids_path, int64_t start_us, int days)
{
    int nids = 0;
    char **ids = read_ids(ids_path, &nids);
    oi_store *store = NULL;
    if (oi_store_open(&store, url) != OI_OK)
        die("opening the store", oi_errmsg(store));
    int64_t *ns = malloc((size_t)n * sizeof *ns);
    uint64_t seed = UINT64_C(0x5ca1e);
    long rows = 0;
    for (int q = 0; q < n; q++) {
        uint64_t x = row_random(seed + (uint64_t)q);
        int64_t from = start_us + (int64_t)((x >> 16) % (uint64_t)days) * PERF_DAY_US;
        int64_t began = now_ns();
        rows += range_query(store, ids[x % (uint64_t)nids], perf_names[(x >> 8) % PERF_NAMES],
                            from);
        ns[q] = now_ns() - began;
    }
    qsort(ns, (size_t)n, sizeof *ns, compare_ns);
    printf("queries %d rows %ld p50_ms %.3f p99_ms %.3f\n", n, rows, rank_ms(ns, n, 50),
           rank_ms(ns, n, 99));
    oi_store_close(store);
    free(ns);
    for (int i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "csv") == 0 && atoi(argv[5]) > 0 && atoi(argv[7]) > 0)
        return write_csv(atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoi(argv[5]),
                         atoll(argv[6]) * 1000000, atoi(argv[7]));
    if (argc == 7 && strcmp(argv[1], "range") == 0 && atoi(argv[3]) > 0 && atoi(argv[6]) > 0)
        return run_ranges(argv[2], atoi(argv[3]), argv[4], atoll(argv[5]) * 1000000,
                          atoi(argv[6]));
    fprintf(stderr, "usage: scale_data csv ROWS FIRST COUNT AGENTS START DAYS\n"
                    "       scale_data range URL QUERIES IDS START DAYS\n");
    return 2;
}
