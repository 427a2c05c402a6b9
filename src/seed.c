/*
 * seed.c - the seed data: 14 core records (0.2a) and the spec's 39
 * agent-state records (0.2b).
 *
 * The data lives in static tables of the public record structs, one table
 * per kind; a row that belongs to an agent names it by its index in
 * seed_agents, because an agent that was already present keeps its own id.
 * Every time is the moment of seeding (read once) or, where the spec says
 * so, an age before it; JSON that holds a time is a printf template with
 * one %s for it.  Time fields left out of the tables are NULL.  A small driver
 * walks a list of tables, calling one put_* function per row, inside one
 * exclusive transaction: a seed is written entirely or not at all.
 *
 * Idempotency: every row has a natural key, and a row whose key is taken is
 * counted as existing and not written again, so a seed can be re-run (or run
 * over a database partly filled by hand) without duplicates.
 *   - Core records have fixed UUIDs (customer 1 is the spec's
 *     550e8400-e29b-41d4-a716-446655440000; the others follow it, the last
 *     group's last four digits naming table and row): the key is the id, and
 *     the spec's workflow data can refer to the customer by it.
 *   - Agents are keyed by (type, name), the schema's unique key.
 *   - Configs by (agent, key), states by agent, capabilities by (agent, name,
 *     version): the schema's unique keys.
 *   - Metrics are a time series without a unique key: a seed metric counts
 *     as present when its agent already has a metric of that name, whatever
 *     its value or time.
 * oi_seed_state looks up the four core agents before writing anything and
 * refuses, naming the missing ones, when one is absent.
 *
 * A table found empty when the seed starts (one query for all its tables,
 * under the seed's lock) has no key taken: its rows are written without a
 * lookup each, which on an empty database saves 53 round trips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "runtime.h"
#include "optiinfra/agents.h"
#include "optiinfra/seed.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MINUTE (INT64_C(60) * 1000000)
#define HOUR (60 * MINUTE)

/* The customer the spec's workflow data names. */
#define ACME "550e8400-e29b-41d4-a716-446655440000"
#define NOVACHAT "550e8400-e29b-41d4-a716-446655440001"
#define SPOT_RECOMMENDATION "550e8400-e29b-41d4-a716-446655440301"

/* ---- core data (0.2a): our own, consistent with the spec's agents ---- */

static const oi_customer seed_customers[] = {
    {.id = ACME, .name = "Acme AI", .email = "platform@acme-ai.example",
     .api_key = "oi_test_acme_3f9c2b7e41d84a6c", .plan = "enterprise", .status = "active",
     .metadata = "{\"industry\":\"fintech\",\"region\":\"us-east-1\","
                 "\"monthly_gpu_spend_usd\":180000}"},
    {.id = NOVACHAT, .name = "NovaChat Labs", .email = "founders@novachat.example",
     .api_key = "oi_test_nova_8d1e6a0c5b7f4392", .plan = "startup", .status = "active",
     .metadata = "{\"industry\":\"conversational_ai\",\"region\":\"eu-west-1\","
                 "\"monthly_gpu_spend_usd\":24000}"},
};

enum core_agent { COST, PERFORMANCE, RESOURCE, APPLICATION, NAGENTS };

static const oi_agent seed_agents[NAGENTS] = {
    [COST] = {.id = "550e8400-e29b-41d4-a716-446655440101", .type = "cost",
              .name = "Cost Optimizer", .agent_version = "1.0.0", .status = "active",
              .endpoint = "http://cost-agent:8001",
              .capabilities = "[\"gpu_cost_analysis\",\"storage_optimization\","
                              "\"spot_instance_recommendation\"]",
              .metadata = "{\"deployment\":\"kubernetes\",\"replicas\":2}"},
    [PERFORMANCE] = {.id = "550e8400-e29b-41d4-a716-446655440102", .type = "performance",
                     .name = "Performance Tuner", .agent_version = "1.0.0", .status = "active",
                     .endpoint = "http://performance-agent:8002",
                     .capabilities = "[\"kv_cache_tuning\",\"batch_optimization\","
                                     "\"quantization_testing\"]",
                     .metadata = "{\"deployment\":\"kubernetes\",\"replicas\":1}"},
    [RESOURCE] = {.id = "550e8400-e29b-41d4-a716-446655440103", .type = "resource",
                  .name = "Resource Allocator", .agent_version = "1.0.0", .status = "active",
                  .endpoint = "http://resource-agent:8003",
                  .capabilities = "[\"auto_scaling\",\"load_balancing\"]",
                  .metadata = "{\"deployment\":\"kubernetes\",\"replicas\":1}"},
    [APPLICATION] = {.id = "550e8400-e29b-41d4-a716-446655440104", .type = "application",
                     .name = "Application Monitor", .agent_version = "1.0.0", .status = "active",
                     .endpoint = "http://application-agent:8004",
                     .capabilities = "[\"quality_monitoring\",\"regression_detection\","
                                     "\"hallucination_detection\"]",
                     .metadata = "{\"deployment\":\"kubernetes\",\"replicas\":1}"},
};

