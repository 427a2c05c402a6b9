/*
 * test_changes.c - the store-wide revision and the change log (changes.h):
 * what the triggers of 006 log for each watched table, filters, retention
 * and compaction, waiting for a change made by another process, and
 * `optiinfra watch`.
 *
 * The log is read through the library and checked around it (fx_sql_*):
 * each change's revision must also be the revision column of the row it
 * changed.  Waits are timed: a wake-up must come well before the timeout
 * given, so a wait that only ever times out fails.
 */
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHANGES 64
static const int64_t MS = 1000;

typedef struct changes {
    oi_change items[MAX_CHANGES];
    size_t n;
} changes;

static void changes_free(changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        oi_change_clear(&c->items[i]);
    c->n = 0;
}

/* Every change after `since` matching (table, agent_id), read whole. */
static void read_changes(oi_fixture *fx, int64_t since, const char *table, const char *agent_id,
                         changes *out)
{
    oi_change_filter f = OI_CHANGE_FILTER_INIT;
    f.table = table;
    f.agent_id = agent_id;
    oi_iter *it = NULL;
    out->n = 0;
    assert_ok(fx, oi_changes_since(&it, fx->store, since, &f));
    int rc;
    for (;;) {
        assert_true(out->n < MAX_CHANGES);
        oi_change *c = &out->items[out->n];
        oi_change_init(c, OI_CHANGE_VERSION);
        if ((rc = oi_change_next(it, c)) != OI_OK)
            break;
        out->n++;
    }
    assert_rc(fx, rc, OI_ITEROVER);
    oi_iter_free(it);
}

static int64_t revision_now(oi_fixture *fx)
{
    int64_t rev = -1;
    assert_ok(fx, oi_store_revision(fx->store, &rev));
    assert_int_equal(rev, fx_sql_int(fx, "SELECT revision FROM store_revision"));
    return rev;
}

/* The row's revision column, by the key column the log names. */
static long long row_revision(oi_fixture *fx, const char *table, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT revision FROM %s WHERE %s = '%s'", table,
             strcmp(table, "resource_locks") == 0 ? "resource" : "id", key);
    return fx_sql_int(fx, sql);
}

