/*
 * optiinfra/metrics_io.h - metrics in bulk: import, export, retention.
 *
 * Import reads CSV (RFC 4180, with a header row) or NDJSON (one JSON object
 * per line) from a FILE, one record at a time, and writes it in batches:
 * COPY on PostgreSQL, a prepared INSERT on SQLite, one transaction per
 * batch.  Memory stays constant whatever the input's size: one record, one
 * batch and a small cache of agents are held at a time.  Export writes the
 * same formats, in constant memory, so an export imports back unchanged.  Prune
 * deletes old metrics in short batches, and drops whole partitions where the
 * table is partitioned; maintain makes partitions ahead of need (PostgreSQL,
 * docs/scaling.md).  docs/metrics-io.md has the details.
 *
 * The columns (CSV header) or keys (NDJSON), in any order:
 *
 *   agent                 the agent's name or id (required)
 *   metric_name           text (required)
 *   metric_value          a finite decimal number (required)
 *   metric_unit           text, may be empty or absent (NULL)
 *   collection_timestamp  ISO 8601; empty or absent: the time of the import
 *   metadata              a JSON object; empty or absent: {}
 *
 * In CSV an unquoted empty field is NULL and "" is the empty string, as in
 * PostgreSQL's CSV format; in NDJSON null is NULL.
 */
#ifndef OPTIINFRA_METRICS_IO_H
#define OPTIINFRA_METRICS_IO_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include "types.h"
#include "values.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oi_metrics_format {
    OI_FORMAT_CSV = 1,   /**< a header row naming the columns, then one record per row */
    OI_FORMAT_NDJSON = 2 /**< one JSON object per line */
} oi_metrics_format;

/** Rows per transaction when the caller does not say. */
#define OI_IMPORT_BATCH_DEFAULT 10000
/** The longest record an import accepts, in bytes: an unclosed quote must
 * not make the reader swallow the whole file.  Room for metadata at its own
 * limit (OI_DOCUMENT_MAX) even in CSV, which doubles each quote, and for
 * the other fields (1 MiB until 1.4, when metadata at its limit did not
 * fit). */
#define OI_IMPORT_RECORD_MAX (2 * OI_DOCUMENT_MAX + 65536)
#define OI_IMPORT_REASON_MAX 512

/** The version of oi_import_report this header declares. */
#define OI_IMPORT_REPORT_VERSION 1

/** What an import did; filled as it goes. */
typedef struct oi_import_report {
    unsigned int version; /**< OI_IMPORT_REPORT_VERSION */
    uint64_t rows;        /**< rows committed */
    uint64_t batches;     /**< batches (transactions) committed */
    uint64_t bytes;       /**< input bytes read so far */
    /* On failure: */
    uint64_t line;        /**< the line of the record that stopped the import
                               (its first line, for a CSV record over several) */
    uint64_t resume_line; /**< the first line of the batch that was not written:
                               every record before it is committed, none from it on */
    char reason[OI_IMPORT_REASON_MAX]; /**< why, without the line number */
} oi_import_report;

/** An empty report of this header's version. */
#define OI_IMPORT_REPORT_INIT {.version = OI_IMPORT_REPORT_VERSION}

/** Make *report an empty report of `version`; OI_EINVALID if unknown. */
int oi_import_report_init(oi_import_report *report, unsigned int version);

/** The version of oi_import_options this header declares. */
#define OI_IMPORT_OPTIONS_VERSION 1

/** How to import: initialise with OI_IMPORT_OPTIONS_INIT, set what you need. */
typedef struct oi_import_options {
    unsigned int version;  /**< OI_IMPORT_OPTIONS_VERSION */
    size_t batch_size;    /**< rows per transaction; 0: OI_IMPORT_BATCH_DEFAULT */
    /** Called after each committed batch (may be NULL). */
    void (*progress)(void *ctx, const oi_import_report *so_far);
    void *progress_ctx;
} oi_import_options;

/** The default import options of this header's version. */
#define OI_IMPORT_OPTIONS_INIT {.version = OI_IMPORT_OPTIONS_VERSION}

/** Make *opts the default options of `version`; OI_EINVALID if unknown. */
int oi_import_options_init(oi_import_options *opts, unsigned int version);

/**
 * Import metrics from `in` (read to its end, never rewound).  opts may be
 * NULL.  Each batch is validated whole (agents resolved, numbers, times and
 * JSON checked) before its transaction begins, then written in one
 * transaction.  A bad record stops the import: the store's message is
 * "line N: reason", report->line and report->reason say the same, nothing
 * of that record's batch is written, and the batches before it stay
 * committed (report->rows of them; resume from report->resume_line).
 * Inside a transaction opened with oi_begin() the batches join it instead.
 * Returns OI_OK, OI_EINVALID for bad input, OI_ENOTFOUND for an unknown
 * agent, or the database's error.
 */
