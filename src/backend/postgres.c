/*
 * postgres.c - the PostgreSQL backend, over libpq.
 *
 * The store core sees only oi_backend_postgres, as SQLite's core sees only an
 * sqlite3_vfs; libpq stays inside this file.
 *
 * Design:
 *
 *   - A connection is one PGconn whose session is pinned at open: UTC time
 *     zone, ISO dates, UTF-8, and no NOTICE chatter (DROP ... IF EXISTS in a
 *     migration must not print to the user's terminal).
 *
 *   - A statement is a server-side prepared statement named "s1", "s2" ...
 *     (unique per connection).  The server infers the parameter types and we
 *     ask it how many parameters there are, so bind can refuse an index that
 *     does not exist, as sqlite3_bind_* does.  The store keeps statements
 *     prepared for its lifetime, so the parse cost is paid once.
 *
 *   - Through a transaction pooler (PgBouncer's pool_mode = transaction)
 *     the session is not ours: each transaction, and each statement outside
 *     one, may run on another server connection.  With pool_mode=transaction
 *     in the URL, or without pool_mode when a pooler answers (the process
 *     the server names is not the one libpq was told of: set_up_session),
 *     the connection keeps no session state (own_session 0): statements are
 *     unnamed, parsed with each execution (PQexecParams, one round trip),
 *     their parameters counted from their text; no LISTEN; nothing SET
 *     that the pooler does not carry over.  One code path, the difference
 *     at the few places it matters (postgres_pool.c has the why).
 *
 *   - Values go both ways as text: bind formats them, the server casts them
 *     to the types it inferred; results come back as text and the column
 *     accessors convert.  One execution fetches the whole result (libpq's
 *     default) and step() walks its rows: the store's queries return few
 *     rows.  A statement set to stream (pg_stream: the metrics export) is
 *     executed in libpq's single-row mode instead, and step() takes each
 *     row as it arrives, so the server produces rows while the caller
 *     writes them.
 *
 *   - Bulk loads (metrics import) use COPY ... FROM STDIN: postgres_copy.c.
 *
 *   - Errors are mapped once, from SQLSTATE to OI_E* and the kind of a
 *     violated constraint (postgres_error.c); a failed connection, which
 *     has no SQLSTATE, by libpq's connection API (connect_failed).  Never
 *     by the text of a message.  Messages are one line and never carry the
 *     connection string or a secret of it.
 *
 *   - The connection string is parsed by libpq alone (PQconninfoParse):
 *     to show it without its secrets (pg_redact: every option libpq flags
 *     as a password field) and to refuse a malformed one before
 *     connecting.  libpq's parse errors quote the input, so they are
 *     never shown.
 *
 *   - After an error inside a transaction the server refuses every command
 *     but ROLLBACK, DEALLOCATE included.  A statement finalized then leaves
 *     its name on an "orphans" list, dropped when the transaction ends.
 *
 *   - A connection the server closed while it was idle (a restart, an idle
 *     timeout, a terminated backend) is replaced before the next statement
 *     is sent on it (ensure_connected): the server says goodbye on the
 *     socket, which a poll() with no wait sees, so a statement is never
 *     sent into a dead session, and nothing can run twice because nothing
 *     was sent.  The new session is set up as the first was; the
 *     statements prepared in the old one died with it, so each is prepared
 *     again when next executed (a generation number tells which).  Never
 *     inside a transaction: its work was lost with the session, and
 *     statements after it would silently autocommit; the transaction's
 *     calls fail until it is rolled back.  A connection lost in the middle
 *     of a statement fails that statement (OI_ECONNECT): whether a write
 *     was committed is then unknown, so it is not sent again.
 *
 *   - Waiting for a change: the connection LISTENs on the channel 006's
 *     triggers notify at each commit (once, at its first wait), then
 *     sleeps in poll() on libpq's socket.  A notification that arrived
 *     while the connection ran other statements waits in libpq's queue,
 *     so every wait first takes what is queued.  Through a transaction
 *     pooler it sleeps PG_POLL_MS at most instead, and the caller reads
 *     the revision again.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/libpq_load.h"

#include "alloc.h"
#include "backend/backend.h"
#include "number.h"
#include "params.h"
#include "postgres.h"
#include "postgres_pool.h"

/* Key of the advisory lock taken by exclusive transactions (migrations,
 * seeds): the ASCII bytes "optiinfr" read as a big-endian int64,
 * 0x6f707469696e6672.  Written in decimal: PostgreSQL 15 has no hex literals. */
#define PG_LOCK_KEY "8030046131690825330"

/* Used when neither the URL nor PGCONNECT_TIMEOUT sets one: without it an
 * unreachable host blocks for the kernel's TCP timeout, minutes. */
#define PG_CONNECT_TIMEOUT "10"

/* How long wait_change sleeps between two reads of the revision when it
 * cannot LISTEN (through a transaction pooler): a change is seen within
 * this, and a waiting store costs the server 20 short reads a second. */
#define PG_POLL_MS 50

/* The session's settings, and whether a pooler answers: the first column
 * of the last statement is true when the server process is not the one
 * libpq was told of at connection (%d: PQbackendPID).  PgBouncer hands
 * its clients cancel keys of its own, with a process number of its own.
 * TimeZone, DateStyle and client_encoding are among the parameters
 * PgBouncer tracks per client and sets again on whichever
 * server connection a transaction gets; client_min_messages is not, so
 * behind a pooler it is left alone rather than set on a server connection
 * other clients share (the notices it would spare are ignored anyway). */
