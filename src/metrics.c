/*
 * metrics.c - recording metrics in batches, and reading them a page at a time.
 *
 * A batch is one transaction over the table's cached INSERT: the statement
 * is prepared once per store and only rebound per row, and the first bad
 * row rolls back the rows before it, so a batch is all or nothing.
 *
 * Reading is an iterator (iter.c) paged on (collection_timestamp, id), not
 * OFFSET: a page starts strictly after the last row of the one before, so
 * it costs the same however deep the reader is, and rows written meanwhile
 * neither repeat nor skip rows already passed.  id breaks ties between
 * equal timestamps, which makes the order total.  An iterator with a limit
 * reads one row past it: that row's existence, not a guess, says whether
 * there is more, and so whether it has a cursor.
 *
 * The cursor is "o" or "n" (the order it walks) and the last row's
 * timestamp and id as 16 hex digits each.  It is opaque to callers; it
 * carries its order so that a cursor reused with the other order is
 * refused instead of silently jumping.  The SQL varies with the filter's
 * shape; each shape is one cached statement (keyed by its text).
 *
 * The latest value of each metric is an iterator too, over a statement
 * that reads the index pair by pair (oi_metric_latest_iter_new, below).
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include "metric_filter.h"
#include "partition.h"
#include "iter.h"
#include "value.h"

#define CURSOR_LEN 33 /* order letter + 2 x 16 hex digits */

/* ---- the filter ------------------------------------------------------- */

/* Texts a filter compares with stored ones are values of their kinds, so
 * both backends get text they can compare (PostgreSQL refuses bytes that
 * are not UTF-8 when the query runs; SQLite would match nothing). */
static int check_filter_texts(oi_store *s, const oi_metric_filter *f)
{
    int rc = oi_value_require_str(s, OI_KIND_NAME, "the filter's metric name", f->metric_name);
    for (size_t i = 0; rc == OI_OK && i < f->nmetric_names; i++)
        rc = oi_value_require_str(s, OI_KIND_NAME, "a metric name of the filter",
                                  f->metric_names[i]);
    for (size_t i = 0; rc == OI_OK && i < f->nwhere; i++) {
        rc = oi_value_require_str(s, OI_KIND_TEXT, "a metadata filter's key", f->where[i].key);
        if (rc == OI_OK)
            rc = oi_value_require_str(s, OI_KIND_TEXT, "a metadata filter's value",
                                      f->where[i].value);
    }
    return rc;
}

int oi_metric_filter_check(oi_store *s, const oi_metric_filter *f)
{
    if (!f)
        return oi_fail(s, OI_EINVALID, "a metrics filter is required");
    int rc = oi_check_version(s, "oi_metric_filter", f->version, OI_METRIC_FILTER_VERSION);
    if (rc)
        return rc;
    if (f->limit >= (size_t)INT64_MAX)
        return oi_fail(s, OI_EINVALID, "limit %zu is too large (0 means no limit)", f->limit);
    if ((rc = oi_time_check(s, "the filter's from", f->from)) != OI_OK ||
        (rc = oi_time_check(s, "the filter's to", f->to)) != OI_OK)
        return rc;
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
    return check_filter_texts(s, f);
}

/* " WHERE " before the first condition, " AND " before the others. */
static void next_condition(oi_buf *b, int nparams)
{
    oi_buf_add(b, nparams ? " AND " : " WHERE ");
}

/* ---- index-servable supersets of a metadata condition ------------------- */

