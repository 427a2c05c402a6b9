/*
 * orchestration.c - views of what happens between agents and customers:
 * events, recommendations and the decisions (approvals) on them.
 *
 * A recommendation's estimates are optional numbers (null when unset); its
 * details are the recommendation with its approvals, the document every
 * recommendation command prints so that a client sees the state it caused.
 */
#include "views.h"

json_t *view_event(const oi_event *e)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", e->id,
                     "customer_id", e->customer_id,
                     "agent_id", view_string(e->agent_id[0] ? e->agent_id : NULL),
                     "event_type", view_string(e->event_type),
                     "severity", view_string(e->severity),
                     "data", view_embedded(e->data),
                     "created_at", view_time(e->created_at));
}

json_t *view_recommendation(const oi_recommendation *r)
{
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
        "id", r->id, "customer_id", r->customer_id, "agent_id", r->agent_id,
        "type", view_string(r->type), "title", view_string(r->title),
        "description", view_string(r->description),
        "estimated_savings", view_number(r->estimated_savings),
        "estimated_improvement", view_number(r->estimated_improvement),
        "confidence_score", view_number(r->confidence_score),
        "priority", view_string(r->priority), "status", view_string(r->status),
        "data", view_embedded(r->data), "created_at", view_time(r->created_at),
        "updated_at", view_time(r->updated_at),
        "approved_at", view_time(r->approved_at),
        "executed_at", view_time(r->executed_at), "revision", (json_int_t)r->revision);
}

json_t *view_approval(const oi_approval *a)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I}", "id", a->id,
                     "approved_by", view_string(a->approved_by),
                     "status", view_string(a->status),
                     "comment", view_string(a->comment),
                     "created_at", view_time(a->created_at),
                     "updated_at", view_time(a->updated_at),
                     "revision", (json_int_t)a->revision);
}

json_t *view_recommendation_details(const oi_recommendation *r, const oi_approval *approvals,
                                    size_t napprovals)
{
    json_t *list = json_array();
    for (size_t i = 0; i < napprovals; i++)
        list = view_append(list, view_approval(&approvals[i]));
    return view_set(view_recommendation(r), "approvals", list);
}