static const struct {
    enum core_agent agent;
    oi_event rec;
} seed_events[] = {
    {COST, {.id = "550e8400-e29b-41d4-a716-446655440201", .customer_id = ACME,
            .event_type = "cost_anomaly_detected", .severity = "warning",
            .data = "{\"cluster\":\"gpu_cluster_1\",\"gpu_type\":\"H100\","
                    "\"daily_cost_usd\":6120.0,\"baseline_usd\":4300.0}"}},
    {PERFORMANCE, {.id = "550e8400-e29b-41d4-a716-446655440202", .customer_id = ACME,
                   .event_type = "latency_threshold_exceeded", .severity = "error",
                   .data = "{\"model\":\"llama-3-70b\",\"p95_latency_ms\":820,"
                           "\"threshold_ms\":500}"}},
    {RESOURCE, {.id = "550e8400-e29b-41d4-a716-446655440203", .customer_id = NOVACHAT,
                .event_type = "gpu_underutilized", .severity = "info",
                .data = "{\"gpu_type\":\"A100\",\"avg_utilization_percent\":31.5,"
                        "\"idle_hours_per_day\":9}"}},
};

/* executed: approved and executed at the moment of seeding. */
static const struct {
    enum core_agent agent;
    oi_recommendation rec;
    bool executed;
} seed_recommendations[] = {
    {COST, {.id = SPOT_RECOMMENDATION, .customer_id = ACME, .type = "spot_instances",
            .title = "Run batch inference on spot H100 instances",
            .description = "Nightly batch inference on gpu_cluster_1 tolerates interruption: "
                           "moving 60% of it to spot capacity, with on-demand fallback, "
                           "cuts GPU spend without touching real-time serving.",
            .estimated_savings = 18500.00, .estimated_improvement = OI_NULL_NUMBER,
            .confidence_score = 0.87, .priority = "high", .status = "executing",
            .data = "{\"cluster\":\"gpu_cluster_1\",\"spot_percentage\":60,"
                    "\"fallback_strategy\":\"on_demand\"}"}, true},
    {PERFORMANCE, {.id = "550e8400-e29b-41d4-a716-446655440302", .customer_id = ACME,
                   .type = "kv_cache_tuning", .title = "Enable adaptive KV caching on vLLM",
                   .description = "p95 latency of llama-3-70b exceeds 500 ms under load; "
                                  "a 32 GB adaptive KV cache keeps hot prefixes resident.",
                   .estimated_savings = 2400.00, .estimated_improvement = 35.0,
                   .confidence_score = 0.78, .priority = "medium", .status = "pending",
                   .data = "{\"engine\":\"vllm\",\"kv_cache_size_gb\":32,"
                           "\"cache_strategy\":\"adaptive\"}"}, false},
    {RESOURCE, {.id = "550e8400-e29b-41d4-a716-446655440303", .customer_id = NOVACHAT,
                .type = "rightsizing",
                .title = "Scale down idle A100 nodes outside business hours",
                .description = "Four A100 nodes average 31.5% utilization and sit idle "
                               "9 hours a day; scale them to zero overnight.",
                .estimated_savings = 6200.00, .estimated_improvement = OI_NULL_NUMBER,
                .confidence_score = 0.92, .priority = "low", .status = "pending",
                .data = "{\"gpu_type\":\"A100\",\"nodes\":4,"
                        "\"schedule\":\"20:00-06:00 UTC\"}"}, false},
};

static const oi_approval seed_approvals[] = {
    {.id = "550e8400-e29b-41d4-a716-446655440401", .recommendation_id = SPOT_RECOMMENDATION,
     .approved_by = "maria.chen@acme-ai.example", .status = "approved",
     .comment = "Approved for batch workloads only; real-time serving stays on demand."},
};

