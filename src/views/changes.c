/*
 * changes.c - the view of one change of the change log: what `optiinfra
 * watch --json` prints per line and what GET /v1/watch lists.
 *
 * The member names are the change log's own words (table, key, kind), so a
 * reader of the JSON and a reader of docs/coordination.md see one
 * vocabulary.  A change that belongs to no agent (an approval whose
 * recommendation is gone) has agent_id null, not "".
 */
#include "views.h"

json_t *view_change(const oi_change *change)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}",
                     "revision", (json_int_t)change->revision,
                     "table", view_string(change->table), "key", view_string(change->key),
                     "agent_id", view_string(change->agent_id[0] ? change->agent_id : NULL),
                     "kind", view_string(oi_change_kind_name(change->kind)),
                     "changed_at", view_time(change->changed_at));
}
