/*
 * optiinfra/times.h - times and durations, as text and as numbers.
 *
 * Times are oi_time (types.h), microseconds since the epoch in UTC.  Text
 * is ISO 8601; durations are a whole number and a unit.
 */
#ifndef OPTIINFRA_TIMES_H
#define OPTIINFRA_TIMES_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Buffer size for oi_time_format(): "2026-11-25T08:11:55.123456Z" and NUL. */
#define OI_TIME_BUFSZ 28

/** The first time the store accepts: 0001-01-01T00:00:00Z. */
#define OI_TIME_MIN INT64_C(-62135596800000000)
/** The last time the store accepts: 9999-12-31T23:59:59.999999Z. */
#define OI_TIME_MAX INT64_C(253402300799999999)

/** The current time, to the microsecond. */
oi_time oi_time_now(void);

/**
 * Write t as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into buf (OI_TIME_BUFSZ bytes)
 * and return buf.  A time outside OI_TIME_MIN ... OI_TIME_MAX (which the
 * store refuses with OI_EINVALID), OI_TIME_NULL included, is written
 * "(out of range)".
 */
char *oi_time_format(oi_time t, char *buf);

/**
 * Parse an ISO 8601 time ("2026-11-25T08:11:55.123456Z", a space for the
 * T, fraction digits past the sixth dropped, "Z", "+00", "+00:00" or another
 * offset within +-14:00, none meaning UTC) into *out; the instant after the
 * offset must lie in the years 0001 to 9999.  Returns OI_OK or OI_EINVALID
 * (oi_value_check(OI_KIND_TIME, ...) says why, values.h).
 */
int oi_time_parse(const char *text, oi_time *out);

/**
 * Parse a duration: a whole number and a unit, "500ms", "90s", "15m", "2h",
 * "30d" (also "1w"), into *micros.  Returns OI_OK or OI_EINVALID.
 */
int oi_duration_parse(const char *text, int64_t *micros);

#ifdef __cplusplus
}
#endif
#endif
