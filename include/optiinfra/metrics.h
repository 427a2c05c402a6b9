/*
 * optiinfra/metrics.h - the agent_metrics time series: record, query, aggregate.
 *
 * Recording is one row (oi_agent_metric_create, records.h) or a batch in one
 * transaction.  A query selects rows by agent, names, time range and any
 * number of metadata conditions, in time order, a page at a time: the
 * cursor of a page resumes exactly after its last row, however many rows
 * share a timestamp.  The latest value of each metric is one query too.
 * Aggregates (count, sum, avg, min, max and the nearest-rank percentiles
 * p50/p95/p99), optionally per time bucket and per agent and/or metric
 * name, are computed by the database in one statement.
 */
#ifndef OPTIINFRA_METRICS_H
#define OPTIINFRA_METRICS_H

#include <stdbool.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One metadata condition: the key's value, read as PostgreSQL's ->> reads it
 *  (a string as itself, true/false as words, a number as printed), equals value. */
typedef struct oi_metadata_match {
    const char *key;
    const char *value;
} oi_metadata_match;

/** Size of a cursor token, with its NUL. */
#define OI_CURSOR_BUFSZ 40

/** The version of oi_metric_filter this header declares (2 since 1.6: stream). */
#define OI_METRIC_FILTER_VERSION 2

/** A metrics query: initialise with OI_METRIC_FILTER_INIT, set what you need. */
typedef struct oi_metric_filter {
    unsigned int version;     /**< OI_METRIC_FILTER_VERSION */
    const char *agent_id;     /**< NULL: every agent */
    const char *metric_name;  /**< NULL: any name (see metric_names) */
    const char *const *metric_names; /**< with nmetric_names: any of these names */
    size_t nmetric_names;     /**< a row matches metric_name or any of metric_names */
    oi_time from;             /**< inclusive; OI_TIME_NULL: no lower bound */
    oi_time to;               /**< inclusive; OI_TIME_NULL: no upper bound */
    const oi_metadata_match *where; /**< nwhere conditions, all of which must hold */
    size_t nwhere;
    size_t limit;             /**< rows an iterator yields at most; 0: every row */
    bool newest_first;        /**< default oldest first */
    const char *cursor;       /**< an earlier iterator's cursor: resume after its last row */
    /* version 2 (1.6) */
    bool stream;              /**< iterators read with one statement (oi_metric_iter_new):
                                   no other call on the store until the iterator ends */
} oi_metric_filter;

/** An empty filter (every metric, oldest first) of this header's version. */
#define OI_METRIC_FILTER_INIT \
    {.version = OI_METRIC_FILTER_VERSION, .from = OI_TIME_NULL, .to = OI_TIME_NULL}

/** Make *f an empty filter of `version`; OI_EINVALID if unknown. */
int oi_metric_filter_init(oi_metric_filter *f, unsigned int version);

/**
 * Insert the n metrics items[0] ... items[n - 1] point to, in one
 * transaction: all or none.  (An array of pointers, not of records: a
 * record's size is the caller's header's, which the library cannot know.)
 * Each item is validated and written as oi_agent_metric_create() would, and
 * gets its id, created_at and (when OI_TIME_NULL) collection_timestamp.  On failure
 * nothing is written, the ids are 0 again and the message names the item
 * ("metric 3 of 10: ...").  Inside the caller's transaction the items join
 * it, and rolling back after a failure is the caller's (see oi_begin()).
 */
int oi_metric_record_batch(oi_store *store, oi_agent_metric *const *items, size_t n);

/**
 * An iterator over the metrics matching f, ordered by
 * (collection_timestamp, id), ascending or (newest_first) descending, at
 * most f->limit of them, after f->cursor when set; read with
 * oi_agent_metric_next(), or oi_agent_metric_next_borrowed() without a
 * copy per row (records.h).  f is copied: it may change or go away after
 * the call.  A cursor that is not one oi_metric_iter_cursor() made, or
 * that was made for the other order, is OI_EINVALID.  The filter may
 * change between pages (a changed filter simply resumes after the same
 * position).
 *
 * By default the rows come in pages (iter.h), and other calls may run on
 * the store between two next() calls.  With f->stream (1.6, filter
 * version 2) the iterator reads every row with one statement, stepped as
 * next() is called, as the database's own shell reads a query: faster for
 * a long read, and one snapshot on either backend.  Until the iterator
 * has returned OI_ITEROVER or a failure, or is freed, the store runs
 * nothing else: any other call on it fails with OI_EBUSY (and, on
 * PostgreSQL, leaves the stream as it was).  Freeing it early discards
 * the rest of the rows (PostgreSQL cancels the query).  The rows, their
 * order and the cursor are those of the paged iterator.
 */
