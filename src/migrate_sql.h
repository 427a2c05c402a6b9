/*
 * migrate_sql.h - the migration scripts compiled into the library.
 *
 * scripts/embed-sql.sh turns migrations/BACKEND/REV.up.sql and REV.down.sql
 * into this table at build time.
 */
#ifndef OI_MIGRATE_SQL_H
#define OI_MIGRATE_SQL_H

typedef struct oi_embedded_script {
    const char *backend; /* "sqlite", "postgresql" */
    const char *name;    /* "001_core_tables.up" */
    const char *sql;
} oi_embedded_script;

/* Terminated by an entry whose backend is NULL. */
extern const oi_embedded_script oi_embedded_sql[];

#endif
