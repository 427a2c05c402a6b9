/*
 * changes.c - the store-wide revision, the change log, and waiting for a
 * change (changes.h; tables of migration 006).
 *
 * The triggers of 006 do all the writing: every committed change to a
 * watched table bumps store_revision.revision and appends one change_log
 * row, revisions consecutive and in commit order.  This file only reads.
 *
 * The one hard part is the compaction check.  The log is pruned from its
 * oldest end while writers commit, so "are the changes after R still
 * there?" and "read them" must be answered by one snapshot: checked first
 * and read after, a prune in between would drop changes without a word.
 * So every page of a changes iterator is a single statement that returns,
 * with its rows, the compact revision as that statement sees it (one
 * statement is one snapshot on both backends), and read_change() compares
 * it with the revision the page starts after.  A page that finds no change
 * still returns one row, the compact revision alone (a LEFT JOIN from the
 * window to the log): an empty answer from a pruned log, filtered to an
 * agent whose changes were pruned, must fail too.  That start is $1, which
 * read_change() moves to each change it hands out, so the next page starts
 * after the last change read and checks the window from there.  A read
 * transaction around each page would do the same, with two round trips
 * more per page on PostgreSQL and a hook the iterator does not have.
 *
 * Waiting: oi_changes_wait() re-reads the revision in a loop and in
 * between sleeps in the backend's wait_change(): LISTEN on PostgreSQL, a
 * poll of SQLite's data_version.  The backend is armed before each read
 * of the revision, so a commit that lands between the read and the sleep
 * ends the sleep at once: no wake-up is lost.
 */
#include <limits.h>
#include <string.h>
#include <time.h>
#include "iter.h"
#include "runtime.h"

/* How often the core re-reads the revision when its backend cannot wait. */
#define WAIT_FALLBACK_MS 10

static const char *const watched_tables[] = {
    "agents", "agent_states", "agent_configs", "agent_capabilities",
    "resource_locks", "recommendations", "approvals",
};

#define WATCHED_LIST "agents, agent_states, agent_configs, agent_capabilities, " \
                     "resource_locks, recommendations, approvals"

/* The newest revision the log no longer holds: one below its oldest row
 * (its revisions are consecutive), or the current one when it is empty. */
#define COMPACTED_SQL                                            \
    "coalesce((SELECT min(revision) - 1 FROM change_log), "      \
    "(SELECT revision FROM store_revision WHERE id = 1))"

static const char *const kind_names[] = {"insert", "update", "delete"};

const char *oi_change_kind_name(oi_change_kind kind)
{
    return kind >= OI_CHANGE_INSERT && kind <= OI_CHANGE_DELETE ? kind_names[kind] : NULL;
}

static oi_change_kind kind_of(const char *name)
{
    for (int k = OI_CHANGE_INSERT; k <= OI_CHANGE_DELETE; k++)
        if (name && strcmp(name, kind_names[k]) == 0)
            return (oi_change_kind)k;
    return OI_CHANGE_UPDATE; /* the log's CHECK admits no other word */
}

int oi_change_init(oi_change *change, unsigned int version)
{
    if (oi_struct_init(change, sizeof *change, "oi_change", version, OI_CHANGE_VERSION))
        return OI_EINVALID;
    change->changed_at = OI_TIME_NULL;
    return OI_OK;
}

void oi_change_clear(oi_change *change)
{
    if (!change || oi_check_version(NULL, "oi_change", change->version, OI_CHANGE_VERSION))
        return;
    free(change->table);
    free(change->key);
    oi_change_init(change, change->version);
}

int oi_change_filter_init(oi_change_filter *filter, unsigned int version)
{
    return oi_struct_init(filter, sizeof *filter, "oi_change_filter", version,
                          OI_CHANGE_FILTER_VERSION) ? OI_EINVALID : OI_OK;
}

/* ---- the revision and the window --------------------------------------- */

/* One row of two integers from a fixed statement; b may be NULL. */
static int read_pair(oi_store *s, const char *sql, int64_t *a, int64_t *b)
{
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, sql, &st);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (rc == OI_ROW) {
        *a = oi_col_int64(st, 0);
        if (b)
            *b = oi_col_int64(st, 1);
        rc = OI_OK;
    } else if (rc == OI_DONE) {
        rc = oi_fail(s, OI_ESCHEMA, "the store has no revision row (store_revision): "
                     "run `optiinfra db migrate`");
    }
    if (st)
        oi_reset(st);
    return rc;
}

