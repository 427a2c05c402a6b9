/*
 * store.c - opening and closing stores, errors, transactions.
 *
 * The store picks its backend by the URL's form and otherwise knows nothing
 * of it.  Its URL is kept only in redacted form: the password never leaves
 * oi_store_open(), so no message or log line can show it.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

static const oi_backend *const backends[] = {&oi_backend_sqlite, &oi_backend_postgres};

/* Rebuilds url with bytes [from, to) replaced by "***". */
static char *mask_span(char *url, size_t from, size_t to)
{
    char *masked = oi_sprintf("%.*s***%s", (int)from, url, url + to);
    free(url);
    return masked;
}

/* End of a conninfo value starting at p: 'quoted \'escaped\'' or up to a
 * blank (or '&' in a URL's query string). */
static const char *value_end(const char *p, bool in_url)
{
    if (*p == '\'') {
        for (p++; *p && *p != '\''; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    while (*p && !isspace((unsigned char)*p) && !(in_url && *p == '&'))
        p++;
    return p;
}

/* Masks the value of every "password = value" (key=value form, or a URL's
 * ?password=). */
static char *mask_password_params(char *url, bool in_url)
{
    for (size_t at = 0; (at = strcspn(url + at, "pP") + at) < strlen(url); at++) {
        bool starts_word = at == 0 || isspace((unsigned char)url[at - 1]) ||
                           url[at - 1] == '?' || url[at - 1] == '&';
        if (!starts_word || strncasecmp(url + at, "password", 8) != 0)
            continue;
        const char *p = url + at + 8;
        while (isspace((unsigned char)*p))
            p++;
        if (*p++ != '=')
            continue;
        while (isspace((unsigned char)*p))
            p++;
        size_t from = (size_t)(p - url), to = (size_t)(value_end(p, in_url) - url);
        url = mask_span(url, from, to);
        at = from + 2;
    }
    return url;
}

/* postgresql://user:PASS@host, ?password=PASS, and key=value password=PASS. */
static char *redact_url(const char *url)
{
    char *out = oi_strdup(url);
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *authority = scheme + 3;
        size_t auth_len = strcspn(authority, "/?#");
        char *at = memchr(authority, '@', auth_len);
        char *colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
        if (colon)
            out = mask_span(out, (size_t)(colon + 1 - out), (size_t)(at - out));
    }
    return mask_password_params(out, scheme != NULL);
}

static const oi_backend *backend_for(const char *url)
{
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (backends[i]->accepts(url))
            return backends[i];
    return NULL;
}

int oi_store_open(oi_store **out, const char *url)
{
    oi_store *s = oi_calloc(1, sizeof *s);
    *out = s;
    s->url_redacted = redact_url(url ? url : "");
    s->backend = url && *url ? backend_for(url) : NULL;
    if (!s->backend)
        return oi_fail(s, OI_EINVALID,
                       "unrecognised database URL '%s': use sqlite:PATH, sqlite::memory: "
                       "or postgresql://user:password@host:port/dbname",
                       s->url_redacted);
    int rc = s->backend->open(&s->conn, url, &s->err);
    if (rc == OI_OK)
        oi_clear_error(s);
    return rc;
}

void oi_store_close(oi_store *s)
{
    if (!s)
        return;
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
    return OI_OK;
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
    if (rc)
        s->backend->rollback(s->conn);
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
    if (s->tx_depth != 1)
        return oi_fail(s, OI_EINVALID, "no transaction is open: call oi_begin() first");
    return oi_tx_commit(s);
}

int oi_rollback(oi_store *s)
{
    if (s->tx_depth != 1)
        return oi_fail(s, OI_EINVALID, "no transaction is open: call oi_begin() first");
    s->tx_depth = 0;
    return s->backend->rollback(s->conn);
}