#define SESSION_SETUP                                            \
    "SET TimeZone = 'UTC';"                                      \
    "SET DateStyle = 'ISO';"                                     \
    "SET client_encoding = 'UTF8';"                              \
    "SELECT pg_backend_pid() <> %d,"                             \
    " CASE WHEN pg_backend_pid() = %d"                           \
    " THEN set_config('client_min_messages', 'warning', false) END"

typedef struct pg_conn {
    oi_conn base;
    PGconn *pg;
    unsigned long last_id;   /* statement names: "s" and a counter */
    unsigned long *orphans;  /* statements to DEALLOCATE after a failed transaction */
    size_t norphans;
    size_t orphans_cap;
    int listening;           /* LISTEN optiinfra_changes done (pg_wait_change) */
    int in_transaction;      /* from a BEGIN to its COMMIT or ROLLBACK */
    unsigned long session;   /* counts the sessions (reconnections) of the connection */
    int session_set_up;      /* SESSION_SETUP ran on this session */
    oi_pg_pool_mode pool_mode;  /* the URL's pool_mode (postgres_pool.h) */
    int own_session;         /* the server session is ours alone: statements prepared
                                by name, LISTEN; else (a transaction pooler) none of
                                that, statements unnamed (postgres_pool.c) */
} pg_conn;

typedef struct pg_stmt {
    oi_stmt base;
    unsigned long id;
    char *sql;         /* to prepare it again in a new session */
    unsigned long session;  /* the session it is prepared in */
    int nparams;
    const char **params;  /* text of each parameter (in texts), NULL for SQL NULL */
    oi_param_texts texts;
    PGresult *result;  /* of the last execution; NULL until the next step */
    int nrows;
    int nfields;       /* of result: asked once, not per value read */
    int row;           /* current row, -1 before the first */
    int streams;       /* executed in single-row mode (pg_stream) */
    int receiving;     /* streaming: rows still to come from the server */
} pg_stmt;

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- messages -------------------------------------------------------- */

/* Replace each quoted occurrence of secret in msg ("secret", as libpq
 * quotes a host, a user or a database it names) by "***".  Only there:
 * libpq's messages quote the values of the connection string and write no
 * password anywhere else, while a short password ("a") masked wherever
 * its letters occur would garble every word that holds them. */
static void mask_secret(char *msg, size_t size, const char *secret)
{
    char out[OI_ERRMSG_MAX];
    size_t len, n = 0;
    const char *p = msg;

    if (!secret || !*secret)
        return;
    len = strlen(secret);
    while (*p && n + 1 < sizeof out) {
        if (*p == '"' && strncmp(p + 1, secret, len) == 0 && p[len + 1] == '"') {
            n += (size_t)snprintf(out + n, sizeof out - n, "\"***\"");
            p += len + 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < sizeof out ? n : sizeof out - 1] = '\0';
    snprintf(msg, size, "%s", out);
}

/* ---- errors ---------------------------------------------------------- */

static int is_ok(const PGresult *res)
{
    ExecStatusType status = PQresultStatus(res);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
           status == PGRES_EMPTY_QUERY;
}

/* Errors are mapped in postgres_error.c, which the bulk load
 * (postgres_copy.c) shares. */
static int fail(pg_conn *c, PGresult *res)
{
    return oi_pg_fail(c->pg, c->base.err, res);
}

/* ---- connection strings ---------------------------------------------- */

/* The two prefixes libpq reads as a URI; it reads anything else as
 * key=value pairs. */
static int is_uri(const char *url)
{
    return starts_with(url, "postgresql://") || starts_with(url, "postgres://");
}

/* Our scheme in any form, well-formed or not ("postgres:/h/db",
 * "PostgreSQL://h/db"): meant for this backend. */
static int has_scheme(const char *url)
{
    return strncasecmp(url, "postgresql:", 11) == 0 || strncasecmp(url, "postgres:", 9) == 0;
}

/* Our scheme in a form libpq would not read as a URI: it would take the
 * string for key=value pairs and fail, quoting it whole. */
static int bad_scheme(const char *url)
{
    return has_scheme(url) && !is_uri(url);
}

/* A URI, our scheme malformed (open() refuses it with a message), or
 * key=value pairs: anything with an '=' that is not SQLite's. */
static int pg_accepts(const char *url)
{
    if (!url)
        return 0;
    return has_scheme(url) || (strchr(url, '=') != NULL && !starts_with(url, "sqlite:"));
}

/* Whether a URI's user name or password holds an unencoded '/', '?', '#'
 * or '@'.  libpq would then read part of the password as the host, the
 * port or the database ("postgres://u:S3/cret@h/db": port "S3", database
 * "cret@h/db") and quote it in its messages.  The rule: a URI's only
 * unencoded '@' ends its userinfo, before any '/', '?' or '#'; an '@'
 * anywhere else, in the query too, is written %40. */
static int userinfo_unencoded(const char *url)
{
    const char *authority, *at;

    if (!is_uri(url))
        return 0;
    authority = strstr(url, "://") + 3;
    at = strchr(authority, '@');
    return at && (at > authority + strcspn(authority, "/?#") || strchr(at + 1, '@'));
}

/* Whether a port libpq read is not a number (a comma-separated list for
 * several hosts): a password's end taken for the port, which libpq's
 * refusal would quote. */
static int port_unreadable(const PQconninfoOption *opts)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "port") == 0 && o->val)
            return o->val[strspn(o->val, "0123456789,")] != '\0';
    }
    return 0;
}

/* url's options as libpq reads them, or NULL when it cannot, or would
 * misread a password (above).  libpq's reason is freed unread: it quotes
 * the text it could not parse (missing "=" after
 * "postgres:/u:S3cret@h/db"), which may be a password or the whole URL. */
