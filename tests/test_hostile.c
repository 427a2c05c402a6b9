/*
 * test_hostile.c - every field of every write path fed the same hostile
 * values, as a hostile user would (issue 9, "What to build" 1).
 *
 * Three tables drive it:
 *   values   hostile texts (invalid UTF-8, NUL, control characters, empty,
 *            injection strings, edge times, numbers, durations, semantic
 *            versions, UUIDs, JSON), each with the kinds of value
 *            (include/optiinfra/values.h) whose grammar accepts it;
 *   slots    one field of one write command: the CLI command line with
 *            the field's place marked {v}, the field's kind, how the value
 *            gets there (an argument, standard input, a CSV or NDJSON
 *            import file) and the SQL that reads the stored field back;
 *   known    the cases that still fail, skipped by name and printed, never
 *            silently (empty when every path keeps its promise).
 * The verdict of a (slot, value) case follows from the documented grammar
 * alone: a value of the slot's kind is stored and read back exactly (a
 * reference, such as an agent's name, is looked up instead and, naming no
 * record, exits 4), any other is refused with exit 3 and one line on
 * stderr that carries no control character nor invalid UTF-8 (the raw
 * hostile bytes are never echoed), and a database fingerprint
 * (fx_db_fingerprint: every row of every table) taken before and after
 * proves that a refusal or a lookup changed nothing.  An accepted case is
 * undone with raw SQL (the slot's reset) so that every case starts alike.
 *
 * Each value is tried only on the slots where it says something (every
 * case is a process: ~1000 per backend): the core texts (bad UTF-8, NUL,
 * an escape, empty, an injection) everywhere, every text on the fields
 * that store text, numbers on numeric fields, times on times, and so on,
 * plus each field's own length limit exactly at and one byte over it, and
 * JSON nested exactly as deep as allowed and one deeper.  A value that an
 * argument cannot carry (a NUL byte; more than the 128 KiB the kernel
 * allows one argument) is tried only through standard input and import
 * files (standard input through a runner of its own: fx_cli's children
 * read /dev/null).
 *
 * Then the same verdict on the other paths: one direct library call per
 * write function with a hostile text (OI_EINVALID, nothing changed), and
 * a few requests to `optiinfra serve` (422, nothing changed) whose CLI
 * twins exit 3.  The issue's own examples of classes 1-6 are replayed as
 * given, and time buckets are checked to floor before 1970.
 */
#include "http.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* the kinds of value a slot takes                                     */

typedef enum kind {
    K_NAME,     /* OI_KIND_NAME */
    K_TEXT,     /* OI_KIND_TEXT */
    K_MESSAGE,  /* OI_KIND_TEXT where the field is required: not empty */
    K_DOC,      /* OI_KIND_DOCUMENT: a config value of type string */
    K_JSON,     /* OI_KIND_JSON, any value */
    K_OBJECT,   /* OI_KIND_JSON where the field wants an object */
    K_NUMBER,   /* OI_KIND_NUMBER */
    K_JSONNUM,  /* a number written as a JSON token (an NDJSON import's value) */
    K_INTEGER,  /* OI_KIND_INTEGER */
    K_WHOLE,    /* a whole number: digits, within int64_t (a revision) */
    K_BOOLEAN,  /* OI_KIND_BOOLEAN */
    K_TIME,     /* OI_KIND_TIME */
    K_DURATION, /* OI_KIND_DURATION */
    K_SEMVER,   /* OI_KIND_SEMVER */
    K_UUID,     /* OI_KIND_UUID */
    K_ENUM      /* one of a few words (a severity, a type): no hostile value is one */
} kind;

#define OK(k) (1u << (k))
#define TEXTS (OK(K_NAME) | OK(K_TEXT) | OK(K_MESSAGE) | OK(K_DOC)) /* one line, printable */
#define LONG_TEXTS (OK(K_TEXT) | OK(K_MESSAGE) | OK(K_DOC))         /* multi-line */
#define EMPTY_TEXTS (OK(K_TEXT) | OK(K_DOC))

/* Which values a slot is fed.  Every process costs tens of milliseconds,
 * so each slot gets the values that say something about it: a stored text
 * every text value; any other slot (a number, a time, a reference looked
 * up) the core of them (C, below: bad UTF-8, NUL, an escape, empty, an
 * injection) and its kind's own family. */
enum family { F_TEXT = 1, F_NUM = 2, F_TIME = 4, F_DUR = 8, F_SEMVER = 16, F_UUID = 32,
              F_JSON = 64, F_CORE = 128 };
#define C (F_TEXT | F_CORE)

static unsigned families_of(kind k, bool stored)
{
    switch (k) {
    case K_NAME: case K_TEXT: case K_MESSAGE: case K_DOC: return stored ? F_TEXT : F_CORE;
    case K_JSON: return F_CORE | F_JSON | F_NUM;
    case K_OBJECT: return F_CORE | F_JSON;
    case K_NUMBER: case K_JSONNUM: case K_INTEGER: case K_WHOLE: case K_BOOLEAN:
        return F_CORE | F_NUM;
    case K_TIME: return F_CORE | F_TIME;
    case K_DURATION: return F_CORE | F_DUR;
    case K_SEMVER: return F_CORE | F_SEMVER;
    case K_UUID: return F_CORE | F_UUID;
    default: return F_CORE;
    }
}

/* ------------------------------------------------------------------ */
/* the hostile values                                                  */

typedef struct hostile {
    const char *label;
    const char *bytes;
    size_t len;
    unsigned valid; /* OK(kind) for each kind whose grammar accepts it */
    unsigned family;
} hostile;

#define V(label, lit, valid, family) {label, lit, sizeof lit - 1, valid, family}

