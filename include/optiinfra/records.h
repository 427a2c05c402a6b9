/*
 * optiinfra/records.h - the ten tables as C structs, and their CRUD calls.
 *
 * Each table X has a record struct oi_X and the same calls: oi_X_init,
 * oi_X_create, oi_X_get, oi_X_update, oi_X_delete, oi_X_iter_new and
 * oi_X_next (every row, in creation order) and oi_X_clear.  agent_metrics,
 * whose key is an int64_t, takes its id as a number.
 *
 * Growing without breaking (docs/design.md, "The ABI"): every record starts
 * with `unsigned int version`, set by OI_X_INIT or oi_X_init() to the
 * version of this header.  Fields are only ever added at the end of a
 * record, each new field with a new version.  The library reads and writes
 * only the fields of the version a record carries (a write gives the
 * others their default) and refuses a version it does not know (0 from a
 * record not initialised, or one newer than itself) with OI_EINVALID.
 *
 * Ownership: what a caller passes in is borrowed for the call.  Records the
 * library fills (get, next, and the create/update/find calls that return
 * one) own their strings; oi_X_clear() frees them and leaves the record as
 * OI_X_INIT made it, ready for reuse.  Filling a record overwrites it
 * without freeing what it held: clear it first.
 *
 * Revisions (1.3): agents, agent_states, agent_configs, agent_capabilities,
 * recommendations and approvals carry `revision` (version 2 of their
 * records), the store revision of the change that last wrote the row, as
 * the change log counts them (changes.h).  The database's triggers write
 * it; the library reads it with the row and never writes it, so a create
 * or update leaves the record's own revision as it was: read the row again
 * to learn the new one.  On SQLite the new revision is visible as soon as
 * the statement has run; on PostgreSQL it is given at COMMIT (so that
 * revisions follow commit order), so inside a transaction still open a row
 * read back shows its previous revision.  A version-1 record (a program
 * built against 1.2) has no such field, and the library never touches the
 * memory where it would be.
 *
 * Conventions: a NULL char * is SQL NULL; an empty UUID field ("") is NULL;
 * an optional double holds OI_NULL_NUMBER (NAN) for NULL; a time field
 * holds OI_TIME_NULL for NULL.  JSON fields are JSON text, validated before
 * writing (PostgreSQL hands jsonb back in its own spacing and key order).
 * Fields that take a fixed set of words (plan, severity, status ...) are
 * checked before anything is written.  A failed get or find leaves its
 * record empty, as after OI_X_INIT.
 */
#ifndef OPTIINFRA_RECORDS_H
#define OPTIINFRA_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- customers --------------------------------------------------------- */

/** The version of oi_customer this header declares. */
#define OI_CUSTOMER_VERSION 1

/** customers: the platform's paying users. */
typedef struct oi_customer {
    unsigned int version; /**< OI_CUSTOMER_VERSION, set by OI_CUSTOMER_INIT */
    oi_uuid id;
    char *name;
    char *email;        /**< unique */
    char *api_key;      /**< unique */
    char *plan;         /**< free|startup|enterprise; default free */
    char *status;       /**< active|suspended|churned; default active */
    char *metadata;     /**< JSON object */
    oi_time created_at, updated_at;
} oi_customer;

