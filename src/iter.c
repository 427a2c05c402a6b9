/*
 * iter.c - keyset-paged iterators (the engine of iter.h).
 *
 * Why pages and not one long statement: libpq fetches a statement's whole
 * result at once, so one statement over a million metrics would hold a
 * million rows in memory; and a statement left open across the caller's
 * next() calls would stop the caller from using the store in between on
 * PostgreSQL.  A page of OI_ITER_PAGE rows (growing to OI_ITER_PAGE_MAX
 * when the caller set no limit) bounds both.  Pages resume from
 * the last row's keys, never from an OFFSET, so a row written or deleted
 * meanwhile neither repeats nor skips another.
 *
 * Streamed (it->streamed, a metrics filter's stream): one statement,
 * "<select> [AND (keys) > (cursor)] ORDER BY keys [LIMIT limit + 1]",
 * stepped as the caller calls next(), as the databases' own shells read a
 * query: no page restarts, no keyset comparison per row, and on
 * PostgreSQL the plan of the whole query (libpq's single-row mode, so
 * memory stays one row's).  The price is the store: nothing else runs on
 * it until the statement ends (s->streaming; oi_store_ready refuses).  A
 * private statement, not the cache's: streaming is a property a cached
 * statement would keep for the paged iterators that share its text.
 */
#include <string.h>
#include "iter.h"

oi_iter *oi_iter_new(oi_store *s, const oi_iter_query *q, char *select)
{
    oi_iter *it = oi_calloc(1, sizeof *it);
    it->s = it->owner = s;
    it->q = q;
    it->select = select;
    return it;
}

