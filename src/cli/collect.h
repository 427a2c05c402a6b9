/*
 * collect.h - an iterator's rows gathered into an array, for output that
 * needs them all at once (aligned tables, sorting).
 *
 * The library hands out rows one at a time (optiinfra/iter.h); the CLI,
 * compiled against the same headers, may hold arrays of records.  Each
 * collector takes the return code of the iterator's constructor and the
 * iterator, reads it to its end, frees it, and returns OI_OK with the rows,
 * or the failure with no rows.  Free the rows with the matching
 * cli_free_*().
 */
#ifndef OPTIINFRA_CLI_COLLECT_H
#define OPTIINFRA_CLI_COLLECT_H

#include "optiinfra/optiinfra.h"

int cli_collect_agents(int rc, oi_iter *it, oi_agent **rows, size_t *n);
void cli_free_agents(oi_agent *rows, size_t n);

int cli_collect_configs(int rc, oi_iter *it, oi_agent_config **rows, size_t *n);
void cli_free_configs(oi_agent_config *rows, size_t n);

int cli_collect_capabilities(int rc, oi_iter *it, oi_agent_capability **rows, size_t *n);
void cli_free_capabilities(oi_agent_capability *rows, size_t n);

int cli_collect_metrics(int rc, oi_iter *it, oi_agent_metric **rows, size_t *n);
void cli_free_metrics(oi_agent_metric *rows, size_t n);

int cli_collect_locks(int rc, oi_iter *it, oi_lock **rows, size_t *n);
void cli_free_locks(oi_lock *rows, size_t n);

int cli_collect_liveness(int rc, oi_iter *it, oi_agent_liveness **rows, size_t *n);
void cli_free_liveness(oi_agent_liveness *rows, size_t n);

int cli_collect_events(int rc, oi_iter *it, oi_event **rows, size_t *n);
void cli_free_events(oi_event *rows, size_t n);

int cli_collect_recommendations(int rc, oi_iter *it, oi_recommendation **rows, size_t *n);
void cli_free_recommendations(oi_recommendation *rows, size_t n);

int cli_collect_approvals(int rc, oi_iter *it, oi_approval **rows, size_t *n);
void cli_free_approvals(oi_approval *rows, size_t n);

int cli_collect_stats(int rc, oi_iter *it, oi_metric_stats **rows, size_t *n);
void cli_free_stats(oi_metric_stats *rows, size_t n);

int cli_collect_tokens(int rc, oi_iter *it, oi_api_token **rows, size_t *n);
void cli_free_tokens(oi_api_token *rows, size_t n);

#endif
