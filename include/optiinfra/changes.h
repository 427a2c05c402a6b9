/*
 * optiinfra/changes.h - the store-wide change revision, the change log and
 * waiting for changes (1.3).
 *
 * Every committed change to a watched table (agents, agent_states,
 * agent_configs, agent_capabilities, resource_locks, recommendations,
 * approvals) moves one store-wide revision up by one, whoever made it (this
 * library, plain SQL, another service), and each of those rows records the
 * revision that last changed it.  Revisions follow commit order: a reader
 * that has seen every change up to revision R and asks for what came after
 * R misses nothing.  The change log keeps the newest changes (by count and
 * by age); asking for changes from before what it keeps fails with
 * OI_ECOMPACTED, as etcd's compact_revision does: read the records again,
 * then go on from oi_store_revision().  docs/coordination.md explains how.
 */
#ifndef OPTIINFRA_CHANGES_H
#define OPTIINFRA_CHANGES_H

#include "iter.h"
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a change did to its row. */
typedef enum oi_change_kind {
    OI_CHANGE_INSERT = 0,
    OI_CHANGE_UPDATE = 1,
    OI_CHANGE_DELETE = 2
} oi_change_kind;

/** "insert", "update", "delete" (NULL for another value). */
const char *oi_change_kind_name(oi_change_kind kind);

/** The version of oi_change this header declares. */
#define OI_CHANGE_VERSION 1

/** One change, as the change log holds it. */
typedef struct oi_change {
    unsigned int version;  /**< OI_CHANGE_VERSION */
    int64_t revision;      /**< the store revision this change made */
    char *table;           /**< the table changed: "agents", "agent_configs" ... */
    char *key;             /**< the row's key: its id, or a lock's resource name */
    oi_uuid agent_id;      /**< the agent the row belongs to ("" if none: a
                                recommendation of a deleted agent's approval) */
    oi_change_kind kind;
    oi_time changed_at;    /**< on the database's clock */
} oi_change;

/** An empty oi_change of this header's version. */
#define OI_CHANGE_INIT {.version = OI_CHANGE_VERSION, .changed_at = OI_TIME_NULL}

/** Make *change an empty oi_change of `version`; OI_EINVALID if unknown. */
int oi_change_init(oi_change *change, unsigned int version);

/** Free the strings of change and make it empty again, keeping its version. */
void oi_change_clear(oi_change *change);

/** The version of oi_change_filter this header declares. */
#define OI_CHANGE_FILTER_VERSION 1

/** Which changes to read; NULL members match every change. */
typedef struct oi_change_filter {
    unsigned int version;  /**< OI_CHANGE_FILTER_VERSION */
    const char *table;     /**< one of the watched tables (OI_EINVALID for another name) */
    const char *agent_id;  /**< the changes of one agent's rows (a UUID) */
} oi_change_filter;

/** A filter that matches every change. */
#define OI_CHANGE_FILTER_INIT {.version = OI_CHANGE_FILTER_VERSION}

/** Make *filter match every change; OI_EINVALID for an unknown version. */
int oi_change_filter_init(oi_change_filter *filter, unsigned int version);

/**
 * The store's current revision into *revision: that of the newest
 * committed change (0 before the first).
 */
int oi_store_revision(oi_store *store, int64_t *revision);

/**
 * The revisions the change log can still answer for: *compacted is the
 * newest revision no longer kept (changes after it are all there), *current
 * the store's revision.  Either pointer may be NULL.
 */
int oi_changes_window(oi_store *store, int64_t *compacted, int64_t *current);

/**
 * An iterator over the changes after revision `since` that match filter
 * (NULL: every change), oldest first; read with oi_change_next().
 * OI_ECOMPACTED if changes after `since` have been pruned (the message
 * gives the compact revision); OI_EINVALID for a negative since or a bad
 * filter.  A `since` above the current revision is not an error: nothing
 * has happened after it yet.
 */
int oi_changes_since(oi_iter **out, oi_store *store, int64_t since,
                     const oi_change_filter *filter);

/** The next change of a changes iterator into *out: OI_OK, OI_ITEROVER or a failure. */
int oi_change_next(oi_iter *iter, oi_change *out);

/**
 * Wait until the store's revision is above `since`, or `timeout` (in
 * microseconds, 0 to not wait) has passed; *revision then receives the
 * current revision (still `since`, or below, on a timeout: not an error).
 * Changes made by any process count.  On PostgreSQL the wait sleeps on
 * LISTEN optiinfra_changes and wakes at the commit; on SQLite it polls the
 * database file's change counter every few milliseconds.  Not inside a
 * transaction (OI_EINVALID): its snapshot would never see the change.
 */
int oi_changes_wait(oi_store *store, int64_t since, int64_t timeout, int64_t *revision);

/**
 * How much of the change log to keep: the newest keep_changes changes (at
 * least 1), none older than keep_seconds (at least 1).  Pruning happens as
 * changes are written, at most two rows per change.  The defaults are
 * 100,000 changes and one day.
 */
int oi_changes_set_retention(oi_store *store, int64_t keep_changes, int64_t keep_seconds);

#ifdef __cplusplus
}
#endif
#endif
