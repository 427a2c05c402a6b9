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
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oi_check {
    char *name;   /**< e.g. "count agent_configs" */
    bool ok;
    char *detail; /**< what was found; on failure what is wrong */
} oi_check;

typedef struct oi_validation {
    oi_check *checks;
    size_t count;
    size_t failed;
} oi_validation;

/**
 * Run the checklist.  Returns OI_OK when the checks could be run (whether
 * or not they passed: see report->failed), or an error code when the
 * database could not be read.  Free the report with oi_validation_free().
 */
int oi_validate(oi_store *store, oi_validation *report);
void oi_validation_free(oi_validation *report);

#ifdef __cplusplus
}
#endif
#endif