static PQconninfoOption *parse_url(const char *url)
{
    char *why = NULL;
    PQconninfoOption *opts;

    if (bad_scheme(url) || userinfo_unencoded(url))
        return NULL;
    opts = PQconninfoParse(url, &why);
    if (!opts && !why)
        oi_oom(0);   /* libpq ran out of memory; it does not say for how much */
    PQfreemem(why);
    if (opts && port_unreadable(opts)) {
        PQconninfoFree(opts);
        return NULL;
    }
    return opts;
}

/* Whether libpq flags the option as a password field (dispchar "*"):
 * password and sslpassword in libpq 15, and whatever a later one adds. */
static int is_secret(const PQconninfoOption *o)
{
    return o->dispchar && o->dispchar[0] == '*';
}

/* A value as libpq's key=value syntax wants it: bare, or in single quotes
 * with ' and \ escaped when it is empty or holds a blank, quote or
 * backslash. */
static void add_value(oi_buf *b, const char *v)
{
    if (*v && !v[strcspn(v, " \t\n\r\f\v'\\")]) {
        oi_buf_add(b, v);
        return;
    }
    oi_buf_add(b, "'");
    for (size_t n; *v; v += n) {
        n = strcspn(v, "'\\");
        if (n) {
            oi_buf_addf(b, "%.*s", (int)n, v);
        } else {
            oi_buf_add(b, *v == '\'' ? "\\'" : "\\\\");
            n = 1;
        }
    }
    oi_buf_add(b, "'");
}

/* The URL as libpq's key=value pairs: the options it sets, in libpq's
 * order, every secret one written *** ("user=u password=*** dbname=db
 * host=h").  One form for URIs and key=value strings alike, which libpq
 * reads back once the secrets are put in again.  No option at all:
 * "postgresql://" (libpq's defaults).  A string libpq cannot parse:
 * OI_URL_NOT_SHOWN, nothing of it. */
static char *redact_libpq(const char *url)
{
    PQconninfoOption *opts = oi_libpq_load() ? NULL : parse_url(url);
    oi_buf out = {0};

    if (!opts)
        return oi_strdup(OI_URL_NOT_SHOWN);
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        oi_buf_addf(&out, "%s%s=", out.len ? " " : "", o->keyword);
        if (is_secret(o))
            oi_buf_add(&out, "***");
        else
            add_value(&out, o->val);
    }
    PQconninfoFree(opts);
    return out.data ? out.data : oi_strdup("postgresql://");
}

/* What libpq's options show (above), then our pool_mode if the URL gives
 * one ("host=h pool_mode=transaction"): taken out for libpq, put back. */
static char *pg_redact(const char *url)
{
    oi_pg_pool_mode mode;
    char *rest, *shown;
    oi_buf out = {0};

    if (oi_pg_pool_split(url, &rest, &mode) != OI_OK)
        return oi_strdup(OI_URL_NOT_SHOWN);
    shown = redact_libpq(rest);
    free(rest);
    if (mode == OI_PG_POOL_AUTO || strcmp(shown, OI_URL_NOT_SHOWN) == 0)
        return shown;
    if (strcmp(shown, "postgresql://") != 0)
        oi_buf_addf(&out, "%s ", shown);
    oi_buf_addf(&out, OI_PG_POOL_PARAM "=%s", oi_pg_pool_mode_name(mode));
    free(shown);
    return out.data;
}

/* ---- connection ------------------------------------------------------ */

/* Why the connection failed.  libpq 15 keeps the SQLSTATE with which the
 * server refused a connection to itself (no accessor), so only its
 * connection API can classify:
 *
 *   - PQconnectionNeedsPassword: the server asked for a password and none
 *     was available (URL, PGPASSWORD, password file): OI_EAUTH.
 *   - Anything else is OI_ECONNECT.  A password sent and refused cannot be
 *     told from a failure after a password was accepted (a missing
 *     database, a role not allowed to log in: PQconnectionUsedPassword is
 *     true for both), nor a missing role or pg_hba.conf entry from other
 *     refusals, without reading the message; so the more general code, and
 *     the message (libpq's) says which.
 *
 * libpq's connection messages name the host, port, user and database, never
 * a password (as of libpq 15), and the URL reaching libpq has no password
 * part it could take for one of those (parse_url), so its message is
 * shown; a secret of the URL is masked where libpq quotes a value, should
 * the password also be the user's or the database's name, or a later
 * libpq quote it. */
static int connect_failed(PGconn *pg, const PQconninfoOption *opts, oi_err *err)
{
    const char *why = PQerrorMessage(pg);
    int code = PQconnectionNeedsPassword(pg) ? OI_EAUTH : OI_ECONNECT;
    char msg[OI_ERRMSG_MAX];

    oi_pg_one_line(msg, sizeof msg, *why ? why : "unknown error");
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (is_secret(o) && o->val)
            mask_secret(msg, sizeof msg, o->val);
    }
    return oi_seterr(err, code, "cannot connect to PostgreSQL: %s", msg);
}

/* PQconnectdb(url), plus a connect timeout unless the URL or the
 * environment sets one: the URL, expanded as dbname, overrides what comes
 * before it in the arrays. */
