/*
 * fuzz_json.c - JSON values and every other kind of value: oi_value_check()
 * (values.h), the one validator every write path calls.
 *
 * Invariants:
 *   - every kind: a refusal is OI_EINVALID with a one-line message naming
 *     the field; what is accepted has no NUL byte, is valid UTF-8 and is
 *     within its kind's documented limit; a name is not empty and holds no
 *     control character, a text none but tab, line feed and carriage return;
 *   - JSON: what is accepted is JSON jansson parses with duplicate keys
 *     refused, nested at most OI_JSON_DEPTH_MAX deep.
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include "fuzz.h"

static size_t depth(const json_t *v)
{
    size_t deepest = 0, d, i;
    const char *key;
    json_t *item;
    if (json_is_array(v))
        json_array_foreach((json_t *)v, i, item)
            if ((d = depth(item)) > deepest)
                deepest = d;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, key, item)
            if ((d = depth(item)) > deepest)
                deepest = d;
    return json_is_array(v) || json_is_object(v) ? deepest + 1 : 0;
}

static void check_json(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                           &jerr);
    fuzz_assert(v != NULL);
    fuzz_assert(depth(v) <= OI_JSON_DEPTH_MAX);
    json_decref(v);
}

/* The documented limit of a kind; the others are bounded by their grammar. */
static size_t limit_of(oi_kind kind)
{
    switch (kind) {
    case OI_KIND_NAME:
    case OI_KIND_SEMVER:
        return OI_NAME_MAX;
    case OI_KIND_TEXT:
        return OI_TEXT_MAX;
    case OI_KIND_DOCUMENT:
    case OI_KIND_JSON:
        return OI_DOCUMENT_MAX;
    default:
        return SIZE_MAX;
    }
}

/* The control characters a kind allows: a name none, other text tab, LF, CR. */
static bool control_allowed(oi_kind kind, unsigned c)
{
    return kind != OI_KIND_NAME && (c == '\t' || c == '\n' || c == '\r');
}

/* The bytes hold a C0, DEL or C1 (U+0080-U+009F, "\xC2\x80"-"\xC2\x9F")
 * control character the kind does not allow. */
static bool has_control(oi_kind kind, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((p[i] < 0x20 || p[i] == 0x7F) && !control_allowed(kind, p[i]))
            return true;
        if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

static void check_kind(oi_kind kind, const uint8_t *data, size_t size)
{
    char msg[OI_VALUE_MSGSZ];
    int rc = oi_value_check(kind, "fuzz value", (const char *)data, size, msg, sizeof msg);
    if (rc != OI_OK) {
        fuzz_assert(rc == OI_EINVALID);
        fuzz_assert_message(msg);
        fuzz_assert(strncmp(msg, "fuzz value", 10) == 0);
        return;
    }
    fuzz_assert(!memchr(data, '\0', size));
    fuzz_assert(size <= limit_of(kind));
    json_t *utf8 = json_stringn((const char *)data, size); /* NULL if not UTF-8 */
    fuzz_assert(utf8 != NULL);
    json_decref(utf8);
    if (kind == OI_KIND_NAME)
        fuzz_assert(size > 0);
    if (kind == OI_KIND_NAME || kind == OI_KIND_TEXT || kind == OI_KIND_DOCUMENT)
        fuzz_assert(!has_control(kind, data, size));
    if (kind == OI_KIND_JSON)
        check_json(data, size);
}

void oi_fuzz_json(const uint8_t *data, size_t size)
{
    for (oi_kind kind = OI_KIND_NAME; kind <= OI_KIND_UUID; kind++)
        check_kind(kind, data, size);
}

OI_FUZZ_MAIN(json)
