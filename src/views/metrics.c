/*
 * metrics.c - views of metric rows and of their aggregate statistics.
 *
 * A metric row names its agent by id; the view also shows the agent's name,
 * which the caller resolves (metrics are many, agents few: a caller reads
 * the agents once for a whole page).  Statistics show null for the group
 * keys an aggregation did not group by.
 */
#include "views.h"

json_t *view_metric(const oi_agent_metric *m, const char *agent_name)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:f, s:o, s:o, s:o, s:o}", "id", (json_int_t)m->id,
                     "agent_id", m->agent_id, "agent", view_string(agent_name),
                     "metric_name", view_string(m->metric_name),
                     "metric_value", m->metric_value,
                     "metric_unit", view_string(m->metric_unit),
                     "collection_timestamp", view_time(m->collection_timestamp),
                     "metadata", view_embedded(m->metadata),
                     "created_at", view_time(m->created_at));
}

json_t *view_metric_stats(const oi_metric_stats *r)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                     "bucket_start", view_time(r->bucket_start),
                     "agent_id", view_string(r->agent_id[0] ? r->agent_id : NULL),
                     "agent", view_string(r->agent_name),
                     "metric_name", view_string(r->metric_name),
                     "count", (json_int_t)r->count, "sum", r->sum, "avg", r->avg,
                     "min", r->min, "max", r->max, "p50", r->p50, "p95", r->p95,
                     "p99", r->p99);
}
