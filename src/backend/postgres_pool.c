/*
 * postgres_pool.c - the PostgreSQL backend behind a transaction pooler:
 * the pool_mode URL parameter, and the $n count of a statement.
 *
 * PgBouncer in transaction pooling mode (Debian 12's 1.18) gives each
 * transaction, and each statement outside one, whichever server
 * connection is free: a statement prepared by name in one may not exist
 * in the next ("prepared statement "s3" does not exist"), and whatever a
 * SET or a LISTEN changed stays with a server connection another client
 * gets.  So the backend has a second way to run statements, unnamed
 * (libpq's PQexecParams: parse, bind and execute in one message train,
 * one round trip), chosen by the URL: ?pool_mode=transaction in a URI,
 * pool_mode=transaction among key=value pairs, PgBouncer's own words.
 * pool_mode=session keeps named statements; without the parameter the
 * backend looks whether a pooler answers (postgres.c, set_up_session).
 *
 * libpq refuses a parameter it does not know, in both forms, so ours is
 * taken out before libpq reads the rest.  That is the one place this
 * backend reads a connection string itself, and it reads only as far as
 * it must: the pairs of a key=value string as libpq splits them (blanks
 * around '=', values bare or in single quotes, backslash escapes), the
 * '&'-separated pairs of a URI's query.  It copies every other pair as it
 * stands and never interprets it; a string it cannot split is given back
 * whole, so that libpq refuses it, with the backend's usual message that
 * shows nothing of it.
 *
 * An unnamed statement is never described, so its number of parameters
 * comes from its text: oi_pg_count_params() reads the $n as PostgreSQL's
 * lexer would, and bind goes on refusing an index the statement does not
 * have, as it does with named statements and as sqlite3_bind_* does.
 */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backend/postgres_pool.h"
#include "buf.h"
#include "optiinfra/errors.h"

static const char *const mode_names[] = {
    [OI_PG_POOL_SESSION] = "session",
    [OI_PG_POOL_TRANSACTION] = "transaction",
};

const char *oi_pg_pool_mode_name(oi_pg_pool_mode mode)
{
    return mode == OI_PG_POOL_AUTO ? NULL : mode_names[mode];
}

/* The mode a value names, or -1. */
static int mode_of(const char *value, size_t len)
{
    for (int m = OI_PG_POOL_SESSION; m <= OI_PG_POOL_TRANSACTION; m++)
        if (strlen(mode_names[m]) == len && strncmp(value, mode_names[m], len) == 0)
            return m;
    return -1;
}

static int is_pool_key(const char *key, size_t len)
{
    return len == strlen(OI_PG_POOL_PARAM) && strncmp(key, OI_PG_POOL_PARAM, len) == 0;
}

/* ---- key=value pairs --------------------------------------------------- */

/* One pair of a key=value string, as libpq's conninfo_parse splits it:
 * the key's start and length, the value (unescaped, in val) and where the
 * pair ends.  false when the string does not split (no '=', a quote not
 * closed): libpq refuses it. */
typedef struct kv_pair {
    const char *key;
    size_t key_len;
    oi_buf val;
    const char *end;
} kv_pair;