int oi_store_revision(oi_store *s, int64_t *revision)
{
    return read_pair(s, "SELECT revision FROM store_revision WHERE id = 1", revision, NULL);
}

int oi_changes_window(oi_store *s, int64_t *compacted, int64_t *current)
{
    int64_t low = 0, high = 0;
    int rc = read_pair(s, "SELECT " COMPACTED_SQL ", revision FROM store_revision WHERE id = 1",
                       &low, &high);
    if (rc == OI_OK && compacted)
        *compacted = low;
    if (rc == OI_OK && current)
        *current = high;
    return rc;
}

static int compacted_error(oi_store *s, int64_t since, int64_t compacted)
{
    return oi_fail(s, OI_ECOMPACTED,
                   "the changes after revision %lld are no longer kept: the change log starts "
                   "after revision %lld; read the records again, then go on from the store's "
                   "current revision", (long long)since, (long long)compacted);
}

/* ---- the changes iterator ---------------------------------------------- */

static const char change_tag[] = "change";

static void read_change_row(oi_stmt *st, oi_change *out)
{
    oi_change_init(out, out->version);
    out->revision = oi_col_int64(st, 0);
    out->table = oi_col_strdup(st, 1);
    out->key = oi_col_strdup(st, 2);
    oi_col_uuid(st, 3, out->agent_id);
    out->kind = kind_of(oi_col_text(st, 4));
    out->changed_at = oi_col_time(st, 5);
}

/* Column 6 is the compact revision the page's statement saw; $1 (params[0])
 * the revision the page starts after.  A row without a change is the page
 * saying it found none. */
static int read_change(oi_iter *it, oi_stmt *st, void *out)
{
    int64_t after = it->params[0].number, compacted = oi_col_int64(st, 6);
    if (compacted > after) {
        it->error = OI_ECOMPACTED;
        return compacted_error(it->s, after, compacted);
    }
    if (oi_col_null(st, 0)) {
        it->finished = true;
        return OI_ITEROVER;
    }
    read_change_row(st, out);
    it->params[0].number = ((oi_change *)out)->revision;
    return OI_OK;
}

/* The page's key condition joins the ON clause the select ends with
 * (iter.h: "<select> AND (keys) > (last) ORDER BY ..."), so the window row
 * survives a page that finds nothing. */
static const oi_iter_query changes_query = {
    "change", change_tag, read_change, 7, {"c.revision"}, 1, 1u, false, NULL};

static int check_filter(oi_store *s, const oi_change_filter *f)
{
    int rc = oi_check_version(s, "oi_change_filter", f->version, OI_CHANGE_FILTER_VERSION);
    if (rc == OI_OK && f->agent_id)
        rc = oi_rt_require_agent_id(s, f->agent_id);
    if (rc != OI_OK || !f->table)
        return rc;
    for (size_t i = 0; i < sizeof watched_tables / sizeof *watched_tables; i++)
        if (strcmp(f->table, watched_tables[i]) == 0)
            return OI_OK;
    return oi_fail(s, OI_EINVALID, "no changes are logged for table '%.60s': the watched "
                   "tables are " WATCHED_LIST, f->table);
}

static char *changes_select(const oi_change_filter *f)
{
    oi_buf b = {0};
    int n = 1;
    oi_buf_add(&b, "SELECT c.revision, c.table_name, c.row_key, c.agent_id, c.kind, "
                   "c.changed_at, w.compacted, c.revision FROM (SELECT " COMPACTED_SQL
                   " AS compacted) w LEFT JOIN change_log c ON c.revision > $1");
    if (f && f->table)
        oi_buf_addf(&b, " AND c.table_name = $%d", ++n);
    if (f && f->agent_id)
        oi_buf_addf(&b, " AND c.agent_id = $%d", ++n);
    return b.data;
}

static int check_since(oi_store *s, int64_t since)
{
    if (since < 0)
        return oi_fail(s, OI_EINVALID, "revision %lld is negative: revisions count from 0",
                       (long long)since);
    return OI_OK;
}

