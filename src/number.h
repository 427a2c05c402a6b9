/*
 * number.h - doubles as text, the same in every locale (number.c).
 *
 * The library and the optiinfra tool read and write every double through
 * these calls, so a value means the same whatever LC_NUMERIC the host
 * program set: "1.5" is one and a half even where the locale writes "1,5".
 * All are safe to call from any thread at any time; none changes the
 * process's locale or the calling thread's.  Internal, like alloc.h: the
 * CLI uses it, the public API does not offer it.
 */
#ifndef OI_NUMBER_H
#define OI_NUMBER_H

#include <stdbool.h>
#include "optiinfra/errors.h"

/* Buffer size for oi_number_format(): "-2.2250738585072014e-308" and NUL. */
#define OI_NUMBER_BUFSZ 32

/*
 * Write v as the first of %.15g, %.16g and %.17g that reads back as the
 * same double, with '.' as the decimal point: the shortest such text for
 * every normal double ("0.1", "-2.5e-07", "1e+21", "0.30000000000000004");
 * "inf", "-inf", "nan" for the values that are not finite.  Returns buf.
 */
char *oi_number_format(double v, char buf[OI_NUMBER_BUFSZ]);

/*
 * Read text that is one number and nothing else, as strtod() reads it in
 * the C locale: leading blanks, hexadecimal ("0x1p3"), "inf" and "nan" are
 * accepted, and subnormals (1e-310); trailing text, an empty string, NULL
 * and a value beyond the range of a double (overflow, or a nonzero value
 * that underflows to zero: 1e999, 1e-400) are not.  Returns OI_OK, or
 * OI_EINVALID with *out unspecified.  Callers that need a finite value
 * check isfinite() themselves.  The reader of stored values: every text
 * OI_KIND_NUMBER accepts reads here as the same double.
 */
int oi_number_parse(const char *text, double *out);


/* strtod() in the C locale, whatever the process's or the thread's: what a
 * database wrote ("1.5", "Infinity", "NaN") is read as it is. */
double oi_strtod_c(const char *text, char **end);

/* What oi_number_parse_decimal() found. */
typedef enum oi_decimal {
    OI_DECIMAL_OK,
    OI_DECIMAL_NOT_NUMBER,  /* not the decimal syntax */
    OI_DECIMAL_NOT_FINITE,  /* "nan", "inf" or "infinity", any case, signed or not */
    OI_DECIMAL_OUT_OF_RANGE /* beyond the largest double, or nonzero but rounding to 0 */
} oi_decimal;

/* Decimal syntax only, the whole text: [-] digits [. digits] [e [+-]
 * digits], JSON's number with leading zeros allowed: digits on both sides
 * of a point (no ".5" or "5."); no '+' sign, blanks,
 * hexadecimal, nan or inf.  A finite value goes to *out.  The grammar of
 * OI_KIND_NUMBER (values.h), on every path. */
oi_decimal oi_number_parse_decimal(const char *text, double *out);

#endif