/*
 * The exact condition, metadata->>key = value (dialect, metadata_equals),
 * reads every row: no index holds what ->> prints.  Before it, where the
 * backend has a containment test its index serves (PostgreSQL's @>, GIN),
 * goes an exact superset: the rows whose metadata contains one of these
 * documents, which are every row ->> prints as value:
 *
 *   - {key: value} as a string: a string prints as itself;
 *   - {key: value} as a number, when value is spelled as PostgreSQL
 *     prints a numeric, -?digits[.digits] (it never writes an exponent):
 *     jsonb compares numbers by value, so 5, 5.0 and 5.00 are all found
 *     for "5" and the recheck keeps the one printed "5";
 *   - {key: true} or {key: false} for the words: ->> prints a boolean so.
 *
 * A value that an object or an array could print as ("{...", "[...")
 * gets no superset: the condition stays ->> alone.  A JSON null prints as
 * SQL NULL and matches nothing either way.  So the answers are the same
 * with or without the superset (tests/test_metrics.c compares them).
 */

/* Digits a numeric's text may have and still be cast without error. */
#define SUPERSET_NUMBER_MAX 1000

/* value is how PostgreSQL prints some numeric: -?(0|[1-9][0-9]*)(.[0-9]+)? */
static bool prints_as_number(const char *value)
{
    const char *p = value + (*value == '-');
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || (digits > 1 && *p == '0'))
        return false;
    p += digits;
    if (*p == '.') {
        size_t decimals = strspn(p + 1, "0123456789");
        if (decimals == 0)
            return false;
        p += 1 + decimals;
    }
    return *p == '\0' && (size_t)(p - value) <= SUPERSET_NUMBER_MAX;
}

static bool is_boolean_word(const char *value)
{
    return strcmp(value, "true") == 0 || strcmp(value, "false") == 0;
}

/* How many documents make the superset of "->>key = value": 0 (none). */
static int superset_count(const char *value)
{
    if (*value == '{' || *value == '[')
        return 0;
    return 1 + (prints_as_number(value) || is_boolean_word(value));
}

static char *dump_object(const char *key, json_t *value)
{
    json_t *doc = json_pack("{so}", key, value);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        oi_oom(0); /* key and value are valid UTF-8 (oi_metric_filter_check) */
    return text;
}

/* {key: value} with value the number it spells.  Not through a jansson
 * real: a double would round "0.1000000000000000055511151231257827" to
 * 0.1, and the superset would miss the row that prints so.  The key is
 * jansson's (escaped), the number checked digit by digit. */
static char *number_object(const char *key, const char *number)
{
    char *shell = dump_object(key, json_integer(0)); /* {"key":0} */
    size_t head = strlen(shell) - 2;                   /* up to the ':' */
    char *text = oi_sprintf("%.*s%s}", (int)head, shell, number);
    free(shell);
    return text;
}

/* Adds the superset's documents of one condition to the parameters. */
static void superset_params(oi_iter *it, const char *key, const char *value)
{
    int n = superset_count(value);
    char *docs[2] = {NULL, NULL};
    if (n > 0)
        docs[0] = dump_object(key, json_string(value));
    if (n > 1)
        docs[1] = is_boolean_word(value) ? dump_object(key, json_boolean(value[0] == 't'))
                                         : number_object(key, value);
    for (int i = 0; i < n; i++) {
        oi_iter_param_text(it, docs[i]);
        free(docs[i]);
    }
}

/* "(@> $a OR @> $b) AND " before the exact condition; returns the
 * parameters used. */
static int superset_sql(oi_store *s, oi_buf *b, int n, const char *value)
{
    int docs = superset_count(value);
    if (docs == 0)
        return 0;
    oi_buf_add(b, "(");
    for (int i = 0; i < docs; i++) {
        oi_buf_add(b, i ? " OR " : "");
        s->backend->dialect->metadata_contains(b, n + 1 + i);
    }
    oi_buf_add(b, ") AND ");
    return docs;
}

/* Whether the metadata conditions get their supersets. */
static bool with_supersets(const oi_store *s, bool indexed)
{
    return indexed && s->backend->dialect->metadata_contains;
}

int oi_metric_filter_sql(oi_store *s, oi_buf *b, const oi_metric_filter *f, bool indexed)
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
        if (with_supersets(s, indexed))
            n += superset_sql(s, b, n, f->where[i].value);
        s->backend->dialect->metadata_equals(b, n + 1, n + 2, f->where[i].value);
    }
    return n;
}

