/*
 * postgres.h - what the PostgreSQL backend's files share.  postgres.c (the
 * connection, statements, the backend's method table) calls the bulk load
 * (postgres_copy.c); both report errors through postgres_error.c.  Calls
 * go that way only: no two of the files call each other.
 */
#ifndef OI_BACKEND_POSTGRES_H
#define OI_BACKEND_POSTGRES_H

#include "backend/libpq_load.h"
#include "backend/backend.h"

/* postgres_error.c */

/* Copy src as one line: line breaks become "; ", runs of blanks one space. */
void oi_pg_one_line(char *dst, size_t size, const char *src);
/* Record in err the failure that res reports (NULL: out of memory or
 * connection lost), free res and return the mapped OI_E* code. */
int oi_pg_fail(PGconn *pg, oi_err *err, PGresult *res);
/* Record in err that libpq lost the connection: OI_ECONNECT. */
int oi_pg_lost(PGconn *pg, oi_err *err);

/* postgres_copy.c: the backend's copy_begin (on conn, whose libpq
 * connection is pg), copy_row and copy_end (backend.h). */
int oi_pg_copy_begin(oi_conn *conn, PGconn *pg, oi_copy **out, const char *table,
                     const char *const *columns, int ncolumns);
int oi_pg_copy_row(oi_copy *copy, const oi_value *values);
int oi_pg_copy_end(oi_copy *copy, int abandon, long *failed_row);

#endif
