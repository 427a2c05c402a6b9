/*
 * alloc.h - the one allocator family of the library and the CLI.
 *
 * Every allocation of liboptiinfra and of the optiinfra tool goes through
 * these calls.  None returns NULL: on exhaustion they call the handler set
 * with oi_set_alloc_failure_handler() (include/optiinfra/alloc.h), which by
 * default prints a message and aborts.
 */
#ifndef OI_ALLOC_H
#define OI_ALLOC_H

#include <stddef.h>
#include "optiinfra/alloc.h"

void *oi_malloc(size_t n);
void *oi_calloc(size_t n, size_t size);
void *oi_realloc(void *p, size_t n);
char *oi_strdup(const char *s);   /* NULL stays NULL */
char *oi_strndup(const char *s, size_t n);
/* An array of n elements of `size` bytes, grown (doubling, *cap updated) so
 * that element n fits: rows = oi_grow(rows, &cap, n, sizeof *rows). */
void *oi_grow(void *array, size_t *cap, size_t n, size_t size);
/* This thread's failures go to fn (which must not return), not to the
 * process's handler: for a thread the library starts itself, whose
 * failure the calling thread then reports with oi_oom().  NULL: the
 * process's handler again. */
void oi_set_thread_oom_handler(oi_alloc_failure_fn fn, void *ctx);
/* Report a failed allocation of `size` bytes: never returns. */
void oi_oom(size_t size) __attribute__((noreturn));

#endif
