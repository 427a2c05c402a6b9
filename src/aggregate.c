/*
 * aggregate.c - statistics of metrics, computed by the database.
 *
 * One statement per call, whatever the number of rows: the metrics never
 * travel to the client, only one row per group.  The rows of the filter
 * ("matched", with their bucket start in epoch seconds, the dialect's
 * bucket_epoch, when buckets are asked) are grouped one of two ways, the
 * same answers either way:
 *
 *   ordered-set aggregates, where the database has them (the dialect's
 *   percentile_disc: PostgreSQL): one GROUP BY with count, min, max,
 *   sum(v ORDER BY v) and percentile_disc(ARRAY[.5, .95, .99]) WITHIN
 *   GROUP (ORDER BY v), which sorts each group once for all three; by
 *   two keys or more, one text key that joins them (add_ordered_joined).  The
 *   window form below costs PostgreSQL three window passes after a global
 *   sort that spills to disk: `metrics aggregate --by agent,name` over 1M
 *   rows in 80 groups, medians of 3 alternating on a loaded 2-CPU
 *   machine, 6.32 s -> 3.17 s (and 16.6 s -> 7.8 s when busier).
 *
 *   window functions (SQLite 3.40 has no ordered-set aggregate): "ranked"
 *   gives each row its rank by value within its group (ROW_NUMBER) and the
 *   running sum over one window, and the group's size (COUNT(*) OVER)
 *   over a second; then count, sum, avg, min, max per group, and each
 *   percentile as the smallest value whose rank reaches k% of the group.
 *
 * Either way the agents' names are joined to the groups, after grouping.
 *
 * Percentiles are nearest rank: p_k is the value at rank ceil(k/100 * n) of
 * the group's n values sorted ascending, i.e. the smallest v such that at
 * least k% of the values are <= v.  "rank * 100 >= k * n" keeps the
 * ceiling in integers.  It is always one of the values (no interpolation).
 * One sort per call serves all three percentiles.  CUME_DIST() would need a
 * single window instead of two (2.4 times faster on SQLite), but
 * PostgreSQL's rescans every tie: 9.5 s instead of 1.7 s for a million
 * rows of a thousand distinct values, and metrics tie a lot.
 *
 * percentile_disc(p) takes the row ceil(p * n) in doubles (PostgreSQL's
 * orderedsetaggs.c: "(int64) ceil(p * rowcount)", at least 1), where p is
 * the double nearest k/100.  It is the same rank as the integer rule for
 * k = 50, 95, 99 and any n below 10^13:
 *   - 0.5 is exact and 0.5 * n is exact: ceil(n / 2) either way.
 *   - For k = 95 or 99, p = k/100 - d with 0 < d < 2^-54 (the doubles
 *     nearest 0.95 and 0.99 are below them), and the product's rounding
 *     adds at most n * 2^-53 more: the computed x is within
 *     e = n * (2^-54 + 2^-53) < n * 1.7e-16 of kn/100, and never above it
 *     (kn/100 - dn is below kn/100, and rounding to nearest cannot cross
 *     the next double, kn/100 itself when it is an integer).
 *   - If kn/100 is an integer m, x is in (m - e, m]: ceil(x) = m while
 *     e < 1.
 *   - Otherwise kn/100 is a multiple of 1/100 (of 1/20 for 95) at least
 *     0.01 from every integer, and x within e < 0.01 of it has the same
 *     ceiling: n * 1.7e-16 < 0.01 for n < 5.8 * 10^13.
 * test_metric_aggregate_rank_boundaries checks it at the group sizes where
 * a rank steps (multiples of 20 and 100, one either side).
 *
 * Sums (and averages, sum / count) add the values smallest first on both
 * backends, so the sum is the same to the last bit: sum(v ORDER BY v), or
 * the running SUM() OVER the ordered window read at each group's last row.
 * A plain sum() adds in whatever order the database's GROUP BY delivers the
 * rows, and 0.1 + 0.2 + 0.3 depends on that order.
 *
 * Buckets are aligned on the epoch and floor: a time before 1970 falls in
 * the bucket that starts before it, not in the one nearer the epoch (each
 * dialect's bucket_epoch).  A bucket that would start before the first
 * instant the store holds (0001-01-01, inside a week or a longer bucket)
 * starts at that instant instead, so that every bucket's start is a time
 * that can be formatted and read back (oi_time_format, OI_TIME_MIN).
 *
 * The SQL varies with the grouping and the filter; each shape is one
 * cached statement (keyed by its text), run as a one-statement iterator.
 * Values (filter, bucket width) are bound.
 */
