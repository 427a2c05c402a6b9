/*
 * fuzz_number.c - the decimal grammar and the writing of doubles
 * (number.c): oi_number_parse_decimal(), oi_number_parse(),
 * oi_number_format() and oi_value_check() of OI_KIND_NUMBER and
 * OI_KIND_INTEGER.
 *
 * Invariants:
 *   - what the validator accepts as a number, both parsers read as a finite
 *     double: the decimal one (import, the validator itself) and
 *     oi_number_parse() (the reader of stored number configs), so a value
 *     accepted on one path is never refused on another; what it accepts as
 *     an integer, strtoll() reads whole within int64_t;
 *   - a double the decimal parser reads is finite, and is written
 *     (oi_number_format) as text the validator accepts and the decimal
 *     parser reads back as the same double, bit for bit;
 *   - the same for the double whose 8 bytes start the input (every finite
 *     double: subnormals, -0, the extremes), so what the store writes out
 *     of any stored value reads back unchanged.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "number.h"
#include "fuzz.h"

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool number_valid(oi_kind kind, const char *text, size_t len)
{
    char msg[OI_VALUE_MSGSZ];
    int rc = oi_value_check(kind, "fuzz value", text, len, msg, sizeof msg);
    if (rc != OI_OK)
        fuzz_assert_message(msg);
    return rc == OI_OK;
}

/* v written, accepted and read back. */
static void check_written(double v)
{
    char buf[OI_NUMBER_BUFSZ], *text = oi_number_format(v, buf);
    double again;
    fuzz_assert(number_valid(OI_KIND_NUMBER, text, strlen(text)));
    fuzz_assert(oi_number_parse_decimal(text, &again) == OI_DECIMAL_OK);
    fuzz_assert(same_double(again, v));
}

static void check_number(const char *text)
{
    double v;
    fuzz_assert(oi_number_parse(text, &v) == OI_OK && isfinite(v));
}

static void check_integer(const char *text)
{
    char *end;
    errno = 0;
    (void)strtoll(text, &end, 10);
    fuzz_assert(errno == 0 && *text && !*end);
}

void oi_fuzz_number(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    double v;
    oi_decimal d = oi_number_parse_decimal(text, &v);
    if (d == OI_DECIMAL_OK) {
        fuzz_assert(isfinite(v));
        check_written(v);
    }
    if (number_valid(OI_KIND_NUMBER, (const char *)data, size)) {
        fuzz_assert(strlen(text) == size && d == OI_DECIMAL_OK);
        check_number(text);
    }
    if (number_valid(OI_KIND_INTEGER, (const char *)data, size))
        check_integer(text);
    if (size >= sizeof v) {
        memcpy(&v, data, sizeof v);
        if (isfinite(v))
            check_written(v);
    }
    free(text);
}

OI_FUZZ_MAIN(number)
