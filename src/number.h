/*
 * number.h - the library's side of number.c: the C-locale conversion under
 * both public calls of optiinfra/number.h, and the stricter grammar of
 * metric values in files.
 */
#ifndef OI_NUMBER_H
#define OI_NUMBER_H

#include "optiinfra/number.h"

/* strtod() in the C locale, whatever the process's or the thread's: what a
 * database wrote ("1.5", "Infinity", "NaN") is read as it is. */
double oi_strtod_c(const char *text, char **end);

/* What oi_number_parse_decimal() found. */
typedef enum oi_decimal {
    OI_DECIMAL_OK,
    OI_DECIMAL_NOT_NUMBER,  /* not the decimal syntax */
    OI_DECIMAL_NOT_FINITE,  /* "nan", "inf" or "infinity", any case, signed or not */
    OI_DECIMAL_OUT_OF_RANGE /* beyond the largest double (tiny values become 0) */
} oi_decimal;

/* Decimal syntax only, the whole text: [+-] digits [. digits] [e [+-]
 * digits], with a digit before or after the point; no blanks, hexadecimal,
 * nan or inf.  A finite value goes to *out. */
oi_decimal oi_number_parse_decimal(const char *text, double *out);

#endif