static void assert_change(const oi_change *c, const char *table, const char *key,
                          const char *agent_id, oi_change_kind kind)
{
    assert_string_equal(c->table, table);
    assert_string_equal(c->key, key);
    assert_string_equal(c->agent_id, agent_id ? agent_id : "");
    assert_int_equal(c->kind, kind);
    assert_true(c->changed_at != OI_TIME_NULL);
    assert_true(llabs(oi_time_now() - c->changed_at) < 60 * 1000 * MS);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

/* ---- what the log records ----------------------------------------------- */

static void test_changes_agent_insert_update_delete(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    oi_agent a = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "watched", &a);
    changes c;
    read_changes(fx, start, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_INSERT);
    assert_int_equal(c.items[0].revision, start + 1);
    assert_int_equal(row_revision(fx, "agents", a.id), start + 1);
    assert_int_equal(revision_now(fx), start + 1);
    changes_free(&c);

    free(a.endpoint);
    a.endpoint = strdup("http://changed:9000");
    assert_ok(fx, oi_agent_update(fx->store, &a));
    read_changes(fx, start + 1, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_UPDATE);
    assert_int_equal(row_revision(fx, "agents", a.id), c.items[0].revision);
    changes_free(&c);

    assert_ok(fx, oi_agent_delete(fx->store, a.id));
    read_changes(fx, start + 2, NULL, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", a.id, a.id, OI_CHANGE_DELETE);
    assert_int_equal(c.items[0].revision, start + 3);
    changes_free(&c);
    oi_agent_clear(&a);
}

static void test_changes_rollback_leaves_no_change(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    long long logged = fx_count(fx, "change_log");
    oi_agent a = OI_AGENT_INIT;
    assert_ok(fx, oi_begin(fx->store));
    a.name = strdup("rolled back");
    a.type = strdup("cost");
    a.endpoint = strdup("http://x:1");
    assert_ok(fx, oi_agent_create(fx->store, &a));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(revision_now(fx), start);
    assert_int_equal(fx_count(fx, "change_log"), logged);
    changes c;
    read_changes(fx, start, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
    oi_agent_clear(&a);
}

static void test_changes_since_above_current_is_empty(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx);
    changes c;
    read_changes(fx, now, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
    read_changes(fx, now + 1000, NULL, NULL, &c);
    assert_int_equal(c.n, 0);
}

/* The one change of `table` after `since`: its fields, and the row's
 * revision column (unless deleted).  Returns the change's revision. */
static int64_t expect_one(oi_fixture *fx, int64_t since, const char *table, const char *key,
                          const char *agent_id, oi_change_kind kind)
{
    changes c;
    read_changes(fx, since, table, NULL, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], table, key, agent_id, kind);
    int64_t rev = c.items[0].revision;
    assert_true(rev > since && rev <= revision_now(fx));
    if (kind != OI_CHANGE_DELETE)
        assert_int_equal(row_revision(fx, table, key), rev);
    changes_free(&c);
    return rev;
}

/* An update of one column around the library: the triggers log any writer. */
static void sql_update(oi_fixture *fx, const char *table, const char *set, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s WHERE id = '%s'", table, set, id);
    fx_sql_exec(fx, sql);
}

static void test_changes_agent_rows_logged(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    int64_t r = revision_now(fx);

    oi_agent_state st = OI_AGENT_STATE_INIT;
    sample_agent_state(fx, &st);
    expect_one(fx, r, "agent_states", st.id, agent, OI_CHANGE_INSERT);
    r = revision_now(fx);
    sql_update(fx, "agent_states", "current_workflow = 'second'", st.id);
    expect_one(fx, r, "agent_states", st.id, agent, OI_CHANGE_UPDATE);
    r = revision_now(fx);
    assert_ok(fx, oi_agent_state_delete(fx->store, st.id));
    expect_one(fx, r, "agent_states", st.id, agent, OI_CHANGE_DELETE);

    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    r = revision_now(fx);
    sample_agent_config(fx, &cfg);
    expect_one(fx, r, "agent_configs", cfg.id, agent, OI_CHANGE_INSERT);
    r = revision_now(fx);
    sql_update(fx, "agent_configs", "config_value = '200'", cfg.id);
    expect_one(fx, r, "agent_configs", cfg.id, agent, OI_CHANGE_UPDATE);
    r = revision_now(fx);
    assert_ok(fx, oi_agent_config_delete(fx->store, cfg.id));
    expect_one(fx, r, "agent_configs", cfg.id, agent, OI_CHANGE_DELETE);

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    r = revision_now(fx);
    sample_agent_capability(fx, &cap);
    expect_one(fx, r, "agent_capabilities", cap.id, agent, OI_CHANGE_INSERT);
    r = revision_now(fx);
    sql_update(fx, "agent_capabilities", "description = 'changed'", cap.id);
    expect_one(fx, r, "agent_capabilities", cap.id, agent, OI_CHANGE_UPDATE);
    r = revision_now(fx);
    assert_ok(fx, oi_agent_capability_delete(fx->store, cap.id));
    expect_one(fx, r, "agent_capabilities", cap.id, agent, OI_CHANGE_DELETE);

    oi_agent_state_clear(&st);
    oi_agent_config_clear(&cfg);
    oi_agent_capability_clear(&cap);
}

static void test_changes_locks_logged_by_resource(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    oi_lock lock = OI_LOCK_INIT;
    int64_t r = revision_now(fx);
    assert_ok(fx, oi_lock_acquire(fx->store, agent, "gpu/pool-a", 0, 0, &lock));
    expect_one(fx, r, "resource_locks", "gpu/pool-a", agent, OI_CHANGE_INSERT);
    oi_lock_clear(&lock);
    r = revision_now(fx);
    assert_ok(fx, oi_lock_acquire(fx->store, agent, "gpu/pool-a", 0, 0, &lock)); /* renewal */
    expect_one(fx, r, "resource_locks", "gpu/pool-a", agent, OI_CHANGE_UPDATE);
    oi_lock_clear(&lock);
    r = revision_now(fx);
    assert_ok(fx, oi_lock_release(fx->store, agent, "gpu/pool-a"));
    expect_one(fx, r, "resource_locks", "gpu/pool-a", agent, OI_CHANGE_DELETE);
}

/* An approval belongs to its recommendation's agent. */
static void test_changes_recommendations_and_approvals_logged(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    oi_customer cust = OI_CUSTOMER_INIT;
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    fx_make_customer(fx, "watch@example.com", &cust);
    int64_t r = revision_now(fx);
    fx_make_recommendation(fx, cust.id, agent, &rec);
    expect_one(fx, r, "recommendations", rec.id, agent, OI_CHANGE_INSERT);
    r = revision_now(fx);
    sql_update(fx, "recommendations", "title = 'Retitled'", rec.id);
    expect_one(fx, r, "recommendations", rec.id, agent, OI_CHANGE_UPDATE);

    oi_approval ap = OI_APPROVAL_INIT;
    memcpy(ap.recommendation_id, rec.id, sizeof ap.recommendation_id);
    ap.approved_by = "ops@example.com";
    ap.status = "pending";
    r = revision_now(fx);
    assert_ok(fx, oi_approval_create(fx->store, &ap));
    expect_one(fx, r, "approvals", ap.id, agent, OI_CHANGE_INSERT);
    r = revision_now(fx);
    sql_update(fx, "approvals", "comment = 'looks right'", ap.id);
    expect_one(fx, r, "approvals", ap.id, agent, OI_CHANGE_UPDATE);
    r = revision_now(fx);
    assert_ok(fx, oi_approval_delete(fx->store, ap.id));
    expect_one(fx, r, "approvals", ap.id, agent, OI_CHANGE_DELETE);

    r = revision_now(fx);
    assert_ok(fx, oi_recommendation_delete(fx->store, rec.id));
    expect_one(fx, r, "recommendations", rec.id, agent, OI_CHANGE_DELETE);
    oi_recommendation_clear(&rec);
    oi_customer_clear(&cust);
}

/* Deleting an agent deletes its rows by cascade: each delete is logged. */
static void test_changes_cascade_from_agent_logged(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    oi_customer cust = OI_CUSTOMER_INIT;
    oi_recommendation rec = OI_RECOMMENDATION_INIT;
    oi_lock lock = OI_LOCK_INIT;
    sample_agent_state(fx, &st);
    sample_agent_config(fx, &cfg);
    sample_agent_capability(fx, &cap);
    fx_make_customer(fx, "cascade@example.com", &cust);
    fx_make_recommendation(fx, cust.id, agent, &rec);
    assert_ok(fx, oi_lock_acquire(fx->store, agent, "cascaded", 0, 0, &lock));
    oi_approval ap = OI_APPROVAL_INIT;
    memcpy(ap.recommendation_id, rec.id, sizeof ap.recommendation_id);
    ap.approved_by = "ops@example.com";
    assert_ok(fx, oi_approval_create(fx->store, &ap));

    int64_t r = revision_now(fx);
    assert_ok(fx, oi_agent_delete(fx->store, agent));
    struct { const char *table, *key; } gone[] = {
        {"agents", agent}, {"agent_states", st.id}, {"agent_configs", cfg.id},
        {"agent_capabilities", cap.id}, {"resource_locks", "cascaded"},
        {"recommendations", rec.id}, {"approvals", ap.id},
    };
    changes c;
    read_changes(fx, r, NULL, NULL, &c);
    assert_int_equal(c.n, sizeof gone / sizeof *gone);
    assert_int_equal(revision_now(fx), r + (int64_t)c.n);
    for (size_t g = 0; g < sizeof gone / sizeof *gone; g++) {
        size_t found = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (strcmp(c.items[i].table, gone[g].table) || strcmp(c.items[i].key, gone[g].key))
                continue;
            found++;
            assert_int_equal(c.items[i].kind, OI_CHANGE_DELETE);
            /* An approval deleted with its recommendation has no agent left
             * to name (changes.h); every other row names the agent. */
            assert_string_equal(c.items[i].agent_id,
                                strcmp(gone[g].table, "approvals") ? agent : "");
        }
        assert_int_equal(found, 1);
    }
    changes_free(&c);
    oi_agent_state_clear(&st);
    oi_agent_config_clear(&cfg);
    oi_agent_capability_clear(&cap);
    oi_recommendation_clear(&rec);
    oi_customer_clear(&cust);
    oi_lock_clear(&lock);
}

