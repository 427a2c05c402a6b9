/*
 * uuid.c - random (version 4) UUIDs as lower-case text, from libuuid.
 */
#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>
#include "internal.h"

void oi_uuid_generate(char out[OI_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

bool oi_uuid_valid(const char *s)
{
    uuid_t u;
    return s && strlen(s) == OI_UUID_LEN && uuid_parse(s, u) == 0;
}

void oi_uuid_lower(char *id)
{
    for (; *id; id++)
        *id = (char)tolower((unsigned char)*id);
}
