/*
 * json.c - validating JSON fields: the JSON kind of value (value.c), then
 * the shape the field needs (an object, an array of strings).
 *
 * Every JSON value is checked before it is written, so that both backends
 * refuse the same inputs with the same message, naming the field, line and
 * column.  The text is then stored as given: re-serialising it through
 * jansson would print 0.85 as 0.84999999999999998, and a metadata filter on
 * "0.85" would no longer match.  PostgreSQL's jsonb normalises spacing and
 * key order on its own; SQLite returns the text as written.
 */
#include <jansson.h>
#include "value.h"

static bool strings_only(json_t *array)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item)
        if (!json_is_string(item))
            return false;
    return true;
}

int oi_json_check(oi_store *s, const char *what, const char *text, char kind)
{
    int rc = oi_value_require_str(s, OI_KIND_JSON, what, text);
    if (rc)
        return rc;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL); /* valid: checked above */
    if (kind == 'o' && !json_is_object(v))
        rc = oi_fail(s, OI_EINVALID, "%s must be a JSON object", what);
    else if (kind == 'a' && !(json_is_array(v) && strings_only(v)))
        rc = oi_fail(s, OI_EINVALID, "%s must be a JSON array of strings", what);
    json_decref(v);
    return rc;
}
