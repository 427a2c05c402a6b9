/*
 * optiinfra/iter.h - reading any number of rows, one at a time.
 *
 * Every call that can return an unbounded number of rows opens an
 * iterator (oi_agent_iter_new(), oi_metric_iter_new(), oi_lock_iter_new()
 * ...).  The typed next call of the rows it yields (oi_agent_next(),
 * oi_agent_metric_next(), oi_lock_next() ...) fills one caller's record at
 * a time and returns OI_OK, then OI_ITEROVER after the last row, or a
 * failure code.  Memory stays bounded whatever the number of rows: the
 * rows are read from the database in pages of a fixed size, each page one
 * statement, resuming after the previous page's last row (keyset
 * pagination), so other calls on the same store may run between two
 * next() calls (but not with a streamed metrics iterator, metrics.h).  A
 * row written between two pages appears if it sorts after the position
 * reached.  The iteration is not one snapshot: inside a
 * transaction (oi_begin()) SQLite reads one, but PostgreSQL's transactions
 * (READ COMMITTED) let each page see what was committed before it.
 *
 *     oi_iter *it;
 *     oi_agent agent = OI_AGENT_INIT;
 *     int rc = oi_agent_iter_new(&it, store);
 *     while (rc == OI_OK && (rc = oi_agent_next(it, &agent)) == OI_OK) {
 *         puts(agent.name);
 *         oi_agent_clear(&agent);
 *     }
 *     oi_iter_free(it);
 *     if (rc != OI_ITEROVER) ... oi_errmsg(store) says why
 *
 * A next() call overwrites its record without freeing what it held: clear
 * the record (oi_agent_clear() ...) before reusing it.  Metrics iterators
 * also lend their rows instead (1.5, oi_agent_metric_next_borrowed(),
 * records.h): a record the iterator owns, valid until it moves, whose
 * strings are the driver's text, so that no row is copied.  Asking an iterator
 * for rows of another type (oi_lock_next() on an agent iterator) is
 * OI_EINVALID, as is a NULL iterator (without a message: there is no
 * store to hold one).  A constructor that fails sets *out to NULL and
 * leaves its message on the store; oi_iter_free(NULL) is a no-op.  An
 * iterator belongs to the store that opened it and must be freed before
 * the store is closed.
 */
#ifndef OPTIINFRA_ITER_H
#define OPTIINFRA_ITER_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Free an iterator and what it holds.  NULL is a no-op. */
void oi_iter_free(oi_iter *iter);

#ifdef __cplusplus
}
#endif
#endif
