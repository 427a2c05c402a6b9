/*
 * perf_data.c - writes the rows of the side-by-side benchmark (bench/perf.sh)
 * to standard output, one at a time: nothing is held in memory.
 *
 *   perf_data ROWS FORMAT FIRST_ID AGENTS
 *
 * AGENTS is a file of "ID|NAME" lines, one per agent (sqlite3's and
 * `psql -At`'s output of SELECT id, name FROM agents ORDER BY name).
 *
 * FORMAT:
 *   csv         what `optiinfra metrics import` reads: a header, the agent
 *               by NAME, as a user writes it
 *   pg-csv      for psql's \copy agent_metrics (agent_id, metric_name,
 *               metric_value, metric_unit, collection_timestamp, metadata,
 *               created_at) FROM ... CSV HEADER: the agent by ID
 *   sqlite-csv  for the sqlite3 shell's .import --csv into agent_metrics:
 *               every column in table order, ids from FIRST_ID (the seeded
 *               rows hold the ids below it), no header
 *
 * The rows are the same in every format (perf_data.h): values with three
 * decimals, times with microseconds, metadata {"region": R, "model": M,
 * "spot": B} (a key of four values, one of fifty, a boolean).  created_at,
 * which the raw tools must be given, is the first collection time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "perf_data.h"

#define MAX_AGENTS 64

typedef struct agent {
    char id[64], name[256];
} agent;

static int read_agents(const char *path, agent *agents)
{
    FILE *in = fopen(path, "r");
    int n = 0;
    char line[sizeof agents->id + sizeof agents->name];
    if (!in)
        return perror(path), 0;
    while (n < MAX_AGENTS && fgets(line, sizeof line, in))
        if (sscanf(line, "%63[^|]|%255[^\n]", agents[n].id, agents[n].name) == 2)
            n++;
    fclose(in);
    return n;
}

static void write_row(const char *format, long long i, long long rows, uint64_t *state,
                      const agent *agents, int nagents, long long first_id, const char *created)
{
    uint64_t x = perf_random(state);
    int name = (int)(x % PERF_NAMES);
    const agent *a = &agents[i % nagents];
    double value = (double)((x >> 8) % 10000000) / 1000.0;
    char at[40];
    int64_t offset = (int64_t)((double)i * (PERF_DAYS * PERF_DAY_US) / (double)rows);
    perf_format_time(PERF_START_US + offset, at, sizeof at);
    if (strcmp(format, "sqlite-csv") == 0)
        printf("%lld,", first_id + i);
    printf("%s,%s,%.3f,%s,%s,\"{\"\"region\"\": \"\"%s\"\", \"\"model\"\": \"\"model-%02d\"\", "
           "\"\"spot\"\": %s}\"",
           strcmp(format, "csv") == 0 ? a->name : a->id, perf_names[name], value,
           perf_units[name], at, perf_regions[(x >> 32) % PERF_REGIONS],
           (int)((x >> 40) % PERF_MODELS), (x >> 56) & 1 ? "true" : "false");
    if (strcmp(format, "csv") == 0)
        putchar('\n');
    else
        printf(",%s\n", created);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: perf_data ROWS csv|pg-csv|sqlite-csv FIRST_ID AGENTS\n");
        return 2;
    }
    long long rows = atoll(argv[1]), first_id = atoll(argv[3]);
    const char *format = argv[2];
    agent agents[MAX_AGENTS];
    int nagents = read_agents(argv[4], agents);
    if (nagents == 0 || rows < 1)
        return 2;
    char created[40];
    perf_format_time(PERF_START_US, created, sizeof created);
    if (strcmp(format, "csv") == 0)
        puts("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata");
    else if (strcmp(format, "pg-csv") == 0)
        puts("agent_id,metric_name,metric_value,metric_unit,collection_timestamp,metadata,"
             "created_at");
    uint64_t state = PERF_SEED;
    for (long long i = 0; i < rows; i++)
        write_row(format, i, rows, &state, agents, nagents, first_id, created);
    return fflush(stdout) == 0 ? 0 : 1;
}