static const hostile values[] = {
    /* texts: the fields that store text; the core (C) on every field */
    V("invalid UTF-8 (lone 0xff)", "bad\xff", 0, C),
    V("overlong UTF-8 (0xc0 0xaf)", "\xc0\xaf", 0, F_TEXT),
    V("UTF-16 surrogate (0xed 0xa0 0x80)", "a\xed\xa0\x80", 0, F_TEXT),
    V("truncated UTF-8 (0xe2 0x82)", "ab\xe2\x82", 0, F_TEXT),
    V("NUL inside", "abc\0def", 0, C),
    V("terminal escape (ESC [31m)", "\x1b[31mred", 0, C),
    V("BEL", "bell\x07", 0, F_TEXT),
    V("DEL", "del\x7f", 0, F_TEXT),
    V("C1 control (U+009B)", "c1\xc2\x9b", 0, F_TEXT),
    V("line feed", "two\nlines", LONG_TEXTS, F_TEXT),
    V("tab", "a\tb", LONG_TEXTS, F_TEXT),
    V("empty", "", EMPTY_TEXTS, C),
    V("spaces only", "   ", TEXTS, F_TEXT),
    V("UTF-8 of 2, 3 and 4 bytes", "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e", TEXTS, F_TEXT),
    V("SQL injection", "'; DROP TABLE agents; --", TEXTS, C),
    V("quote injection", "\" OR 1=1 --", TEXTS, F_TEXT),
    V("format string", "%s%n%x", TEXTS, F_TEXT),
    V("placeholder", "$1", TEXTS, F_TEXT),
    V("backslashes", "\\\\", TEXTS, F_TEXT),
    V("template", "{{x}}", TEXTS, F_TEXT),

    /* numbers (and booleans): numeric slots */
    V("5", "5", TEXTS | OK(K_NUMBER) | OK(K_INTEGER) | OK(K_WHOLE) | OK(K_JSONNUM) | OK(K_JSON),
      F_NUM),
    V("-0.5", "-0.5", TEXTS | OK(K_NUMBER) | OK(K_JSONNUM) | OK(K_JSON), F_NUM),
    V("1e-3", "1e-3", TEXTS | OK(K_NUMBER) | OK(K_JSONNUM) | OK(K_JSON), F_NUM),
    V("-9223372036854775808", "-9223372036854775808",
      TEXTS | OK(K_NUMBER) | OK(K_INTEGER) | OK(K_JSONNUM) | OK(K_JSON), F_NUM),
    V("2^63 (outside int64)", "9223372036854775808", TEXTS | OK(K_NUMBER), F_NUM),
    V("NaN", "NaN", TEXTS, F_NUM),
    V("Inf", "Inf", TEXTS, F_NUM),
    V("-inf", "-inf", TEXTS, F_NUM),
    V("1e400", "1e400", TEXTS, F_NUM),
    V("hex 0x10", "0x10", TEXTS, F_NUM),
    V("leading space", " 5", TEXTS | OK(K_JSONNUM) | OK(K_JSON), F_NUM),
    V("trailing space", "5 ", TEXTS | OK(K_JSONNUM) | OK(K_JSON), F_NUM),
    V("plus sign", "+5", TEXTS, F_NUM),
    V("digit separator", "1_000", TEXTS, F_NUM),
    V("no integer part", ".5", TEXTS, F_NUM),
    V("true", "true", TEXTS | OK(K_BOOLEAN) | OK(K_JSON), F_NUM),
    V("TRUE", "TRUE", TEXTS, F_NUM),

    /* times */
    V("the epoch", "1970-01-01T00:00:00Z", TEXTS | OK(K_TIME), F_TIME),
    V("first instant", "0001-01-01T00:00:00Z", TEXTS | OK(K_TIME), F_TIME),
    V("last instant", "9999-12-31T23:59:59.999999Z", TEXTS | OK(K_TIME), F_TIME),
    V("offset +14:00", "2020-01-01T00:00:00+14:00", TEXTS | OK(K_TIME), F_TIME),
    V("year 0", "0000-01-01T00:00:00Z", TEXTS, F_TIME),
    V("year 10000", "10000-01-01T00:00:00Z", TEXTS, F_TIME),
    V("offset -23:59 past 9999", "9999-12-31T23:59:59-23:59", TEXTS, F_TIME),
    V("offset -00:01 past 9999", "9999-12-31T23:59:59-00:01", TEXTS, F_TIME),
    V("offset +00:01 before 0001", "0001-01-01T00:00:00+00:01", TEXTS, F_TIME),
    V("offset +14:01", "2020-01-01T00:00:00+14:01", TEXTS, F_TIME),
    V("February 30", "2020-02-30T00:00:00Z", TEXTS, F_TIME),
    V("hour 24", "2020-01-01T24:00:00Z", TEXTS, F_TIME),
    V("leap second", "2016-12-31T23:59:60Z", TEXTS, F_TIME),

    /* durations */
    V("30s", "30s", TEXTS | OK(K_DURATION), F_DUR),
    V("500ms", "500ms", TEXTS | OK(K_DURATION), F_DUR),
    V("negative duration", "-5s", TEXTS, F_DUR),
    V("duration past int64", "99999999999999999d", TEXTS, F_DUR),
    V("unknown unit", "5x", TEXTS, F_DUR),
    V("no unit", "5", TEXTS, F_DUR),

    /* semantic versions */
    V("semver 1.2.0", "1.2.0", TEXTS | OK(K_SEMVER), F_SEMVER),
    V("semver with pre-release and build", "2.0.0-rc.1+b5", TEXTS | OK(K_SEMVER), F_SEMVER),
    V("semver empty pre-release", "1.2.0-", TEXTS, F_SEMVER),
    V("semver pre-release leading zero", "1.2.0-01", TEXTS, F_SEMVER),
    V("semver major leading zero", "01.2.0", TEXTS, F_SEMVER),
    V("semver empty build", "1.2.0+", TEXTS, F_SEMVER),
    V("semver two parts", "1.2", TEXTS, F_SEMVER),

    /* UUIDs */
    V("UUID", "550e8400-e29b-41d4-a716-446655440000", TEXTS | OK(K_UUID), F_UUID),
    V("UUID upper case", "550E8400-E29B-41D4-A716-446655440000", TEXTS | OK(K_UUID), F_UUID),
    V("UUID without dashes", "550e8400e29b41d4a716446655440000", TEXTS, F_UUID),
    V("UUID with a g", "550e8400-e29b-41d4-a716-44665544000g", TEXTS, F_UUID),

    /* JSON */
    V("JSON object", "{\"a\": 1}", TEXTS | OK(K_JSON) | OK(K_OBJECT), F_JSON),
    V("JSON duplicate keys", "{\"a\": 1, \"a\": 2}", TEXTS, F_JSON),
    V("JSON array where an object is wanted", "[1, 2]", TEXTS | OK(K_JSON), F_JSON),
    V("JSON \\u0000", "{\"s\": \"a\\u0000b\"}", TEXTS, F_JSON),
    V("JSON escaped ESC", "{\"s\": \"\\u001b[31m\"}", TEXTS | OK(K_JSON) | OK(K_OBJECT),
      F_JSON),
    V("JSON 1e400", "{\"n\": 1e400}", TEXTS, F_JSON),
    V("JSON integer past int64", "{\"n\": 12345678901234567890}", TEXTS, F_JSON),
    V("JSON trailing garbage", "{\"a\": 1} x", TEXTS, F_JSON),
    V("JSON unterminated", "{\"a\": 1", TEXTS, F_JSON),
    V("JSON invalid UTF-8 inside", "{\"k\": \"bad\xff\"}", 0, F_JSON),
};

#define NVALUES (sizeof values / sizeof *values)

/* ------------------------------------------------------------------ */
/* generated values: nesting and length limits                         */

/* A value made at run time, freed with gen_free. */
typedef struct gen {
    hostile h;
    char *buf;
} gen;

static void gen_free(gen *g)
{
    free(g->buf);
    g->buf = NULL;
}

/* {"a":{"a":...1...}} nested `depth` objects deep. */
static gen nested_object(int depth, unsigned valid)
{
    gen g = {{NULL, NULL, 0, valid, F_JSON}, malloc((size_t)depth * 6 + 2)};
    assert_non_null(g.buf);
    char *p = g.buf;
    for (int i = 0; i < depth; i++, p += 5)
        memcpy(p, "{\"a\":", 5);
    *p++ = '1';
    for (int i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
    g.h.bytes = g.buf;
    g.h.len = (size_t)(p - g.buf);
    g.h.label = depth > OI_JSON_DEPTH_MAX ? "JSON nested one deeper than the limit"
                                          : "JSON nested exactly as deep as the limit";
    return g;
}

/* `len` bytes of the slot's kind, the last character of two bytes where
 * the kind allows it (the limit counts bytes, not characters): a JSON
 * object's string member for the JSON kinds, a build suffix for a semantic
 * version, else text. */
static gen of_length(kind k, size_t len, bool at_limit)
{
    gen g = {{at_limit ? "exactly at the length limit" : "one byte over the length limit",
              NULL, len, at_limit ? OK(k) : 0, F_TEXT}, malloc(len + 1)};
    assert_non_null(g.buf);
    memset(g.buf, 'x', len);
    memcpy(g.buf + len - 2, "\xc3\xa9", 2);
    if (k == K_JSON || k == K_OBJECT) {
        memcpy(g.buf, "{\"k\": \"", 7);
        memcpy(g.buf + len - 2, "\"}", 2);
    } else if (k == K_SEMVER) {
        memset(g.buf, 'b', len);
        memcpy(g.buf, "1.0.0+", 6);
    }
    g.buf[len] = '\0';
    g.h.bytes = g.buf;
    return g;
}

/* ------------------------------------------------------------------ */
/* the write paths                                                     */

typedef enum delivery { D_ARGV, D_STDIN, D_CSV, D_NDJSON } delivery;
/* What messages add to a field's name to tell the deliveries apart. */
static const char *const delivery_tags[] = {"", "", " (csv)", " (ndjson)"};
typedef enum readback {
    R_EXACT,     /* the bytes, one row */
    R_JSON,      /* JSON equal to the value (PostgreSQL's jsonb respaces it) */
    R_NUMBER,    /* the same double */
    R_TIME,      /* the same instant */
    R_ERROR,     /* last_error's "error" member, exactly */
    R_NONE       /* nothing to read back (a duration: only its effect is stored) */
} readback;

#define AGENT "Test Cost Agent"
#define CUSTOMER "hostile@example.com"
#define REC "{rec}" /* replaced by the pending recommendation's id */
#define SLOT "{v}"  /* replaced by the value; "--opt={v}" appends it */
#define NO_ROWS NULL

typedef struct slot {
    const char *field;        /* what the message names */
    kind kind;
    delivery delivery;
    const char *args[14];     /* the command line after --database-url */
    readback readback;
    const char *sql;          /* the stored field (both backends), when accepted */
    const char *sql_pg;       /* PostgreSQL's, when it differs */
    const char *reset;        /* raw SQL undoing an accepted case */
    int found_exit;           /* 0: a write; 4: a reference, looked up and not found */
    size_t limit;             /* the length limit; 0: none */
} slot;

/* SQLite's text of a REAL keeps 15 digits; ask for all 17. */
#define METRIC_VALUE_SQLITE "SELECT printf('%!.17g', metric_value) FROM agent_metrics"
#define METRIC_VALUE_PG "SELECT metric_value FROM agent_metrics"
#define METRIC_TIME_SQLITE "SELECT collection_timestamp FROM agent_metrics"
#define METRIC_TIME_PG "SELECT to_char(collection_timestamp AT TIME ZONE 'UTC', " \
                       "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM agent_metrics"
#define RESET_METRICS "DELETE FROM agent_metrics"
#define RESET_CONFIGS "DELETE FROM agent_configs"
#define RESET_STATES "DELETE FROM agent_states"

#define RECORD(...) {"metrics", "record", __VA_ARGS__, NULL}
static const slot record_slots[] = {
    {"agent", K_NAME, D_ARGV, RECORD("--", SLOT, "m", "1"), R_NONE, NULL, NULL, NULL, 4,
     OI_NAME_MAX},
    {"metric name", K_NAME, D_ARGV, RECORD("--", AGENT, SLOT, "1"), R_EXACT,
     "SELECT metric_name FROM agent_metrics", NULL, RESET_METRICS, 0, OI_NAME_MAX},
    {"metric value", K_NUMBER, D_ARGV, RECORD("--", AGENT, "m", SLOT), R_NUMBER,
     METRIC_VALUE_SQLITE, METRIC_VALUE_PG, RESET_METRICS, 0, 0},
    {"--unit", K_NAME, D_ARGV, RECORD("--unit=" SLOT, "--", AGENT, "m", "1"), R_EXACT,
     "SELECT coalesce(metric_unit, '(null)') FROM agent_metrics", NULL, RESET_METRICS, 0,
     OI_NAME_MAX},
    {"--at", K_TIME, D_ARGV, RECORD("--at=" SLOT, "--", AGENT, "m", "1"), R_TIME,
     METRIC_TIME_SQLITE, METRIC_TIME_PG, RESET_METRICS, 0, 0},
    {"--metadata", K_OBJECT, D_ARGV, RECORD("--metadata=" SLOT, "--", AGENT, "m", "1"),
     R_JSON, "SELECT metadata FROM agent_metrics", NULL, RESET_METRICS, 0, 0},
};

/* An import file's one row: the column the slot names holds the value, the
 * others import_defaults; the file is written per case (import_file). */
#define FILE_ARG "{file}"
#define IMPORT_AS(format, ...) {"metrics", "import", "--format=" format, __VA_ARGS__ "--", \
                                FILE_ARG, NULL}