int oi_metrics_import(oi_store *store, FILE *in, oi_metrics_format format,
                      const oi_import_options *opts, oi_import_report *report);

/**
 * A batch of metric rows read and checked but not written (since 1.2): the
 * two halves of an import, so that reading (parsing, resolving agents,
 * checking every row) can run apart from writing, on another thread and
 * another store of the same database, while a writer only writes.  The
 * service reads each request's batch on the thread that received it and
 * writes it in the writer's group commit.
 */
typedef struct oi_metrics_batch oi_metrics_batch;

/**
 * Read all of `in` into a new batch *out, checking every record as
 * oi_metrics_import() does (agents are resolved on store), and write
 * nothing.  A bad record: *out is NULL, and the store's message,
 * report->line and report->reason say which and why, as the import's do.
 * report (may be NULL) receives the bytes read.  Free the batch with
 * oi_metrics_batch_free().
 */
int oi_metrics_batch_read(oi_store *store, FILE *in, oi_metrics_format format,
                          oi_metrics_batch **out, oi_import_report *report);

/**
 * Write a batch read by oi_metrics_batch_read() in one transaction on
 * store (any store of the same database), or inside the caller's
 * transaction when one is open.  All rows or none: an agent deleted since
 * the read is refused by the database ("lines A-B: the database refused
 * the batch: ...").  report (may be NULL) receives the rows written, one
 * batch, and the bytes they were read from.  The batch is not changed:
 * writing it again writes its rows again.
 */
int oi_metrics_batch_write(oi_store *store, const oi_metrics_batch *batch,
                           oi_import_report *report);

/** Free a batch (NULL is allowed). */
void oi_metrics_batch_free(oi_metrics_batch *batch);

/** The version of oi_export_filter this header declares. */
#define OI_EXPORT_FILTER_VERSION 1

/** Which metrics to export: initialise with OI_EXPORT_FILTER_INIT, set what you need. */
typedef struct oi_export_filter {
    unsigned int version;    /**< OI_EXPORT_FILTER_VERSION */
    const char *agent;       /**< name or id; NULL: every agent */
    const char *metric_name; /**< NULL: every metric */
    oi_time from;            /**< collection_timestamp >= from; OI_TIME_NULL: no bound */
    oi_time to;              /**< collection_timestamp <= to; OI_TIME_NULL: no bound */
} oi_export_filter;

/** An empty export filter (every metric) of this header's version. */
#define OI_EXPORT_FILTER_INIT \
    {.version = OI_EXPORT_FILTER_VERSION, .from = OI_TIME_NULL, .to = OI_TIME_NULL}

/** Make *f an empty export filter of `version`; OI_EINVALID if unknown. */
int oi_export_filter_init(oi_export_filter *f, unsigned int version);

/**
 * Write the matching metrics to `out` in id order (the order they were
 * written), as CSV with a header row or as NDJSON: agent by name (by id when
 * several agents share the name), timestamps ISO 8601 in UTC with
 * microseconds, values with the fewest digits that read back as the same
 * double.  Memory stays constant: PostgreSQL streams one statement (one
 * snapshot; the store may not be used by anything else, such as a callback
 * writing `out`, until it returns), SQLite reads pages of a bounded size
 * (each page one consistent read, the export as a whole not a snapshot).
 * OI_ERROR when out cannot be written, OI_ECONNECT when the connection is
 * lost midway: then what was written is not the whole export.
 * filter may be NULL; *rows (if rows is not NULL) receives the count.
 */
int oi_metrics_export(oi_store *store, FILE *out, oi_metrics_format format,
                      const oi_export_filter *filter, uint64_t *rows);

/** Rows per DELETE when the caller does not say. */
#define OI_PRUNE_BATCH_DEFAULT 10000

/** The version of oi_prune_options this header declares. */
#define OI_PRUNE_OPTIONS_VERSION 1

/** How to prune: initialise with OI_PRUNE_OPTIONS_INIT, set what you need. */
typedef struct oi_prune_options {
    unsigned int version; /**< OI_PRUNE_OPTIONS_VERSION */
    size_t batch_size;   /**< rows per DELETE (one short transaction each);
                              0: OI_PRUNE_BATCH_DEFAULT */
    bool dry_run;        /**< count what would be deleted, delete nothing */
    /** Called after each batch with the rows deleted so far (may be NULL). */
    void (*progress)(void *ctx, uint64_t deleted);
    void *progress_ctx;
} oi_prune_options;

/** The default prune options of this header's version. */
#define OI_PRUNE_OPTIONS_INIT {.version = OI_PRUNE_OPTIONS_VERSION}

/** Make *opts the default options of `version`; OI_EINVALID if unknown. */
int oi_prune_options_init(oi_prune_options *opts, unsigned int version);

/**
 * Delete the metrics whose collection_timestamp is before `cutoff` (a
 * metric exactly at the cut-off stays), oldest first, in batches; *deleted
 * receives how many (with dry_run: how many would be).  opts may be NULL.
 * A failure leaves the batches before it deleted.
 */
