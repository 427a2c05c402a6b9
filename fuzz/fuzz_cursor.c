/*
 * fuzz_cursor.c - the cursors of metrics queries (metrics.c: cursor_decode,
 * the only place a client-given position enters a query), through
 * oi_metric_iter_new() with the input as the filter's cursor, in both
 * orders, on a store with the seed's metrics.
 *
 * Invariants: a cursor is refused with OI_EINVALID and a one-line message,
 * or accepted in one order only; an accepted cursor's query runs without an
 * error, every row it yields comes after the cursor's position in that
 * order, and the cursor of its page is accepted again and resumes after
 * the page's last row.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

#define PAGE 2

/* A row's place in the order. */
typedef struct position {
    oi_time at;
    int64_t id;
    bool set;
} position;

/* Whether p comes after q in the order (anything comes after an unset q). */
static bool after(bool newest_first, const position *p, const position *q)
{
    if (!q->set)
        return true;
    int c = p->at != q->at ? (p->at < q->at ? -1 : 1) : (p->id < q->id ? -1 : p->id > q->id);
    return newest_first ? c < 0 : c > 0;
}

/* One page after `cursor`, each row after *last, which ends as the page's
 * last row; next receives the page's cursor.  OI_OK, or the refusal. */
static int page(oi_store *store, const char *cursor, bool newest_first, position *last,
                char *next)
{
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_iter *it;
    f.cursor = cursor;
    f.newest_first = newest_first;
    f.limit = PAGE;
    int rc = oi_metric_iter_new(&it, store, &f);
    if (rc != OI_OK) {
        fuzz_assert(rc == OI_EINVALID && it == NULL);
        fuzz_assert_message(oi_errmsg(store));
        return rc;
    }
    oi_agent_metric row = OI_AGENT_METRIC_INIT;
    while ((rc = oi_agent_metric_next(it, &row)) == OI_OK) {
        position p = {row.collection_timestamp, row.id, true};
        fuzz_assert(after(newest_first, &p, last));
        *last = p;
        oi_agent_metric_clear(&row);
    }
    fuzz_assert(rc == OI_ITEROVER);
    fuzz_assert(oi_metric_iter_cursor(it, next) == OI_OK);
    oi_iter_free(it);
    return OI_OK;
}

void oi_fuzz_cursor(oi_store *store, const uint8_t *data, size_t size)
{
    char *cursor = fuzz_text(data, size);
    char next[OI_CURSOR_BUFSZ], again[OI_CURSOR_BUFSZ];
    int accepted = 0;
    for (int newest_first = 0; newest_first <= 1; newest_first++) {
        position last = {0, 0, false};
        if (page(store, cursor, newest_first, &last, next) != OI_OK)
            continue;
        accepted++;
        if (next[0]) /* the next page starts after this one's last row */
            fuzz_assert(page(store, next, newest_first, &last, again) == OI_OK);
    }
    fuzz_assert(accepted <= 1);
    free(cursor);
}

OI_FUZZ_MAIN_STORE(cursor)
