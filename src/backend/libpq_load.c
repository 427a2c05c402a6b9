/*
 * libpq_load.c - fills oi_libpq, the table postgres.c calls libpq through
 * (libpq_load.h says why libpq is loaded on first use).
 *
 * Once per process (pthread_once): the service's workers open their
 * stores in threads, and the table is written once, before any of them
 * reads it.  A failed load stays failed, with the same message: nothing
 * changes on the disk while the process runs that a retry would see.
 */
#define OI_LIBPQ_LOADER
#include <pthread.h>

#include "backend/libpq_load.h"
#include "dynlib.h"

oi_libpq_functions oi_libpq;

static oi_dynlib libpq = {
    .soname = OI_LIBPQ_SONAME,
    .feature = "PostgreSQL support",
    .package = "libpq5",
};
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

#define RESOLVE(name) && OI_DYNLIB_RESOLVE(&libpq, oi_libpq, name)

static void load(void)
{
    loaded = oi_dynlib_open(&libpq) OI_LIBPQ_FUNCTIONS(RESOLVE);
}

const char *oi_libpq_load(void)
{
    pthread_once(&once, load);
    return loaded ? NULL : libpq.error;
}
