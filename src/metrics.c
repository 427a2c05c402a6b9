/*
 * metrics.c - recording metrics in batches, and reading them a page at a time.
 *
 * A batch is one transaction over the table's cached INSERT: the statement
 * is prepared once per store and only rebound per row, and the first bad
 * row rolls back the rows before it, so a batch is all or nothing.
 *
 * Pages use keyset pagination on (collection_timestamp, id), not OFFSET: the
 * next page starts strictly after the last row of this one, so it costs
 * the same however deep the reader is, and rows written meanwhile neither
 * repeat nor skip rows already passed.  id breaks ties between equal
 * timestamps, which makes the order total.  A page asks for one row more
 * than its limit: that row's existence, not a guess from a full page, says
 * whether there is a next page.
 *
 * The cursor is "o" or "n" (the order it walks) and the last row's
 * timestamp and id as 16 hex digits each.  It is opaque to callers; it
 * carries its order so that a cursor reused with the other order is
 * refused instead of silently jumping.  Filter, cursor and limit vary per
 * call, so the SELECT is prepared per call (the values are still bound).
 */
#include <inttypes.h>
#include <string.h>
#include "metric_filter.h"
#include "table.h"

#define CURSOR_LEN 33 /* order letter + 2 x 16 hex digits */

/* ---- the filter ------------------------------------------------------- */

int oi_metric_filter_check(oi_store *s, const oi_metric_filter *f)
{
    if (!f)
        return oi_fail(s, OI_EINVALID, "a metrics filter is required");
    if (f->agent_id && !oi_uuid_valid(f->agent_id))
        return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", f->agent_id);
    if (f->nmetric_names && !f->metric_names)
        return oi_fail(s, OI_EINVALID, "nmetric_names is %zu but metric_names is NULL",
                       f->nmetric_names);
    for (size_t i = 0; i < f->nmetric_names; i++)
        if (!f->metric_names[i])
            return oi_fail(s, OI_EINVALID, "metric name %zu of the filter is NULL", i + 1);
    if (f->nwhere && !f->where)
        return oi_fail(s, OI_EINVALID, "nwhere is %zu but where is NULL", f->nwhere);
    for (size_t i = 0; i < f->nwhere; i++)
        if (!f->where[i].key || !f->where[i].value)
            return oi_fail(s, OI_EINVALID, "a metadata filter needs both a key and a value");
    return OI_OK;
}

/* " WHERE " before the first condition, " AND " before the others. */
static void next_condition(oi_buf *b, int nparams)
{
    oi_buf_add(b, nparams ? " AND " : " WHERE ");
}

int oi_metric_filter_sql(oi_store *s, oi_buf *b, const oi_metric_filter *f)
{
    int n = 0;
    size_t nnames = (f->metric_name ? 1 : 0) + f->nmetric_names;
    if (f->agent_id) {
        next_condition(b, n);
        oi_buf_addf(b, "agent_id = $%d", ++n);
    }
    if (nnames) {
        next_condition(b, n);
        oi_buf_add(b, "metric_name IN (");
        for (size_t i = 0; i < nnames; i++)
            oi_buf_addf(b, "%s$%d", i ? ", " : "", ++n);
        oi_buf_add(b, ")");
    }
    if (f->from != OI_TIME_NULL) {
        next_condition(b, n);
        oi_buf_addf(b, "collection_timestamp >= $%d", ++n);
    }
    if (f->to != OI_TIME_NULL) {
        next_condition(b, n);
        oi_buf_addf(b, "collection_timestamp <= $%d", ++n);
    }
    for (size_t i = 0; i < f->nwhere; i++, n += 2) {
        next_condition(b, n);
        s->backend->dialect->metadata_equals(b, n + 1, n + 2);
    }
    return n;
}

int oi_metric_filter_bind(oi_stmt *st, const oi_metric_filter *f, int *nparams)
{
    int n = 0, rc = OI_OK;
    if (f->agent_id)
        rc = oi_bind_uuid(st, ++n, f->agent_id);
    if (rc == OI_OK && f->metric_name)
        rc = oi_bind_text(st, ++n, f->metric_name);
    for (size_t i = 0; rc == OI_OK && i < f->nmetric_names; i++)
        rc = oi_bind_text(st, ++n, f->metric_names[i]);
    if (rc == OI_OK && f->from != OI_TIME_NULL)
        rc = oi_bind_time(st, ++n, f->from);
    if (rc == OI_OK && f->to != OI_TIME_NULL)
        rc = oi_bind_time(st, ++n, f->to);
    for (size_t i = 0; rc == OI_OK && i < f->nwhere; i++) {
        rc = oi_bind_text(st, ++n, f->where[i].key);
        if (rc == OI_OK)
            rc = oi_bind_text(st, ++n, f->where[i].value);
    }
    *nparams = n;
    return rc;
}

/* ---- record ----------------------------------------------------------- */

