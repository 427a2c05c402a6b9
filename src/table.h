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
    OI_COL_ID64,     /* int64_t, assigned by the database */
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
    OI_CENTS = 1 << 6     /* a numeric(10,2) double: rounded to cents before writing,
                             as PostgreSQL would, so both backends hold the same value */
};

typedef struct oi_column {
    const char *name;
    oi_coltype type;
    size_t offset;
    unsigned flags;
    const char *fallback;        /* TEXT: the value written for NULL */
    const char *const *allowed;  /* TEXT: the closed set of words, NULL-ended */
} oi_column;

typedef struct oi_table {
    const char *name;     /* SQL table name */
    const char *what;     /* singular, for messages: "agent config" */
    size_t size;          /* sizeof the record */
    const oi_column *cols;
    size_t ncols;
    const char *order_by; /* for lists */
    int slot;             /* first of OI_TABLE_SLOTS statement cache slots */
    /* Checks across fields before a write (typed config values...). */
    int (*check)(oi_store *s, const void *rec);
} oi_table;

enum { OI_SLOT_INSERT, OI_SLOT_UPDATE, OI_SLOT_DELETE, OI_SLOT_GET, OI_SLOT_LIST, OI_TABLE_SLOTS };

/* Statement cache slots of queries outside the generic CRUD. */
enum {
    OI_SLOT_QUERIES = 10 * OI_TABLE_SLOTS,
    OI_SLOT_AGENT_FIND = OI_SLOT_QUERIES,
    OI_SLOT_AGENT_BY_NAME,
    OI_SLOT_CONFIGS_BY_AGENT,
    OI_SLOT_CONFIG_FIND,
    OI_SLOT_STATE_FIND,
    OI_SLOT_CAPS_BY_AGENT,
    OI_SLOT_CAP_VERSIONS,
    OI_SLOT_ACTIVE_WORKFLOW,
    OI_SLOT_MIGRATE_CURRENT,
    /* Ranges of 24 slots for each later module, so that modules written
     * side by side never compete for a slot number. */
    OI_SLOT_RUNTIME = 96,       /* heartbeats, transitions, locks */
    OI_SLOT_CONFIGS = 120,      /* typed configs, capability versions */
    OI_SLOT_METRICS = 144,      /* metrics record, query, aggregate */
    OI_SLOT_METRICS_IO = 168,   /* import, export, prune */
    OI_SLOT_ORCHESTRATION = 192, /* events, recommendations, approvals */
    OI_SLOT_END = 216
};

extern const oi_table oi_table_customers, oi_table_agents, oi_table_events,
    oi_table_recommendations, oi_table_approvals, oi_table_optimizations,
    oi_table_agent_configs, oi_table_agent_states, oi_table_agent_capabilities,
    oi_table_agent_metrics;

int oi_row_insert(oi_store *s, const oi_table *t, void *rec);
int oi_row_update(oi_store *s, const oi_table *t, void *rec);
/* key: a UUID string, or a pointer to an int64_t for OI_COL_ID64 keys. */
int oi_row_get(oi_store *s, const oi_table *t, const void *key, void *out);
int oi_row_delete(oi_store *s, const oi_table *t, const void *key);
int oi_row_list(oi_store *s, const oi_table *t, void **items, size_t *count);
void oi_row_clear(const oi_table *t, void *rec);
void oi_row_list_free(const oi_table *t, void *items, size_t count);

/* "SELECT <every column> FROM <table> " followed by `rest`; allocated. */
char *oi_row_select_sql(const oi_table *t, const char *rest);
/* Step a bound statement to the end, collecting every row. */
int oi_row_collect(const oi_table *t, oi_stmt *st, void **items, size_t *count);
/* Step a bound statement once: OI_OK with *out filled, or OI_ENOTFOUND. */
int oi_row_fetch_one(oi_store *s, const oi_table *t, oi_stmt *st, void *out);

/* Building blocks for statements beyond the generic CRUD (upserts, joins). */
/* Check rec as a write would: required fields, words, JSON, t->check. */
int oi_row_validate(oi_store *s, const oi_table *t, const void *rec);
/* Append "q.col1, q.col2, ..." (every column; no "q." when qualifier is NULL). */
void oi_row_columns(oi_buf *b, const oi_table *t, const char *qualifier);
/* Read the current row's columns first_col, first_col + 1, ... into rec. */
void oi_row_read(oi_stmt *st, const oi_table *t, int first_col, void *rec);
/* The statement of a cache slot, its SQL built by build(t) on first use only. */
typedef char *(*oi_sql_builder)(const oi_table *t);
int oi_row_stmt(oi_store *s, int slot, const oi_table *t, oi_sql_builder build, oi_stmt **out);
/* Copy an id argument into a record's UUID field: OI_EINVALID ("<what> 'x' is
 * not a UUID") unless it is one, whole (a longer string is not truncated). */
int oi_row_uuid_arg(oi_store *s, const char *what, const char *value, char out[OI_UUID_LEN + 1]);
/* Rewrite the driver's message of a failed write as "cannot <doing> <what>: ...". */
int oi_row_explain(oi_store *s, const char *doing, const oi_table *t, int rc);

#endif
