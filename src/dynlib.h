/*
 * dynlib.h - a shared library loaded on its first use (dlopen), not when
 * the program starts.
 *
 * Why: a program linked with libpq and libmicrohttpd maps them and their
 * dependencies (Kerberos, LDAP, GnuTLS, p11-kit: about 30 libraries) at
 * every start, and runs their relocations and constructors, whether or not
 * it ever talks to PostgreSQL or serves HTTP.  Measured on the team's
 * machine: an empty main() linked as the CLI was took 17.9 ms to run,
 * 5.6 ms without those two; `optiinfra --version` 18.8 ms against
 * `sqlite3 --version`'s 7.2 ms.  So the PostgreSQL backend and the HTTP
 * service load their library when they first need it, and a CLI working on
 * SQLite maps neither.
 *
 * Each such library has a loader of its own (backend/libpq_load.c,
 * server/mhd_load.c): a table of the functions its callers use, filled by
 * dlsym once (pthread_once: the service's workers open stores in threads).
 * This file is what they share: opening, finding a function, and the one
 * line that says why loading failed and what to install.
 *
 * A library is never closed: its functions stay in use until the process
 * ends.
 */
#ifndef OI_DYNLIB_H
#define OI_DYNLIB_H

#include <stdbool.h>

#define OI_DYNLIB_ERROR_MAX 400

typedef struct oi_dynlib {
    const char *soname;    /* "libpq.so.5": the ABI the headers describe */
    const char *feature;   /* what needs it, for the message: "PostgreSQL support" */
    const char *package;   /* the Debian package that ships it: "libpq5" */
    void *handle;          /* NULL until opened */
    char error[OI_DYNLIB_ERROR_MAX];  /* why loading failed, once it has */
} oi_dynlib;

/* dlopen the library (idempotent).  On failure false, and lib->error reads
 * "cannot load libpq.so.5 (PostgreSQL support): <dlerror>; install the
 * Debian package libpq5".  Not thread-safe: call it from a pthread_once. */
bool oi_dynlib_open(oi_dynlib *lib);

/* The address of the function `name` in the opened library; NULL, with
 * lib->error set the same way, when the library has none (an older one). */
void *oi_dynlib_function(oi_dynlib *lib, const char *name);

/* Set table.name to the function `name` of lib, typed as the library's
 * header declares it; false when the library lacks it.  POSIX guarantees
 * that dlsym's void * converts to a function pointer. */
#define OI_DYNLIB_RESOLVE(lib, table, name) \
    ((table).name = (__typeof__((table).name))oi_dynlib_function(lib, #name))

#endif
