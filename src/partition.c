/*
 * partition.c - partitioned agent_metrics: partitions made ahead of need,
 * and dropped whole by prune.
 *
 * Where the table is partitioned (PostgreSQL, revision 008), the database
 * does the work: the revision's functions make a partition (moving the rows
 * of its range out of the default partition, which PostgreSQL requires),
 * serialise the makers, and drop one.  The dialect names the statements
 * that call them; where it names none (SQLite, a plain table), every call
 * here does nothing and succeeds.  The core knows no more of PostgreSQL.
 *
 * Why a missing partition never fails a write: the default partition takes
 * any time no partition covers.  So ensuring is an optimisation of where
 * rows land, and a failure to make a partition (a role that may insert but
 * not create tables, a lock not granted in time behind a long query) is not
 * the write's failure: the rows go to the default partition, and `db
 * maintain` moves them when it makes their partition.  Inside a caller's
 * transaction the attempt runs in a savepoint, so its failure does not
 * abort that transaction.
 *
 * The store remembers the range of times the last ensure answered for, so
 * an import in time order asks the database once per new interval (a
 * month, by default), not once per batch.  The range never reaches past the
 * database's window, which moves on with time; a prune or maintain on this
 * store forgets it.  A stale memory (a partition dropped by another store
 * since) costs nothing worse than rows in the default partition: the
 * default catches them.
 *
 * Prune drops partitions one transaction each, oldest first: a failure
 * leaves the older ones dropped and the rest whole, and a rerun picks up
 * where it stopped.  PostgreSQL refuses DETACH ... CONCURRENTLY on a table
 * with a default partition, so the drop is a plain DETACH and DROP in one
 * transaction (docs/scaling.md has the lock it takes).
 */
#include <string.h>
#include "partition.h"
#include "metrics_io.h"

static bool partitioned(const oi_store *s)
{
    return s->backend->dialect->partitions_ensure != NULL;
}

static bool covered(const oi_store *s, oi_time from, oi_time to)
{
    return s->partitions_known && from >= s->partitioned_from && to <= s->partitioned_to;
}

/* Remember what the database answered: a NULL start is unbounded (times
 * below the database's window, which only get older).  A range that meets
 * the one remembered extends it (an import in time order). */
static void remember(oi_store *s, oi_stmt *st)
{
    oi_time from = oi_col_null(st, 2) ? OI_TIME_MIN : oi_col_time(st, 2);
    oi_time to = oi_col_time(st, 3);
    if (from == OI_TIME_NULL || to == OI_TIME_NULL || from >= to) /* wholly past the window */
        return;
    if (s->partitions_known && from <= s->partitioned_to && to >= s->partitioned_from) {
        from = from < s->partitioned_from ? from : s->partitioned_from;
        to = to > s->partitioned_to ? to : s->partitioned_to;
    }
    s->partitions_known = true;
    s->partitioned_from = from;
    s->partitioned_to = to;
}

static int ask_ensure(oi_store *s, oi_time from, oi_time to)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(s, s->backend->dialect->partitions_ensure, &st);
    if (rc)
        return rc;
    rc = oi_bind_time(st, 1, from);
    if (rc == OI_OK)
        rc = oi_bind_time(st, 2, to);
    if (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        remember(s, st);
        rc = OI_OK;
    }
    oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

void oi_partitions_ensure(oi_store *s, oi_time from, oi_time to)
{
    if (!partitioned(s) || covered(s, from, to))
        return;
    bool in_tx = s->tx_depth > 0;
    if (in_tx && oi_exec(s, "SAVEPOINT oi_partitions_ensure") != OI_OK) {
        oi_clear_error(s);
        return;
    }
    int rc = ask_ensure(s, from, to);
    if (in_tx)
        oi_exec(s, rc == OI_OK ? "RELEASE SAVEPOINT oi_partitions_ensure"
                               : "ROLLBACK TO SAVEPOINT oi_partitions_ensure; "
                                 "RELEASE SAVEPOINT oi_partitions_ensure");
    oi_clear_error(s);
}

void oi_partitions_ensure_row(oi_store *s, const void *metric)
{
    oi_time at = ((const oi_agent_metric *)metric)->collection_timestamp;
    oi_partitions_ensure(s, at, at);
}

/* The partitions to drop, as "name\n" lines: read whole before the first
 * drop, since a drop changes what the statement lists. */
