/*
 * hash.h - FNV-1a, the one hash of the library's tables (the statement
 * cache, the set of valid metadata texts, the agent cache).
 *
 * Short keys (SQL text, a few dozen bytes of JSON, an agent's name or id)
 * hashed in a table of a few thousand slots: FNV-1a spreads them well
 * enough and costs a multiply a byte.  Inline, since each lookup of the
 * statement cache, once per statement run, hashes its key.
 */
#ifndef OI_HASH_H
#define OI_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OI_HASH_INIT UINT64_C(14695981039346656037) /* FNV-1a's offset basis */

/* h, continued over n bytes of data (start from OI_HASH_INIT). */
static inline uint64_t oi_hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211); /* FNV-1a's prime, 0x100000001b3 */
    return h;
}

/* The hash of a NUL-terminated text. */
static inline uint64_t oi_hash_text(const char *text)
{
    return oi_hash_bytes(OI_HASH_INIT, text, strlen(text));
}

#endif
