/*
 * value.c - the one validator of each kind of value (optiinfra/values.h).
 *
 * Every path that writes (the library's calls, the CLI, the service, the
 * imports) hands each value to oi_value_check() before it writes anything,
 * so a text gets the same verdict and the same message on every path and on
 * both backends, whatever each database would itself have accepted.
 *
 * Design choices:
 * - Values are (pointer, length), never C strings: a NUL byte read from a
 *   file or stdin is found and refused rather than silently ending the text.
 * - The cheap checks come first (length, then bytes), so an oversized value
 *   is refused before it is parsed; JSON's nesting is counted on the bytes
 *   before jansson builds a tree of it.
 * - UTF-8 is checked by the library's one decoder (utf8.c, RFC 3629: no
 *   overlong forms, no surrogates, nothing above U+10FFFF), as PostgreSQL
 *   checks it, so SQLite, which stores any bytes, can no longer keep text
 *   that PostgreSQL or a JSON view would refuse.  Control characters (C0, DEL, C1) are what make a name
 *   print as a terminal escape; free text keeps tab and line breaks.
 * - Messages name the value (`what`) and the fault, never the value itself:
 *   it may be a secret (a sensitive config value) or an escape sequence.
 * - Times and durations are parsed by time.c's scanners, numbers by
 *   number.c's decimal grammar, UUIDs by uuid.c: one grammar each, which
 *   the parsers the rest of the library uses share.
 */
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include "utf8.h"
#include "value.h"

/* ---- messages ------------------------------------------------------------ */

/* "<what> <reason>" into msg; returns OI_EINVALID. */
static int refuse(char *msg, size_t msgsz, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(char *msg, size_t msgsz, const char *what, const char *fmt, ...)
{
    if (!msg || msgsz == 0)
        return OI_EINVALID;
    int n = snprintf(msg, msgsz, "%s ", what);
    if (n >= 0 && (size_t)n < msgsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, msgsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return OI_EINVALID;
}

/* ---- bytes: length, NUL, UTF-8, control characters ----------------------- */

static bool is_control(uint32_t cp, bool line_breaks_allowed)
{
    if (line_breaks_allowed && (cp == '\t' || cp == '\n' || cp == '\r'))
        return false;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

static int check_size(const char *what, size_t len, size_t max, char *msg, size_t msgsz)
{
    if (len > max)
        return refuse(msg, msgsz, what, "is longer than %zu bytes (the limit of the store): "
                      "shorten it", max);
    return OI_OK;
}

/* At most max bytes, none of them NUL: what every kind of text asks first. */
static int check_bytes(const char *what, const char *text, size_t len, size_t max, char *msg,
                       size_t msgsz)
{
    int rc = check_size(what, len, max, msg, msgsz);
    const char *nul = rc == OI_OK ? memchr(text, '\0', len) : NULL;
    if (nul)
        return refuse(msg, msgsz, what, "contains a NUL byte (byte %zu): text may not "
                      "contain NUL", (size_t)(nul - text) + 1);
    return rc;
}

/* Well-formed UTF-8 without control characters (but tab and line breaks
 * where allowed); byte positions in messages count from 1. */
static int check_utf8(const char *what, const char *text, size_t len, bool line_breaks_allowed,
                      char *msg, size_t msgsz)
{
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        size_t n = oi_utf8_char(text + at, len - at, &cp);
        if (n == 0)
            return refuse(msg, msgsz, what, "is not valid UTF-8 (byte %zu): send UTF-8 text",
                          at + 1);
        if (is_control(cp, line_breaks_allowed))
            return refuse(msg, msgsz, what, "contains control characters (U+%04X at byte "
                          "%zu): %s", (unsigned)cp, at + 1, line_breaks_allowed
                          ? "only tab, line feed and carriage return are allowed"
                          : "a name is one line of printable text");
        at += n;
    }
    return OI_OK;
}

static int check_text(const char *what, const char *text, size_t len, size_t max,
                      bool line_breaks_allowed, char *msg, size_t msgsz)
{
    int rc = check_bytes(what, text, len, max, msg, msgsz);
    if (rc == OI_OK)
        rc = check_utf8(what, text, len, line_breaks_allowed, msg, msgsz);
    return rc;
}

static int check_name(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    if (len == 0)
        return refuse(msg, msgsz, what, "is empty: give a name");
    return check_text(what, text, len, OI_NAME_MAX, false, msg, msgsz);
}

/* ---- JSON ---------------------------------------------------------------- */

/* The deepest nesting of arrays and objects, counted on the bytes (strings
 * skipped): cheap, and done before jansson builds the tree. */
static size_t json_depth(const char *text, size_t len)
{
    size_t depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest)
                deepest = depth;
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return deepest;
}

static int check_json(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    int rc = check_bytes(what, text, len, OI_DOCUMENT_MAX, msg, msgsz);
    if (rc)
        return rc;
    if (json_depth(text, len) > OI_JSON_DEPTH_MAX)
        return refuse(msg, msgsz, what, "nests arrays and objects more than %d deep",
                      OI_JSON_DEPTH_MAX);
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v) {
        json_decref(v);
        return OI_OK;
    }
    /* jansson ends its message with " near '<token>'": the value's own text */
    char *near = strstr(jerr.text, " near ");
    if (near)
        *near = '\0';
    if (strstr(jerr.text, "\\u0000"))
        snprintf(jerr.text, sizeof jerr.text, "a \\u0000 escape (text may not contain NUL)");
    return refuse(msg, msgsz, what, "is not valid JSON: %s at line %d column %d", jerr.text,
                  jerr.line, jerr.column);
}

