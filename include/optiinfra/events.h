/*
 * optiinfra/events.h - what happens to a customer, as the orchestrator
 * records and reads it.
 */
#ifndef OPTIINFRA_EVENTS_H
#define OPTIINFRA_EVENTS_H

#include <stddef.h>
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Record an event: oi_event_create() that first makes sure the customer
 * (and the agent, when agent_id is set) exist, so that an unknown one is
 * OI_ENOTFOUND with a message naming it rather than a foreign-key failure.
 * severity defaults to info, data to {}; id and created_at are written back
 * into ev.  One read of the references, then one INSERT: nothing is written
 * on failure.  (A customer deleted between the two still makes the INSERT
 * fail, with OI_ECONSTRAINT.)
 */
int oi_event_record(oi_store *store, oi_event *ev);

/** The version of oi_event_filter this header declares. */
#define OI_EVENT_FILTER_VERSION 1

/** Which of a customer's events to read: initialise with OI_EVENT_FILTER_INIT. */
typedef struct oi_event_filter {
    unsigned int version;     /**< OI_EVENT_FILTER_VERSION */
    const char *customer_id;  /**< required */
    const char *min_severity; /**< NULL: any; else this severity or a worse one
                                   (info < warning < error < critical) */
    const char *event_type;   /**< NULL: any type */
    oi_time since;            /**< inclusive; OI_TIME_NULL: no lower bound */
    size_t limit;             /**< 0: no limit */
} oi_event_filter;

/** An empty event filter of this header's version. */
#define OI_EVENT_FILTER_INIT {.version = OI_EVENT_FILTER_VERSION, .since = OI_TIME_NULL}

/** Make *f an empty event filter of `version`; OI_EINVALID if unknown. */
int oi_event_filter_init(oi_event_filter *f, unsigned int version);

/**
 * An iterator over the customer's events matching f, newest first
 * (created_at, then id, descending), at most f->limit of them; read with
 * oi_event_next().  f is copied.  An unknown customer has no events (no
 * rows, not an error).
 */
int oi_event_iter_recent(oi_iter **out, oi_store *store, const oi_event_filter *f);

#ifdef __cplusplus
}
#endif
#endif
