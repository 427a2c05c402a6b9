/*
 * dynlib.c - opening a shared library on first use (dynlib.h says why).
 *
 * RTLD_NOW: a missing function fails the load at once, in dlerror's
 * words, not a call later.  RTLD_LOCAL: the library's symbols stay out of
 * the program's namespace, where they could satisfy another library by
 * accident.  A program that already links the library (the test suite
 * links libpq) gets the copy it has: dlopen of a loaded soname returns its
 * handle.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "dynlib.h"

static void set_error(oi_dynlib *lib)
{
    const char *why = dlerror();

    snprintf(lib->error, sizeof lib->error,
             "cannot load %s (%s): %s; install the Debian package %s", lib->soname,
             lib->feature, why ? why : "unknown error", lib->package);
}

bool oi_dynlib_open(oi_dynlib *lib)
{
    if (!lib->handle)
        lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle)
        set_error(lib);
    return lib->handle != NULL;
}

void *oi_dynlib_function(oi_dynlib *lib, const char *name)
{
    void *address;

    dlerror();   /* forget an older failure: dlerror reports the last one */
    address = dlsym(lib->handle, name);
    if (!address)
        set_error(lib);
    return address;
}
