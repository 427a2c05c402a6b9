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
#include "utf8.h"
#include "views.h"

/* ---- text that is not UTF-8 --------------------------------------------- */

static view_repair_hook repair_hook;
static void *repair_ctx;

void view_set_repair_hook(view_repair_hook hook, void *ctx)
{
    repair_hook = hook;
    repair_ctx = ctx;
}

/* text as a JSON string, repaired if need be. */
static json_t *repaired_string(const char *text)
{
    char *fixed = oi_utf8_repair(text);
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
