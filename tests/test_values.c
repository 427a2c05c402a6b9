/*
 * test_values.c - the validators of optiinfra/values.h, and the paths that
 * use them.
 *
 * First each kind on its own (no store): a table of texts each kind must
 * accept and must refuse, the message rules (it starts with `what`, never
 * echoes the value, fits the buffer), and the parsers that share a grammar
 * with a kind (oi_time_parse, oi_duration_parse, oi_semver_compare) giving
 * the same verdicts; and the store's own time spellings, which time.c reads
 * by a fixed-form path, read as the general scanner reads them (at every
 * field's bounds and on 300,000 random texts).  Then, on the backend under
 * test, the examples of defect classes 2 to 6 through the CLI: each
 * refused with exit 3 and the database's fingerprint unchanged; and the
 * boundary values that are accepted (a 255-byte name, a multi-byte name,
 * years 0001 and 9999, the epoch, a 1 MiB config value, JSON 64 deep) read
 * back byte-exact.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define AGENT "Test Cost Agent"

/* ---- each kind on its own ---------------------------------------------------- */

typedef struct kind_case {
    oi_kind kind;
    const char *text;
    size_t len;   /* 0: strlen(text) */
    bool ok;
} kind_case;

#define OK(k, t) {k, t, sizeof t - 1, true}
#define NO(k, t) {k, t, sizeof t - 1, false}

