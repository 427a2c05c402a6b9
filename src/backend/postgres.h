/*
 * postgres.h - what the PostgreSQL backend's files share: postgres.c (the
 * connection, statements, errors) gives postgres_copy.c (the bulk load)
 * the few things it needs without showing it its structs.
 */
#ifndef OI_BACKEND_POSTGRES_H
#define OI_BACKEND_POSTGRES_H

#include "backend/libpq_load.h"
#include "backend/backend.h"

/* The connection's libpq handle. */
PGconn *pg_handle(oi_conn *conn);
/* Record the failure res reports (NULL: out of memory or connection
 * lost) on the connection, free res and return the mapped OI_E* code. */
int pg_fail(oi_conn *conn, PGresult *res);
/* Record that libpq lost the connection: OI_ECONNECT. */
int pg_lost(oi_conn *conn);

/* postgres_copy.c: the backend's copy_begin, copy_row and copy_end. */
int pg_copy_begin(oi_conn *conn, oi_copy **out, const char *table,
                  const char *const *columns, int ncolumns);
int pg_copy_row(oi_copy *copy, const oi_value *values);
int pg_copy_end(oi_copy *copy, int abandon, long *failed_row);

#endif
