/*
 * time.c - timestamps as microseconds since the epoch, UTC.
 *
 * Both backends receive and return timestamps as ISO 8601 text.  The form we
 * write, "YYYY-MM-DDTHH:MM:SS.ffffffZ", always has six fraction digits: on
 * SQLite, where timestamps are TEXT, equal width makes text order time
 * order.  PostgreSQL (TimeZone UTC, DateStyle ISO) answers
 * "YYYY-MM-DD HH:MM:SS[.ffffff]+00", which the parser also reads.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"

oi_time oi_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (oi_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Floor division, so that times before 1970 format correctly too. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int oi_time_check(oi_store *s, const char *what, oi_time t)
{
    if (t == OI_TIME_NULL || (t >= OI_TIME_MIN && t <= OI_TIME_MAX))
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "%s is outside the years 0001 to 9999", what);
}

char *oi_time_format(oi_time t, char *buf)
{
    if (t < OI_TIME_MIN || t > OI_TIME_MAX) {
        snprintf(buf, OI_TIME_BUFSZ, "(out of range)");
        return buf;
    }
    time_t secs = (time_t)floor_div(t, 1000000);
    long micros = (long)(t - (int64_t)secs * 1000000);
    struct tm tm;
    char text[64]; /* roomier than any real date needs, which the compiler cannot know */
    gmtime_r(&secs, &tm);
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    memcpy(buf, text, OI_TIME_BUFSZ - 1);
    buf[OI_TIME_BUFSZ - 1] = '\0';
    return buf;
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

static int parse_fraction(const char **p, long *micros)
{
    *micros = 0;
    if (**p != '.')
        return 0;
    (*p)++;
    int n = 0;
    for (; isdigit((unsigned char)**p); (*p)++, n++)
        if (n < 6)
            *micros = *micros * 10 + (**p - '0');
    if (n == 0)
        return -1;
    for (; n < 6; n++)
        *micros *= 10;
    return 0;
}

/* "Z", "", "+HH", "+HH:MM", "+HHMM" (or -) as seconds east of UTC. */
static int parse_offset(const char **p, long *offset)
{
    *offset = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return **p ? -1 : 0;
    int sign = **p == '-' ? -1 : 1, hh, mm = 0;
    (*p)++;
    if (digits(p, 2, &hh))
        return -1;
    if (**p == ':')
        (*p)++;
    if (**p && digits(p, 2, &mm))
        return -1;
    *offset = sign * (hh * 3600L + mm * 60L);
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

int oi_time_parse(const char *text, oi_time *out)
{
    const char *p = text;
    int y, mo, d, h, mi, s;
    long micros, offset;
    if (!text || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return OI_EINVALID;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &s) || parse_fraction(&p, &micros) || parse_offset(&p, &offset) || *p)
        return OI_EINVALID;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
        return OI_EINVALID;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    time_t secs = timegm(&tm);
    *out = ((oi_time)secs - offset) * 1000000 + micros;
    return OI_OK;
}

int oi_duration_parse(const char *text, int64_t *micros)
{
    static const struct {
        const char *unit;
        int64_t micros;
    } units[] = {
        {"ms", 1000}, {"s", 1000000}, {"m", 60 * INT64_C(1000000)},
        {"h", 3600 * INT64_C(1000000)}, {"d", 86400 * INT64_C(1000000)},
        {"w", 7 * 86400 * INT64_C(1000000)},
    };
    char *end;
    if (!text || !isdigit((unsigned char)*text))
        return OI_EINVALID;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    for (size_t i = 0; errno == 0 && i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].unit) == 0 && n <= INT64_MAX / units[i].micros) {
            *micros = n * units[i].micros;
            return OI_OK;
        }
    return OI_EINVALID;
}