/* Started at the moment of seeding. */
static const struct {
    enum core_agent agent;
    oi_optimization rec;
} seed_optimizations[] = {
    {COST, {.id = "550e8400-e29b-41d4-a716-446655440501",
            .recommendation_id = SPOT_RECOMMENDATION, .customer_id = ACME,
            .status = "executing", .progress = 65,
            .result = "{\"instances_migrated\":13,\"instances_total\":20,"
                      "\"interruptions\":0}",
            .actual_savings = OI_NULL_NUMBER, .actual_improvement = OI_NULL_NUMBER}},
};

/* ---- agent-state data (0.2b): the spec's values ---- */

static const struct {
    enum core_agent agent;
    oi_agent_config rec;
} seed_configs[] = {
#define NUMBER_CONFIG(agent, key, value, desc)                                  \
    {agent, {.config_key = key, .config_value = value, .config_type = "number", \
             .description = desc, .is_sensitive = false}}
    NUMBER_CONFIG(COST, "cost_threshold_usd", "1000",
                  "Minimum monthly cost to trigger optimization"),
    NUMBER_CONFIG(COST, "savings_threshold_percent", "15",
                  "Minimum savings percentage to recommend"),
    NUMBER_CONFIG(COST, "check_interval_minutes", "60",
                  "How often to check for cost anomalies"),
    NUMBER_CONFIG(PERFORMANCE, "latency_p95_threshold_ms", "500",
                  "P95 latency threshold for alerts"),
    NUMBER_CONFIG(PERFORMANCE, "throughput_threshold_rps", "100",
                  "Minimum throughput (requests/sec)"),
    NUMBER_CONFIG(PERFORMANCE, "kv_cache_size_gb", "32", "KV cache size in GB"),
    NUMBER_CONFIG(RESOURCE, "gpu_utilization_target", "75",
                  "Target GPU utilization percentage"),
    NUMBER_CONFIG(RESOURCE, "scale_up_threshold", "85",
                  "GPU utilization % to trigger scale-up"),
    NUMBER_CONFIG(RESOURCE, "scale_down_threshold", "40",
                  "GPU utilization % to trigger scale-down"),
    NUMBER_CONFIG(APPLICATION, "quality_score_threshold", "0.85",
                  "Minimum quality score (0-1)"),
    NUMBER_CONFIG(APPLICATION, "hallucination_threshold", "0.05",
                  "Maximum hallucination rate"),
    NUMBER_CONFIG(APPLICATION, "regression_check_interval", "15",
                  "Minutes between regression checks"),
#undef NUMBER_CONFIG
};

/* workflow_data's %s is now; last_error's %s is error_age before now, and
 * last_heartbeat is heartbeat_age before now. */
static const struct {
    enum core_agent agent;
    oi_agent_state rec;
    oi_time heartbeat_age, error_age;
} seed_states[] = {
    {COST, {.status = "active", .current_workflow = "cost_analysis",
            .workflow_data = "{\"customer_id\":\"" ACME "\",\"analysis_started\":\"%s\","
                             "\"metrics_collected\":150,\"savings_identified\":45000}",
            .resource_locks = "[\"gpu_cluster_1\",\"billing_data\"]",
            .error_count = 0, .last_error = NULL}, 0, 0},
    {PERFORMANCE, {.status = "idle", .current_workflow = NULL, .workflow_data = "{}",
                   .resource_locks = "[]", .error_count = 0, .last_error = NULL}, 0, 0},
    {RESOURCE, {.status = "active", .current_workflow = "gpu_scaling",
                .workflow_data = "{\"customer_id\":\"" ACME "\",\"current_gpus\":8,"
                                 "\"target_gpus\":12,\"scale_reason\":\"high_utilization\","
                                 "\"started_at\":\"%s\"}",
                .resource_locks = "[\"k8s_cluster\",\"gpu_pool\"]", .error_count = 1,
                .last_error = "{\"timestamp\":\"%s\",\"error\":\"Transient network timeout\","
                              "\"recovered\":true}"}, 0, 2 * HOUR},
    {APPLICATION, {.status = "error", .current_workflow = "quality_check",
                   .workflow_data = "{\"customer_id\":\"" ACME "\","
                                    "\"check_id\":\"qc_20251019_001\","
                                    "\"samples_checked\":50,\"failures\":3}",
                   .resource_locks = "[\"quality_db\"]", .error_count = 3,
                   .last_error = "{\"timestamp\":\"%s\",\"error\":\"Quality threshold breach: "
                                 "score=0.82 (threshold=0.85)\",\"severity\":\"high\"}"},
     5 * MINUTE, 5 * MINUTE},
};

