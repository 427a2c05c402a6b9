/*
 * table.h - tables described as data, so CRUD is written once.
 *
 * Each of the ten tables is an oi_table: its SQL name and an array of
 * oi_column, each naming a column, its type, where it lives in the C
 * record (offsetof) and how the store treats it.  table.c turns that into
 * INSERT/SELECT/UPDATE/DELETE statements (column names only: every value is
 * a bound parameter), validates records before writing and fills them when
 * reading.  records.c holds the descriptors and the typed public wrappers.
 */
#ifndef OI_TABLE_H
#define OI_TABLE_H

#include "internal.h"

typedef enum oi_coltype {
    OI_COL_UUID,     /* oi_uuid (char[37]); "" is NULL */
    OI_COL_ID64,     /* int64_t, assigned by the database (a key, a revision) */
    OI_COL_TEXT,     /* char * */
    OI_COL_JSON,     /* char *, a JSON object */
    OI_COL_STRLIST,  /* char *, a JSON array of strings */
    OI_COL_TIME,     /* oi_time */
    OI_COL_DOUBLE,   /* double; NAN is NULL where nullable */
    OI_COL_INT,      /* int */
    OI_COL_BOOL      /* bool */
} oi_coltype;

enum {
    OI_KEY = 1 << 0,      /* the primary key (first column) */
    OI_REQUIRED = 1 << 1, /* NOT NULL without a default: the caller must give it */
    OI_CREATED = 1 << 2,  /* set to now on insert, never updated */
    OI_UPDATED = 1 << 3,  /* set to now on insert and on every update */
    OI_NOW = 1 << 4,      /* a time that defaults to now when NULL */
    OI_NULLABLE = 1 << 5, /* a double or JSON object that may be NULL */
    OI_CENTS = 1 << 6,    /* a numeric(10,2) double: rounded to cents before writing,
                             as PostgreSQL would, so both backends hold the same value */
    OI_READONLY = 1 << 7  /* written by the database's triggers only (a row's revision):
                             read by every SELECT, never bound by an INSERT or UPDATE,
                             whatever the caller's record holds */
};

typedef struct oi_column {
    const char *name;
    oi_coltype type;
    size_t offset;
    unsigned flags;
    const char *fallback;        /* TEXT: the value written for NULL */
    const char *const *allowed;  /* TEXT: the closed set of words, NULL-ended */
    /* The record version that added the column (0 counts as 1): a caller's
     * record of an older version has no such field, and the library neither
     * reads nor writes it there (a write binds the column's default). */
    unsigned since;
    oi_kind kind;                /* TEXT: the kind of value its text is (values.h) */
} oi_column;

typedef struct oi_table {
    const char *name;     /* SQL table name */
    const char *what;     /* singular, for messages: "agent config" */
    const char *type;     /* the C type, for messages: "oi_agent" */
    unsigned version;     /* the newest record version (OI_AGENT_VERSION ...) */
    const size_t *sizes;  /* sizes[v - 1]: the record's size in version v, for
                             every v from 1 to version */
    size_t size;          /* sizeof the record: the newest version's size */
    const oi_column *cols;
    size_t ncols;
    const char *order_by; /* for lists */
    /* Checks across fields before a write (typed config values...). */
    int (*check)(oi_store *s, const void *rec);
    /* Readies the database for a row about to be inserted, its times
     * stamped; cannot fail the write (agent_metrics: its partition). */
    void (*before_insert)(oi_store *s, const void *rec);
} oi_table;

extern const oi_table oi_table_customers, oi_table_agents, oi_table_events,
    oi_table_recommendations, oi_table_approvals, oi_table_optimizations,
    oi_table_agent_configs, oi_table_agent_states, oi_table_agent_capabilities,
    oi_table_agent_metrics;

/* Records start with `unsigned int version` (docs/design.md, "The ABI").  OI_OK if rec's version is one this library knows, else
 * OI_EINVALID saying how to initialise it. */
int oi_row_check_version(oi_store *s, const oi_table *t, const void *rec);
/* Make rec an empty record of `version`, as OI_X_INIT does: times
 * OI_TIME_NULL, optional numbers NAN, the rest zero. */
void oi_row_init(const oi_table *t, void *rec, unsigned version);
/* An output record (NULL allowed) checked and emptied before a call fills it:
 * OI_OK, or OI_EINVALID for a version this library does not know. */