/** An empty oi_customer of this header's version: `oi_customer r = OI_CUSTOMER_INIT;` */
#define OI_CUSTOMER_INIT {.version = OI_CUSTOMER_VERSION, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_customer of `version` (pass OI_CUSTOMER_VERSION), as
 * OI_CUSTOMER_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_customer_init(oi_customer *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_customer_create(oi_store *store, oi_customer *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_customer_get(oi_store *store, const char *id, oi_customer *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_customer_update(oi_store *store, oi_customer *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_customer_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_customer_next(). */
int oi_customer_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_customer of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_customer_next(oi_iter *iter, oi_customer *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_customer_clear(oi_customer *rec);

/* ---- agents ------------------------------------------------------------ */

/** The version of oi_agent this header declares (2 adds revision, in 1.3). */
#define OI_AGENT_VERSION 2

/** agents: registered AI agents; (type, name) is unique. */
typedef struct oi_agent {
    unsigned int version; /**< OI_AGENT_VERSION, set by OI_AGENT_INIT */
    oi_uuid id;
    char *type;         /**< open text: cost, performance, resource, application, ... */
    char *name;
    char *agent_version; /**< the column `version`: the agent's own software version */
    char *status;       /**< open text; default active */
    char *endpoint;
    char *capabilities; /**< JSON array of strings: the capability names the agent
                             declares.  Not the versioned rows of agent_capabilities
                             (capabilities.h). */
    char *metadata;     /**< JSON object */
    oi_time last_heartbeat;
    oi_time created_at, updated_at;
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_agent;

/** An empty oi_agent of this header's version: `oi_agent r = OI_AGENT_INIT;` */
#define OI_AGENT_INIT {.version = OI_AGENT_VERSION, .last_heartbeat = OI_TIME_NULL, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_agent of `version` (pass OI_AGENT_VERSION), as
 * OI_AGENT_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_agent_init(oi_agent *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_agent_create(oi_store *store, oi_agent *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_agent_get(oi_store *store, const char *id, oi_agent *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_agent_update(oi_store *store, oi_agent *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_agent_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_agent_next(). */
int oi_agent_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_agent of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_agent_next(oi_iter *iter, oi_agent *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_agent_clear(oi_agent *rec);

/* ---- events ------------------------------------------------------------ */

/** The version of oi_event this header declares. */
#define OI_EVENT_VERSION 1

/** events: what happened, for a customer, possibly by an agent. */
typedef struct oi_event {
    unsigned int version; /**< OI_EVENT_VERSION, set by OI_EVENT_INIT */
    oi_uuid id;
    oi_uuid customer_id; /**< deleted with the customer */
    oi_uuid agent_id;    /**< optional; set to NULL when the agent is deleted */
    char *event_type;
    char *severity;      /**< info|warning|error|critical; default info */
    char *data;          /**< JSON object */
    oi_time created_at;
} oi_event;

/** An empty oi_event of this header's version: `oi_event r = OI_EVENT_INIT;` */
#define OI_EVENT_INIT {.version = OI_EVENT_VERSION, .created_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_event of `version` (pass OI_EVENT_VERSION), as
 * OI_EVENT_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_event_init(oi_event *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at is set
 * to now; both are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_event_create(oi_store *store, oi_event *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_event_get(oi_store *store, const char *id, oi_event *out);

/** Write every field of rec but id and created_at (the table has no updated_at). */
int oi_event_update(oi_store *store, oi_event *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_event_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_event_next(). */
int oi_event_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_event of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_event_next(oi_iter *iter, oi_event *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_event_clear(oi_event *rec);

/* ---- recommendations --------------------------------------------------- */

/** The version of oi_recommendation this header declares (2 adds revision, in 1.3). */
#define OI_RECOMMENDATION_VERSION 2

/** recommendations: an agent's proposal to a customer. */
typedef struct oi_recommendation {
    unsigned int version; /**< OI_RECOMMENDATION_VERSION, set by OI_RECOMMENDATION_INIT */
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
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_recommendation;

/** An empty oi_recommendation of this header's version: `oi_recommendation r = OI_RECOMMENDATION_INIT;` */
#define OI_RECOMMENDATION_INIT {.version = OI_RECOMMENDATION_VERSION, .estimated_savings = OI_NULL_NUMBER, .estimated_improvement = OI_NULL_NUMBER, .confidence_score = OI_NULL_NUMBER, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL, .approved_at = OI_TIME_NULL, .executed_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_recommendation of `version` (pass OI_RECOMMENDATION_VERSION), as
 * OI_RECOMMENDATION_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_recommendation_init(oi_recommendation *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_recommendation_create(oi_store *store, oi_recommendation *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_recommendation_get(oi_store *store, const char *id, oi_recommendation *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_recommendation_update(oi_store *store, oi_recommendation *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_recommendation_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_recommendation_next(). */
int oi_recommendation_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_recommendation of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_recommendation_next(oi_iter *iter, oi_recommendation *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_recommendation_clear(oi_recommendation *rec);

/* ---- approvals --------------------------------------------------------- */

/** The version of oi_approval this header declares (2 adds revision, in 1.3). */
#define OI_APPROVAL_VERSION 2

/** approvals: a decision on a recommendation. */
typedef struct oi_approval {
    unsigned int version; /**< OI_APPROVAL_VERSION, set by OI_APPROVAL_INIT */
    oi_uuid id;
    oi_uuid recommendation_id;
    char *approved_by;
    char *status;    /**< pending|approved|rejected; default pending */
    char *comment;
    oi_time created_at, updated_at;
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_approval;

/** An empty oi_approval of this header's version: `oi_approval r = OI_APPROVAL_INIT;` */
#define OI_APPROVAL_INIT {.version = OI_APPROVAL_VERSION, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_approval of `version` (pass OI_APPROVAL_VERSION), as
 * OI_APPROVAL_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_approval_init(oi_approval *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_approval_create(oi_store *store, oi_approval *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_approval_get(oi_store *store, const char *id, oi_approval *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_approval_update(oi_store *store, oi_approval *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_approval_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_approval_next(). */
int oi_approval_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_approval of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_approval_next(oi_iter *iter, oi_approval *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_approval_clear(oi_approval *rec);

/* ---- optimizations ----------------------------------------------------- */

/** The version of oi_optimization this header declares. */
#define OI_OPTIMIZATION_VERSION 1

/** optimizations: the execution of a recommendation. */
typedef struct oi_optimization {
    unsigned int version; /**< OI_OPTIMIZATION_VERSION, set by OI_OPTIMIZATION_INIT */
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

/** An empty oi_optimization of this header's version: `oi_optimization r = OI_OPTIMIZATION_INIT;` */
#define OI_OPTIMIZATION_INIT {.version = OI_OPTIMIZATION_VERSION, .actual_savings = OI_NULL_NUMBER, .actual_improvement = OI_NULL_NUMBER, .started_at = OI_TIME_NULL, .completed_at = OI_TIME_NULL, .rolled_back_at = OI_TIME_NULL, .created_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_optimization of `version` (pass OI_OPTIMIZATION_VERSION), as
 * OI_OPTIMIZATION_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_optimization_init(oi_optimization *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at is set
 * to now; both are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_optimization_create(oi_store *store, oi_optimization *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_optimization_get(oi_store *store, const char *id, oi_optimization *out);

/** Write every field of rec but id and created_at (the table has no updated_at). */
int oi_optimization_update(oi_store *store, oi_optimization *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_optimization_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_optimization_next(). */
int oi_optimization_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_optimization of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_optimization_next(oi_iter *iter, oi_optimization *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_optimization_clear(oi_optimization *rec);

/* ---- agent_configs ----------------------------------------------------- */

/** The version of oi_agent_config this header declares (2 adds revision, in 1.3). */
#define OI_AGENT_CONFIG_VERSION 2

/** agent_configs: typed settings of an agent; (agent_id, config_key) is unique. */
typedef struct oi_agent_config {
    unsigned int version; /**< OI_AGENT_CONFIG_VERSION, set by OI_AGENT_CONFIG_INIT */
    oi_uuid id;
    oi_uuid agent_id;
    char *config_key;
    char *config_value; /**< text; must parse as config_type says */
    char *config_type;  /**< string|number|integer|float|boolean|json; default string */
    char *description;
    bool is_sensitive;  /**< never in a message; masked in the CLI's output */
    oi_time created_at, updated_at;
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_agent_config;

/** An empty oi_agent_config of this header's version: `oi_agent_config r = OI_AGENT_CONFIG_INIT;` */
#define OI_AGENT_CONFIG_INIT {.version = OI_AGENT_CONFIG_VERSION, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_agent_config of `version` (pass OI_AGENT_CONFIG_VERSION), as
 * OI_AGENT_CONFIG_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_agent_config_init(oi_agent_config *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_agent_config_create(oi_store *store, oi_agent_config *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_agent_config_get(oi_store *store, const char *id, oi_agent_config *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_agent_config_update(oi_store *store, oi_agent_config *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_agent_config_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_agent_config_next(). */
int oi_agent_config_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_agent_config of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_agent_config_next(oi_iter *iter, oi_agent_config *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_agent_config_clear(oi_agent_config *rec);

/* ---- agent_states ------------------------------------------------------ */

/** The version of oi_agent_state this header declares (2 adds revision, in 1.3). */
#define OI_AGENT_STATE_VERSION 2

/** agent_states: the live state of an agent, one row per agent. */
typedef struct oi_agent_state {
    unsigned int version; /**< OI_AGENT_STATE_VERSION, set by OI_AGENT_STATE_INIT */
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
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_agent_state;

/** An empty oi_agent_state of this header's version: `oi_agent_state r = OI_AGENT_STATE_INIT;` */
#define OI_AGENT_STATE_INIT {.version = OI_AGENT_STATE_VERSION, .last_heartbeat = OI_TIME_NULL, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_agent_state of `version` (pass OI_AGENT_STATE_VERSION), as
 * OI_AGENT_STATE_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_agent_state_init(oi_agent_state *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_agent_state_create(oi_store *store, oi_agent_state *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_agent_state_get(oi_store *store, const char *id, oi_agent_state *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_agent_state_update(oi_store *store, oi_agent_state *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_agent_state_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_agent_state_next(). */
int oi_agent_state_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_agent_state of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_agent_state_next(oi_iter *iter, oi_agent_state *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_agent_state_clear(oi_agent_state *rec);

/* ---- agent_capabilities ------------------------------------------------ */

/** The version of oi_agent_capability this header declares (2 adds revision, in 1.3). */
#define OI_AGENT_CAPABILITY_VERSION 2

/** agent_capabilities: versioned capabilities; (agent, name, version) is unique. */
typedef struct oi_agent_capability {
    unsigned int version; /**< OI_AGENT_CAPABILITY_VERSION, set by OI_AGENT_CAPABILITY_INIT */
    oi_uuid id;
    oi_uuid agent_id;
    char *capability_name;
    char *capability_version; /**< semantic version, e.g. 1.2.0 */
    char *description;
    char *parameters;         /**< JSON object */
    bool is_enabled;
    oi_time created_at, updated_at;
    /* version 2 (1.3) */
    int64_t revision;   /**< the store revision of the change that last wrote this row
                             (changes.h); read-only: writes ignore it */
} oi_agent_capability;

/** An empty oi_agent_capability of this header's version: `oi_agent_capability r = OI_AGENT_CAPABILITY_INIT;` */
#define OI_AGENT_CAPABILITY_INIT {.version = OI_AGENT_CAPABILITY_VERSION, .created_at = OI_TIME_NULL, .updated_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_agent_capability of `version` (pass OI_AGENT_CAPABILITY_VERSION), as
 * OI_AGENT_CAPABILITY_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_agent_capability_init(oi_agent_capability *rec, unsigned int version);

/**
 * Insert rec.  An empty id is filled with a new UUID; created_at and
 * updated_at are set to now; all are written back into rec.  NULL text
 * fields take the column default; NULL JSON fields become {} or [] unless
 * documented as nullable.
 */
int oi_agent_capability_create(oi_store *store, oi_agent_capability *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_agent_capability_get(oi_store *store, const char *id, oi_agent_capability *out);

/** Write every field of rec but id and created_at; sets updated_at. */
int oi_agent_capability_update(oi_store *store, oi_agent_capability *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_agent_capability_delete(oi_store *store, const char *id);

/** An iterator over every row, in creation order; read with oi_agent_capability_next(). */
int oi_agent_capability_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_agent_capability of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_agent_capability_next(oi_iter *iter, oi_agent_capability *out);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_agent_capability_clear(oi_agent_capability *rec);

/* ---- agent_metrics ----------------------------------------------------- */

/** The version of oi_agent_metric this header declares. */
#define OI_AGENT_METRIC_VERSION 1

/** agent_metrics: the time series; its id is a 64-bit integer, not a UUID. */
typedef struct oi_agent_metric {
    unsigned int version; /**< OI_AGENT_METRIC_VERSION, set by OI_AGENT_METRIC_INIT */
    int64_t id;               /**< assigned by the database on create */
    oi_uuid agent_id;
    char *metric_name;
    double metric_value;      /**< finite */
    char *metric_unit;
    oi_time collection_timestamp; /**< OI_TIME_NULL on create: now */
    char *metadata;           /**< JSON object */
    oi_time created_at;
} oi_agent_metric;

/** An empty oi_agent_metric of this header's version: `oi_agent_metric r = OI_AGENT_METRIC_INIT;` */
#define OI_AGENT_METRIC_INIT {.version = OI_AGENT_METRIC_VERSION, .collection_timestamp = OI_TIME_NULL, .created_at = OI_TIME_NULL}

/**
 * Make *rec an empty oi_agent_metric of `version` (pass OI_AGENT_METRIC_VERSION), as
 * OI_AGENT_METRIC_INIT does.  OI_EINVALID if this library does not know the version.
 */
int oi_agent_metric_init(oi_agent_metric *rec, unsigned int version);

/**
 * Insert rec.  The database assigns the id; created_at is set to now and
 * an OI_TIME_NULL collection_timestamp too; all are written back into rec.
 */
int oi_agent_metric_create(oi_store *store, oi_agent_metric *rec);

/** Read the row with this id into *out; OI_ENOTFOUND if there is none. */
int oi_agent_metric_get(oi_store *store, int64_t id, oi_agent_metric *out);

/** Write every field of rec but id and created_at (the table has no updated_at). */
int oi_agent_metric_update(oi_store *store, oi_agent_metric *rec);

/** Delete the row with this id (cascading as docs/schema.md says); OI_ENOTFOUND if none. */
int oi_agent_metric_delete(oi_store *store, int64_t id);

/** An iterator over every row, in creation order; read with oi_agent_metric_next(). */
int oi_agent_metric_iter_new(oi_iter **out, oi_store *store);

/**
 * The next oi_agent_metric of an iterator that yields them into *out: OI_OK,
 * OI_ITEROVER after the last, or a failure (iter.h).
 */
int oi_agent_metric_next(oi_iter *iter, oi_agent_metric *out);

/**
 * (1.5) The next oi_agent_metric of an iterator that yields them, borrowed:
 * *row points to a record the iterator owns, its strings the database
 * driver's own text, so no row is copied.  OI_OK with *row set; else *row
 * is NULL and the result is OI_ITEROVER or a failure, as oi_agent_metric_next()
 * says.  The record and its strings are valid until the next call that
 * moves the iterator (this one or oi_agent_metric_next(), which may be
 * mixed: each reads the next row) or oi_iter_free(); calls on the store in
 * between leave them valid.  Never free or change them (no
 * oi_agent_metric_clear()): copy what must outlive the row.  The record is
 * of this library's version, which is at least the header's, so every
 * field a program knows is there.  For the iterators of oi_metric_iter_new(),
 * oi_metric_latest_iter_new() and oi_agent_metric_iter_new(); another kind
 * of iterator (or NULL) is OI_EINVALID.  The values are those
 * oi_agent_metric_next() reads, bit for bit.
 */
int oi_agent_metric_next_borrowed(oi_iter *iter, const oi_agent_metric **row);

/** Free the strings of rec and make it empty again, keeping its version.  NULL is a no-op. */
void oi_agent_metric_clear(oi_agent_metric *rec);

#ifdef __cplusplus
}
#endif
#endif