/* Defect 1 of decisions.md: the spec's stray cpu_usage_monitoring is left out. */
static const struct {
    enum core_agent agent;
    oi_agent_capability rec;
} seed_capabilities[] = {
#define CAPABILITY(agent, name, version, desc, params, enabled)                   \
    {agent, {.capability_name = name, .capability_version = version,             \
             .description = desc, .parameters = params, .is_enabled = enabled}}
    CAPABILITY(COST, "gpu_cost_analysis", "1.2.0",
               "Analyze GPU cluster costs and identify savings",
               "{\"supported_providers\":[\"aws\",\"gcp\",\"azure\"],"
               "\"gpu_types\":[\"H100\",\"A100\",\"V100\"],\"analysis_depth\":\"detailed\"}",
               true),
    CAPABILITY(COST, "storage_optimization", "1.0.0", "Optimize storage tiering and costs",
               "{\"storage_types\":[\"s3\",\"ebs\",\"gcs\"],"
               "\"tiering_policies\":[\"hot\",\"warm\",\"cold\"]}",
               true),
    CAPABILITY(COST, "spot_instance_recommendation", "0.9.0",
               "Recommend spot instance usage (beta)",
               "{\"max_spot_percentage\":70,\"fallback_strategy\":\"on_demand\"}", false),
    CAPABILITY(PERFORMANCE, "kv_cache_tuning", "2.1.0",
               "Optimize KV cache settings for vLLM/TGI",
               "{\"supported_engines\":[\"vllm\",\"tgi\",\"sglang\"],"
               "\"cache_strategies\":[\"static\",\"dynamic\",\"adaptive\"]}",
               true),
    CAPABILITY(PERFORMANCE, "batch_optimization", "1.5.0",
               "Optimize batch sizes and continuous batching",
               "{\"min_batch_size\":4,\"max_batch_size\":128,\"dynamic_batching\":true}", true),
    CAPABILITY(PERFORMANCE, "quantization_testing", "1.0.0",
               "Test FP8/INT8 quantization strategies",
               "{\"quantization_formats\":[\"fp8\",\"int8\",\"int4\"],"
               "\"quality_validation\":true}",
               true),
    CAPABILITY(RESOURCE, "auto_scaling", "2.0.0", "Auto-scale GPU clusters based on demand",
               "{\"scaling_triggers\":[\"utilization\",\"queue_depth\",\"latency\"],"
               "\"cooldown_minutes\":10,\"max_scale_factor\":3}",
               true),
    CAPABILITY(RESOURCE, "load_balancing", "1.3.0", "Balance workloads across GPU clusters",
               "{\"strategy\":\"least_loaded\",\"affinity_rules\":true}", true),
    CAPABILITY(APPLICATION, "quality_monitoring", "1.4.0",
               "Monitor LLM output quality in real-time",
               "{\"metrics\":[\"coherence\",\"relevance\",\"factuality\"],"
               "\"sampling_rate\":0.1,\"alert_threshold\":0.85}",
               true),
    CAPABILITY(APPLICATION, "regression_detection", "1.1.0",
               "Detect quality regressions after changes",
               "{\"baseline_samples\":100,\"comparison_samples\":100,"
               "\"significance_level\":0.05}",
               true),
    CAPABILITY(APPLICATION, "hallucination_detection", "0.8.0",
               "Detect hallucinations in LLM outputs (experimental)",
               "{\"detection_methods\":[\"fact_checking\",\"consistency\"],"
               "\"confidence_threshold\":0.7}",
               false),
#undef CAPABILITY
};

/* All collected at the moment of seeding.  The spec's text is garbled in
 * analysis_execution_time_seconds ("p90" and "p95" both 180.0 across a
 * break): we read it as p50/p95/p99. */