/* Tables outside the seven (events, metrics, customers) move nothing. */
static void test_changes_other_tables_not_logged(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t r = revision_now(fx);
    oi_customer cust = OI_CUSTOMER_INIT;
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    fx_make_customer(fx, "quiet@example.com", &cust);
    sample_agent_metric(fx, &m);
    assert_int_equal(revision_now(fx), r);
    oi_customer_clear(&cust);
    oi_agent_metric_clear(&m);
}

static void test_changes_filters(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t r = revision_now(fx);
    oi_agent other = OI_AGENT_INIT;
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    fx_make_agent(fx, "performance", "other", &other);
    sample_agent_config(fx, &cfg);
    changes c;
    read_changes(fx, r, NULL, NULL, &c);
    assert_int_equal(c.n, 2);
    assert_true(c.items[0].revision < c.items[1].revision); /* oldest first */
    changes_free(&c);
    read_changes(fx, r, "agent_configs", NULL, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.items[0].key, cfg.id);
    changes_free(&c);
    read_changes(fx, r, NULL, other.id, &c);
    assert_int_equal(c.n, 1);
    assert_change(&c.items[0], "agents", other.id, other.id, OI_CHANGE_INSERT);
    changes_free(&c);
    read_changes(fx, r, "agent_configs", other.id, &c);
    assert_int_equal(c.n, 0);
    read_changes(fx, 0, "agents", fx->cost_agent.id, &c); /* from the start */
    assert_int_equal(c.n, 1);
    changes_free(&c);
    oi_agent_clear(&other);
    oi_agent_config_clear(&cfg);
}

