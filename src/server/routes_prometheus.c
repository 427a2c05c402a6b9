/*
 * routes_prometheus.c - GET /metrics: the store and the service in the
 * Prometheus text format 0.0.4, for any token (SRV_READ).
 *
 * Families (base units, `_total` only on counters, HELP and TYPE once each):
 *   optiinfra_build_info{version}                       gauge, 1
 *   optiinfra_agents{type, status}                      gauge: agents by type and
 *                                                       stored status
 *   optiinfra_agent_heartbeat_age_seconds{agent, agent_id}  gauge: since the newest
 *                                                       heartbeat, stored or (with
 *                                                       --heartbeat-write-interval) kept
 *                                                       in memory; agents never seen
 *                                                       have no sample here, and ...
 *   optiinfra_agent_never_seen{agent, agent_id}         gauge: 1 for them, 0 for the
 *                                                       others (every agent has one)
 *   optiinfra_agent_errors{agent, agent_id}             gauge: agent_states.error_count
 *   optiinfra_agent_locks_held{agent, agent_id}         gauge: its locks not expired
 *   optiinfra_agent_metric{agent, agent_id, metric}     gauge: the latest value of each
 *                                                       agent metric
 *   optiinfra_agent_metric_series_dropped_total         counter: series the cap left out
 *   optiinfra_watches                                   gauge: long-poll watches open
 *   optiinfra_watch_wakeups_total                       counter: watches a change answered
 *   optiinfra_heartbeats_unwritten_total                counter: beats answered from
 *                                                       memory (beats.c)
 *   optiinfra_http_requests_total, optiinfra_http_request_duration_seconds,
 *   optiinfra_write_groups_total, optiinfra_write_group_requests_total  (stats.c)
 *
 * An agent is labelled by name and id: a name is unique only within a
 * type, so the id keeps every series unique.  Label values are escaped
 * (backslash, double quote, newline).  The agent_metric family has one
 * series per (agent, metric name), which a fleet can grow without bound:
 * a scrape exports at most the cap's number of them (default
 * SRV_DEFAULT_METRIC_SERIES_CAP, `serve --metrics-series-cap N`), the
 * first in (agent id, metric name) order, so the same ones each time, and
 * counts the rest in the dropped counter, which sums over the scrapes
 * since the start like any counter.
 *
 * Each family is one pass of a library iterator.  The agents (a few
 * thousand rows at most, not the metrics) are held in memory, sorted by
 * id, so that the passes over states, locks and metrics can find an
 * agent's name; the latest metrics are streamed through.  The text is
 * built in memory and sent whole, so that a failure halfway answers an
 * error instead of a scrape that looks complete.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "server.h"

static size_t series_cap = SRV_DEFAULT_METRIC_SERIES_CAP;
static atomic_ullong series_dropped_total;

void srv_prometheus_setup(size_t metric_series_cap)
{
    series_cap = metric_series_cap ? metric_series_cap : SRV_DEFAULT_METRIC_SERIES_CAP;
}

/* What a scrape knows of one agent. */
typedef struct agent_row {
    oi_uuid id;
    char *name, *type, *status;
    oi_time beat;  /* the newest heartbeat; OI_TIME_NULL: never seen */
    long errors;
    long locks;
} agent_row;

typedef struct scrape {
    oi_store *store;
    FILE *out;
    oi_time now;
    agent_row *agents; /* sorted by id */
    size_t nagents, cap;
} scrape;

/* ---- writing ------------------------------------------------------------- */

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format requires. */
static void label_value(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (*s == '\\' || *s == '"')
            fputc('\\', out);
        fputc(*s, out);
    }
}

/* v as text that reads back exactly: 15 digits when they suffice, else 17. */
static void sample_value(FILE *out, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fprintf(out, " %s\n", buf);
}

/* name{agent="...",agent_id="..." (left open for more labels). */
static void agent_series(FILE *out, const char *name, const agent_row *a)
{
    fprintf(out, "%s{agent=\"", name);
    label_value(out, a->name);
    fprintf(out, "\",agent_id=\"%s\"", a->id);
}

/* ---- the agents ------------------------------------------------------------ */

static int by_id(const void *x, const void *y)
{
    return strcmp(((const agent_row *)x)->id, ((const agent_row *)y)->id);
}

static agent_row *find_agent(const scrape *sc, const char *id)
{
    agent_row key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, sc->agents, sc->nagents, sizeof *sc->agents, by_id);
}

