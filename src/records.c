/*
 * records.c - the ten tables' descriptors and their public CRUD calls.
 *
 * Column lists follow the migrations' upgrade scripts and the
 * structs of include/optiinfra/records.h; the key comes first, and a
 * column a record version added carries that version (`since`).  The public
 * functions are one-line wrappers over table.c, generated per table.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "iter.h"
#include "partition.h"
#include "value.h"

/* A column; a TEXT column made with COL holds a name (OI_KIND_NAME: one
 * line, at most OI_NAME_MAX bytes), one made with PROSE a text of `kind`. */
#define COL(T, field, type, flags) \
    {#field, type, offsetof(T, field), flags, NULL, NULL, 0, OI_KIND_NAME}
#define PROSE(T, field, kind, flags) \
    {#field, OI_COL_TEXT, offsetof(T, field), flags, NULL, NULL, 0, kind}
#define WORDS(T, field, fallback, words) \
    {#field, OI_COL_TEXT, offsetof(T, field), 0, fallback, words, 0, OI_KIND_NAME}
#define NCOLS(cols) (sizeof cols / sizeof *cols)
/* The row's revision (records.h, version 2): written by the database's
 * triggers, never by the library. */
#define REVISION(T) \
    {"revision", OI_COL_ID64, offsetof(T, revision), OI_READONLY, NULL, NULL, 2, OI_KIND_NAME}

static const char *const plans[] = {"free", "startup", "enterprise", NULL};
static const char *const customer_statuses[] = {"active", "suspended", "churned", NULL};
static const char *const severities[] = {"info", "warning", "error", "critical", NULL};
static const char *const priorities[] = {"low", "medium", "high", "critical", NULL};
static const char *const rec_statuses[] = {"pending", "approved", "rejected", "executing",
                                           "completed", "failed", "rolled_back", NULL};
static const char *const approval_statuses[] = {"pending", "approved", "rejected", NULL};
static const char *const opt_statuses[] = {"queued", "executing", "completed", "failed",
                                           "rolled_back", NULL};
static const char *const config_types[] = {"string", "number", "integer", "float",
                                           "boolean", "json", NULL};

#define T oi_customer
static const oi_column customer_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, name, OI_COL_TEXT, OI_REQUIRED),
    COL(T, email, OI_COL_TEXT, OI_REQUIRED),
    COL(T, api_key, OI_COL_TEXT, OI_REQUIRED),
    WORDS(T, plan, "free", plans),
    WORDS(T, status, "active", customer_statuses),
    COL(T, metadata, OI_COL_JSON, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
};
#undef T
#define T oi_agent
static const oi_column agent_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, type, OI_COL_TEXT, OI_REQUIRED),
    COL(T, name, OI_COL_TEXT, OI_REQUIRED),
    {"version", OI_COL_TEXT, offsetof(T, agent_version), 0, NULL, NULL, 0, OI_KIND_NAME},
    {"status", OI_COL_TEXT, offsetof(T, status), 0, "active", NULL, 0, OI_KIND_NAME},
    PROSE(T, endpoint, OI_KIND_TEXT, 0),
    COL(T, capabilities, OI_COL_STRLIST, 0),
    COL(T, metadata, OI_COL_JSON, 0),
    COL(T, last_heartbeat, OI_COL_TIME, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    REVISION(T),
};
#undef T
#define T oi_event
static const oi_column event_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, customer_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, agent_id, OI_COL_UUID, 0),
    COL(T, event_type, OI_COL_TEXT, OI_REQUIRED),
    WORDS(T, severity, "info", severities),
    COL(T, data, OI_COL_JSON, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
};
#undef T
#define T oi_recommendation
static const oi_column recommendation_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, customer_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, type, OI_COL_TEXT, OI_REQUIRED),
    COL(T, title, OI_COL_TEXT, OI_REQUIRED),
    PROSE(T, description, OI_KIND_TEXT, 0),
    COL(T, estimated_savings, OI_COL_DOUBLE, OI_NULLABLE | OI_CENTS),
    COL(T, estimated_improvement, OI_COL_DOUBLE, OI_NULLABLE | OI_CENTS),
    COL(T, confidence_score, OI_COL_DOUBLE, OI_NULLABLE),
    WORDS(T, priority, "medium", priorities),
    WORDS(T, status, "pending", rec_statuses),
    COL(T, data, OI_COL_JSON, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    COL(T, approved_at, OI_COL_TIME, 0),
    COL(T, executed_at, OI_COL_TIME, 0),
    REVISION(T),
};
#undef T
#define T oi_approval
static const oi_column approval_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, recommendation_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, approved_by, OI_COL_TEXT, OI_REQUIRED),
    WORDS(T, status, "pending", approval_statuses),
    PROSE(T, comment, OI_KIND_TEXT, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    REVISION(T),
};
#undef T
#define T oi_optimization
static const oi_column optimization_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, recommendation_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, customer_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    WORDS(T, status, "queued", opt_statuses),
    COL(T, progress, OI_COL_INT, 0),
    COL(T, result, OI_COL_JSON, OI_NULLABLE),
    PROSE(T, error, OI_KIND_TEXT, 0),
    COL(T, actual_savings, OI_COL_DOUBLE, OI_NULLABLE | OI_CENTS),
    COL(T, actual_improvement, OI_COL_DOUBLE, OI_NULLABLE | OI_CENTS),
    COL(T, started_at, OI_COL_TIME, 0),
    COL(T, completed_at, OI_COL_TIME, 0),
    COL(T, rolled_back_at, OI_COL_TIME, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
};
#undef T
#define T oi_agent_config
static const oi_column agent_config_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, config_key, OI_COL_TEXT, OI_REQUIRED),
    PROSE(T, config_value, OI_KIND_DOCUMENT, OI_REQUIRED),
    WORDS(T, config_type, "string", config_types),
    PROSE(T, description, OI_KIND_TEXT, 0),
    COL(T, is_sensitive, OI_COL_BOOL, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    REVISION(T),
};
#undef T
#define T oi_agent_state
static const oi_column agent_state_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    {"status", OI_COL_TEXT, offsetof(T, status), 0, "idle", NULL, 0, OI_KIND_NAME},
    COL(T, current_workflow, OI_COL_TEXT, 0),
    COL(T, workflow_data, OI_COL_JSON, 0),
    COL(T, resource_locks, OI_COL_STRLIST, 0),
    COL(T, error_count, OI_COL_INT, 0),
    COL(T, last_error, OI_COL_JSON, OI_NULLABLE),
    COL(T, last_heartbeat, OI_COL_TIME, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    REVISION(T),
};
#undef T
#define T oi_agent_capability
static const oi_column agent_capability_cols[] = {
    COL(T, id, OI_COL_UUID, OI_KEY),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, capability_name, OI_COL_TEXT, OI_REQUIRED),
    PROSE(T, capability_version, OI_KIND_SEMVER, OI_REQUIRED),
    PROSE(T, description, OI_KIND_TEXT, 0),
    COL(T, parameters, OI_COL_JSON, 0),
    COL(T, is_enabled, OI_COL_BOOL, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
    COL(T, updated_at, OI_COL_TIME, OI_UPDATED),
    REVISION(T),
};
#undef T
#define T oi_agent_metric
static const oi_column agent_metric_cols[] = {
    COL(T, id, OI_COL_ID64, OI_KEY),
    COL(T, agent_id, OI_COL_UUID, OI_REQUIRED),
    COL(T, metric_name, OI_COL_TEXT, OI_REQUIRED),
    COL(T, metric_value, OI_COL_DOUBLE, 0),
    COL(T, metric_unit, OI_COL_TEXT, 0),
    COL(T, collection_timestamp, OI_COL_TIME, OI_NOW),
    COL(T, metadata, OI_COL_JSON, 0),
    COL(T, created_at, OI_COL_TIME, OI_CREATED),
};
#undef T

