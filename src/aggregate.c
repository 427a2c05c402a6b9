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
 *   GROUP (ORDER BY v), which sorts each group once for all three.  The
 *   window form below costs PostgreSQL three window passes after a global
 *   sort that spills to disk: measured 2.20 s -> ~1.0 s for 1M rows
 *   grouped by agent and metric (docs/performance.md).
 *
 *   window functions (SQLite 3.40 has no ordered-set aggregate): "ranked"
 *   gives each row its rank by value within its group (ROW_NUMBER), the
 *   group's size (COUNT(*) OVER) and the running sum, all over one
 *   ordering; then count, sum, avg, min, max per group, and each
 *   percentile as the smallest value whose rank reaches k% of the group.
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

/* The running sum at the group's last row: its values added smallest first. */
#define SUM_IN_VALUE_ORDER "max(CASE WHEN r.rn = r.n THEN r.running END)"

/* The group's key columns, each prefixed ("r.bucket, r.agent_id"), after
 * `lead` ("GROUP BY "); nothing at all when there are no groups. */
static void add_keys(oi_buf *b, const char *lead, int64_t bucket, unsigned by,
                     const char *prefix)
{
    const char *sep = lead;
    if (bucket) {
        oi_buf_addf(b, "%s%sbucket", sep, prefix);
        sep = ", ";
    }
    if (by & OI_BY_AGENT) {
        oi_buf_addf(b, "%s%sagent_id", sep, prefix);
        sep = ", ";
    }
    if (by & OI_BY_NAME)
        oi_buf_addf(b, "%s%smetric_name", sep, prefix);
}

/* Groups by bucket, then agent name (its id breaks ties), then metric name. */
static void add_order(oi_buf *b, int64_t bucket, unsigned by)
{
    const char *sep = " ORDER BY ";
    if (bucket) {
        oi_buf_addf(b, "%sr.bucket", sep);
        sep = ", ";
    }
    if (by & OI_BY_AGENT) {
        oi_buf_addf(b, "%sa.name, r.agent_id", sep);
        sep = ", ";
    }
    if (by & OI_BY_NAME)
        oi_buf_addf(b, "%sr.metric_name", sep);
}

static void add_matched(oi_store *s, oi_buf *b, const oi_metric_filter *f, int64_t bucket)
{
    oi_buf where = {0};
    int n = oi_metric_filter_sql(s, &where, f);
    oi_buf_add(b, "WITH matched AS (SELECT agent_id, metric_name, metric_value AS v");
    if (bucket) {
        oi_buf_add(b, ", ");
        s->backend->dialect->bucket_epoch(b, n + 1);
        oi_buf_add(b, " AS bucket");
    }
    oi_buf_addf(b, " FROM agent_metrics%s) ", where.data ? where.data : "");
    free(where.data);
}

static void add_ranked(oi_buf *b, int64_t bucket, unsigned by)
{
    oi_buf partition = {0};
    add_keys(&partition, "PARTITION BY ", bucket, by, "");
    const char *p = partition.data ? partition.data : "";
    oi_buf_addf(b, ", ranked AS (SELECT matched.*, ROW_NUMBER() OVER (%s ORDER BY v) AS rn, "
                   "COUNT(*) OVER (%s) AS n, "
                   "SUM(v) OVER (%s ORDER BY v ROWS UNBOUNDED PRECEDING) AS running "
                   "FROM matched) ", p, p, p);
    free(partition.data);
}

/* The group keys, count, sum, avg, min and max: the columns before the
 * percentiles, whichever way they are computed. */
static void add_stats(oi_buf *b, int64_t bucket, unsigned by, const char *sum)
{
    bool by_agent = by & OI_BY_AGENT;
    oi_buf_addf(b, "SELECT %s, %s, %s, %s, count(*), %s, %s / count(*), min(r.v), max(r.v)",
                by_agent ? "r.agent_id" : "NULL", by_agent ? "a.name" : "NULL",
                (by & OI_BY_NAME) ? "r.metric_name" : "NULL", bucket ? "r.bucket" : "NULL",
                sum, sum);
}

/* FROM `source` r, its agents' names, the groups, their order. */
static void add_groups(oi_buf *b, int64_t bucket, unsigned by, const char *source)
{
    bool by_agent = by & OI_BY_AGENT;
    oi_buf_addf(b, " FROM %s r", source);
    if (by_agent)
        oi_buf_add(b, " JOIN agents a ON a.id = r.agent_id");
    add_keys(b, " GROUP BY ", bucket, by, "r.");
    oi_buf_add(b, by_agent ? ", a.name" : "");
    /* Without groups an empty input still makes one row: drop it. */
    oi_buf_add(b, " HAVING count(*) > 0");
    add_order(b, bucket, by);
}

/* Ranks from window functions: the running sum at the group's last row,
 * each percentile the smallest value whose rank reaches it. */
static void add_windowed(oi_buf *b, int64_t bucket, unsigned by)
{
    add_ranked(b, bucket, by);
    add_stats(b, bucket, by, SUM_IN_VALUE_ORDER);
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(b, ", min(CASE WHEN r.rn * 100 >= %d * r.n THEN r.v END)", percentiles[i]);
    add_groups(b, bucket, by, "ranked");
}

/* Ordered-set aggregates: each group sorted once by percentile_disc (the
 * array's three are one aggregate, and the database computes a repeated
 * aggregate call once), and once more for the sum. */
static void add_ordered(oi_buf *b, int64_t bucket, unsigned by)
{
    oi_buf ranks = {0};
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(&ranks, "%s0.%02d", i ? ", " : "", percentiles[i]);
    add_stats(b, bucket, by, "sum(r.v ORDER BY r.v)");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++)
        oi_buf_addf(b, ", (percentile_disc(ARRAY[%s]::float8[]) WITHIN GROUP "
                       "(ORDER BY r.v))[%zu]", ranks.data, i + 1);
    add_groups(b, bucket, by, "matched");
    free(ranks.data);
}

static char *aggregate_sql(oi_store *s, const oi_metric_filter *f, int64_t bucket, unsigned by)
{
    oi_buf b = {0};
    add_matched(s, &b, f, bucket);
    if (s->backend->dialect->percentile_disc)
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
    oi_metric_filter_params(*out, f);
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