int oi_metrics_prune(oi_store *store, oi_time cutoff, const oi_prune_options *opts,
                     uint64_t *deleted);

/** The version of oi_prune_report this header declares. */
#define OI_PRUNE_REPORT_VERSION 1

/** What a prune did (since 1.7): rows deleted one by one, and partitions
 * dropped whole where agent_metrics is partitioned (PostgreSQL, revision
 * 008_metrics_partitions; docs/scaling.md). */
typedef struct oi_prune_report {
    unsigned int version;        /**< OI_PRUNE_REPORT_VERSION */
    uint64_t deleted;            /**< rows deleted in batches */
    uint64_t dropped_partitions; /**< partitions dropped (their range wholly before the cut-off) */
    uint64_t dropped_rows;       /**< the rows those partitions held */
} oi_prune_report;

/** An empty report of this header's version. */
#define OI_PRUNE_REPORT_INIT {.version = OI_PRUNE_REPORT_VERSION}

/** Make *report an empty report of `version`; OI_EINVALID if unknown. */
int oi_prune_report_init(oi_prune_report *report, unsigned int version);

/**
 * oi_metrics_prune(), saying how (since 1.7).  Where agent_metrics is
 * partitioned, every partition whose range ends at or before `cutoff` is
 * detached and dropped, each in a transaction of its own, oldest first;
 * then the rows before the cut-off left in other partitions (the one
 * holding the cut-off, the default one) are deleted in batches.  With
 * dry_run, the report counts what would go, and nothing is changed.  A
 * failure leaves what was dropped and deleted before it gone (the report
 * says what): running the prune again finishes the job.  On SQLite the
 * report's partition counts are 0.  oi_metrics_prune()'s *deleted is
 * deleted + dropped_rows.
 */
int oi_metrics_prune_ext(oi_store *store, oi_time cutoff, const oi_prune_options *opts,
                         oi_prune_report *report);

/** The version of oi_maintain_options this header declares. */
#define OI_MAINTAIN_OPTIONS_VERSION 1

/** oi_maintain_options.ahead: the database's own setting. */
#define OI_MAINTAIN_AHEAD_SETTING (-1)

/** How to maintain (since 1.7): initialise with OI_MAINTAIN_OPTIONS_INIT. */
typedef struct oi_maintain_options {
    unsigned int version; /**< OI_MAINTAIN_OPTIONS_VERSION */
    int ahead;            /**< partitions to have ready after the current one, 0 to 1000;
                               OI_MAINTAIN_AHEAD_SETTING: the database's setting
                               (metrics_partitioning.premake, 3 unless changed) */
} oi_maintain_options;

/** The default maintain options of this header's version. */
#define OI_MAINTAIN_OPTIONS_INIT \
    {.version = OI_MAINTAIN_OPTIONS_VERSION, .ahead = OI_MAINTAIN_AHEAD_SETTING}

/** Make *opts the default options of `version`; OI_EINVALID if unknown. */
int oi_maintain_options_init(oi_maintain_options *opts, unsigned int version);

/** The version of oi_maintain_report this header declares. */
#define OI_MAINTAIN_REPORT_VERSION 1

/** What a maintenance did (since 1.7). */
typedef struct oi_maintain_report {
    unsigned int version;        /**< OI_MAINTAIN_REPORT_VERSION */
    bool partitioned;            /**< agent_metrics is partitioned (PostgreSQL); false:
                                      a plain table (SQLite), nothing to maintain */
    uint64_t partitions_created; /**< partitions made by this call */
    uint64_t rows_moved;         /**< rows moved from the default partition into them */
} oi_maintain_report;

/** An empty report of this header's version. */
#define OI_MAINTAIN_REPORT_INIT {.version = OI_MAINTAIN_REPORT_VERSION}

/** Make *report an empty report of `version`; OI_EINVALID if unknown. */
int oi_maintain_report_init(oi_maintain_report *report, unsigned int version);

/**
 * Make the partitions of agent_metrics ahead of need (since 1.7): every
 * interval (a month unless the database says otherwise) from the oldest
 * metric within the database's history window (five years unless changed;
 * now when there is none) to `ahead` intervals after the current one.  Rows
 * sitting in the default partition within the new partitions' ranges move
 * into them.  One transaction: all of it or nothing.  Idempotent: a second
 * call creates nothing.  Where agent_metrics is a plain table (SQLite) it
 * succeeds and does nothing (report->partitioned false).  opts and report
 * may be NULL.  Returns OI_OK, OI_EINVALID for bad options, or the
 * database's error (a lock not granted within 5 s: a long query holds the
 * table; run it again).
 */
int oi_metrics_maintain(oi_store *store, const oi_maintain_options *opts,
                        oi_maintain_report *report);

#ifdef __cplusplus
}
#endif
#endif