static PGconn *connect_url(const char *url)
{
    const char *timeout = getenv("PGCONNECT_TIMEOUT") ? "" : PG_CONNECT_TIMEOUT;
    const char *const keys[] = { "connect_timeout", "dbname", NULL };
    const char *const values[] = { timeout, url, NULL };
    PGconn *pg = PQconnectdbParams(keys, values, 1);

    if (!pg)
        oi_oom(0);   /* libpq could not allocate its PGconn; it does not say its size */
    return pg;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_close(oi_conn *conn);
static int set_up_session(pg_conn *c);

/* Connect with url (libpq's part of the URL) and set the session up. */
static int connect_to(oi_conn **out, const char *url, oi_pg_pool_mode mode, oi_err *err)
{
    PQconninfoOption *opts = parse_url(url);
    PGconn *pg;
    pg_conn *c;
    int rc;

    if (!opts)
        return oi_seterr(err, OI_EINVALID,
                         "invalid PostgreSQL connection string (not shown: it may hold a "
                         "password): libpq cannot parse it, or its port is not a number; use "
                         "postgresql://user@host:port/dbname?param=value, special "
                         "characters percent-encoded, or key=value pairs such as host=H "
                         "port=P dbname=D user=U, a value with blanks in single quotes, "
                         "every key a libpq connection parameter or " OI_PG_POOL_PARAM);
    pg = connect_url(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        rc = connect_failed(pg, opts, err);
        PQfinish(pg);
        PQconninfoFree(opts);
        return rc;
    }
    PQconninfoFree(opts);
    PQsetNoticeProcessor(pg, ignore_notice, NULL);

    c = oi_calloc(1, sizeof *c);
    c->base.backend = &oi_backend_postgres;
    c->base.err = err;
    c->pg = pg;
    c->pool_mode = mode;
    c->session = 1;   /* 0: a statement never prepared (pg_prepare) */
    rc = set_up_session(c);
    if (rc != OI_OK) {
        pg_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return OI_OK;
}

/* The string is parsed first, to refuse a malformed one without trying to
 * connect, and to know its secrets; our pool_mode is taken out of it for
 * libpq (postgres_pool.c). */
static int pg_open(oi_conn **out, const char *url, oi_err *err)
{
    oi_pg_pool_mode mode;
    char *rest;
    int rc;

    *out = NULL;
    if (bad_scheme(url))
        return oi_seterr(err, OI_EINVALID,
                         "malformed PostgreSQL URL (not shown: it may hold a password): "
                         "it must start with postgresql:// or postgres:// in lower case, "
                         "or be key=value pairs such as host=H port=P dbname=D user=U");
    if (userinfo_unencoded(url))
        return oi_seterr(err, OI_EINVALID,
                         "malformed PostgreSQL URL (not shown: it may hold a password): its "
                         "user name or password holds a '/', '@', '?' or '#' that must be "
                         "percent-encoded: / as %%2F, @ as %%40, ? as %%3F, # as %%23 "
                         "(postgresql://user:pa%%2Fss@host/db)");
    const char *unloadable = oi_libpq_load();
    if (unloadable)
        return oi_seterr(err, OI_ECONNECT, "%s", unloadable);
    if (oi_pg_pool_split(url, &rest, &mode) != OI_OK)
        return oi_seterr(err, OI_EINVALID,
                         "invalid " OI_PG_POOL_PARAM " in the PostgreSQL URL: give "
                         OI_PG_POOL_PARAM "=transaction (through a transaction pooler such "
                         "as PgBouncer: no named statements, no session state), "
                         OI_PG_POOL_PARAM "=session, or leave it out (then the store "
                         "looks whether a pooler answers)");
    rc = connect_to(out, rest, mode, err);
    free(rest);
    return rc;
}

/* The server drops the session's prepared statements with it. */
static void pg_close(oi_conn *conn)
{
    pg_conn *c = (pg_conn *)conn;

    if (!c)
        return;
    PQfinish(c->pg);
    free(c->orphans);
    free(c);
}

/* ---- a connection the server closed ------------------------------------ */

/* Whether the server has closed the idle connection.  It writes why
 * (FATAL: terminating connection due to administrator command) and
 * closes the socket, which libpq notices once it reads: a few reads, as
 * the message and the end may come apart.  A notification that arrived
 * meanwhile stays queued in libpq for wait_change. */
static int closed_by_server(pg_conn *c)
{
    struct pollfd socket = { .fd = PQsocket(c->pg), .events = POLLIN };

    for (int reads = 0; reads < 4 && PQstatus(c->pg) == CONNECTION_OK; reads++) {
        if (poll(&socket, 1, 0) <= 0 || !PQconsumeInput(c->pg))
            break;
    }
    return PQstatus(c->pg) != CONNECTION_OK;
}

/* A new session on the same parameters, set up as the first; the old
 * session's prepared statements, orphans and LISTEN died with it. */
static int reconnect(pg_conn *c)
{
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        PQconninfoOption *opts = PQconninfo(c->pg);
        int rc;

        if (!opts)
            oi_oom(0);   /* libpq ran out of memory; it does not say for how much */
        rc = connect_failed(c->pg, opts, c->base.err);
        PQconninfoFree(opts);
        return rc;
    }
    c->session++;
    c->norphans = 0;
    c->listening = 0;
    return set_up_session(c);
}

/* Before a statement is sent outside a transaction: replace a connection
 * the server closed (see the header), or whose new session could not be
 * set up (its times would not be UTC). */
static int ensure_connected(pg_conn *c)
{
    if (c->in_transaction || (c->session_set_up && !closed_by_server(c)))
        return OI_OK;
    return reconnect(c);
}

/* ---- prepared statement names ---------------------------------------- */

static void deallocate(pg_conn *c, unsigned long id)
{
    char sql[48];

    snprintf(sql, sizeof sql, "DEALLOCATE s%lu", id);
    /* A failure leaves a name nobody uses again: nothing to report. */
    PQclear(PQexec(c->pg, sql));
}

static void drop_statement(pg_conn *c, unsigned long id)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return;   /* the server has forgotten it already */
    if (PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
        deallocate(c, id);
        return;
    }
    c->orphans = oi_grow(c->orphans, &c->orphans_cap, c->norphans, sizeof *c->orphans);
    c->orphans[c->norphans++] = id;
}

/* Drop the statements finalized during a failed transaction, once the
 * server accepts commands again. */