/* ---- numbers and words ----------------------------------------------------- */

static int check_number(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    int rc = check_bytes(what, text, len, OI_DOCUMENT_MAX, msg, msgsz);
    if (rc)
        return rc;
    char *copy = oi_strndup(text, len);
    double d;
    oi_decimal found = oi_number_parse_decimal(copy, &d);
    free(copy);
    switch (found) {
    case OI_DECIMAL_OK: return OI_OK;
    case OI_DECIMAL_NOT_FINITE:
        return refuse(msg, msgsz, what, "must be a finite number, not nan or inf");
    case OI_DECIMAL_OUT_OF_RANGE:
        return refuse(msg, msgsz, what, "is not a number in the range of a double (beyond "
                      "+-1.8e308, or nonzero but so small it would be 0)");
    default:
        return refuse(msg, msgsz, what, "is not a number (decimal, like 12, -0.5 or 1e-3; no "
                      "'+', spaces or hexadecimal)");
    }
}

static bool is_int64(const char *text, size_t len)
{
    bool negative = len && text[0] == '-';
    size_t i = negative;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, n = 0;
    if (i == len)
        return false;
    for (; i < len; i++) {
        unsigned digit = (unsigned char)text[i] - '0';
        if (digit > 9 || n > (limit - digit) / 10)
            return false;
        n = n * 10 + digit;
    }
    return true;
}

static int check_integer(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    size_t digits_from = len && text[0] == '-';
    bool all_digits = len > digits_from;
    for (size_t i = digits_from; i < len; i++)
        all_digits = all_digits && text[i] >= '0' && text[i] <= '9';
    if (!all_digits)
        return refuse(msg, msgsz, what, "is not an integer (digits with an optional '-')");
    if (!is_int64(text, len))
        return refuse(msg, msgsz, what, "is outside the 64-bit integer range");
    return OI_OK;
}

static bool is_word(const char *text, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(text, word, len) == 0;
}

static int check_boolean(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    if (is_word(text, len, "true") || is_word(text, len, "false"))
        return OI_OK;
    return refuse(msg, msgsz, what, "is not a boolean: use true or false");
}

/* ---- times, durations, UUIDs ----------------------------------------------- */

static int check_time(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    oi_time t;
    const char *why = oi_time_scan(text, len, &t);
    return why ? refuse(msg, msgsz, what, "%s", why) : OI_OK;
}

static int check_duration(const char *what, const char *text, size_t len, char *msg,
                          size_t msgsz)
{
    int64_t micros;
    const char *why = oi_duration_scan(text, len, &micros);
    return why ? refuse(msg, msgsz, what, "%s", why) : OI_OK;
}