/* ---- cross-field checks ------------------------------------------------ */

/* The kind of value a config's type holds; a string is the column's own
 * kind (a document), checked with the other columns. */
static oi_kind config_value_kind(const char *type)
{
    if (!strcmp(type, "number") || !strcmp(type, "float"))
        return OI_KIND_NUMBER;
    if (!strcmp(type, "integer"))
        return OI_KIND_INTEGER;
    if (!strcmp(type, "boolean"))
        return OI_KIND_BOOLEAN;
    return !strcmp(type, "json") ? OI_KIND_JSON : OI_KIND_DOCUMENT;
}

/* The value must read as its type says.  The message names the key, never
 * the value: it may be a secret. */
static int check_config(oi_store *s, const void *rec)
{
    const oi_agent_config *c = rec;
    const char *type = c->config_type ? c->config_type : "string";
    char *what = oi_sprintf("the %s value of agent config %.60s", type, c->config_key);
    int rc = oi_value_require_str(s, config_value_kind(type), what, c->config_value);
    free(what);
    return rc;
}

/* ---- descriptors ------------------------------------------------------- */

#define TABLE(var, sqlname, what, T, cols, order, check, sizes, before_insert)  \
    const oi_table var = {sqlname, what, #T, T##_VERSION_, sizes, sizeof(T), cols,   \
                          NCOLS(cols), order, check, before_insert}