static const kind_case kind_cases[] = {
    OK(OI_KIND_NAME, "cpu"), OK(OI_KIND_NAME, "Cost Optimizer"),
    OK(OI_KIND_NAME, "caf\xc3\xa9 \xe5\x90\x8d \xf0\x9f\x98\x80"),
    OK(OI_KIND_NAME, "'; DROP TABLE agents; --"),
    NO(OI_KIND_NAME, ""), NO(OI_KIND_NAME, "bad\xff"), NO(OI_KIND_NAME, "\x1b[31mred"),
    NO(OI_KIND_NAME, "two\nlines"), NO(OI_KIND_NAME, "tab\there"), NO(OI_KIND_NAME, "del\x7f"),
    NO(OI_KIND_NAME, "c1 \xc2\x9b"), NO(OI_KIND_NAME, "abc\0def"),
    NO(OI_KIND_NAME, "overlong \xc0\xaf"), NO(OI_KIND_NAME, "surrogate \xed\xa0\x80"),
    NO(OI_KIND_NAME, "beyond \xf4\x90\x80\x80"), NO(OI_KIND_NAME, "cut \xe2\x82"),
    OK(OI_KIND_TEXT, ""), OK(OI_KIND_TEXT, "line one\r\nline\ttwo\n"),
    NO(OI_KIND_TEXT, "abc\0def"), NO(OI_KIND_TEXT, "bell\a"), NO(OI_KIND_TEXT, "bad\xfe"),
    OK(OI_KIND_DOCUMENT, ""), OK(OI_KIND_DOCUMENT, "any {text\n"), NO(OI_KIND_DOCUMENT, "a\0b"),
    OK(OI_KIND_JSON, "{\"a\": [1, 2.5, \"x\", null, true]}"), OK(OI_KIND_JSON, "3"),
    OK(OI_KIND_JSON, "\"s\""), OK(OI_KIND_JSON, "[1e308, -1e-400, 9223372036854775807]"),
    NO(OI_KIND_JSON, "{\"a\":1,\"a\":2}"), NO(OI_KIND_JSON, "[1e400]"),
    NO(OI_KIND_JSON, "[99999999999999999999]"), NO(OI_KIND_JSON, "\"\\u0000\""),
    NO(OI_KIND_JSON, "{bad"), NO(OI_KIND_JSON, ""), NO(OI_KIND_JSON, "[NaN]"),
    NO(OI_KIND_JSON, "[1] [2]"), NO(OI_KIND_JSON, "{\"a\": 1}\0"),
    NO(OI_KIND_JSON, "\"\xff\""), NO(OI_KIND_JSON, "\"\\ud800\""),
    OK(OI_KIND_NUMBER, "12"), OK(OI_KIND_NUMBER, "-0.5"), OK(OI_KIND_NUMBER, "1e-3"),
    OK(OI_KIND_NUMBER, "1E+21"), OK(OI_KIND_NUMBER, "007"), OK(OI_KIND_NUMBER, "-0"),
    OK(OI_KIND_NUMBER, "1.7976931348623157e308"), OK(OI_KIND_NUMBER, "5e-324"),
    OK(OI_KIND_NUMBER, "0e-400"), NO(OI_KIND_NUMBER, "1e-400"),
    NO(OI_KIND_NUMBER, "0x10"), NO(OI_KIND_NUMBER, " 5"), NO(OI_KIND_NUMBER, "5 "),
    NO(OI_KIND_NUMBER, "+5"), NO(OI_KIND_NUMBER, "inf"), NO(OI_KIND_NUMBER, "-Infinity"),
    NO(OI_KIND_NUMBER, "nan"), NO(OI_KIND_NUMBER, "1e400"), NO(OI_KIND_NUMBER, ".5"),
    NO(OI_KIND_NUMBER, "5."), NO(OI_KIND_NUMBER, "1e"), NO(OI_KIND_NUMBER, ""),
    NO(OI_KIND_NUMBER, "1,5"), NO(OI_KIND_NUMBER, "1\0"),
    OK(OI_KIND_INTEGER, "42"), OK(OI_KIND_INTEGER, "-7"), OK(OI_KIND_INTEGER, "0"),
    OK(OI_KIND_INTEGER, "9223372036854775807"), OK(OI_KIND_INTEGER, "-9223372036854775808"),
    NO(OI_KIND_INTEGER, "9223372036854775808"), NO(OI_KIND_INTEGER, "-9223372036854775809"),
    NO(OI_KIND_INTEGER, "4.2"), NO(OI_KIND_INTEGER, "+1"), NO(OI_KIND_INTEGER, "0x10"),
    NO(OI_KIND_INTEGER, " 1"), NO(OI_KIND_INTEGER, "-"), NO(OI_KIND_INTEGER, ""),
    OK(OI_KIND_BOOLEAN, "true"), OK(OI_KIND_BOOLEAN, "false"), NO(OI_KIND_BOOLEAN, "True"),
    NO(OI_KIND_BOOLEAN, "1"), NO(OI_KIND_BOOLEAN, "true "), NO(OI_KIND_BOOLEAN, "true\0"),
    OK(OI_KIND_TIME, "1970-01-01T00:00:00Z"), OK(OI_KIND_TIME, "0001-01-01T00:00:00Z"),
    OK(OI_KIND_TIME, "9999-12-31T23:59:59.999999Z"), OK(OI_KIND_TIME, "2026-11-25 08:11:55+00"),
    OK(OI_KIND_TIME, "2026-11-25T08:11:55+14:00"), OK(OI_KIND_TIME, "2026-11-25T08:11:55-1400"),
    OK(OI_KIND_TIME, "0000-12-31T23:30:00-01:00"), OK(OI_KIND_TIME, "2024-02-29T00:00:00Z"),
    NO(OI_KIND_TIME, "9999-12-31T23:59:59-23:59"), NO(OI_KIND_TIME, "2026-11-25T08:11:55+14:01"),
    NO(OI_KIND_TIME, "2026-11-25T08:11:55+05:60"), NO(OI_KIND_TIME, "0000-01-01T00:00:00Z"),
    NO(OI_KIND_TIME, "10000-01-01T00:00:00Z"), NO(OI_KIND_TIME, "9999-12-31T23:00:00-01:00"),
    NO(OI_KIND_TIME, "0001-01-01T00:00:00+01:00"), NO(OI_KIND_TIME, "2023-02-29T00:00:00Z"),
    NO(OI_KIND_TIME, "yesterday"), NO(OI_KIND_TIME, ""), NO(OI_KIND_TIME, "2026-11-25T08:11:55Z\0"),
    OK(OI_KIND_DURATION, "500ms"), OK(OI_KIND_DURATION, "90s"), OK(OI_KIND_DURATION, "7d"),
    OK(OI_KIND_DURATION, "1w"), OK(OI_KIND_DURATION, "0s"), OK(OI_KIND_DURATION, "15250w"),
    NO(OI_KIND_DURATION, "99999999999999999d"), NO(OI_KIND_DURATION, "9223372036854775808ms"),
    NO(OI_KIND_DURATION, "5"), NO(OI_KIND_DURATION, "s"), NO(OI_KIND_DURATION, "-5s"),
    NO(OI_KIND_DURATION, "+5s"), NO(OI_KIND_DURATION, " 5s"), NO(OI_KIND_DURATION, "5 s"),
    NO(OI_KIND_DURATION, "5y"), NO(OI_KIND_DURATION, "5s\0"),
    OK(OI_KIND_SEMVER, "1.2.0"), OK(OI_KIND_SEMVER, "0.0.0"),
    OK(OI_KIND_SEMVER, "1.2.0-rc.1+build.5"),
    OK(OI_KIND_SEMVER, "1.0.0-0A.is.legal"), OK(OI_KIND_SEMVER, "1.0.0+001"),
    OK(OI_KIND_SEMVER, "1.0.0-x-y-z.--"), OK(OI_KIND_SEMVER, "10.20.30"),
    NO(OI_KIND_SEMVER, "1.2.0-"), NO(OI_KIND_SEMVER, "1.2.0-01"), NO(OI_KIND_SEMVER, "01.2.0"),
    NO(OI_KIND_SEMVER, "1.2"), NO(OI_KIND_SEMVER, "1.2.0+"), NO(OI_KIND_SEMVER, "v1.2.0"),
    NO(OI_KIND_SEMVER, "1.2.0.0"), NO(OI_KIND_SEMVER, "1.2.0-rc..1"), NO(OI_KIND_SEMVER, "1.2.0 "),
    NO(OI_KIND_SEMVER, "1.2.0-r\xc3\xa9"), NO(OI_KIND_SEMVER, ""), NO(OI_KIND_SEMVER, "1.2.0\0"),
    OK(OI_KIND_UUID, "550e8400-e29b-41d4-a716-446655440101"),
    OK(OI_KIND_UUID, "550E8400-E29B-41D4-A716-446655440101"),
    NO(OI_KIND_UUID, "550e8400e29b41d4a716446655440101"),
    NO(OI_KIND_UUID, "550e8400-e29b-41d4-a716-44665544010g"),
    NO(OI_KIND_UUID, "550e8400-e29b-41d4-a716-4466554401011"), NO(OI_KIND_UUID, ""),
};

