/*
 * number.c - every double the library and the tool read or write as text.
 *
 * One C numeric locale is made on first use (pthread_once) and kept for the
 * life of the process.  Parsing reads a short plain decimal itself
 * (parse_short_decimal: exact) and passes anything else to strtod_l();
 * formatting switches the calling thread to it with uselocale() around
 * snprintf() and switches back.  Neither touches the process's global locale, so a host program may
 * run setlocale(LC_ALL, "de_DE.UTF-8") and any number of threads while
 * numbers are read and written: "1.5" stays one and a half.  The cost is
 * one locale object that is never freed and two uselocale() calls per
 * number written.  A hand-written formatter would avoid the switch, but
 * correctly rounded conversion is what libc already gets right.
 *
 * Written numbers have the fewest digits that read back as the same double
 * (0.1, not 0.10000000000000001): %.15g, else %.16g, else %.17g; a short
 * decimal (up to 6 decimals) is written without snprintf, to the same
 * text (format_short_decimal, tested against the loop).  Any
 * decimal of at most 15 significant digits survives a trip through a
 * normal double (DBL_DIG), and the correctly rounded text of 16 or 17
 * digits is the nearest, so the first that reads back is the shortest.
 * Subnormals (below 2.2e-308) hold fewer digits and may be written with
 * more than they need (4.94065645841247e-324 for 5e-324): still exact.
 *
 * Two grammars, both on the same conversion: oi_number_parse() is strtod's
 * (for reading back what the store holds, whatever wrote it),
 * oi_number_parse_decimal() the plain decimal syntax every number written
 * must have (OI_KIND_NUMBER, values.h: config values, metric values on
 * every path, imports).
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "alloc.h"
#include "number.h"
#include "optiinfra/store.h"

static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;
static locale_t c_numeric_locale;

static void make_c_numeric(void)
{
    c_numeric_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c_numeric_locale)
        oi_oom(0);
}

static locale_t c_numeric(void)
{
    pthread_once(&c_numeric_once, make_c_numeric);
    return c_numeric_locale;
}

/* Clinger's fast path: a plain decimal ("-12.345", no exponent) of at most
 * 15 significant digits and 22 decimals is M / 10^k with M and 10^k both
 * exact doubles, so one IEEE division rounds it correctly: the double
 * strtod gives, bit for bit (tested against strtod_l).  False, with *out
 * untouched, for anything else, which strtod_l then reads.  It is what
 * the store's metric values look like; glibc's strtod_l spent about 870
 * instructions on each (W4 on PostgreSQL, where every value is text). */
