/*
 * perf_client.c - the C sides of the side-by-side benchmark (bench/perf.sh):
 * the library through its public API, and the raw driver (sqlite3, libpq)
 * running the same SQL, so that the difference measured is the library's.
 *
 *   perf_client beat-sqlite PATH SECONDS ID...     W3, raw: heartbeats
 *   perf_client beats-sqlite URL PATH SECONDS ID...
 *   perf_client beats-pg URL CONNINFO SECONDS ID...
 *                                                  W3 interleaved
 *   perf_client range-sqlite [--latencies FILE] URL PATH N ID...
 *   perf_client range-pg [--latencies FILE] URL CONNINFO N ID...
 *                                                  W4, optiinfra and raw
 *   perf_client aggregate URL                      W5a, optiinfra
 *   perf_client buckets URL NAME                   W5b, optiinfra
 *   perf_client time FILE COMMAND... [--then COMMAND...]...
 *
 * time runs the commands one after the other (stopping at the first that
 * fails, whose status it returns) and writes "WALL CPU RSS" to FILE: the
 * seconds they took (the monotonic clock: /usr/bin/time's 10 ms steps are
 * too coarse for W1), their CPU seconds (user + system, their children
 * included) and the largest peak RSS in MB (getrusage RUSAGE_CHILDREN).
 *
 * beat-sqlite is the loop oi_agent_heartbeat_with() runs, written over
 * sqlite3 directly: the connection set up as the library sets it up
 * (src/backend/sqlite.c: foreign keys, WAL, synchronous NORMAL, a busy
 * timeout), the statements of src/heartbeat.c prepared once, each beat
 * BEGIN IMMEDIATE, the UPDATE of agents, the upsert of agent_states,
 * COMMIT, status "healthy", round-robin over the agents.  Prints "beats N
 * seconds S rate R", as bench/heartbeat_lib.c does for the library.
 *
 * beats-sqlite and beats-pg run the library's heartbeats (on URL, through
 * oi_agent_heartbeat_with(), status "healthy") and the same transaction in
 * a raw loop (sqlite3 on PATH as beat-sqlite does; libpq on CONNINFO: the
 * simple-query BEGIN and COMMIT and the two statements prepared by name,
 * as the library sends them) in one process, taking turns of BEAT_TURN
 * beats each, so that a slow moment of the machine falls on both alike
 * (as W4's queries do).  Each side's rate is its beats over the time its
 * own turns took.  Prints "lib_rate R raw_rate R beats N".
 *
 * The range query (W4) draws N (agent, metric, day) triples from the fixed
 * seed (perf_data.h) and reads every row of each, through both sides in one
 * process, query by query: the library on URL through oi_metric_iter_new()
 * and oi_agent_metric_next_borrowed() (the rows lent, not copied, as a
 * demanding C user reads them), then the raw side (sqlite3 on PATH, or
 * libpq on CONNINFO) through one statement prepared once (sqlite3_prepare_v2,
 * or PQprepare) stepped over all rows, each column read; the next query in
 * the other order.  Interleaved so that a slow window of the shared machine
 * (~100 ms, docs/performance.md) costs both sides alike instead of deciding
 * one side's p99.  Both sides must read the same rows (exit 1 if not).
 * Prints "queries N rows R lib_p50_ms P lib_p99_ms Q raw_p50_ms P raw_p99_ms
 * Q" (nearest rank over the N latencies of each side); --latencies FILE
 * also writes each query's latency on both sides ("query lib_us raw_us").
 *
 * The aggregates (W5) print one line per group, "|"-separated: (agent id,
 * metric name) or the bucket's start in epoch seconds, then count, avg,
 * min, max, p50, p95, p99 (%.17g): the lines perf.sh compares with the
 * sqlite3 shell's or psql's answer.  Any failure: a message, exit 1.
 */
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <optiinfra/optiinfra.h>
#include "bench_clock.h"
#include "perf_data.h"

/* The columns and order of oi_metric_iter_new()'s query (src/metrics.c). */
#define RANGE_SQL                                                                         \
    "SELECT id, agent_id, metric_name, metric_value, metric_unit, collection_timestamp, " \
    "metadata, created_at FROM agent_metrics WHERE agent_id = $1 AND metric_name = $2 "   \
    "AND collection_timestamp >= $3 AND collection_timestamp <= $4 "                    \
    "ORDER BY collection_timestamp, id"