static const char *skip_blanks(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static bool read_value(const char *p, kv_pair *pair)
{
    bool quoted = *p == '\'';

    for (p += quoted; *p; p++) {
        if (quoted && *p == '\'') {
            pair->end = p + 1;
            return true;
        }
        if (!quoted && isspace((unsigned char)*p))
            break;
        if (*p == '\\' && p[1])
            p++;
        oi_buf_addf(&pair->val, "%c", *p);
    }
    pair->end = p;
    return !quoted;
}

static bool read_pair(const char *p, kv_pair *pair)
{
    pair->key = p;
    while (*p && *p != '=' && !isspace((unsigned char)*p))
        p++;
    pair->key_len = (size_t)(p - pair->key);
    p = skip_blanks(p);
    if (*p != '=' || pair->key_len == 0)
        return false;
    return read_value(skip_blanks(p + 1), pair);
}

/* The pairs but ours into out, the last value of ours into *mode_text. */
static bool split_pairs(const char *url, oi_buf *out, oi_buf *mode_text, bool *given)
{
    for (const char *p = skip_blanks(url); *p; p = skip_blanks(p)) {
        kv_pair pair = {0};
        bool ok = read_pair(p, &pair);

        if (ok && is_pool_key(pair.key, pair.key_len)) {
            mode_text->len = 0;
            oi_buf_add(mode_text, pair.val.data ? pair.val.data : "");
            *given = true;
        } else if (ok) {
            oi_buf_addf(out, "%s%.*s", out->len ? " " : "", (int)(pair.end - p), p);
        }
        free(pair.val.data);
        if (!ok)
            return false;
        p = pair.end;
    }
    return true;
}

/* ---- a URI's query ------------------------------------------------------ */

/* The URI but our parameter into out, the last value of ours into
 * *mode_text.  The query is what follows the first '?': a '?' cannot come
 * earlier unencoded (postgres.c refuses one in the user name or password,
 * and libpq reads none in a host or a database name). */
static void split_query(const char *url, oi_buf *out, oi_buf *mode_text, bool *given)
{
    const char *query = strchr(url, '?');
    size_t kept = 0;

    if (!query) {
        oi_buf_add(out, url);
        return;
    }
    oi_buf_addf(out, "%.*s", (int)(query - url), url);
    for (const char *p = query + 1; *p;) {
        size_t len = strcspn(p, "&");
        size_t key_len = strcspn(p, "=&");

        if (is_pool_key(p, key_len)) {
            mode_text->len = 0;
            oi_buf_addf(mode_text, "%.*s", (int)(len - key_len - (key_len < len)),
                        p + key_len + (key_len < len));
            *given = true;
        } else if (len) {
            oi_buf_addf(out, "%c%.*s", kept++ ? '&' : '?', (int)len, p);
        }
        p += len + (p[len] == '&');
    }
}

/* ---- the split ---------------------------------------------------------- */

static int is_uri(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

int oi_pg_pool_split(const char *url, char **rest, oi_pg_pool_mode *mode)
{
    oi_buf out = {0}, mode_text = {0};
    bool given = false;
    int m = OI_PG_POOL_AUTO;

    if (is_uri(url)) {
        split_query(url, &out, &mode_text, &given);
    } else if (!split_pairs(url, &out, &mode_text, &given)) {
        free(out.data);
        free(mode_text.data);
        *rest = oi_strdup(url);
        *mode = OI_PG_POOL_AUTO;
        return OI_OK;
    }
    if (given)
        m = mode_of(mode_text.data ? mode_text.data : "", mode_text.len);
    free(mode_text.data);
    if (m < 0) {
        free(out.data);
        *rest = NULL;
        return OI_EINVALID;
    }
    *rest = out.data ? out.data : oi_strdup("");
    *mode = (oi_pg_pool_mode)m;
    return OI_OK;
}

/* ---- counting $n ---------------------------------------------------------- */

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || isdigit((unsigned char)c) || c == '$';
}

/* After a quote opened at p[-1]: past its closing quote, a doubled quote
 * standing for one; with backslashes (E'...') a backslash escapes the
 * next byte. */
static const char *skip_quoted(const char *p, char quote, bool backslashes)
{
    for (; *p; p++) {
        if (backslashes && *p == '\\' && p[1])
            p++;
        else if (*p == quote && p[1] == quote)
            p++;
        else if (*p == quote)
            return p + 1;
    }
    return p;
}

/* After "/" "*": past the matching end; block comments nest. */
static const char *skip_block_comment(const char *p)
{
    for (int depth = 1; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            depth++;
            p++;
        } else if (p[0] == '*' && p[1] == '/') {
            p++;
            if (--depth == 0)
                return p + 1;
        }
    }
    return p;
}

/* At a '$' that starts no parameter: past a dollar-quoted string if one
 * opens here ($$ or $tag$), else past the '$'. */
static const char *skip_dollar_quote(const char *p)
{
    const char *tag_end = p + 1;

    while (*tag_end && *tag_end != '$' && is_ident_char(*tag_end))
        tag_end++;
    if (*tag_end != '$')
        return p + 1;
    size_t tag_len = (size_t)(tag_end - p) + 1;
    const char *close = tag_end + 1;   /* the body starts after the tag */
    for (; *close; close++)
        if (strncmp(close, p, tag_len) == 0)
            return close + tag_len;
    return close;
}

/* At '$' and a digit: the parameter's number; p moves past it.  A number
 * too large to be one counts as INT_MAX: bind then accepts any index and
 * the server refuses the statement. */
static int read_param(const char **p)
{
    long n = 0;
    const char *q = *p + 1;

    for (; isdigit((unsigned char)*q); q++)
        n = n < INT_MAX ? n * 10 + (*q - '0') : n;
    *p = q;
    return n > INT_MAX ? INT_MAX : (int)n;
}

int oi_pg_count_params(const char *sql)
{
    int max = 0;
    const char *p = sql;

    while (*p) {
        char c = *p;
        if (c == '\'') {
            bool e = p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                     (p - 1 == sql || !is_ident_char(p[-2]));
            p = skip_quoted(p + 1, '\'', e);
        } else if (c == '"') {
            p = skip_quoted(p + 1, '"', false);
        } else if (c == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (c == '/' && p[1] == '*') {
            p = skip_block_comment(p + 2);
        } else if (is_ident_start(c)) {
            while (is_ident_char(*p))
                p++;
        } else if (c == '$' && isdigit((unsigned char)p[1])) {
            int n = read_param(&p);
            max = n > max ? n : max;
        } else if (c == '$') {
            p = skip_dollar_quote(p);
        } else {
            p++;
        }
    }
    return max;
}
