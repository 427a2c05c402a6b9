/*
 * example.c - a complete program using liboptiinfra.
 *
 * Opens the store named by argv[1] (default "sqlite::memory:"), upgrades
 * its schema to head, registers an agent (replacing the one a previous run
 * left), sets one of its configs, records three metrics, reads them back in
 * time order through an iterator and prints their average.  Every failure
 * prints the store's message and exits non-zero.  It checks that the
 * library it runs with is the one its headers describe, or a later 1.x.
 *
 *   make tests                      # builds build/example
 *   build/example                   # a private in-memory database
 *   build/example sqlite:/tmp/x.db  # or any URL oi_store_open() accepts
 *
 * Installed (make install): cc example.c $(pkg-config --cflags --libs optiinfra)
 */
#include <stdio.h>
#include <optiinfra/optiinfra.h>

#define AGENT_TYPE "performance"
#define AGENT_NAME "Example Tuner"

/* Print what failed and why; returns 1, the exit status. */
static int fail(oi_store *store, const char *doing)
{
    fprintf(stderr, "example: %s: %s (%s)\n", doing, oi_errmsg(store),
            oi_strerror(oi_errcode(store)));
    return 1;
}

/* Delete the agent a previous run left behind, if any: its configs and
 * metrics go with it (ON DELETE CASCADE). */
static int forget_previous_run(oi_store *store)
{
    oi_agent old = OI_AGENT_INIT; /* every struct starts with its version */
    int rc = oi_agent_find(store, AGENT_TYPE, AGENT_NAME, &old);
    if (rc == OI_OK)
        rc = oi_agent_delete(store, old.id);
    else if (rc == OI_ENOTFOUND)
        rc = OI_OK;
    oi_agent_clear(&old); /* frees the strings find() allocated */
    return rc;
}

/* Register the agent, give it a config and three metrics.  Returns 1 after
 * printing the first failure. */
static int write_agent(oi_store *store, oi_agent *agent, oi_time now)
{
    /* Recorded out of order on purpose: the query sorts by collection time. */
    static const struct { int minutes_ago; double value; } samples[] = {
        {1, 388.5}, {3, 412.0}, {2, 455.25},
    };
    oi_agent_config config = OI_AGENT_CONFIG_INIT;

    if (forget_previous_run(store) != OI_OK)
        return fail(store, "delete the previous run's agent");

    agent->type = AGENT_TYPE;
    agent->name = AGENT_NAME;
    agent->agent_version = "0.1.0";
    agent->capabilities = "[\"kv_cache_tuning\"]";
    if (oi_agent_create(store, agent) != OI_OK) /* fills agent->id and the times */
        return fail(store, "register the agent");

    snprintf(config.agent_id, sizeof config.agent_id, "%s", agent->id);
    config.config_key = "latency_p95_threshold_ms";
    config.config_value = "500";
    config.config_type = "integer"; /* the value must parse as one */
    config.description = "P95 latency threshold for alerts";
    if (oi_agent_config_create(store, &config) != OI_OK)
        return fail(store, "set a config");

    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        oi_agent_metric metric = OI_AGENT_METRIC_INIT;
        snprintf(metric.agent_id, sizeof metric.agent_id, "%s", agent->id);
        metric.metric_name = "latency_p95_ms";
        metric.metric_value = samples[i].value;
        metric.metric_unit = "ms";
        metric.collection_timestamp = now - (oi_time)samples[i].minutes_ago * 60 * 1000000;
        metric.metadata = "{\"model\": \"llama-3-70b\"}"; /* a JSON object */
        if (oi_agent_metric_create(store, &metric) != OI_OK) /* fills metric.id */
            return fail(store, "record a metric");
    }
    return 0;
}

/* All of write_agent() or nothing of it. */
static int record(oi_store *store, oi_agent *agent, oi_time now)
{
    if (oi_begin(store) != OI_OK)
        return fail(store, "begin");
    if (write_agent(store, agent, now) != 0) {
        oi_rollback(store); /* after a failure inside oi_begin(), rolling back is ours */
        return 1;
    }
    if (oi_commit(store) != OI_OK) /* a failed commit has rolled back */
        return fail(store, "commit");
    return 0;
}

/* The metrics in collection order, then their average as the database computes it. */
static int report(oi_store *store, const oi_agent *agent)
{
    oi_metric_filter filter = OI_METRIC_FILTER_INIT;
    oi_agent_metric metric = OI_AGENT_METRIC_INIT;
    oi_iter *it;
    size_t count = 0;
    double avg;
    char when[OI_TIME_BUFSZ];
    int rc;

    filter.agent_id = agent->id;
    filter.metric_name = "latency_p95_ms";
    rc = oi_metric_iter_new(&it, store, &filter); /* rows are read a page at a time */
    while (rc == OI_OK && (rc = oi_agent_metric_next(it, &metric)) == OI_OK) {
        printf("%s  %-16s %8.2f %s\n", oi_time_format(metric.collection_timestamp, when),
               metric.metric_name, metric.metric_value, metric.metric_unit);
        oi_agent_metric_clear(&metric); /* frees what next() allocated */
        count++;
    }
    oi_iter_free(it);
    if (rc != OI_ITEROVER) /* OI_ITEROVER: the rows ran out; anything else failed */
        return fail(store, "query the metrics");

    if (oi_agent_metric_avg(store, &filter, &avg) != OI_OK)
        return fail(store, "average the metrics");
    printf("average of %zu: %.2f ms\n", count, avg);
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite::memory:";
    oi_store *store = NULL;
    oi_agent agent = OI_AGENT_INIT;
    int major, status = 1;

    if (oi_version(&major, NULL, NULL) < OPTIINFRA_VERSION_NUMBER ||
        major != OPTIINFRA_VERSION_MAJOR) {
        fprintf(stderr, "example: built for liboptiinfra %s, running with %d.x older\n",
                OPTIINFRA_VERSION, major);
        return 1;
    }

    if (oi_store_open(&store, url) != OI_OK) {
        /* the store is set even on failure, for its message; close it too */
        fprintf(stderr, "example: cannot open %s: %s\n",
                store ? oi_store_url(store) : "the store", oi_errmsg(store));
        goto done;
    }
    if (oi_migrate_upgrade(store, "head", NULL, NULL, NULL) != OI_OK) {
        fail(store, "upgrade the schema");
        goto done;
    }
    printf("store %s (%s) at %s\n", oi_store_url(store), oi_store_backend(store),
           oi_migrate_head());

    if (record(store, &agent, oi_time_now()) == 0 && report(store, &agent) == 0)
        status = 0;

done:
    /* The strings create() left in agent are the caller's (here literals);
     * only records the library fills (get, find, next) own allocated strings. */
    oi_store_close(store);
    return status;
}