int oi_metric_record_batch(oi_store *s, oi_agent_metric *items, size_t n)
{
    if (n && !items)
        return oi_fail(s, OI_EINVALID, "%zu metrics to record but no array of them", n);
    int rc = oi_tx_begin(s, false);
    size_t done = 0;
    while (rc == OI_OK && done < n) {
        rc = oi_row_insert(s, &oi_table_agent_metrics, &items[done]);
        done++;
    }
    if (rc == OI_OK)
        rc = oi_tx_commit(s); /* a failed commit has rolled back */
    else if (done > 0) {
        char why[OI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", s->err.msg);
        oi_tx_rollback(s);
        oi_fail(s, rc, "metric %zu of %zu: %s", done, n, why);
    }
    for (size_t i = 0; rc != OI_OK && i < done; i++)
        items[i].id = 0;
    return rc;
}

/* ---- cursors ---------------------------------------------------------- */

static void cursor_encode(char out[OI_CURSOR_BUFSZ], bool newest_first,
                          const oi_agent_metric *last)
{
    snprintf(out, OI_CURSOR_BUFSZ, "%c%016" PRIx64 "%016" PRIx64, newest_first ? 'n' : 'o',
             (uint64_t)last->collection_timestamp, (uint64_t)last->id);
}

/* Exactly 16 lower-case hex digits. */
static bool read_hex16(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = p[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return false;
        v = v << 4 | (uint64_t)digit;
    }
    *out = v;
    return true;
}

/* The (timestamp, id) a cursor resumes after. */
static int cursor_decode(oi_store *s, const oi_metric_filter *f, oi_time *at, int64_t *id)
{
    const char *c = f->cursor;
    uint64_t t, i;
    if (strlen(c) != CURSOR_LEN || (c[0] != 'o' && c[0] != 'n') || !read_hex16(c + 1, &t) ||
        !read_hex16(c + 17, &i) || (oi_time)t == OI_TIME_NULL || (int64_t)i <= 0)
        return oi_fail(s, OI_EINVALID, "malformed cursor '%.40s': pass the next cursor of "
                       "the previous page unchanged", c);
    if ((c[0] == 'n') != f->newest_first)
        return oi_fail(s, OI_EINVALID, "the cursor continues a %s query: keep the order "
                       "of the first page", c[0] == 'n' ? "newest-first" : "oldest-first");
    *at = (oi_time)t;
    *id = (int64_t)i;
    return OI_OK;
}

/* ---- query ------------------------------------------------------------ */

/* The filter, then "after the cursor" and the limit when given. */
static char *query_sql(oi_store *s, const oi_metric_filter *f)
{
    oi_buf rest = {0};
    const char *desc = f->newest_first ? " DESC" : "";
    int n = oi_metric_filter_sql(s, &rest, f);
    if (f->cursor) {
        next_condition(&rest, n);
        oi_buf_addf(&rest, "(collection_timestamp, id) %s ($%d, $%d)",
                    f->newest_first ? "<" : ">", n + 1, n + 2);
        n += 2;
    }
    oi_buf_addf(&rest, " ORDER BY collection_timestamp%s, id%s", desc, desc);
    if (f->limit)
        oi_buf_addf(&rest, " LIMIT $%d", n + 1);
    char *sql = oi_row_select_sql(&oi_table_agent_metrics, rest.data);
    free(rest.data);
    return sql;
}

static int bind_query(oi_stmt *st, const oi_metric_filter *f, oi_time at, int64_t id)
{
    int n;
    int rc = oi_metric_filter_bind(st, f, &n);
    if (rc == OI_OK && f->cursor) {
        rc = oi_bind_time(st, ++n, at);
        if (rc == OI_OK)
            rc = oi_bind_int64(st, ++n, id);
    }
    if (rc == OI_OK && f->limit)
        rc = oi_bind_int64(st, ++n, (int64_t)f->limit + 1); /* one more: is there a next page? */
    return rc;
}

/* The extra row fetched proves a next page exists: drop it, point past the last row kept. */
static void cut_page(oi_metric_page *page, const oi_metric_filter *f)
{
    oi_agent_metric_clear(&page->items[f->limit]);
    page->count = f->limit;
    cursor_encode(page->next_cursor, f->newest_first, &page->items[f->limit - 1]);
}

int oi_metric_query(oi_store *s, const oi_metric_filter *f, oi_metric_page *page)
{
    oi_time at = OI_TIME_NULL;
    int64_t id = 0;
    memset(page, 0, sizeof *page);
    int rc = oi_metric_filter_check(s, f);
    if (rc == OI_OK && f->limit >= (size_t)INT64_MAX)
        rc = oi_fail(s, OI_EINVALID, "limit %zu is too large (0 means no limit)", f->limit);
    if (rc == OI_OK && f->cursor)
        rc = cursor_decode(s, f, &at, &id);
    if (rc != OI_OK)
        return rc;
    char *sql = query_sql(s, f);
    oi_stmt *st;
    rc = oi_stmt_prepare(s, sql, &st);
    free(sql);
    if (rc == OI_OK)
        rc = bind_query(st, f, at, id);
    if (rc == OI_OK)
        rc = oi_row_collect(&oi_table_agent_metrics, st, (void **)&page->items, &page->count);
    oi_stmt_free(st);
    if (rc == OI_OK && f->limit && page->count > f->limit)
        cut_page(page, f);
    return rc;
}

void oi_metric_page_free(oi_metric_page *page)
{
    if (!page)
        return;
    oi_agent_metric_list_free(page->items, page->count);
    memset(page, 0, sizeof *page);
}

int oi_agent_metric_query(oi_store *s, const oi_metric_filter *f, oi_agent_metric **items,
                          size_t *count)
{
    oi_metric_page page;
    int rc = oi_metric_query(s, f, &page);
    if (rc == OI_OK) {
        *items = page.items;
        *count = page.count;
    }
    return rc;
}
