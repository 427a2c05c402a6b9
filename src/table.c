/*
 * table.c - create, read, update and delete for any described table.
 *
 * Writes go in three steps: validate the record against its descriptor
 * (required fields, closed word sets, each text as its kind of value says
 * (value.c), finite numbers, JSON), bind every
 * column, run one statement.  Nothing reaches the database before the whole
 * record is known to be valid, and a single statement is atomic on its own,
 * so a failed write leaves no trace.  The SQL text is built from the
 * descriptor once per store and kept prepared in the store's cache.
 *
 * A read-only column (OI_READONLY: a row's revision, which triggers write
 * at each change, migration 006) is in every SELECT and RETURNING list but
 * in no INSERT or UPDATE: binding it would let a caller's stale copy
 * overwrite the database's count, and the change triggers skip an UPDATE
 * that changes it (that is how they know their own write of it).
 */
#include <math.h>
#include <string.h>
#include "table.h"
#include "value.h"

#define FIELD(rec, col) ((char *)(rec) + (col)->offset)
#define STR(rec, col) (*(char **)FIELD(rec, col))
#define VERSION(rec) (*(const unsigned *)(rec))

/* Whether the caller's record, of its version, has column c. */
static bool has_column(const oi_column *c, const void *rec)
{
    return (c->since ? c->since : 1) <= VERSION(rec);
}

static size_t size_of_version(const oi_table *t, unsigned version)
{
    return t->sizes[version - 1];
}

static bool is_string_type(oi_coltype type)
{
    return type == OI_COL_TEXT || type == OI_COL_JSON || type == OI_COL_STRLIST;
}

static bool has_id64_key(const oi_table *t)
{
    return t->cols[0].type == OI_COL_ID64;
}

/* Whether INSERT and UPDATE bind column c (the database writes the others). */
static bool is_written(const oi_column *c)
{
    return !(c->flags & OI_READONLY);
}

/* ---- validation ---------------------------------------------------- */

static int check_word(oi_store *s, const oi_table *t, const oi_column *c, const char *v)
{
    for (const char *const *w = c->allowed; *w; w++)
        if (strcmp(*w, v) == 0)
            return OI_OK;
    oi_buf words = {0};
    for (const char *const *w = c->allowed; *w; w++)
        oi_buf_addf(&words, "%s%s", w == c->allowed ? "" : ", ", *w);
    int rc = oi_fail(s, OI_EINVALID, "%s %s '%.40s' is not one of: %s", t->what, c->name, v,
                     words.data);
    free(words.data);
    return rc;
}

/* A text column's value as its kind (values.h) says: "agent name is empty".
 * NULL is an absent value, which check_column has judged. */
static int check_text(oi_store *s, const oi_table *t, const oi_column *c, const char *v)
{
    char *what = oi_sprintf("%s %s", t->what, c->name);
    int rc = oi_value_require_str(s, c->kind, what, v);
    free(what);
    return rc;
}

static int check_column(oi_store *s, const oi_table *t, const oi_column *c, const void *rec)
{
    if (c->type == OI_COL_TEXT) {
        const char *v = STR(rec, c);
        if (!v && (c->flags & OI_REQUIRED))
            return oi_fail(s, OI_EINVALID, "%s %s is required", t->what, c->name);
        int rc = check_text(s, t, c, v); /* first: a word is echoed in messages */
        return rc == OI_OK && v && c->allowed ? check_word(s, t, c, v) : rc;
    }
    if (c->type == OI_COL_UUID && !(c->flags & OI_KEY)) {
        const char *v = FIELD(rec, c);
        if (!*v && (c->flags & OI_REQUIRED))
            return oi_fail(s, OI_EINVALID, "%s %s is required", t->what, c->name);
        if (*v && !oi_uuid_valid(v))
            return oi_fail(s, OI_EINVALID, "%s %s '%.40s' is not a UUID", t->what, c->name, v);
    }
    if (c->type == OI_COL_TIME) {
        oi_time v = *(oi_time *)FIELD(rec, c);
        if (v != OI_TIME_NULL && (v < OI_TIME_MIN || v > OI_TIME_MAX))
            return oi_fail(s, OI_EINVALID, "%s %s is outside the years 0001 to 9999", t->what,
                           c->name);
    }
    if (c->type == OI_COL_DOUBLE) {
        double v = *(double *)FIELD(rec, c);
        if (isinf(v) || (isnan(v) && !(c->flags & OI_NULLABLE)))
            return oi_fail(s, OI_EINVALID, "%s %s must be a finite number", t->what, c->name);
    }
    return OI_OK;
}