/* ---- record ----------------------------------------------------------- */

/* The partitions of the batch's times made before its transaction, as an
 * import does (partition.c), so that no partition is made, and locked,
 * inside it; each row's insert then finds its month known. */
static void ensure_partitions(oi_store *s, oi_agent_metric *const *items, size_t n)
{
    oi_time now = oi_time_now(), from = OI_TIME_MAX, to = OI_TIME_MIN;
    for (size_t i = 0; i < n; i++) {
        oi_time at = items[i]->collection_timestamp;
        at = at == OI_TIME_NULL ? now : at;
        from = at < from ? at : from;
        to = at > to ? at : to;
    }
    if (n)
        oi_partitions_ensure(s, from, to);
}

int oi_metric_record_batch(oi_store *s, oi_agent_metric *const *items, size_t n)
{
    if (n && !items)
        return oi_fail(s, OI_EINVALID, "%zu metrics to record but no array of them", n);
    for (size_t i = 0; i < n; i++) {
        if (!items[i])
            return oi_fail(s, OI_EINVALID, "metric %zu of %zu is NULL", i + 1, n);
        /* every row checked before the transaction opens */
        if (oi_row_validate(s, &oi_table_agent_metrics, items[i]) != OI_OK)
            return oi_fail_context(s, OI_EINVALID, "metric %zu of %zu", i + 1, n);
    }
    ensure_partitions(s, items, n);
    int rc = oi_tx_begin(s, false);
    size_t done = 0, inserted = 0;
    while (rc == OI_OK && done < n) {
        rc = oi_row_insert(s, &oi_table_agent_metrics, items[done]);
        done++;
        inserted += rc == OI_OK;
    }
    if (rc == OI_OK)
        rc = oi_tx_commit(s); /* a failed commit has rolled back */
    else if (done > 0) {
        oi_tx_rollback(s); /* keeps the error */
        oi_fail_context(s, rc, "metric %zu of %zu", done, n);
    }
    for (size_t i = 0; rc != OI_OK && i < inserted; i++) /* not the refused one: its */
        items[i]->id = 0;                                  /* version may be unknown */
    return rc;
}

/* ---- cursors ---------------------------------------------------------- */

/* "o" or "n", then the timestamp and the id as 16 hex digits each. */
static void cursor_encode(char out[OI_CURSOR_BUFSZ], bool newest_first, oi_time at, int64_t id)
{
    snprintf(out, OI_CURSOR_BUFSZ, "%c%016" PRIx64 "%016" PRIx64, newest_first ? 'n' : 'o',
             (uint64_t)at, (uint64_t)id);
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
        !read_hex16(c + 17, &i) || (oi_time)t < OI_TIME_MIN || (oi_time)t > OI_TIME_MAX ||
        (int64_t)i <= 0)
        return oi_fail(s, OI_EINVALID, "malformed cursor '%.40s': pass the cursor of the "
                       "previous iterator unchanged", c);
    if ((c[0] == 'n') != f->newest_first)
        return oi_fail(s, OI_EINVALID, "the cursor continues a %s query: keep the order "
                       "of the first page", c[0] == 'n' ? "newest-first" : "oldest-first");
    *at = (oi_time)t;
    *id = (int64_t)i;
    return OI_OK;
}

/* ---- query ------------------------------------------------------------ */

static const oi_iter_query ascending = {
    "agent metric", &oi_table_agent_metrics, oi_iter_read_row, 0,
    {"collection_timestamp", "id"}, 2, 1u << 1, false, NULL};
static const oi_iter_query descending = {
    "agent metric", &oi_table_agent_metrics, oi_iter_read_row, 0,
    {"collection_timestamp", "id"}, 2, 1u << 1, true, NULL};

