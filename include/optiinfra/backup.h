/*
 * optiinfra/backup.h - a consistent copy of an embedded (SQLite) store,
 * taken while it is in use (1.7).
 *
 * The copy is one snapshot: every transaction committed before it began,
 * none after, while other connections and processes keep reading and
 * writing (SQLite's online backup API over a database in WAL mode).  It is
 * written to a new file beside the destination and renamed into place only
 * when complete, so the destination path never holds a partial copy: it is
 * either absent, its old self, or the whole backup.  The copy is an
 * ordinary store: open it with "sqlite:PATH", or check it with
 * oi_validate().
 *
 * A PostgreSQL store is not copied by the library: the server's own tools
 * do it better (pg_dump for a logical copy, pg_basebackup for a physical
 * one, docs/scaling.md "Backups"), and oi_store_backup() says so.
 */
#ifndef OPTIINFRA_BACKUP_H
#define OPTIINFRA_BACKUP_H

#include <stdbool.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of oi_backup_options this header declares. */
#define OI_BACKUP_OPTIONS_VERSION 1

/** How to back up: initialise with OI_BACKUP_OPTIONS_INIT, set what you need. */
typedef struct oi_backup_options {
    unsigned int version; /**< OI_BACKUP_OPTIONS_VERSION */
    bool overwrite;       /**< replace a file already at the destination (by a
                               rename once the copy is complete); false: an
                               existing file is an error (OI_EEXISTS) */
} oi_backup_options;

/** The default backup options of this header's version. */
#define OI_BACKUP_OPTIONS_INIT {.version = OI_BACKUP_OPTIONS_VERSION}

/** Make *opts the default options of `version`; OI_EINVALID if unknown. */
int oi_backup_options_init(oi_backup_options *opts, unsigned int version);

/**
 * Copy the store's database into a new file at `path` (since 1.7); opts
 * may be NULL (the defaults).  The copy is created with permissions 0600
 * (it holds what the database holds: API token hashes, sensitive configs),
 * written beside `path` as "PATH.incomplete-XXXXXX" and renamed to `path`
 * when complete and on disk (fsync of the file and of its directory).
 * Returns:
 *   OI_OK          the backup is at path
 *   OI_EEXISTS     path exists and opts->overwrite is not set
 *   OI_EINVALID    path is empty, a directory, in a directory that does
 *                  not exist or cannot be written, or is the store's own
 *                  database file; the store is inside a transaction (a
 *                  backup is a snapshot of committed data: commit first);
 *                  or the store is a PostgreSQL one (the message names
 *                  pg_dump and pg_basebackup)
 *   OI_ESCHEMA     the database has no schema revision (nothing to back
 *                  up: most likely the empty file a mistyped path made)
 *   OI_EBUSY       a streamed metrics iterator holds the store, or the
 *                  database stayed locked (a checkpoint, a recovery)
 *   OI_ERROR       the copy failed (a full disk ...)
 * On every failure nothing is left behind: no file at path (an existing one
 * is untouched) and no temporary file (unless the process is killed while
 * copying, which leaves the temporary file, never a file at path).
 */
int oi_store_backup(oi_store *store, const char *path, const oi_backup_options *opts);

#ifdef __cplusplus
}
#endif
#endif