static int load_agents(scrape *sc)
{
    oi_iter *it;
    oi_agent a = OI_AGENT_INIT;
    int rc = oi_agent_iter_new(&it, sc->store);
    while (rc == OI_OK && (rc = oi_agent_next(it, &a)) == OI_OK) {
        sc->agents = oi_grow(sc->agents, &sc->cap, sc->nagents, sizeof *sc->agents);
        agent_row *row = &sc->agents[sc->nagents++];
        memcpy(row->id, a.id, sizeof row->id);
        row->name = oi_strdup(a.name);
        row->type = oi_strdup(a.type);
        row->status = oi_strdup(a.status);
        row->beat = a.last_heartbeat;
        row->errors = row->locks = 0;
        oi_agent_clear(&a);
    }
    oi_iter_free(it);
    if (sc->nagents)
        qsort(sc->agents, sc->nagents, sizeof *sc->agents, by_id);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

/* The states' heartbeats (the newer of the two counts) and error counts. */
static int add_states(scrape *sc)
{
    oi_iter *it;
    oi_agent_state s = OI_AGENT_STATE_INIT;
    int rc = oi_agent_state_iter_new(&it, sc->store);
    while (rc == OI_OK && (rc = oi_agent_state_next(it, &s)) == OI_OK) {
        agent_row *row = find_agent(sc, s.agent_id);
        if (row && s.last_heartbeat != OI_TIME_NULL &&
            (row->beat == OI_TIME_NULL || s.last_heartbeat > row->beat))
            row->beat = s.last_heartbeat;
        if (row)
            row->errors = s.error_count;
        oi_time seen = row ? srv_beats_seen(row->id) : OI_TIME_NULL;
        if (seen != OI_TIME_NULL && (row->beat == OI_TIME_NULL || seen > row->beat))
            row->beat = seen;
        oi_agent_state_clear(&s);
    }
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

static int add_locks(scrape *sc)
{
    oi_iter *it;
    oi_lock lock = OI_LOCK_INIT;
    int rc = oi_lock_iter_new(&it, sc->store, NULL, 0);
    while (rc == OI_OK && (rc = oi_lock_next(it, &lock)) == OI_OK) {
        agent_row *row = find_agent(sc, lock.agent_id);
        if (row && !lock.expired)
            row->locks++;
        oi_lock_clear(&lock);
    }
    oi_iter_free(it);
    return rc == OI_ITEROVER ? OI_OK : rc;
}

static void free_agents(scrape *sc)
{
    for (size_t i = 0; i < sc->nagents; i++) {
        free(sc->agents[i].name);
        free(sc->agents[i].type);
        free(sc->agents[i].status);
    }
    free(sc->agents);
}

/* ---- the families ------------------------------------------------------------ */

static void write_build_info(FILE *out)
{
    int major, minor, patch;
    oi_version(&major, &minor, &patch);
    family(out, "optiinfra_build_info", "gauge", "The running optiinfra's version; always 1.");
    fprintf(out, "optiinfra_build_info{version=\"%d.%d.%d\"} 1\n", major, minor, patch);
}

/* Beats answered from memory (beats.c). */
static void write_unwritten_beats(FILE *out)
{
    family(out, "optiinfra_heartbeats_unwritten_total", "counter",
           "Heartbeats answered from memory, unwritten: nothing new within "
           "--heartbeat-write-interval.");
    fprintf(out, "optiinfra_heartbeats_unwritten_total %llu\n",
            (unsigned long long)srv_beats_coalesced_total());
}

/* The watch hub's two series (watch.c). */
static void write_watches(FILE *out)
{
    family(out, "optiinfra_watches", "gauge",
           "Long-poll watches (GET /v1/watch) waiting for a change now.");
    fprintf(out, "optiinfra_watches %llu\n", srv_watch_open());
    family(out, "optiinfra_watch_wakeups_total", "counter",
           "Waiting watches answered by a change that matched them (not by their deadline).");
    fprintf(out, "optiinfra_watch_wakeups_total %llu\n", srv_watch_wakeups());
}

static int by_type_status(const void *x, const void *y)
{
    const agent_row *a = *(const agent_row *const *)x, *b = *(const agent_row *const *)y;
    int c = strcmp(a->type ? a->type : "", b->type ? b->type : "");
    return c ? c : strcmp(a->status ? a->status : "", b->status ? b->status : "");
}

static void write_agent_counts(const scrape *sc)
{
    family(sc->out, "optiinfra_agents", "gauge", "Registered agents by type and status.");
    agent_row **sorted = oi_calloc(sc->nagents ? sc->nagents : 1, sizeof *sorted);
    for (size_t i = 0; i < sc->nagents; i++)
        sorted[i] = &sc->agents[i];
    qsort(sorted, sc->nagents, sizeof *sorted, by_type_status);
    for (size_t i = 0, n; i < sc->nagents; i += n) {
        for (n = 1; i + n < sc->nagents && by_type_status(&sorted[i], &sorted[i + n]) == 0;)
            n++;
        fputs("optiinfra_agents{type=\"", sc->out);
        label_value(sc->out, sorted[i]->type);
        fputs("\",status=\"", sc->out);
        label_value(sc->out, sorted[i]->status);
        fprintf(sc->out, "\"} %zu\n", n);
    }
    free(sorted);
}

static void write_heartbeats(const scrape *sc)
{
    family(sc->out, "optiinfra_agent_heartbeat_age_seconds", "gauge",
           "Seconds since the agent's newest heartbeat (agents never seen have none).");
    for (size_t i = 0; i < sc->nagents; i++) {
        const agent_row *a = &sc->agents[i];
        if (a->beat == OI_TIME_NULL)
            continue;
        agent_series(sc->out, "optiinfra_agent_heartbeat_age_seconds", a);
        fputc('}', sc->out);
        sample_value(sc->out, (double)(sc->now - a->beat) / 1e6);
    }
    family(sc->out, "optiinfra_agent_never_seen", "gauge",
           "1 when the agent has never sent a heartbeat, else 0.");
    for (size_t i = 0; i < sc->nagents; i++) {
        agent_series(sc->out, "optiinfra_agent_never_seen", &sc->agents[i]);
        fprintf(sc->out, "} %d\n", sc->agents[i].beat == OI_TIME_NULL);
    }
}

static long errors_of(const agent_row *a)
{
    return a->errors;
}

static long locks_of(const agent_row *a)
{
    return a->locks;
}

/* One gauge family of a count every agent has. */
static void write_agent_gauge(const scrape *sc, const char *name, const char *help,
                              long (*value)(const agent_row *))
{
    family(sc->out, name, "gauge", help);
    for (size_t i = 0; i < sc->nagents; i++) {
        agent_series(sc->out, name, &sc->agents[i]);
        fprintf(sc->out, "} %ld\n", value(&sc->agents[i]));
    }
}

static void write_metric(const scrape *sc, const oi_agent_metric *m)
{
    const agent_row *a = find_agent(sc, m->agent_id);
    fputs("optiinfra_agent_metric{agent=\"", sc->out);
    label_value(sc->out, a ? a->name : "");
    fprintf(sc->out, "\",agent_id=\"%s\",metric=\"", m->agent_id);
    label_value(sc->out, m->metric_name);
    fputs("\"}", sc->out);
    sample_value(sc->out, m->metric_value);
}

static int write_latest_metrics(const scrape *sc)
{
    oi_iter *it;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    size_t written = 0;
    unsigned long long dropped = 0;
    family(sc->out, "optiinfra_agent_metric", "gauge",
           "The latest value of each agent metric (at most the series cap of them).");
    int rc = oi_metric_latest_iter_new(&it, sc->store, NULL);
    while (rc == OI_OK && (rc = oi_agent_metric_next(it, &m)) == OI_OK) {
        if (written < series_cap) {
            write_metric(sc, &m);
            written++;
        } else {
            dropped++;
        }
        oi_agent_metric_clear(&m);
    }
    oi_iter_free(it);
    if (rc != OI_ITEROVER)
        return rc;
    family(sc->out, "optiinfra_agent_metric_series_dropped_total", "counter",
           "Agent metric series left out of scrapes by the series cap, since the start.");
    fprintf(sc->out, "optiinfra_agent_metric_series_dropped_total %llu\n",
            atomic_fetch_add(&series_dropped_total, dropped) + dropped);
    return OI_OK;
}

/* The whole scrape into sc->out: OI_OK or the failure of a read. */
static int write_scrape(scrape *sc)
{
    int rc = load_agents(sc);
    if (rc == OI_OK)
        rc = add_states(sc);
    if (rc == OI_OK)
        rc = add_locks(sc);
    if (rc != OI_OK)
        return rc;
    write_build_info(sc->out);
    write_agent_counts(sc);
    write_heartbeats(sc);
    write_agent_gauge(sc, "optiinfra_agent_errors", "Errors recorded in the agent's state.",
                      errors_of);
    write_agent_gauge(sc, "optiinfra_agent_locks_held",
                      "Resource locks the agent holds that have not expired.",
                      locks_of);
    rc = write_latest_metrics(sc);
    if (rc != OI_OK)
        return rc;
    write_watches(sc->out);
    write_unwritten_beats(sc->out);
    srv_stats_write(sc->out);
    return OI_OK;
}

static enum MHD_Result metrics(srv_request *req)
{
    char *text = NULL;
    size_t len = 0;
    scrape sc = {.store = req->store, .now = oi_time_now()};
    sc.out = open_memstream(&text, &len);
    if (!sc.out)
        oi_oom(0);
    int rc = write_scrape(&sc);
    fclose(sc.out);
    free_agents(&sc);
    if (rc != OI_OK) {
        free(text);
        return srv_reply_store_error(req, rc);
    }
    return srv_reply_text(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                          len);
}

const srv_route srv_routes_prometheus[] = {
    {"GET", "/metrics", metrics, SRV_READ, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
