/*
 * util.c - formatted strings, growing buffers and error reporting.
 *
 * Memory comes from alloc.c, which never returns NULL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *out = oi_malloc((size_t)n + 1);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

char *oi_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = vformat(fmt, ap);
    va_end(ap);
    return out;
}

void oi_buf_add(oi_buf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = oi_realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, text, n + 1);
    b->len += n;
}

void oi_buf_addf(oi_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    oi_buf_add(b, text);
    free(text);
}

/* Messages are one line: a driver's embedded line breaks become spaces. */
static void set_message(oi_err *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    size_t len = strlen(err->msg);
    while (len && (err->msg[len - 1] == '\n' || err->msg[len - 1] == ' '))
        err->msg[--len] = '\0';
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

int oi_seterr(oi_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    err->code = code;
    err->constraint = OI_CONSTRAINT_NONE;
    return code;
}

int oi_fail(oi_store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(&s->err, fmt, ap);
    va_end(ap);
    s->err.code = code;
    s->err.constraint = OI_CONSTRAINT_NONE;
    return code;
}

int oi_fail_context(oi_store *s, int code, const char *fmt, ...)
{
    char cause[OI_ERRMSG_MAX], context[OI_ERRMSG_MAX];
    snprintf(cause, sizeof cause, "%s", s->err.msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    return oi_fail(s, code, "%s: %s", context, cause);
}

void oi_clear_error(oi_store *s)
{
    s->err.code = OI_OK;
    s->err.constraint = OI_CONSTRAINT_NONE;
    s->err.msg[0] = '\0';
}

const char *oi_strerror(int code)
{
    switch (code) {
    case OI_OK: return "success";
    case OI_ITEROVER: return "no more rows";
    case OI_EINVALID: return "invalid input";
    case OI_ENOTFOUND: return "not found";
    case OI_EEXISTS: return "already exists";
    case OI_ECONSTRAINT: return "constraint violated";
    case OI_ECONNECT: return "cannot connect";
    case OI_EAUTH: return "authentication failed";
    case OI_ESCHEMA: return "schema revision problem";
    case OI_EBUSY: return "database busy";
    case OI_EHELD: return "held by another agent";
    case OI_ESTATE: return "illegal in the current state";
    case OI_ESTALE: return "stale fencing token";
    case OI_ECONFLICT: return "revision conflict";
    case OI_ECOMPACTED: return "revision compacted";
    default: return "error";
    }
}

int oi_version(int *major, int *minor, int *patch)
{
    if (major)
        *major = OPTIINFRA_VERSION_MAJOR;
    if (minor)
        *minor = OPTIINFRA_VERSION_MINOR;
    if (patch)
        *patch = OPTIINFRA_VERSION_PATCH;
    return OPTIINFRA_VERSION_NUMBER;
}