static void drop_orphans(pg_conn *c)
{
    if (c->norphans == 0 || PQtransactionStatus(c->pg) == PQTRANS_INERROR)
        return;
    for (size_t i = 0; i < c->norphans; i++)
        deallocate(c, c->orphans[i]);
    c->norphans = 0;
}

/* ---- scripts and transactions ---------------------------------------- */

/* sql on the session as it is. */
static int run_script(pg_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);

    if (!is_ok(res))
        return fail(c, res);
    PQclear(res);
    return OI_OK;
}

/* The session pinned (SESSION_SETUP), and the way statements run chosen:
 * by the URL's pool_mode, or without one by whether a pooler answers. */
static int set_up_session(pg_conn *c)
{
    char sql[sizeof SESSION_SETUP + 32];
    int pid = PQbackendPID(c->pg), pooled;
    PGresult *res;

    snprintf(sql, sizeof sql, SESSION_SETUP, pid, pid);
    res = PQexec(c->pg, sql);
    c->session_set_up = 0;
    if (!is_ok(res))
        return fail(c, res);
    pooled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    c->own_session = c->pool_mode == OI_PG_POOL_SESSION ||
                     (c->pool_mode == OI_PG_POOL_AUTO && !pooled);
    c->session_set_up = 1;
    return OI_OK;
}

static int pg_exec(oi_conn *conn, const char *sql)
{
    pg_conn *c = (pg_conn *)conn;
    int rc = ensure_connected(c);

    if (rc == OI_OK)
        rc = run_script(c, sql);
    drop_orphans(c);
    return rc;
}

static int pg_begin(oi_conn *conn, int exclusive)
{
    pg_conn *c = (pg_conn *)conn;
    int rc = pg_exec(conn, "BEGIN");

    c->in_transaction = rc == OI_OK;
    if (rc != OI_OK || !exclusive)
        return rc;
    /* Released by COMMIT or ROLLBACK; waits for any other holder. */
    rc = pg_exec(conn, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")");
    if (rc != OI_OK) {
        PQclear(PQexec(c->pg, "ROLLBACK"));   /* keeps the lock's error */
        c->in_transaction = 0;
    }
    return rc;
}

static int pg_commit(oi_conn *conn)
{
    pg_conn *c = (pg_conn *)conn;
    PGresult *res = PQexec(c->pg, "COMMIT");
    int rolled_back;

    c->in_transaction = 0;
    if (!is_ok(res))
        return fail(c, res);
    /* COMMIT of a failed transaction "succeeds" as a ROLLBACK. */
    rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    drop_orphans(c);
    if (rolled_back)
        return oi_seterr(conn->err, OI_ERROR,
                         "transaction rolled back: a statement in it failed");
    return OI_OK;
}

/* A lost session took its transaction with it: nothing is left to roll
 * back, and the next statement reconnects. */
static int pg_rollback(oi_conn *conn)
{
    pg_conn *c = (pg_conn *)conn;

    c->in_transaction = 0;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return OI_OK;
    return pg_exec(conn, "ROLLBACK");
}

/* ---- statements ------------------------------------------------------ */

/* Prepare sql as "s<id>" and ask the server its number of parameters. */
static int prepare_named(pg_conn *c, unsigned long id, const char *sql, int *nparams)
{
    char name[32];
    PGresult *res;
    int rc;

    snprintf(name, sizeof name, "s%lu", id);
    res = PQprepare(c->pg, name, sql, 0, NULL);
    if (!is_ok(res))
        return fail(c, res);
    PQclear(res);

    res = PQdescribePrepared(c->pg, name);
    if (!is_ok(res)) {
        rc = fail(c, res);
        drop_statement(c, id);
        return rc;
    }
    *nparams = PQnparams(res);
    PQclear(res);
    return OI_OK;
}

/* Named, the statement is prepared now and the server counts its
 * parameters.  Unnamed (through a transaction pooler), nothing is sent:
 * each execution carries the SQL (PQexecParams), and the parameters are
 * counted from its text; a mistake in it shows at the first step.  Both
 * get an id, so that a statement made unnamed can be prepared by name in
 * a later session the other way (session 0: never prepared). */
static int pg_prepare(oi_conn *conn, oi_stmt **out, const char *sql)
{
    pg_conn *c = (pg_conn *)conn;
    unsigned long id = ++c->last_id;
    int nparams = 0;
    pg_stmt *st;
    int rc = ensure_connected(c);

    *out = NULL;
    if (rc == OI_OK && c->own_session)
        rc = prepare_named(c, id, sql, &nparams);
    else if (rc == OI_OK)
        nparams = oi_pg_count_params(sql);
    if (rc != OI_OK)
        return rc;
    st = oi_calloc(1, sizeof *st);
    st->base.conn = conn;
    st->id = id;
    st->sql = oi_strdup(sql);
    st->session = c->own_session ? c->session : 0;
    st->nparams = nparams;
    st->params = oi_calloc(st->nparams ? (size_t)st->nparams : 1, sizeof *st->params);
    st->row = -1;
    *out = &st->base;
    return OI_OK;
}

static void finish_stream(pg_stmt *st);

static void forget_result(pg_stmt *st)
{
    finish_stream(st);
    PQclear(st->result);
    st->result = NULL;
    st->nrows = 0;
    st->row = -1;
}

/* Every parameter NULL; their buffers stay for the next execution. */
static void clear_params(pg_stmt *st)
{
    memset(st->params, 0, (size_t)st->nparams * sizeof *st->params);
}