static struct oi_param *add_param(oi_iter *it, oi_param_kind kind)
{
    it->params = oi_grow(it->params, &it->params_cap, it->nparams, sizeof *it->params);
    struct oi_param *p = &it->params[it->nparams++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    return p;
}

void oi_iter_param_text(oi_iter *it, const char *v)
{
    add_param(it, v ? OI_PARAM_TEXT : OI_PARAM_NULL)->text = oi_strdup(v);
}

void oi_iter_param_uuid(oi_iter *it, const char *v)
{
    add_param(it, OI_PARAM_UUID)->text = oi_strdup(v);
}

void oi_iter_param_int64(oi_iter *it, int64_t v)
{
    add_param(it, OI_PARAM_INT64)->number = v;
}

void oi_iter_param_time(oi_iter *it, oi_time v)
{
    add_param(it, OI_PARAM_TIME)->number = v;
}

/* Keep a copy of text (NULL: none) as key's position, in its buffer. */
static void keep_text(oi_iter *it, int key, const char *text)
{
    if (!text) {
        free(it->last_text[key]);
        it->last_text[key] = NULL;
        it->last_cap[key] = 0;
        return;
    }
    size_t n = strlen(text) + 1;
    if (n > it->last_cap[key]) {
        free(it->last_text[key]);
        it->last_text[key] = oi_malloc(n);
        it->last_cap[key] = n;
    }
    memcpy(it->last_text[key], text, n);
}

static void set_position(oi_iter *it, int key, const char *text)
{
    keep_text(it, key, text);
    if (it->q->int_keys & (1u << key))
        it->last_int[key] = text ? strtoll(text, NULL, 10) : 0;
}

void oi_iter_start_after(oi_iter *it, const char *const *keys)
{
    for (int k = 0; k < it->q->nkeys; k++)
        set_position(it, k, keys[k]);
    it->positioned = true;
}

oi_iter *oi_iter_new_buffered(oi_store *s, const oi_table *t, void *items, size_t n)
{
    oi_iter *it = oi_calloc(1, sizeof *it);
    it->s = it->owner = s;
    it->buffered_table = t;
    it->items = items;
    it->nitems = n;
    return it;
}

static void close_page(oi_iter *it);

void oi_iter_free(oi_iter *it)
{
    if (!it)
        return;
    close_page(it);
    if (it->s != it->owner)
        oi_read_iter_count(it->owner, -1);
    for (size_t i = 0; i < it->nparams; i++)
        free(it->params[i].text);
    free(it->params);
    for (int k = 0; k < OI_ITER_MAX_KEYS; k++)
        free(it->last_text[k]);
    if (it->buffered_table)
        for (size_t i = it->next_item; i < it->nitems; i++)
            oi_row_clear(it->buffered_table, it->items + i * it->buffered_table->size);
    free(it->items);
    free(it->select);
    free(it->borrowed); /* its strings were the driver's */
    free(it);
}

/* ---- pages ------------------------------------------------------------- */

/* The rows of the next page.  With a limit, OI_ITER_PAGE at most, and one
 * row past the limit: whether there is more (a cursor).  Without one, each
 * page twice the one before, from OI_ITER_PAGE to OI_ITER_PAGE_MAX: a short
 * read is one small page, a long one fewer statements (on PostgreSQL each
 * page is a statement and a round trip).  W6's common key on PostgreSQL,
 * 250,189 rows, medians of 3 on a loaded machine: 501 pages of 500: 9.64 s,
 * client CPU 0.56 s, server 2.35 s; 127 pages up to 2000: 8.40 s, 0.52 s,
 * 2.22 s; up to 4000 or 8000: 15.1 s, 1.05-1.29 s (system time: libpq's
 * larger results mapped and unmapped per page), server 3.75 s (custom
 * plans with parallel workers for the larger LIMITs). */
static uint64_t page_size(const oi_iter *it)
{
    if (it->streamed)
        return it->limit ? it->limit + 1 : 0; /* 0: no LIMIT */
    if (it->limit) {
        uint64_t left = it->limit - it->yielded; /* no overflow near UINT64_MAX */
        return left < OI_ITER_PAGE ? left + 1 : OI_ITER_PAGE;
    }
    if (it->page_limit == 0)
        return OI_ITER_PAGE;
    return it->page_limit < OI_ITER_PAGE_MAX / 2 ? it->page_limit * 2 : OI_ITER_PAGE_MAX;
}

/* A page of the library's own sizes (no caller's limit, not streamed) has
 * its LIMIT written into the statement, not bound: PostgreSQL plans a
 * prepared statement once for all values after five runs (a generic plan),
 * and a bound LIMIT it guesses at a tenth of the rows, for which it
 * prefers an incremental sort over a merge of the partitions to the one
 * sort the same query gets without a LIMIT, or with "LIMIT 500" written.
 * W4's range query (one agent, metric and day, ~417 rows), 2,000 queries
 * interleaved with the raw query (perf_client range-pg), three runs each:
 * p50 1.11-1.17 -> 1.05-1.10 times the raw query's, p99 1.09-1.23 ->
 * 1.05-1.08.  The sizes are three constants (500, 1000, 2000), so three
 * statements at most per query; a caller's limit stays a parameter. */
static bool literal_limit(const oi_iter *it)
{
    return !it->streamed && !it->limit;
}

/* "<select> [AND (keys) > ($n+1, ...)] ORDER BY keys [LIMIT m | LIMIT $m]" */
static char *page_sql(const oi_iter *it, bool after)
{
    const oi_iter_query *q = it->q;
    oi_buf b = {0};
    oi_buf_add(&b, it->select);
    if (q->nkeys == 0)
        return b.data;
    int n = (int)it->nparams;
    if (after) {
        oi_buf_add(&b, " AND (");
        for (int k = 0; k < q->nkeys; k++)
            oi_buf_addf(&b, "%s%s", k ? ", " : "", q->keys[k]);
        oi_buf_addf(&b, ") %s (", q->descending ? "<" : ">");
        for (int k = 0; k < q->nkeys; k++)
            oi_buf_addf(&b, "%s$%d", k ? ", " : "", ++n);
        oi_buf_add(&b, ")");
    }
    oi_buf_add(&b, " ORDER BY ");
    for (int k = 0; k < q->nkeys; k++)
        oi_buf_addf(&b, "%s%s%s", k ? ", " : "", q->keys[k], q->descending ? " DESC" : "");
    if (literal_limit(it))
        oi_buf_addf(&b, " LIMIT %llu", (unsigned long long)page_size(it));
    else if (it->limit)
        oi_buf_addf(&b, " LIMIT $%d", n + 1);
    return b.data;
}

static int bind_param(oi_stmt *st, int idx, const struct oi_param *p)
{
    switch (p->kind) {
    case OI_PARAM_TEXT: return oi_bind_text(st, idx, p->text);
    case OI_PARAM_UUID: return oi_bind_uuid(st, idx, p->text);
    case OI_PARAM_INT64: return oi_bind_int64(st, idx, p->number);
    case OI_PARAM_TIME: return oi_bind_time(st, idx, p->number);
    default: return oi_bind_text(st, idx, NULL);
    }
}

static int bind_page(oi_iter *it)
{
    int idx = 1, rc = OI_OK;
    for (size_t i = 0; rc == OI_OK && i < it->nparams; i++)
        rc = bind_param(it->st, idx++, &it->params[i]);
    if (it->q->nkeys == 0)
        return rc;
    for (int k = 0; rc == OI_OK && it->positioned && k < it->q->nkeys; k++, idx++)
        rc = (it->q->int_keys & (1u << k)) ? oi_bind_int64(it->st, idx, it->last_int[k])
                                             : oi_bind_text(it->st, idx, it->last_text[k]);
    it->page_limit = page_size(it);
    if (rc || !it->page_limit || literal_limit(it))
        return rc;
    return oi_bind_int64(it->st, idx, (int64_t)it->page_limit);
}

/* The streamed statement: private, and set to stream where the backend can. */
static int open_stream(oi_iter *it, const char *sql)
{
    it->st_private = true;
    int rc = oi_stmt_prepare(it->s, sql, &it->st);
    if (rc == OI_OK && oi_store_streams(it->s))
        rc = oi_stmt_stream(it->st);
    return rc;
}

/* The store the iterator reads from, chosen by its first page, not when it
 * was opened: a transaction begun in between keeps it on the primary. */
static int choose_store(oi_iter *it)
{
    it->routed = true;
    int rc = oi_read_store(it->owner, &it->s);
    if (it->s != it->owner)
        oi_read_iter_count(it->owner, 1);
    return rc;
}

/* The replica was lost under the first page: the primary reads it again. */
static bool move_to_primary(oi_iter *it, int rc)
{
    if (!oi_read_failed(it->owner, it->s, rc, it->yielded == 0))
        return false;
    close_page(it);
    oi_read_iter_count(it->owner, -1);
    it->s = it->owner;
    return true;
}

static int open_page(oi_iter *it)
{
    if (!it->routed) {
        int rc = choose_store(it);
        if (rc)
            return rc;
    }
    char *sql = page_sql(it, it->positioned);
    int rc = it->streamed ? open_stream(it, sql)
                          : oi_stmt_acquire(it->s, sql, &it->st, &it->st_private);
    free(sql);
    it->page_rows = 0;
    if (rc == OI_OK)
        rc = bind_page(it);
    if (it->streamed && it->st)
        it->s->streaming = true; /* after the statement's own calls */
    return rc;
}

/* Release the page's statement: a stream not read to its end is
 * discarded (backend.h, stream) and the store is free again. */
static void close_page(oi_iter *it)
{
    if (it->st && it->streamed)
        it->s->streaming = false;
    oi_stmt_release(it->s, it->st, it->st_private);
    it->st = NULL;
}

/* The table whose columns a row starts with. */
static const oi_table *table_of(const oi_iter_query *q)
{
    return q->table ? q->table : q->yields;
}

/* The keys follow the columns read(): the query's, or its table's. */
static int first_key_column(const oi_iter_query *q)
{
    return q->ncolumns ? q->ncolumns : (int)table_of(q)->ncols;
}

/* The position is read when the next page opens, after a full one, and by
 * a cursor, after the limit: only the row that ends a page or reaches the
 * limit needs it kept. */
static bool row_ends_page(const oi_iter *it)
{
    return it->page_rows == it->page_limit || (it->limit && it->yielded == it->limit);
}

/* The keys of the row that ends a page: no allocation once the buffers
 * fit, and an integer key kept as the integer alone (nothing reads its
 * text).  With time.c's arithmetic dates, 2,000 one-day queries of 416
 * rows on PostgreSQL: client CPU 2.06 s -> 1.76 s (medians of 3).  Kept
 * for that row only: 17 M fewer of W4's 913 M client instructions on
 * SQLite (300 queries; two column reads, a copy and a strlen a row). */
static void remember_keys(oi_iter *it)
{
    if (it->streamed && it->yielded != it->limit)
        return; /* no page to resume: only the cursor reads the last row's keys */
    const oi_iter_query *q = it->q;
    for (int k = 0, after = first_key_column(q); k < q->nkeys; k++, after++) {
        int col = it->key_columns ? it->key_columns[k] : after;
        if (it->q->int_keys & (1u << k))
            it->last_int[k] = oi_col_int64(it->st, col);
        else
            keep_text(it, k, oi_col_text(it->st, col));
    }
    it->positioned = true;
}

/* The limit is reached: is there a row past it?  The open page may hold
 * it; a page that ended full may not, and a page of one row says. */
static int probe_more(oi_iter *it)
{
    int rc = OI_DONE;
    bool full = !it->streamed; /* a stream's statement reads past the limit itself */
    if (it->st) {
        full = full && it->page_rows == it->page_limit;
        rc = oi_step(it->st);
        close_page(it);
    }
    if (rc == OI_DONE && full && (rc = open_page(it)) == OI_OK) {
        rc = oi_step(it->st);
        close_page(it);
    }
    it->more = rc == OI_ROW;
    return rc == OI_ROW || rc == OI_DONE ? OI_DONE : rc;
}

/* Position it->st on the next row: OI_ROW, OI_DONE or a failure. */
static int next_row(oi_iter *it)
{
    while (!it->finished) {
        if (it->limit && it->yielded >= it->limit) {
            it->finished = true;
            return probe_more(it);
        }
        int rc = it->st ? OI_OK : open_page(it);
        if (rc == OI_OK)
            rc = oi_step(it->st);
        if (rc == OI_ROW) {
            it->page_rows++;
            it->yielded++;
            if (row_ends_page(it))
                remember_keys(it);
            return OI_ROW;
        }
        if (rc != OI_DONE && it->s != it->owner && move_to_primary(it, rc))
            continue;
        bool full_page = it->q->nkeys && !it->streamed && it->page_rows == it->page_limit;
        close_page(it);
        if (rc != OI_DONE || !full_page) {
            it->finished = true;
            return rc == OI_DONE || rc == OI_OK ? OI_DONE : rc;
        }
    }
    it->finished = true;
    return OI_DONE;
}

/* ---- next ---------------------------------------------------------------- */

static int next_buffered(oi_iter *it, void *out)
{
    const oi_table *t = it->buffered_table;
    if (it->next_item == it->nitems)
        return OI_ITEROVER;
    oi_row_move(t, out, it->items + it->next_item++ * t->size);
    return OI_OK;
}

static const char *yields_what(const oi_iter *it)
{
    return it->buffered_table ? it->buffered_table->what : it->q->what;
}

static int check_yields(oi_iter *it, const void *yields)
{
    const void *has = it->buffered_table ? (const void *)it->buffered_table : it->q->yields;
    if (has != yields)
        return oi_fail(it->owner, OI_EINVALID, "this iterator yields %s records, not those asked for",
                       yields_what(it));
    return OI_OK;
}

/* Step a paged iterator to its next row: OI_ROW, OI_ITEROVER or a failure. */
static int advance(oi_iter *it)
{
    if (it->error) /* a failure is not an end: the rows after it were never read */
        return oi_fail(it->owner, it->error, "this iteration stopped on an earlier failure (%s): "
                       "open a new iterator", oi_strerror(it->error));
    int rc = next_row(it);
    if (rc != OI_ROW && rc != OI_DONE)
        it->error = rc;
    if (rc < 0 && it->s != it->owner) /* reported where the caller looks */
        oi_read_failed(it->owner, it->s, rc, false);
    return rc == OI_DONE ? OI_ITEROVER : rc;
}

int oi_iter_next(oi_iter *it, const void *yields, void *out)
{
    int rc = check_yields(it, yields);
    if (rc != OI_OK)
        return rc;
    if (it->buffered_table)
        return next_buffered(it, out);
    rc = advance(it);
    if (rc != OI_ROW)
        return rc;
    rc = it->q->read(it, it->st, out);
    if (rc < 0 && it->s != it->owner)
        oi_read_failed(it->owner, it->s, rc, false);
    return rc;
}

/* The row's strings stay in the page's result, which the driver keeps until
 * the statement steps again: three strdup's and frees a metric row fewer.
 * 300 one-day queries of 417 rows (W4, SQLite): 1,096 M -> 1,000 M client
 * instructions (callgrind). */
int oi_iter_next_borrowed(oi_iter *it, const oi_table *t, const void **out)
{
    *out = NULL;
    if (!it)
        return OI_EINVALID;
    int rc = check_yields(it, t);
    if (rc != OI_OK)
        return rc;
    if (it->buffered_table || it->q->read != oi_iter_read_row)
        return oi_fail(it->owner, OI_EINVALID, "this iterator's %s records cannot be borrowed: "
                       "read them with next()", yields_what(it));
    if ((rc = advance(it)) != OI_ROW)
        return rc;
    if (!it->borrowed) {
        it->borrowed = oi_malloc(t->size);
        oi_row_init(t, it->borrowed, t->version);
    }
    oi_row_borrow(it->st, t, 0, it->borrowed);
    *out = it->borrowed;
    return OI_OK;
}

int oi_iter_read_row(oi_iter *it, oi_stmt *st, void *out)
{
    oi_row_read(st, table_of(it->q), 0, out);
    return OI_OK;
}

char *oi_iter_table_select(const oi_iter_query *q, const char *where)
{
    const oi_table *t = table_of(q);
    oi_buf b = {0};
    oi_buf_add(&b, "SELECT ");
    oi_row_columns(&b, t, NULL);
    for (int k = 0; k < q->nkeys; k++)
        oi_buf_addf(&b, ", %s", q->keys[k]);
    oi_buf_addf(&b, " FROM %s %s", t->name, where);
    return b.data;
}

int oi_struct_next(oi_iter *it, const void *yields, const char *type, unsigned newest,
                   void *out)
{
    if (!it)
        return OI_EINVALID;
    int rc = oi_check_version(it->owner, type, *(const unsigned *)out, newest);
    return rc ? rc : oi_iter_next(it, yields, out);
}

int oi_row_next(oi_iter *it, const oi_table *t, void *out)
{
    if (!it)
        return OI_EINVALID;
    int rc = oi_row_check_version(it->owner, t, out);
    return rc ? rc : oi_iter_next(it, t, out);
}