/* The sizes of a record per version: one version, or the 1.3 revision
 * appended to version 1.  Version 1 ended where revision starts: its last
 * field is an 8-byte time, so no padding came between. */
#define SIZES_V1(T) ((const size_t[]){sizeof(T)})
#define SIZES_V2(T) ((const size_t[]){offsetof(T, revision), sizeof(T)})

/* The version of each record this library was built with (records.h). */
#define oi_customer_VERSION_ OI_CUSTOMER_VERSION
#define oi_agent_VERSION_ OI_AGENT_VERSION
#define oi_event_VERSION_ OI_EVENT_VERSION
#define oi_recommendation_VERSION_ OI_RECOMMENDATION_VERSION
#define oi_approval_VERSION_ OI_APPROVAL_VERSION
#define oi_optimization_VERSION_ OI_OPTIMIZATION_VERSION
#define oi_agent_config_VERSION_ OI_AGENT_CONFIG_VERSION
#define oi_agent_state_VERSION_ OI_AGENT_STATE_VERSION
#define oi_agent_capability_VERSION_ OI_AGENT_CAPABILITY_VERSION
#define oi_agent_metric_VERSION_ OI_AGENT_METRIC_VERSION

TABLE(oi_table_customers, "customers", "customer", oi_customer, customer_cols,
      "created_at, id", NULL, SIZES_V1(oi_customer), NULL);
TABLE(oi_table_agents, "agents", "agent", oi_agent, agent_cols, "created_at, id", NULL,
      SIZES_V2(oi_agent), NULL);
TABLE(oi_table_events, "events", "event", oi_event, event_cols, "created_at, id", NULL,
      SIZES_V1(oi_event), NULL);
TABLE(oi_table_recommendations, "recommendations", "recommendation", oi_recommendation,
      recommendation_cols, "created_at, id", NULL, SIZES_V2(oi_recommendation), NULL);
TABLE(oi_table_approvals, "approvals", "approval", oi_approval, approval_cols,
      "created_at, id", NULL, SIZES_V2(oi_approval), NULL);
TABLE(oi_table_optimizations, "optimizations", "optimization", oi_optimization,
      optimization_cols, "created_at, id", NULL, SIZES_V1(oi_optimization), NULL);
TABLE(oi_table_agent_configs, "agent_configs", "agent config", oi_agent_config,
      agent_config_cols, "created_at, id", check_config, SIZES_V2(oi_agent_config), NULL);
TABLE(oi_table_agent_states, "agent_states", "agent state", oi_agent_state, agent_state_cols,
      "created_at, id", NULL, SIZES_V2(oi_agent_state), NULL);
TABLE(oi_table_agent_capabilities, "agent_capabilities", "agent capability",
      oi_agent_capability, agent_capability_cols, "created_at, id", NULL,
      SIZES_V2(oi_agent_capability), NULL);
TABLE(oi_table_agent_metrics, "agent_metrics", "agent metric", oi_agent_metric,
      agent_metric_cols, "id", NULL, SIZES_V1(oi_agent_metric), oi_partitions_ensure_row);

/* ---- public wrappers ----------------------------------------------------- */