static void pg_finalize(oi_stmt *stmt)
{
    pg_stmt *st = (pg_stmt *)stmt;

    if (!st)
        return;
    forget_result(st);   /* first: a stream under way keeps the connection busy */
    /* Else the server has forgotten it, or it was never prepared (unnamed). */
    if (st->session == ((pg_conn *)stmt->conn)->session)
        drop_statement((pg_conn *)stmt->conn, st->id);
    oi_param_texts_free(&st->texts);
    free(st->params);
    free(st->sql);
    free(st);
}

static int pg_reset(oi_stmt *stmt)
{
    pg_stmt *st = (pg_stmt *)stmt;

    forget_result(st);
    clear_params(st);
    return OI_OK;
}

/* Set parameter $idx to a copy of value (NULL: SQL NULL),
 * kept in the parameter's own buffer (params.h): a heartbeat's three texts
 * were three strdup and free per execution.  Binding makes the next step
 * execute again. */
static int set_param(oi_stmt *stmt, int idx, const char *value)
{
    pg_stmt *st = (pg_stmt *)stmt;

    if (idx < 1 || idx > st->nparams)
        return oi_seterr(stmt->conn->err, OI_ERROR,
                         "no parameter $%d: the statement has %d", idx, st->nparams);
    forget_result(st);
    st->params[idx - 1] =
        value ? oi_param_texts_copy(&st->texts, st->nparams, idx, value, strlen(value)) : NULL;
    return OI_OK;
}

static int pg_bind_null(oi_stmt *stmt, int idx)
{
    return set_param(stmt, idx, NULL);
}

static int pg_bind_text(oi_stmt *stmt, int idx, const char *value)
{
    return set_param(stmt, idx, value);
}

static int pg_bind_int64(oi_stmt *stmt, int idx, int64_t value)
{
    char text[32];

    snprintf(text, sizeof text, "%lld", (long long)value);
    return set_param(stmt, idx, text);
}

/* Doubles go to and from the server as number.c writes and reads them:
 * digits that give back the same double, '.' whatever the locale. */
static int pg_bind_double(oi_stmt *stmt, int idx, double value)
{
    char text[OI_NUMBER_BUFSZ];

    return set_param(stmt, idx, oi_number_format(value, text));
}

static int pg_bind_bool(oi_stmt *stmt, int idx, int value)
{
    return set_param(stmt, idx, value ? "true" : "false");
}

/* A statement prepared in an earlier session is prepared again, under
 * its name, in this one. */
static int prepare_again(pg_conn *c, pg_stmt *st, const char *name)
{
    PGresult *res = PQprepare(c->pg, name, st->sql, 0, NULL);

    if (!is_ok(res))
        return fail(c, res);
    PQclear(res);
    st->session = c->session;
    return OI_OK;
}

/* The statement's name in this session, prepared there when statements
 * are named: a connection the server closed is replaced first. */
static int ready_to_execute(pg_stmt *st, char name[32])
{
    pg_conn *c = (pg_conn *)st->base.conn;
    int rc = ensure_connected(c);

    snprintf(name, 32, "s%lu", st->id);
    if (rc == OI_OK && c->own_session && st->session != c->session)
        rc = prepare_again(c, st, name);
    return rc;
}

/* Run the statement and wait for its whole result: by name, or unnamed
 * with its text (the server parses and plans it each time). */
static PGresult *run_statement(pg_conn *c, pg_stmt *st, const char *name)
{
    const char *const *params = (const char *const *)st->params;

    if (c->own_session)
        return PQexecPrepared(c->pg, name, st->nparams, params, NULL, NULL, 0);
    return PQexecParams(c->pg, st->sql, st->nparams, NULL, params, NULL, NULL, 0);
}

/* The same, sent only: its rows are read as they come (streaming). */
static int send_statement(pg_conn *c, pg_stmt *st, const char *name)
{
    const char *const *params = (const char *const *)st->params;

    if (c->own_session)
        return PQsendQueryPrepared(c->pg, name, st->nparams, params, NULL, NULL, 0);
    return PQsendQueryParams(c->pg, st->sql, st->nparams, NULL, params, NULL, NULL, 0);
}

static int execute(pg_stmt *st)
{
    pg_conn *c = (pg_conn *)st->base.conn;
    char name[32];
    PGresult *res;
    int rc = ready_to_execute(st, name);

    if (rc != OI_OK)
        return rc;
    res = run_statement(c, st, name);
    if (!is_ok(res))
        return fail(c, res);
    st->result = res;
    st->nrows = PQntuples(res);
    st->nfields = PQnfields(res);
    st->row = -1;
    return OI_OK;
}

static int execute_streamed(pg_stmt *st);
static int next_streamed_row(pg_stmt *st);

static int pg_step(oi_stmt *stmt)
{
    pg_stmt *st = (pg_stmt *)stmt;

    if (!st->result && !st->receiving) {
        int rc = st->streams ? execute_streamed(st) : execute(st);
        if (rc != OI_OK)
            return rc;
    }
    if (st->receiving)
        return next_streamed_row(st);
    if (st->row + 1 < st->nrows) {
        st->row++;
        return OI_ROW;
    }
    st->row = st->nrows;
    return OI_DONE;
}

/* ---- streaming: single-row mode ------------------------------------- */

/*
 * The metrics export reads every row of a table in one statement.  Fetched
 * whole, a result holds the client until the server has produced its last
 * row, then the server waits while the client writes (the export used to
 * read pages of 10,000 rows: the two never overlapped).  In single-row
 * mode libpq hands out each row as it arrives, and the server goes on
 * producing while the client writes, as psql's COPY TO does.  Measured on
 * 1,000,000 rows (the export's 7 columns, libpq 15, the rows only read,
 * medians of 3): the client's CPU 0.33 s user + 0.15 s system this way,
 * 0.94 + 0.73 s in pages of 10,000 (each page's megabytes allocated and
 * given back to the system), 0.11 + 0.20 s by COPY TO STDOUT, which takes
 * no bound parameters: the export's filters would have to be written
 * into its SQL, and COPY's text format parsed.
 */
