/*
 * store.c - opening and closing stores, errors, transactions.
 *
 * The store picks its backend by the URL's form and otherwise knows nothing
 * of it.  Its URL is kept only in the form the backend's redact() gives,
 * every secret masked by the driver's own parser: the URL as given never
 * leaves oi_store_open(), so no message or log line can show it.  A URL no
 * backend takes is not shown at all.
 */
#include "internal.h"

static const oi_backend *const backends[] = {&oi_backend_sqlite, &oi_backend_postgres};

const oi_backend *oi_backend_for(const char *url)
{
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (backends[i]->accepts(url))
            return backends[i];
    return NULL;
}

#define URL_FORMS "use sqlite:PATH, sqlite::memory:, postgresql://user@host:port/dbname " \
                  "or libpq key=value pairs (host=H port=P dbname=D user=U)"

int oi_store_open(oi_store **out, const char *url)
{
    oi_store *s = oi_calloc(1, sizeof *s);
    *out = s;
    if (!url || !*url) {
        s->url_redacted = oi_strdup("");
        return oi_fail(s, OI_EINVALID, "no database URL: " URL_FORMS);
    }
    s->backend = oi_backend_for(url);
    if (!s->backend) {
        s->url_redacted = oi_strdup(OI_URL_NOT_SHOWN);
        return oi_fail(s, OI_EINVALID,
                       "unrecognised database URL (not shown: it may hold a password): " URL_FORMS);
    }
    if (s->backend->version != OI_BACKEND_VERSION) { /* the rest of its struct is not ours */
        int version = s->backend->version;
        s->backend = NULL;
        s->url_redacted = oi_strdup(OI_URL_NOT_SHOWN);
        return oi_fail(s, OI_ERROR, "the backend for this URL implements backend interface "
                       "version %d, this library version %d", version, OI_BACKEND_VERSION);
    }
    s->url_redacted = s->backend->redact ? s->backend->redact(url) : oi_strdup(OI_URL_NOT_SHOWN);
    int rc = s->backend->open(&s->conn, url, &s->err);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

/* Here, not in replica.c, which opens the replica's store through this
 * file: the calls between files go one way. */
static void free_replica(oi_replica *rep)
{
    if (!rep)
        return;
    oi_store_close(rep->store);
    free(rep->url);
    free(rep);
}

void oi_store_close(oi_store *s)
{
    if (!s)
        return;
    free_replica(s->replica);
    oi_stmtcache_free(s->stmts);
    if (s->conn)
        s->backend->close(s->conn);
    free(s->url_redacted);
    free(s);
}

const char *oi_store_backend(const oi_store *s)
{
    return s->backend ? s->backend->name : "none";
}

const char *oi_store_url(const oi_store *s)
{
    return s->url_redacted;
}

const char *oi_store_read_url(const oi_store *s)
{
    return s->replica ? oi_store_url(s->replica->store) : NULL;
}

void oi_store_use_replica(oi_store *s, bool use)
{
    s->replica_off = !use;
}

const char *oi_store_last_read(const oi_store *s)
{
    return s->last_read ? s->last_read : "none";
}


const char *oi_errmsg(const oi_store *s)
{
    return s ? s->err.msg : "out of memory";
}

int oi_errcode(const oi_store *s)
{
    return s ? s->err.code : OI_ERROR;
}

static int require_conn(oi_store *s)
{
    if (!s->conn)
        return oi_fail(s, OI_ECONNECT, "the store is not connected: %s", s->err.msg);
    return oi_store_ready(s);
}

int oi_tx_begin(oi_store *s, bool exclusive)
{
    int rc = require_conn(s);
    if (rc)
        return rc;
    if (s->tx_depth++ > 0)
        return OI_OK;
    rc = s->backend->begin(s->conn, exclusive);
    if (rc)
        s->tx_depth = 0;
    return rc;
}

int oi_tx_commit(oi_store *s)
{
    if (--s->tx_depth > 0)
        return OI_OK;
    int rc = s->backend->commit(s->conn);
    if (rc) {
        /* Ends whatever is left of the transaction.  SQLite has often
         * rolled it back already (a full disk) and says so as an error,
         * which must not replace the commit's. */
        oi_err saved = s->err;
        s->backend->rollback(s->conn);
        s->err = saved;
    }
    return rc;
}

/* Inside the user's transaction a failed call leaves the rollback to them:
 * they may want to inspect the error first, and PostgreSQL refuses further
 * statements anyway until they roll back. */
void oi_tx_rollback(oi_store *s)
{
    if (--s->tx_depth > 0)
        return;
    oi_err saved = s->err;
    s->backend->rollback(s->conn);
    s->err = saved;
}

int oi_begin(oi_store *s)
{
    if (s->tx_depth > 0)
        return oi_fail(s, OI_EINVALID, "a transaction is already open: commit or roll it back first");
    return oi_tx_begin(s, false);
}

int oi_commit(oi_store *s)
{
    if (s->streaming)
        return oi_store_ready(s);
    if (s->tx_depth != 1)
        return oi_fail(s, OI_EINVALID, "no transaction is open: call oi_begin() first");
    s->savepoints = 0;
    return oi_tx_commit(s);
}

int oi_rollback(oi_store *s)
{
    if (s->streaming)
        return oi_store_ready(s);
    if (s->tx_depth != 1)
        return oi_fail(s, OI_EINVALID, "no transaction is open: call oi_begin() first");
    s->tx_depth = 0;
    s->savepoints = 0;
    return s->backend->rollback(s->conn);
}

/*
 * Savepoints inside the user's transaction.  Every level has the same
 * name: SQL's RELEASE and ROLLBACK TO act on the most recent savepoint of
 * a name, on both backends, so the statements are constants.  ROLLBACK TO
 * leaves its savepoint open, hence the RELEASE after it.
 */
int oi_savepoint(oi_store *s)
{
    if (s->streaming)
        return oi_store_ready(s);
    if (s->tx_depth != 1)
        return oi_fail(s, OI_EINVALID, "no transaction is open: call oi_begin() before "
                       "oi_savepoint()");
    int rc = s->backend->exec(s->conn, "SAVEPOINT oi_savepoint");
    if (rc == OI_OK)
        s->savepoints++;
    return rc;
}

static int end_savepoint(oi_store *s, const char *sql)
{
    if (s->streaming)
        return oi_store_ready(s);
    if (s->tx_depth != 1 || s->savepoints == 0)
        return oi_fail(s, OI_EINVALID, "no savepoint is open: call oi_savepoint() first");
    int rc = s->backend->exec(s->conn, sql);
    if (rc == OI_OK)
        s->savepoints--;
    return rc;
}

int oi_savepoint_release(oi_store *s)
{
    return end_savepoint(s, "RELEASE SAVEPOINT oi_savepoint");
}

/* The error of the call being undone stays readable, as after oi_tx_rollback. */
int oi_savepoint_rollback(oi_store *s)
{
    oi_err saved = s->err;
    int rc = end_savepoint(s, "ROLLBACK TO SAVEPOINT oi_savepoint; "
                              "RELEASE SAVEPOINT oi_savepoint");
    if (rc == OI_OK)
        s->err = saved;
    return rc;
}
