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
 */
#include <string.h>
#include "metrics_io.h"

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

static int prune(oi_store *s, oi_time cutoff, const oi_prune_options *opts, uint64_t *deleted)
{
    size_t batch_size = opts && opts->batch_size ? opts->batch_size : OI_PRUNE_BATCH_DEFAULT;
    if (opts && opts->dry_run)
        return count_older(s, cutoff, deleted);
    for (size_t n = batch_size; n == batch_size;) {
        int rc = delete_batch(s, cutoff, batch_size, &n);
        if (rc)
            return rc;
        *deleted += n;
        if (opts && opts->progress)
            opts->progress(opts->progress_ctx, *deleted);
    }
    return OI_OK;
}

int oi_metrics_prune(oi_store *s, oi_time cutoff, const oi_prune_options *opts,
                     uint64_t *deleted)
{
    uint64_t count = 0;
    char why[OI_ERRMSG_MAX];
    if (deleted)
        *deleted = 0;
    if (opts && oi_check_version(s, "oi_prune_options", opts->version,
                                 OI_PRUNE_OPTIONS_VERSION))
        return OI_EINVALID;
    if (cutoff == OI_TIME_NULL)
        return oi_fail(s, OI_EINVALID, "a cut-off time is required: metrics collected before "
                       "it are deleted");
    if (oi_time_check(s, "the cut-off", cutoff))
        return OI_EINVALID;
    int rc = prune(s, cutoff, opts, &count);
    if (rc) {
        snprintf(why, sizeof why, "%s", oi_errmsg(s));
        oi_fail(s, rc, "cannot prune metrics: %s (%llu deleted before the failure)", why,
                (unsigned long long)count);
    }
    if (deleted)
        *deleted = count;
    return rc;
}

int oi_prune_options_init(oi_prune_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_prune_options", version, OI_PRUNE_OPTIONS_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