static const struct {
    enum core_agent agent;
    oi_agent_metric rec;
} seed_metrics[] = {
#define METRIC(agent, name, value, unit, meta) \
    {agent, {.metric_name = name, .metric_value = value, .metric_unit = unit, .metadata = meta}}
    METRIC(COST, "total_savings_identified_usd", 125000.00, "usd",
           "{\"period\":\"last_30_days\",\"customers_analyzed\":5,"
           "\"recommendations_generated\":12}"),
    METRIC(COST, "average_savings_percent", 42.5, "percent",
           "{\"min\":28.0,\"max\":67.0,\"median\":41.0}"),
    METRIC(COST, "analysis_execution_time_seconds", 145.3, "seconds",
           "{\"p50\":120.0,\"p95\":180.0,\"p99\":220.0}"),
    METRIC(PERFORMANCE, "latency_improvement_percent", 65.0, "percent",
           "{\"before_p95_ms\":800,\"after_p95_ms\":280,\"optimizations_applied\":8}"),
    METRIC(PERFORMANCE, "throughput_increase_percent", 180.0, "percent",
           "{\"before_rps\":50,\"after_rps\":140,\"batch_size_optimized\":true}"),
    METRIC(PERFORMANCE, "tuning_execution_time_seconds", 320.5, "seconds",
           "{\"tests_run\":25,\"configurations_tested\":15}"),
    METRIC(RESOURCE, "average_gpu_utilization_percent", 78.5, "percent",
           "{\"before\":35.0,\"after\":78.5,\"improvement\":124.3}"),
    METRIC(RESOURCE, "scaling_decisions_count", 45, "count",
           "{\"scale_ups\":23,\"scale_downs\":22,\"period_days\":30}"),
    METRIC(RESOURCE, "scaling_accuracy_percent", 92.0, "percent",
           "{\"correct_decisions\":41,\"total_decisions\":45,\"false_positives\":4}"),
    METRIC(APPLICATION, "quality_score_average", 0.91, "score",
           "{\"samples_checked\":1500,\"period\":\"last_7_days\",\"threshold\":0.85}"),
    METRIC(APPLICATION, "regressions_detected_count", 3, "count",
           "{\"caught_before_production\":3,\"auto_rolled_back\":2,\"manual_review\":1}"),
    METRIC(APPLICATION, "check_execution_time_seconds", 28.7, "seconds",
           "{\"samples_per_check\":100,\"parallel_checks\":4}"),
#undef METRIC
};

/* ---- helpers ---- */

typedef struct seed_ctx {
    oi_time now;
    oi_uuid agent_ids[NAGENTS]; /* the ids the core agents have in this database */
    bool table_was_empty;       /* the table being seeded had no row: no key is taken */
} seed_ctx;

static void set_uuid(oi_uuid dst, const oi_uuid src)
{
    memcpy(dst, src, sizeof(oi_uuid));
}

/* A lookup's OI_ENOTFOUND is an answer, not a failure: it leaves no error behind. */
static int absent(oi_store *s, int rc, bool *is_absent)
{
    *is_absent = rc == OI_ENOTFOUND;
    if (*is_absent) {
        oi_clear_error(s);
        return OI_OK;
    }
    return rc;
}

/* A row of the seed tables above as a record of this library's version.
 * The tables name no time they do not set, so a time left 0 there is
 * absent (OI_TIME_NULL), never the epoch. */
static void fresh(const oi_table *t, void *rec)
{
    *(unsigned *)rec = t->version;
    for (size_t i = 0; i < t->ncols; i++) {
        oi_time *field = (oi_time *)((char *)rec + t->cols[i].offset);
        if (t->cols[i].type == OI_COL_TIME && *field == 0)
            *field = OI_TIME_NULL;
    }
}

/* json_template's one %s, if any, replaced by t in ISO form; NULL stays NULL. */
static char *stamp(const char *json_template, oi_time t)
{
    char iso[OI_TIME_BUFSZ];
    return json_template ? oi_sprintf(json_template, oi_time_format(t, iso)) : NULL;
}

#define ABSENT_BY_ID(X, INIT)                                                \
    static int X##_absent(oi_store *s, const seed_ctx *ctx, const char *id,  \
                          bool *is_absent)                                   \
    {                                                                        \
        oi_##X found = INIT;                                                 \
        if ((*is_absent = ctx->table_was_empty))                             \
            return OI_OK;                                                    \
        int rc = oi_##X##_get(s, id, &found);                                \
        oi_##X##_clear(&found);                                              \
        return absent(s, rc, is_absent);                                     \
    }
ABSENT_BY_ID(customer, OI_CUSTOMER_INIT)
ABSENT_BY_ID(event, OI_EVENT_INIT)
ABSENT_BY_ID(recommendation, OI_RECOMMENDATION_INIT)
ABSENT_BY_ID(approval, OI_APPROVAL_INIT)
ABSENT_BY_ID(optimization, OI_OPTIMIZATION_INIT)
#undef ABSENT_BY_ID

/* The core agent a by (type, name): *found, and its id into id. */
static int find_agent(oi_store *s, enum core_agent a, oi_uuid id, bool *found)
{
    oi_agent rec = OI_AGENT_INIT;
    bool missing;
    int rc = absent(s, oi_agent_find(s, seed_agents[a].type, seed_agents[a].name, &rec),
                    &missing);
    *found = rc == OI_OK && !missing;
    if (*found)
        set_uuid(id, rec.id);
    oi_agent_clear(&rec);
    return rc;
}

