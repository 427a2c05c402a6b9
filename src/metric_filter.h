/*
 * metric_filter.h - the WHERE clause of a metrics filter, shared by the
 * query (metrics.c) and the aggregates (aggregate.c).
 *
 * The clause is built from column names and placeholders only; every value
 * of the filter is bound.  Building and binding walk the filter in the same
 * order, so placeholder $k always receives the k-th value: a statement
 * that adds placeholders of its own numbers them after the filter's.
 */
#ifndef OI_METRIC_FILTER_H
#define OI_METRIC_FILTER_H

#include "iter.h"

/* OI_OK, or OI_EINVALID with a message when f cannot be run. */
int oi_metric_filter_check(oi_store *s, const oi_metric_filter *f);

/* Appends " WHERE <conditions>" (nothing when f selects every row) and
 * returns the number of placeholders used, $1 to $n: 0 means no WHERE.
 * indexed: each metadata condition also gets a superset the backend's
 * index serves (metrics.c), for a statement without a LIMIT per page. */
int oi_metric_filter_sql(oi_store *s, oi_buf *b, const oi_metric_filter *f, bool indexed);

/* Adds the filter's values to an iterator's parameters, $1 ... $n (indexed
 * as the SQL was built). */
void oi_metric_filter_params(oi_iter *it, const oi_metric_filter *f, bool indexed);

#endif