/* The keys are the row's columns 5 and 0 (records.c, agent_metric_cols),
 * not selected twice: narrower rows for PostgreSQL to sort.  W6's rare key
 * on 1M rows, EXPLAIN ANALYZE of the streamed statement: 10 columns, an
 * external merge sort on disk (work_mem 4 MB), 1,940 ms; 8 columns, a
 * quicksort in memory, 1,549 ms (psql's: 1,474 ms). */
static const int key_columns[] = {5, 0};

static char *metric_select(const char *where)
{
    oi_buf b = {0};
    oi_buf_add(&b, "SELECT ");
    oi_row_columns(&b, &oi_table_agent_metrics, NULL);
    oi_buf_addf(&b, " FROM agent_metrics %s", where);
    return b.data;
}

void oi_metric_filter_params(oi_iter *it, const oi_metric_filter *f, bool indexed)
{
    if (f->agent_id)
        oi_iter_param_uuid(it, f->agent_id);
    if (f->metric_name)
        oi_iter_param_text(it, f->metric_name);
    for (size_t i = 0; i < f->nmetric_names; i++)
        oi_iter_param_text(it, f->metric_names[i]);
    if (f->from != OI_TIME_NULL)
        oi_iter_param_time(it, f->from);
    if (f->to != OI_TIME_NULL)
        oi_iter_param_time(it, f->to);
    for (size_t i = 0; i < f->nwhere; i++) {
        if (with_supersets(it->s, indexed))
            superset_params(it, f->where[i].key, f->where[i].value);
        oi_iter_param_text(it, f->where[i].key);
        oi_iter_param_text(it, f->where[i].value);
    }
}

/* The filter's stream, which version 1 does not have. */
static bool streamed(const oi_metric_filter *f)
{
    return f->version >= 2 && f->stream;
}

static void start_after(oi_iter *it, oi_time at, int64_t id)
{
    char when[OI_TIME_BUFSZ], number[24];
    snprintf(number, sizeof number, "%" PRId64, id);
    const char *keys[] = {oi_time_format(at, when), number};
    oi_iter_start_after(it, keys);
}

int oi_metric_iter_new(oi_iter **out, oi_store *s, const oi_metric_filter *f)
{
    oi_time at = OI_TIME_NULL;
    int64_t id = 0;
    *out = NULL;
    int rc = oi_metric_filter_check(s, f);
    if (rc == OI_OK && f->cursor)
        rc = cursor_decode(s, f, &at, &id);
    if (rc != OI_OK)
        return rc;
    /* The supersets only in one statement: with a LIMIT per page, the
     * planner took them for a rare pair and sorted every matching row for
     * each page (docs/performance.md, W6). */
    bool stream = streamed(f);
    const oi_iter_query *q = f->newest_first ? &descending : &ascending;
    oi_buf where = {0};
    if (oi_metric_filter_sql(s, &where, f, stream) == 0)
        oi_buf_add(&where, " WHERE TRUE");
    *out = oi_iter_new(s, q, metric_select(where.data));
    (*out)->key_columns = key_columns;
    free(where.data);
    oi_metric_filter_params(*out, f, stream);
    if (f->cursor)
        start_after(*out, at, id);
    (*out)->limit = f->limit;
    (*out)->streamed = stream;
    return OI_OK;
}

/* ---- the latest value of each metric -------------------------------------- */

