/*
 * collect.h - an iterator's rows gathered into an array, for output that
 * needs them all at once (aligned tables, sorting).
 *
 * The library hands out rows one at a time (optiinfra/iter.h); the CLI and
 * the service, compiled against the same headers, may hold arrays of
 * records (a composite view such as `agent show`'s, a sorted table).  Each
 * collector takes the return code of the iterator's constructor and the
 * iterator, reads it to its end, frees it, and returns OI_OK with the rows,
 * or the failure with no rows.  Free the rows with the matching
 * view_free_*().
 */
#ifndef OPTIINFRA_VIEWS_COLLECT_H
#define OPTIINFRA_VIEWS_COLLECT_H

#include "optiinfra/optiinfra.h"

int view_collect_agents(int rc, oi_iter *it, oi_agent **rows, size_t *n);
void view_free_agents(oi_agent *rows, size_t n);

int view_collect_configs(int rc, oi_iter *it, oi_agent_config **rows, size_t *n);
void view_free_configs(oi_agent_config *rows, size_t n);

int view_collect_capabilities(int rc, oi_iter *it, oi_agent_capability **rows, size_t *n);
void view_free_capabilities(oi_agent_capability *rows, size_t n);

int view_collect_metrics(int rc, oi_iter *it, oi_agent_metric **rows, size_t *n);
void view_free_metrics(oi_agent_metric *rows, size_t n);

int view_collect_locks(int rc, oi_iter *it, oi_lock **rows, size_t *n);
void view_free_locks(oi_lock *rows, size_t n);

int view_collect_liveness(int rc, oi_iter *it, oi_agent_liveness **rows, size_t *n);
void view_free_liveness(oi_agent_liveness *rows, size_t n);

int view_collect_events(int rc, oi_iter *it, oi_event **rows, size_t *n);
void view_free_events(oi_event *rows, size_t n);

int view_collect_recommendations(int rc, oi_iter *it, oi_recommendation **rows, size_t *n);
void view_free_recommendations(oi_recommendation *rows, size_t n);

int view_collect_approvals(int rc, oi_iter *it, oi_approval **rows, size_t *n);
void view_free_approvals(oi_approval *rows, size_t n);

int view_collect_stats(int rc, oi_iter *it, oi_metric_stats **rows, size_t *n);
void view_free_stats(oi_metric_stats *rows, size_t n);

int view_collect_tokens(int rc, oi_iter *it, oi_api_token **rows, size_t *n);
void view_free_tokens(oi_api_token *rows, size_t n);

#endif
