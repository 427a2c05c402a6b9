/*
 * uuid.c - UUIDs as text: random (version 4) ones made by libuuid, and the
 * text form every id is given in, checked and lower-cased (ids are stored
 * in lower case).
 */
#include <string.h>
#include <uuid/uuid.h>
#include "internal.h"

void oi_uuid_generate(char out[OI_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

/* The text libuuid's uuid_parse() reads, checked by hand: 36 characters,
 * hyphens at 8, 13, 18 and 23, hexadecimal digits of either case elsewhere.
 * uuid_parse() reads each group with strtoul, and every call naming an agent
 * checks its id: that was 8% of a heartbeat's client instructions.
 * tests/test_values.c holds the two to one verdict. */
static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool oi_uuid_valid(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < OI_UUID_LEN; i++) {
        bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? s[i] != '-' : !is_hex_digit(s[i]))
            return false;   /* a shorter text stops here, at its NUL */
    }
    return s[OI_UUID_LEN] == '\0';
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void oi_uuid_lower_copy(char out[OI_UUID_LEN + 1], const char *id)
{
    size_t i = 0;
    for (; i < OI_UUID_LEN && id[i]; i++)
        out[i] = ascii_lower(id[i]);
    out[i] = '\0';
}

void oi_uuid_lower(char *id)
{
    for (; *id; id++)
        *id = ascii_lower(*id);
}