static int pg_stream(oi_stmt *stmt)
{
    pg_stmt *st = (pg_stmt *)stmt;

    forget_result(st);
    st->streams = 1;
    return OI_OK;
}

static int execute_streamed(pg_stmt *st)
{
    pg_conn *c = (pg_conn *)st->base.conn;
    char name[32];
    int rc = ready_to_execute(st, name);

    if (rc != OI_OK)
        return rc;
    if (!send_statement(c, st, name))
        return fail(c, NULL);
    /* Right after the send it cannot be refused. */
    PQsetSingleRowMode(c->pg);
    st->receiving = 1;
    return OI_OK;
}

/* Take in the server's results until the query is over. */
static void drain_results(pg_conn *c)
{
    PGresult *res;

    while ((res = PQgetResult(c->pg)) != NULL)
        PQclear(res);
}

/* The next row, or the end: the final result (no rows) is kept, so that
 * stepping again says OI_DONE until a reset, as for a fetched result. */
static int next_streamed_row(pg_stmt *st)
{
    pg_conn *c = (pg_conn *)st->base.conn;
    PGresult *res = PQgetResult(c->pg);
    int rc = OI_OK;

    PQclear(st->result);
    st->result = NULL;
    if (PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
        st->result = res;
        st->nrows = 1;
        st->nfields = PQnfields(res);
        st->row = 0;
        return OI_ROW;
    }
    st->receiving = 0;
    if (is_ok(res)) {
        st->result = res;
        st->nrows = st->row = 0;
    } else {
        rc = fail(c, res);   /* a connection lost mid-stream: OI_ECONNECT */
    }
    drain_results(c);
    return rc == OI_OK ? OI_DONE : rc;
}

/* Stop a stream before its end.  Outside a transaction the query is
 * cancelled, so that `metrics export | head` does not read the rest of the
 * table first; inside one a cancel would fail the caller's transaction,
 * so the rest is read and dropped.  A cancel that comes after the last row
 * is ignored by the server. */
static void finish_stream(pg_stmt *st)
{
    pg_conn *c = (pg_conn *)st->base.conn;
    PGcancel *cancel;
    char why[256];

    if (!st->receiving)
        return;
    st->receiving = 0;
    if (!c->in_transaction && (cancel = PQgetCancel(c->pg)) != NULL) {
        PQcancel(cancel, why, sizeof why);   /* if it fails, the drain reads the rest */
        PQfreeCancel(cancel);
    }
    drain_results(c);
}

/* ---- columns --------------------------------------------------------- */

/* Text of column col in the current row; NULL for SQL NULL or no value.
 * libpq gives "" for a NULL, so only an empty text asks whether it is one:
 * one call a value instead of two (W4 reads eight values a row). */
static const char *value_at(oi_stmt *stmt, int col)
{
    pg_stmt *st = (pg_stmt *)stmt;
    const char *v;

    if (!st->result || st->row < 0 || st->row >= st->nrows || col < 0 || col >= st->nfields)
        return NULL;
    v = PQgetvalue(st->result, st->row, col);
    return *v || !PQgetisnull(st->result, st->row, col) ? v : NULL;
}

static int pg_column_is_null(oi_stmt *stmt, int col)
{
    return value_at(stmt, col) == NULL;
}

static const char *pg_column_text(oi_stmt *stmt, int col)
{
    return value_at(stmt, col);
}

/* An integer as the server writes it: '-' and at most 18 digits are read
 * here, anything else by strtoll (same answer, glibc's call was 200
 * instructions a value: W4 reads an id a row). */
static int64_t int64_text(const char *v)
{
    const char *p = v + (*v == '-');
    int64_t n = 0;
    int i = 0;

    for (; i < 18 && p[i] >= '0' && p[i] <= '9'; i++)
        n = n * 10 + (p[i] - '0');
    if (i == 0 || p[i] != '\0')
        return (int64_t)strtoll(v, NULL, 10);
    return *v == '-' ? -n : n;
}

static int64_t pg_column_int64(oi_stmt *stmt, int col)
{
    const char *v = value_at(stmt, col);

    return v ? int64_text(v) : 0;
}

/* The server writes '.' (and Infinity, NaN) whatever the program's locale. */
static double pg_column_double(oi_stmt *stmt, int col)
{
    const char *v = value_at(stmt, col);

    return v ? oi_strtod_c(v, NULL) : 0.0;
}

/* Booleans arrive as "t" or "f"; "1" covers integer flags computed in SQL. */
static int pg_column_bool(oi_stmt *stmt, int col)
{
    const char *v = value_at(stmt, col);

    return v && (strcmp(v, "t") == 0 || strcmp(v, "1") == 0);
}

/* ---- bulk load: postgres_copy.c ------------------------------------- */

static int pg_copy_begin(oi_conn *conn, oi_copy **out, const char *table,
                         const char *const *columns, int ncolumns)
{
    return oi_pg_copy_begin(conn, ((pg_conn *)conn)->pg, out, table, columns, ncolumns);
}

/* ---- dialect --------------------------------------------------------- */

/* metadata->>key = value, as written: ->> reads a boolean as its word. */
static void pg_metadata_equals(oi_buf *sql, int key, int value, const char *value_text)
{
    (void)value_text;
    oi_buf_addf(sql, "metadata->>$%d = $%d", key, value);
}