static int check_json(oi_store *s, const oi_table *t, const oi_column *c, const void *rec)
{
    const char *v = STR(rec, c);
    if (!v)
        return OI_OK;
    char *what = oi_sprintf("%s %s", t->what, c->name);
    int rc = oi_json_check(s, what, v, c->type == OI_COL_JSON ? 'o' : 'a');
    free(what);
    return rc;
}

int oi_row_validate(oi_store *s, const oi_table *t, const void *rec)
{
    int rc = oi_row_check_version(s, t, rec);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->ncols; i++) {
        const oi_column *c = &t->cols[i];
        if (!has_column(c, rec))
            continue;
        rc = check_column(s, t, c, rec);
        if (rc == OI_OK && (c->type == OI_COL_JSON || c->type == OI_COL_STRLIST))
            rc = check_json(s, t, c, rec);
        if (rc)
            return rc;
    }
    return t->check ? t->check(s, rec) : OI_OK;
}

/* ---- binding and reading --------------------------------------------- */

/* A NULL JSON field that may not be NULL is written empty. */
static const char *json_or_empty(const oi_column *c, const char *v)
{
    if (v || (c->flags & OI_NULLABLE))
        return v;
    return c->type == OI_COL_JSON ? "{}" : "[]";
}

/* A column the caller's version does not have takes its default. */
static int bind_default(oi_stmt *st, int idx, const oi_column *c)
{
    switch (c->type) {
    case OI_COL_TEXT: return oi_bind_text(st, idx, c->fallback);
    case OI_COL_INT: return oi_bind_int64(st, idx, 0);
    case OI_COL_BOOL: return oi_bind_bool(st, idx, false);
    case OI_COL_TIME:
        if (c->flags & (OI_CREATED | OI_UPDATED | OI_NOW))
            return oi_bind_time(st, idx, oi_time_now());
        return oi_bind_time(st, idx, OI_TIME_NULL);
    case OI_COL_JSON:
    case OI_COL_STRLIST: return oi_bind_text(st, idx, json_or_empty(c, NULL));
    default: return oi_bind_text(st, idx, NULL);
    }
}

static int bind_column(oi_stmt *st, int idx, const oi_column *c, const void *rec)
{
    if (!has_column(c, rec))
        return bind_default(st, idx, c);
    switch (c->type) {
    case OI_COL_UUID: return oi_bind_uuid(st, idx, FIELD(rec, c));
    case OI_COL_ID64: return oi_bind_int64(st, idx, *(int64_t *)FIELD(rec, c));
    case OI_COL_TEXT: {
        const char *v = STR(rec, c);
        return oi_bind_text(st, idx, v ? v : c->fallback);
    }
    case OI_COL_TIME: return oi_bind_time(st, idx, *(oi_time *)FIELD(rec, c));
    case OI_COL_DOUBLE: {
        double v = *(double *)FIELD(rec, c);
        return oi_bind_double(st, idx, (c->flags & OI_CENTS) ? round(v * 100) / 100 : v);
    }
    case OI_COL_INT: return oi_bind_int64(st, idx, *(int *)FIELD(rec, c));
    case OI_COL_BOOL: return oi_bind_bool(st, idx, *(bool *)FIELD(rec, c));
    default: return oi_bind_text(st, idx, json_or_empty(c, STR(rec, c)));
    }
}

/* A nullable JSON column holds "no value" as SQL NULL or as JSON null, what
 * the spec's SQLAlchemy models write for None (revision 007_json_null):
 * both read back as NULL, so every reader sees one absent value. */
static const char *json_text(oi_stmt *st, int col, const oi_column *c)
{
    const char *v = oi_col_text(st, col);
    const char *ws = " \t\n\r";
    if (v && (c->flags & OI_NULLABLE)) {
        const char *p = v + strspn(v, ws);
        if (strncmp(p, "null", 4) == 0 && p[4 + strspn(p + 4, ws)] == '\0')
            return NULL;
    }
    return v;
}

/* A string field: a copy the record owns, or (borrow) the driver's text,
 * valid until the statement moves (oi_row_borrow). */