int oi_row_out(oi_store *s, const oi_table *t, void *out);
/* Move the record `from` (the library's newest version) into `to` (the
 * caller's version): the fields `to` has are moved, the others freed. */
void oi_row_move(const oi_table *t, void *to, void *from);
/* Check the version of a struct that is not a table record; `type` names
 * it ("oi_lock"). */
int oi_check_version(oi_store *s, const char *type, unsigned version, unsigned newest);
/* The common part of the oi_*_init() of a struct that is not a table record
 * (one version exists: a later one passes the size of the version asked):
 * OI_EINVALID for a version this library does not know, else *rec zeroed
 * with its version set. */
int oi_struct_init(void *rec, size_t size, const char *type, unsigned version,
                   unsigned newest);

int oi_row_insert(oi_store *s, const oi_table *t, void *rec);
/* The row's revision (written by triggers after the statement, or at the
 * commit on PostgreSQL) read back into rec, if rec has the field; inside
 * the caller's transaction on PostgreSQL it is still the previous one.
 * oi_row_insert and oi_row_update end with it; writes of their own call it
 * after their commit. */
int oi_row_refresh_revision(oi_store *s, const oi_table *t, void *rec);
int oi_row_update(oi_store *s, const oi_table *t, void *rec);
/* key: a UUID string, or a pointer to an int64_t for OI_COL_ID64 keys. */
int oi_row_get(oi_store *s, const oi_table *t, const void *key, void *out);
int oi_row_delete(oi_store *s, const oi_table *t, const void *key);
void oi_row_clear(const oi_table *t, void *rec);

/* "SELECT <every column> FROM <table> " followed by `rest`; allocated. */
char *oi_row_select_sql(const oi_table *t, const char *rest);
/* Step a bound statement once: OI_OK with *out filled, or OI_ENOTFOUND
 * with it left as it was (checked and emptied by the caller: oi_row_out). */
int oi_row_fetch_one(oi_store *s, const oi_table *t, oi_stmt *st, void *out);

/* Building blocks for statements beyond the generic CRUD (upserts, joins). */
/* Check rec as a write would: required fields, words, JSON, t->check. */
int oi_row_validate(oi_store *s, const oi_table *t, const void *rec);
/* Append "q.col1, q.col2, ..." (every column; no "q." when qualifier is NULL). */
void oi_row_columns(oi_buf *b, const oi_table *t, const char *qualifier);
/* Read the current row's columns first_col, first_col + 1, ... into rec. */
void oi_row_read(oi_stmt *st, const oi_table *t, int first_col, void *rec);
/* The same, but rec's strings are the driver's texts, not copies: valid
 * until st steps, is reset or finalized; never to be freed (no
 * oi_row_clear).  A nullable JSON column's JSON null is NULL, as read. */
void oi_row_borrow(oi_stmt *st, const oi_table *t, int first_col, void *rec);
/* A statement about one table's rows, declared static where it is used: its
 * address keys the statement cache, so its SQL is built once per store. */
typedef struct oi_row_sql {
    const oi_table *table;
    const char *rest;                   /* "SELECT <every column> FROM t " + rest */
    char *(*build)(const oi_table *t);  /* or, when not NULL, the SQL it builds */
} oi_row_sql;
/* The cached statement of q (reset, ready to bind). */
int oi_row_stmt(oi_store *s, const oi_row_sql *q, oi_stmt **out);
/* "INSERT INTO <t> (...) VALUES (...) <tail> RETURNING <every column>": the
 * INSERT of oi_row_insert with a conflict clause ("ON CONFLICT (type, name)
 * DO NOTHING") and the stored row back, for the build() of an oi_row_sql. */
char *oi_row_insert_sql(const oi_table *t, const char *tail);
/* oi_row_insert (the same checks, id, times and messages) through q's
 * statement, built by oi_row_insert_sql: OI_OK with the stored row read
 * into out (of q->table's newest version), or OI_DONE when q's conflict
 * clause left the row out (nothing written). */
int oi_row_insert_returning(oi_store *s, const oi_row_sql *q, void *rec, void *out);
/* Copy an id argument into a record's UUID field: OI_EINVALID ("<what> 'x' is
 * not a UUID") unless it is one, whole (a longer string is not truncated). */
int oi_row_uuid_arg(oi_store *s, const char *what, const char *value, char out[OI_UUID_LEN + 1]);
/* Rewrite the driver's message of a failed write as "cannot <doing> <what>: ...". */
int oi_row_explain(oi_store *s, const char *doing, const oi_table *t, int rc);

#endif
