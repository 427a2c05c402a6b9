/*
 * buf.h - a growing string, for SQL built from identifiers (never from
 * values).  Shared by the core and the backends (the dialect appends its
 * SQL to one); implemented in util.c, memory from alloc.h.
 */
#ifndef OI_BUF_H
#define OI_BUF_H

#include <stddef.h>

/* Zero-initialise ({0}); data stays NULL until the first add; free(data). */
typedef struct oi_buf {
    char *data;
    size_t len, cap;
} oi_buf;

void oi_buf_add(oi_buf *b, const char *text);
void oi_buf_addf(oi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