int oi_metric_iter_new(oi_iter **out, oi_store *store, const oi_metric_filter *f);

/**
 * The cursor of a metrics iterator that stopped at its limit with more
 * rows after it, into buf (OI_CURSOR_BUFSZ bytes): pass it as the next
 * filter's cursor to resume after the last row read.  "" when no row
 * follows (the iteration ran out), or before the iteration has stopped.
 * OI_EINVALID if iter is not a metrics iterator.
 */
int oi_metric_iter_cursor(const oi_iter *iter, char *buf);

/**
 * An iterator over the latest value of every metric: for each (agent_id,
 * metric_name), the row with the greatest (collection_timestamp, id) (so
 * of two rows with one timestamp, the one recorded last), ordered by
 * agent_id, then metric_name in byte order; of one agent when agent_id is
 * not NULL (OI_EINVALID if it is not a UUID), else of every agent.  Read
 * with oi_agent_metric_next().  One statement per page, served by the
 * index on (agent_id, metric_name, collection_timestamp).
 */
int oi_metric_latest_iter_new(oi_iter **out, oi_store *store, const char *agent_id);

/**
 * Average metric_value of the metrics matching f (limit, order and cursor
 * ignored) into *avg.  OI_ENOTFOUND when no metric matches.
 */
int oi_agent_metric_avg(oi_store *store, const oi_metric_filter *f, double *avg);

/** What oi_metric_aggregate_iter_new() groups by, besides the time bucket. */
enum {
    OI_BY_AGENT = 1 << 0,
    OI_BY_NAME = 1 << 1
};

/** The version of oi_metric_stats this header declares. */
#define OI_METRIC_STATS_VERSION 1

/** Statistics of one group of metrics. */
typedef struct oi_metric_stats {
    unsigned int version; /**< OI_METRIC_STATS_VERSION */
    oi_uuid agent_id;     /**< "" unless grouped by agent */
    char *agent_name;     /**< NULL unless grouped by agent */
    char *metric_name;    /**< NULL unless grouped by name */
    oi_time bucket_start; /**< OI_TIME_NULL without buckets */
    int64_t count;
    double sum, avg, min, max;
    double p50, p95, p99; /**< nearest rank: the smallest value v such that at
                               least p% of the group's values are <= v */
} oi_metric_stats;

/** An empty oi_metric_stats of this header's version. */
#define OI_METRIC_STATS_INIT {.version = OI_METRIC_STATS_VERSION, .bucket_start = OI_TIME_NULL}

/** Make *rec an empty oi_metric_stats of `version`; OI_EINVALID if unknown. */
int oi_metric_stats_init(oi_metric_stats *rec, unsigned int version);

/**
 * An iterator over the statistics of the metrics matching f (limit, order
 * and cursor ignored), one row per group: per bucket when bucket
 * (microseconds, a whole number of seconds) is not 0, buckets aligned on
 * the epoch (1h buckets start on the hour, UTC); per agent and/or name as
 * `by` says (OI_BY_AGENT, OI_BY_NAME).  Rows come by bucket, agent name,
 * agent id, metric name.  No matching metric: no rows.  The database
 * computes the groups in one statement; on PostgreSQL the groups (not the
 * metrics) are held in memory while they are read.  Read with
 * oi_metric_stats_next().
 */
int oi_metric_aggregate_iter_new(oi_iter **out, oi_store *store, const oi_metric_filter *f,
                                 int64_t bucket, unsigned by);

/** The next group of an aggregate iterator into *out: OI_OK, OI_ITEROVER or a failure. */
int oi_metric_stats_next(oi_iter *iter, oi_metric_stats *out);

/** Free the strings of rec and make it empty again, keeping its version. */
void oi_metric_stats_clear(oi_metric_stats *rec);

#ifdef __cplusplus
}
#endif
#endif