#include <string.h>
#include "metric_filter.h"

#define SECOND INT64_C(1000000)

static const int percentiles[] = {50, 95, 99};

/* How a list of the group's keys spells each of them. */
typedef struct key_spelling {
    const char *bucket, *agent, *name;
} key_spelling;

/* The keys grouped by, in their order (bucket, agent, metric name), as
 * `k` spells them, after `lead` and with `sep` between; nothing at all
 * when there are no groups.  Every list of keys in a statement is one. */
static void add_key_list(oi_buf *b, const char *lead, const char *sep, int64_t bucket,
                         unsigned by, const key_spelling *k)
{
    const char *next = lead;
    if (bucket) {
        oi_buf_addf(b, "%s%s", next, k->bucket);
        next = sep;
    }
    if (by & OI_BY_AGENT) {
        oi_buf_addf(b, "%s%s", next, k->agent);
        next = sep;
    }
    if (by & OI_BY_NAME)
        oi_buf_addf(b, "%s%s", next, k->name);
}

/* The key columns as they are, after `lead` ("GROUP BY "). */
static void add_keys(oi_buf *b, const char *lead, int64_t bucket, unsigned by)
{
    static const key_spelling columns = {"bucket", "agent_id", "metric_name"};
    add_key_list(b, lead, ", ", bucket, by, &columns);
}

/* Groups by bucket, then agent name (its id breaks ties), then metric name. */
static void add_order(oi_buf *b, int64_t bucket, unsigned by)
{
    static const key_spelling order = {"r.bucket", "a.name, r.agent_id", "r.metric_name"};
    add_key_list(b, " ORDER BY ", ", ", bucket, by, &order);
}

/* The keys joined into one text key, '|' between: the spelling for two or
 * more keys of add_partition and add_ordered_joined. */
#define JOINED " || '|' || "

/* The rows of the filter; `sorted`: in group order, then by value. */
static void add_matched(oi_store *s, oi_buf *b, const oi_metric_filter *f, int64_t bucket,
                        unsigned by, bool sorted)
{
    oi_buf where = {0};
    int n = oi_metric_filter_sql(s, &where, f, false);
    oi_buf_add(b, "WITH matched AS (SELECT agent_id, metric_name, metric_value AS v");
    if (bucket) {
        oi_buf_add(b, ", ");
        s->backend->dialect->bucket_epoch(b, n + 1);
        oi_buf_add(b, " AS bucket");
    }
    oi_buf_addf(b, " FROM agent_metrics%s", where.data ? where.data : "");
    if (sorted) {
        oi_buf cut = {0};
        add_keys(&cut, " ORDER BY ", bucket, by);
        oi_buf_add(b, cut.data ? cut.data : "");
        oi_buf_add(b, cut.data ? ", v" : " ORDER BY v");
        free(cut.data);
    }
    oi_buf_add(b, ") ");
    free(where.data);
}

/* The window's PARTITION BY: the one key, or the keys joined into one text
 * (the agent's id prefixed by its length, so that no two groups can give
 * the same text; a bucket is digits): SQLite sorts a million rows on one
 * text key in 3.5 s of CPU, on two columns in 4.5 (bench/perf.sh W5a). */
static void add_partition(oi_buf *b, int64_t bucket, unsigned by)
{
    static const key_spelling alone = {"bucket", "agent_id", "metric_name"},
                              joined = {"bucket", "length(agent_id) || ':' || agent_id",
                                        "metric_name"};
    bool agent_joined = (by & OI_BY_AGENT) && (bucket || (by & OI_BY_NAME));
    add_key_list(b, "PARTITION BY ", JOINED, bucket, by, agent_joined ? &joined : &alone);
}

