/*
 * fuzz_filter.c - the metrics query filter (metrics.c: oi_metric_filter_check,
 * the WHERE clause of metric_filter.h, its metadata conditions in each
 * backend's dialect), through oi_metric_iter_new() and the rows it yields,
 * on a store with the seed's metrics.
 *
 * The input is the filter, one field per line:
 *
 *   agent id                      (empty: every agent)
 *   metric names, comma-separated (empty: every name)
 *   from, to                      (a time; empty: no bound; else an integer
 *                                  of microseconds, in range or not)
 *   limit                         (a number; empty: 0)
 *   order                         ("n": newest first)
 *   KEY=VALUE ...                 (metadata conditions, one per line)
 *
 * Invariants: a filter the check accepts runs to its end without an error
 * (a refused filter is OI_EINVALID with a one-line message), and every row
 * it yields satisfies it: its agent, a listed name, within the bounds, at
 * most limit rows, in (collection_timestamp, id) order.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fuzz.h"

#define MAX_NAMES 8
#define MAX_WHERE 8

typedef struct fuzz_filter {
    oi_metric_filter f;
    const char *names[MAX_NAMES];
    oi_metadata_match where[MAX_WHERE];
} fuzz_filter;

/* The next line of *rest (NULL after the last). */
static char *next_line(char **rest)
{
    return *rest ? strsep(rest, "\n") : NULL;
}

static oi_time read_bound(const char *line)
{
    oi_time t;
    if (!line || !*line)
        return OI_TIME_NULL;
    if (oi_time_parse(line, &t) == OI_OK)
        return t;
    return strtoll(line, NULL, 10);
}

static void read_names(fuzz_filter *ff, char *line)
{
    if (!line || !*line)
        return;
    ff->f.metric_name = strsep(&line, ",");
    while (line && ff->f.nmetric_names < MAX_NAMES)
        ff->names[ff->f.nmetric_names++] = strsep(&line, ",");
    ff->f.metric_names = ff->names;
}

static void read_filter(fuzz_filter *ff, char *text)
{
    char *rest = text, *line;
    ff->f = (oi_metric_filter)OI_METRIC_FILTER_INIT;
    line = next_line(&rest);
    ff->f.agent_id = line && *line ? line : NULL;
    read_names(ff, next_line(&rest));
    ff->f.from = read_bound(next_line(&rest));
    ff->f.to = read_bound(next_line(&rest));
    line = next_line(&rest);
    ff->f.limit = line ? strtoul(line, NULL, 10) : 0;
    line = next_line(&rest);
    ff->f.newest_first = line && strcmp(line, "n") == 0;
    while ((line = next_line(&rest)) && ff->f.nwhere < MAX_WHERE) {
        char *value = strchr(line, '=');
        if (value)
            *value++ = '\0';
        ff->where[ff->f.nwhere++] = (oi_metadata_match){line, value ? value : ""};
    }
    ff->f.where = ff->where;
}

static bool name_listed(const oi_metric_filter *f, const char *name)
{
    if (!f->metric_name && !f->nmetric_names)
        return true;
    if (f->metric_name && strcmp(f->metric_name, name) == 0)
        return true;
    for (size_t i = 0; i < f->nmetric_names; i++)
        if (strcmp(f->metric_names[i], name) == 0)
            return true;
    return false;
}

/* Whether row b may follow row a. */
static bool in_order(const oi_metric_filter *f, const oi_agent_metric *a,
                     const oi_agent_metric *b)
{
    int c = a->collection_timestamp != b->collection_timestamp
                ? (a->collection_timestamp < b->collection_timestamp ? -1 : 1)
                : (a->id < b->id ? -1 : a->id > b->id);
    return f->newest_first ? c > 0 : c < 0;
}

static void check_row(const oi_metric_filter *f, const oi_agent_metric *m)
{
    if (f->agent_id)
        fuzz_assert(strcasecmp(m->agent_id, f->agent_id) == 0);
    fuzz_assert(name_listed(f, m->metric_name));
    if (f->from != OI_TIME_NULL)
        fuzz_assert(m->collection_timestamp >= f->from);
    if (f->to != OI_TIME_NULL)
        fuzz_assert(m->collection_timestamp <= f->to);
}

static void run_filter(oi_store *store, const oi_metric_filter *f)
{
    oi_iter *it;
    int rc = oi_metric_iter_new(&it, store, f);
    if (rc != OI_OK) {
        fuzz_assert(rc == OI_EINVALID && it == NULL);
        fuzz_assert_message(oi_errmsg(store));
        return;
    }
    oi_agent_metric prev = OI_AGENT_METRIC_INIT, row = OI_AGENT_METRIC_INIT;
    size_t n = 0;
    while ((rc = oi_agent_metric_next(it, &row)) == OI_OK) {
        check_row(f, &row);
        if (n++)
            fuzz_assert(in_order(f, &prev, &row));
        oi_agent_metric_clear(&prev);
        prev = row;
        row = (oi_agent_metric)OI_AGENT_METRIC_INIT;
    }
    oi_agent_metric_clear(&prev);
    oi_iter_free(it);
    fuzz_assert(rc == OI_ITEROVER);
    fuzz_assert(!f->limit || n <= f->limit);
}

void oi_fuzz_filter(oi_store *store, const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    fuzz_filter ff = {0};
    read_filter(&ff, text);
    run_filter(store, &ff.f);
    free(text);
}

OI_FUZZ_MAIN_STORE(filter)
