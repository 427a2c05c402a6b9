/*
 * time.c - timestamps as microseconds since the epoch, UTC.
 *
 * Both backends receive and return timestamps as ISO 8601 text.  The form we
 * write, "YYYY-MM-DDTHH:MM:SS.ffffffZ", always has six fraction digits: on
 * SQLite, where timestamps are TEXT, equal width makes text order time
 * order.  PostgreSQL (TimeZone UTC, DateStyle ISO) answers
 * "YYYY-MM-DD HH:MM:SS[.ffffff]+00", which the parser also reads.
 *
 * One grammar for every path (OI_KIND_TIME in values.h): a date, 'T', 't'
 * or a space, a time, an optional fraction (digits past the sixth are read
 * and dropped: the store keeps microseconds), and "Z", no offset (UTC) or
 * an offset of at most 14:00 either way, the widest a real zone uses.  The
 * instant, after its offset, must lie in the years 0001 to 9999: what both
 * backends store and what oi_time_format() writes back.  The scanners say
 * why a text is refused, so every path gives the same message (value.c).
 *
 * Dates convert to and from days since 1970-01-01 by arithmetic on the
 * proleptic Gregorian calendar (days_from_civil, civil_from_days: Howard
 * Hinnant's algorithms, exact for every year here), not through timegm()
 * and gmtime_r(): every row read parses one or two times and an export
 * formats one, and the libc calls normalise a struct tm and take a lock
 * for the time zone.  Measured on 1,000,000 format + parse pairs: 0.30 s
 * -> 0.07 s of CPU.
 *
 * The times a row read gives back are the store's own spellings, in UTC
 * (above): scan_store_form() reads those two at fixed places, length
 * known, and hands anything else to the general scanner, which gives the
 * verdict and the message.  Both give the same instant for every text
 * both read (tests/test_values.c compares them on 300,000 texts).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "value.h"

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

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar, in
 * the years 0000 to 9999 (the parsers' four digits).  Counted from one era
 * (400 years) earlier, years are never negative and the divisions need no
 * flooring.  With days_in_month's leap rule for February alone, W4 on
 * SQLite (300 queries): 879 M -> 871 M client instructions. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    uint32_t shifted = (uint32_t)(y + 400 - (m <= 2));
    uint32_t era = shifted / 400, yoe = shifted - era * 400;            /* [0, 399] */
    uint32_t doy = (153 * (uint32_t)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (uint32_t)d - 1;
    uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               /* [0, 146096] */
    return (int64_t)era * 146097 + doe - 719468 - 146097;
}

/* The date of a day counted as days_from_civil() counts it. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Write v as exactly n decimal digits at p; returns the end. */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

char *oi_time_format(oi_time t, char *buf)
{
    if (t < OI_TIME_MIN || t > OI_TIME_MAX) {
        snprintf(buf, OI_TIME_BUFSZ, "(out of range)");
        return buf;
    }
    int64_t secs = floor_div(t, 1000000), days = floor_div(secs, 86400);
    long micros = (long)(t - secs * 1000000), in_day = (long)(secs - days * 86400);
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    char *p = put_digits(buf, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, in_day / 3600, 2);
    *p++ = ':';
    p = put_digits(p, in_day / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, in_day % 60, 2);
    *p++ = '.';
    p = put_digits(p, micros, 6);
    p[0] = 'Z';
    p[1] = '\0';
    return buf;
}

/* An ASCII digit, what isdigit() says in every locale, without its call
 * into the locale tables per character: a row's two times are 40 digits. */
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!is_digit(**p))
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
    for (; is_digit(**p); (*p)++, n++)
        if (n < 6)
            *micros = *micros * 10 + (**p - '0');
    if (n == 0)
        return -1;
    for (; n < 6; n++)
        *micros *= 10;
    return 0;
}

/* "Z", "", "+HH", "+HH:MM", "+HHMM" (or -) as seconds east of UTC; -1 for
 * text that is no offset, -2 for one beyond +-14:00, the widest in use. */
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
    if (mm > 59 || hh * 60 + mm > 14 * 60)
        return -2;
    *offset = sign * (hh * 3600L + mm * 60L);
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month != 2) /* the leap year rule's divisions for February alone */
        return days[month - 1];
    return 28 + ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0);
}

#define TIME_FORM "is not a time (ISO 8601, like 2026-11-25T08:11:55Z or 2026-11-25 09:11:55+01:00)"

/* The two ASCII digits at p as a number; *bad set if one is not a digit.
 * A test per digit, not a branch: a store time has 20 of them. */
static unsigned two_digits(const char *p, unsigned *bad)
{
    unsigned tens = (unsigned char)p[0] - (unsigned)'0', ones = (unsigned char)p[1] - (unsigned)'0';
    *bad |= (tens > 9) | (ones > 9);
    return tens * 10 + ones;
}

/* The n fraction digits at p as microseconds; *bad set if one is not a
 * digit. */
static long fraction_digits(const char *p, size_t n, unsigned *bad)
{
    static const long scale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    if (n == 6)
        return two_digits(p, bad) * 10000L + two_digits(p + 2, bad) * 100L + two_digits(p + 4, bad);
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned digit = (unsigned char)p[i] - (unsigned)'0';
        *bad |= digit > 9;
        v = v * 10 + digit;
    }
    return v * scale[n];
}

/* The length of the zone of the store's spellings ending text[0..len): "Z"
 * 1, "+00" 3; 0 for none of them. */