static int list_before(oi_store *s, oi_time cutoff, oi_buf *names)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(s, s->backend->dialect->partitions_before, &st);
    if (rc)
        return rc;
    rc = oi_bind_time(st, 1, cutoff);
    while (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        oi_buf_addf(names, "%s\n", oi_col_text(st, 0));
        rc = OI_OK;
    }
    oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

static int drop_one(oi_store *s, const char *name, bool dry, uint64_t *rows)
{
    oi_stmt *st;
    int rc = oi_tx_begin(s, false);
    if (rc)
        return rc;
    rc = oi_stmt_cached(s, s->backend->dialect->partition_drop, &st);
    if (rc == OI_OK) {
        rc = oi_bind_text(st, 1, name);
        if (rc == OI_OK)
            rc = oi_bind_bool(st, 2, dry);
        if (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
            *rows = (uint64_t)oi_col_int64(st, 0);
            rc = OI_OK;
        }
        oi_reset(st);
    }
    if (rc == OI_OK)
        return oi_tx_commit(s);
    oi_tx_rollback(s);
    return rc;
}

int oi_partitions_drop_before(oi_store *s, oi_time cutoff, bool dry,
                              uint64_t *partitions, uint64_t *rows)
{
    oi_buf names = {0};
    if (!partitioned(s))
        return OI_OK;
    int rc = list_before(s, cutoff, &names);
    for (char *name = names.data, *end; rc == OI_OK && name && (end = strchr(name, '\n'));
         name = end + 1) {
        uint64_t held = 0;
        *end = '\0';
        rc = drop_one(s, name, dry, &held);
        if (rc == OI_OK) {
            (*partitions)++;
            *rows += held;
            s->partitions_known = dry && s->partitions_known; /* the range it covered is gone */
        }
    }
    free(names.data);
    return rc;
}

/* ---- oi_metrics_maintain ------------------------------------------------ */

static int maintain(oi_store *s, int ahead, oi_maintain_report *report)
{
    oi_stmt *st;
    int rc = oi_stmt_cached(s, s->backend->dialect->partitions_maintain, &st);
    if (rc)
        return rc;
    rc = ahead == OI_MAINTAIN_AHEAD_SETTING ? oi_bind_text(st, 1, NULL) /* NULL */
                                            : oi_bind_int64(st, 1, ahead);
    if (rc == OI_OK && (rc = oi_step(st)) == OI_ROW) {
        report->partitions_created = (uint64_t)oi_col_int64(st, 0);
        report->rows_moved = (uint64_t)oi_col_int64(st, 1);
        rc = OI_OK;
    }
    oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}

int oi_metrics_maintain(oi_store *s, const oi_maintain_options *opts, oi_maintain_report *report)
{
    oi_maintain_report unused = OI_MAINTAIN_REPORT_INIT;
    int ahead = opts ? opts->ahead : OI_MAINTAIN_AHEAD_SETTING;
    if (!report)
        report = &unused;
    if (oi_check_version(s, "oi_maintain_report", report->version, OI_MAINTAIN_REPORT_VERSION) ||
        (opts && oi_check_version(s, "oi_maintain_options", opts->version,
                                  OI_MAINTAIN_OPTIONS_VERSION)))
        return OI_EINVALID;
    oi_maintain_report_init(report, report->version);
    if (ahead != OI_MAINTAIN_AHEAD_SETTING && (ahead < 0 || ahead > 1000))
        return oi_fail(s, OI_EINVALID, "partitions ahead must be 0 to 1000, not %d", ahead);
    int rc = oi_store_ready(s);
    if (rc || !partitioned(s))
        return rc;
    report->partitioned = true;
    rc = oi_migrate_check_head(s);
    if (rc == OI_OK)
        rc = maintain(s, ahead, report);
    if (rc)
        return oi_fail_context(s, rc, "cannot make the partitions of agent_metrics");
    s->partitions_known = false; /* what the database covers may have grown */
    oi_clear_error(s);
    return OI_OK;
}

int oi_maintain_options_init(oi_maintain_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_maintain_options", version,
                       OI_MAINTAIN_OPTIONS_VERSION))
        return OI_EINVALID;
    opts->ahead = OI_MAINTAIN_AHEAD_SETTING;
    return OI_OK;
}

int oi_maintain_report_init(oi_maintain_report *report, unsigned int version)
{
    if (oi_struct_init(report, sizeof *report, "oi_maintain_report", version,
                       OI_MAINTAIN_REPORT_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
