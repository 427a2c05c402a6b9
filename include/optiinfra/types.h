/*
 * optiinfra/types.h - the handful of types every other header uses.
 *
 * Opaque handles (oi_store, oi_iter), the time type and the identifiers.
 * Nothing here has a layout a program depends on beyond its own size.
 */
#ifndef OPTIINFRA_TYPES_H
#define OPTIINFRA_TYPES_H

#include <stdint.h>
#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One connection to one database (store.h). */
typedef struct oi_store oi_store;

/** A stream of rows, read one at a time with a typed oi_*_next() (iter.h). */
typedef struct oi_iter oi_iter;

/**
 * Microseconds since 1970-01-01T00:00:00Z (negative before it).  Every
 * instant from 0001-01-01 to 9999-12-31 is a value like any other, the
 * epoch included; OI_TIME_NULL, which lies outside that range, stands for
 * SQL NULL (an absent time).
 */
typedef int64_t oi_time;
#define OI_TIME_NULL INT64_MIN

/** Length of a UUID in text form, without the terminating NUL. */
#define OI_UUID_LEN 36

/** A UUID in text form ("" for none). */
typedef char oi_uuid[OI_UUID_LEN + 1];

/** The value of an optional double field that holds SQL NULL. */
#define OI_NULL_NUMBER NAN

#ifdef __cplusplus
}
#endif
#endif