static size_t utc_suffix(const char *text, size_t len)
{
    if (text[len - 1] == 'Z')
        return 1;
    return text[len - 3] == '+' && text[len - 2] == '0' && text[len - 1] == '0' ? 3 : 0;
}

/* The store's own spellings of a time, both in UTC:
 * "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z", what oi_time_format() writes and SQLite
 * gives back, and "YYYY-MM-DD HH:MM:SS[.f{1,6}]+00", PostgreSQL's (its
 * fraction without trailing zeros).  Read at fixed places, the length
 * known, with one test for all the digits: true and *out set, or false for
 * any other text, which scan_time() then reads or refuses with its
 * message.  Years 0001 and later only: with no offset, every such date lies
 * in OI_TIME_MIN ... OI_TIME_MAX.  Every row read parses one or two times;
 * W4 (300 one-day queries, 125,266 rows, two times each), the parse's
 * client instructions (callgrind): SQLite 84 M -> 71 M, PostgreSQL 81 M ->
 * 66 M. */
static bool scan_store_form(const char *p, size_t len, oi_time *out)
{
    size_t zone = len >= 20 ? utc_suffix(p, len) : 0;
    if (!zone || len < 19 + zone)
        return false;
    size_t fraction = len - 19 - zone; /* none, or '.' and 1 to 6 digits */
    if (fraction == 1 || fraction > 7 || (fraction && p[19] != '.'))
        return false;
    if (p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') || p[13] != ':' ||
        p[16] != ':')
        return false;
    unsigned bad = 0;
    unsigned y = two_digits(p, &bad) * 100 + two_digits(p + 2, &bad);
    unsigned mo = two_digits(p + 5, &bad), d = two_digits(p + 8, &bad);
    unsigned h = two_digits(p + 11, &bad), mi = two_digits(p + 14, &bad);
    unsigned s = two_digits(p + 17, &bad);
    long micros = fraction ? fraction_digits(p + 20, fraction - 1, &bad) : 0;
    if (bad || y < 1 || mo < 1 || mo > 12 || d < 1 ||
        d > (unsigned)days_in_month((int)y, (int)mo) || h > 23 || mi > 59 || s > 59)
        return false;
    int64_t secs = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + s;
    *out = secs * 1000000 + micros;
    return true;
}

/* The parse of oi_time_parse on NUL-terminated text: NULL, or why not. */
static const char *scan_time(const char *text, oi_time *out)
{
    const char *p = text;
    int y, mo, d, h, mi, s;
    long micros, offset;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return TIME_FORM;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &s) || parse_fraction(&p, &micros))
        return TIME_FORM;
    int offset_rc = parse_offset(&p, &offset);
    if (offset_rc == -2)
        return "has an offset beyond -14:00 to +14:00";
    if (offset_rc || *p)
        return TIME_FORM;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
        return "is not a time: no such date or time of day";
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    oi_time t = (secs - offset) * 1000000 + micros;
    if (t < OI_TIME_MIN || t > OI_TIME_MAX)
        return "is outside the years 0001 to 9999 (after its offset is applied)";
    *out = t;
    return NULL;
}

/* The longest time text worth reading: a date, a time, 6 fraction digits
 * and an offset take 32 bytes; more fraction digits are read and dropped. */
#define TIME_TEXT_MAX 64

const char *oi_time_scan(const char *text, size_t len, oi_time *out)
{
    char copy[TIME_TEXT_MAX + 1];
    if (!text || len > TIME_TEXT_MAX || memchr(text, '\0', len))
        return TIME_FORM;
    if (scan_store_form(text, len, out))
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return scan_time(copy, out);
}

/* Text that ends in its NUL is read where it is: no copy (every time of
 * every row read comes here). */
int oi_time_parse(const char *text, oi_time *out)
{
    size_t len = text ? strnlen(text, TIME_TEXT_MAX + 1) : TIME_TEXT_MAX + 1;
    if (len > TIME_TEXT_MAX)
        return OI_EINVALID;
    return scan_store_form(text, len, out) || !scan_time(text, out) ? OI_OK : OI_EINVALID;
}

#define DURATION_FORM "is not a duration (digits and a unit: 500ms, 90s, 15m, 2h, 30d, 1w)"

const char *oi_duration_scan(const char *text, size_t len, int64_t *micros)
{
    static const struct {
        const char *unit;
        int64_t micros;
    } units[] = {
        {"ms", 1000}, {"s", 1000000}, {"m", 60 * INT64_C(1000000)},
        {"h", 3600 * INT64_C(1000000)}, {"d", 86400 * INT64_C(1000000)},
        {"w", 7 * 86400 * INT64_C(1000000)},
    };
    size_t ndigits = 0;
    int64_t n = 0;
    bool overflow = false;
    for (; ndigits < len && isdigit((unsigned char)text[ndigits]); ndigits++) {
        int digit = text[ndigits] - '0';
        overflow = overflow || n > (INT64_MAX - digit) / 10;
        n = overflow ? n : n * 10 + digit;
    }
    const char *unit = text + ndigits;
    size_t unit_len = len - ndigits;
    for (size_t i = 0; ndigits && i < sizeof units / sizeof *units; i++) {
        if (unit_len != strlen(units[i].unit) || memcmp(unit, units[i].unit, unit_len))
            continue;
        if (overflow || n > INT64_MAX / units[i].micros)
            return "is longer than the longest duration (about 292000 years)";
        *micros = n * units[i].micros;
        return NULL;
    }
    return DURATION_FORM;
}

int oi_duration_parse(const char *text, int64_t *micros)
{
    return text && !oi_duration_scan(text, strlen(text), micros) ? OI_OK : OI_EINVALID;
}
