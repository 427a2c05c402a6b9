/*
 * fuzz_url.c - database URLs: each backend's accepts() and redact()
 * (src/backend), the code that decides which backend opens a URL and what
 * of it may be shown.  Nothing connects.
 *
 * Invariants, for a URL the PostgreSQL backend accepts and libpq parses,
 * unless the backend shows none of it (OI_URL_NOT_SHOWN, its choice for a
 * URL whose secrets it cannot place with certainty):
 *
 *   - the redacted form is key=value text libpq reads back, with every
 *     option of the URL and no other, each secret one (libpq's password
 *     fields) "***" and every other one unchanged: nothing is lost, and a
 *     secret can only show where the URL itself repeats it in a field that
 *     is not secret;
 *   - a password of 4 bytes or more appears nowhere in the redacted text,
 *     unless it also appears in one of the keywords or of the values shown
 *     (a user named like the password), or spans two of them (then it holds
 *     a blank, '=' or a quote).
 *
 * A URL libpq cannot parse is shown as OI_URL_NOT_SHOWN, nothing of it.  A
 * SQLite URL (a file path, no secret) is shown as given.
 *
 * The backend's own parameter, pool_mode (postgres_pool.c), is taken out
 * of the URL before libpq reads it and put back at the end of the
 * redacted text: the invariants hold for what is left on both sides, and
 * both say the same mode (a URL with a mode the backend refuses shows
 * nothing).
 */
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "backend/backend.h"
#include "backend/postgres_pool.h"
#include "fuzz.h"

#define SHORTEST_CHECKED_PASSWORD 4

static int is_secret(const PQconninfoOption *o)
{
    return o->dispchar && o->dispchar[0] == '*';
}

static const PQconninfoOption *option(const PQconninfoOption *opts, const char *keyword)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o;
    return NULL;
}

/* Whether the password may show in the redacted text by chance: it is a part
 * of a keyword or of a value shown, or could span two of them. */
static bool may_show_by_chance(const PQconninfoOption *shown, const char *password)
{
    if (strpbrk(password, " \t\n\r\f\v='\\"))
        return true;
    for (const PQconninfoOption *o = shown; o->keyword; o++)
        if (o->val && (strstr(o->keyword, password) ||
                       (!is_secret(o) && strstr(o->val, password))))
            return true;
    return false;
}

/* The redacted text against the URL's own options. */
static void check_redacted(const char *url, const char *redacted)
{
    PQconninfoOption *given = PQconninfoParse(url, NULL);
    if (!given || strcmp(redacted, OI_URL_NOT_SHOWN) == 0) {
        fuzz_assert(strcmp(redacted, OI_URL_NOT_SHOWN) == 0); /* nothing of it shown */
        PQconninfoFree(given);
        return;
    }
    PQconninfoOption *shown = strcmp(redacted, "postgresql://") == 0
                                  ? PQconninfoParse("", NULL)
                                  : PQconninfoParse(redacted, NULL);
    fuzz_assert(shown != NULL);
    for (const PQconninfoOption *g = given; g->keyword; g++) {
        const PQconninfoOption *s = option(shown, g->keyword);
        fuzz_assert(s != NULL);
        fuzz_assert(!g->val == !s->val);
        if (g->val)
            fuzz_assert(strcmp(s->val, is_secret(g) ? "***" : g->val) == 0);
    }
    for (const PQconninfoOption *g = given; g->keyword; g++)
        if (is_secret(g) && g->val && strlen(g->val) >= SHORTEST_CHECKED_PASSWORD &&
            !may_show_by_chance(shown, g->val))
            fuzz_assert(!strstr(redacted, g->val));
    PQconninfoFree(shown);
    PQconninfoFree(given);
}

/* Both sides without pool_mode, which they must give alike. */
static void check_redacted_pooled(const char *url, const char *redacted)
{
    oi_pg_pool_mode mode, shown_mode;
    char *rest = NULL, *shown_rest = NULL;
    if (oi_pg_pool_split(url, &rest, &mode) != 0) {
        fuzz_assert(strcmp(redacted, OI_URL_NOT_SHOWN) == 0);
        return;
    }
    if (strcmp(redacted, OI_URL_NOT_SHOWN) == 0) {
        check_redacted(rest, redacted);
    } else {
        fuzz_assert(oi_pg_pool_split(redacted, &shown_rest, &shown_mode) == 0);
        fuzz_assert(shown_mode == mode);
        check_redacted(rest, *shown_rest ? shown_rest : "postgresql://");
    }
    free(shown_rest);
    free(rest);
}

void oi_fuzz_url(const uint8_t *data, size_t size)
{
    char *url = fuzz_text(data, size);
    if (oi_backend_sqlite.accepts(url)) {
        char *shown = oi_backend_sqlite.redact(url);
        fuzz_assert(strcmp(shown, url) == 0); /* a file path holds no secret */
        free(shown);
    } else if (oi_backend_postgres.accepts(url)) {
        char *shown = oi_backend_postgres.redact(url);
        check_redacted_pooled(url, shown);
        free(shown);
    }
    free(url);
}

OI_FUZZ_MAIN(url)
