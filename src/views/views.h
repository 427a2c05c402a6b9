/*
 * views.h - the JSON form of each record, shared by the CLI's --json output
 * and the HTTP service's response bodies: one value has one JSON form on
 * every path.
 *
 * A view turns a record of the public API (an oi_agent, an oi_lock, an
 * oi_agent_metric ...) into the JSON value that stands for it.  Whether a
 * client runs `optiinfra ... --json` or asks the service, it gets the same
 * member names, the same nesting and the same value forms: a time is RFC
 * 3339 UTC text or null, a JSON column is JSON (not a string holding JSON),
 * a missing text is null, a sensitive config value is masked unless asked
 * for.  Where a command shows a record with fewer members than its full
 * view (the agent list shows three members of the state), that shape is
 * composed here too, from the full view, so that it also exists once.
 * Lists and envelopes ({"rows": [...], "next_cursor": ...}) and the
 * acknowledgements of a command ({"released": true}) are the caller's.
 *
 * Every json_t * returned is a new reference, NULL only when jansson cannot
 * allocate: jansson allocates with malloc(), not through the library's
 * allocator (src/alloc.h, whose failure handler never returns), so a caller
 * treats NULL as out of memory, as cli_json_print() does.  A view built of
 * parts is NULL when any part is.
 *
 * Views are pure functions of their arguments: no store, no clock (a view
 * that shows an age takes `now`), no global state, so any thread may call
 * them.  They use the public API (times, health) and jansson, and call no
 * file of the CLI or of the service.  A few return the text of one shown
 * value (a masked config value, a lock's outcome, an agent's health) so
 * that the CLI's text output shows the same value as its JSON.
 *
 * Files: views.c (scalars, composition), agents.c (agents, states,
 * configs, capabilities), locks.c, metrics.c, orchestration.c (events,
 * recommendations, approvals), changes.c (the change log).
 */
#ifndef OPTIINFRA_VIEWS_H
#define OPTIINFRA_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "optiinfra/optiinfra.h"

/* ---- values (views.c) --------------------------------------------------- */

/* A text: its JSON string, or null for NULL.  Text that is not valid UTF-8
 * (the library refuses it, so only a row written around the library, into
 * SQLite) is shown with U+FFFD in place of each bad sequence, as the
 * WHATWG decoder does: the record is shown, never dropped, and the
 * repair is reported to the repair hook, if one is set. */
json_t *view_string(const char *s);

/* The hook view_string() and view_embedded() call with each string they
 * repaired (borrowed: take a reference to keep it), so that a caller can
 * say which member of which record it was (the CLI warns on stderr).  One
 * process-wide setting, like the allocator's failure handler: set it before
 * threads start; the service sets none (its answers carry U+FFFD alone). */
typedef void (*view_repair_hook)(json_t *repaired, void *ctx);
void view_set_repair_hook(view_repair_hook hook, void *ctx);

/* A time: "YYYY-MM-DDTHH:MM:SS.ffffffZ" (RFC 3339, UTC, microseconds, as
 * oi_time_format() writes it), or null for OI_TIME_NULL. */
json_t *view_time(oi_time t);

/* A JSON column, stored as text, as the JSON value it holds; null for NULL.
 * Text that does not parse (the library checks JSON before writing it, so
 * only a row written around the library) is shown as a JSON string holding
 * the text (repaired as view_string() does), never dropped, never an error. */
json_t *view_embedded(const char *json_text);

/* An optional number: a JSON real, or null for OI_NULL_NUMBER (NaN). */
json_t *view_number(double v);

/* Whole seconds from t to now (truncated toward zero; negative when t is
 * after now), or null for OI_TIME_NULL: every *_age_seconds member. */
json_t *view_age_seconds(oi_time t, oi_time now);

/* ---- composition (views.c) ---------------------------------------------- *
 * Each takes `into`, returns it, or returns NULL having released it when
 * anything fails, so that calls chain and a failure reaches the end. */