/* ---- one row each: *created says whether it was written or already there ---- */

typedef int (*put_fn)(oi_store *s, seed_ctx *ctx, size_t row, bool *created);

static int put_customer(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_customer rec = seed_customers[row];
    fresh(&oi_table_customers, &rec);
    int rc = customer_absent(s, ctx, rec.id, created);
    return rc != OI_OK || !*created ? rc : oi_customer_create(s, &rec);
}

static int put_agent(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_agent rec = seed_agents[row];
    fresh(&oi_table_agents, &rec);
    bool found = false;
    int rc = ctx->table_was_empty ? OI_OK
                                  : find_agent(s, (enum core_agent)row, ctx->agent_ids[row], &found);
    *created = !found;
    if (rc != OI_OK || found)
        return rc;
    rec.last_heartbeat = ctx->now;
    rc = oi_agent_create(s, &rec);
    set_uuid(ctx->agent_ids[row], rec.id);
    return rc;
}

static int put_event(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_event rec = seed_events[row].rec;
    fresh(&oi_table_events, &rec);
    int rc = event_absent(s, ctx, rec.id, created);
    if (rc != OI_OK || !*created)
        return rc;
    set_uuid(rec.agent_id, ctx->agent_ids[seed_events[row].agent]);
    return oi_event_create(s, &rec);
}

static int put_recommendation(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_recommendation rec = seed_recommendations[row].rec;
    fresh(&oi_table_recommendations, &rec);
    int rc = recommendation_absent(s, ctx, rec.id, created);
    if (rc != OI_OK || !*created)
        return rc;
    set_uuid(rec.agent_id, ctx->agent_ids[seed_recommendations[row].agent]);
    if (seed_recommendations[row].executed)
        rec.approved_at = rec.executed_at = ctx->now;
    return oi_recommendation_create(s, &rec);
}

static int put_approval(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_approval rec = seed_approvals[row];
    fresh(&oi_table_approvals, &rec);
    int rc = approval_absent(s, ctx, rec.id, created);
    return rc != OI_OK || !*created ? rc : oi_approval_create(s, &rec);
}

static int put_optimization(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_optimization rec = seed_optimizations[row].rec;
    fresh(&oi_table_optimizations, &rec);
    int rc = optimization_absent(s, ctx, rec.id, created);
    if (rc != OI_OK || !*created)
        return rc;
    set_uuid(rec.agent_id, ctx->agent_ids[seed_optimizations[row].agent]);
    rec.started_at = ctx->now;
    return oi_optimization_create(s, &rec);
}

static int config_absent(oi_store *s, const seed_ctx *ctx, const oi_agent_config *rec,
                         bool *is_absent)
{
    oi_agent_config found = OI_AGENT_CONFIG_INIT;
    if ((*is_absent = ctx->table_was_empty))
        return OI_OK;
    int rc = oi_agent_config_find(s, rec->agent_id, rec->config_key, &found);
    oi_agent_config_clear(&found);
    return absent(s, rc, is_absent);
}

static int put_config(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_agent_config rec = seed_configs[row].rec;
    fresh(&oi_table_agent_configs, &rec);
    set_uuid(rec.agent_id, ctx->agent_ids[seed_configs[row].agent]);
    int rc = config_absent(s, ctx, &rec, created);
    return rc != OI_OK || !*created ? rc : oi_agent_config_create(s, &rec);
}

/* The resources a seeded state lists become real locks of its agent (for
 * the default TTL), so that `optiinfra locks` and the state agree. */
static int claim_listed_locks(oi_store *s, const char *agent_id, const char *list, oi_time now)
{
    json_t *resources = json_loads(list, 0, NULL);
    size_t i;
    json_t *resource;
    int rc = OI_OK;
    json_array_foreach(resources, i, resource)
        if (rc == OI_OK)
            rc = oi_rt_lock_claim(s, agent_id, json_string_value(resource), now);
    json_decref(resources);
    return rc;
}

static int state_absent(oi_store *s, const seed_ctx *ctx, const char *agent_id, bool *is_absent)
{
    oi_agent_state found = OI_AGENT_STATE_INIT;
    if ((*is_absent = ctx->table_was_empty))
        return OI_OK;
    int rc = oi_agent_state_find(s, agent_id, &found);
    oi_agent_state_clear(&found);
    return absent(s, rc, is_absent);
}