#define IMPORT IMPORT_AS("csv", )
#define IMPORT_NDJSON IMPORT_AS("ndjson", )
static const slot import_slots[] = {
    {"agent", K_NAME, D_CSV, IMPORT, R_NONE, NULL, NULL, NULL, 4, OI_NAME_MAX},
    {"metric_name", K_NAME, D_CSV, IMPORT, R_EXACT, "SELECT metric_name FROM agent_metrics",
     NULL, RESET_METRICS, 0, OI_NAME_MAX},
    {"metric_value", K_NUMBER, D_CSV, IMPORT, R_NUMBER, METRIC_VALUE_SQLITE, METRIC_VALUE_PG,
     RESET_METRICS, 0, 0},
    {"metric_unit", K_NAME, D_CSV, IMPORT, R_EXACT,
     "SELECT coalesce(metric_unit, '(null)') FROM agent_metrics", NULL, RESET_METRICS, 0,
     OI_NAME_MAX},
    {"collection_timestamp", K_TIME, D_CSV, IMPORT, R_TIME, METRIC_TIME_SQLITE, METRIC_TIME_PG,
     RESET_METRICS, 0, 0},
    {"metadata", K_OBJECT, D_CSV, IMPORT, R_JSON, "SELECT metadata FROM agent_metrics", NULL,
     RESET_METRICS, 0, OI_DOCUMENT_MAX},
    {"agent", K_NAME, D_NDJSON, IMPORT_NDJSON, R_NONE, NULL, NULL, NULL, 4, OI_NAME_MAX},
    {"metric_name", K_NAME, D_NDJSON, IMPORT_NDJSON, R_EXACT,
     "SELECT metric_name FROM agent_metrics", NULL, RESET_METRICS, 0, OI_NAME_MAX},
    {"metric_value", K_JSONNUM, D_NDJSON, IMPORT_NDJSON, R_NUMBER, METRIC_VALUE_SQLITE,
     METRIC_VALUE_PG, RESET_METRICS, 0, 0},
    {"metric_unit", K_NAME, D_NDJSON, IMPORT_NDJSON, R_EXACT,
     "SELECT coalesce(metric_unit, '(null)') FROM agent_metrics", NULL, RESET_METRICS, 0,
     OI_NAME_MAX},
    {"collection_timestamp", K_TIME, D_NDJSON, IMPORT_NDJSON, R_TIME, METRIC_TIME_SQLITE,
     METRIC_TIME_PG, RESET_METRICS, 0, 0},
    {"metadata", K_OBJECT, D_NDJSON, IMPORT_NDJSON, R_JSON,
     "SELECT metadata FROM agent_metrics", NULL, RESET_METRICS, 0, OI_DOCUMENT_MAX},
    /* a whole number of 1 to 1000000 (metrics import --help): "5" imports the row */
    {"--batch-size", K_WHOLE, D_CSV, IMPORT_AS("csv", "--batch-size=" SLOT, ), R_NONE, NULL,
     NULL, RESET_METRICS, 0, 0},
};

#define CONFIG(...) {"config", "set", __VA_ARGS__, NULL}
#define CONFIG_VALUE "SELECT config_value FROM agent_configs"
static const slot config_slots[] = {
    {"agent", K_NAME, D_ARGV, CONFIG("--", SLOT, "k", "v"), R_NONE, NULL, NULL, NULL, 4,
     OI_NAME_MAX},
    {"key", K_NAME, D_ARGV, CONFIG("--", AGENT, SLOT, "v"), R_EXACT,
     "SELECT config_key FROM agent_configs", NULL, RESET_CONFIGS, 0, OI_NAME_MAX},
    {"value (string)", K_DOC, D_ARGV, CONFIG("--type=string", "--", AGENT, "k", SLOT), R_EXACT,
     CONFIG_VALUE, NULL, RESET_CONFIGS, 0, OI_DOCUMENT_MAX},
    {"value (string, --stdin)", K_DOC, D_STDIN, CONFIG("--type=string", "--stdin", "--", AGENT,
     "k"), R_EXACT, CONFIG_VALUE, NULL, RESET_CONFIGS, 0, OI_DOCUMENT_MAX},
    {"value (number)", K_NUMBER, D_ARGV, CONFIG("--type=number", "--", AGENT, "k", SLOT),
     R_EXACT, CONFIG_VALUE, NULL, RESET_CONFIGS, 0, 0},
    {"value (integer)", K_INTEGER, D_ARGV, CONFIG("--type=integer", "--", AGENT, "k", SLOT),
     R_EXACT, CONFIG_VALUE, NULL, RESET_CONFIGS, 0, 0},
    {"value (boolean)", K_BOOLEAN, D_ARGV, CONFIG("--type=boolean", "--", AGENT, "k", SLOT),
     R_EXACT, CONFIG_VALUE, NULL, RESET_CONFIGS, 0, 0},
    {"value (json)", K_JSON, D_ARGV, CONFIG("--type=json", "--", AGENT, "k", SLOT), R_EXACT,
     CONFIG_VALUE, NULL, RESET_CONFIGS, 0, 0},
    {"value (json, --stdin)", K_JSON, D_STDIN, CONFIG("--type=json", "--stdin", "--", AGENT,
     "k"), R_EXACT, CONFIG_VALUE, NULL, RESET_CONFIGS, 0, OI_DOCUMENT_MAX},
    {"--type", K_ENUM, D_ARGV, CONFIG("--type=" SLOT, "--", AGENT, "k", "v"), R_NONE, NULL,
     NULL, NULL, 0, 0},
    {"--description", K_TEXT, D_ARGV, CONFIG("--description=" SLOT, "--", AGENT, "k", "v"),
     R_EXACT, "SELECT coalesce(description, '(null)') FROM agent_configs", NULL, RESET_CONFIGS,
     0, OI_TEXT_MAX},
    {"--if-revision", K_WHOLE, D_ARGV, CONFIG("--if-revision=" SLOT, "--", AGENT, "k", "v"),
     R_NONE, NULL, NULL, NULL, 4, 0},
};