static const char *kind_name(oi_kind kind)
{
    static const char *const names[] = {"?", "name", "text", "document", "JSON", "number",
                                        "integer", "boolean", "time", "duration", "semver",
                                        "UUID"};
    return kind >= 1 && kind <= OI_KIND_UUID ? names[kind] : "?";
}

/* The text as C would spell it, for failure messages. */
static const char *shown(const char *text, size_t len, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 5 < size; i++) {
        unsigned char c = (unsigned char)text[i];
        n += (size_t)snprintf(buf + n, size - n, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    buf[n] = '\0';
    return buf;
}

static void test_values_each_kind(void **state)
{
    (void)state;
    int wrong = 0;
    for (size_t i = 0; i < sizeof kind_cases / sizeof *kind_cases; i++) {
        const kind_case *c = &kind_cases[i];
        char msg[OI_VALUE_MSGSZ] = "", buf[256];
        int rc = oi_value_check(c->kind, "the value", c->text, c->len, msg, sizeof msg);
        if (rc != (c->ok ? OI_OK : OI_EINVALID)) {
            print_error("%s \"%s\": got %d, want %s (%s)\n", kind_name(c->kind),
                        shown(c->text, c->len, buf, sizeof buf), rc,
                        c->ok ? "accepted" : "refused", msg);
            wrong++;
        } else if (!c->ok && strncmp(msg, "the value ", 10) != 0) {
            print_error("%s \"%s\": the message does not start with `what`: %s\n",
                        kind_name(c->kind), shown(c->text, c->len, buf, sizeof buf), msg);
            wrong++;
        }
    }
    assert_int_equal(wrong, 0);
}

/* Limits are bytes of UTF-8: exactly at the limit passes, one more does not. */
static void check_limit(oi_kind kind, size_t limit, const char *unit)
{
    size_t unit_len = strlen(unit), n = limit / unit_len;
    char *text = malloc(limit + unit_len + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        memcpy(text + i * unit_len, unit, unit_len);
    size_t len = n * unit_len;
    for (; len < limit; len++)
        text[len] = 'x';
    assert_int_equal(oi_value_check(kind, "v", text, limit, NULL, 0), OI_OK);
    text[limit] = 'x';
    char msg[OI_VALUE_MSGSZ];
    assert_int_equal(oi_value_check(kind, "v", text, limit + 1, msg, sizeof msg), OI_EINVALID);
    assert_contains(msg, "longer than");
    free(text);
}

static void test_values_limits(void **state)
{
    (void)state;
    check_limit(OI_KIND_NAME, OI_NAME_MAX, "\xc3\xa9");   /* 127 two-byte letters and an x */
    check_limit(OI_KIND_TEXT, OI_TEXT_MAX, "line\n");
    check_limit(OI_KIND_DOCUMENT, OI_DOCUMENT_MAX, "\xe5\x90\x8d");
    /* JSON: a string of the longest size, and nesting at the limit and past it */
    char *json = malloc(OI_DOCUMENT_MAX + 2);
    assert_non_null(json);
    memset(json, 'x', OI_DOCUMENT_MAX + 1);
    json[0] = '"';
    json[OI_DOCUMENT_MAX - 1] = '"';
    assert_int_equal(oi_value_check(OI_KIND_JSON, "v", json, OI_DOCUMENT_MAX, NULL, 0), OI_OK);
    json[OI_DOCUMENT_MAX - 1] = 'x';
    json[OI_DOCUMENT_MAX] = '"';
    assert_int_equal(oi_value_check(OI_KIND_JSON, "v", json, OI_DOCUMENT_MAX + 1, NULL, 0),
                     OI_EINVALID);
    free(json);
    char deep[8 * (OI_JSON_DEPTH_MAX + 1)];
    for (int depth = OI_JSON_DEPTH_MAX; depth <= OI_JSON_DEPTH_MAX + 1; depth++) {
        size_t n = 0; /* objects and arrays in turn: {"k":[{"k":[ ... 1 ... ]}]} */
        for (int i = 0; i < depth; i++)
            n += (size_t)sprintf(deep + n, "%s", i % 2 ? "[" : "{\"k\":");
        deep[n++] = '1';
        for (int i = depth - 1; i >= 0; i--)
            deep[n++] = i % 2 ? ']' : '}';
        char msg[OI_VALUE_MSGSZ] = "";
        int rc = oi_value_check(OI_KIND_JSON, "v", deep, n, msg, sizeof msg);
        assert_int_equal(rc, depth <= OI_JSON_DEPTH_MAX ? OI_OK : OI_EINVALID);
        if (rc)
            assert_contains(msg, "more than 64 deep");
    }
    /* brackets inside strings are not nesting */
    char strings[600] = "[\"";
    memset(strings + 2, '[', 500);
    strcpy(strings + 502, "\"]");
    assert_int_equal(oi_value_check(OI_KIND_JSON, "v", strings, strlen(strings), NULL, 0), OI_OK);
}

/* Messages name the value, say what is wrong, never show the value (a
 * secret, an escape sequence) and fit the buffer they are given. */
static void test_values_messages(void **state)
{
    (void)state;
    static const struct { oi_kind kind; const char *text, *says; } cases[] = {
        {OI_KIND_NAME, "\x1b[31mS3cret", "control characters (U+001B at byte 1)"},
        {OI_KIND_NAME, "S3cret\xff", "not valid UTF-8 (byte 7)"},
        {OI_KIND_JSON, "{\"password\": S3cret}", "not valid JSON: invalid token"},
        {OI_KIND_JSON, "{\"S3cret\": 1, \"S3cret\": 2}", "duplicate object key"},
        {OI_KIND_NUMBER, "S3cret", "is not a number"},
        {OI_KIND_TIME, "S3cret", "is not a time"},
        {OI_KIND_TIME, "2026-01-01T00:00:00+14:01", "offset beyond -14:00 to +14:00"},
        {OI_KIND_TIME, "9999-12-31T23:00:00-01:00", "outside the years 0001 to 9999"},
        {OI_KIND_DURATION, "99999999999999999d", "longer than the longest duration"},
        {OI_KIND_SEMVER, "S3cret", "not a semantic version"},
        {OI_KIND_UUID, "S3cret", "not a UUID"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char msg[OI_VALUE_MSGSZ];
        assert_int_equal(oi_value_check(cases[i].kind, "the api_token", cases[i].text,
                                        strlen(cases[i].text), msg, sizeof msg), OI_EINVALID);
        assert_contains(msg, "the api_token ");
        assert_contains(msg, cases[i].says);
        assert_not_contains(msg, "S3cret");
        assert_null(strchr(msg, '\x1b'));
    }
    char nul_msg[OI_VALUE_MSGSZ];
    assert_int_equal(oi_value_check(OI_KIND_DOCUMENT, "v", "abc\0def", 7, nul_msg,
                                    sizeof nul_msg), OI_EINVALID);
    assert_contains(nul_msg, "NUL byte (byte 4)");
    char tiny[8];
    memset(tiny, '#', sizeof tiny);
    assert_int_equal(oi_value_check(OI_KIND_NAME, "a long what", "", 0, tiny, sizeof tiny),
                     OI_EINVALID);
    assert_string_equal(tiny, "a long ");
    assert_int_equal(oi_value_check(OI_KIND_NAME, NULL, "", 0, NULL, 0), OI_EINVALID);
    assert_int_equal(oi_value_check(OI_KIND_TEXT, "v", NULL, 0, NULL, 0), OI_OK);
    assert_int_equal(oi_value_check((oi_kind)99, "v", "x", 1, NULL, 0), OI_EINVALID);
}

/* The parsers the rest of the API offers agree with their kind. */
static void test_values_parsers_agree(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kind_cases / sizeof *kind_cases; i++) {
        const kind_case *c = &kind_cases[i];
        if (strlen(c->text) != c->len) /* a NUL inside: C strings cannot say it */
            continue;
        int64_t n;
        oi_time t;
        if (c->kind == OI_KIND_TIME)
            assert_int_equal(oi_time_parse(c->text, &t), c->ok ? OI_OK : OI_EINVALID);
        else if (c->kind == OI_KIND_DURATION)
            assert_int_equal(oi_duration_parse(c->text, &n), c->ok ? OI_OK : OI_EINVALID);
    }
    oi_time t;
    assert_int_equal(oi_time_parse("1970-01-01T00:00:00Z", &t), OI_OK);
    assert_true(t == 0 && t != OI_TIME_NULL); /* the epoch is a time, not "none" */
    assert_int_equal(oi_time_parse("0000-12-31T23:30:00-01:00", &t), OI_OK);
    assert_true(t == OI_TIME_MIN + INT64_C(1800000000));
    assert_int_equal(oi_time_parse("9999-12-31T23:59:59.999999Z", &t), OI_OK);
    assert_true(t == OI_TIME_MAX);
    assert_int_equal(oi_time_parse("2026-01-01T14:00:00+14:00", &t), OI_OK);
    char buf[OI_TIME_BUFSZ];
    assert_string_equal(oi_time_format(t, buf), "2026-01-01T00:00:00.000000Z");
    int64_t us;
    assert_int_equal(oi_duration_parse("15250w", &us), OI_OK);
    assert_true(us == INT64_C(15250) * 7 * 86400 * 1000000);
}

/* ---- the store's own time spellings (time.c's fixed-form reader) ------------------ */

/* The same instant spelled "+00:00", a zone only the general scanner reads:
 * text's verdict and value must be the same both ways.  Text ending in
 * neither "Z" nor "+00" is compared with itself. */
static void assert_time_as_general(const char *text)
{
    char general[80];
    size_t len = strlen(text), zone = len && text[len - 1] == 'Z' ? 1
                                      : len >= 3 && strcmp(text + len - 3, "+00") == 0 ? 3 : 0;
    snprintf(general, sizeof general, "%.*s%s", (int)(len - zone), text, zone ? "+00:00" : "");
    oi_time fast = 1, slow = 2;
    int fast_rc = oi_time_parse(text, &fast), slow_rc = oi_time_parse(general, &slow);
    if (fast_rc != slow_rc || (fast_rc == OI_OK && fast != slow))
        fail_msg("\"%s\" reads %d/%lld, \"%s\" %d/%lld", text, fast_rc, (long long)fast, general,
                 slow_rc, (long long)slow);
}

static void assert_time(const char *text, int64_t expected)
{
    oi_time t = OI_TIME_NULL;
    if (oi_time_parse(text, &t) != OI_OK || t != expected)
        fail_msg("\"%s\" reads %lld, not %lld", text, (long long)t, (long long)expected);
    assert_time_as_general(text);
}

static void assert_not_time(const char *text)
{
    oi_time t;
    assert_int_equal(oi_time_parse(text, &t), OI_EINVALID);
    assert_time_as_general(text);
}

/* Every field at its bounds, in both spellings the store reads back, each
 * against the general scanner and against known instants. */
static void test_values_time_store_forms(void **state)
{
    (void)state;
    const int64_t day = INT64_C(86400000000);
    assert_time("1970-01-01T00:00:00.000000Z", 0);
    assert_time("1970-01-01 00:00:00+00", 0);
    assert_time("1969-12-31T23:59:59.999999Z", -1);
    assert_time("1969-12-31 23:59:59.999999+00", -1);
    assert_time("0001-01-01T00:00:00.000000Z", OI_TIME_MIN);
    assert_time("0001-01-01 00:00:00+00", OI_TIME_MIN);
    assert_time("9999-12-31T23:59:59.999999Z", OI_TIME_MAX);
    assert_time("9999-12-31 23:59:59.999999+00", OI_TIME_MAX);
    assert_time("2000-03-01T00:00:00Z", INT64_C(951868800000000));
    assert_time("2000-02-29T00:00:00Z", INT64_C(951868800000000) - day);  /* 400: leap */
    assert_time("2024-02-29 12:00:00+00", INT64_C(1709208000000000));
    assert_time("1600-02-29T00:00:00Z", INT64_C(-11670998400000000));
    assert_not_time("1900-02-29T00:00:00Z"); /* 100: not leap */
    assert_not_time("2023-02-29 00:00:00+00");
    assert_not_time("0000-01-01T00:00:00Z"); /* year 0 only with an offset that leaves it */
    /* the fraction: 1 to 6 digits, trailing zeros dropped (PostgreSQL) or not */
    assert_time("2026-11-25 08:11:55.5+00", INT64_C(1795594315500000));
    assert_time("2026-11-25T08:11:55.500000Z", INT64_C(1795594315500000));
    assert_time("2026-11-25T08:11:55.05Z", INT64_C(1795594315050000));
    assert_time("2026-11-25 08:11:55.000001+00", INT64_C(1795594315000001));
    assert_time("2026-11-25T08:11:55.1234567Z", INT64_C(1795594315123456)); /* 7: falls back */
    assert_not_time("2026-11-25T08:11:55.Z");
    assert_not_time("2026-11-25 08:11:55.+00");
    /* every month's last day, and the day after it */
    static const int last[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        char text[40];
        snprintf(text, sizeof text, "2026-%02d-%02dT23:59:59.999999Z", m, last[m - 1]);
        assert_time_as_general(text);
        assert_int_equal(oi_time_parse(text, &(oi_time){0}), OI_OK);
        snprintf(text, sizeof text, "2026-%02d-%02d 00:00:00+00", m, last[m - 1] + 1);
        assert_not_time(text);
    }
    static const char *const refused[] = {
        "2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-01-10T24:00:00Z", "2026-01-10T00:60:00Z",
        "2026-01-10T00:00:60Z", "2026-01-10T00:00:0aZ", "2026-01-10X00:00:00Z",
        "2026/01/10T00:00:00Z", "2026-01-10T00:00:00+0", "2026-01-10T00:00:00+01",
        "202a-01-10 00:00:00+00", "2026-01-10T00:00:00", "2026-01-10T00:00Z", "Z", "+00", "",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_time_as_general(refused[i]);
    assert_not_time("2026-01-10T24:00:00Z");
    /* forms the general scanner reads: the same instants */
    assert_time("2026-01-10t00:00:00z", INT64_C(1768003200000000));
    assert_time("2026-01-10T00:00:00", INT64_C(1768003200000000));
    assert_time("2026-01-10T01:00:00+01:00", INT64_C(1768003200000000));
}

/* A random text near the store's spellings: valid fields and the ones just
 * past them, 0 to 7 fraction digits, either zone, and now and then one
 * byte changed. */
static void random_store_time(uint64_t *seed, char *text, size_t size)
{
    uint64_t x = *seed = *seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    uint64_t y = *seed = *seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    int n = snprintf(text, size, "%04d-%02d-%02d%c%02d:%02d:%02d", (int)(x % 10000),
                     (int)((x >> 14) % 14), (int)((x >> 18) % 33), (x >> 24) & 1 ? 'T' : ' ',
                     (int)((x >> 25) % 25), (int)((x >> 30) % 61), (int)((x >> 36) % 61));
    int digits = (int)((y >> 4) % 8);
    long long power = 1;
    for (int i = 0; i < digits; i++)
        power *= 10;
    if (digits)
        n += snprintf(text + n, size - (size_t)n, ".%0*lld", digits,
                      (long long)((y >> 8) % (uint64_t)power));
    snprintf(text + n, size - (size_t)n, "%s", (y & 1) ? "Z" : "+00");
    if ((y >> 40) % 8 == 0) { /* one byte changed: a digit, a separator, a letter */
        static const char bytes[] = "09-:. TZ+a";
        text[(y >> 44) % strlen(text)] = bytes[(y >> 52) % (sizeof bytes - 1)];
    }
}

/* 300,000 random texts read alike by the fixed-form reader and the general
 * scanner (the same text with "+00:00", which only the latter reads). */
static void test_values_time_store_forms_random(void **state)
{
    (void)state;
    uint64_t seed = 2026;
    char text[64];
    for (int i = 0; i < 300000; i++) {
        random_store_time(&seed, text, sizeof text);
        assert_time_as_general(text);
    }
}

/* The UUID kind (a hand-written check, src/uuid.c) gives libuuid's
 * uuid_parse() verdict: 300,000 random texts of 35 to 37 bytes over hex
 * digits of both cases, hyphens and bytes just outside the hex ranges. */
static void test_values_uuid_agrees_with_libuuid(void **state)
{
    (void)state;
    static const char bytes[] = "0123456789abcdefABCDEF-gG/:@`\x80 ";
    uint64_t seed = 2026;
    char text[40];
    int accepted = 0;
    for (int i = 0; i < 300000; i++) {
        seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        size_t len = 35 + (seed >> 60) % 3;
        uint64_t y = seed;
        for (size_t k = 0; k < len; k++) {
            bool at_hyphen = k == 8 || k == 13 || k == 18 || k == 23;
            y = y * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            /* mostly well placed, so that valid ones come up too */
            text[k] = (y >> 56) % 16 ? (at_hyphen ? '-' : bytes[(y >> 33) % 22])
                                     : bytes[(y >> 33) % (sizeof bytes - 1)];
        }
        text[len] = '\0';
        uuid_t u;
        bool libuuid = strlen(text) == 36 && uuid_parse(text, u) == 0;
        bool ours = oi_value_check(OI_KIND_UUID, "id", text, len, NULL, 0) == OI_OK;
        if (ours != libuuid)
            fail_msg("'%s': libuuid says %d, optiinfra %d", text, libuuid, ours);
        accepted += ours;
    }
    assert_true(accepted > 1000);
}

/* SemVer 2.0.0's own precedence example, in order, and build metadata
 * breaking only ties (so that "newest" is a total order). */
static void test_values_semver_precedence(void **state)
{
    (void)state;
    static const char *const chain[] = {
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0+build.1", "1.0.1", "1.10.0", "2.0.0",
    };
    size_t n = sizeof chain / sizeof *chain;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(oi_value_check(OI_KIND_SEMVER, "v", chain[i], strlen(chain[i]), NULL,
                                        0), OI_OK);
        for (size_t j = 0; j < n; j++) {
            int c = oi_semver_compare(chain[i], chain[j]);
            if ((c > 0) - (c < 0) != (i > j) - (i < j))
                fail_msg("oi_semver_compare(%s, %s) = %d", chain[i], chain[j], c);
        }
    }
}

/* ---- the examples through the CLI ------------------------------------- */

/* The CLI with `input` (len bytes) on its standard input. */
static void cli_stdin(oi_fixture *fx, fx_run *run, const char *input, size_t len,
                      const char *const *args)
{
    char in[300], out[300], err[300];
    snprintf(in, sizeof in, "%s/values.in", fx->dir);
    snprintf(out, sizeof out, "%s/values.out", fx->dir);
    snprintf(err, sizeof err, "%s/values.err", fx->dir);
    FILE *f = fopen(in, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(input, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    const char *argv[16] = {fx_cli_path(), "--database-url", fx->url};
    size_t n = 3;
    for (; args[n - 3] && n < 15; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd0 = open(in, O_RDONLY), fd1 = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            fd2 = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd0 < 0 || fd1 < 0 || fd2 < 0 || dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 ||
            dup2(fd2, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run->out = fx_slurp(out);
    run->err = fx_slurp(err);
    fx_output_log("values-stdin.out", run->out);
    fx_output_log("values-stdin.err", run->err);
    unlink(in);
}

/* A refusal: exit 3, one line on stderr saying `says`, nothing on stdout,
 * and not a byte of the database changed. */
static void assert_refused(oi_fixture *fx, fx_run *r, const char *before, const char *says)
{
    if (r->status != 3)
        fail_msg("exit %d, want 3; stderr: %s", r->status, r->err);
    assert_contains(r->err, says);
    assert_int_equal(fx_count_lines(r->err), 1);
    assert_null(strchr(r->err, '\x1b'));
    assert_string_equal(r->out, "");
    char *after = fx_db_fingerprint(fx);
    assert_string_equal(after, before);
    free(after);
}

static void refused_argv(oi_fixture *fx, const char *says, const char *const *args,
                         size_t nargs)
{
    char *before = fx_db_fingerprint(fx);
    fx_run r;
    fx_cli_argv(fx, &r, true, args, nargs);
    assert_refused(fx, &r, before, says);
    fx_run_free(&r);
    free(before);
}

#define REFUSED(fx, says, ...)                                                   \
    do {                                                                         \
        const char *const args_[] = {__VA_ARGS__};                               \
        refused_argv(fx, says, args_, sizeof args_ / sizeof *args_);             \
    } while (0)

static void refused_stdin(oi_fixture *fx, const char *says, const char *input, size_t len)
{
    static const char *const args[] = {"config", "set", AGENT, "k", "--stdin", NULL};
    char *before = fx_db_fingerprint(fx);
    fx_run r;
    cli_stdin(fx, &r, input, len, args);
    assert_refused(fx, &r, before, says);
    fx_run_free(&r);
    free(before);
}

/* Class 2: the epoch is a time like any other, stored as given and
 * filtered by. */
static void test_values_epoch_is_a_time(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "metrics", "record", AGENT, "m", "1", "--at", "1970-01-01T00:00:00Z", NULL);
    assert_int_equal(r.status, 0);
    fx_run_free(&r);
    fx_cli(fx, &r, "metrics", "record", AGENT, "m", "2", "--at", "2026-01-01T00:00:00Z", NULL);
    assert_int_equal(r.status, 0);
    fx_run_free(&r);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    int64_t id = fx_sql_int(fx, "SELECT min(id) FROM agent_metrics");
    assert_ok(fx, oi_agent_metric_get(fx->store, id, &m));
    assert_true(m.collection_timestamp == 0);
    oi_agent_metric_clear(&m);
    fx_cli(fx, &r, "--json", "metrics", "query", "--to", "1970-01-01T00:00:00Z", NULL);
    assert_int_equal(r.status, 0);
    json_t *page = fx_json(r.out), *rows = json_object_get(page, "rows");
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0),
                                                          "collection_timestamp")),
                        "1970-01-01T00:00:00.000000Z");
    json_decref(page);
    fx_run_free(&r);
}

/* Classes 3 and 1: times outside what can be read back, invalid UTF-8,
 * empty names and terminal escapes; each exit 3, nothing written. */
static void test_values_cli_refuses_bad_text_and_times(void **state)
{
    oi_fixture *fx = FX(state);
    REFUSED(fx, "offset beyond", "metrics", "record", AGENT, "m", "1", "--at",
            "9999-12-31T23:59:59-23:59");
    REFUSED(fx, "offset beyond", "metrics", "record", AGENT, "m", "1", "--at",
            "2026-01-01T00:00:00+14:01");
    REFUSED(fx, "years 0001 to 9999", "metrics", "record", AGENT, "m", "1", "--at",
            "9999-12-31T23:00:00-01:00");
    REFUSED(fx, "years 0001 to 9999", "metrics", "record", AGENT, "m", "1", "--at",
            "0000-06-01T00:00:00Z");
    REFUSED(fx, "not valid UTF-8", "metrics", "record", AGENT, "m", "1", "--unit", "bad\xff");
    REFUSED(fx, "metric_name is empty", "metrics", "record", AGENT, "", "1");
    REFUSED(fx, "control characters", "metrics", "record", AGENT, "\x1b[2J", "1");
    REFUSED(fx, "control characters", "config", "set", AGENT, "k\x1b[31m", "v");
    REFUSED(fx, "not a semantic version", "capability", "register", AGENT, "c", "1.2.0-");
    REFUSED(fx, "not a semantic version", "capability", "register", AGENT, "c", "1.2.0-01");
    REFUSED(fx, "not a semantic version", "capability", "register", AGENT, "c", "01.2.0");
}

/* Class 6: one grammar for numbers and JSON, whatever the path. */
static void test_values_cli_one_grammar(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const numbers[] = {"0x10", " 5", "5 ", "+5", "inf", "nan", "1e400",
                                          ".5"};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        REFUSED(fx, "number value of agent config k", "config", "set", AGENT, "k", "--type",
                "number", "--", numbers[i]);
        REFUSED(fx, "metric value", "metrics", "record", AGENT, "m", "--", numbers[i]);
    }
    REFUSED(fx, "outside the 64-bit integer range", "config", "set", AGENT, "k", "--type",
            "integer", "9223372036854775808");
    REFUSED(fx, "duplicate object key", "config", "set", AGENT, "k", "--type", "json",
            "{\"a\":1,\"a\":2}");
    REFUSED(fx, "duplicate object key", "metrics", "record", AGENT, "m", "1", "--metadata",
            "{\"a\":1,\"a\":2}");
    REFUSED(fx, "more than 64 deep", "config", "set", AGENT, "k", "--type", "json",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
}

/* Classes 4 and 5: standard input is taken with its length: a NUL byte is
 * refused, not a cut; a value over the limit is refused without being held. */
static void test_values_cli_stdin_nul_and_size(void **state)
{
    oi_fixture *fx = FX(state);
    refused_stdin(fx, "contains a NUL byte (byte 4)", "abc\0def", 7);
    refused_stdin(fx, "contains a NUL byte (byte 4)", "abc\0def\n", 8);
    size_t big = 8 * (size_t)OI_DOCUMENT_MAX;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'a', big);
    refused_stdin(fx, "longer than 1048576 bytes", text, OI_DOCUMENT_MAX + 1);
    refused_stdin(fx, "longer than 1048576 bytes", text, big);
    text[OI_DOCUMENT_MAX] = '\r'; /* the limit, then the newline dropped */
    text[OI_DOCUMENT_MAX + 1] = '\n';
    static const char *const args[] = {"config", "set", AGENT, "k", "--stdin", NULL};
    fx_run r;
    cli_stdin(fx, &r, text, OI_DOCUMENT_MAX + 2, args);
    assert_int_equal(r.status, 0);
    fx_run_free(&r);
    assert_int_equal(fx_sql_int(fx, "SELECT length(config_value) FROM agent_configs WHERE "
                                    "config_key = 'k'"), OI_DOCUMENT_MAX);
    free(text);
    /* a metric name of 1 MB: the same refusal on both backends (PostgreSQL's
     * index once refused it with an internal error) */
    char *name = malloc(1000001);
    assert_non_null(name);
    memset(name, 'n', 1000000);
    name[1000000] = '\0';
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = name;
    m.metric_value = 1;
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "metric_name is longer than 255 bytes");
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    free(name);
}

