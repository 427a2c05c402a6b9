/*
 * gen_metrics.c - writes N metric rows for the import benchmark (bench/import.sh).
 *
 *   gen_metrics ROWS FORMAT AGENT...
 *
 * FORMAT:
 *   csv         what `optiinfra metrics import` reads: a header, agents by name
 *   ndjson      the same rows, one JSON object per line
 *   pg-csv      the same rows for psql's \copy agent_metrics (agent_id, ...,
 *               created_at) FROM ... CSV HEADER: agents by id (give ids as AGENT)
 *   sqlite-csv  the same rows for the sqlite3 shell's .import --csv into
 *               agent_metrics: every column, id first, no header
 *
 * The rows are the same in every format (a fixed pseudo-random sequence):
 * agents in turn, eight metric names, values with decimals, timestamps one
 * second apart, and metadata objects whose quotes and commas exercise CSV
 * quoting.  Nothing is kept in memory: the data is generated, not committed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const names[] = {
    "gpu_utilization", "latency_p95_ms", "throughput_rps", "spend_usd",
    "queue_depth", "error_rate", "tokens_per_second", "cache_hit_ratio",
};
static const char *const units[] = {
    "percent", "ms", "rps", "usd", "count", "ratio", "tps", "ratio",
};
static const char *const regions[] = {"us-west", "us-east", "eu-central", "ap-south"};

/* xorshift64*: the same sequence on every run and machine. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static void format_time(long long seconds, char *buf, size_t size)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

typedef struct row {
    const char *agent, *name, *unit, *region;
    double value;
    char at[40];
    unsigned host;
} row;

static void make_row(row *r, long long i, uint64_t *state, char **agents, int nagents)
{
    uint64_t x = next_random(state);
    int k = (int)(x % 8);
    r->agent = agents[i % nagents];
    r->name = names[k];
    r->unit = units[k];
    r->region = regions[(x >> 8) % 4];
    r->value = (double)((x >> 16) % 1000000) / 100.0;
    r->host = (unsigned)((x >> 40) % 512);
    format_time(1780000000LL + i, r->at, sizeof r->at);
}

static void write_csv(const row *r)
{
    printf("%s,%s,%.2f,%s,%s,\"{\"\"region\"\": \"\"%s\"\", \"\"host\"\": \"\"gpu-%u\"\", "
           "\"\"tags\"\": [\"\"a\"\", \"\"b\"\"]}\"\n",
           r->agent, r->name, r->value, r->unit, r->at, r->region, r->host);
}

static void write_ndjson(const row *r)
{
    printf("{\"agent\": \"%s\", \"metric_name\": \"%s\", \"metric_value\": %.2f, "
           "\"metric_unit\": \"%s\", \"collection_timestamp\": \"%s\", \"metadata\": "
           "{\"region\": \"%s\", \"host\": \"gpu-%u\", \"tags\": [\"a\", \"b\"]}}\n",
           r->agent, r->name, r->value, r->unit, r->at, r->region, r->host);
}

static void write_pg_csv(const row *r, const char *created)
{
    printf("%s,%s,%.2f,%s,%s,\"{\"\"region\"\": \"\"%s\"\", \"\"host\"\": \"\"gpu-%u\"\", "
           "\"\"tags\"\": [\"\"a\"\", \"\"b\"\"]}\",%s\n",
           r->agent, r->name, r->value, r->unit, r->at, r->region, r->host, created);
}

static void write_sqlite_csv(const row *r, long long id, const char *created)
{
    printf("%lld,", id);
    write_pg_csv(r, created);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gen_metrics ROWS csv|ndjson|pg-csv|sqlite-csv AGENT...\n");
        return 2;
    }
    long long rows = atoll(argv[1]);
    const char *format = argv[2];
    char created[40];
    uint64_t state = 88172645463325252ULL;
    format_time(1780000000LL, created, sizeof created);
    if (strcmp(format, "csv") == 0)
        puts("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata");
    else if (strcmp(format, "pg-csv") == 0)
        puts("agent_id,metric_name,metric_value,metric_unit,collection_timestamp,metadata,"
             "created_at");
    for (long long i = 0; i < rows; i++) {
        row r;
        make_row(&r, i, &state, argv + 3, argc - 3);
        if (strcmp(format, "csv") == 0)
            write_csv(&r);
        else if (strcmp(format, "ndjson") == 0)
            write_ndjson(&r);
        else if (strcmp(format, "pg-csv") == 0)
            write_pg_csv(&r, created);
        else
            write_sqlite_csv(&r, i + 1, created);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