#define CAPABILITY(...) {"capability", "register", __VA_ARGS__, NULL}
#define RESET_CAPABILITIES "DELETE FROM agent_capabilities"
static const slot capability_slots[] = {
    {"agent", K_NAME, D_ARGV, CAPABILITY("--", SLOT, "c", "1.0.0"), R_NONE, NULL, NULL, NULL,
     4, OI_NAME_MAX},
    {"capability name", K_NAME, D_ARGV, CAPABILITY("--", AGENT, SLOT, "1.0.0"), R_EXACT,
     "SELECT capability_name FROM agent_capabilities", NULL, RESET_CAPABILITIES, 0,
     OI_NAME_MAX},
    {"version", K_SEMVER, D_ARGV, CAPABILITY("--", AGENT, "c", SLOT), R_EXACT,
     "SELECT capability_version FROM agent_capabilities", NULL, RESET_CAPABILITIES, 0,
     OI_NAME_MAX},
    {"--parameters", K_OBJECT, D_ARGV, CAPABILITY("--parameters=" SLOT, "--", AGENT, "c",
     "1.0.0"), R_JSON, "SELECT parameters FROM agent_capabilities", NULL, RESET_CAPABILITIES,
     0, 0},
    {"--description", K_TEXT, D_ARGV, CAPABILITY("--description=" SLOT, "--", AGENT, "c",
     "1.0.0"), R_EXACT, "SELECT coalesce(description, '(null)') FROM agent_capabilities", NULL,
     RESET_CAPABILITIES, 0, OI_TEXT_MAX},
    {"enable's version", K_SEMVER, D_ARGV, {"capability", "enable", "--", AGENT, "c", SLOT,
     NULL}, R_NONE, NULL, NULL, NULL, 4, 0},
};

#define LOCK(...) {"lock", "acquire", __VA_ARGS__, NULL}
#define RESET_LOCKS "DELETE FROM resource_locks"
static const slot lock_slots[] = {
    {"agent", K_NAME, D_ARGV, LOCK("--", SLOT, "r"), R_NONE, NULL, NULL, NULL, 4, OI_NAME_MAX},
    {"resource", K_NAME, D_ARGV, LOCK("--", AGENT, SLOT), R_EXACT,
     "SELECT resource FROM resource_locks", NULL, RESET_LOCKS, 0, OI_NAME_MAX},
    {"--ttl", K_DURATION, D_ARGV, LOCK("--ttl=" SLOT, "--", AGENT, "r"), R_NONE, NULL, NULL,
     RESET_LOCKS, 0, 0},
    {"--lock-delay", K_DURATION, D_ARGV, LOCK("--lock-delay=" SLOT, "--", AGENT, "r"), R_NONE,
     NULL, NULL, RESET_LOCKS, 0, 0},
    {"--stale-after", K_DURATION, D_ARGV, LOCK("--stale-after=" SLOT, "--", AGENT, "r"),
     R_NONE, NULL, NULL, RESET_LOCKS, 0, 0},
    {"release's resource", K_NAME, D_ARGV, {"lock", "release", "--", AGENT, SLOT, NULL},
     R_NONE, NULL, NULL, NULL, 4, 0},
};

static const slot agent_slots[] = {
    {"start's agent", K_NAME, D_ARGV, {"agent", "start", "--", SLOT, "w", NULL}, R_NONE, NULL,
     NULL, NULL, 4, 0},
    {"workflow", K_NAME, D_ARGV, {"agent", "start", "--", AGENT, SLOT, NULL}, R_EXACT,
     "SELECT current_workflow FROM agent_states", NULL, RESET_STATES, 0, OI_NAME_MAX},
    {"--data", K_OBJECT, D_ARGV, {"agent", "start", "--data=" SLOT, "--", AGENT, "w", NULL},
     R_JSON, "SELECT workflow_data FROM agent_states", NULL, RESET_STATES, 0, 0},
    /* agent error --help: MESSAGE is required ("an error message is required") */
    {"error message", K_MESSAGE, D_ARGV, {"agent", "error", "--", AGENT, SLOT, NULL}, R_ERROR,
     "SELECT last_error FROM agent_states", NULL, RESET_STATES, 0, OI_TEXT_MAX},
    {"--severity", K_ENUM, D_ARGV, {"agent", "error", "--severity=" SLOT, "--", AGENT, "e",
     NULL}, R_NONE, NULL, NULL, NULL, 0, 0},
    {"heartbeat's agent", K_NAME, D_ARGV, {"agent", "heartbeat", "--", SLOT, NULL}, R_NONE,
     NULL, NULL, NULL, 4, 0},
    {"finish's agent", K_NAME, D_ARGV, {"agent", "finish", "--", SLOT, NULL}, R_NONE, NULL,
     NULL, NULL, 4, 0},
    {"recover's agent", K_NAME, D_ARGV, {"agent", "recover", "--", SLOT, NULL}, R_NONE, NULL,
     NULL, NULL, 4, 0},
};

#define EVENT(...) {"event", "record", __VA_ARGS__, NULL}
#define RESET_EVENTS "DELETE FROM events"
static const slot event_slots[] = {
    {"customer", K_NAME, D_ARGV, EVENT("--", SLOT, "t"), R_NONE, NULL, NULL, NULL, 4, 0},
    {"type", K_NAME, D_ARGV, EVENT("--", CUSTOMER, SLOT), R_EXACT,
     "SELECT event_type FROM events", NULL, RESET_EVENTS, 0, OI_NAME_MAX},
    {"--agent", K_NAME, D_ARGV, EVENT("--agent=" SLOT, "--", CUSTOMER, "t"), R_NONE, NULL,
     NULL, NULL, 4, 0},
    {"--severity", K_ENUM, D_ARGV, EVENT("--severity=" SLOT, "--", CUSTOMER, "t"), R_NONE,
     NULL, NULL, NULL, 0, 0},
    {"--data", K_OBJECT, D_ARGV, EVENT("--data=" SLOT, "--", CUSTOMER, "t"), R_JSON,
     "SELECT data FROM events", NULL, RESET_EVENTS, 0, 0},
};

#define APPROVE(...) {"recommendation", "approve", __VA_ARGS__, NULL}
#define RESET_APPROVAL "DELETE FROM approvals; " \
                       "UPDATE recommendations SET status = 'pending', approved_at = NULL"
static const slot recommendation_slots[] = {
    {"id", K_UUID, D_ARGV, APPROVE("--by=me", "--", SLOT), R_NONE, NULL, NULL, NULL, 4, 0},
    {"--by", K_NAME, D_ARGV, APPROVE("--by=" SLOT, "--", REC), R_EXACT,
     "SELECT approved_by FROM approvals", NULL, RESET_APPROVAL, 0, OI_NAME_MAX},
    {"--comment", K_TEXT, D_ARGV, APPROVE("--by=me", "--comment=" SLOT, "--", REC), R_EXACT,
     "SELECT coalesce(comment, '(null)') FROM approvals", NULL, RESET_APPROVAL, 0,
     OI_TEXT_MAX},
    {"move's status", K_ENUM, D_ARGV, {"recommendation", "move", "--", REC, SLOT, NULL}, R_NONE,
     NULL, NULL, NULL, 0, 0},
};

#define RESET_TOKENS "DELETE FROM api_tokens"
static const slot token_slots[] = {
    {"--agent", K_NAME, D_ARGV, {"token", "create", "--agent=" SLOT, NULL}, R_NONE, NULL, NULL,
     NULL, 4, 0},
    /* token create --help: "a note for people, at most 200 bytes" */
    {"--label", K_NAME, D_ARGV, {"token", "create", "--admin", "--label=" SLOT, NULL}, R_EXACT,
     "SELECT coalesce(label, '(null)') FROM api_tokens", NULL, RESET_TOKENS, 0, 200},
    {"revoke's id", K_UUID, D_ARGV, {"token", "revoke", "--", SLOT, NULL}, R_NONE, NULL, NULL,
     NULL, 4, 0},
    {"config unset's key", K_NAME, D_ARGV, {"config", "unset", "--", AGENT, SLOT, NULL}, R_NONE,
     NULL, NULL, NULL, 4, 0},
    /* no metric is old enough: an accepted duration deletes nothing */
    {"prune's --older-than", K_DURATION, D_ARGV, {"metrics", "prune", "--older-than=" SLOT,
     NULL}, R_NONE, NULL, NULL, NULL, 0, 0},
    {"prune's --batch-size", K_WHOLE, D_ARGV, {"metrics", "prune", "--older-than=1d",
     "--batch-size=" SLOT, NULL}, R_NONE, NULL, NULL, NULL, 0, 0},
};

/* ------------------------------------------------------------------ */
/* cases that still fail: skipped by name, printed, listed in the report */

/* "field|value label" of the cases whose defect is not fixed yet; each
 * with a comment naming the defect.  Empty is the goal. */
static const char *const known_failures[] = {
    NULL
};