/* Each row's rank by value in its group and the running sum, over one
 * window spelled the same for both (SQLite computes identical windows in one
 * pass; ROW_NUMBER ignores the frame), and the group's size over a second.
 * Three differently spelled windows were three sorts: 7.25 s against 4.07 s
 * for the two (1M rows, 80 groups, bench/perf.sh W5a). */
static void add_ranked(oi_buf *b, int64_t bucket, unsigned by)
{
    oi_buf partition = {0};
    add_partition(&partition, bucket, by);
    const char *p = partition.data ? partition.data : "";
    oi_buf_addf(b, ", ranked AS (SELECT matched.*, ROW_NUMBER() OVER ordered AS rn, "
                   "COUNT(*) OVER (%s) AS n, SUM(v) OVER ordered AS running "
                   "FROM matched WINDOW ordered AS (%s ORDER BY v ROWS UNBOUNDED PRECEDING)) ",
                p, p);
    free(partition.data);
}

/* The group's key columns (NULL for a key not grouped by), as the reader
 * expects them: agent id, agent name, metric name, bucket. */
static void add_key_columns(oi_buf *b, int64_t bucket, unsigned by)
{
    bool by_agent = by & OI_BY_AGENT;
    oi_buf_addf(b, "SELECT %s, %s, %s, %s", by_agent ? "r.agent_id" : "NULL",
                by_agent ? "a.name" : "NULL", (by & OI_BY_NAME) ? "r.metric_name" : "NULL",
                bucket ? "r.bucket" : "NULL");
}

/* FROM `source` r and its agents' names. */
static void add_source(oi_buf *b, unsigned by, const char *source)
{
    oi_buf_addf(b, " FROM %s r", source);
    if (by & OI_BY_AGENT)
        oi_buf_add(b, " JOIN agents a ON a.id = r.agent_id");
}

/* Opens the CTE "grouped": one row per group, its keys, then n, the
 * group's size (`size`, an aggregate). */
static void open_grouped(oi_buf *b, int64_t bucket, unsigned by, const char *size)
{
    oi_buf_add(b, ", grouped AS (SELECT ");
    add_keys(b, "", bucket, by);
    oi_buf_addf(b, "%s%s AS n", (bucket || by) ? ", " : "", size);
}

/* Selects from `source` r, the groups' names joined after grouping (to a
 * few rows, not to every metric): the key columns, count, sum, avg, min,
 * max and the percentiles, which r has in the array p (in_array) or as
 * p50, p95, p99. */
static void add_select(oi_buf *b, int64_t bucket, unsigned by, bool in_array,
                       const char *source)
{
    add_key_columns(b, bucket, by);
    oi_buf_add(b, ", r.n, r.total, r.total / r.n, r.lo, r.hi");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        if (in_array)
            oi_buf_addf(b, ", r.p[%zu]", i + 1);
        else
            oi_buf_addf(b, ", r.p%d", percentiles[i]);
    add_source(b, by, source);
    add_order(b, bucket, by);
}

/* Closes "grouped" and selects from it. */
static void add_result(oi_buf *b, int64_t bucket, unsigned by, bool in_array)
{
    add_keys(b, " GROUP BY ", bucket, by);
    /* Without groups an empty input still makes one row: drop it. */
    oi_buf_add(b, " HAVING count(*) > 0) ");
    add_select(b, bucket, by, in_array, "grouped");
}

/* Ranks from window functions: per group its size, the running sum at its
 * last row (its values added smallest first), the values at rank 1 (min)
 * and n (max), and each percentile k the value at rank ceil(k * n / 100),
 * (k * n + 99) / 100 in integers: the smallest value whose rank reaches
 * it, the values being in ascending order of rank.  Only those rows are
 * grouped, five or fewer a group: grouping every row was a second sort of
 * all of them (1M rows: 4.5 s of CPU -> 3.5 s, as the raw SQL's). */
static void add_windowed(oi_buf *b, int64_t bucket, unsigned by)
{
    add_ranked(b, bucket, by);
    open_grouped(b, bucket, by, "max(n)");
    oi_buf_add(b, ", max(CASE WHEN rn = n THEN running END) AS total, "
                  "max(CASE WHEN rn = 1 THEN v END) AS lo, max(CASE WHEN rn = n THEN v END) AS hi");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(b, ", max(CASE WHEN rn = (%d * n + 99) / 100 THEN v END) AS p%d",
                    percentiles[i], percentiles[i]);
    oi_buf_add(b, " FROM ranked WHERE rn = 1 OR rn = n");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(b, " OR rn = (%d * n + 99) / 100", percentiles[i]);
    add_result(b, bucket, by, false);
}