/* A filter's texts are values too: the same refusal on both backends
 * (PostgreSQL refused bytes that are not UTF-8 only when the query ran). */
static void test_values_filter_texts(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct { const char *name, *key, *value, *says; } cases[] = {
        {NULL, "region", "bad\xff", "metadata filter's value is not valid UTF-8"},
        {NULL, "re\x1bgion", "x", "metadata filter's key contains control characters"},
        {"", NULL, NULL, "metric name is empty"},
        {"cpu\n", NULL, NULL, "metric name contains control characters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oi_metric_filter f;
        oi_metadata_match where = {cases[i].key, cases[i].value};
        oi_iter *it = fx_iter_unset;
        assert_ok(fx, oi_metric_filter_init(&f, OI_METRIC_FILTER_VERSION));
        f.metric_name = cases[i].name;
        f.where = cases[i].key ? &where : NULL;
        f.nwhere = cases[i].key ? 1 : 0;
        assert_rc(fx, oi_metric_iter_new(&it, fx->store, &f), OI_EINVALID);
        assert_null(it);
        assert_contains(oi_errmsg(fx->store), cases[i].says);
    }
}

/* ---- accepted boundaries, read back byte-exact ------------------------------ */

static void record_ok(oi_fixture *fx, const char *name, const char *at)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = (char *)name;
    m.metric_unit = (char *)name;
    m.metric_value = 1;
    assert_int_equal(oi_time_parse(at, &m.collection_timestamp), OI_OK);
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    oi_agent_metric back = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, &back));
    assert_string_equal(back.metric_name, name);
    assert_string_equal(back.metric_unit, name);
    char buf[OI_TIME_BUFSZ];
    assert_string_equal(oi_time_format(back.collection_timestamp, buf), at);
    oi_agent_metric_clear(&back);
}