static bool known_failure(const char *path, const slot *s, const hostile *h)
{
    char key[300];
    snprintf(key, sizeof key, "%s %s%s|%s", path, s->field, delivery_tags[s->delivery],
             h->label);
    for (size_t i = 0; known_failures[i]; i++)
        if (strcmp(known_failures[i], key) == 0) {
            print_message("known failure, skipped: %s\n", key);
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------ */
/* running one case                                                    */

typedef struct bench {
    oi_fixture *fx;
    const char *path;    /* "metrics record", for messages */
    char rec_id[OI_UUID_LEN + 1];
    char customer_id[OI_UUID_LEN + 1];
    int failures;        /* cases that broke their promise so far */
    int cases;
    char *state;         /* the database's fingerprint now, NULL: unknown */
} bench;

/* The first bytes of a value, readable in a message: printable ASCII
 * kept, every other byte \xNN. */
static void printable(char *out, size_t size, const char *bytes, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && i < 60 && n + 5 < size; i++) {
        unsigned char c = (unsigned char)bytes[i];
        n += (size_t)snprintf(out + n, size - n, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
}

static void case_failed(bench *b, const slot *s, const hostile *h, const char *why,
                        const fx_run *r)
{
    char shown[120];
    printable(shown, sizeof shown, h->bytes, h->len);
    print_error("%s %s%s <- %s \"%s\" (%zu bytes): %s\n"
                "  exit %d\n  stdout: %.300s\n  stderr: %.300s\n",
                b->path, s->field, delivery_tags[s->delivery], h->label, shown, h->len, why,
                r->status, r->out, r->err);
    b->failures++;
}

/* Whether text is valid UTF-8 (shortest forms, no surrogates) with no
 * control character but line feeds: what a refusal may print. */
static bool clean_message(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        if (*p < 0x80) {
            if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
                return false;
            p++;
            continue;
        }
        int n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || *p == 0xc0 || *p == 0xc1 || *p > 0xf4)
            return false;
        unsigned cp = *p & (0x3f >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
        p += n + 1;
    }
    return true;
}

/* A CSV field: always quoted, quotes doubled (so "" is the empty text). */
static void csv_field(FILE *f, const hostile *h)
{
    fputc('"', f);
    for (size_t i = 0; i < h->len; i++) {
        if (h->bytes[i] == '"')
            fputc('"', f);
        fputc(h->bytes[i], f);
    }
    fputc('"', f);
}

/* A JSON string of the bytes: quote, backslash and control bytes escaped
 * (a NUL as \u0000, which the store must refuse as it refuses a raw one),
 * every other byte raw (invalid UTF-8 stays invalid). */
static void json_quoted(FILE *f, const hostile *h)
{
    fputc('"', f);
    for (size_t i = 0; i < h->len; i++) {
        unsigned char c = (unsigned char)h->bytes[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *const import_columns[] = {"agent", "metric_name", "metric_value",
                                             "metric_unit", "collection_timestamp", "metadata"};
static const char *const import_defaults[] = {AGENT, "m", "1", "u", "2026-01-02T03:04:05Z",
                                              "{}"};

/* The import file of a case: one record, the slot's column holding the value. */
static void import_file(const char *path, const slot *s, const hostile *h)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    bool csv = s->delivery == D_CSV;
    if (csv)
        fputs("agent,metric_name,metric_value,metric_unit,collection_timestamp,metadata\n", f);
    else
        fputc('{', f);
    for (size_t c = 0; c < 6; c++) {
        bool here = strcmp(import_columns[c], s->field) == 0;
        hostile d = {NULL, import_defaults[c], strlen(import_defaults[c]), 0, 0};
        const hostile *v = here ? h : &d;
        if (csv) {
            if (c)
                fputc(',', f);
            csv_field(f, v);
            continue;
        }
        fprintf(f, "%s\"%s\": ", c ? ", " : "", import_columns[c]);
        bool raw = here ? (s->kind == K_JSONNUM || s->kind == K_OBJECT) : (c == 2 || c == 5);
        if (raw)
            fwrite(v->bytes, 1, v->len, f);
        else
            json_quoted(f, v);
    }
    fputs(csv ? "\n" : "}\n", f);
    fclose(f);
}

/* The CLI under test with standard input from a file (fx_cli_argv's
 * children read /dev/null): run in fx_in_child, which reports the exit and
 * kills a hung run. */
typedef struct stdin_run {
    const char *const *argv;
    const char *in, *out, *err;
} stdin_run;

static int exec_with_stdin(const char *url, void *arg)
{
    (void)url;
    stdin_run *r = arg;
    int in = open(r->in, O_RDONLY);
    int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        return 126;
    execv(r->argv[0], (char *const *)r->argv);
    return 127;
}

static void run_with_stdin(oi_fixture *fx, fx_run *run, const char *in_path,
                           const char *const *args, size_t nargs)
{
    const char *argv[20] = {fx_cli_path(), "--database-url", fx->url};
    assert_true(nargs + 4 <= sizeof argv / sizeof *argv);
    memcpy(argv + 3, args, nargs * sizeof *args);
    char out[300], err[300];
    snprintf(out, sizeof out, "%s/stdin-run.out", fx->dir);
    snprintf(err, sizeof err, "%s/stdin-run.err", fx->dir);
    stdin_run r = {argv, in_path, out, err};
    run->status = fx_in_child(fx, exec_with_stdin, &r, 120000);
    run->out = fx_slurp(out);
    run->err = fx_slurp(err);
    fx_output_log("stdin-run.out", run->out); /* the secrets check reads every output */
    fx_output_log("stdin-run.err", run->err);
}

/* Run the slot's command with the value in its place. */
static void run_case(bench *b, const slot *s, const hostile *h, fx_run *run)
{
    oi_fixture *fx = b->fx;
    const char *args[16];
    char *owned[16] = {0}, data_path[300];
    size_t n = 0;
    snprintf(data_path, sizeof data_path, "%s/hostile.%s", fx->dir,
             s->delivery == D_NDJSON ? "ndjson" : "csv");
    for (; s->args[n]; n++) {
        const char *a = s->args[n], *at = strstr(a, SLOT);
        if (strcmp(a, REC) == 0)
            a = b->rec_id;
        else if (strcmp(a, FILE_ARG) == 0)
            a = data_path;
        else if (at) {
            size_t pre = (size_t)(at - a);
            owned[n] = malloc(pre + h->len + 1);
            assert_non_null(owned[n]);
            memcpy(owned[n], a, pre);
            memcpy(owned[n] + pre, h->bytes, h->len);
            owned[n][pre + h->len] = '\0';
            a = owned[n];
        }
        args[n] = a;
    }
    if (s->delivery == D_CSV || s->delivery == D_NDJSON)
        import_file(data_path, s, h);
    if (s->delivery == D_STDIN) {
        FILE *f = fopen(data_path, "wb");
        assert_non_null(f);
        fwrite(h->bytes, 1, h->len, f);
        fclose(f);
        run_with_stdin(fx, run, data_path, args, n);
    } else {
        fx_cli_argv(fx, run, true, args, n);
    }
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
}

/* Whether the value can reach the slot at all: an argument holds no NUL
 * and at most 128 KiB (the kernel's MAX_ARG_STRLEN, with room for an option
 * name). */
static bool deliverable(const slot *s, const hostile *h)
{
    if (s->delivery != D_ARGV)
        return true;
    return !memchr(h->bytes, '\0', h->len) && h->len < 128 * 1024 - 64;
}

/* The stored field, compared as its read-back says. */
static bool stored_exactly(bench *b, const slot *s, const hostile *h, char **why)
{
    oi_fixture *fx = b->fx;
    if (!s->sql)
        return true;
    char *text = fx_sql_text(fx, fx_is_pg() && s->sql_pg ? s->sql_pg : s->sql);
    size_t len = strlen(text);
    bool one_row = len > 0 && text[len - 1] == '\n';
    if (one_row)
        text[--len] = '\0';
    bool same = false;
    if (s->readback == R_EXACT) {
        same = len == h->len && memcmp(text, h->bytes, len) == 0;
    } else if (s->readback == R_NUMBER) {
        char *copy = strndup(h->bytes, h->len);
        same = one_row && strtod(text, NULL) == strtod(copy, NULL);
        free(copy);
    } else if (s->readback == R_TIME) {
        char *copy = strndup(h->bytes, h->len);
        oi_time want = 0, got = 0;
        same = one_row && oi_time_parse(copy, &want) == OI_OK &&
               oi_time_parse(text, &got) == OI_OK && want == got;
        free(copy);
    } else if (s->readback == R_JSON || s->readback == R_ERROR) {
        json_t *got = json_loads(text, JSON_DECODE_ANY, NULL);
        if (s->readback == R_JSON) {
            json_t *want = json_loadb(h->bytes, h->len, JSON_DECODE_ANY, NULL);
            same = got && want && json_equal(got, want);
            json_decref(want);
        } else {
            json_t *e = got ? json_object_get(got, "error") : NULL;
            same = json_is_string(e) && json_string_length(e) == h->len &&
                   memcmp(json_string_value(e), h->bytes, h->len) == 0;
        }
        json_decref(got);
    }
    if (!same && asprintf(why, "stored as \"%.200s\" (%zu bytes), not exactly as given", text,
                          len) < 0)
        *why = NULL;
    free(text);
    return same;
}

/* One case: run it, judge it by the grammar, undo what it wrote. */
static void try_case(bench *b, const slot *s, const hostile *h)
{
    if (!deliverable(s, h) || known_failure(b->path, s, h))
        return;
    oi_fixture *fx = b->fx;
    bool valid = (h->valid & OK(s->kind)) && (!s->limit || h->len <= s->limit);
    int want = valid ? s->found_exit : 3;
    /* The state before: the previous case's after, when that one wrote nothing. */
    if (want && !b->state)
        b->state = fx_db_fingerprint(fx);
    fx_run run;
    run_case(b, s, h, &run);
    b->cases++;
    char *why = NULL, *after = NULL;
    if (run.status != want) {
        if (asprintf(&why, "exit %d, expected %d (%s)", run.status, want,
                     valid ? (want ? "a lookup that finds nothing" : "stored") : "refused") < 0)
            why = NULL;
        case_failed(b, s, h, why ? why : "wrong exit", &run);
    } else if (want != 0) {
        after = fx_db_fingerprint(fx);
        if (strcmp(b->state, after) != 0)
            case_failed(b, s, h, "the database changed", &run);
        else if (fx_count_lines(run.err) != 1 || !clean_message(run.err))
            case_failed(b, s, h, "not one clean line on stderr", &run);
    } else if (!stored_exactly(b, s, h, &why)) {
        case_failed(b, s, h, why ? why : "not stored exactly", &run);
    }
    free(why);
    if (run.status == 0 && s->reset)
        fx_sql_exec(fx, s->reset);
    free(b->state);
    b->state = after;
    fx_run_free(&run);
}

/* Every value of the slot's families, then its limits, then, for JSON, its
 * nesting. */
static void try_slot(bench *b, const slot *s)
{
    unsigned families = families_of(s->kind, s->found_exit == 0 && s->sql);
    for (size_t i = 0; i < NVALUES; i++)
        if (values[i].family & families)
            try_case(b, s, &values[i]);
    if (s->limit) {
        for (int over = 0; over <= 1; over++) {
            gen g = of_length(s->kind, s->limit + (size_t)over, !over);
            try_case(b, s, &g.h);
            gen_free(&g);
        }
    }
    if (s->kind == K_JSON || s->kind == K_OBJECT) {
        for (int over = 0; over <= 1; over++) {
            gen g = nested_object(OI_JSON_DEPTH_MAX + over,
                                  over ? LONG_TEXTS : OK(K_JSON) | OK(K_OBJECT) | LONG_TEXTS);
            try_case(b, s, &g.h);
            gen_free(&g);
        }
    }
}

/* The records some paths need: a customer and a pending recommendation. */
static void bench_init(bench *b, oi_fixture *fx, const char *path)
{
    *b = (bench){fx, path, "", "", 0, 0, NULL};
    oi_customer c = OI_CUSTOMER_INIT;
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    fx_make_customer(fx, CUSTOMER, &c);
    fx_make_recommendation(fx, c.id, fx->cost_agent.id, &r);
    memcpy(b->rec_id, r.id, sizeof b->rec_id);
    memcpy(b->customer_id, c.id, sizeof b->customer_id);
    oi_recommendation_clear(&r);
    oi_customer_clear(&c);
}

static void run_slots(void **state, const char *path, const slot *slots, size_t n)
{
    /* About a thousand CLI processes; this build runs the library's and
     * the service's cases below, and the fuzzers. */
    fx_skip_in_sanitizer_build(path);
    bench b;
    bench_init(&b, FX(state), path);
    for (size_t i = 0; i < n; i++)
        try_slot(&b, &slots[i]);
    free(b.state);
    print_message("%s: %d cases, %d broke their promise\n", path, b.cases, b.failures);
    if (b.failures)
        fail_msg("%d hostile cases of %s were not stored exactly or refused cleanly",
                 b.failures, path);
}

#define SLOTS(fn, path, table)                                     \
    static void fn(void **state)                                   \
    {                                                              \
        run_slots(state, path, table, sizeof table / sizeof *table); \
    }

SLOTS(test_hostile_metrics_record, "metrics record", record_slots)
SLOTS(test_hostile_metrics_import, "metrics import", import_slots)
SLOTS(test_hostile_config_set, "config set", config_slots)
SLOTS(test_hostile_capability, "capability", capability_slots)
SLOTS(test_hostile_lock, "lock", lock_slots)
SLOTS(test_hostile_agent, "agent", agent_slots)
SLOTS(test_hostile_event, "event record", event_slots)
SLOTS(test_hostile_recommendation, "recommendation", recommendation_slots)
SLOTS(test_hostile_token_unset_prune, "token, config unset, metrics prune", token_slots)

/* ------------------------------------------------------------------ */
/* the judge itself                                                    */

/* The fingerprint sees a change to any table the store keeps, the store
 * revision and a heartbeat included, and tells NULL from the empty text. */
static void test_hostile_fingerprint_sees_changes(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const changes[] = {
        "UPDATE store_revision SET revision = revision + 1",
        "UPDATE agents SET last_heartbeat = NULL",
        "UPDATE agents SET endpoint = ''",
        "UPDATE agents SET endpoint = NULL",
        "INSERT INTO lock_fences (resource, fence) VALUES ('r', 1)",
        "DELETE FROM change_log",
    };
    char *before = fx_db_fingerprint(fx);
    char *again = fx_db_fingerprint(fx);
    assert_string_equal(before, again);
    free(again);
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        fx_sql_exec(fx, changes[i]);
        char *after = fx_db_fingerprint(fx);
        if (strcmp(before, after) == 0)
            fail_msg("the fingerprint missed: %s", changes[i]);
        free(before);
        before = after;
    }
    free(before);
}

/* ------------------------------------------------------------------ */
/* the library: the same verdict without the CLI                       */

#define BAD_UTF8 "bad\xff"
#define ESCAPE "\x1b[31mred"

/* A refused call: OI_EINVALID, a clean one-line message, nothing written. */
static void refused(oi_fixture *fx, const char *before, int rc, const char *call)
{
    fx_assert_rc(fx->store, rc, OI_EINVALID, call, __FILE__, __LINE__);
    const char *msg = oi_errmsg(fx->store);
    if (strchr(msg, '\n') || !clean_message(msg))
        fail_msg("%s: the message is not one clean line", call);
    char *after = fx_db_fingerprint(fx);
    if (strcmp(before, after) != 0)
        fail_msg("%s was refused but changed the database", call);
    free(after);
}

#define REFUSED(call) refused(fx, before, (call), #call)

static oi_agent_metric hostile_metric(oi_fixture *fx)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "m";
    m.metric_value = 1;
    m.collection_timestamp = oi_time_now();
    m.metadata = "{}";
    return m;
}

/* One call per write function, each with a value its field's kind refuses. */
static void test_hostile_library(void **state)
{
    oi_fixture *fx = FX(state);
    bench b;
    bench_init(&b, fx, "library");
    const char *agent = fx->cost_agent.id;
    char *before = fx_db_fingerprint(fx);

    oi_agent a = OI_AGENT_INIT;
    a.type = "cost";
    a.name = BAD_UTF8;
    REFUSED(oi_agent_register(fx->store, &a, NULL));
    a.name = "";
    REFUSED(oi_agent_create(fx->store, &a));
    oi_customer c = OI_CUSTOMER_INIT;
    c.name = ESCAPE;
    c.email = "e@example.com";
    c.api_key = "k";
    REFUSED(oi_customer_create(fx->store, &c));

    oi_agent_metric m = hostile_metric(fx);
    m.metric_unit = BAD_UTF8;
    REFUSED(oi_agent_metric_create(fx->store, &m));
    m = hostile_metric(fx);
    m.metric_name = "";
    REFUSED(fx_record_batch(fx->store, &m, 1));
    m = hostile_metric(fx);
    char *big = malloc(1000 * 1000 + 1);
    assert_non_null(big);
    memset(big, 'n', 1000 * 1000);
    big[1000 * 1000] = '\0';
    m.metric_name = big; /* the issue's 1 MB metric name */
    REFUSED(oi_agent_metric_create(fx->store, &m));
    free(big);
    m = hostile_metric(fx);
    m.collection_timestamp = OI_TIME_MAX + 1;
    REFUSED(oi_agent_metric_create(fx->store, &m));
    m = hostile_metric(fx);
    m.metadata = "{\"a\": 1, \"a\": 2}";
    REFUSED(oi_agent_metric_create(fx->store, &m));

    REFUSED(oi_config_set(fx->store, agent, "k", BAD_UTF8, "string", NULL, OI_SENSITIVE_NO,
                          NULL));
    REFUSED(oi_config_set(fx->store, agent, ESCAPE, "v", "string", NULL, OI_SENSITIVE_NO,
                          NULL));
    REFUSED(oi_config_set(fx->store, agent, "k", "0x10", "number", NULL, OI_SENSITIVE_NO,
                          NULL));
    REFUSED(oi_config_set(fx->store, agent, "k", "{\"a\": 1, \"a\": 2}", "json", NULL,
                          OI_SENSITIVE_NO, NULL));

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    memcpy(cap.agent_id, agent, sizeof cap.agent_id);
    cap.capability_name = "c";
    cap.capability_version = "1.2.0-01";
    cap.parameters = "{}";
    REFUSED(oi_capability_register(fx->store, &cap));
    cap.capability_version = "1.2.0";
    cap.parameters = "[1]";
    REFUSED(oi_agent_capability_create(fx->store, &cap));

    REFUSED(oi_lock_acquire(fx->store, agent, ESCAPE, 60 * INT64_C(1000000),
                            90 * INT64_C(1000000), NULL));
    REFUSED(oi_lock_acquire(fx->store, agent, "r", -1, 90 * INT64_C(1000000), NULL));

    oi_event ev = OI_EVENT_INIT;
    memcpy(ev.customer_id, b.customer_id, sizeof ev.customer_id);
    ev.event_type = "";
    ev.data = "{}";
    REFUSED(oi_event_record(fx->store, &ev));

    REFUSED(oi_recommendation_approve(fx->store, b.rec_id, BAD_UTF8, NULL, NULL));
    REFUSED(oi_recommendation_reject(fx->store, b.rec_id, "me", ESCAPE, NULL));
    REFUSED(oi_agent_start_workflow(fx->store, agent, BAD_UTF8, "{}", NULL));
    REFUSED(oi_agent_start_workflow(fx->store, agent, "w", "[1]", NULL));
    REFUSED(oi_agent_record_error(fx->store, agent, BAD_UTF8, "medium", NULL));

    oi_agent_state st = OI_AGENT_STATE_INIT;
    memcpy(st.agent_id, agent, sizeof st.agent_id);
    st.status = "idle";
    st.workflow_data = "{\"a\": 1, \"a\": 2}";
    REFUSED(oi_agent_state_create(fx->store, &st));

    char token[OI_TOKEN_BUFSZ];
    REFUSED(oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, ESCAPE, token, NULL));
    free(before);
}

/* ------------------------------------------------------------------ */
/* the service: 422 where the CLI exits 3                              */

typedef struct twin {
    const char *method, *path, *body; /* {agent} is the agent's id */
    const char *cli[10];              /* the same request through the CLI */
} twin;

/* Each body is JSON (a body that is not JSON is 400, another verdict): the
 * hostile part is a value its field's kind refuses. */
static const twin twins[] = {
    {"POST", "/v1/metrics", "[{\"agent\": \"" AGENT "\", \"metric_name\": \"\\u001b[31m\", "
     "\"metric_value\": 1}]", {"metrics", "record", "--", AGENT, ESCAPE, "1", NULL}},
    {"POST", "/v1/metrics", "[{\"agent\": \"" AGENT "\", \"metric_name\": \"m\", "
     "\"metric_value\": 1, \"collection_timestamp\": \"0000-01-01T00:00:00Z\"}]",
     {"metrics", "record", "--at=0000-01-01T00:00:00Z", "--", AGENT, "m", "1", NULL}},
    {"POST", "/v1/agents/{agent}/capabilities", "{\"name\": \"c\", \"version\": \"1.2.0-01\"}",
     {"capability", "register", "--", AGENT, "c", "1.2.0-01", NULL}},
    {"POST", "/v1/locks/r", "{\"agent_id\": \"{agent}\", \"ttl\": \"-5s\"}",
     {"lock", "acquire", "--ttl=-5s", "--", AGENT, "r", NULL}},
    {"PUT", "/v1/agents/{agent}/configs/k", "{\"value\": \"0x10\", \"type\": \"number\"}",
     {"config", "set", "--type=number", "--", AGENT, "k", "0x10", NULL}},
    {"POST", "/v1/agents/{agent}/start", "{\"workflow\": \"bell\\u0007\"}",
     {"agent", "start", "--", AGENT, "bell\x07", NULL}},
    {"POST", "/v1/agents/{agent}/error", "{\"message\": \"a\\u009b\"}",
     {"agent", "error", "--", AGENT, "a\xc2\x9b", NULL}},
    {"POST", "/v1/events", "{\"customer\": \"" CUSTOMER "\", \"type\": \"\"}",
     {"event", "record", "--", CUSTOMER, "", NULL}},
    /* agents are registered by the library and the service only: no CLI twin */
    {"POST", "/v1/agents", "{\"type\": \"cost\", \"name\": \"bad\\u0085\"}", {NULL}},
};

/* Replace every {agent} of text with the id. */
static char *with_agent(const char *text, const char *id)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *p = text; *p;) {
        const char *at = strstr(p, "{agent}");
        size_t n = at ? (size_t)(at - p) : strlen(p);
        fwrite(p, 1, n, f);
        if (!at)
            break;
        fputs(id, f);
        p = at + 7;
    }
    fclose(f);
    return out;
}

