/*
 * iter.h - the engine behind every public iterator.
 *
 * An iterator is a query, the parameters it was opened with, and a
 * position.  Its rows come in pages (or, streamed, from one statement
 * that holds the store until its end: iter.c): "<select> [AND (k1, k2) > (last)]
 * ORDER BY k1, k2 LIMIT n", the keys unique together and never NULL, so
 * that each page resumes exactly after the last row of the one before,
 * whatever was written in between.  A page's statement is the store's
 * cached statement of that SQL (oi_stmt_acquire), so opening an iterator
 * costs no prepare after the first.  Queries whose order cannot be a key
 * (an aggregate's groups) run as one statement instead (nkeys 0).
 *
 * What an iterator yields is named by a tag (an oi_table, or a static
 * oi_iter_type); the typed oi_*_next() functions check it, then call the
 * tag's read() to fill the caller's record.
 */
#ifndef OI_ITER_H
#define OI_ITER_H

#include "table.h"

#define OI_ITER_MAX_KEYS 3
/* Rows per page: large enough that the round trip per page is noise, small
 * enough that a PostgreSQL page (fetched whole by libpq) stays small. */
#define OI_ITER_PAGE 500
/* An iterator without a limit doubles its pages up to this many rows:
 * fewer statements for a long read; larger pages were slower on
 * PostgreSQL (iter.c, page_size). */
#define OI_ITER_PAGE_MAX 2000

/* A parameter the iterator binds to every page; the iterator owns copies. */
typedef enum oi_param_kind { OI_PARAM_NULL, OI_PARAM_TEXT, OI_PARAM_UUID, OI_PARAM_INT64,
                             OI_PARAM_TIME } oi_param_kind;

typedef struct oi_iter_query {
    const char *what;               /* the records, for messages: "agent", "lock" */
    const void *yields;             /* the tag next() checks */
    /* Fill out from the current row's columns 0..ncolumns-1. */
    int (*read)(oi_iter *it, oi_stmt *st, void *out);
    int ncolumns;                   /* 0: the column count of its table */
    const char *keys[OI_ITER_MAX_KEYS]; /* ORDER BY expressions; none: one statement */
    int nkeys;
    unsigned int_keys;              /* bit i: key i is an integer (else text) */
    bool descending;
    const oi_table *table;          /* the table whose columns come first, when it
                                       is not what it yields (NULL: yields) */
} oi_iter_query;

struct oi_iter {
    oi_store *s;                    /* the store its pages read from: owner or its replica */
    oi_store *owner;                /* the caller's store, where failures are reported */
    bool routed;                    /* s is chosen: by the first page (replica.c), or
                                       set at the start to keep the iterator on owner */
    const oi_iter_query *q;
    char *select;                   /* "SELECT <columns>, <keys> FROM ... WHERE ..." */
    struct oi_param {
        oi_param_kind kind;
        char *text;
        int64_t number;
    } *params;
    size_t nparams, params_cap;
    /* position: the keys of the last row read (a text key's buffer is
       reused from row to row: last_cap bytes) */
    char *last_text[OI_ITER_MAX_KEYS];
    size_t last_cap[OI_ITER_MAX_KEYS];
    int64_t last_int[OI_ITER_MAX_KEYS];
    bool positioned;
    uint64_t limit;                 /* rows to yield at most; 0: all */
    bool streamed;                  /* one statement for every row (iter.c, "streamed") */
    const int *key_columns;         /* the row's columns that hold the keys, when its
                                       select has them once (NULL: after the row's) */
    uint64_t yielded;
    /* the open page */
    oi_stmt *st;
    bool st_private;
    uint64_t page_rows, page_limit;
    bool finished;
    int error;                      /* the failure that stopped it, returned again */
    bool more;                      /* stopped at the limit with rows after it */
    /* rows collected in memory instead (sorted in C): move them out one by one */
    const oi_table *buffered_table;
    char *items;
    size_t nitems, next_item;
    /* what the read() of a query needs besides the row */
    oi_time now;
    int64_t stale_after;
    /* the record oi_iter_next_borrowed fills (its table's newest version,
       strings the driver's), allocated on first use */
    void *borrowed;
};

/* A new iterator of query q over `select` (allocated, taken over); add its
 * parameters with oi_iter_param_*, in $1, $2 ... order. */
oi_iter *oi_iter_new(oi_store *s, const oi_iter_query *q, char *select);
void oi_iter_param_text(oi_iter *it, const char *v);   /* NULL binds NULL */
void oi_iter_param_uuid(oi_iter *it, const char *v);
void oi_iter_param_int64(oi_iter *it, int64_t v);
void oi_iter_param_time(oi_iter *it, oi_time v);
/* Start after the row whose keys are these (texts; integers as decimal text). */
void oi_iter_start_after(oi_iter *it, const char *const *keys);

/* An iterator over n records of t already in memory (taken over). */
oi_iter *oi_iter_new_buffered(oi_store *s, const oi_table *t, void *items, size_t n);

/* Fill out with the next row if `it` yields `yields`: OI_OK, OI_ITEROVER
 * or a failure.  The typed public next() functions check out's version,
 * then make this call. */
int oi_iter_next(oi_iter *it, const void *yields, void *out);

/* The next row of an iterator that yields t's records, read into a record
 * the iterator owns whose strings are the driver's texts (no copy): OI_OK
 * with *out set, else *out NULL and OI_ITEROVER or a failure.  Valid until
 * the next call that moves `it` (either next) or its free.  For paged
 * iterators of table rows (read() oi_iter_read_row); others OI_EINVALID. */
int oi_iter_next_borrowed(oi_iter *it, const oi_table *t, const void **out);

/* "SELECT <columns of the table q yields>, <q's keys> FROM <table> <where>" */
char *oi_iter_table_select(const oi_iter_query *q, const char *where);

/* The typed next of a struct that is not a table record (`type` names it,
 * `newest` is its version): checks out's version, then oi_iter_next. */
int oi_struct_next(oi_iter *it, const void *yields, const char *type, unsigned newest,
                   void *out);

/* The typed next of table records: checks out's version, then oi_iter_next. */
int oi_row_next(oi_iter *it, const oi_table *t, void *out);

/* Read a table record (the yields of table-row queries). */
int oi_iter_read_row(oi_iter *it, oi_stmt *st, void *out);

#endif