/* Set member `key` of `into` to `value`, taking value's reference (released
 * on failure too). */
json_t *view_set(json_t *into, const char *key, json_t *value);

/* Set member `as` of `into` to member `key` of the object `from` (the same
 * value, a new reference).  A `from` without `key` is a failure. */
json_t *view_copy(json_t *into, const char *as, const json_t *from, const char *key);

/* view_copy() of each of the NULL-terminated `keys` under its own name, in
 * that order: the subset of a view that a shorter shape shows. */
json_t *view_pick(json_t *into, const json_t *from, const char *const *keys);

/* Append `item` to the array `into`, taking item's reference. */
json_t *view_append(json_t *into, json_t *item);

/* ---- agents, states (agents.c) ------------------------------------------ */

/* The agent record's own fields: {id, name, type, version (the agent's
 * software version), status, endpoint, capabilities (its declared names,
 * JSON), metadata, last_heartbeat (agents.last_heartbeat only), created_at,
 * updated_at, revision (the row's, records.h: what a compare-and-set
 * compares; every record view that has one ends with it)}. */
json_t *view_agent(const oi_agent *a);

/* The state record's fields: {status, current_workflow, workflow_data,
 * resource_locks, error_count, last_error, last_heartbeat, updated_at,
 * revision}.  It names no agent: the shapes around it do. */
json_t *view_agent_state(const oi_agent_state *s);

/* The newer of the agent's heartbeat and its state's (s may be NULL):
 * the heartbeat every agent view shows, and judges health by. */
oi_time view_newest_heartbeat(const oi_agent *a, const oi_agent_state *s);

/* "healthy", "stale" or "never seen", from view_newest_heartbeat() (s may
 * be NULL) as of now, stale after stale_after microseconds. */
const char *view_health(const oi_agent *a, const oi_agent_state *s, oi_time now,
                        int64_t stale_after);

/* One agent as `optiinfra agents` lists it: {id, name, type, version,
 * status, state: {status, current_workflow, error_count} or null (s NULL),
 * last_heartbeat (the newest), heartbeat_age_seconds, health}. */
json_t *view_agent_summary(const oi_agent *a, const oi_agent_state *s, oi_time now,
                           int64_t stale_after);

/* What `agent show` shows of one agent: view_agent_parts_load() reads it. */
typedef struct view_agent_parts {
    oi_agent agent;
    oi_agent_state state;
    bool has_state;                         /* false: the agent has no state row */
    oi_agent_config *configs;               /* by key; always shown masked */
    size_t nconfigs;
    oi_agent_capability *capabilities;      /* its versioned capability rows */
    size_t ncapabilities;
    oi_agent_metric *latest_metrics;        /* the newest row of each metric, by name */
    size_t nlatest_metrics;
} view_agent_parts;

/* Load the parts of the agent named by ref (an id or a unique name), each
 * with one library iterator; free them with view_agent_parts_free() whatever
 * the result. */
int view_agent_parts_load(oi_store *store, const char *ref, view_agent_parts *p);
void view_agent_parts_free(view_agent_parts *p);
/* The agent's state into *out; *found false (and OI_OK) when it has none. */
int view_find_state(oi_store *store, const char *agent_id, oi_agent_state *out, bool *found);

/* One agent as `agent show` shows it: the members of view_agent() with
 * last_heartbeat the newest and heartbeat_age_seconds after it, then
 * health, configs [view_config(), masked], state (view_agent_state() with
 * heartbeat_age_seconds before updated_at, or null), agent_capabilities
 * [{name, version, description, parameters, enabled}] and latest_metrics
 * [{name, value, unit, collected_at, metadata}]. */
json_t *view_agent_details(const view_agent_parts *p, oi_time now, int64_t stale_after);

/* A heartbeat just recorded at `at`: {agent_id, name, last_heartbeat}. */
json_t *view_heartbeat(const oi_agent *a, oi_time at);