static void test_changes_bad_arguments(void **state)
{
    oi_fixture *fx = FX(state);
    oi_iter *it = fx_iter_unset;
    oi_change_filter f = OI_CHANGE_FILTER_INIT;
    f.table = "agent_metrics";
    assert_rc(fx, oi_changes_since(&it, fx->store, 0, &f), OI_EINVALID);
    assert_null(it);
    assert_contains(oi_errmsg(fx->store), "'agent_metrics'");
    assert_contains(oi_errmsg(fx->store), "agents, agent_states, agent_configs, "
                                          "agent_capabilities, resource_locks, recommendations, "
                                          "approvals");
    f.table = NULL;
    f.agent_id = "not-a-uuid";
    it = fx_iter_unset;
    assert_rc(fx, oi_changes_since(&it, fx->store, 0, &f), OI_EINVALID);
    assert_null(it);
    assert_contains(oi_errmsg(fx->store), "not a UUID");
    it = fx_iter_unset;
    assert_rc(fx, oi_changes_since(&it, fx->store, -1, NULL), OI_EINVALID);
    assert_null(it);
    oi_change_filter zero = {0};
    assert_rc(fx, oi_changes_since(&it, fx->store, 0, &zero), OI_EINVALID);
    assert_int_equal(oi_change_filter_init(&zero, 99), OI_EINVALID);
    assert_int_equal(oi_change_filter_init(&zero, OI_CHANGE_FILTER_VERSION), OI_OK);
    assert_int_equal(zero.version, OI_CHANGE_FILTER_VERSION);
    assert_null(zero.table);

    /* A record of an unknown version is refused before anything is read. */
    assert_ok(fx, oi_changes_since(&it, fx->store, 0, NULL));
    oi_change bad = {.version = 0};
    assert_rc(fx, oi_change_next(it, &bad), OI_EINVALID);
    oi_change good = OI_CHANGE_INIT;
    assert_ok(fx, oi_change_next(it, &good));
    assert_int_equal(good.revision, 1);
    oi_change_clear(&good);
    assert_null(good.table);
    assert_int_equal(good.version, OI_CHANGE_VERSION);
    oi_iter_free(it);
    assert_int_equal(oi_change_init(&bad, 2), OI_EINVALID);
    assert_string_equal(oi_change_kind_name(OI_CHANGE_DELETE), "delete");
    assert_null(oi_change_kind_name((oi_change_kind)3));
}

/* A store whose revision row was deleted around the library says so. */
static void test_changes_revision_row_missing(void **state)
{
    oi_fixture *fx = FX(state);
    fx_sql_exec(fx, "DELETE FROM store_revision");
    int64_t rev = 42, low = 42;
    assert_rc(fx, oi_store_revision(fx->store, &rev), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "store_revision");
    assert_rc(fx, oi_changes_window(fx->store, &low, NULL), OI_ESCHEMA);
    assert_rc(fx, oi_changes_wait(fx->store, 0, 0, &rev), OI_ESCHEMA);
    assert_int_equal(rev, 42);
    assert_int_equal(low, 42);
}

/* ---- retention and compaction ------------------------------------------- */