/* The ordered-set aggregates of a group, after its size. */
static void add_ordered_sets(oi_buf *b)
{
    oi_buf_add(b, ", sum(v ORDER BY v) AS total, min(v) AS lo, max(v) AS hi, "
                  "percentile_disc(ARRAY[");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(b, "%s0.%02d", i ? ", " : "", percentiles[i]);
    oi_buf_add(b, "]::float8[]) WITHIN GROUP (ORDER BY v) AS p");
}

/* Ordered-set aggregates over rows already in group and value order
 * (add_matched sorted): each aggregate's own sort of its group finds its
 * input sorted, which costs one pass.  Measured 1M rows, 80 groups
 * (EXPLAIN ANALYZE): the aggregation above the sort 1.8 s -> 0.15 s, the
 * statement 3.9-4.6 s -> 3.3-3.6 s.  For one key; two or more: below. */
static void add_ordered(oi_buf *b, int64_t bucket, unsigned by)
{
    open_grouped(b, bucket, by, "count(*)");
    add_ordered_sets(b);
    oi_buf_add(b, " FROM matched");
    add_result(b, bucket, by, true);
}

static int key_count(int64_t bucket, unsigned by)
{
    return (bucket != 0) + ((by & OI_BY_AGENT) != 0) + ((by & OI_BY_NAME) != 0);
}

/* Grouped by two keys or more, PostgreSQL is faster on the keys joined
 * into one text, sorted by it alone, each aggregate then sorting its
 * group in memory: `--by agent,name` over 1M rows in 92 groups, EXPLAIN
 * ANALYZE, three rounds: 0.84-0.87 s, against 0.92-1.25 s sorted by the
 * three columns (agent, name, value) and 1.6-2.1 s by the two key columns
 * alone (bench/perf.sh W5a).  The text is the bucket (digits), the agent's
 * id (36 characters) and the metric's name, in that order, '|' between:
 * no two groups give the same text, and "decoded" reads each key back out
 * of it after grouping (the name last, whatever it holds). */
static void add_ordered_joined(oi_buf *b, int64_t bucket, unsigned by)
{
    static const key_spelling texts = {"bucket::text", "agent_id::text", "metric_name"};
    oi_buf_add(b, ", keyed AS (SELECT v, ");
    add_key_list(b, "", JOINED, bucket, by, &texts);
    oi_buf_add(b, " AS k FROM matched ORDER BY k), grouped AS (SELECT k, count(*) AS n");
    add_ordered_sets(b);
    oi_buf_add(b, " FROM keyed GROUP BY k), decoded AS (SELECT ");
    /* where the field after the bucket starts */
    const char *next = bucket ? "length(split_part(k, '|', 1)) + 2" : "1";
    if (bucket)
        oi_buf_add(b, "split_part(k, '|', 1)::bigint AS bucket, ");
    if (by & OI_BY_AGENT)
        oi_buf_addf(b, "substr(k, %s, 36)::uuid AS agent_id, ", next);
    if (by & OI_BY_NAME)
        oi_buf_addf(b, "substr(k, %s%s) AS metric_name, ", next,
                    (by & OI_BY_AGENT) ? " + 37" : "");
    oi_buf_add(b, "n, total, lo, hi, p FROM grouped) ");
    add_select(b, bucket, by, true, "decoded");
}

static char *aggregate_sql(oi_store *s, const oi_metric_filter *f, int64_t bucket, unsigned by)
{
    oi_buf b = {0};
    bool ordered_sets = s->backend->dialect->percentile_disc;
    bool joined = ordered_sets && key_count(bucket, by) > 1;
    add_matched(s, &b, f, bucket, by, ordered_sets && !joined);
    if (joined)
        add_ordered_joined(&b, bucket, by);
    else if (ordered_sets)
        add_ordered(&b, bucket, by);
    else
        add_windowed(&b, bucket, by);
    return b.data;
}