/* Every row in creation order: keyset pages on the table's order keys. */
#define ALL_ROWS_QUERY(X, table, ...)                                             \
    static const oi_iter_query X##_all = {table.what, &table, oi_iter_read_row,    \
                                          (int)NCOLS(X##_cols), {__VA_ARGS__}, 2, 0, false, NULL}

#define RECORD_FUNCS(X, table)                                                  \
    int oi_##X##_init(oi_##X *rec, unsigned int version)                        \
    {                                                                           \
        if (oi_check_version(NULL, table.type, version, table.version))         \
            return OI_EINVALID;                                                 \
        oi_row_init(&table, rec, version);                                      \
        return OI_OK;                                                           \
    }                                                                           \
    int oi_##X##_create(oi_store *s, oi_##X *rec)                               \
    {                                                                           \
        return oi_row_insert(s, &table, rec);                                   \
    }                                                                           \
    int oi_##X##_update(oi_store *s, oi_##X *rec)                               \
    {                                                                           \
        return oi_row_update(s, &table, rec);                                   \
    }                                                                           \
    int oi_##X##_iter_new(oi_iter **out, oi_store *s)                           \
    {                                                                           \
        *out = oi_iter_new(s, &X##_all, oi_iter_table_select(&X##_all, "WHERE TRUE")); \
        return OI_OK;                                                           \
    }                                                                           \
    int oi_##X##_next(oi_iter *it, oi_##X *out)                                 \
    {                                                                           \
        return oi_row_next(it, &table, out);                                    \
    }                                                                           \
    void oi_##X##_clear(oi_##X *rec)                                            \
    {                                                                           \
        oi_row_clear(&table, rec);                                              \
    }

#define UUID_RECORD_FUNCS(X, table)                                             \
    RECORD_FUNCS(X, table)                                                      \
    int oi_##X##_get(oi_store *s, const char *id, oi_##X *out)                  \
    {                                                                           \
        return oi_row_get(s, &table, id, out);                                  \
    }                                                                           \
    int oi_##X##_delete(oi_store *s, const char *id)                            \
    {                                                                           \
        return oi_row_delete(s, &table, id);                                    \
    }

ALL_ROWS_QUERY(customer, oi_table_customers, "created_at", "id");
ALL_ROWS_QUERY(agent, oi_table_agents, "created_at", "id");
ALL_ROWS_QUERY(event, oi_table_events, "created_at", "id");
ALL_ROWS_QUERY(recommendation, oi_table_recommendations, "created_at", "id");
ALL_ROWS_QUERY(approval, oi_table_approvals, "created_at", "id");
ALL_ROWS_QUERY(optimization, oi_table_optimizations, "created_at", "id");
ALL_ROWS_QUERY(agent_config, oi_table_agent_configs, "created_at", "id");
ALL_ROWS_QUERY(agent_state, oi_table_agent_states, "created_at", "id");
ALL_ROWS_QUERY(agent_capability, oi_table_agent_capabilities, "created_at", "id");

UUID_RECORD_FUNCS(customer, oi_table_customers)
UUID_RECORD_FUNCS(agent, oi_table_agents)
UUID_RECORD_FUNCS(event, oi_table_events)
UUID_RECORD_FUNCS(recommendation, oi_table_recommendations)
UUID_RECORD_FUNCS(approval, oi_table_approvals)
UUID_RECORD_FUNCS(optimization, oi_table_optimizations)
UUID_RECORD_FUNCS(agent_config, oi_table_agent_configs)
UUID_RECORD_FUNCS(agent_state, oi_table_agent_states)
UUID_RECORD_FUNCS(agent_capability, oi_table_agent_capabilities)

static const oi_iter_query agent_metric_all = {
    "agent metric", &oi_table_agent_metrics, oi_iter_read_row,
    (int)NCOLS(agent_metric_cols), {"id"}, 1, 1u << 0, false, NULL};
RECORD_FUNCS(agent_metric, oi_table_agent_metrics)

int oi_agent_metric_get(oi_store *s, int64_t id, oi_agent_metric *out)
{
    return oi_row_get(s, &oi_table_agent_metrics, &id, out);
}

int oi_agent_metric_delete(oi_store *s, int64_t id)
{
    return oi_row_delete(s, &oi_table_agent_metrics, &id);
}

int oi_agent_metric_next_borrowed(oi_iter *it, const oi_agent_metric **out)
{
    const void *row;
    int rc = oi_iter_next_borrowed(it, &oi_table_agent_metrics, &row);
    *out = row;
    return rc;
}