static void test_changes_retention_prunes_and_compacts(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_changes_set_retention(fx->store, 3, 86400));
    assert_int_equal(fx_sql_int(fx, "SELECT keep_changes FROM store_revision"), 3);
    int64_t start = revision_now(fx);
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &cfg);
    for (int i = 0; i < 9; i++) {
        char set[64];
        snprintf(set, sizeof set, "config_value = '%d'", i);
        sql_update(fx, "agent_configs", set, cfg.id);
    }
    int64_t now = revision_now(fx), compacted = -1, current = -1;
    assert_int_equal(now, start + 10);
    assert_int_equal(fx_count(fx, "change_log"), 3);
    assert_ok(fx, oi_changes_window(fx->store, &compacted, &current));
    assert_int_equal(compacted, now - 3);
    assert_int_equal(current, now);
    assert_ok(fx, oi_changes_window(fx->store, NULL, NULL));

    oi_iter *it = fx_iter_unset;
    assert_rc(fx, oi_changes_since(&it, fx->store, compacted - 1, NULL), OI_ECOMPACTED);
    assert_null(it);
    char want[64];
    snprintf(want, sizeof want, "starts after revision %lld", (long long)compacted);
    assert_contains(oi_errmsg(fx->store), want);
    changes c;
    read_changes(fx, compacted, NULL, NULL, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.items[0].revision, compacted + 1);
    assert_int_equal(c.items[2].revision, now);
    changes_free(&c);
    oi_agent_config_clear(&cfg);
}

static void test_changes_retention_by_age(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_changes_set_retention(fx->store, 100000, 1));
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &cfg);
    long long before = fx_count(fx, "change_log");
    assert_true(before >= 2);
    sleep_ms(1100);
    sql_update(fx, "agent_configs", "config_value = '7'", cfg.id);
    /* two old changes pruned, one new one logged */
    assert_int_equal(fx_count(fx, "change_log"), before - 2 + 1);
    oi_agent_config_clear(&cfg);
}

static void test_changes_retention_refused(void **state)
{
    oi_fixture *fx = FX(state);
    assert_rc(fx, oi_changes_set_retention(fx->store, 0, 10), OI_EINVALID);
    assert_rc(fx, oi_changes_set_retention(fx->store, 10, 0), OI_EINVALID);
    assert_rc(fx, oi_changes_set_retention(fx->store, -5, -5), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "at least 1");
    assert_int_equal(fx_sql_int(fx, "SELECT keep_changes FROM store_revision"), 100000);
    assert_int_equal(fx_sql_int(fx, "SELECT keep_seconds FROM store_revision"), 86400);
}

/* The log pruned after the iterator opened: its first page sees it in its
 * own snapshot and fails, filtered or not, instead of ending as if nothing
 * had happened. */
static void test_changes_prune_after_open_is_reported(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &cfg);
    oi_iter *all = NULL, *filtered = NULL;
    oi_change_filter f = OI_CHANGE_FILTER_INIT;
    f.table = "approvals"; /* matches nothing at all */
    assert_ok(fx, oi_changes_since(&all, fx->store, start, NULL));
    assert_ok(fx, oi_changes_since(&filtered, fx->store, start, &f));
    assert_ok(fx, oi_changes_set_retention(fx->store, 1, 86400));
    for (int i = 0; i < 3; i++)
        sql_update(fx, "agent_configs", i % 2 ? "config_value = '1'" : "config_value = '2'",
                   cfg.id);
    oi_change c = OI_CHANGE_INIT;
    assert_rc(fx, oi_change_next(all, &c), OI_ECOMPACTED);
    assert_rc(fx, oi_change_next(all, &c), OI_ECOMPACTED); /* a failure is not an end */
    assert_rc(fx, oi_change_next(filtered, &c), OI_ECOMPACTED);
    assert_null(c.table);
    oi_iter_free(all);
    oi_iter_free(filtered);
    oi_agent_config_clear(&cfg);
}