/* The statements of src/heartbeat.c, word for word. */
static const char beat_agent_sql[] =
    "UPDATE agents SET last_heartbeat = CASE WHEN last_heartbeat > $2 THEN last_heartbeat "
    "ELSE $2 END, status = COALESCE($3, status), metadata = COALESCE($4, metadata), "
    "updated_at = $2 WHERE id = $1 RETURNING id";
static const char beat_state_sql[] =
    "INSERT INTO agent_states (agent_id, last_heartbeat, created_at, updated_at) "
    "VALUES ($1, $2, $2, $2) ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = "
    "CASE WHEN agent_states.last_heartbeat > excluded.last_heartbeat "
    "THEN agent_states.last_heartbeat ELSE excluded.last_heartbeat END, "
    "updated_at = excluded.updated_at";

static void die(const char *what, const char *why)
{
    fprintf(stderr, "perf_client: %s: %s\n", what, why);
    exit(1);
}

static oi_store *open_store(const char *url)
{
    oi_store *store = NULL;
    if (oi_store_open(&store, url) != OI_OK)
        die("opening the store", oi_errmsg(store));
    return store;
}

/* ---- W3: the raw heartbeat loop over sqlite3 ------------------------------------ */

/* The library's "$N" placeholders as SQLite's "?N": the same numbering. */
static sqlite3_stmt *prepare_sqlite(sqlite3 *db, const char *sql)
{
    char *text = strdup(sql);
    sqlite3_stmt *st = NULL;
    for (char *p = text; (p = strchr(p, '$')) != NULL; p++)
        *p = '?';
    if (sqlite3_prepare_v3(db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    free(text);
    return st;
}

static sqlite3 *open_sqlite(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                         "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    return db;
}

static void run_step(sqlite3 *db, sqlite3_stmt *st, int want)
{
    if (sqlite3_step(st) != want)
        die("a heartbeat", sqlite3_errmsg(db));
    sqlite3_reset(st);
}

/* The raw side's connection and statements: the library's transaction over
 * sqlite3. */
typedef struct sqlite_beater {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *agent, *state;
} sqlite_beater;

static void sqlite_beater_open(sqlite_beater *b, const char *path)
{
    b->db = open_sqlite(path);
    b->begin = prepare_sqlite(b->db, "BEGIN IMMEDIATE");
    b->commit = prepare_sqlite(b->db, "COMMIT");
    b->agent = prepare_sqlite(b->db, beat_agent_sql);
    b->state = prepare_sqlite(b->db, beat_state_sql);
}

static void sqlite_beater_close(sqlite_beater *b)
{
    sqlite3_finalize(b->begin);
    sqlite3_finalize(b->commit);
    sqlite3_finalize(b->agent);
    sqlite3_finalize(b->state);
    sqlite3_close(b->db);
}

/* The time of a beat as the library binds it. */
static void beat_time(char *at, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    perf_format_time((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, at, size);
}

static void sqlite_beat(void *ctx, const char *id)
{
    sqlite_beater *b = ctx;
    char at[40];
    beat_time(at, sizeof at);
    run_step(b->db, b->begin, SQLITE_DONE);
    sqlite3_bind_text(b->agent, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(b->agent, 2, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(b->agent, 3, "healthy", -1, SQLITE_STATIC);
    sqlite3_bind_null(b->agent, 4);
    run_step(b->db, b->agent, SQLITE_ROW);
    sqlite3_bind_text(b->state, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(b->state, 2, at, -1, SQLITE_STATIC);
    run_step(b->db, b->state, SQLITE_DONE);
    run_step(b->db, b->commit, SQLITE_DONE);
}

static int beat_sqlite(const char *path, double seconds, char **ids, int nids)
{
    sqlite_beater b;
    sqlite_beater_open(&b, path);
    int64_t start = now_ns(), stop = start + (int64_t)(seconds * 1e9);
    uint64_t beats = 0;
    for (; now_ns() < stop; beats++)
        sqlite_beat(&b, ids[beats % (uint64_t)nids]);
    double elapsed = (double)(now_ns() - start) / 1e9;
    printf("beats %" PRIu64 " seconds %.3f rate %.1f\n", beats, elapsed, (double)beats / elapsed);
    sqlite_beater_close(&b);
    return 0;
}

/* ---- W3 interleaved: the library and a raw loop, turn by turn ------------------- */

#define BEAT_TURN 25 /* beats a side runs before the other's turn: ~10 ms on PostgreSQL */

static void pg_ok(PGconn *conn, PGresult *res, ExecStatusType want, int rows)
{
    if (PQresultStatus(res) != want || (rows >= 0 && PQntuples(res) != rows))
        die("a heartbeat", PQerrorMessage(conn));
    PQclear(res);
}

/* The library's transaction over libpq, as postgres.c sends it. */
static void pg_beat(void *ctx, const char *id)
{
    PGconn *conn = ctx;
    char at[40];
    beat_time(at, sizeof at);
    const char *agent[4] = {id, at, "healthy", NULL}, *state[2] = {id, at};
    pg_ok(conn, PQexec(conn, "BEGIN"), PGRES_COMMAND_OK, -1);
    pg_ok(conn, PQexecPrepared(conn, "agent", 4, agent, NULL, NULL, 0), PGRES_TUPLES_OK, 1);
    pg_ok(conn, PQexecPrepared(conn, "state", 2, state, NULL, NULL, 0), PGRES_COMMAND_OK, -1);
    pg_ok(conn, PQexec(conn, "COMMIT"), PGRES_COMMAND_OK, -1);
}

static PGconn *prepare_pg_beats(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        die("connecting", PQerrorMessage(conn));
    pg_ok(conn, PQexec(conn, "SET TimeZone = 'UTC'"), PGRES_COMMAND_OK, -1);
    pg_ok(conn, PQprepare(conn, "agent", beat_agent_sql, 0, NULL), PGRES_COMMAND_OK, -1);
    pg_ok(conn, PQprepare(conn, "state", beat_state_sql, 0, NULL), PGRES_COMMAND_OK, -1);
    return conn;
}

static void lib_beat(void *ctx, const char *id)
{
    oi_heartbeat_options report = OI_HEARTBEAT_OPTIONS_INIT;
    report.status = "healthy";
    if (oi_agent_heartbeat_with(ctx, id, &report, NULL) != OI_OK)
        die("a heartbeat", oi_errmsg(ctx));
}

typedef struct beat_side {
    void (*beat)(void *ctx, const char *id);
    void *ctx;
    uint64_t beats;
    int64_t ns;
} beat_side;

static void take_turn(beat_side *side, char **ids, int nids)
{
    int64_t start = now_ns();
    for (int i = 0; i < BEAT_TURN; i++, side->beats++)
        side->beat(side->ctx, ids[side->beats % (uint64_t)nids]);
    side->ns += now_ns() - start;
}

static int beats_interleaved(const char *kind, const char *url, const char *target,
                             double seconds, char **ids, int nids)
{
    oi_store *store = open_store(url);
    sqlite_beater b = {0};
    PGconn *conn = NULL;
    beat_side lib = {lib_beat, store, 0, 0}, raw = {NULL, NULL, 0, 0};
    if (strcmp(kind, "sqlite") == 0) {
        sqlite_beater_open(&b, target);
        raw = (beat_side){sqlite_beat, &b, 0, 0};
    } else if (strcmp(kind, "pg") == 0) {
        conn = prepare_pg_beats(target);
        raw = (beat_side){pg_beat, conn, 0, 0};
    } else {
        die(kind, "not sqlite or pg");
    }
    int64_t stop = now_ns() + (int64_t)(seconds * 1e9);
    for (int turn = 0; now_ns() < stop || turn % 2; turn++) /* as many turns each */
        take_turn(turn % 2 ? &raw : &lib, ids, nids);
    printf("lib_rate %.1f raw_rate %.1f beats %" PRIu64 "\n",
           (double)lib.beats / ((double)lib.ns / 1e9), (double)raw.beats / ((double)raw.ns / 1e9),
           lib.beats);
    if (b.db)
        sqlite_beater_close(&b);
    PQfinish(conn);
    oi_store_close(store);
    return 0;
}

/* ---- W4: range queries ---------------------------------------------------------- */

typedef struct range {
    const char *agent_id, *metric_name;
    int64_t from, to; /* microseconds, inclusive */
    char from_text[40], to_text[40];
} range;

/* The next query of the fixed sequence: one agent, one metric, one day. */
static void next_range(range *r, uint64_t *state, char **ids, int nids)
{
    uint64_t x = perf_random(state);
    r->agent_id = ids[x % (uint64_t)nids];
    r->metric_name = perf_names[(x >> 8) % PERF_NAMES];
    r->from = PERF_START_US + (int64_t)((x >> 16) % PERF_DAYS) * PERF_DAY_US;
    r->to = r->from + PERF_DAY_US - 1;
    perf_format_time(r->from, r->from_text, sizeof r->from_text);
    perf_format_time(r->to, r->to_text, sizeof r->to_text);
}

typedef long (*range_fn)(void *ctx, const range *r); /* rows read; dies on a failure */

/* One side of the interleaved run: its query and each query's latency. */
typedef struct range_side {
    range_fn fn;
    void *ctx;
    int64_t *ns;
} range_side;

static long timed_query(range_side *side, const range *r, int q)
{
    int64_t start = now_ns();
    long rows = side->fn(side->ctx, r);
    side->ns[q] = now_ns() - start;
    return rows;
}

/* Each query's latency on both sides, a line each, for inspection. */
static void write_latencies(const char *path, const range_side *lib, const range_side *raw,
                            int n)
{
    FILE *out = fopen(path, "w");
    if (!out)
        die(path, "cannot be written");
    fprintf(out, "query lib_us raw_us\n");
    for (int q = 0; q < n; q++)
        fprintf(out, "%d %.1f %.1f\n", q + 1, (double)lib->ns[q] / 1e3, (double)raw->ns[q] / 1e3);
    if (fclose(out) != 0)
        die(path, "cannot be written");
}

static void print_percentiles(const char *name, range_side *side, int n)
{
    qsort(side->ns, (size_t)n, sizeof *side->ns, compare_ns);
    printf(" %s_p50_ms %.3f %s_p99_ms %.3f", name, rank_ms(side->ns, n, 50), name,
           rank_ms(side->ns, n, 99));
}

/* The N queries of the fixed sequence, each run by both sides one after the
 * other, the side that goes first alternating (so that neither always finds
 * the pages the other just read): a slow moment of the machine costs both
 * alike.  Both sides must read the same rows. */
static int run_ranges(range_side *lib, range_side *raw, int n, char **ids, int nids,
                      const char *latencies)
{
    uint64_t state = PERF_SEED ^ UINT64_C(0x5eed);
    long rows = 0;
    lib->ns = malloc((size_t)n * sizeof *lib->ns);
    raw->ns = malloc((size_t)n * sizeof *raw->ns);
    if (!lib->ns || !raw->ns)
        die("latencies", "out of memory");
    for (int q = 0; q < n; q++) {
        range r;
        next_range(&r, &state, ids, nids);
        range_side *first = q % 2 ? raw : lib, *second = q % 2 ? lib : raw;
        long a = timed_query(first, &r, q), b = timed_query(second, &r, q);
        if (a != b) {
            fprintf(stderr, "perf_client: query %d (%s, %s, %s): %ld rows and %ld\n", q + 1,
                    r.agent_id, r.metric_name, r.from_text, a, b);
            exit(1);
        }
        rows += a;
    }
    if (latencies)
        write_latencies(latencies, lib, raw, n);
    printf("queries %d rows %ld", n, rows);
    print_percentiles("lib", lib, n);
    print_percentiles("raw", raw, n);
    printf("\n");
    free(lib->ns);
    free(raw->ns);
    return 0;
}

static long range_lib(void *ctx, const range *r)
{
    oi_store *store = ctx;
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = r->agent_id;
    f.metric_name = r->metric_name;
    f.from = r->from;
    f.to = r->to;
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

typedef struct sqlite_range {
    sqlite3 *db;
    sqlite3_stmt *st;
} sqlite_range;

static long range_sqlite(void *ctx, const range *r)
{
    sqlite_range *q = ctx;
    long rows = 0;
    int rc;
    sqlite3_bind_text(q->st, 1, r->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->st, 2, r->metric_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->st, 3, r->from_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->st, 4, r->to_text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
        /* every column in its type, as a caller reads a row: id, value, texts */
        (void)sqlite3_column_int64(q->st, 0);
        (void)sqlite3_column_double(q->st, 3);
        for (int c = 1; c < 8; c++)
            if (c != 3)
                (void)sqlite3_column_text(q->st, c);
        rows++;
    }
    sqlite3_reset(q->st);
    if (rc != SQLITE_DONE)
        die("a range query", sqlite3_errmsg(q->db));
    return rows;
}

static long range_pg(void *ctx, const range *r)
{
    PGconn *conn = ctx;
    const char *values[4] = {r->agent_id, r->metric_name, r->from_text, r->to_text};
    PGresult *res = PQexecPrepared(conn, "range", 4, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        die("a range query", PQerrorMessage(conn));
    long rows = PQntuples(res);
    for (long i = 0; i < rows; i++)
        for (int c = 0; c < 8; c++)
            (void)PQgetvalue(res, (int)i, c);
    PQclear(res);
    return rows;
}

static PGconn *prepare_pg_range(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        die("connecting", PQerrorMessage(conn));
    PGresult *res = PQprepare(conn, "range", RANGE_SQL, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die("preparing", PQerrorMessage(conn));
    PQclear(res);
    return conn;
}

/* W4: the library on URL against the raw driver KIND ("sqlite": a file's
 * PATH; "pg": a CONNINFO), interleaved query by query. */
static int ranges(const char *kind, const char *url, const char *target, int n, char **ids,
                  int nids, const char *latencies)
{
    if (n < 1)
        die("the number of queries", "must be at least 1");
    oi_store *store = open_store(url);
    range_side lib = {range_lib, store, NULL}, raw = {NULL, NULL, NULL};
    sqlite_range q = {NULL, NULL};
    PGconn *conn = NULL;
    if (strcmp(kind, "sqlite") == 0) {
        q.db = open_sqlite(target);
        q.st = prepare_sqlite(q.db, RANGE_SQL);
        raw = (range_side){range_sqlite, &q, NULL};
    } else if (strcmp(kind, "pg") == 0) {
        conn = prepare_pg_range(target);
        raw = (range_side){range_pg, conn, NULL};
    } else {
        die(kind, "not sqlite or pg");
    }
    int rc = run_ranges(&lib, &raw, n, ids, nids, latencies);
    sqlite3_finalize(q.st);
    sqlite3_close(q.db);
    PQfinish(conn);
    oi_store_close(store);
    return rc;
}

/* ---- W5: aggregates through the library ---------------------------------------- */

static int aggregate(const char *url, const char *metric_name)
{
    oi_store *store = open_store(url);
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.metric_name = metric_name;
    oi_iter *it = NULL;
    oi_metric_stats g = OI_METRIC_STATS_INIT;
    int rc = metric_name
                 ? oi_metric_aggregate_iter_new(&it, store, &f, 3600 * INT64_C(1000000), 0)
                 : oi_metric_aggregate_iter_new(&it, store, &f, 0, OI_BY_AGENT | OI_BY_NAME);
    while (rc == OI_OK && (rc = oi_metric_stats_next(it, &g)) == OI_OK) {
        if (metric_name)
            printf("%" PRId64, g.bucket_start / 1000000);
        else
            printf("%s|%s", g.agent_id, g.metric_name);
        printf("|%" PRId64 "|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g\n", g.count, g.avg, g.min,
               g.max, g.p50, g.p95, g.p99);
    }
    oi_metric_stats_clear(&g);
    oi_iter_free(it);
    if (rc != OI_ITEROVER)
        die("aggregating", oi_errmsg(store));
    oi_store_close(store);
    return 0;
}

/* ---- the timer of every run ------------------------------------------------------- */

/* Runs argv[0..] up to NULL or "--then"; its exit status (128 + signal). */
static int run_command(char **argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int time_commands(const char *path, char **argv)
{
    int64_t start = now_ns();
    int rc = 0;
    while (*argv && rc == 0) {
        char **next = argv;
        while (*next && strcmp(*next, "--then") != 0)
            next++;
        char *stop = *next;
        *next = NULL;
        rc = run_command(argv);
        argv = stop ? next + 1 : next;
    }
    double wall = (double)(now_ns() - start) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    FILE *out = fopen(path, "w");
    if (!out)
        die(path, "cannot be written");
    fprintf(out, "%.6f %.3f %.1f\n", wall,
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            (double)ru.ru_maxrss / 1024);
    fclose(out);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: perf_client time|beat-sqlite|beats-sqlite|beats-pg|range-sqlite|range-pg|"
                    "aggregate|buckets ... (see bench/perf_client.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *mode = argv[1];
    if (strcmp(mode, "time") == 0 && argc > 3)
        return time_commands(argv[2], argv + 3);
    if (strcmp(mode, "beat-sqlite") == 0 && argc > 4)
        return beat_sqlite(argv[2], atof(argv[3]), argv + 4, argc - 4);
    if (strncmp(mode, "beats-", 6) == 0 && argc > 5)
        return beats_interleaved(mode + 6, argv[2], argv[3], atof(argv[4]), argv + 5, argc - 5);
    if (strncmp(mode, "range-", 6) == 0 && argc > 5) {
        const char *latencies = NULL;
        if (strcmp(argv[2], "--latencies") == 0 && argc > 7) {
            latencies = argv[3];
            argv += 2;
            argc -= 2;
        }
        return ranges(mode + 6, argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5, latencies);
    }
    if (strcmp(mode, "aggregate") == 0 && argc == 3)
        return aggregate(argv[2], NULL);
    if (strcmp(mode, "buckets") == 0 && argc == 4)
        return aggregate(argv[2], argv[3]);
    return usage();
}