static int check_uuid(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    char copy[OI_UUID_LEN + 1];
    if (len == OI_UUID_LEN && !memchr(text, '\0', len)) {
        memcpy(copy, text, len);
        copy[len] = '\0';
        if (oi_uuid_valid(copy))
            return OI_OK;
    }
    return refuse(msg, msgsz, what, "is not a UUID (8-4-4-4-12 hexadecimal digits)");
}

/* ---- semantic versions (SemVer 2.0.0) --------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_identifier_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric part of the version core: "0" or digits without a leading 0. */
static const char *semver_number(const char *p, const char *end)
{
    const char *start = p;
    while (p < end && is_digit(*p))
        p++;
    if (p == start || (*start == '0' && p - start > 1))
        return NULL;
    return p;
}

/* Dot-separated non-empty identifiers up to `end` or `stop`; in a
 * pre-release, a numeric identifier has no leading zero. */
static const char *semver_identifiers(const char *p, const char *end, char stop, bool prerelease)
{
    for (;;) {
        const char *start = p;
        bool numeric = true;
        for (; p < end && is_identifier_char(*p); p++)
            numeric = numeric && is_digit(*p);
        if (p == start || (prerelease && numeric && *start == '0' && p - start > 1))
            return NULL;
        if (p == end || *p == stop)
            return p;
        if (*p++ != '.')
            return NULL;
    }
}

static bool is_semver(const char *p, const char *end)
{
    for (int part = 0; part < 3 && p; part++) {
        if (part && (p == end || *p++ != '.'))
            return false;
        p = semver_number(p, end);
    }
    if (p && p < end && *p == '-')
        p = semver_identifiers(p + 1, end, '+', true);
    if (p && p < end && *p == '+')
        p = semver_identifiers(p + 1, end, '\0', false);
    return p == end;
}

static int check_semver(const char *what, const char *text, size_t len, char *msg, size_t msgsz)
{
    int rc = check_size(what, len, OI_NAME_MAX, msg, msgsz);
    if (rc == OI_OK && !is_semver(text, text + len))
        rc = refuse(msg, msgsz, what, "is not a semantic version (major.minor.patch without "
                    "leading zeros, like 1.2.0 or 2.0.0-rc.1+b5)");
    return rc;
}

/* ---- the entry points -------------------------------------------------------- */

int oi_value_check(oi_kind kind, const char *what, const char *text, size_t len,
                   char *msg, size_t msgsz)
{
    if (!what)
        what = "the value";
    if (!text && len)
        return refuse(msg, msgsz, what, "is missing");
    if (!text)
        text = "";
    switch (kind) {
    case OI_KIND_NAME: return check_name(what, text, len, msg, msgsz);
    case OI_KIND_TEXT: return check_text(what, text, len, OI_TEXT_MAX, true, msg, msgsz);
    case OI_KIND_DOCUMENT:
        return check_text(what, text, len, OI_DOCUMENT_MAX, true, msg, msgsz);
    case OI_KIND_JSON: return check_json(what, text, len, msg, msgsz);
    case OI_KIND_NUMBER: return check_number(what, text, len, msg, msgsz);
    case OI_KIND_INTEGER: return check_integer(what, text, len, msg, msgsz);
    case OI_KIND_BOOLEAN: return check_boolean(what, text, len, msg, msgsz);
    case OI_KIND_TIME: return check_time(what, text, len, msg, msgsz);
    case OI_KIND_DURATION: return check_duration(what, text, len, msg, msgsz);
    case OI_KIND_SEMVER: return check_semver(what, text, len, msg, msgsz);
    case OI_KIND_UUID: return check_uuid(what, text, len, msg, msgsz);
    }
    return refuse(msg, msgsz, what, "has an unknown kind of value (%d)", (int)kind);
}

int oi_value_require(oi_store *s, oi_kind kind, const char *what, const char *text,
                     size_t len)
{
    char msg[OI_VALUE_MSGSZ];
    if (oi_value_check(kind, what, text, len, msg, sizeof msg) == OI_OK)
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "%s", msg);
}

int oi_value_require_str(oi_store *s, oi_kind kind, const char *what, const char *text)
{
    return text ? oi_value_require(s, kind, what, text, strlen(text)) : OI_OK;
}