/* More changes than one page (500): every one, in order, none twice. */
static void test_changes_across_pages(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t start = revision_now(fx);
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    sample_agent_config(fx, &cfg);
    assert_ok(fx, oi_begin(fx->store));
    for (int i = 0; i < 520; i++) {
        char value[16];
        snprintf(value, sizeof value, "%d", i);
        free(cfg.config_value);
        cfg.config_value = strdup(value);
        assert_ok(fx, oi_agent_config_update(fx->store, &cfg));
    }
    assert_ok(fx, oi_commit(fx->store));
    oi_iter *it = NULL;
    oi_change c = OI_CHANGE_INIT;
    int64_t expect = start;
    int rc;
    assert_ok(fx, oi_changes_since(&it, fx->store, start, NULL));
    while ((rc = oi_change_next(it, &c)) == OI_OK) {
        assert_int_equal(c.revision, ++expect);
        assert_string_equal(c.key, cfg.id);
        oi_change_clear(&c);
    }
    assert_rc(fx, rc, OI_ITEROVER);
    oi_iter_free(it);
    assert_int_equal(expect, start + 521);
    oi_agent_config_clear(&cfg);
}

/* ---- waiting ------------------------------------------------------------ */

static void test_changes_wait_returns_at_once_when_past(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    assert_true(now > 0); /* the fixture's agent */
    int64_t t0 = monotonic_ms();
    assert_ok(fx, oi_changes_wait(fx->store, now - 1, 10000 * MS, &rev));
    assert_int_equal(rev, now);
    assert_true(monotonic_ms() - t0 < 1000);
}

static void test_changes_wait_times_out_unchanged(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    int64_t t0 = monotonic_ms();
    assert_ok(fx, oi_changes_wait(fx->store, now, 150 * MS, &rev));
    int64_t took = monotonic_ms() - t0;
    assert_int_equal(rev, now);
    assert_true(took >= 140 && took < 2000);
    assert_ok(fx, oi_changes_wait(fx->store, now, 0, &rev)); /* 0: a look, no wait */
    assert_int_equal(rev, now);
}

/* The child: wait, then commit one change through a store of its own, and
 * report the moment of the commit (CLOCK_MONOTONIC is system-wide). */
static int commit_later(const char *url, int report_fd)
{
    sleep_ms(300);
    oi_store *s = NULL;
    int rc = oi_store_open(&s, url);
    oi_agent a = OI_AGENT_INIT;
    a.name = strdup("from another process");
    a.type = strdup("cost");
    a.endpoint = strdup("http://other:1");
    if (rc == OI_OK)
        rc = oi_agent_create(s, &a);
    int64_t done = monotonic_ms();
    if (write(report_fd, &done, sizeof done) != sizeof done)
        rc = OI_ERROR;
    oi_agent_clear(&a);
    oi_store_close(s);
    return rc == OI_OK ? 0 : 1;
}

static void test_changes_wait_wakes_on_other_process(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = -1;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(commit_later(fx->url, fds[1]));
    close(fds[1]);
    int64_t t0 = monotonic_ms();
    int rc = oi_changes_wait(fx->store, now, 20000 * MS, &rev);
    int64_t woke = monotonic_ms(), committed = 0;
    ssize_t got = read(fds[0], &committed, sizeof committed);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_rc(fx, rc, OI_OK);
    assert_int_equal(got, sizeof committed);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(rev, now + 1);
    assert_true(woke - t0 < 10000); /* woken by the commit, long before the 20 s deadline */
    print_message("woke %lld ms after the other process committed\n",
                  (long long)(woke - committed)); /* a latency is printed, not asserted */
}

static void test_changes_wait_refused_in_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t now = revision_now(fx), rev = 77;
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_changes_wait(fx->store, now, 10 * MS, &rev), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "transaction");
    assert_int_equal(rev, 77);
    assert_ok(fx, oi_rollback(fx->store));
    assert_rc(fx, oi_changes_wait(fx->store, now, -1, &rev), OI_EINVALID);
    assert_rc(fx, oi_changes_wait(fx->store, -1, 0, &rev), OI_EINVALID);
    assert_int_equal(rev, 77);
}

/* ---- optiinfra watch ------------------------------------------------------ */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

/* A child that renames agent `id` `times` times, every `every_ms` (after a
 * first pause as long), through a store of its own: the writer that runs
 * while the CLI watches. */
typedef struct writer {
    const char *url, *agent_id;
    int times, every_ms;
} writer;

static int rename_agent(oi_store *s, const char *id, int i)
{
    oi_agent a = OI_AGENT_INIT;
    int rc = oi_agent_get(s, id, &a);
    if (rc == OI_OK) {
        free(a.endpoint);
        if (asprintf(&a.endpoint, "http://renamed-%d:1", i) < 0)
            a.endpoint = NULL;
        rc = oi_agent_update(s, &a);
    }
    oi_agent_clear(&a);
    return rc;
}