/*
 * What ix_agent_metrics_metadata (GIN, jsonb_ops) serves: the core puts it
 * before metadata_equals as a superset, in a streamed iterator's one
 * statement only.  A page of the paged iterator (ORDER BY time LIMIT 500)
 * with it re-ran a bitmap scan and a sort of every matching row per page:
 * the planner multiplies the two conditions' selectivities and expected
 * about 500 rows where a common pair has 250,000 (28 s against 1.3 s for
 * psql's single @> query, 1M rows; docs/performance.md, W6).
 */
static void pg_metadata_contains(oi_buf *sql, int doc)
{
    oi_buf_addf(sql, "metadata @> $%d::jsonb", doc);
}

static void pg_bucket_epoch(oi_buf *sql, int seconds)
{
    oi_buf_addf(sql,
                "floor(extract(epoch FROM collection_timestamp) / $%d::bigint)::bigint"
                " * $%d::bigint",
                seconds, seconds);
}

static const oi_dialect pg_dialect = {
    .metadata_equals = pg_metadata_equals,
    .metadata_contains = pg_metadata_contains,
    .bucket_epoch = pg_bucket_epoch,
    .percentile_disc = true,

    /* Partitions (008_metrics_partitions) are part of their table, not
     * tables of their own: these lists leave them out. */
    .list_tables =
        "SELECT c.relname::text AS table_name FROM pg_class c"
        " WHERE c.relnamespace = current_schema()::regnamespace"
        "   AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY 1",

    /* One row per column of each foreign key, like SQLite's
     * pragma_foreign_key_list. */
    .list_foreign_keys =
        "SELECT t.relname::text AS table_name, a.attname::text AS column_name,"
        "       r.relname::text AS ref_table,"
        "       CASE k.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL'"
        "            WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'"
        "            WHEN 'd' THEN 'SET DEFAULT' END AS on_delete"
        "  FROM pg_constraint k"
        "  JOIN pg_class t ON t.oid = k.conrelid"
        "  JOIN pg_class r ON r.oid = k.confrelid"
        "  JOIN pg_namespace n ON n.oid = t.relnamespace"
        "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)"
        " WHERE k.contype = 'f' AND n.nspname = current_schema() AND NOT t.relispartition"
        " ORDER BY 1, 2",

    .list_indexes =
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name"
        "  FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
        "  JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE t.relnamespace = current_schema()::regnamespace"
        "   AND t.relkind IN ('r', 'p', 'm') AND NOT t.relispartition"
        " ORDER BY 1, 2",

    /* The functions of 008_metrics_partitions.up.sql. */
    .partitions_ensure =
        "SELECT created, moved, covered_from, covered_to"
        "  FROM oi_metrics_partitions_ensure($1::timestamptz, $2::timestamptz, NULL)",
    .partitions_maintain = "SELECT created, moved FROM oi_metrics_maintain($1::integer)",
    .partitions_before = "SELECT name FROM oi_metrics_partitions_before($1::timestamptz)",
    .partition_drop = "SELECT oi_metrics_partition_drop($1::text, $2::boolean)",
};

/* ---- waiting for a change ------------------------------------------- */

/* Take in what the server sent and drop the queued notifications; *heard
 * says whether there was one.  Their payload is empty: the change log
 * says what changed. */
static int take_notifications(pg_conn *c, int *heard)
{
    PGnotify *n;

    if (!PQconsumeInput(c->pg))
        return fail(c, NULL);
    while ((n = PQnotifies(c->pg)) != NULL) {
        *heard = 1;
        PQfreemem(n);
    }
    return OI_OK;
}

/* Through a transaction pooler a LISTEN would stay with a server
 * connection other clients then get, and no notification would reach us:
 * the caller re-reads the revision after a short sleep instead (an early
 * return, which backend.h allows).  A signal ends the sleep early too. */
static int sleep_before_poll(int timeout_ms)
{
    int ms = timeout_ms < PG_POLL_MS ? timeout_ms : PG_POLL_MS;

    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = (long)ms * 1000000}, NULL);
    return OI_OK;
}

static int pg_wait_change(oi_conn *conn, int timeout_ms)
{
    pg_conn *c = (pg_conn *)conn;
    struct pollfd socket;
    int heard = 0;
    int rc = ensure_connected(c);

    if (rc == OI_OK && !c->own_session)
        return sleep_before_poll(timeout_ms);
    if (rc == OI_OK && !c->listening)
        rc = pg_exec(conn, "LISTEN optiinfra_changes");
    c->listening = rc == OI_OK;
    if (rc == OI_OK)
        rc = take_notifications(c, &heard);
    if (rc != OI_OK || heard || timeout_ms == 0)
        return rc;
    /* A signal (EINTR) ends the sleep early, as the interface allows. */
    socket = (struct pollfd){ .fd = PQsocket(c->pg), .events = POLLIN };
    if (poll(&socket, 1, timeout_ms) > 0)
        rc = take_notifications(c, &heard);
    return rc;
}

/* ---- the backend ----------------------------------------------------- */

const oi_backend oi_backend_postgres = {
    .version = OI_BACKEND_VERSION,
    .name = "postgresql",
    .dialect = &pg_dialect,
    .accepts = pg_accepts,
    .redact = pg_redact,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_null = pg_bind_null,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_bool = pg_bind_bool,
    .step = pg_step,
    .column_is_null = pg_column_is_null,
    .column_text = pg_column_text,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_bool = pg_column_bool,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .stream = pg_stream,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .copy_begin = pg_copy_begin,
    .copy_row = oi_pg_copy_row,
    .copy_end = oi_pg_copy_end,
    .wait_change = pg_wait_change,
    /* no backup: the server's tools copy a live cluster consistently, and
     * are what its operators already run (docs/scaling.md, "Backups") */
    .backup_tools = "pg_dump (a logical copy) or pg_basebackup (a physical one)",
};
