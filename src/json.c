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
#include <string.h>
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

/* Valid JSON is an object exactly when its first token is '{': jansson
 * skips these four whitespace bytes before it, and only these.  No text
 * (NULL) is no object, as json_loads(NULL) is no value. */
static bool is_object_text(const char *text)
{
    return text && text[strspn(text, " \t\n\r")] == '{';
}

int oi_json_check(oi_store *s, const char *what, const char *text, char kind)
{
    int rc = oi_value_require_str(s, OI_KIND_JSON, what, text);
    if (rc)
        return rc;
    /* An object is told by its first byte, not by parsing the text a second
     * time: the second parse was half of the import's JSON cost (W2, 50,000
     * CSV rows into SQLite under callgrind: this check 33.8% -> 21.3% of the
     * instructions; the import's 3.60 -> 3.04 G). */
    if (kind == 'o')
        return is_object_text(text) ? OI_OK
                                    : oi_fail(s, OI_EINVALID, "%s must be a JSON object", what);
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL); /* valid: checked above */
    if (!(json_is_array(v) && strings_only(v)))
        rc = oi_fail(s, OI_EINVALID, "%s must be a JSON array of strings", what);
    json_decref(v);
    return rc;
}