static int write_changes(const writer *w)
{
    oi_store *s = NULL;
    int rc = oi_store_open(&s, w->url);
    for (int i = 0; rc == OI_OK && i < w->times; i++) {
        sleep_ms(w->every_ms);
        rc = rename_agent(s, w->agent_id, i);
    }
    oi_store_close(s);
    return rc == OI_OK ? 0 : 1;
}

static pid_t start_writer(oi_fixture *fx, const char *agent_id, int times, int every_ms)
{
    writer w = {fx->url, agent_id, times, every_ms};
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(write_changes(&w));
    return pid;
}

static int finish_child(pid_t pid, bool kill_it)
{
    int status = 0;
    if (kill_it)
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Two changes made while `watch --json --count 2` runs: two NDJSON lines. */
static void test_changes_cli_watch_json_count(void **state)
{
    oi_fixture *fx = FX(state);
    char since[32];
    int64_t r = revision_now(fx);
    snprintf(since, sizeof since, "%lld", (long long)r);
    pid_t pid = start_writer(fx, fx->cost_agent.id, 2, 300);
    fx_run run;
    fx_cli(fx, &run, "watch", "--json", "--count", "2", "--since", since, (char *)NULL);
    assert_int_equal(finish_child(pid, false), 0);
    assert_exit(&run, 0);
    assert_int_equal(fx_count_lines(run.out), 2);
    char *line2 = strchr(run.out, '\n');
    assert_non_null(line2);
    *line2++ = '\0';
    const char *lines[2] = {run.out, line2};
    for (int i = 0; i < 2; i++) {
        json_t *c = fx_json(lines[i]);
        assert_int_equal(json_integer_value(json_object_get(c, "revision")), r + 1 + i);
        assert_string_equal(json_string_value(json_object_get(c, "table")), "agents");
        assert_string_equal(json_string_value(json_object_get(c, "key")), fx->cost_agent.id);
        assert_string_equal(json_string_value(json_object_get(c, "agent_id")),
                            fx->cost_agent.id);
        assert_string_equal(json_string_value(json_object_get(c, "kind")), "update");
        oi_time at;
        assert_int_equal(oi_time_parse(json_string_value(json_object_get(c, "changed_at")), &at),
                         OI_OK);
        assert_int_equal(json_object_size(c), 6);
        json_decref(c);
    }
    fx_run_free(&run);
}

/* Without --since, what changed before the watch started is not printed. */
static void test_changes_cli_watch_starts_now(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t before = revision_now(fx);
    assert_true(before > 0);
    pid_t pid = start_writer(fx, fx->cost_agent.id, 200, 100);
    fx_run run;
    fx_cli(fx, &run, "watch", "--count", "1", "--table", "agents", (char *)NULL);
    finish_child(pid, true);
    assert_exit(&run, 0);
    assert_int_equal(fx_count_lines(run.out), 1);
    long long rev = 0;
    char table[32], kind[16], key[64], agent[64];
    assert_int_equal(sscanf(run.out, "%lld %31s %15s %63s %63s", &rev, table, kind, key, agent),
                     5);
    assert_true(rev > before);
    assert_string_equal(table, "agents");
    assert_string_equal(kind, "update");
    assert_string_equal(key, fx->cost_agent.id);
    assert_string_equal(agent, fx->cost_agent.id);
    fx_run_free(&run);
}

/* `watch` left running: a change made by the CLI reaches it, and SIGTERM
 * ends it at once with exit 0, its output complete. */
static void test_changes_cli_watch_until_signal(void **state)
{
    oi_fixture *fx = FX(state);
    char out_path[300];
    snprintf(out_path, sizeof out_path, "%s/watch.out", fx->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || dup2(out, 1) < 0)
            _exit(126);
        execl(fx_cli_path(), fx_cli_path(), "--database-url", fx->url, "watch", "--agent",
              "Test Cost Agent", (char *)NULL);
        _exit(127);
    }
    sleep_ms(500); /* the watch reads the current revision */
    fx_run run;
    fx_cli(fx, &run, "agent", "heartbeat", "Test Cost Agent", (char *)NULL);
    assert_exit(&run, 0);
    fx_run_free(&run);
    char *text = NULL;
    for (int waited = 0; waited < 10000; waited += 20) {
        free(text);
        text = fx_slurp(out_path);
        if (strstr(text, "agent_states"))
            break;
        sleep_ms(20);
    }
    int64_t t0 = monotonic_ms();
    kill(pid, SIGTERM);
    int status = finish_child(pid, false);
    int64_t took = monotonic_ms() - t0;
    assert_int_equal(status, 0);
    assert_true(took < 1000);
    free(text);
    text = fx_slurp(out_path);
    assert_int_equal(fx_count_lines(text), 1); /* a heartbeat is one change */
    assert_contains(text, " agent_states insert ");
    assert_contains(text, fx->cost_agent.id);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

static void test_changes_cli_watch_errors(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run run;
    fx_cli(fx, &run, "watch", "--table", "events", (char *)NULL);
    assert_exit(&run, 3);
    assert_contains(run.err, "the watched tables are agents,");
    fx_run_free(&run);
    const char *bad[][2] = {{"--since", "-1"}, {"--since", "12x"}, {"--count", "0"}};
    for (size_t i = 0; i < 3; i++) {
        fx_cli(fx, &run, "watch", bad[i][0], bad[i][1], (char *)NULL);
        assert_exit(&run, 3);
        assert_contains(run.err, bad[i][0]);
        fx_run_free(&run);
    }
    fx_cli(fx, &run, "watch", "--agent", "nobody", (char *)NULL);
    assert_exit(&run, 4);
    fx_run_free(&run);
    fx_cli(fx, &run, "watch", "extra", (char *)NULL);
    assert_exit(&run, 2);
    fx_run_free(&run);

    /* compacted: exit 4, the message and what to do */
    assert_ok(fx, oi_changes_set_retention(fx->store, 1, 86400));
    assert_int_equal(rename_agent(fx->store, fx->cost_agent.id, 1), OI_OK);
    assert_int_equal(rename_agent(fx->store, fx->cost_agent.id, 2), OI_OK);
    fx_cli(fx, &run, "watch", "--since", "0", (char *)NULL);
    assert_exit(&run, 4);
    assert_contains(run.err, "no longer kept");
    assert_contains(run.err, "without --since");
    assert_string_equal(run.out, "");
    fx_run_free(&run);

    fx_cli_raw(fx, &run, "watch", "--help", (char *)NULL);
    assert_exit(&run, 0);
    assert_contains(run.out, "Usage: optiinfra watch");
    assert_contains(run.out, "Example");
    fx_run_free(&run);
}

/* --agent by id, and the changes of other agents left out. */
static void test_changes_cli_watch_agent_filter(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t r = revision_now(fx);
    oi_agent other = OI_AGENT_INIT;
    fx_make_agent(fx, "performance", "other", &other);
    assert_int_equal(rename_agent(fx->store, fx->cost_agent.id, 1), OI_OK);
    char since[32];
    snprintf(since, sizeof since, "%lld", (long long)r);
    fx_run run;
    fx_cli(fx, &run, "watch", "--since", since, "--count", "1", "--agent", fx->cost_agent.id,
           (char *)NULL);
    assert_exit(&run, 0);
    assert_int_equal(fx_count_lines(run.out), 1);
    assert_contains(run.out, " agents update ");
    assert_not_contains(run.out, other.id);
    fx_run_free(&run);
    oi_agent_clear(&other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_changes_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_changes_agent_insert_update_delete),
        T(test_changes_agent_rows_logged),
        T(test_changes_locks_logged_by_resource),
        T(test_changes_recommendations_and_approvals_logged),
        T(test_changes_cascade_from_agent_logged),
        T(test_changes_other_tables_not_logged),
        T(test_changes_filters),
        T(test_changes_bad_arguments),
        T(test_changes_revision_row_missing),
        T(test_changes_retention_prunes_and_compacts),
        T(test_changes_retention_by_age),
        T(test_changes_retention_refused),
        T(test_changes_prune_after_open_is_reported),
        T(test_changes_across_pages),
        T(test_changes_rollback_leaves_no_change),
        T(test_changes_since_above_current_is_empty),
        T(test_changes_wait_returns_at_once_when_past),
        T(test_changes_wait_times_out_unchanged),
        T(test_changes_wait_wakes_on_other_process),
        T(test_changes_wait_refused_in_transaction),
        T(test_changes_cli_watch_json_count),
        T(test_changes_cli_watch_starts_now),
        T(test_changes_cli_watch_until_signal),
        T(test_changes_cli_watch_errors),
        T(test_changes_cli_watch_agent_filter),
    };
    return fx_run_group("changes", tests);
}
