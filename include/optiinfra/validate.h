/*
 * optiinfra/validate.h - the spec's validation checklist as a library call.
 *
 * Runs every check (revision at head, tables, table counts, per-agent
 * relations, foreign keys and their ON DELETE actions, indexes, the cost
 * agent's configs) and reports each with a pass/fail and a detail line.
 */
#ifndef OPTIINFRA_VALIDATE_H
#define OPTIINFRA_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One check of the checklist: the library's own struct, reached through
 *  oi_validation_check(); fields are only ever added at its end. */
typedef struct oi_check {
    char *name;   /**< e.g. "count agent_configs" */
    bool ok;
    char *detail; /**< what was found; on failure what is wrong */
} oi_check;

/** The result of a validation run (opaque). */
typedef struct oi_validation oi_validation;

/**
 * Run the checklist; *out receives the result, to free with
 * oi_validation_free().  Returns OI_OK when the checks could be run
 * (whether or not they passed: see oi_validation_failed()), or an error
 * code when the database could not be read (*out is then NULL).
 */
int oi_validate(oi_store *store, oi_validation **out);

/** The number of checks run. */
size_t oi_validation_count(const oi_validation *report);

/** The number of checks that failed. */
size_t oi_validation_failed(const oi_validation *report);

/** Check i (0 to count - 1) of the run, or NULL past the last; owned by the report. */
const oi_check *oi_validation_check(const oi_validation *report, size_t i);

/** Free a validation result.  NULL is a no-op. */
void oi_validation_free(oi_validation *report);

#ifdef __cplusplus
}
#endif
#endif
