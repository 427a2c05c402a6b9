/*
 * value.h - the library's side of optiinfra/values.h (value.c).
 *
 * Every write path calls oi_value_require() (or its C-string form) on each
 * text it is given, before it opens a transaction: a refusal is recorded on
 * the store as OI_EINVALID and nothing is written.  The scanners of times
 * and durations (time.c) say why a text is refused, so that the message of
 * oi_value_check() is the same whichever path parsed the text.
 */
#ifndef OI_VALUE_H
#define OI_VALUE_H

#include "internal.h"

/* oi_value_check() with the message recorded on the store. */
int oi_value_require(oi_store *s, oi_kind kind, const char *what, const char *text,
                     size_t len);
/* The same on a NUL-terminated text; NULL (an absent value) passes: whether a
 * value is required is the caller's check. */
int oi_value_require_str(oi_store *s, oi_kind kind, const char *what, const char *text);

/* time.c: NULL with *out set, or the reason the `len` bytes at text are no
 * time (duration), a phrase that follows the value's name: "is not ...". */
const char *oi_time_scan(const char *text, size_t len, oi_time *out);
const char *oi_duration_scan(const char *text, size_t len, int64_t *micros);

#endif
