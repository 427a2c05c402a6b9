/*
 * alloc.c - allocation that never returns NULL.
 *
 * Allocation failure goes to one handler, the host program's if it set one
 * (oi_set_alloc_failure_handler), else a message and abort(): the callers
 * then read as the logic they are.  The handler is the library's only
 * process-wide setting; it is read with an atomic load so that a handler
 * set before the threads start is seen by all of them.  A thread the
 * library starts for itself (import.c's reader) sends its failures to a
 * handler of its own instead, which hands the size to the thread that
 * called the library: the host's handler, which may jump out of that call,
 * runs on that thread.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"

struct failure_handler {
    oi_alloc_failure_fn fn;
    void *ctx;
};

static struct failure_handler default_handler;
static _Atomic(const struct failure_handler *) current_handler = &default_handler;
static struct failure_handler installed_handler;
static _Thread_local struct failure_handler thread_handler;

void oi_set_alloc_failure_handler(oi_alloc_failure_fn fn, void *ctx)
{
    if (!fn) {
        atomic_store(&current_handler, &default_handler);
        return;
    }
    installed_handler.fn = fn;
    installed_handler.ctx = ctx;
    atomic_store(&current_handler, &installed_handler);
}

void oi_set_thread_oom_handler(oi_alloc_failure_fn fn, void *ctx)
{
    thread_handler.fn = fn;
    thread_handler.ctx = ctx;
}

void oi_oom(size_t size)
{
    if (thread_handler.fn)
        thread_handler.fn(size, thread_handler.ctx);
    const struct failure_handler *h = atomic_load(&current_handler);
    if (h->fn)
        h->fn(size, h->ctx);
    fprintf(stderr, "optiinfra: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void *oi_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oi_oom(n);
    return p;
}

void *oi_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oi_oom(n * size);
    return p;
}

void *oi_realloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oi_oom(n);
    return p;
}

void *oi_grow(void *array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return array;
    *cap = *cap ? *cap * 2 : 8;
    return oi_realloc(array, *cap * size);
}

char *oi_strdup(const char *s)
{
    return s ? strcpy(oi_malloc(strlen(s) + 1), s) : NULL;
}

char *oi_strndup(const char *s, size_t n)
{
    char *out = oi_malloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}
