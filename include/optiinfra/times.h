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

/** The current time, to the microsecond. */
oi_time oi_time_now(void);

/**
 * Write t as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into buf (OI_TIME_BUFSZ bytes)
 * and return buf.
 */
char *oi_time_format(oi_time t, char *buf);

/**
 * Parse an ISO 8601 time ("2026-11-25T08:11:55.123456Z", a space for the
 * T, up to 6 fraction digits, "Z", "+00", "+00:00" or another offset) into
 * *out.  Returns OI_OK or OI_EINVALID.
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