static int put_state(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_agent_state rec = seed_states[row].rec;
    fresh(&oi_table_agent_states, &rec);
    set_uuid(rec.agent_id, ctx->agent_ids[seed_states[row].agent]);
    int rc = state_absent(s, ctx, rec.agent_id, created);
    if (rc != OI_OK || !*created)
        return rc;
    rec.workflow_data = stamp(rec.workflow_data, ctx->now);
    rec.last_error = stamp(rec.last_error, ctx->now - seed_states[row].error_age);
    rec.last_heartbeat = ctx->now - seed_states[row].heartbeat_age;
    rc = oi_agent_state_create(s, &rec);
    if (rc == OI_OK)
        rc = claim_listed_locks(s, rec.agent_id, rec.resource_locks, ctx->now);
    free(rec.workflow_data);
    free(rec.last_error);
    return rc;
}

/* Absent unless the agent has this version of the capability. */
static int capability_absent(oi_store *s, const seed_ctx *ctx, const oi_agent_capability *rec,
                             bool *is_absent)
{
    oi_agent_capability version = OI_AGENT_CAPABILITY_INIT;
    oi_iter *it;
    if ((*is_absent = ctx->table_was_empty))
        return OI_OK;
    int rc = oi_agent_capability_iter_versions(&it, s, rec->agent_id, rec->capability_name);
    while (rc == OI_OK && (rc = oi_agent_capability_next(it, &version)) == OI_OK) {
        if (strcmp(version.capability_version, rec->capability_version) == 0)
            *is_absent = false;
        oi_agent_capability_clear(&version);
    }
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

static int put_capability(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_agent_capability rec = seed_capabilities[row].rec;
    fresh(&oi_table_agent_capabilities, &rec);
    set_uuid(rec.agent_id, ctx->agent_ids[seed_capabilities[row].agent]);
    int rc = capability_absent(s, ctx, &rec, created);
    return rc != OI_OK || !*created ? rc : oi_agent_capability_create(s, &rec);
}

/* Present when the agent has any metric of this name (see the file comment). */
static int metric_absent(oi_store *s, const seed_ctx *ctx, const oi_agent_metric *rec,
                         bool *is_absent)
{
    oi_agent_metric same_name = OI_AGENT_METRIC_INIT;
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    oi_iter *it;
    if ((*is_absent = ctx->table_was_empty))
        return OI_OK;
    f.agent_id = rec->agent_id;
    f.metric_name = rec->metric_name;
    f.limit = 1;
    int rc = oi_metric_iter_new(&it, s, &f);
    if (rc == OI_OK)
        rc = oi_agent_metric_next(it, &same_name);
    oi_agent_metric_clear(&same_name);
    oi_iter_free(it);
    *is_absent = rc == OI_ITEROVER;
    return rc == OI_OK || rc == OI_ITEROVER ? OI_OK : rc;
}

static int put_metric(oi_store *s, seed_ctx *ctx, size_t row, bool *created)
{
    oi_agent_metric rec = seed_metrics[row].rec;
    fresh(&oi_table_agent_metrics, &rec);
    set_uuid(rec.agent_id, ctx->agent_ids[seed_metrics[row].agent]);
    int rc = metric_absent(s, ctx, &rec, created);
    if (rc != OI_OK || !*created)
        return rc;
    rec.collection_timestamp = ctx->now;
    return oi_agent_metric_create(s, &rec);
}

/* ---- the driver ---- */

typedef struct seed_table {
    const char *name;
    size_t rows;
    put_fn put;
} seed_table;

static const seed_table core_tables[] = {
    {"customers", COUNT(seed_customers), put_customer},
    {"agents", COUNT(seed_agents), put_agent},
    {"events", COUNT(seed_events), put_event},
    {"recommendations", COUNT(seed_recommendations), put_recommendation},
    {"approvals", COUNT(seed_approvals), put_approval},
    {"optimizations", COUNT(seed_optimizations), put_optimization},
};

static const seed_table state_tables[] = {
    {"agent_configs", COUNT(seed_configs), put_config},
    {"agent_states", COUNT(seed_states), put_state},
    {"agent_capabilities", COUNT(seed_capabilities), put_capability},
    {"agent_metrics", COUNT(seed_metrics), put_metric},
};

_Static_assert(COUNT(core_tables) <= OI_SEED_MAX_TABLES, "report too small");
_Static_assert(COUNT(state_tables) <= OI_SEED_MAX_TABLES, "report too small");

/* The table names, every count 0. */
static void report_reset(oi_seed_report *r, const seed_table *tables, size_t n)
{
    unsigned version = r->version;
    memset(r, 0, sizeof *r);
    r->version = version;
    for (size_t i = 0; i < n; i++)
        r->tables[i].table = tables[i].name;
    r->ntables = n;
}

/*
 * Which of the tables have no row, in one query, under the seed's lock.
 * A row of an empty table is written without looking up its key first
 * (the seed's rows of one table have distinct keys, and no seed write adds
 * a row to a later table of the same seed): on an empty database that
 * saves the 53 lookups, each a round trip on PostgreSQL.
 */
static int find_empty_tables(oi_store *s, const seed_table *tables, size_t n, bool *empty)
{
    oi_buf sql = {0};
    for (size_t t = 0; t < n; t++)
        oi_buf_addf(&sql, "%sNOT EXISTS (SELECT 1 FROM %s)", t ? ", " : "SELECT ",
                    tables[t].name);
    oi_stmt *st;
    int rc = oi_stmt_prepare(s, sql.data, &st);
    free(sql.data);
    if (rc)
        return rc;
    rc = oi_step(st);
    for (size_t t = 0; rc == OI_ROW && t < n; t++)
        empty[t] = oi_col_bool(st, (int)t);
    oi_stmt_free(st);
    return rc == OI_ROW ? OI_OK : rc;
}

static int put_tables(oi_store *s, seed_ctx *ctx, const seed_table *tables, size_t n,
                      oi_seed_report *r)
{
    bool empty[OI_SEED_MAX_TABLES];
    int rc = find_empty_tables(s, tables, n, empty);
    for (size_t t = 0; rc == OI_OK && t < n; t++) {
        ctx->table_was_empty = empty[t];
        for (size_t row = 0; row < tables[t].rows; row++) {
            bool created;
            rc = tables[t].put(s, ctx, row, &created);
            if (rc != OI_OK)
                return rc;
            if (created)
                r->tables[t].created++;
            else
                r->tables[t].existing++;
        }
    }
    return rc;
}

/* The state seed's precondition: all four core agents, their ids into ctx. */
static int require_core_agents(oi_store *s, seed_ctx *ctx)
{
    char missing[256] = ""; /* room for all four names */
    size_t len = 0;
    for (int a = 0; a < NAGENTS; a++) {
        bool found;
        int rc = find_agent(s, (enum core_agent)a, ctx->agent_ids[a], &found);
        if (rc != OI_OK)
            return rc;
        if (!found)
            len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s",
                                    len ? ", " : "", seed_agents[a].name);
    }
    if (len == 0)
        return OI_OK;
    return oi_fail(s, OI_ENOTFOUND,
                   "core agents not found (missing: %s): run `optiinfra seed core` first",
                   missing);
}