static const char stats_tag[] = "metric stats";

/* The start of the bucket whose epoch seconds the database computed; not
 * before OI_TIME_MIN (whose seconds are whole), which also keeps the
 * multiplication within 64 bits for the widest buckets. */
static oi_time bucket_start(int64_t epoch_seconds)
{
    return epoch_seconds < OI_TIME_MIN / SECOND ? OI_TIME_MIN : epoch_seconds * SECOND;
}

static int read_stats(oi_iter *it, oi_stmt *st, void *rec)
{
    oi_metric_stats *out = rec;
    (void)it;
    oi_metric_stats_init(out, out->version);
    oi_col_uuid(st, 0, out->agent_id);
    out->agent_name = oi_col_strdup(st, 1);
    out->metric_name = oi_col_strdup(st, 2);
    out->bucket_start = oi_col_null(st, 3) ? OI_TIME_NULL : bucket_start(oi_col_int64(st, 3));
    out->count = oi_col_int64(st, 4);
    out->sum = oi_col_double(st, 5);
    out->avg = oi_col_double(st, 6);
    out->min = oi_col_double(st, 7);
    out->max = oi_col_double(st, 8);
    out->p50 = oi_col_double(st, 9);
    out->p95 = oi_col_double(st, 10);
    out->p99 = oi_col_double(st, 11);
    return OI_OK;
}

/* One statement (no keys): the groups are its whole result. */
static const oi_iter_query stats_query = {"metric stats", stats_tag, read_stats, 12, {NULL},
                                          0, 0, false, NULL};

static int check_grouping(oi_store *s, int64_t bucket, unsigned by)
{
    if (bucket < 0 || bucket % SECOND != 0)
        return oi_fail(s, OI_EINVALID,
                       "a time bucket is a whole number of seconds (1s, 5m, 1h, 1d ...)");
    if (by & ~(unsigned)(OI_BY_AGENT | OI_BY_NAME))
        return oi_fail(s, OI_EINVALID, "group by OI_BY_AGENT and/or OI_BY_NAME only");
    return OI_OK;
}

int oi_metric_aggregate_iter_new(oi_iter **out, oi_store *s, const oi_metric_filter *f,
                                 int64_t bucket, unsigned by)
{
    *out = NULL;
    int rc = oi_metric_filter_check(s, f);
    if (rc == OI_OK)
        rc = check_grouping(s, bucket, by);
    if (rc != OI_OK)
        return rc;
    *out = oi_iter_new(s, &stats_query, aggregate_sql(s, f, bucket, by));
    oi_metric_filter_params(*out, f, false);
    if (bucket)
        oi_iter_param_int64(*out, bucket / SECOND);
    return OI_OK;
}

int oi_metric_stats_next(oi_iter *it, oi_metric_stats *out)
{
    return oi_struct_next(it, stats_tag, "oi_metric_stats", OI_METRIC_STATS_VERSION, out);
}

int oi_metric_stats_init(oi_metric_stats *rec, unsigned int version)
{
    if (oi_struct_init(rec, sizeof *rec, "oi_metric_stats", version, OI_METRIC_STATS_VERSION))
        return OI_EINVALID;
    rec->bucket_start = OI_TIME_NULL;
    return OI_OK;
}

void oi_metric_stats_clear(oi_metric_stats *rec)
{
    if (!rec || oi_check_version(NULL, "oi_metric_stats", rec->version,
                                 OI_METRIC_STATS_VERSION))
        return;
    free(rec->agent_name);
    free(rec->metric_name);
    oi_metric_stats_init(rec, rec->version);
}

int oi_agent_metric_avg(oi_store *s, const oi_metric_filter *f, double *avg)
{
    oi_metric_stats row = OI_METRIC_STATS_INIT;
    oi_iter *it;
    int rc = oi_metric_aggregate_iter_new(&it, s, f, 0, 0);
    if (rc == OI_OK)
        rc = oi_metric_stats_next(it, &row);
    oi_iter_free(it);
    if (rc == OI_ITEROVER)
        rc = oi_fail(s, OI_ENOTFOUND, "no metric matches");
    else if (rc == OI_OK)
        *avg = row.avg;
    oi_metric_stats_clear(&row);
    return rc;
}
