/*
 * optiinfra/alloc.h - what the library does when memory runs out.
 *
 * The library does not return an error for a failed allocation: a process
 * that cannot allocate a few hundred bytes has no useful way to go on, and
 * checking every allocation would bury the logic (Redis's zmalloc makes
 * the same choice).  By default it prints "optiinfra: out of memory" on
 * stderr and aborts.  A host program may install its own handler, to log
 * through its own channel or exit its own way; the allocation is not
 * retried, and a handler that returns makes the library abort.
 */
#ifndef OPTIINFRA_ALLOC_H
#define OPTIINFRA_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Called with the size that could not be allocated and the ctx given to
 * oi_set_alloc_failure_handler().  It should not return; if it does, the
 * library aborts as the default handler does.
 */
typedef void (*oi_alloc_failure_fn)(size_t size, void *ctx);

/**
 * Install fn (NULL: the default, print and abort) for the whole process.
 * Set it once, before any store is opened: changing it while other
 * threads use the library is not supported.
 */
void oi_set_alloc_failure_handler(oi_alloc_failure_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