/* The check the pages make, made once at open so that the caller hears of a
 * compacted revision from the call that asked for it. */
static int check_kept(oi_store *s, int64_t since)
{
    int64_t compacted = 0;
    int rc = oi_changes_window(s, &compacted, NULL);
    if (rc == OI_OK && compacted > since)
        rc = compacted_error(s, since, compacted);
    return rc;
}

int oi_changes_since(oi_iter **out, oi_store *s, int64_t since, const oi_change_filter *filter)
{
    *out = NULL;
    int rc = check_since(s, since);
    if (rc == OI_OK && filter)
        rc = check_filter(s, filter);
    if (rc == OI_OK)
        rc = check_kept(s, since);
    if (rc)
        return rc;
    *out = oi_iter_new(s, &changes_query, changes_select(filter));
    (*out)->routed = true; /* on the primary: what a watch waits for (NOTIFY is not replicated) */
    oi_iter_param_int64(*out, since); /* $1: see read_change() */
    if (filter && filter->table)
        oi_iter_param_text(*out, filter->table);
    if (filter && filter->agent_id)
        oi_iter_param_uuid(*out, filter->agent_id);
    return OI_OK;
}

int oi_change_next(oi_iter *it, oi_change *out)
{
    return oi_struct_next(it, change_tag, "oi_change", OI_CHANGE_VERSION, out);
}

/* ---- waiting ----------------------------------------------------------- */

static int64_t monotonic_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep until the backend hears of a commit, or for up to `micros`. */
static int wait_for_change(oi_store *s, int64_t micros)
{
    int64_t ms = (micros + 999) / 1000;
    if (ms > INT_MAX)
        ms = INT_MAX;
    if (s->backend->wait_change)
        return s->backend->wait_change(s->conn, (int)ms);
    if (ms > WAIT_FALLBACK_MS)
        ms = WAIT_FALLBACK_MS;
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = (long)ms * 1000000}, NULL);
    return OI_OK;
}

static int check_wait(oi_store *s, int64_t since, int64_t timeout)
{
    int rc = check_since(s, since);
    if (rc == OI_OK && timeout < 0)
        rc = oi_fail(s, OI_EINVALID, "a wait of %lld microseconds is negative: give 0 to not "
                     "wait", (long long)timeout);
    if (rc == OI_OK && !s->conn)
        rc = oi_fail(s, OI_ECONNECT, "the store is not connected");
    if (rc == OI_OK && s->tx_depth > 0)
        rc = oi_fail(s, OI_EINVALID, "cannot wait for a change inside a transaction: its "
                     "snapshot would never see one; commit or roll back first");
    return rc;
}

int oi_changes_wait(oi_store *s, int64_t since, int64_t timeout, int64_t *revision)
{
    int64_t current = 0, deadline = monotonic_micros() + timeout;
    int rc = check_wait(s, since, timeout);
    /* Armed before each read: a commit after the read ends the next wait. */
    if (rc == OI_OK && s->backend->wait_change)
        rc = s->backend->wait_change(s->conn, 0);
    while (rc == OI_OK && (rc = oi_store_revision(s, &current)) == OI_OK && current <= since) {
        int64_t left = deadline - monotonic_micros();
        if (left <= 0)
            break;
        rc = wait_for_change(s, left);
    }
    if (rc == OI_OK && revision)
        *revision = current;
    return rc;
}

int oi_changes_set_retention(oi_store *s, int64_t keep_changes, int64_t keep_seconds)
{
    if (keep_changes < 1 || keep_seconds < 1)
        return oi_fail(s, OI_EINVALID, "the change log must keep at least 1 change for at "
                       "least 1 second (asked: %lld changes, %lld seconds)",
                       (long long)keep_changes, (long long)keep_seconds);
    oi_stmt *st = NULL;
    int rc = oi_stmt_cached(s, "UPDATE store_revision SET keep_changes = $1, keep_seconds = $2 "
                            "WHERE id = 1", &st);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 1, keep_changes);
    if (rc == OI_OK)
        rc = oi_bind_int64(st, 2, keep_seconds);
    if (rc == OI_OK)
        rc = oi_step(st);
    if (st)
        oi_reset(st);
    return rc == OI_DONE ? OI_OK : rc;
}
