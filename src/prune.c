/*
 * prune.c - metrics retention: delete what is older than a cut-off.
 *
 * One DELETE of at most batch_size rows at a time, each its own short
 * transaction, oldest first:
 *
 *   DELETE FROM agent_metrics WHERE id IN (SELECT id FROM agent_metrics
 *     WHERE collection_timestamp < $1 ORDER BY collection_timestamp LIMIT $2)
 *
 * A single DELETE of a month of metrics would hold its locks (on SQLite the
 * whole database's write lock) until it finished, and stall every agent
 * writing metrics meanwhile; bounded batches let other writers in between.
 * The subquery walks the collection_timestamp index, so each batch costs
 * the rows it deletes, not a scan of the table.  An interrupted prune has
 * removed the oldest rows, and running it again finishes the job.
 *
 * Where agent_metrics is partitioned (PostgreSQL, revision 008), the
 * partitions wholly before the cut-off are dropped first, one transaction
 * each, oldest first (partition.c): dropping a month costs milliseconds
 * where deleting its rows costs minutes, and leaves no dead rows to vacuum.
 * The batches then delete what is left before the cut-off: rows of the
 * partition holding it, and of the default partition.  Both steps are safe
 * to rerun, so an interrupted prune is finished by running it again.
 */
#include <string.h>
#include "metrics_io.h"
#include "partition.h"

static int count_older(oi_store *s, oi_time cutoff, uint64_t *count)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(s, "SELECT count(*) FROM agent_metrics WHERE collection_timestamp < $1",
                            &st);
    if (rc)
        return rc;
    rc = oi_bind_time(st, 1, cutoff);
    if (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        *count = (uint64_t)oi_col_int64(st, 0);
        rc = OI_OK;
    }
    oi_reset(st);
    return rc;
}

/* One batch; *n receives the rows it deleted. */
static int delete_batch(oi_store *s, oi_time cutoff, size_t batch_size, size_t *n)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(s,
                            "DELETE FROM agent_metrics WHERE id IN (SELECT id FROM agent_metrics "
                            "WHERE collection_timestamp < $1 ORDER BY collection_timestamp "
                            "LIMIT $2) RETURNING id", &st);
    *n = 0;
    if (rc)
        return rc;
    rc = oi_bind_time(st, 1, cutoff);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 2, (int64_t)batch_size);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        (*n)++;
        rc = OI_OK;
    }
    oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static int prune(oi_store *s, oi_time cutoff, const oi_prune_options *opts, oi_prune_report *r)
{
    size_t batch_size = opts && opts->batch_size ? opts->batch_size : OI_PRUNE_BATCH_DEFAULT;
    bool dry = opts && opts->dry_run;
    int rc = oi_partitions_drop_before(s, cutoff, dry, &r->dropped_partitions, &r->dropped_rows);
    if (rc)
        return rc;
    if (dry) {
        uint64_t older = 0;
        rc = count_older(s, cutoff, &older);
        r->deleted = older > r->dropped_rows ? older - r->dropped_rows : 0;
        return rc;
    }
    for (size_t n = batch_size; n == batch_size;) {
        rc = delete_batch(s, cutoff, batch_size, &n);
        if (rc)
            return rc;
        r->deleted += n;
        if (opts && opts->progress)
            opts->progress(opts->progress_ctx, r->dropped_rows + r->deleted);
    }
    return OI_OK;
}

int oi_metrics_prune_ext(oi_store *s, oi_time cutoff, const oi_prune_options *opts,
                         oi_prune_report *report)
{
    oi_prune_report unused = OI_PRUNE_REPORT_INIT;
    char why[OI_ERRMSG_MAX];
    if (!report)
        report = &unused;
    if (oi_check_version(s, "oi_prune_report", report->version, OI_PRUNE_REPORT_VERSION) ||
        (opts && oi_check_version(s, "oi_prune_options", opts->version,
                                  OI_PRUNE_OPTIONS_VERSION)))
        return OI_EINVALID;
    oi_prune_report_init(report, report->version);
    if (cutoff == OI_TIME_NULL)
        return oi_fail(s, OI_EINVALID, "a cut-off time is required: metrics collected before "
                       "it are deleted");
    if (oi_time_check(s, "the cut-off", cutoff))
        return OI_EINVALID;
    int rc = prune(s, cutoff, opts, report);
    if (rc) {
        snprintf(why, sizeof why, "%s", oi_errmsg(s));
        if (report->dropped_partitions == 0)
            oi_fail(s, rc, "cannot prune metrics: %s (%llu deleted before the failure)", why,
                    (unsigned long long)report->deleted);
        else
            oi_fail(s, rc, "cannot prune metrics: %s (%llu deleted and %llu partitions of "
                    "%llu rows dropped before the failure; run it again to finish)", why,
                    (unsigned long long)report->deleted,
                    (unsigned long long)report->dropped_partitions,
                    (unsigned long long)report->dropped_rows);
    }
    return rc;
}

int oi_metrics_prune(oi_store *s, oi_time cutoff, const oi_prune_options *opts,
                     uint64_t *deleted)
{
    oi_prune_report report = OI_PRUNE_REPORT_INIT;
    int rc = oi_metrics_prune_ext(s, cutoff, opts, &report);
    if (deleted)
        *deleted = report.deleted + report.dropped_rows;
    return rc;
}

int oi_prune_options_init(oi_prune_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_prune_options", version, OI_PRUNE_OPTIONS_VERSION))
        return OI_EINVALID;
    return OI_OK;
}

int oi_prune_report_init(oi_prune_report *report, unsigned int version)
{
    if (oi_struct_init(report, sizeof *report, "oi_prune_report", version, OI_PRUNE_REPORT_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
