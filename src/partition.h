/*
 * partition.h - partitioned agent_metrics (partition.c): what import.c and
 * prune.c ask of it.
 */
#ifndef OI_PARTITION_H
#define OI_PARTITION_H

#include "internal.h"

/* Make sure the partitions of the times from..to exist before rows of
 * those times are written.  Costs nothing where the table is plain, or
 * when an earlier call on this store covered the range.  Never fails the
 * write it precedes: a partition it cannot make leaves the rows to the
 * default partition (see partition.c). */
void oi_partitions_ensure(oi_store *s, oi_time from, oi_time to);

/* The same for one oi_agent_metric about to be inserted, its time stamped
 * (oi_table_agent_metrics' before_insert: single writes and batches). */
void oi_partitions_ensure_row(oi_store *s, const void *metric);

/* Drop (dry: count) the partitions wholly before cutoff, each in its own
 * transaction; adds to *partitions and *rows as it goes.  OI_OK at once
 * where the table is plain. */
int oi_partitions_drop_before(oi_store *s, oi_time cutoff, bool dry,
                              uint64_t *partitions, uint64_t *rows);

#endif
