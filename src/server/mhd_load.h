/*
 * mhd_load.h - libmicrohttpd, loaded when `optiinfra serve` starts.
 *
 * The service's files include this header (through server.h) instead of
 * <microhttpd.h> and call libmicrohttpd as always; each function they use
 * is #defined below to the member of the table srv_mhd that mhd_load.c
 * fills with dlsym, once.  So every other command of the CLI starts
 * without mapping libmicrohttpd.so.12 and GnuTLS, p11-kit and the rest
 * that it brings (about 5 ms a start: src/dynlib.h).
 *
 * As for libpq (backend/libpq_load.h): the types come from the header's
 * own declarations (__typeof__), and the program does not link
 * libmicrohttpd, so a function called but missing here fails the link.
 * The variadic MHD_start_daemon is a variadic function pointer, called
 * with the same arguments.
 *
 * srv_mhd_load() must succeed before the first call: srv_run() calls it
 * first, and fuzz/fuzz_http.c before it starts its daemon.
 */
#ifndef SRV_MHD_LOAD_H
#define SRV_MHD_LOAD_H

#include <microhttpd.h>

#define SRV_MHD_SONAME "libmicrohttpd.so.12"

/* Every libmicrohttpd function the service calls, and those fuzz_http
 * drives its daemon with (MHD_add_connection, MHD_run_wait). */
#define SRV_MHD_FUNCTIONS(X)                                                        \
    X(MHD_add_connection) X(MHD_add_response_header)                               \
    X(MHD_create_response_from_buffer) X(MHD_create_response_from_callback)        \
    X(MHD_destroy_response) X(MHD_get_connection_info) X(MHD_get_connection_values) \
    X(MHD_get_daemon_info) X(MHD_lookup_connection_value) X(MHD_queue_response)    \
    X(MHD_resume_connection) X(MHD_run_wait) X(MHD_start_daemon)                   \
    X(MHD_stop_daemon) X(MHD_suspend_connection)

#define SRV_MHD_MEMBER(name) __typeof__(name) *name;
typedef struct srv_mhd_functions {
    SRV_MHD_FUNCTIONS(SRV_MHD_MEMBER)
} srv_mhd_functions;
#undef SRV_MHD_MEMBER

/* Filled by srv_mhd_load(); read-only afterwards. */
extern srv_mhd_functions srv_mhd;

/* Load libmicrohttpd and fill srv_mhd, once per process, from any thread.
 * NULL when loaded; else the one line that says why not and what to
 * install, the same at every call. */
const char *srv_mhd_load(void);

/* The calls, through the table (not in mhd_load.c, which names the members
 * themselves). */
#ifndef SRV_MHD_LOADER
#define MHD_add_connection (srv_mhd.MHD_add_connection)
#define MHD_add_response_header (srv_mhd.MHD_add_response_header)
#define MHD_create_response_from_buffer (srv_mhd.MHD_create_response_from_buffer)
#define MHD_create_response_from_callback (srv_mhd.MHD_create_response_from_callback)
#define MHD_destroy_response (srv_mhd.MHD_destroy_response)
#define MHD_get_connection_info (srv_mhd.MHD_get_connection_info)
#define MHD_get_connection_values (srv_mhd.MHD_get_connection_values)
#define MHD_get_daemon_info (srv_mhd.MHD_get_daemon_info)
#define MHD_lookup_connection_value (srv_mhd.MHD_lookup_connection_value)
#define MHD_queue_response (srv_mhd.MHD_queue_response)
#define MHD_resume_connection (srv_mhd.MHD_resume_connection)
#define MHD_run_wait (srv_mhd.MHD_run_wait)
#define MHD_start_daemon (srv_mhd.MHD_start_daemon)
#define MHD_stop_daemon (srv_mhd.MHD_stop_daemon)
#define MHD_suspend_connection (srv_mhd.MHD_suspend_connection)
#endif

#endif
