/*
 * postgres_error.c - the PostgreSQL backend's errors, mapped once: from
 * SQLSTATE to OI_E* and the kind of a violated constraint (sqlstates[]),
 * never by the text of a message.  Messages are one line and never carry
 * the connection string or a secret of it.
 *
 * A file of its own so that the connection and statements (postgres.c)
 * and the bulk load (postgres_copy.c) both report through it, and neither
 * calls the other back.
 */
#include <string.h>

#include "postgres.h"

/* Copy src as one line: line breaks become "; ", runs of blanks one space,
 * trailing blanks go. */
void oi_pg_one_line(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    int at_break = 0;

    for (; *src && n + 1 < size; src++) {
        if (*src == '\n' || *src == '\r') {
            at_break = n > 0;
            continue;
        }
        if ((*src == ' ' || *src == '\t') && (at_break || (n > 0 && dst[n - 1] == ' ')))
            continue;
        if (at_break && n + 3 < size) {
            dst[n++] = ';';
            dst[n++] = ' ';
        }
        at_break = 0;
        dst[n++] = *src == '\t' ? ' ' : *src;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

/* SQLSTATE to OI_E* and, for an integrity violation, the constraint's
 * kind: the first entry whose prefix matches wins, so exact codes come
 * before their class. */
static const struct {
    const char *prefix;
    int code;
    oi_constraint constraint;
} sqlstates[] = {
    { "23505", OI_EEXISTS, OI_CONSTRAINT_UNIQUE },           /* unique_violation */
    { "23503", OI_ECONSTRAINT, OI_CONSTRAINT_FOREIGN_KEY },  /* foreign_key_violation */
    { "23001", OI_ECONSTRAINT, OI_CONSTRAINT_FOREIGN_KEY },  /* restrict_violation */
    { "23514", OI_ECONSTRAINT, OI_CONSTRAINT_CHECK },        /* check_violation */
    { "23502", OI_ECONSTRAINT, OI_CONSTRAINT_NOT_NULL },     /* not_null_violation */
    { "23", OI_ECONSTRAINT, OI_CONSTRAINT_OTHER },           /* exclusion ... */
    { "22", OI_EINVALID, OI_CONSTRAINT_NONE },      /* data exception: bad syntax, out of range */
    { "40P01", OI_EBUSY, OI_CONSTRAINT_NONE },      /* deadlock_detected */
    { "40001", OI_EBUSY, OI_CONSTRAINT_NONE },      /* serialization_failure: retry, as for a lock */
    { "55P03", OI_EBUSY, OI_CONSTRAINT_NONE },      /* lock_not_available */
    { "42P01", OI_ESCHEMA, OI_CONSTRAINT_NONE },    /* undefined_table: migrations not applied */
    { "42703", OI_ESCHEMA, OI_CONSTRAINT_NONE },    /* undefined_column: an older revision */
    { "08", OI_ECONNECT, OI_CONSTRAINT_NONE },      /* connection exception */
    { "57P", OI_ECONNECT, OI_CONSTRAINT_NONE },     /* server shutting down, database dropped */
    { "28", OI_EAUTH, OI_CONSTRAINT_NONE },         /* invalid authorization */
};

/* The index of state's entry in sqlstates[]; -1 for none (OI_ERROR). */
static int sqlstate_entry(const char *state)
{
    for (size_t i = 0; i < sizeof sqlstates / sizeof sqlstates[0]; i++) {
        if (strncmp(state, sqlstates[i].prefix, strlen(sqlstates[i].prefix)) == 0)
            return (int)i;
    }
    return -1;
}

/* Only a foreign-key violation's DETAIL is shown ("Key (agent_id)=(...) is
 * not present in table ..."): it names ids.  Others quote values: a unique
 * violation the key ("Key (api_key)=(sk_live_...)"), a check violation the
 * whole row, and either may be a secret. */
static int detail_is_safe(const char *state)
{
    return state && strcmp(state, "23503") == 0;
}

int oi_pg_fail(PGconn *pg, oi_err *err, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    char msg[OI_ERRMSG_MAX], more[OI_ERRMSG_MAX];
    int entry = state ? sqlstate_entry(state) : -1;
    oi_constraint constraint = entry >= 0 ? sqlstates[entry].constraint : OI_CONSTRAINT_NONE;
    int code;

    if (entry >= 0)
        code = sqlstates[entry].code;
    else
        code = !state && PQstatus(pg) == CONNECTION_BAD ? OI_ECONNECT : OI_ERROR;

    if (!primary)
        primary = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
                                                     : PQerrorMessage(pg);
    if (!*primary)
        primary = PQresStatus(PQresultStatus(res));
    oi_pg_one_line(msg, sizeof msg, primary);

    if (code == OI_ECONNECT) {
        oi_seterr(err, code, "lost the connection to PostgreSQL: %s", msg);
    } else if (detail && detail_is_safe(state)) {
        oi_pg_one_line(more, sizeof more, detail);
        oi_seterr(err, code, "%s (%s)", msg, more);
    } else {
        oi_seterr(err, code, "%s", msg);
    }
    err->constraint = constraint;
    PQclear(res);
    return code;
}

int oi_pg_lost(PGconn *pg, oi_err *err)
{
    char msg[OI_ERRMSG_MAX];

    oi_pg_one_line(msg, sizeof msg, PQerrorMessage(pg));
    /* oi_pg_fail()'s words for a lost connection: the same event gets the
     * same message whether a send or a result found it. */
    return oi_seterr(err, OI_ECONNECT, "lost the connection to PostgreSQL: %s", msg);
}