static void test_values_boundaries_round_trip(void **state)
{
    oi_fixture *fx = FX(state);
    char longest[OI_NAME_MAX + 1];
    for (size_t i = 0; i + 2 <= OI_NAME_MAX; i += 2)
        memcpy(longest + i, "\xc3\xa9", 2);   /* 127 letters of two bytes */
    longest[OI_NAME_MAX - 1] = 'z';
    longest[OI_NAME_MAX] = '\0';
    record_ok(fx, longest, "0001-01-01T00:00:00.000000Z");
    record_ok(fx, "\xe5\x90\x8d\xe5\x89\x8d \xf0\x9f\x98\x80 caf\xc3\xa9",
              "9999-12-31T23:59:59.999999Z");
    record_ok(fx, "'; DROP TABLE agent_metrics; --", "1970-01-01T00:00:00.000000Z");
    assert_int_equal(fx_count(fx, "agent_metrics"), 3);

    /* a config value of exactly OI_DOCUMENT_MAX bytes of UTF-8, lines and all */
    char *value = malloc(OI_DOCUMENT_MAX + 1);
    assert_non_null(value);
    for (size_t i = 0; i < OI_DOCUMENT_MAX; i++) /* ends with a whole letter: 2^20 % 6 == 4 */
        value[i] = "ab\xc3\xa9\n\t"[i % 6];
    value[OI_DOCUMENT_MAX] = '\0';
    assert_ok(fx, oi_config_set(fx->store, fx->cost_agent.id, longest, value, "string", NULL,
                                OI_SENSITIVE_KEEP, NULL));
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_agent_config_find(fx->store, fx->cost_agent.id, longest, &c));
    assert_int_equal(strlen(c.config_value), OI_DOCUMENT_MAX);
    assert_memory_equal(c.config_value, value, OI_DOCUMENT_MAX);
    oi_agent_config_clear(&c);
    free(value);

    /* JSON 64 deep is stored; 65 is not */
    char deep[3 * OI_JSON_DEPTH_MAX + 8];
    memset(deep, '[', OI_JSON_DEPTH_MAX);
    deep[OI_JSON_DEPTH_MAX] = '1';
    memset(deep + OI_JSON_DEPTH_MAX + 1, ']', OI_JSON_DEPTH_MAX);
    deep[2 * OI_JSON_DEPTH_MAX + 1] = '\0';
    assert_ok(fx, oi_config_set(fx->store, fx->cost_agent.id, "deep", deep, "json", NULL,
                                OI_SENSITIVE_KEEP, NULL));
    char deeper[sizeof deep + 2];
    snprintf(deeper, sizeof deeper, "[%s]", deep);
    assert_rc(fx, oi_config_set(fx->store, fx->cost_agent.id, "deeper", deeper, "json", NULL,
                                OI_SENSITIVE_KEEP, NULL), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_configs"), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_values_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_each_kind),
        cmocka_unit_test(test_values_limits),
        cmocka_unit_test(test_values_messages),
        cmocka_unit_test(test_values_parsers_agree),
        cmocka_unit_test(test_values_time_store_forms),
        cmocka_unit_test(test_values_time_store_forms_random),
        cmocka_unit_test(test_values_semver_precedence),
        cmocka_unit_test(test_values_uuid_agrees_with_libuuid),
        T(test_values_epoch_is_a_time),
        T(test_values_cli_refuses_bad_text_and_times),
        T(test_values_cli_one_grammar),
        T(test_values_cli_stdin_nul_and_size),
        T(test_values_filter_texts),
        T(test_values_boundaries_round_trip),
    };
    return fx_run_group("values", tests);
}
