/*
 * utf8.c - one UTF-8 decoder (utf8.h).
 *
 * Written out rather than taken from jansson: jansson answers only whether
 * a whole string is valid, and the callers need each character's length
 * and code point (for control characters and byte positions in messages)
 * and the place where text stops being UTF-8.
 */
#include <stdio.h>
#include <string.h>
#include "alloc.h"
#include "utf8.h"

/* What a lead byte promises: the sequence's length (0 for a byte that
 * cannot start one) and the range of the second byte, narrower after E0
 * (no overlong form), ED (no surrogate), F0 (no overlong form) and F4
 * (nothing past U+10FFFF). */
typedef struct lead {
    size_t len;
    unsigned char lo, hi;
} lead;

static lead lead_of(unsigned char b)
{
    lead l = {0, 0x80, 0xBF};
    if (b >= 0xC2 && b <= 0xDF)
        l.len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        l.len = 3, l.lo = b == 0xE0 ? 0xA0 : 0x80, l.hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        l.len = 4, l.lo = b == 0xF0 ? 0x90 : 0x80, l.hi = b == 0xF4 ? 0x8F : 0xBF;
    return l;
}

size_t oi_utf8_char(const char *text, size_t left, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)text;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    lead l = lead_of(p[0]);
    if (l.len == 0 || left < l.len || p[1] < l.lo || p[1] > l.hi)
        return 0;
    *cp = p[0] & (0x7F >> l.len);
    for (size_t i = 1; i < l.len; i++) {
        if (i > 1 && (p[i] < 0x80 || p[i] > 0xBF))
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3F);
    }
    return l.len;
}

/* The bytes at p that one U+FFFD replaces (p starts no well-formed
 * character): the lead byte and the continuation bytes that could still
 * have completed it. */
static size_t invalid_run(const unsigned char *p)
{
    lead l = lead_of(p[0]);
    if (l.len == 0 || p[1] < l.lo || p[1] > l.hi)
        return 1;
    size_t i = 2;
    while (i < l.len && p[i] >= 0x80 && p[i] <= 0xBF)
        i++;
    return i;
}

char *oi_utf8_repair(const char *text)
{
    size_t len = strlen(text), valid = 0, n;
    uint32_t cp;
    while (valid < len && (n = oi_utf8_char(text + valid, len - valid, &cp)) > 0)
        valid += n;
    if (valid == len)
        return NULL;
    char *out = oi_malloc(3 * len + 1), *o = out; /* a bad byte: at most EF BF BD */
    memcpy(o, text, valid);
    o += valid;
    for (size_t i = valid; i < len; i += n) {
        if ((n = oi_utf8_char(text + i, len - i, &cp)) > 0) {
            memcpy(o, text + i, n);
            o += n;
        } else {
            n = invalid_run((const unsigned char *)text + i);
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    *o = '\0';
    return out;
}

char *oi_utf8_escape(const char *text)
{
    char *out = oi_malloc(4 * strlen(text) + 1), *o = out; /* a byte: at most "\\xff" */
    size_t n, left = strlen(text);
    uint32_t cp;
    for (const char *p = text; *p; p += n, left -= n) {
        n = oi_utf8_char(p, left, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7F) {   /* a control or a byte that is not UTF-8 */
            o += sprintf(o, "\\x%02x", (unsigned char)*p);
            n = 1;
        } else if (cp >= 0x80 && cp <= 0x9F) {   /* C1 */
            o += sprintf(o, "\\u%04x", (unsigned)cp);
        } else {
            memcpy(o, p, n);
            o += n;
        }
    }
    *o = '\0';
    return out;
}