static void set_string(void *rec, const oi_column *c, const char *v, bool borrow)
{
    STR(rec, c) = borrow ? (char *)v : oi_strdup(v);
}

static void read_column(oi_stmt *st, int col, const oi_column *c, void *rec, bool borrow)
{
    switch (c->type) {
    case OI_COL_UUID: oi_col_uuid(st, col, FIELD(rec, c)); break;
    case OI_COL_ID64: *(int64_t *)FIELD(rec, c) = oi_col_int64(st, col); break;
    case OI_COL_TIME: *(oi_time *)FIELD(rec, c) = oi_col_time(st, col); break;
    case OI_COL_DOUBLE: *(double *)FIELD(rec, c) = oi_col_double(st, col); break;
    case OI_COL_INT: *(int *)FIELD(rec, c) = (int)oi_col_int64(st, col); break;
    case OI_COL_BOOL: *(bool *)FIELD(rec, c) = oi_col_bool(st, col); break;
    case OI_COL_JSON: set_string(rec, c, json_text(st, col, c), borrow); break;
    default: set_string(rec, c, oi_col_text(st, col), borrow); break;
    }
}

void oi_row_init(const oi_table *t, void *rec, unsigned version)
{
    memset(rec, 0, size_of_version(t, version));
    *(unsigned *)rec = version;
    for (size_t i = 0; i < t->ncols; i++) {
        const oi_column *c = &t->cols[i];
        if (!has_column(c, rec))
            continue;
        if (c->type == OI_COL_TIME)
            *(oi_time *)FIELD(rec, c) = OI_TIME_NULL;
        else if (c->type == OI_COL_DOUBLE && (c->flags & OI_NULLABLE))
            *(double *)FIELD(rec, c) = NAN;
    }
}

int oi_check_version(oi_store *s, const char *type, unsigned version, unsigned newest)
{
    if (version >= 1 && version <= newest)
        return OI_OK;
    if (!s)
        return OI_EINVALID;
    return oi_fail(s, OI_EINVALID,
                   "%s version %u is not one this library knows (1 to %u): initialise it with "
                   "its _INIT macro or _init() function, and build against the headers of the "
                   "library you run with",
                   type, version, newest);
}

int oi_struct_init(void *rec, size_t size, const char *type, unsigned version,
                   unsigned newest)
{
    if (oi_check_version(NULL, type, version, newest))
        return OI_EINVALID;
    memset(rec, 0, size);
    *(unsigned *)rec = version;
    return OI_OK;
}

int oi_row_check_version(oi_store *s, const oi_table *t, const void *rec)
{
    return oi_check_version(s, t->type, VERSION(rec), t->version);
}

int oi_row_out(oi_store *s, const oi_table *t, void *out)
{
    int rc = out ? oi_row_check_version(s, t, out) : OI_OK;
    if (rc == OI_OK && out)
        oi_row_init(t, out, VERSION(out));
    return rc;
}

/* Every field of rec's version, from the row's columns first_col on.  A
 * borrowed record was initialised once (oi_row_init, when allocated) and is
 * filled again row after row: every field of its version is written, so
 * the init is not repeated, and the fields of later versions stay as it
 * left them.  W4 on SQLite (300 queries): 871 M -> 853 M client
 * instructions. */
static void read_row(oi_stmt *st, const oi_table *t, int first_col, void *rec, bool borrow)
{
    if (!borrow)
        oi_row_init(t, rec, VERSION(rec));
    for (size_t i = 0; i < t->ncols; i++)
        if (has_column(&t->cols[i], rec))
            read_column(st, first_col + (int)i, &t->cols[i], rec, borrow);
}

void oi_row_read(oi_stmt *st, const oi_table *t, int first_col, void *rec)
{
    read_row(st, t, first_col, rec, false);
}

void oi_row_borrow(oi_stmt *st, const oi_table *t, int first_col, void *rec)
{
    read_row(st, t, first_col, rec, true);
}

void oi_row_clear(const oi_table *t, void *rec)
{
    if (!rec || oi_check_version(NULL, t->type, VERSION(rec), t->version))
        return;
    for (size_t i = 0; i < t->ncols; i++)
        if (is_string_type(t->cols[i].type) && has_column(&t->cols[i], rec))
            free(STR(rec, &t->cols[i]));
    oi_row_init(t, rec, VERSION(rec));
}