/* One exclusive transaction; on failure nothing is written and the report
 * counts nothing. */
static int run_seed(oi_store *s, const seed_table *tables, size_t n, bool needs_agents,
                    oi_seed_report *report)
{
    seed_ctx ctx = {.now = oi_time_now()};
    oi_seed_report unused = OI_SEED_REPORT_INIT;
    int rc;
    if (!report)
        report = &unused;
    rc = oi_check_version(s, "oi_seed_report", report->version, OI_SEED_REPORT_VERSION);
    if (rc != OI_OK)
        return rc;
    report_reset(report, tables, n);
    rc = oi_tx_begin(s, true);
    if (rc != OI_OK)
        return rc;
    if (needs_agents)
        rc = require_core_agents(s, &ctx);
    if (rc == OI_OK)
        rc = put_tables(s, &ctx, tables, n, report);
    if (rc != OI_OK)
        oi_tx_rollback(s);
    else
        rc = oi_tx_commit(s); /* which rolls back itself when it fails */
    if (rc != OI_OK)
        report_reset(report, tables, n);
    return rc;
}

/* A seed reads what is present on the primary it writes to (replica.c). */
int oi_seed_core(oi_store *store, oi_seed_report *report)
{
    oi_read_pin(store);
    int rc = run_seed(store, core_tables, COUNT(core_tables), false, report);
    oi_read_unpin(store);
    return rc;
}

int oi_seed_state(oi_store *store, oi_seed_report *report)
{
    oi_read_pin(store);
    int rc = run_seed(store, state_tables, COUNT(state_tables), true, report);
    oi_read_unpin(store);
    return rc;
}

int oi_seed_report_init(oi_seed_report *report, unsigned int version)
{
    if (oi_struct_init(report, sizeof *report, "oi_seed_report", version, OI_SEED_REPORT_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
