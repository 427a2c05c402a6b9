/*
 * collect.c - iterators read into arrays (collect.h says when and why).
 *
 * The collectors differ only in the record type, its INIT, next() and
 * clear(); one macro writes each pair, as records.c does for the library's
 * per-table wrappers, so that the loop exists once.
 */
#include <stdlib.h>
#include "alloc.h"
#include "collect.h"

#define COLLECTOR(NAME, T, INIT, NEXT, CLEAR)                                  \
    void view_free_##NAME(T *rows, size_t n)                                   \
    {                                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            CLEAR(&rows[i]);                                                   \
        free(rows);                                                            \
    }                                                                          \
    int view_collect_##NAME(int rc, oi_iter *it, T **rows, size_t *n)           \
    {                                                                          \
        static const T empty = INIT;                                           \
        size_t cap = 0;                                                        \
        *rows = NULL;                                                          \
        *n = 0;                                                                \
        while (rc == OI_OK) {                                                  \
            *rows = oi_grow(*rows, &cap, *n, sizeof **rows);                   \
            (*rows)[*n] = empty;                                               \
            if ((rc = NEXT(it, &(*rows)[*n])) == OI_OK)                        \
                ++*n;                                                          \
        }                                                                      \
        oi_iter_free(it);                                                      \
        if (rc == OI_ITEROVER)                                                 \
            return OI_OK;                                                      \
        view_free_##NAME(*rows, *n);                                           \
        *rows = NULL;                                                          \
        *n = 0;                                                                \
        return rc;                                                             \
    }

COLLECTOR(agents, oi_agent, OI_AGENT_INIT, oi_agent_next, oi_agent_clear)
COLLECTOR(configs, oi_agent_config, OI_AGENT_CONFIG_INIT, oi_agent_config_next,
          oi_agent_config_clear)
COLLECTOR(capabilities, oi_agent_capability, OI_AGENT_CAPABILITY_INIT, oi_agent_capability_next,
          oi_agent_capability_clear)
COLLECTOR(metrics, oi_agent_metric, OI_AGENT_METRIC_INIT, oi_agent_metric_next,
          oi_agent_metric_clear)
COLLECTOR(locks, oi_lock, OI_LOCK_INIT, oi_lock_next, oi_lock_clear)
COLLECTOR(liveness, oi_agent_liveness, OI_AGENT_LIVENESS_INIT, oi_agent_liveness_next,
          oi_agent_liveness_clear)
COLLECTOR(events, oi_event, OI_EVENT_INIT, oi_event_next, oi_event_clear)
COLLECTOR(recommendations, oi_recommendation, OI_RECOMMENDATION_INIT, oi_recommendation_next,
          oi_recommendation_clear)
COLLECTOR(approvals, oi_approval, OI_APPROVAL_INIT, oi_approval_next, oi_approval_clear)
COLLECTOR(stats, oi_metric_stats, OI_METRIC_STATS_INIT, oi_metric_stats_next,
          oi_metric_stats_clear)
COLLECTOR(tokens, oi_api_token, OI_API_TOKEN_INIT, oi_api_token_next, oi_api_token_clear)