/* The state an agent's transition (start, finish, error, recover) left:
 * {agent_id, name, status, current_workflow, workflow_data, error_count,
 * last_error, last_heartbeat, updated_at, revision}. */
json_t *view_transition(const oi_agent *a, const oi_agent_state *s);

/* ---- configs, capabilities (agents.c) ----------------------------------- */

/* How every output shows a sensitive config value unless secrets are shown. */
#define VIEW_MASKED_VALUE "********"

/* The config's value as shown: VIEW_MASKED_VALUE if it is sensitive and
 * show_secrets is false, else the value itself (text and JSON alike). */
const char *view_config_value(const oi_agent_config *c, bool show_secrets);

/* {id, key, value (view_config_value()), type, description, is_sensitive,
 * created_at, updated_at, revision}. */
json_t *view_config(const oi_agent_config *c, bool show_secrets);

/* {id, name, version, description, parameters, enabled, created_at,
 * updated_at, revision}. */
json_t *view_capability(const oi_agent_capability *c);

/* An agent that can do a capability, with its newest enabled version c:
 * {agent_id, name, type, status, last_heartbeat (agents.last_heartbeat),
 * heartbeat_age_seconds, version (c's), capability: view_capability(c)}. */
json_t *view_capable_agent(const oi_agent *a, const oi_agent_capability *c, oi_time now);

/* ---- locks (locks.c) ---------------------------------------------------- */

/* {resource, agent_id, agent (the holder's name), previous_agent_id (null
 * if the resource was free), acquired_at, expires_at, holder_heartbeat,
 * expires_in_seconds (negative once expired), expired, holder_stale,
 * live}. */
json_t *view_lock(const oi_lock *lock, oi_time now);

/* What the acquisition that returned lock did: "acquired" (the resource
 * was free), "renewed" (the agent held it) or "taken over". */
const char *view_lock_outcome(const oi_lock *lock);

/* A lock just acquired: view_lock() and outcome (view_lock_outcome()). */
json_t *view_lock_acquired(const oi_lock *lock, oi_time now);

/* ---- metrics (metrics.c) ------------------------------------------------ */

/* {id, agent_id, agent (agent_name: the caller resolves it; NULL -> null),
 * metric_name, metric_value, metric_unit, collection_timestamp, metadata,
 * created_at}. */
json_t *view_metric(const oi_agent_metric *m, const char *agent_name);

/* One group of an aggregation: {bucket_start, agent_id, agent,
 * metric_name, count, sum, avg, min, max, p50, p95, p99}; the keys not
 * grouped by are null. */
json_t *view_metric_stats(const oi_metric_stats *r);

/* ---- events, recommendations, approvals (orchestration.c) --------------- */

/* {id, customer_id, agent_id (null for none), event_type, severity, data,
 * created_at}. */
json_t *view_event(const oi_event *e);

/* {id, customer_id, agent_id, type, title, description, estimated_savings,
 * estimated_improvement, confidence_score (each null when unset), priority,
 * status, data, created_at, updated_at, approved_at, executed_at, revision}. */
json_t *view_recommendation(const oi_recommendation *r);

/* A decision on a recommendation: {id, approved_by, status, comment,
 * created_at, updated_at, revision}. */
json_t *view_approval(const oi_approval *a);

/* A recommendation as `recommendation show` shows it: view_recommendation()
 * and approvals [view_approval()], in the order given. */
json_t *view_recommendation_details(const oi_recommendation *r, const oi_approval *approvals,
                                    size_t napprovals);

/* ---- API tokens (tokens.c) ---------------------------------------------- */

/* {id, role, agent_id (null unless an agent token), agent, label,
 * created_at}: never the token or its hash. */
json_t *view_api_token(const oi_api_token *t);

/* ---- changes (changes.c) ------------------------------------------------ */

/* One change of the change log: {revision, table, key, agent_id (null when
 * the row belongs to no agent), kind ("insert", "update", "delete"),
 * changed_at}. */
json_t *view_change(const oi_change *change);

#endif
