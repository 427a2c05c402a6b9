/*
 * agents.c - views of an agent and of what it owns: its record, its state,
 * its configs and capability versions, and the shapes the agent commands
 * print (the list's summary, `agent show`'s details, a heartbeat, a
 * transition, an agent able to do a capability).
 *
 * The shapes are composed from the record views with view_pick(), each in
 * the member order its command has always printed, so that a value (a time,
 * a masked config value, a state's workflow data) has the form of its
 * record's view wherever it appears.  An agent's heartbeat is recorded in
 * two places (agents.last_heartbeat, agent_states.last_heartbeat); the
 * summary and the details show the newer and judge health by it, as the
 * library does; view_agent() and view_capable_agent() show the agent's own.
 * A record's view ends with its revision (1.3), what a compare-and-set
 * compares; `agent show` shows the agent's and its state's, the shorter
 * shapes (a list's summary, a heartbeat, a transition) none.
 */
#include <string.h>
#include "views.h"
#include "collect.h"

/* ---- records ------------------------------------------------------------ */

json_t *view_agent(const oi_agent *a)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "id", a->id,
                     "name", view_string(a->name), "type", view_string(a->type),
                     "version", view_string(a->agent_version),
                     "status", view_string(a->status), "endpoint", view_string(a->endpoint),
                     "capabilities", view_embedded(a->capabilities),
                     "metadata", view_embedded(a->metadata),
                     "last_heartbeat", view_time(a->last_heartbeat),
                     "created_at", view_time(a->created_at),
                     "updated_at", view_time(a->updated_at),
                     "revision", (json_int_t)a->revision);
}

json_t *view_agent_state(const oi_agent_state *s)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:I}",
                     "status", view_string(s->status),
                     "current_workflow", view_string(s->current_workflow),
                     "workflow_data", view_embedded(s->workflow_data),
                     "resource_locks", view_embedded(s->resource_locks),
                     "error_count", s->error_count,
                     "last_error", view_embedded(s->last_error),
                     "last_heartbeat", view_time(s->last_heartbeat),
                     "updated_at", view_time(s->updated_at),
                     "revision", (json_int_t)s->revision);
}

const char *view_config_value(const oi_agent_config *c, bool show_secrets)
{
    return c->is_sensitive && !show_secrets ? VIEW_MASKED_VALUE : c->config_value;
}

json_t *view_config(const oi_agent_config *c, bool show_secrets)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:I}", "id", c->id,
                     "key", view_string(c->config_key),
                     "value", view_string(view_config_value(c, show_secrets)),
                     "type", view_string(c->config_type),
                     "description", view_string(c->description),
                     "is_sensitive", c->is_sensitive,
                     "created_at", view_time(c->created_at),
                     "updated_at", view_time(c->updated_at),
                     "revision", (json_int_t)c->revision);
}

json_t *view_capability(const oi_agent_capability *c)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:I}", "id", c->id,
                     "name", view_string(c->capability_name),
                     "version", view_string(c->capability_version),
                     "description", view_string(c->description),
                     "parameters", view_embedded(c->parameters),
                     "enabled", c->is_enabled,
                     "created_at", view_time(c->created_at),
                     "updated_at", view_time(c->updated_at),
                     "revision", (json_int_t)c->revision);
}

/* ---- heartbeat and health ----------------------------------------------- */

oi_time view_newest_heartbeat(const oi_agent *a, const oi_agent_state *s)
{
    oi_time t = a->last_heartbeat;
    if (s && s->last_heartbeat != OI_TIME_NULL && (t == OI_TIME_NULL || s->last_heartbeat > t))
        t = s->last_heartbeat;
    return t;
}

const char *view_health(const oi_agent *a, const oi_agent_state *s, oi_time now,
                        int64_t stale_after)
{
    return oi_health_name(oi_agent_health(view_newest_heartbeat(a, s), now, stale_after));
}

/* ---- the agent commands' shapes ------------------------------------------ */

/* The members of view_agent() that come before its heartbeat, and after. */
static const char *const agent_head[] = {
    "id", "name", "type", "version", "status", "endpoint", "capabilities", "metadata", NULL
};
static const char *const agent_tail[] = { "created_at", "updated_at", "revision", NULL };

json_t *view_agent_summary(const oi_agent *a, const oi_agent_state *s, oi_time now,
                           int64_t stale_after)
{
    static const char *const head[] = { "id", "name", "type", "version", "status", NULL };
    static const char *const state_brief[] = {
        "status", "current_workflow", "error_count", NULL
    };
    oi_time beat = view_newest_heartbeat(a, s);
    json_t *agent = view_agent(a), *state = s ? view_agent_state(s) : NULL;
    json_t *out = view_pick(json_object(), agent, head);
    out = view_set(out, "state", s ? view_pick(json_object(), state, state_brief) : json_null());
    out = view_set(out, "last_heartbeat", view_time(beat));
    out = view_set(out, "heartbeat_age_seconds", view_age_seconds(beat, now));
    out = view_set(out, "health", json_string(view_health(a, s, now, stale_after)));
    json_decref(agent);
    json_decref(state);
    return out;
}

/* `agent show`'s state: the state's view with the heartbeat's age. */
static json_t *state_details(const oi_agent_state *s, oi_time now)
{
    static const char *const head[] = {
        "status", "current_workflow", "workflow_data", "resource_locks", "error_count",
        "last_error", "last_heartbeat", NULL
    };
    json_t *state = view_agent_state(s);
    json_t *out = view_pick(json_object(), state, head);
    out = view_set(out, "heartbeat_age_seconds", view_age_seconds(s->last_heartbeat, now));
    out = view_copy(out, "updated_at", state, "updated_at");
    out = view_copy(out, "revision", state, "revision");
    json_decref(state);
    return out;
}

