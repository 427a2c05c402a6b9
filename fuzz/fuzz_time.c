/*
 * fuzz_time.c - times and durations (time.c): oi_time_parse(),
 * oi_duration_parse() and oi_value_check() of OI_KIND_TIME and
 * OI_KIND_DURATION.
 *
 * Invariants:
 *   - the validator and the parser give one verdict on the same text (the
 *     validator on the bytes, the parser on them as a C string);
 *   - a parsed time is within OI_TIME_MIN ... OI_TIME_MAX, and formats
 *     (oi_time_format) to text that parses back to the same microsecond;
 *   - a parsed duration is not negative, and a whole number of milliseconds
 *     written back as "<n>ms" parses to the same duration.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

static bool time_valid(oi_kind kind, const uint8_t *data, size_t size)
{
    char msg[OI_VALUE_MSGSZ];
    int rc = oi_value_check(kind, "fuzz value", (const char *)data, size, msg, sizeof msg);
    if (rc != OI_OK) {
        fuzz_assert(rc == OI_EINVALID);
        fuzz_assert_message(msg);
        fuzz_assert(strncmp(msg, "fuzz value", 10) == 0);
    }
    return rc == OI_OK;
}

static void check_time(const char *text, bool validator_says)
{
    oi_time t;
    bool parsed = oi_time_parse(text, &t) == OI_OK;
    fuzz_assert(parsed == validator_says);
    if (!parsed)
        return;
    fuzz_assert(t >= OI_TIME_MIN && t <= OI_TIME_MAX);
    char buf[OI_TIME_BUFSZ];
    oi_time again;
    fuzz_assert(oi_time_parse(oi_time_format(t, buf), &again) == OI_OK);
    fuzz_assert(again == t);
}

static void check_duration(const char *text, bool validator_says)
{
    int64_t micros;
    bool parsed = oi_duration_parse(text, &micros) == OI_OK;
    fuzz_assert(parsed == validator_says);
    if (!parsed)
        return;
    fuzz_assert(micros >= 0);
    if (micros % 1000 == 0) {
        char written[32];
        int64_t again;
        snprintf(written, sizeof written, "%" PRId64 "ms", micros / 1000);
        fuzz_assert(oi_duration_parse(written, &again) == OI_OK && again == micros);
    }
}

void oi_fuzz_time(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    size_t len = strlen(text); /* up to a NUL byte, as a C caller passes it */
    check_time(text, time_valid(OI_KIND_TIME, data, len));
    check_duration(text, time_valid(OI_KIND_DURATION, data, len));
    if (len < size) /* the validator never cuts text short at a NUL */
        fuzz_assert(!time_valid(OI_KIND_TIME, data, size) &&
                    !time_valid(OI_KIND_DURATION, data, size));
    free(text);
}

OI_FUZZ_MAIN(time)
