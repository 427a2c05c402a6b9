/*
 * params.h - the texts bound to a statement's parameters, in buffers kept
 * from one execution to the next.
 *
 * Both drivers must copy a bound text: the core binds from its stack (a
 * UUID lowered, a time formatted) and steps later.  A copy per bind was a
 * malloc and a free per parameter per execution (sqlite3_bind_text with
 * SQLITE_TRANSIENT, strdup in the PostgreSQL driver); here parameter i
 * keeps its buffer, grown when a longer text comes (a buffer over 4 KiB is
 * given back when a text of at most 4 KiB follows), so a statement run
 * again and again (a heartbeat) allocates nothing once warm.
 * The driver then binds the copy without copying again (SQLITE_STATIC).
 */
#ifndef OI_BACKEND_PARAMS_H
#define OI_BACKEND_PARAMS_H

#include <stddef.h>

typedef struct oi_param_texts {
    char **bufs;   /* one per parameter, NULL until first used */
    size_t *caps;
    int n;         /* parameters; 0 until the first copy */
} oi_param_texts;

/* Copy the `len` bytes of `text` (plus a NUL) into the buffer of parameter
 * `idx` (1-based, 1..nparams, checked by the caller) and return the copy,
 * valid until that parameter is copied again or the texts are freed. */
const char *oi_param_texts_copy(oi_param_texts *p, int nparams, int idx, const char *text,
                                size_t len);

void oi_param_texts_free(oi_param_texts *p);

#endif