static bool parse_short_decimal(const char *text, double *out, char **end)
{
    static const double powers[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const char *p = text;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    uint64_t m = 0;
    int digits = 0, significant = 0, decimals = -1;
    for (;; p++) {
        if (*p == '.' && decimals < 0) {
            decimals = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        digits++;
        if (decimals >= 0)
            decimals++;
        if (m || *p != '0')
            significant++;
        m = m * 10 + (uint64_t)(*p - '0');
        if (significant > 15 || decimals > 22)
            return false;
    }
    /* An exponent, a hexadecimal number or no digit: strtod's to read. */
    if (digits == 0 || *p == 'e' || *p == 'E' || *p == 'x' || *p == 'X')
        return false;
    double v = (double)m / powers[decimals > 0 ? decimals : 0];
    *out = negative ? -v : v;
    if (end)
        *end = (char *)p;
    return true;
}

double oi_strtod_c(const char *text, char **end)
{
    double v;
    if (parse_short_decimal(text, &v, end))
        return v;
    return strtod_l(text, end, c_numeric());
}

/* "-" r / 10^decimals, the fraction's trailing zeros dropped, as %g does. */
static void write_decimal(char *buf, bool negative, uint64_t r, int decimals)
{
    char digits[24];
    int n = 0, point = decimals;
    while (point > 0 && r % 10 == 0) {  /* 4.500 is 4.5, 5.0 is 5 */
        r /= 10;
        point--;
    }
    do {
        digits[n++] = (char)('0' + r % 10);
        r /= 10;
    } while (r > 0 || n <= point);      /* 0.05: a leading 0 before the point */
    if (negative)
        *buf++ = '-';
    while (n > 0) {
        *buf++ = digits[--n];
        if (n == point && point > 0)
            *buf++ = '.';
    }
    *buf = '\0';
}

/* v written as %.15g writes it, by integer arithmetic, when v is the double
 * nearest a decimal D of at most 15 significant digits and 6 decimals, from
 * 0.0001 (where %g turns to exponents) up: %.15g rounds v to D (v is within
 * half an ulp of D, far inside D's half-unit at 15 digits), and D reads
 * back as v, so the loop below would stop at 15 digits with D's text.  Most
 * stored values are such decimals (a metric's 489.604): W6's table of
 * 250,000 values took 4,700 instructions a value through snprintf and
 * strtod, about 100 this way.  False when v is not such a number. */
static bool format_short_decimal(double v, char *buf)
{
    static const double scale[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };
    double magnitude = fabs(v);
    if (!(magnitude >= 1e-4 && magnitude < 1e15))   /* NaN, 0 and infinities too */
        return false;
    for (int k = 0; k < (int)(sizeof scale / sizeof *scale); k++) {
        double r = nearbyint(magnitude * scale[k]);
        if (r >= 1e15)
            return false;
        if (r / scale[k] == magnitude) {   /* a correctly rounded quotient: exact test */
            write_decimal(buf, v < 0, (uint64_t)r, k);
            return true;
        }
    }
    return false;
}

char *oi_number_format(double v, char buf[OI_NUMBER_BUFSZ])
{
    if (format_short_decimal(v, buf))
        return buf;
    locale_t saved = uselocale(c_numeric());
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, OI_NUMBER_BUFSZ, "%.*g", digits, v);
        if (oi_strtod_c(buf, NULL) == v)
            break;
    }
    uselocale(saved);
    return buf;
}

int oi_number_parse(const char *text, double *out)
{
    char *end;
    if (!text)
        return OI_EINVALID;
    errno = 0;
    *out = oi_strtod_c(text, &end);
    /* ERANGE: overflow, or underflow, which a subnormal result also reports
     * but is a double like any other (the decimal grammar takes it too) */
    bool out_of_range = errno == ERANGE && (isinf(*out) || *out == 0);
    return *text && !*end && !out_of_range ? OI_OK : OI_EINVALID;
}

/* ---- the decimal grammar ---------------------------------------------------- */

static const char *skip_digits(const char *p, size_t *count)
{
    for (; *p >= '0' && *p <= '9'; p++)
        (*count)++;
    return p;
}

static bool is_decimal(const char *p)
{
    size_t digits = 0, fraction = 0, exponent = 0;
    if (*p == '-') /* no '+': "+5" is refused as " 5" is, one spelling per number */
        p++;
    p = skip_digits(p, &digits);
    if (digits == 0) /* ".5" is refused: JSON's grammar, which every reader knows */
        return false;
    if (*p == '.') {
        p = skip_digits(p + 1, &fraction);
        if (fraction == 0) /* "5." too */
            return false;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        p = skip_digits(p, &exponent);
        if (exponent == 0)
            return false;
    }
    return *p == '\0';
}

static bool names_non_finite(const char *text)
{
    static const char *const words[] = {"nan", "inf", "infinity"};
    if (*text == '+' || *text == '-')
        text++;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(text, words[i]) == 0)
            return true;
    return false;
}

/* Whether the digits before the exponent are not all zeros. */
static bool names_nonzero(const char *text)
{
    for (; *text && *text != 'e' && *text != 'E'; text++)
        if (*text >= '1' && *text <= '9')
            return true;
    return false;
}

oi_decimal oi_number_parse_decimal(const char *text, double *out)
{
    if (!is_decimal(text))
        return names_non_finite(text) ? OI_DECIMAL_NOT_FINITE : OI_DECIMAL_NOT_NUMBER;
    *out = oi_strtod_c(text, NULL);
    /* "1e-400" would be stored as 0 without a word: refused, as 1e400 is */
    bool lost = !isfinite(*out) || (*out == 0 && names_nonzero(text));
    return lost ? OI_DECIMAL_OUT_OF_RANGE : OI_DECIMAL_OK;
}
