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
/* Report a failed allocation of `size` bytes: never returns. */
void oi_oom(size_t size) __attribute__((noreturn));

#endif