static void test_hostile_service(void **state)
{
    oi_fixture *fx = FX(state);
    bench b;
    bench_init(&b, fx, "service");
    fx_server srv;
    fx_server_start(fx, &srv, NULL);
    for (size_t i = 0; i < sizeof twins / sizeof *twins; i++) {
        const twin *t = &twins[i];
        char *before = fx_db_fingerprint(fx);
        char *path = with_agent(t->path, fx->cost_agent.id);
        char *body = with_agent(t->body, fx->cost_agent.id);
        fx_http r;
        fx_request(&srv, &r, t->method, path, body, NULL, NULL);
        if (r.status != 422)
            fail_msg("%s %s %s: %ld, expected 422: %s", t->method, path, body, r.status, r.body);
        fx_http_free(&r);
        size_t n = 0;
        while (t->cli[n])
            n++;
        if (n) {
            fx_run run;
            fx_cli_argv(fx, &run, true, t->cli, n);
            if (run.status != 3)
                fail_msg("the CLI twin of %s %s exits %d, expected 3: %s", t->method, path,
                         run.status, run.err);
            fx_run_free(&run);
        }
        char *after = fx_db_fingerprint(fx);
        if (strcmp(before, after) != 0)
            fail_msg("%s %s %s was refused but changed the database", t->method, path, body);
        free(after);
        free(before);
        free(path);
        free(body);
    }
    assert_int_equal(fx_server_stop(&srv), 0);
}

