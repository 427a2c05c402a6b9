/*
 * optiinfra/values.h - the kinds of value the store accepts, their limits,
 * and the one validator of each kind (1.4).
 *
 * Every value that reaches the store (through this library's calls, the
 * optiinfra CLI, `optiinfra serve`, metric imports) is checked by the
 * validator of its kind, here, before anything is written: the same text
 * gets the same verdict on every path and on both backends.  A value is
 * either stored exactly as given or refused with OI_EINVALID (CLI exit 3,
 * HTTP 422) and nothing written.  docs/reliability.md lists which field is
 * of which kind.
 *
 * Limits are in bytes of UTF-8 and the same on both backends.
 */
#ifndef OPTIINFRA_VALUES_H
#define OPTIINFRA_VALUES_H

#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest name: agent, metric, unit, config key, capability, resource,
 *  workflow, type, label. */
#define OI_NAME_MAX 255
/** The longest free text: a description, an error message, a comment. */
#define OI_TEXT_MAX 65536
/** The longest config value or JSON document. */
#define OI_DOCUMENT_MAX 1048576
/** The deepest nesting of JSON arrays and objects. */
#define OI_JSON_DEPTH_MAX 64
/** The longest message oi_value_check() writes, with its NUL. */
#define OI_VALUE_MSGSZ 256

/** The kinds of value, one grammar each.  (Not "oi_value_kind" and
 *  "OI_VALUE_*": the library's backend interface uses those names for the
 *  cells of a bulk load.) */
typedef enum oi_kind {
    /** Non-empty UTF-8 of at most OI_NAME_MAX bytes, one line: no control
     *  character (U+0000-U+001F, U+007F-U+009F). */
    OI_KIND_NAME = 1,
    /** UTF-8 (may be empty) of at most OI_TEXT_MAX bytes; tab, line feed and
     *  carriage return are the only control characters allowed. */
    OI_KIND_TEXT = 2,
    /** A config value of type string: as OI_KIND_TEXT, at most OI_DOCUMENT_MAX bytes. */
    OI_KIND_DOCUMENT = 3,
    /** A JSON text (RFC 8259) of at most OI_DOCUMENT_MAX bytes, nested at most
     *  OI_JSON_DEPTH_MAX deep, no object with a key twice, no number outside
     *  the doubles' range, no integer (digits without fraction or exponent)
     *  outside int64_t, no \u0000.  Every reader of the store's JSON (jansson
     *  in the CLI and the service) can then read back what was written. */
    OI_KIND_JSON = 4,
    /** A decimal number: an optional '-', digits, an optional fraction and
     *  exponent ("12", "-0.5", "1e-3"); no '+', space, hex, "inf" or "nan";
     *  finite as a double. */
    OI_KIND_NUMBER = 5,
    /** An integer: an optional '-' and digits, within int64_t. */
    OI_KIND_INTEGER = 6,
    /** "true" or "false". */
    OI_KIND_BOOLEAN = 7,
    /** An ISO 8601 time, as oi_time_parse() reads it ("2026-11-25T08:11:55Z",
     *  "2026-11-25 09:11:55.5+01:00"; no offset is UTC): years 0001 to 9999
     *  after the offset is applied, offsets within +-14:00, fraction digits
     *  past the sixth dropped (the store keeps microseconds). */
    OI_KIND_TIME = 8,
    /** A duration, as oi_duration_parse() reads it: digits and one unit of
     *  ms, s, m, h, d, w ("30s", "5m", "2h", "7d"), at most INT64_MAX
     *  microseconds. */
    OI_KIND_DURATION = 9,
    /** A semantic version, SemVer 2.0.0 exactly ("1.2.0", "2.0.0-rc.1+b5"),
     *  at most OI_NAME_MAX bytes. */
    OI_KIND_SEMVER = 10,
    /** A UUID: 8-4-4-4-12 hexadecimal digits, either case (the store
     *  writes ids in lower case). */
    OI_KIND_UUID = 11
} oi_kind;

/**
 * Check the `len` bytes at `text` as a value of `kind`.  The bytes need not
 * end with a NUL; a NUL byte among them is refused (text is never cut
 * short).  Returns OI_OK, or OI_EINVALID with a one-line message in `msg`
 * (when not NULL, `msgsz` bytes, OI_VALUE_MSGSZ is enough) that starts with
 * `what` ("agent name"; NULL: "the value") and says what is wrong without
 * echoing the value.  NULL `text` with `len` 0 is the empty text.
 * Needs no store: a client can check its input before it connects.
 */
int oi_value_check(oi_kind kind, const char *what, const char *text, size_t len,
                   char *msg, size_t msgsz);

#ifdef __cplusplus
}
#endif
#endif
