/*
 * views.c - the JSON form of single values, and the few calls that compose
 * views into the shapes the commands print (views.h).
 *
 * Every record view is made of these values, so a time, a JSON column or a
 * missing text looks the same in every record and on every path.  The
 * composition calls let a shape show a subset of a full view, in its own
 * member order (jansson keeps members in insertion order), without writing
 * any value's form a second time; they pass NULL along so that a view made
 * of many parts checks for failure once, at the end.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "views.h"

/* ---- text that is not UTF-8 --------------------------------------------- */

static view_repair_hook repair_hook;
static void *repair_ctx;

void view_set_repair_hook(view_repair_hook hook, void *ctx)
{
    repair_hook = hook;
    repair_ctx = ctx;
}

size_t view_utf8_char(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4)
        return 0;
    /* The second byte's range is narrower after E0, ED, F0 and F4. */
    unsigned char lo = p[0] == 0xE0 ? 0xA0 : p[0] == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = p[0] == 0xED ? 0x9F : p[0] == 0xF4 ? 0x8F : 0xBF;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* The bytes of the longest prefix of a sequence starting at p that could
 * still be valid (at least 1): one U+FFFD stands for them all. */
static size_t invalid_run(const unsigned char *p)
{
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 1;
    if (n == 1 || p[0] > 0xF4)
        return 1;
    unsigned char lo = p[0] == 0xE0 ? 0xA0 : p[0] == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = p[0] == 0xED ? 0x9F : p[0] == 0xF4 ? 0x8F : 0xBF;
    if (p[1] < lo || p[1] > hi)
        return 1;
    size_t i = 2;
    while (i < n && (p[i] & 0xC0) == 0x80)
        i++;
    return i;
}

char *view_utf8_repair(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text), valid = 0, n;
    while (valid < len && (n = view_utf8_char(text + valid)) > 0)
        valid += n;
    if (valid == len)
        return NULL;
    /* Each bad byte becomes at most 3 bytes (EF BF BD). */
    char *out = oi_malloc(3 * len + 1), *o = out;
    for (size_t i = 0; i < len; i += n) {
        if ((n = view_utf8_char(text + i)) > 0) {
            memcpy(o, p + i, n);
            o += n;
        } else {
            n = invalid_run(p + i);
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    *o = '\0';
    return out;
}

/* text as a JSON string, repaired if need be. */
static json_t *repaired_string(const char *text)
{
    char *fixed = view_utf8_repair(text);
    if (!fixed)
        return json_string(text);
    json_t *v = json_string(fixed);
    free(fixed);
    if (v && repair_hook)
        repair_hook(v, repair_ctx);
    return v;
}

/* ---- values ------------------------------------------------------------- */

json_t *view_string(const char *s)
{
    return s ? repaired_string(s) : json_null();
}

json_t *view_time(oi_time t)
{
    char buf[OI_TIME_BUFSZ];
    return t == OI_TIME_NULL ? json_null() : json_string(oi_time_format(t, buf));
}

/* The store keeps JSON columns as text; emit them as JSON, not as strings. */
json_t *view_embedded(const char *json_text)
{
    if (!json_text)
        return json_null();
    json_t *v = json_loads(json_text, JSON_DECODE_ANY, NULL);
    return v ? v : repaired_string(json_text);
}

json_t *view_number(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

json_t *view_age_seconds(oi_time t, oi_time now)
{
    return t == OI_TIME_NULL ? json_null() : json_integer((now - t) / 1000000);
}

/* ---- composition -------------------------------------------------------- */

json_t *view_set(json_t *into, const char *key, json_t *value)
{
    if (json_object_set_new(into, key, value) == 0) /* releases value on failure */
        return into;
    json_decref(into);
    return NULL;
}

json_t *view_copy(json_t *into, const char *as, const json_t *from, const char *key)
{
    json_t *value = json_object_get(from, key);
    return view_set(into, as, value ? json_incref(value) : NULL);
}

json_t *view_pick(json_t *into, const json_t *from, const char *const *keys)
{
    for (; *keys && into; keys++)
        into = view_copy(into, *keys, from, *keys);
    return into;
}

json_t *view_append(json_t *into, json_t *item)
{
    if (json_array_append_new(into, item) == 0) /* releases item on failure */
        return into;
    json_decref(into);
    return NULL;
}