/* ------------------------------------------------------------------ */
/* the issue's examples of classes 1-6, as given                       */

static void expect_refused(oi_fixture *fx, const char *const *args, size_t n,
                           const char *stdin_path)
{
    char *before = fx_db_fingerprint(fx);
    fx_run run;
    if (stdin_path)
        run_with_stdin(fx, &run, stdin_path, args, n);
    else
        fx_cli_argv(fx, &run, true, args, n);
    char *after = fx_db_fingerprint(fx);
    if (run.status != 3 || fx_count_lines(run.err) != 1 || !clean_message(run.err) ||
        strcmp(before, after) != 0)
        fail_msg("%s %s ...: exit %d (expected 3 with one clean line, nothing written): %s",
                 args[0], args[1], run.status, run.err);
    fx_run_free(&run);
    free(before);
    free(after);
}

#define REFUSE(...) do {                                                         \
        const char *const args_[] = {__VA_ARGS__};                               \
        expect_refused(fx, args_, sizeof args_ / sizeof *args_, NULL);           \
    } while (0)

static void write_file(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

/* Classes 1 (invalid UTF-8), 2 (the epoch as "no value"), 3 (times that
 * cannot be read back), 4 (NUL), 5 (sizes) and 6 (grammars). */
static void test_hostile_issue_examples(void **state)
{
    oi_fixture *fx = FX(state);
    /* 1: refused, so the JSON view has nothing to drop */
    REFUSE("metrics", "record", "--unit=bad\xff", "--", AGENT, "m", "1");
    /* 2: the epoch is a time, stored as given; --to the epoch matches only it */
    fx_run run;
    fx_cli(fx, &run, "metrics", "record", "--at=1970-01-01T00:00:00Z", "--", AGENT, "m", "1",
           (char *)NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    fx_cli(fx, &run, "metrics", "record", "--", AGENT, "m", "2", (char *)NULL);
    assert_int_equal(run.status, 0);
    fx_run_free(&run);
    char *at = fx_sql_text(fx, fx_is_pg() ? METRIC_TIME_PG " WHERE metric_value = 1"
                                          : METRIC_TIME_SQLITE " WHERE metric_value = 1");
    assert_string_equal(at, "1970-01-01T00:00:00.000000Z\n");
    free(at);
    fx_cli(fx, &run, "--json", "metrics", "query", "--to=1970-01-01T00:00:00Z", (char *)NULL);
    assert_int_equal(run.status, 0);
    json_t *rows = fx_json(run.out);
    json_t *list = json_object_get(rows, "rows");
    assert_int_equal(json_array_size(list), 1);
    json_decref(rows);
    fx_run_free(&run);
    /* 3: outside the years 0001-9999 after the offset, or an offset past 14:00 */
    REFUSE("metrics", "record", "--at=9999-12-31T23:59:59-23:59", "--", AGENT, "m", "1");
    REFUSE("metrics", "record", "--at=2020-01-01T00:00:00+14:01", "--", AGENT, "m", "1");
    /* 4: a NUL byte in a value read from standard input */
    char path[300];
    snprintf(path, sizeof path, "%s/nul.txt", fx->dir);
    write_file(path, "abc\0def", 7);
    const char *const stdin_set[] = {"config", "set", "--stdin", "--", AGENT, "k"};
    expect_refused(fx, stdin_set, 6, path);
    /* 5: a 2 MiB config value; a 1 MB metric name */
    size_t big = 2 * OI_DOCUMENT_MAX;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'v', big);
    write_file(path, text, big);
    expect_refused(fx, stdin_set, 6, path);
    /* the 1 MB name through an import (an argument holds at most 128 KiB) */
    snprintf(path, sizeof path, "%s/big.csv", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "agent,metric_name,metric_value\n" AGENT ",%.*s,1\n", 1000 * 1000, text);
    fclose(f);
    REFUSE("metrics", "import", "--", path);
    text[100 * 1024] = '\0';
    REFUSE("metrics", "record", "--", AGENT, text, "1");
    free(text);
    /* 6: one grammar per kind on every path */
    REFUSE("config", "set", "--type=number", "--", AGENT, "k", "0x10");
    REFUSE("config", "set", "--type=number", "--", AGENT, "k", " 5");
    REFUSE("config", "set", "--type=json", "--", AGENT, "k", "{\"a\": 1, \"a\": 2}");
    REFUSE("capability", "register", "--", AGENT, "c", "1.2.0-");
    REFUSE("capability", "register", "--", AGENT, "c", "1.2.0-01");
    REFUSE("metrics", "record", "--", AGENT, "", "1");
    REFUSE("metrics", "record", "--", AGENT, "\x1b[2J", "1");
}

/* The issue's 300 MB config value took 1.7 GB of memory and was echoed
 * whole: a 128 MiB one is refused without being read whole.  The largest
 * child this process has had (getrusage) must stay below the value's size;
 * the check means nothing if an earlier child was that large already (a
 * fork counts its parent's memory until its exec), and says so. */
static void test_hostile_huge_value_not_read_whole(void **state)
{
    oi_fixture *fx = FX(state);
    const size_t chunk = 1024 * 1024, chunks = 128;
    char path[300];
    snprintf(path, sizeof path, "%s/huge.txt", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char *part = malloc(chunk);
    assert_non_null(part);
    memset(part, 'v', chunk);
    for (size_t i = 0; i < chunks; i++)
        assert_int_equal(fwrite(part, 1, chunk, f), chunk);
    free(part);
    fclose(f);
    struct rusage before, after;
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &before), 0);
    const char *const args[] = {"config", "set", "--stdin", "--", AGENT, "k"};
    expect_refused(fx, args, 6, path);
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &after), 0);
    long limit_kib = (long)(chunk * chunks / 1024);
    if (before.ru_maxrss >= limit_kib)
        fx_skip("an earlier child of this process was as large as the value");
    if (after.ru_maxrss >= limit_kib)
        fail_msg("config set --stdin grew to %ld KiB for a value of %ld KiB: it read it whole",
                 after.ru_maxrss, limit_kib);
}

