/*
 * optiinfra/records.h - the ten tables as C structs, and their CRUD calls.
 *
 * Each table has a struct and the same seven calls (OI_RECORD_UUID_API;
 * agent_metrics, whose key is an int64_t, has its own get and delete):
 *
 *   int  oi_X_create(oi_store *s, oi_X *rec);
 *        Insert rec.  An empty id is filled with a new UUID; created_at and
 *        updated_at are set to now (written back into rec).  NULL text fields
 *        take the column default (shown per field); NULL JSON fields become
 *        {} or [] unless documented as nullable.
 *   int  oi_X_get(oi_store *s, const char *id, oi_X *out);
 *        Read one row into *out (OI_ENOTFOUND if absent).  The strings in
 *        *out are allocated: release them with oi_X_clear().
 *   int  oi_X_update(oi_store *s, oi_X *rec);
 *        Write every field of rec but id and created_at; sets updated_at.
 *   int  oi_X_delete(oi_store *s, const char *id);
 *        Delete one row; cascades as the schema says (docs/schema.md).
 *   int  oi_X_list(oi_store *s, oi_X **items, size_t *count);
 *        Every row, in creation order.  Free with oi_X_list_free().
 *   void oi_X_clear(oi_X *rec);  void oi_X_list_free(oi_X *items, size_t n);
 *
 * Conventions: a NULL char * is SQL NULL; an empty UUID field ("") is NULL;
 * an optional double holds NAN for NULL (see OI_NULL_NUMBER); a time field
 * holds OI_TIME_NULL for NULL.  JSON fields are JSON text; the store
 * validates them before writing (PostgreSQL hands jsonb back in its own
 * spacing and key order).  A failed get or find leaves *out zeroed.  Values of fields that
 * take a fixed set of words (plan, severity, status ...) are checked before
 * anything is written.
 */
#ifndef OPTIINFRA_RECORDS_H
#define OPTIINFRA_RECORDS_H

#include <stdbool.h>
#include <math.h>
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** NULL value of an optional double field. */
#define OI_NULL_NUMBER NAN

typedef char oi_uuid[OI_UUID_LEN + 1];

/** customers: the platform's paying users. */
typedef struct oi_customer {
    oi_uuid id;
    char *name;
    char *email;        /**< unique */
    char *api_key;      /**< unique */
    char *plan;         /**< free|startup|enterprise; default free */
    char *status;       /**< active|suspended|churned; default active */
    char *metadata;     /**< JSON object */
    oi_time created_at, updated_at;
} oi_customer;

/** agents: registered AI agents; (type, name) is unique. */
typedef struct oi_agent {
    oi_uuid id;
    char *type;         /**< open text: cost, performance, resource, application, ... */
    char *name;
    char *version;
    char *status;       /**< open text; default active */
    char *endpoint;
    char *capabilities; /**< JSON array of strings: the capability names the agent
                             declares.  Not the versioned rows of agent_capabilities,
                             which oi_agent_capability_list_by_agent() returns. */
    char *metadata;     /**< JSON object */
    oi_time last_heartbeat;
    oi_time created_at, updated_at;
} oi_agent;

/** events: what happened, for a customer, possibly by an agent. */
typedef struct oi_event {
    oi_uuid id;
    oi_uuid customer_id; /**< deleted with the customer */
    oi_uuid agent_id;    /**< optional; set to NULL when the agent is deleted */
    char *event_type;
    char *severity;      /**< info|warning|error|critical; default info */
    char *data;          /**< JSON object */
    oi_time created_at;
} oi_event;

/** recommendations: an agent's proposal to a customer. */
typedef struct oi_recommendation {
    oi_uuid id;
    oi_uuid customer_id;
    oi_uuid agent_id;
    char *type;
    char *title;
    char *description;
    double estimated_savings;     /**< numeric(10,2); optional */
    double estimated_improvement; /**< numeric(10,2); optional */
    double confidence_score;      /**< 0..1; optional */
    char *priority;  /**< low|medium|high|critical; default medium */
    char *status;    /**< pending|approved|rejected|executing|completed|failed|rolled_back;
                          default pending */
    char *data;      /**< JSON object */
    oi_time created_at, updated_at, approved_at, executed_at;
} oi_recommendation;

