/*
 * libpq_load.h - libpq, loaded when the PostgreSQL backend is first used.
 *
 * postgres.c includes this header instead of <libpq-fe.h> and calls libpq
 * as always (PQexec(...)); each function it uses is #defined below to the
 * member of the table oi_libpq that libpq_load.c fills with dlsym, once.
 * So a CLI working on SQLite never maps libpq.so.5 and the ~25 libraries
 * it brings (dynlib.h says what that costs), and postgres.c reads as plain
 * libpq code.
 *
 * The table's types come from <libpq-fe.h>'s own declarations
 * (__typeof__), so they cannot drift from the headers.  Neither the library
 * nor the program links libpq: a function postgres.c calls but this list
 * lacks is an undefined symbol, which fails the shared library's link
 * (-z defs) and the CLI's.  A new libpq call means a line in the list and
 * a #define.
 *
 * oi_libpq_load() must succeed before the first call: pg_open() and
 * pg_redact() call it; everything else in postgres.c works on what they
 * made.
 */
#ifndef OI_LIBPQ_LOAD_H
#define OI_LIBPQ_LOAD_H

#include <libpq-fe.h>

#define OI_LIBPQ_SONAME "libpq.so.5"

/* Every libpq function postgres.c calls. */
#define OI_LIBPQ_FUNCTIONS(X)                                                    \
    X(PQbackendPID) X(PQcancel) X(PQclear) X(PQcmdStatus) X(PQconnectdbParams)   \
    X(PQconnectionNeedsPassword) X(PQconninfo) X(PQconninfoFree)                 \
    X(PQconninfoParse) X(PQconsumeInput) X(PQdescribePrepared)                   \
    X(PQerrorMessage) X(PQexec) X(PQexecParams) X(PQexecPrepared) X(PQfinish)    \
    X(PQfreeCancel) X(PQfreemem) X(PQgetCancel) X(PQgetisnull)                   \
    X(PQgetResult) X(PQgetvalue) X(PQnfields) X(PQnotifies) X(PQnparams)         \
    X(PQntuples) X(PQprepare) X(PQputCopyData) X(PQputCopyEnd) X(PQreset)        \
    X(PQresStatus) X(PQresultErrorField) X(PQresultErrorMessage)                 \
    X(PQresultStatus) X(PQsendQueryParams) X(PQsendQueryPrepared)                \
    X(PQsetNoticeProcessor)                                                      \
    X(PQsetSingleRowMode) X(PQsocket) X(PQstatus) X(PQtransactionStatus)

#define OI_LIBPQ_MEMBER(name) __typeof__(name) *name;
typedef struct oi_libpq_functions {
    OI_LIBPQ_FUNCTIONS(OI_LIBPQ_MEMBER)
} oi_libpq_functions;
#undef OI_LIBPQ_MEMBER

/* Filled by oi_libpq_load(); read-only afterwards. */
extern oi_libpq_functions oi_libpq;

/* Load libpq and fill oi_libpq, once per process, from any thread.
 * NULL when loaded; else the one line that says why not and what to
 * install ("cannot load libpq.so.5 (PostgreSQL support): ...; install the
 * Debian package libpq5"), the same at every call. */
const char *oi_libpq_load(void);

/* The calls, through the table (not in libpq_load.c, which names the
 * members themselves). */
#ifndef OI_LIBPQ_LOADER
#define PQbackendPID (oi_libpq.PQbackendPID)
#define PQcancel (oi_libpq.PQcancel)
#define PQclear (oi_libpq.PQclear)
#define PQcmdStatus (oi_libpq.PQcmdStatus)
#define PQconnectdbParams (oi_libpq.PQconnectdbParams)
#define PQconnectionNeedsPassword (oi_libpq.PQconnectionNeedsPassword)
#define PQconninfo (oi_libpq.PQconninfo)
#define PQconninfoFree (oi_libpq.PQconninfoFree)
#define PQconninfoParse (oi_libpq.PQconninfoParse)
#define PQconsumeInput (oi_libpq.PQconsumeInput)
#define PQdescribePrepared (oi_libpq.PQdescribePrepared)
#define PQerrorMessage (oi_libpq.PQerrorMessage)
#define PQexec (oi_libpq.PQexec)
#define PQexecParams (oi_libpq.PQexecParams)
#define PQexecPrepared (oi_libpq.PQexecPrepared)
#define PQfinish (oi_libpq.PQfinish)
#define PQfreeCancel (oi_libpq.PQfreeCancel)
#define PQfreemem (oi_libpq.PQfreemem)
#define PQgetCancel (oi_libpq.PQgetCancel)
#define PQgetisnull (oi_libpq.PQgetisnull)
#define PQgetResult (oi_libpq.PQgetResult)
#define PQgetvalue (oi_libpq.PQgetvalue)
#define PQnfields (oi_libpq.PQnfields)
#define PQnotifies (oi_libpq.PQnotifies)
#define PQnparams (oi_libpq.PQnparams)
#define PQntuples (oi_libpq.PQntuples)
#define PQprepare (oi_libpq.PQprepare)
#define PQputCopyData (oi_libpq.PQputCopyData)
#define PQputCopyEnd (oi_libpq.PQputCopyEnd)
#define PQreset (oi_libpq.PQreset)
#define PQresStatus (oi_libpq.PQresStatus)
#define PQresultErrorField (oi_libpq.PQresultErrorField)
#define PQresultErrorMessage (oi_libpq.PQresultErrorMessage)
#define PQresultStatus (oi_libpq.PQresultStatus)
#define PQsendQueryParams (oi_libpq.PQsendQueryParams)
#define PQsendQueryPrepared (oi_libpq.PQsendQueryPrepared)
#define PQsetNoticeProcessor (oi_libpq.PQsetNoticeProcessor)
#define PQsetSingleRowMode (oi_libpq.PQsetSingleRowMode)
#define PQsocket (oi_libpq.PQsocket)
#define PQstatus (oi_libpq.PQstatus)
#define PQtransactionStatus (oi_libpq.PQtransactionStatus)
#endif

#endif
