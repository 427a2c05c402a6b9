/*
 * params.c - bound parameter texts in buffers reused across executions
 * (params.h says why).
 */
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "backend/params.h"

/* Buffers up to this size are kept across executions. */
#define KEEP_MAX 4096

const char *oi_param_texts_copy(oi_param_texts *p, int nparams, int idx, const char *text,
                                size_t len)
{
    if (!p->n) {
        p->bufs = oi_calloc((size_t)nparams, sizeof *p->bufs);
        p->caps = oi_calloc((size_t)nparams, sizeof *p->caps);
        p->n = nparams;
    }
    size_t i = (size_t)idx - 1;
    /* A buffer grown for a large text (a document of up to 1 MiB) is not
     * kept for the small ones after it: a cached statement lives as long
     * as its store, a server's worker for days. */
    if (p->caps[i] < len + 1 || (p->caps[i] > KEEP_MAX && len + 1 <= KEEP_MAX)) {
        /* Room for a little more: a time or a number bound next may be a
         * byte longer, and should not reallocate; a large text gets its
         * size exactly. */
        size_t room = 2 * (len + 1) < 64 ? 64 : 2 * (len + 1);
        p->caps[i] = len + 1 > KEEP_MAX ? len + 1 : room < KEEP_MAX ? room : KEEP_MAX;
        free(p->bufs[i]);
        p->bufs[i] = oi_malloc(p->caps[i]);
    }
    memcpy(p->bufs[i], text, len);
    p->bufs[i][len] = '\0';
    return p->bufs[i];
}

void oi_param_texts_free(oi_param_texts *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->bufs[i]);
    free(p->bufs);
    free(p->caps);
    p->bufs = NULL;
    p->caps = NULL;
    p->n = 0;
}
