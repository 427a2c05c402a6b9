/*
 * utf8.h - reading UTF-8 one character at a time, and repairing text that
 * is not UTF-8 for display.
 *
 * One decoder for the validators (value.c), which refuse ill-formed text,
 * and for the outputs (export.c, the views, the CLI's text, the service's
 * error messages), which show text another client wrote straight into the
 * database or a request carried.
 */
#ifndef OI_UTF8_H
#define OI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the well-formed UTF-8 character at p, of at most
 * `left` bytes (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF), with its code point in *cp; 0 if it is not well formed.  On
 * NUL-terminated text `left` may be the rest's length or more: the NUL
 * ends any sequence it interrupts. */
size_t oi_utf8_char(const char *p, size_t left, uint32_t *cp);

/* A copy of text in which each ill-formed sequence is one U+FFFD (the
 * longest start of a sequence that could have been well formed, at least
 * one byte: the WHATWG Encoding Standard's rule), or NULL when text is
 * well-formed UTF-8 and needs no repair.  free() the copy. */
char *oi_utf8_repair(const char *text);

/* text as a terminal, a log line or a one-line message may show it: a
 * control character (C0, DEL) and a byte that is not UTF-8 as \x1b, a C1
 * control as \u009b, so that no value can break a line, move the cursor,
 * recolour or retitle a terminal.  A new string; free() it. */
char *oi_utf8_escape(const char *text);

#endif
