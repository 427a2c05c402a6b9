/*
 * optiinfra/migrate.h - schema revisions, applied like Alembic's.
 *
 * The revisions are compiled into the library (001_core_tables,
 * 002_agent_state_tables, 003_resource_locks, 004_events_recent_index,
 * 005_api_tokens: see `optiinfra db history`), each with an upgrade and a downgrade script per
 * backend.  The current revision is kept in the table alembic_version
 * (version_num), the table Alembic itself uses, so a database shared with
 * OptiInfra's Python services reports the same revision to both.
 *
 * A migration runs in one transaction together with the update of
 * alembic_version, each revision in a savepoint (a failing revision leaves
 * the ones before it applied), under an exclusive lock (BEGIN IMMEDIATE on
 * SQLite, an advisory transaction lock on PostgreSQL) so that two migrators
 * never apply the same revision twice.
 */
#ifndef OPTIINFRA_MIGRATE_H
#define OPTIINFRA_MIGRATE_H

#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One revision, as compiled in.  The library's own struct, reached through
 *  oi_migrate_revision(); fields are only ever added at its end. */
typedef struct oi_revision {
    const char *id;          /**< "001_core_tables" */
    const char *down_id;     /**< the revision before it, NULL for the first */
    const char *description; /**< one line */
} oi_revision;

/** The number of revisions compiled in. */
size_t oi_migrate_revision_count(void);

/** Revision i (0: the oldest), or NULL past the newest; static, never freed. */
const oi_revision *oi_migrate_revision(size_t i);

/** The newest revision's id. */
const char *oi_migrate_head(void);

/**
 * The database's current revision, or NULL (no revision applied) in *out.
 * *out points into a buffer of the store, valid until the next call.
 * A revision this library does not know gives OI_ESCHEMA.
 */
int oi_migrate_current(oi_store *store, const char **out);

/** Receives the text of offline (--sql) mode, piece by piece. */
typedef void (*oi_sql_sink)(void *ctx, const char *sql);

/**
 * Upgrade to `target`: "head" (or NULL) or a revision id; anything else is
 * OI_EINVALID.  Calls `applied` (if not NULL) with each revision id
 * applied.  A database already at or past the target is left unchanged.
 * With `sql` set, nothing is executed: the SQL that would run is passed to
 * sql(ctx, text) instead.
 */
int oi_migrate_upgrade(oi_store *store, const char *target,
                       void (*applied)(void *ctx, const char *rev),
                       oi_sql_sink sql, void *ctx);

/**
 * Downgrade to `target`: "base", "-N" (N revisions down from the current
 * one) or a revision id at or below the current one; otherwise as upgrade.
 */
int oi_migrate_downgrade(oi_store *store, const char *target,
                         void (*applied)(void *ctx, const char *rev),
                         oi_sql_sink sql, void *ctx);

/** Whether the database is at head: OI_OK, or OI_ESCHEMA with a message. */
int oi_migrate_check_head(oi_store *store);

#ifdef __cplusplus
}
#endif
#endif