void oi_row_move(const oi_table *t, void *to, void *from)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (is_string_type(t->cols[i].type) && !has_column(&t->cols[i], to))
            free(STR(from, &t->cols[i]));
    unsigned version = VERSION(to);
    memcpy(to, from, size_of_version(t, version));
    *(unsigned *)to = version;
}

/* ---- SQL text ---------------------------------------------------------- */

static void add_column_list(oi_buf *b, const oi_table *t, size_t from)
{
    for (size_t i = from; i < t->ncols; i++)
        oi_buf_addf(b, "%s%s", i == from ? "" : ", ", t->cols[i].name);
}

void oi_row_columns(oi_buf *b, const oi_table *t, const char *qualifier)
{
    for (size_t i = 0; i < t->ncols; i++)
        oi_buf_addf(b, "%s%s%s%s", i ? ", " : "", qualifier ? qualifier : "",
                    qualifier ? "." : "", t->cols[i].name);
}

char *oi_row_select_sql(const oi_table *t, const char *rest)
{
    oi_buf b = {0};
    oi_buf_add(&b, "SELECT ");
    add_column_list(&b, t, 0);
    oi_buf_addf(&b, " FROM %s %s", t->name, rest);
    return b.data;
}

/* The INSERT covers every column but an ID64 key and the read-only ones,
 * which the database writes. */
static void add_insert(oi_buf *b, const oi_table *t)
{
    oi_buf values = {0};
    int n = 0;
    oi_buf_addf(b, "INSERT INTO %s (", t->name);
    for (size_t i = has_id64_key(t) ? 1 : 0; i < t->ncols; i++) {
        if (!is_written(&t->cols[i]))
            continue;
        n++;
        oi_buf_addf(b, "%s%s", n == 1 ? "" : ", ", t->cols[i].name);
        oi_buf_addf(&values, "%s$%d", n == 1 ? "" : ", ", n);
    }
    oi_buf_addf(b, ") VALUES (%s)", values.data);
    free(values.data);
}

static char *insert_sql(const oi_table *t)
{
    oi_buf b = {0};
    add_insert(&b, t);
    oi_buf_addf(&b, " RETURNING %s", t->cols[0].name);
    return b.data;
}

char *oi_row_insert_sql(const oi_table *t, const char *tail)
{
    oi_buf b = {0};
    add_insert(&b, t);
    oi_buf_addf(&b, " %s RETURNING ", tail);
    add_column_list(&b, t, 0);
    return b.data;
}

static char *update_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_addf(&b, "UPDATE %s SET ", t->name);
    int n = 1;
    for (size_t i = 1; i < t->ncols; i++) {
        if ((t->cols[i].flags & OI_CREATED) || !is_written(&t->cols[i]))
            continue;
        n++;
        oi_buf_addf(&b, "%s%s = $%d", n == 2 ? "" : ", ", t->cols[i].name, n);
    }
    oi_buf_addf(&b, " WHERE %s = $1 RETURNING %s", t->cols[0].name, t->cols[0].name);
    return b.data;
}

static char *delete_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_addf(&b, "DELETE FROM %s WHERE %s = $1 RETURNING %s", t->name, t->cols[0].name,
                t->cols[0].name);
    return b.data;
}

static char *get_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_addf(&b, "WHERE %s = $1", t->cols[0].name);
    char *sql = oi_row_select_sql(t, b.data);
    free(b.data);
    return sql;
}

static char *list_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_addf(&b, "ORDER BY %s", t->order_by);
    char *sql = oi_row_select_sql(t, b.data);
    free(b.data);
    return sql;
}

/* The column the database's triggers write (a row's revision), or NULL. */
static const oi_column *readonly_column(const oi_table *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].flags & OI_READONLY)
            return &t->cols[i];
    return NULL;
}

static char *revision_sql(const oi_table *t)
{
    oi_buf b = {0};
    oi_buf_addf(&b, "SELECT %s FROM %s WHERE %s = $1", readonly_column(t)->name, t->name,
                t->cols[0].name);
    return b.data;
}

/* The generic statements of a table, keyed by (table descriptor, op). */
enum { OP_INSERT, OP_UPDATE, OP_DELETE, OP_GET, OP_LIST, OP_REVISION };

static char *crud_sql(const void *descriptor, uint64_t op)
{
    const oi_table *t = descriptor;
    switch (op) {
    case OP_INSERT: return insert_sql(t);
    case OP_UPDATE: return update_sql(t);
    case OP_DELETE: return delete_sql(t);
    case OP_GET: return get_sql(t);
    case OP_REVISION: return revision_sql(t);
    default: return list_sql(t);
    }
}