/* ------------------------------------------------------------------ */
/* time buckets before 1970                                            */

/* 1969-12-31T23:30Z is in the hour that starts at 23:00 and the day that
 * starts on 1969-12-31, on both backends: buckets floor, they do not
 * truncate toward the epoch.  A bucket that would start before the year
 * 0001 starts at its first instant: a time, never "(out of range)". */
static void test_hostile_buckets_before_1970(void **state)
{
    oi_fixture *fx = FX(state);
    static const struct { const char *at, *bucket, *start; } cases[] = {
        {"1969-12-31T23:30:00Z", "1h", "1969-12-31T23:00:00.000000Z"},
        {"1969-12-31T23:30:00Z", "1d", "1969-12-31T00:00:00.000000Z"},
        {"1969-12-31T23:59:59.5Z", "1s", "1969-12-31T23:59:59.000000Z"},
        /* around the epoch: -1 s, 0, +1 s, and a negative time on a bucket's start */
        {"1969-12-31T23:59:59Z", "1h", "1969-12-31T23:00:00.000000Z"},
        {"1969-12-31T23:59:59Z", "1s", "1969-12-31T23:59:59.000000Z"},
        {"1970-01-01T00:00:00Z", "1h", "1970-01-01T00:00:00.000000Z"},
        {"1970-01-01T00:00:01Z", "1h", "1970-01-01T00:00:00.000000Z"},
        {"1969-12-31T23:00:00Z", "1h", "1969-12-31T23:00:00.000000Z"},
        {"9999-12-31T23:59:59Z", "1d", "9999-12-31T00:00:00.000000Z"},
        /* weeks start on Thursdays, as 1970-01-01 did */
        {"1969-07-20T20:17:40Z", "1w", "1969-07-17T00:00:00.000000Z"},
        /* the week of 0001-01-01 starts 4 days before it: cut at the first instant */
        {"0001-01-01T00:00:00Z", "1w", "0001-01-01T00:00:00.000000Z"},
        {"0001-01-03T00:00:00Z", "106751991d", "0001-01-01T00:00:00.000000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fx_sql_exec(fx, RESET_METRICS);
        fx_run run;
        char at[64];
        snprintf(at, sizeof at, "--at=%s", cases[i].at);
        fx_cli(fx, &run, "metrics", "record", at, "--", AGENT, "m", "1", (char *)NULL);
        assert_int_equal(run.status, 0);
        fx_run_free(&run);
        char bucket[32];
        snprintf(bucket, sizeof bucket, "--bucket=%s", cases[i].bucket);
        fx_cli(fx, &run, "--json", "metrics", "aggregate", bucket, (char *)NULL);
        if (run.status != 0)
            fail_msg("aggregate %s: exit %d: %s", bucket, run.status, run.err);
        json_t *j = fx_json(run.out);
        json_t *start = fx_json_at(j, "rows.0.bucket_start");
        if (!json_is_string(start) || strcmp(json_string_value(start), cases[i].start) != 0)
            fail_msg("%s in %s buckets: %s, expected the bucket of %s", cases[i].at,
                     cases[i].bucket, run.out, cases[i].start);
        json_decref(j);
        fx_run_free(&run);
    }
}

/* ------------------------------------------------------------------ */
/* the group                                                           */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_hostile_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hostile_metrics_record),
        T(test_hostile_metrics_import),
        T(test_hostile_config_set),
        T(test_hostile_capability),
        T(test_hostile_lock),
        T(test_hostile_agent),
        T(test_hostile_event),
        T(test_hostile_recommendation),
        T(test_hostile_token_unset_prune),
        T(test_hostile_fingerprint_sees_changes),
        T(test_hostile_library),
        T(test_hostile_service),
        T(test_hostile_issue_examples),
        T(test_hostile_huge_value_not_read_whole),
        T(test_hostile_buckets_before_1970),
    };
    return fx_run_group("hostile", tests);
}
