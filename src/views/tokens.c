/*
 * tokens.c - the JSON form of an API token's record: everything the store
 * keeps of a token except its hash, and never the token itself (only
 * `token create` shows that, once, outside any view).
 */
#include "views.h"

json_t *view_api_token(const oi_api_token *t)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "id", t->id,
                     "role", oi_token_role_name(t->role),
                     "agent_id", t->agent_id[0] ? json_string(t->agent_id) : json_null(),
                     "agent", view_string(t->agent_name), "label", view_string(t->label),
                     "created_at", view_time(t->created_at));
}