static int cached(oi_store *s, const oi_table *t, int op, oi_stmt **out)
{
    return oi_stmt_cached_by(s, t, (uint64_t)op, crud_sql, out);
}

static char *row_sql(const void *descriptor, uint64_t variant)
{
    const oi_row_sql *q = descriptor;
    (void)variant;
    return q->build ? q->build(q->table) : oi_row_select_sql(q->table, q->rest);
}

int oi_row_stmt(oi_store *s, const oi_row_sql *q, oi_stmt **out)
{
    return oi_stmt_cached_by(s, q, 0, row_sql, out);
}

/* ---- operations -------------------------------------------------------- */

static void stamp_times(const oi_table *t, void *rec, bool inserting)
{
    oi_time now = oi_time_now();
    for (size_t i = 0; i < t->ncols; i++) {
        const oi_column *c = &t->cols[i];
        if (c->type != OI_COL_TIME || !has_column(c, rec))
            continue;
        oi_time *v = (oi_time *)FIELD(rec, c);
        if ((c->flags & OI_UPDATED) || ((c->flags & OI_CREATED) && inserting) ||
            ((c->flags & OI_NOW) && *v == OI_TIME_NULL))
            *v = now;
    }
}

/* Binds the written columns of [from, ncols) as $1...; skips OI_CREATED
 * when asked. */
static int bind_columns(oi_stmt *st, const oi_table *t, const void *rec, size_t from,
                        bool skip_created)
{
    int idx = 1;
    for (size_t i = from; i < t->ncols; i++) {
        if ((skip_created && (t->cols[i].flags & OI_CREATED)) || !is_written(&t->cols[i]))
            continue;
        int rc = bind_column(st, idx++, &t->cols[i], rec);
        if (rc)
            return rc;
    }
    return OI_OK;
}

/* The driver said why; we say what was being done, and what a foreign-key
 * failure means (the backend tells the constraint's kind by its codes). */
int oi_row_explain(oi_store *s, const char *doing, const oi_table *t, int rc)
{
    char driver[OI_ERRMSG_MAX];
    snprintf(driver, sizeof driver, "%s", s->err.msg);
    if (rc == OI_ECONSTRAINT && s->err.constraint == OI_CONSTRAINT_FOREIGN_KEY)
        return oi_fail(s, rc, "cannot %s %s: a record it refers to does not exist (%s)", doing,
                       t->what, driver);
    return oi_fail(s, rc, "cannot %s %s: %s", doing, t->what, driver);
}

/* Validate, stamp, bind and run the write of rec: the table's own INSERT or
 * UPDATE, or the statement of q (an insert with a conflict clause, whose
 * OI_DONE means the row was left out).  With out, the row the statement
 * returns (every column) is read into it. */
static int write_row(oi_store *s, const oi_table *t, const oi_row_sql *q, void *rec,
                     bool inserting, void *out)
{
    int rc = oi_row_validate(s, t, rec);
    oi_stmt *st = NULL;
    if (rc == OI_OK) {
        stamp_times(t, rec, inserting);
        if (inserting && t->before_insert)
            t->before_insert(s, rec);
        rc = q ? oi_row_stmt(s, q, &st) : cached(s, t, inserting ? OP_INSERT : OP_UPDATE, &st);
    }
    if (rc == OI_OK)
        rc = inserting ? bind_columns(st, t, rec, has_id64_key(t) ? 1 : 0, false)
                       : bind_columns(st, t, rec, 0, true);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        if (has_id64_key(t) && inserting)
            *(int64_t *)FIELD(rec, &t->cols[0]) = oi_col_int64(st, 0);
        if (out)
            oi_row_read(st, t, 0, out);
        rc = OI_OK;
    } else if (rc == OI_DONE && !q) {
        rc = oi_fail(s, OI_ENOTFOUND, "cannot update %s: no %s with that id", t->what, t->what);
    } else if (rc < 0 && s->err.code == rc && st) {
        rc = oi_row_explain(s, inserting ? "create" : "update", t, rc);
    }
    if (st)
        oi_reset(st);
    return rc;
}