static json_t *configs_details(const view_agent_parts *p)
{
    json_t *list = json_array();
    for (size_t i = 0; i < p->nconfigs; i++)
        list = view_append(list, view_config(&p->configs[i], false));
    return list;
}

static json_t *capabilities_details(const view_agent_parts *p)
{
    static const char *const shown[] = {
        "name", "version", "description", "parameters", "enabled", NULL
    };
    json_t *list = json_array();
    for (size_t i = 0; i < p->ncapabilities; i++) {
        json_t *c = view_capability(&p->capabilities[i]);
        list = view_append(list, view_pick(json_object(), c, shown));
        json_decref(c);
    }
    return list;
}

static json_t *latest_metrics_details(const view_agent_parts *p)
{
    json_t *list = json_array();
    for (size_t i = 0; i < p->nlatest_metrics; i++) {
        json_t *m = view_metric(&p->latest_metrics[i], NULL);
        json_t *out = view_copy(json_object(), "name", m, "metric_name");
        out = view_copy(out, "value", m, "metric_value");
        out = view_copy(out, "unit", m, "metric_unit");
        out = view_copy(out, "collected_at", m, "collection_timestamp");
        out = view_copy(out, "metadata", m, "metadata");
        list = view_append(list, out);
        json_decref(m);
    }
    return list;
}

json_t *view_agent_details(const view_agent_parts *p, oi_time now, int64_t stale_after)
{
    const oi_agent *a = &p->agent;
    const oi_agent_state *state = p->has_state ? &p->state : NULL;
    oi_time beat = view_newest_heartbeat(a, state);
    json_t *agent = view_agent(a);
    json_t *out = view_pick(json_object(), agent, agent_head);
    out = view_set(out, "last_heartbeat", view_time(beat));
    out = view_set(out, "heartbeat_age_seconds", view_age_seconds(beat, now));
    out = view_pick(out, agent, agent_tail);
    json_decref(agent);
    out = view_set(out, "health", json_string(view_health(a, state, now, stale_after)));
    out = view_set(out, "configs", configs_details(p));
    out = view_set(out, "state", state ? state_details(state, now) : json_null());
    out = view_set(out, "agent_capabilities", capabilities_details(p));
    return view_set(out, "latest_metrics", latest_metrics_details(p));
}

json_t *view_heartbeat(const oi_agent *a, oi_time at)
{
    return json_pack("{s:s, s:o, s:o}", "agent_id", a->id, "name", view_string(a->name),
                     "last_heartbeat", view_time(at));
}

json_t *view_transition(const oi_agent *a, const oi_agent_state *s)
{
    static const char *const shown[] = {
        "status", "current_workflow", "workflow_data", "error_count", "last_error",
        "last_heartbeat", "updated_at", "revision", NULL
    };
    json_t *state = view_agent_state(s);
    json_t *out = json_pack("{s:s, s:o}", "agent_id", a->id, "name", view_string(a->name));
    out = view_pick(out, state, shown);
    json_decref(state);
    return out;
}

json_t *view_capable_agent(const oi_agent *a, const oi_agent_capability *c, oi_time now)
{
    static const char *const shown[] = { "name", "type", "status", "last_heartbeat", NULL };
    json_t *agent = view_agent(a), *capability = view_capability(c);
    json_t *out = json_pack("{s:s}", "agent_id", a->id);
    out = view_pick(out, agent, shown);
    out = view_set(out, "heartbeat_age_seconds", view_age_seconds(a->last_heartbeat, now));
    out = view_copy(out, "version", capability, "version");
    out = view_set(out, "capability", capability); /* takes capability's reference */
    json_decref(agent);
    return out;
}

/* ---- loading what `agent show` shows -------------------------------------- */

/* The agent's state; *found is false (and OI_OK returned) when it has none. */
int view_find_state(oi_store *store, const char *agent_id, oi_agent_state *out, bool *found)
{
    int rc = oi_agent_state_find(store, agent_id, out);
    *found = rc == OI_OK;
    return rc == OI_ENOTFOUND ? OI_OK : rc;
}

int view_agent_parts_load(oi_store *store, const char *ref, view_agent_parts *p)
{
    oi_iter *it;
    memset(p, 0, sizeof *p);
    oi_agent_init(&p->agent, OI_AGENT_VERSION);
    oi_agent_state_init(&p->state, OI_AGENT_STATE_VERSION);
    int rc = oi_agent_lookup(store, ref, &p->agent);
    if (rc == OI_OK) {
        rc = oi_agent_config_iter_by_agent(&it, store, p->agent.id);
        rc = view_collect_configs(rc, it, &p->configs, &p->nconfigs);
    }
    if (rc == OI_OK)
        rc = view_find_state(store, p->agent.id, &p->state, &p->has_state);
    if (rc == OI_OK) {
        rc = oi_agent_capability_iter_by_agent(&it, store, p->agent.id);
        rc = view_collect_capabilities(rc, it, &p->capabilities, &p->ncapabilities);
    }
    if (rc == OI_OK) {
        rc = oi_metric_latest_iter_new(&it, store, p->agent.id);
        rc = view_collect_metrics(rc, it, &p->latest_metrics, &p->nlatest_metrics);
    }
    return rc;
}

void view_agent_parts_free(view_agent_parts *p)
{
    oi_agent_clear(&p->agent);
    view_free_configs(p->configs, p->nconfigs);
    oi_agent_state_clear(&p->state);
    view_free_capabilities(p->capabilities, p->ncapabilities);
    view_free_metrics(p->latest_metrics, p->nlatest_metrics);
}
