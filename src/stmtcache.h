/*
 * stmtcache.h - each statement prepared once per store, found by its key.
 *
 * A statement is known by its SQL text (fixed SQL: the text itself is the
 * key, compared whole, so two statements can never be confused), or, when
 * its SQL is built from a descriptor, by the address of that static
 * descriptor plus a variant number (the operation, the filter's shape):
 * building the text only on the first use.  No numbers are assigned by
 * hand, so no two call sites can collide.
 *
 * Two ways to use a cached statement:
 *   - oi_stmt_cached*(): for use within one library call.  The statement
 *     stays the store's; it is reset when next handed out.  Only for
 *     statements whose set is fixed by the code (the cache keeps them all).
 *   - oi_stmt_acquire() / oi_stmt_release(): exclusive use across calls (an
 *     iterator's page) or for SQL whose shape varies with the caller's
 *     input; keyed by text.  A statement in use is never handed out twice:
 *     a second acquire of the same SQL gets a private statement, as does any acquire
 *     once the cache holds OI_STMT_SHAPES_MAX acquired shapes.
 */
#ifndef OI_STMTCACHE_H
#define OI_STMTCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "backend/backend.h"

/* Acquired statements the cache keeps at most: bounds the variable shapes. */
#define OI_STMT_SHAPES_MAX 128

/* Builds the SQL of a descriptor-keyed statement (allocated; the caller frees). */
typedef char *(*oi_sql_builder)(const void *descriptor, uint64_t variant);

typedef struct oi_stmtcache oi_stmtcache;

/* Free every statement of the cache (before the connection closes). */
void oi_stmtcache_free(oi_stmtcache *cache);

#endif