/** approvals: a decision on a recommendation. */
typedef struct oi_approval {
    oi_uuid id;
    oi_uuid recommendation_id;
    char *approved_by;
    char *status;    /**< pending|approved|rejected; default pending */
    char *comment;
    oi_time created_at, updated_at;
} oi_approval;

/** optimizations: the execution of a recommendation. */
typedef struct oi_optimization {
    oi_uuid id;
    oi_uuid recommendation_id;
    oi_uuid customer_id;
    oi_uuid agent_id;
    char *status;    /**< queued|executing|completed|failed|rolled_back; default queued */
    int progress;    /**< 0..100 */
    char *result;    /**< JSON object, nullable */
    char *error;
    double actual_savings;     /**< optional */
    double actual_improvement; /**< optional */
    oi_time started_at, completed_at, rolled_back_at, created_at;
} oi_optimization;

/** agent_configs: typed settings of an agent; (agent_id, config_key) is unique. */
typedef struct oi_agent_config {
    oi_uuid id;
    oi_uuid agent_id;
    char *config_key;
    char *config_value; /**< text; must parse as config_type says */
    char *config_type;  /**< string|number|integer|float|boolean|json; default string */
    char *description;
    bool is_sensitive;  /**< masked in the CLI's output */
    oi_time created_at, updated_at;
} oi_agent_config;

/** agent_states: the live state of an agent, one row per agent. */
typedef struct oi_agent_state {
    oi_uuid id;
    oi_uuid agent_id;       /**< unique */
    char *status;           /**< idle|active|error|...; default idle */
    char *current_workflow; /**< nullable */
    char *workflow_data;    /**< JSON object */
    char *resource_locks;   /**< JSON array of strings */
    int error_count;        /**< >= 0 */
    char *last_error;       /**< JSON object, nullable */
    oi_time last_heartbeat;
    oi_time created_at, updated_at;
} oi_agent_state;

/** agent_capabilities: versioned capabilities; (agent, name, version) is unique. */
typedef struct oi_agent_capability {
    oi_uuid id;
    oi_uuid agent_id;
    char *capability_name;
    char *capability_version; /**< semantic version, e.g. 1.2.0 */
    char *description;
    char *parameters;         /**< JSON object */
    bool is_enabled;
    oi_time created_at, updated_at;
} oi_agent_capability;

/** agent_metrics: the time series; its id is a 64-bit integer, not a UUID. */
typedef struct oi_agent_metric {
    int64_t id;               /**< assigned by the database on create */
    oi_uuid agent_id;
    char *metric_name;
    double metric_value;      /**< finite */
    char *metric_unit;
    oi_time collection_timestamp; /**< default now */
    char *metadata;           /**< JSON object */
    oi_time created_at;
} oi_agent_metric;

#define OI_RECORD_API(X)                                                     \
    int oi_##X##_create(oi_store *store, oi_##X *rec);                       \
    int oi_##X##_update(oi_store *store, oi_##X *rec);                       \
    int oi_##X##_list(oi_store *store, oi_##X **items, size_t *count);       \
    void oi_##X##_clear(oi_##X *rec);                                        \
    void oi_##X##_list_free(oi_##X *items, size_t count)

#define OI_RECORD_UUID_API(X)                                                \
    OI_RECORD_API(X);                                                        \
    int oi_##X##_get(oi_store *store, const char *id, oi_##X *out);          \
    int oi_##X##_delete(oi_store *store, const char *id)

OI_RECORD_UUID_API(customer);
OI_RECORD_UUID_API(agent);
OI_RECORD_UUID_API(event);
OI_RECORD_UUID_API(recommendation);
OI_RECORD_UUID_API(approval);
OI_RECORD_UUID_API(optimization);
OI_RECORD_UUID_API(agent_config);
OI_RECORD_UUID_API(agent_state);
OI_RECORD_UUID_API(agent_capability);
OI_RECORD_API(agent_metric);
int oi_agent_metric_get(oi_store *store, int64_t id, oi_agent_metric *out);
int oi_agent_metric_delete(oi_store *store, int64_t id);

#ifdef __cplusplus
}
#endif
#endif