/*
 * One statement per page, every step of it an index probe of
 * ix_agent_metrics_agent_name_time (agent_id, metric_name,
 * collection_timestamp; on SQLite each entry also carries the id, the
 * rowid).  The recursive CTE k walks the index from one (agent_id,
 * metric_name) pair to the next (a loose index scan: the next name of the
 * same agent, else the first name of the next agent), then a correlated
 * subquery per pair takes its newest row by (collection_timestamp DESC, id
 * DESC), reading the index backwards.  The cost is a few probes per pair,
 * however many rows each pair has: for 400,000 rows in 112 pairs, 8 ms on
 * PostgreSQL 15 and 2 ms on SQLite (EXPLAIN shows index searches only).
 * The alternatives read every row: a window function (row_number() OVER
 * (PARTITION BY agent_id, metric_name ...)) sorts the whole table, 0.6 s
 * on PostgreSQL and 2 s on SQLite, and SELECT DISTINCT agent_id,
 * metric_name is a sequential scan on PostgreSQL, 0.16 s.  The pairs come
 * in the index's collation; the page orders them by byte order (COLLATE
 * "C", as every listing does), so each page walks every pair again:
 * a page holds OI_ITER_PAGE of them, and few stores have more.
 */
#define LATEST_SQL(agent_filter, probe_filter)                                          \
    "WITH RECURSIVE k(agent_id, metric_name) AS ("                                       \
    "SELECT * FROM (SELECT f.agent_id, f.metric_name FROM agent_metrics f"               \
    " WHERE " agent_filter " ORDER BY f.agent_id, f.metric_name LIMIT 1) k0 "           \
    "UNION ALL "                                                                         \
    "SELECT n.agent_id, n.metric_name FROM k JOIN agent_metrics n ON n.id = COALESCE("   \
    "(SELECT x.id FROM agent_metrics x WHERE x.agent_id = k.agent_id"                    \
    " AND x.metric_name > k.metric_name ORDER BY x.metric_name LIMIT 1), "               \
    "(SELECT x.id FROM agent_metrics x WHERE x.agent_id > k.agent_id" probe_filter      \
    " ORDER BY x.agent_id, x.metric_name LIMIT 1))) "                                    \
    "SELECT m.id, m.agent_id, m.metric_name, m.metric_value, m.metric_unit, "            \
    "m.collection_timestamp, m.metadata, m.created_at, m.agent_id, m.metric_name "       \
    "FROM k JOIN agent_metrics m ON m.id = (SELECT l.id FROM agent_metrics l"            \
    " WHERE l.agent_id = k.agent_id AND l.metric_name = k.metric_name"                   \
    " ORDER BY l.collection_timestamp DESC, l.id DESC LIMIT 1) WHERE TRUE"

static const oi_iter_query latest = {
    "agent metric", &oi_table_agent_metrics, oi_iter_read_row, 0,
    {"m.agent_id", "m.metric_name COLLATE \"C\""}, 2, 0, false, NULL};

int oi_metric_latest_iter_new(oi_iter **out, oi_store *s, const char *agent_id)
{
    *out = NULL;
    if (agent_id && !oi_uuid_valid(agent_id))
        return oi_fail(s, OI_EINVALID, "agent id '%.40s' is not a UUID", agent_id);
    *out = oi_iter_new(s, &latest, oi_strdup(agent_id ? LATEST_SQL("f.agent_id = $1",
                                                                   " AND x.agent_id = $1")
                                                      : LATEST_SQL("TRUE", "")));
    if (agent_id)
        oi_iter_param_uuid(*out, agent_id);
    return OI_OK;
}

int oi_metric_iter_cursor(const oi_iter *it, char *buf)
{
    if (!it || (it->q != &ascending && it->q != &descending))
        return OI_EINVALID;
    oi_time at;
    buf[0] = '\0';
    if (it->more && it->positioned && oi_time_parse(it->last_text[0], &at) == OI_OK)
        cursor_encode(buf, it->q->descending, at, it->last_int[1]);
    return OI_OK;
}

int oi_metric_filter_init(oi_metric_filter *f, unsigned int version)
{
    /* A version-1 filter ends before stream: its caller's struct is that long. */
    size_t size = version == 1 ? offsetof(oi_metric_filter, stream) : sizeof *f;
    if (oi_struct_init(f, size, "oi_metric_filter", version, OI_METRIC_FILTER_VERSION))
        return OI_EINVALID;
    f->from = f->to = OI_TIME_NULL;
    return OI_OK;
}
