/*
 * mhd_load.c - fills srv_mhd, the table the service calls libmicrohttpd
 * through (mhd_load.h says why it is loaded when the service starts).
 *
 * Once per process (pthread_once), like libpq's loader; a failed load
 * stays failed, with the same message.
 */
#define SRV_MHD_LOADER
#include <pthread.h>

#include "dynlib.h"
#include "server/mhd_load.h"

srv_mhd_functions srv_mhd;

static oi_dynlib libmicrohttpd = {
    .soname = SRV_MHD_SONAME,
    .feature = "the HTTP service",
    .package = "libmicrohttpd12",
};
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

#define RESOLVE(name) && OI_DYNLIB_RESOLVE(&libmicrohttpd, srv_mhd, name)

static void load(void)
{
    loaded = oi_dynlib_open(&libmicrohttpd) SRV_MHD_FUNCTIONS(RESOLVE);
}

const char *srv_mhd_load(void)
{
    pthread_once(&once, load);
    return loaded ? NULL : libmicrohttpd.error;
}