static int insert_row(oi_store *s, const oi_table *t, const oi_row_sql *q, void *rec, void *out)
{
    char *id = FIELD(rec, &t->cols[0]);
    int rc = oi_row_check_version(s, t, rec);
    if (rc)
        return rc; /* before the id is filled in: nothing is written to rec */
    if (t->cols[0].type == OI_COL_UUID) {
        if (!*id)
            oi_uuid_generate(id);
        else if (!oi_uuid_valid(id))
            return oi_fail(s, OI_EINVALID, "%s id '%.40s' is not a UUID", t->what, id);
        oi_uuid_lower(id);
    }
    return write_row(s, t, q, rec, true, out);
}

static int bind_key(oi_store *s, const oi_table *t, oi_stmt *st, const void *key);

int oi_row_refresh_revision(oi_store *s, const oi_table *t, void *rec)
{
    const oi_column *c = readonly_column(t);
    if (!c || !has_column(c, rec))
        return OI_OK;
    oi_stmt *st = NULL;
    int rc = cached(s, t, OP_REVISION, &st);
    if (rc == OI_OK)
        rc = bind_key(s, t, st, FIELD(rec, &t->cols[0]));
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW)
        *(int64_t *)FIELD(rec, c) = oi_col_int64(st, 0);
    if (st)
        oi_reset(st);
    return rc == OI_ROW || rc == OI_DONE ? OI_OK : rc; /* DONE: deleted since, keep it */
}

int oi_row_insert(oi_store *s, const oi_table *t, void *rec)
{
    int rc = insert_row(s, t, NULL, rec, NULL);
    return rc == OI_OK ? oi_row_refresh_revision(s, t, rec) : rc;
}

int oi_row_insert_returning(oi_store *s, const oi_row_sql *q, void *rec, void *out)
{
    return insert_row(s, q->table, q, rec, out);
}

int oi_row_update(oi_store *s, const oi_table *t, void *rec)
{
    int rc = write_row(s, t, NULL, rec, false, NULL);
    return rc == OI_OK ? oi_row_refresh_revision(s, t, rec) : rc;
}

int oi_row_uuid_arg(oi_store *s, const char *what, const char *value, char out[OI_UUID_LEN + 1])
{
    if (!oi_uuid_valid(value))
        return oi_fail(s, OI_EINVALID, "%s '%.40s' is not a UUID", what, value ? value : "");
    memcpy(out, value, OI_UUID_LEN + 1);
    oi_uuid_lower(out);
    return OI_OK;
}

static int bind_key(oi_store *s, const oi_table *t, oi_stmt *st, const void *key)
{
    if (has_id64_key(t))
        return oi_bind_int64(st, 1, *(const int64_t *)key);
    if (!oi_uuid_valid(key))
        return oi_fail(s, OI_EINVALID, "%s id '%.40s' is not a UUID", t->what,
                       key ? (const char *)key : "");
    return oi_bind_uuid(st, 1, key);
}

int oi_row_fetch_one(oi_store *s, const oi_table *t, oi_stmt *st, void *out)
{
    int rc = oi_step(st);
    if (rc == OI_ROW) {
        oi_row_read(st, t, 0, out);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ENOTFOUND, "no such %s", t->what);
    }
    oi_reset(st);
    return rc;
}

static int row_get(oi_store *s, const oi_table *t, const void *key, void *out)
{
    oi_stmt *st;
    int rc = oi_row_out(s, t, out);
    if (rc == OI_OK)
        rc = cached(s, t, OP_GET, &st);
    if (rc == OI_OK)
        rc = bind_key(s, t, st, key);
    return rc ? rc : oi_row_fetch_one(s, t, st, out);
}

/* A read: from the replica outside a transaction (replica.c). */
int oi_row_get(oi_store *s, const oi_table *t, const void *key, void *out)
{
    oi_store *r = NULL;
    int rc;
    while (oi_read_route(s, &r, &rc))
        rc = row_get(r, t, key, out);
    return rc;
}

int oi_row_delete(oi_store *s, const oi_table *t, const void *key)
{
    oi_stmt *st;
    int rc = cached(s, t, OP_DELETE, &st);
    if (rc == OI_OK)
        rc = bind_key(s, t, st, key);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_DONE)
        rc = oi_fail(s, OI_ENOTFOUND, "cannot delete %s: no %s with that id", t->what, t->what);
    else if (rc == OI_ROW)
        rc = OI_OK;
    oi_reset(st);
    return rc;
}


