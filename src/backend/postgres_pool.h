/*
 * postgres_pool.h - what the PostgreSQL backend needs to work through a
 * transaction pooler (PgBouncer's pool_mode = transaction): the URL
 * parameter that chooses the mode, and the count of a statement's $n
 * placeholders made on the client, which a statement never prepared on
 * the server cannot ask the server for.  postgres_pool.c says why.
 *
 * No libpq here: the test suite, which links libpq itself, tests these.
 */
#ifndef OI_BACKEND_POSTGRES_POOL_H
#define OI_BACKEND_POSTGRES_POOL_H

/* How statements run, from the URL's pool_mode parameter. */
typedef enum oi_pg_pool_mode {
    OI_PG_POOL_AUTO = 0,     /* not given: transaction if a pooler answers */
    OI_PG_POOL_SESSION,      /* named server-side prepared statements */
    OI_PG_POOL_TRANSACTION   /* unnamed statements, no session state */
} oi_pg_pool_mode;

/* The URL parameter's name. */
#define OI_PG_POOL_PARAM "pool_mode"

/* Take the pool_mode parameter out of url (a URI's query or a key=value
 * pair; the last one wins, as libpq's do) and give the rest, for libpq,
 * in *rest (alloc.h; the caller frees it) and the mode in *mode.  A value
 * other than "transaction" or "session": OI_EINVALID, *rest NULL.  A
 * string this cannot read is given back whole, for libpq to refuse. */
int oi_pg_pool_split(const char *url, char **rest, oi_pg_pool_mode *mode);

/* "transaction", "session"; NULL for OI_PG_POOL_AUTO. */
const char *oi_pg_pool_mode_name(oi_pg_pool_mode mode);

/* The highest n of the $n placeholders of one SQL statement, 0 if none,
 * read as PostgreSQL's lexer reads them: not inside a string constant
 * ('...', E'...' with backslash escapes), a quoted identifier, a comment
 * (-- and nested block comments) or a dollar-quoted string ($$...$$,
 * $tag$...$tag$), nor as part of an identifier (a$1 is one). */
int oi_pg_count_params(const char *sql);

#endif
