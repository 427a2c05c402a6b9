/*
 * optiinfra/seed.h - the spec's seed data.
 *
 * oi_seed_core writes the 14 core records (2 customers, 4 agents, 3 events,
 * 3 recommendations, 1 approval, 1 optimization); oi_seed_state the 39
 * agent-state records of the spec (12 configs, 4 states, 11 capabilities,
 * 12 metrics).  Each runs in one transaction and skips records that are
 * already present, so running it again writes nothing.  oi_seed_state fails
 * with OI_ENOTFOUND, writing nothing, when the four core agents are missing.
 */
#ifndef OPTIINFRA_SEED_H
#define OPTIINFRA_SEED_H

#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Per table: records written now, and records found already present.
 *  Frozen: a new field would come as a new report version. */
typedef struct oi_seed_count {
    const char *table;
    int created;
    int existing;
} oi_seed_count;

#define OI_SEED_MAX_TABLES 6

/** The version of oi_seed_report this header declares. */
#define OI_SEED_REPORT_VERSION 1

/** What a seed wrote, per table. */
typedef struct oi_seed_report {
    unsigned int version; /**< OI_SEED_REPORT_VERSION */
    oi_seed_count tables[OI_SEED_MAX_TABLES];
    size_t ntables;
} oi_seed_report;

/** An empty report of this header's version. */
#define OI_SEED_REPORT_INIT {.version = OI_SEED_REPORT_VERSION}

/** Make *report an empty report of `version`; OI_EINVALID if unknown. */
int oi_seed_report_init(oi_seed_report *report, unsigned int version);

/** Write the 14 core records that are missing; *report (initialised; may be NULL) says what. */
int oi_seed_core(oi_store *store, oi_seed_report *report);

/**
 * Write the 39 agent-state records that are missing; *report (initialised;
 * may be NULL) says what.  The resources a seeded state lists become locks
 * of its agent: OI_EHELD, writing nothing, when another live agent holds one.
 */
int oi_seed_state(oi_store *store, oi_seed_report *report);

#ifdef __cplusplus
}
#endif
#endif
