/*
 * test_cas.c - row revisions and compare-and-set on configs (issue 8).
 *
 * Revisions: every record that has one shows, on every read, the revision
 * the database holds for the row (read around the library), it moves on
 * each write, and a write never takes it from the caller's record.
 * Records of version 1 (a program built against 1.2) still work and the
 * library never touches the memory where the field would be: some are
 * allocated at exactly their 1.2 size, so the sanitizer build catches a
 * write past them.
 *
 * Compare-and-set, the test on each path: two clients read the
 * same config, both write with the revision they read; one wins, the other
 * is refused (OI_ECONFLICT, exit 7, 412 with If-Match, 409 with a body
 * revision), nothing is written by the refusal, and the loser, reading
 * again, succeeds, so no update is lost.  Then the same with real
 * processes: writers racing with one revision (exactly one wins), and a
 * writer that waits for another's open transaction, which must find the
 * row moved when it gets it (PostgreSQL's READ COMMITTED re-check).
 * Fenced writes (--fence, "fence") are refused once the lock has a newer
 * token.  Every refusal is checked to change nothing.
 */
#include "harness.h"
#include "http.h"
#include "race.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT "Test Cost Agent"
#define CANARY INT64_C(0x5a5a5a5a5a5a5a5a)

static const char *agent_of(oi_fixture *fx)
{
    return fx->cost_agent.id;
}

static void set_ok(oi_fixture *fx, const char *key, const char *value, const char *type)
{
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), key, value, type, NULL,
                                OI_SENSITIVE_KEEP, NULL));
}

/* The revision the database holds for the row `id` of table. */
static int64_t raw_revision(oi_fixture *fx, const char *table, const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT revision FROM %s WHERE id = '%s'", table, id);
    return fx_sql_int(fx, sql);
}

/* The stored "value|revision|updated_at" of a key, around the library; "" if absent. */
static char *stored(oi_fixture *fx, const char *key)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT config_value, revision, updated_at FROM agent_configs "
             "WHERE agent_id = '%s' AND config_key = '%s'", agent_of(fx), key);
    return fx_sql_text(fx, sql);
}

static int64_t revision_of(oi_fixture *fx, const char *key)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    assert_ok(fx, oi_agent_config_find(fx->store, agent_of(fx), key, &c));
    int64_t revision = c.revision;
    oi_agent_config_clear(&c);
    return revision;
}

/* oi_config_set_with() of a compare-and-set against `revision`. */
static int cas(oi_store *store, const char *agent_id, const char *key, const char *value,
               int64_t revision, oi_agent_config *out)
{
    oi_config_set_options o = OI_CONFIG_SET_OPTIONS_INIT;
    o.if_revision = true;
    o.revision = revision;
    return oi_config_set_with(store, agent_id, key, value, &o, out);
}

static int fenced(oi_store *store, const char *agent_id, const char *key, const char *value,
                  int64_t fence)
{
    oi_config_set_options o = OI_CONFIG_SET_OPTIONS_INIT;
    o.fenced = true;
    o.fence = fence;
    return oi_config_set_with(store, agent_id, key, value, &o, NULL);
}

/* ---- revisions in records ------------------------------------------------- */

static void test_cas_config_revision_moves(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config first = OI_AGENT_CONFIG_INIT, second = OI_AGENT_CONFIG_INIT;
    int64_t store_revision;
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "k", "1", "integer", NULL,
                                OI_SENSITIVE_KEEP, &first));
    assert_true(first.revision > 0);
    assert_int_equal(first.revision, raw_revision(fx, "agent_configs", first.id));
    assert_ok(fx, oi_store_revision(fx->store, &store_revision));
    assert_int_equal(first.revision, store_revision); /* the newest change is this one */

    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "k", "2", NULL, NULL,
                                OI_SENSITIVE_KEEP, &second));
    assert_true(second.revision > first.revision);
    assert_int_equal(second.revision, raw_revision(fx, "agent_configs", first.id));
    assert_int_equal(revision_of(fx, "k"), second.revision);

    oi_iter *it;
    oi_agent_config *items;
    assert_ok(fx, oi_agent_config_iter_by_agent(&it, fx->store, agent_of(fx)));
    assert_int_equal(fx_collect_agent_configs(fx, it, &items), 1);
    assert_int_equal(items[0].revision, second.revision);
    fx_free_agent_configs(items, 1);
    oi_agent_config_clear(&first);
    oi_agent_config_clear(&second);
}

/* Each of the six records reads the revision the row holds. */
static void test_cas_records_read_their_revision(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT;
    oi_agent_state st = OI_AGENT_STATE_INIT;
    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    oi_customer cu = OI_CUSTOMER_INIT;
    oi_recommendation rec = OI_RECOMMENDATION_INIT, approved = OI_RECOMMENDATION_INIT;
    oi_approval ap = OI_APPROVAL_INIT, ap_read = OI_APPROVAL_INIT;

    sample_agent_state(fx, &st);
    assert_true(st.revision > 0);
    assert_int_equal(st.revision, raw_revision(fx, "agent_states", st.id));
    sample_agent_capability(fx, &cap);
    assert_true(cap.revision > st.revision);
    assert_int_equal(cap.revision, raw_revision(fx, "agent_capabilities", cap.id));
    assert_ok(fx, oi_agent_get(fx->store, agent_of(fx), &a));
    assert_true(a.revision > 0);
    assert_int_equal(a.revision, raw_revision(fx, "agents", a.id));

    fx_make_customer(fx, "cas@example.com", &cu);
    fx_make_recommendation(fx, cu.id, agent_of(fx), &rec);
    assert_true(rec.revision > cap.revision);
    assert_int_equal(rec.revision, raw_revision(fx, "recommendations", rec.id));
    assert_ok(fx, oi_recommendation_approve(fx->store, rec.id, "ops", NULL, &ap));
    assert_ok(fx, oi_recommendation_get(fx->store, rec.id, &approved));
    assert_true(approved.revision > rec.revision); /* the approval moved it */
    assert_int_equal(approved.revision, raw_revision(fx, "recommendations", rec.id));
    assert_ok(fx, oi_approval_get(fx->store, ap.id, &ap_read));
    assert_true(ap_read.revision > 0);
    assert_int_equal(ap_read.revision, raw_revision(fx, "approvals", ap.id));

    oi_agent_clear(&a);
    oi_agent_state_clear(&st);
    oi_agent_capability_clear(&cap);
    oi_customer_clear(&cu);
    oi_recommendation_clear(&rec);
    oi_recommendation_clear(&approved);
    oi_approval_clear(&ap);
    oi_approval_clear(&ap_read);
}

/* A write never takes the revision from the caller's record; it hands back
 * the row's new one, read after the write. */
static void test_cas_writes_ignore_revision(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent a = OI_AGENT_INIT, fresh = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_get(fx->store, agent_of(fx), &a));
    int64_t before = a.revision;
    a.revision = 999999;
    free(a.status);
    a.status = strdup("busy"); /* a change (a heartbeat's copy alone is not logged) */
    assert_ok(fx, oi_agent_update(fx->store, &a));
    int64_t after = raw_revision(fx, "agents", a.id);
    assert_true(after > before && after != 999999);
    assert_int_equal(a.revision, after);

    fresh.type = "cost";
    fresh.name = "Fresh";
    fresh.revision = 999999;
    assert_ok(fx, oi_agent_create(fx->store, &fresh));
    assert_true(raw_revision(fx, "agents", fresh.id) > after);
    assert_true(raw_revision(fx, "agents", fresh.id) != 999999);
    assert_int_equal(fresh.revision, raw_revision(fx, "agents", fresh.id));
    oi_agent_clear(&a);
}

/* The records as 1.2's header declared them (version 1). */
typedef struct config_1_2 {
    unsigned int version;
    oi_uuid id, agent_id;
    char *config_key, *config_value, *config_type, *description;
    bool is_sensitive;
    oi_time created_at, updated_at;
} config_1_2;

typedef struct agent_1_2 {
    unsigned int version;
    oi_uuid id;
    char *type, *name, *agent_version, *status, *endpoint, *capabilities, *metadata;
    oi_time last_heartbeat, created_at, updated_at;
} agent_1_2;

_Static_assert(sizeof(config_1_2) == offsetof(oi_agent_config, revision),
               "revision follows the 1.2 fields of oi_agent_config");
_Static_assert(sizeof(agent_1_2) == offsetof(oi_agent, revision),
               "revision follows the 1.2 fields of oi_agent");

/* A program built against 1.2 knows records of version 1: the library
 * neither reads nor writes where revision would be.  They are allocated
 * at their 1.2 size, so the sanitizer build sees a write past them. */
static void test_cas_version1_records(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "k", "v", "string");

    config_1_2 *c = malloc(sizeof *c);
    oi_agent_config *as_c = (oi_agent_config *)c;
    assert_ok(fx, oi_agent_config_init(as_c, 1));
    assert_ok(fx, oi_agent_config_find(fx->store, agent_of(fx), "k", as_c));
    assert_string_equal(c->config_value, "v");
    oi_agent_config_clear(as_c);
    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "k", "w", NULL, NULL,
                                OI_SENSITIVE_KEEP, as_c));
    assert_string_equal(c->config_value, "w");
    oi_agent_config_clear(as_c);
    assert_ok(fx, cas(fx->store, agent_of(fx), "k", "x", revision_of(fx, "k"), as_c));
    assert_string_equal(c->config_value, "x");
    oi_agent_config_clear(as_c);
    oi_iter *it;
    assert_ok(fx, oi_agent_config_iter_by_agent(&it, fx->store, agent_of(fx)));
    assert_ok(fx, oi_agent_config_next(it, as_c));
    assert_string_equal(c->config_key, "k");
    oi_agent_config_clear(as_c);
    assert_rc(fx, oi_agent_config_next(it, as_c), OI_ITEROVER);
    oi_iter_free(it);
    free(c);

    agent_1_2 *a = malloc(sizeof *a);
    oi_agent *as_a = (oi_agent *)a;
    assert_ok(fx, oi_agent_init(as_a, 1));
    assert_ok(fx, oi_agent_get(fx->store, agent_of(fx), as_a));
    assert_string_equal(a->name, AGENT);
    oi_agent_clear(as_a);
    a->type = "cost";
    a->name = "Built Against 1.2";
    assert_ok(fx, oi_agent_create(fx->store, as_a));
    assert_true(raw_revision(fx, "agents", a->id) > 0);
    free(a);

    /* the whole struct, of version 1: the field stays as the caller left it */
    oi_agent_config full = OI_AGENT_CONFIG_INIT;
    full.version = 1;
    full.revision = CANARY;
    assert_ok(fx, oi_agent_config_find(fx->store, agent_of(fx), "k", &full));
    assert_string_equal(full.config_value, "x");
    assert_int_equal(full.revision, CANARY);
    oi_agent_config_clear(&full);
    assert_int_equal(full.revision, CANARY);
    assert_ok(fx, oi_agent_config_init(&full, 1));
    assert_int_equal(full.revision, CANARY);
}

/* ---- compare-and-set: the library ------------------------------------------ */

/* The test: two clients read the same config and both write with
 * the revision they read; one wins, the other is refused, and reads again. */
static void test_cas_two_clients_one_wins(void **state)
{
    oi_fixture *fx = FX(state);
    oi_store *other = NULL;
    oi_agent_config won = OI_AGENT_CONFIG_INIT, lost = OI_AGENT_CONFIG_INIT;
    oi_agent_config read_by_b = OI_AGENT_CONFIG_INIT;
    char want[200];
    int64_t final;
    assert_int_equal(oi_store_open(&other, fx->url), OI_OK);
    set_ok(fx, "budget", "100", "integer");
    int64_t read_by_a = revision_of(fx, "budget");
    assert_int_equal(oi_agent_config_find(other, agent_of(fx), "budget", &read_by_b), OI_OK);
    assert_int_equal(read_by_b.revision, read_by_a);

    assert_ok(fx, cas(fx->store, agent_of(fx), "budget", "150", read_by_a, &won));
    assert_true(won.revision > read_by_a);
    assert_string_equal(won.config_value, "150");
    char *after_a = stored(fx, "budget");

    assert_int_equal(cas(other, agent_of(fx), "budget", "120", read_by_b.revision, &lost),
                     OI_ECONFLICT);
    snprintf(want, sizeof want, "config 'budget' of agent %s is at revision %lld, not %lld",
             agent_of(fx), (long long)won.revision, (long long)read_by_b.revision);
    assert_contains(oi_errmsg(other), want);
    assert_contains(oi_errmsg(other), "read it again");
    assert_null(lost.config_value);
    char *after_b = stored(fx, "budget");
    assert_string_equal(after_b, after_a); /* the refusal wrote nothing */

    /* the loser reads again and writes: no update is lost */
    oi_agent_config_clear(&read_by_b);
    assert_int_equal(oi_agent_config_find(other, agent_of(fx), "budget", &read_by_b), OI_OK);
    assert_string_equal(read_by_b.config_value, "150");
    assert_int_equal(read_by_b.revision, won.revision);
    assert_int_equal(cas(other, agent_of(fx), "budget", "120", read_by_b.revision, &lost), OI_OK);
    assert_true(lost.revision > won.revision);
    assert_int_equal(revision_of(fx, "budget"), lost.revision);
    assert_ok(fx, oi_config_get_int64(fx->store, agent_of(fx), "budget", &final));
    assert_int_equal(final, 120);

    free(after_a);
    free(after_b);
    oi_agent_config_clear(&won);
    oi_agent_config_clear(&lost);
    oi_agent_config_clear(&read_by_b);
    oi_store_close(other);
}

static void test_cas_refusals_write_nothing(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config out = OI_AGENT_CONFIG_INIT;
    oi_config_set_options o = OI_CONFIG_SET_OPTIONS_INIT;
    set_ok(fx, "k", "10", "integer");
    int64_t revision = revision_of(fx, "k");
    char *before = stored(fx, "k");

    assert_rc(fx, cas(fx->store, agent_of(fx), "absent", "1", revision, &out), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "config 'absent' of agent");
    assert_contains(oi_errmsg(fx->store), "does not exist");
    assert_int_equal(fx_count(fx, "agent_configs"), 1);
    assert_null(out.config_key);
    assert_rc(fx, cas(fx->store, agent_of(fx), "k", "11", revision + 1, &out), OI_ECONFLICT);
    assert_null(out.config_key);
    /* a value that does not fit the type is refused first, whatever the revision */
    assert_rc(fx, cas(fx->store, agent_of(fx), "k", "abc", revision, NULL), OI_EINVALID);
    o.if_revision = true;
    o.revision = -1;
    assert_rc(fx, oi_config_set_with(fx->store, agent_of(fx), "k", "12", &o, NULL),
              OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "0 or more");
    o = (oi_config_set_options)OI_CONFIG_SET_OPTIONS_INIT;
    o.version = 0;
    assert_rc(fx, oi_config_set_with(fx->store, agent_of(fx), "k", "12", &o, NULL),
              OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_config_set_options version 0");
    o.version = OI_CONFIG_SET_OPTIONS_VERSION + 1;
    assert_rc(fx, oi_config_set_with(fx->store, agent_of(fx), "k", "12", &o, NULL),
              OI_EINVALID);
    assert_int_equal(oi_config_set_options_init(&o, OI_CONFIG_SET_OPTIONS_VERSION + 1),
                     OI_EINVALID);
    char *after = stored(fx, "k");
    assert_string_equal(after, before);
    free(before);
    free(after);
}

/* oi_config_set_options_init() is the INIT macro; NULL options keep type,
 * description and sensitivity, as oi_config_set() with NULLs does. */
static void test_cas_options_defaults(void **state)
{
    oi_fixture *fx = FX(state);
    oi_config_set_options o;
    oi_agent_config out = OI_AGENT_CONFIG_INIT;
    memset(&o, 0x7f, sizeof o);
    assert_int_equal(oi_config_set_options_init(&o, OI_CONFIG_SET_OPTIONS_VERSION), OI_OK);
    assert_int_equal(o.version, OI_CONFIG_SET_OPTIONS_VERSION);
    assert_true(!o.type && !o.description && o.sensitive == OI_SENSITIVE_KEEP);
    assert_true(!o.if_revision && o.revision == 0 && !o.fenced && o.fence == 0);

    assert_ok(fx, oi_config_set(fx->store, agent_of(fx), "k", "10", "integer", "a limit",
                                OI_SENSITIVE_YES, NULL));
    assert_ok(fx, oi_config_set_with(fx->store, agent_of(fx), "k", "12", NULL, &out));
    assert_string_equal(out.config_value, "12");
    assert_string_equal(out.config_type, "integer");
    assert_string_equal(out.description, "a limit");
    assert_true(out.is_sensitive);
    assert_int_equal(out.revision, revision_of(fx, "k"));
    oi_agent_config_clear(&out);
}

/* ---- compare-and-set: processes ---------------------------------------------- */

enum { RACERS = 8 };

typedef struct cas_race {
    const char *agent_id;
    int64_t revision;
    const char *log;
} cas_race;

/* Every racer writes its number with the same revision: "won" or "lost". */
static int cas_racer(int index, const char *url, void *ctx)
{
    const cas_race *race = ctx;
    oi_store *s = NULL;
    char value[16];
    snprintf(value, sizeof value, "%d", index);
    int rc = oi_store_open(&s, url);
    if (rc == OI_OK)
        rc = cas(s, race->agent_id, "slot", value, race->revision, NULL);
    bool logged = (rc == OI_OK || rc == OI_ECONFLICT) &&
                  race_log(race->log, "%s %d", rc == OI_OK ? "won" : "lost", index);
    if (!logged)
        fprintf(stderr, "racer %d: %d %s\n", index, rc, oi_errmsg(s));
    oi_store_close(s);
    return logged ? 0 : 1;
}

static int count_lines_with(const char *text, const char *prefix, int *number)
{
    int n = 0;
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            n++;
            *number = atoi(line + strlen(prefix));
        }
    }
    return n;
}

static void test_cas_racing_processes_one_wins(void **state)
{
    oi_fixture *fx = FX(state);
    set_ok(fx, "slot", "none", "string");
    cas_race race = {agent_of(fx), revision_of(fx, "slot"), race_log_path(fx)};
    race_run(fx, RACERS, cas_racer, &race);
    char *log = race_log_read(fx);
    int winner = -1, loser = -1;
    assert_int_equal(count_lines_with(log, "won ", &winner), 1);
    assert_int_equal(count_lines_with(log, "lost ", &loser), RACERS - 1);
    char want[16], *got = stored(fx, "slot");
    snprintf(want, sizeof want, "%d|", winner);
    assert_true(strncmp(got, want, strlen(want)) == 0);
    free(got);
    free(log);
}

/* A writer that waits for another's transaction on the row must find the
 * row moved once it gets it: on PostgreSQL, READ COMMITTED evaluates the
 * UPDATE's WHERE again on the committed row; on SQLite the writer waits
 * for the write lock and reads the committed row. */
static void waiting_writer(const char *url, const char *agent_id, int64_t revision, int ready,
                           int go)
{
    oi_store *s = NULL;
    char c;
    int rc = oi_store_open(&s, url);
    if (rc != OI_OK || write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
        _exit(98);
    rc = cas(s, agent_id, "mode", "child", revision, NULL);
    if (rc != OI_ECONFLICT)
        fprintf(stderr, "waiting writer: %d %s\n", rc, oi_errmsg(s));
    oi_store_close(s);
    _exit(rc == OI_ECONFLICT ? 0 : 1);
}

static void test_cas_waiting_writer_finds_row_moved(void **state)
{
    oi_fixture *fx = FX(state);
    int ready[2], go[2], status = 0;
    char c;
    set_ok(fx, "mode", "start", "string");
    int64_t revision = revision_of(fx, "mode");
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        waiting_writer(fx->url, agent_of(fx), revision, ready[1], go[0]);
    assert_int_equal(read(ready[0], &c, 1), 1); /* its store is open */
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, cas(fx->store, agent_of(fx), "mode", "parent", revision, NULL));
    assert_int_equal(write(go[1], "g", 1), 1);
    usleep(300 * 1000); /* its UPDATE now waits for this transaction */
    assert_ok(fx, oi_commit(fx->store));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *got = stored(fx, "mode");
    assert_true(strncmp(got, "parent|", 7) == 0);
    assert_true(revision_of(fx, "mode") > revision);
    free(got);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

/* ---- fenced writes --------------------------------------------------------- */

static int64_t take_lock(oi_fixture *fx, const char *resource)
{
    oi_lock lock = OI_LOCK_INIT;
    assert_ok(fx, oi_lock_acquire_with(fx->store, agent_of(fx), resource, NULL, &lock));
    int64_t fence = lock.fence;
    oi_lock_clear(&lock);
    return fence;
}

static void test_cas_fenced_writes(void **state)
{
    oi_fixture *fx = FX(state);
    int64_t first = take_lock(fx, "gpu_pool");
    assert_ok(fx, fenced(fx->store, agent_of(fx), "target", "a", first));
    assert_ok(fx, oi_lock_release(fx->store, agent_of(fx), "gpu_pool"));
    int64_t second = take_lock(fx, "gpu_pool");
    assert_true(second > first);
    char *before = stored(fx, "target");

    assert_rc(fx, fenced(fx->store, agent_of(fx), "target", "b", first), OI_ESTALE);
    assert_contains(oi_errmsg(fx->store), "is stale");
    assert_rc(fx, fenced(fx->store, agent_of(fx), "target", "b", second + 1000), OI_ESTALE);
    assert_rc(fx, fenced(fx->store, agent_of(fx), "other", "b", first), OI_ESTALE);
    assert_int_equal(fx_count(fx, "agent_configs"), 1);

    /* with a revision too: each condition refuses on its own */
    oi_config_set_options o = OI_CONFIG_SET_OPTIONS_INIT;
    o.fenced = o.if_revision = true;
    o.fence = first;
    o.revision = revision_of(fx, "target");
    assert_rc(fx, oi_config_set_with(fx->store, agent_of(fx), "target", "c", &o, NULL),
              OI_ESTALE);
    o.fence = second;
    o.revision += 1000;
    assert_rc(fx, oi_config_set_with(fx->store, agent_of(fx), "target", "c", &o, NULL),
              OI_ECONFLICT);
    char *after = stored(fx, "target");
    assert_string_equal(after, before);

    o.revision = revision_of(fx, "target");
    assert_ok(fx, oi_config_set_with(fx->store, agent_of(fx), "target", "c", &o, NULL));
    assert_ok(fx, fenced(fx->store, agent_of(fx), "target", "d", second));
    free(after);
    after = stored(fx, "target");
    assert_true(strncmp(after, "d|", 2) == 0);
    free(before);
    free(after);
}

/* ---- the CLI ----------------------------------------------------------------- */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

/* The "revision" member of a JSON text. */
static int64_t json_revision(const char *text)
{
    json_t *j = fx_json(text);
    json_t *revision = json_object_get(j, "revision");
    assert_true(json_is_integer(revision));
    int64_t n = json_integer_value(revision);
    json_decref(j);
    return n;
}

/* `config get AGENT KEY --json`'s revision. */
static int64_t cli_revision(oi_fixture *fx, const char *key)
{
    fx_run r;
    fx_cli(fx, &r, "config", "get", AGENT, key, "--json", (char *)NULL);
    assert_exit(&r, 0);
    int64_t revision = json_revision(r.out);
    fx_run_free(&r);
    return revision;
}

static void test_cas_cli_two_clients(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    char rev[32];
    set_ok(fx, "budget", "100", "integer");
    int64_t read = cli_revision(fx, "budget");
    assert_int_equal(cli_revision(fx, "budget"), read);
    assert_int_equal(read, revision_of(fx, "budget"));
    snprintf(rev, sizeof rev, "%lld", (long long)read);

    fx_cli(fx, &r, "config", "set", AGENT, "budget", "150", "--if-revision", rev, "--json",
           (char *)NULL);
    assert_exit(&r, 0);
    int64_t won = json_revision(r.out);
    assert_true(won > read);
    assert_int_equal(won, revision_of(fx, "budget"));
    fx_run_free(&r);
    char *after = stored(fx, "budget");

    fx_cli(fx, &r, "config", "set", AGENT, "budget", "120", "--if-revision", rev, (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "is at revision");
    assert_contains(r.err, "read it again");
    assert_string_equal(r.out, "");
    fx_run_free(&r);
    char *now = stored(fx, "budget");
    assert_string_equal(now, after);

    /* the loser reads again and writes */
    assert_int_equal(cli_revision(fx, "budget"), won);
    snprintf(rev, sizeof rev, "%lld", (long long)won);
    fx_cli(fx, &r, "config", "set", AGENT, "budget", "120", "--if-revision", rev, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "budget = 120");
    fx_run_free(&r);
    assert_true(revision_of(fx, "budget") > won);

    fx_cli(fx, &r, "config", "list", AGENT, "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *list = fx_json(r.out);
    assert_int_equal(json_integer_value(fx_json_at(list, "0.revision")),
                     revision_of(fx, "budget"));
    json_decref(list);
    fx_run_free(&r);
    free(after);
    free(now);
}

static void test_cas_cli_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    set_ok(fx, "k", "v", "string");
    char *before = stored(fx, "k");

    fx_cli(fx, &r, "config", "set", AGENT, "k", "w", "--if-revision", "abc", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "--if-revision is not a whole number");
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "k", "w", "--fence", "0", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "nope", "w", "--if-revision", "5", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "does not exist");
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "k", "w", "--fence", "424242", (char *)NULL);
    assert_exit(&r, 7);
    assert_contains(r.err, "fencing token 424242 is stale");
    fx_run_free(&r);
    char *after = stored(fx, "k");
    assert_string_equal(after, before);
    assert_int_equal(fx_count(fx, "agent_configs"), 1);

    /* the token `lock acquire` prints is taken */
    fx_cli(fx, &r, "lock", "acquire", AGENT, "gpu_pool", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *lock = fx_json(r.out);
    char fence[32];
    snprintf(fence, sizeof fence, "%lld", (long long)json_integer_value(fx_json_at(lock, "fence")));
    json_decref(lock);
    fx_run_free(&r);
    fx_cli(fx, &r, "config", "set", AGENT, "k", "w", "--fence", fence, (char *)NULL);
    assert_exit(&r, 0);
    fx_run_free(&r);
    free(after);
    after = stored(fx, "k");
    assert_true(strncmp(after, "w|", 2) == 0);
    free(before);
    free(after);
}

/* ---- the service --------------------------------------------------------------- */

/* PUT body to path, with If-Match: if_match unless it is NULL. */
static void put(const fx_server *srv, fx_http *r, const char *path, const char *body,
                const char *if_match)
{
    char header[128];
    const char *headers[] = {header, NULL};
    snprintf(header, sizeof header, "If-Match: %s", if_match ? if_match : "");
    fx_request(srv, r, "PUT", path, body, NULL, if_match ? headers : NULL);
}

/* The revision an answer carries: its ETag must be it, quoted. */
static int64_t answer_revision(const fx_http *r)
{
    char *etag = fx_http_header(r, "ETag"), want[40];
    int64_t revision = json_integer_value(json_object_get(r->json, "revision"));
    snprintf(want, sizeof want, "\"%lld\"", (long long)revision);
    assert_non_null(etag);
    assert_string_equal(etag, want);
    free(etag);
    return revision;
}

/* A refused PUT: its status and code, and the key as it was. */
static void refused(oi_fixture *fx, const fx_server *srv, const char *path, const char *body,
                    const char *if_match, long status, const char *code)
{
    fx_http r;
    char *before = stored(fx, "budget");
    put(srv, &r, path, body, if_match);
    assert_status(&r, status);
    assert_string_equal(fx_http_error_code(&r), code);
    fx_http_free(&r);
    char *after = stored(fx, "budget");
    assert_string_equal(after, before);
    free(before);
    free(after);
}

static void test_cas_http_two_clients(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char path[200], tag[40], body[100];
    set_ok(fx, "budget", "100", "integer");
    snprintf(path, sizeof path, "/v1/agents/%s/configs/budget", agent_of(fx));
    fx_server_start(fx, &srv, NULL);

    fx_get(&srv, &r, path);
    assert_status(&r, 200);
    int64_t read = answer_revision(&r);
    assert_int_equal(read, revision_of(fx, "budget"));
    fx_http_free(&r);
    snprintf(tag, sizeof tag, "\"%lld\"", (long long)read);

    put(&srv, &r, path, "{\"value\": 150}", tag);
    assert_status(&r, 200);
    int64_t won = answer_revision(&r);
    assert_true(won > read);
    assert_int_equal(won, revision_of(fx, "budget"));
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "150");
    fx_http_free(&r);

    /* the second client, with the revision it read: 412 as If-Match, 409 in the body */
    refused(fx, &srv, path, "{\"value\": 120}", tag, 412, "revision_conflict");
    snprintf(body, sizeof body, "{\"value\": 120, \"revision\": %lld}", (long long)read);
    refused(fx, &srv, path, body, NULL, 409, "revision_conflict");

    /* it reads again and wins */
    fx_get(&srv, &r, path);
    assert_int_equal(answer_revision(&r), won);
    fx_http_free(&r);
    snprintf(body, sizeof body, "{\"value\": 120, \"revision\": %lld}", (long long)won);
    put(&srv, &r, path, body, NULL);
    assert_status(&r, 200);
    assert_true(answer_revision(&r) > won);
    assert_string_equal(json_string_value(json_object_get(r.json, "value")), "120");
    fx_http_free(&r);
    assert_int_equal(fx_server_stop(&srv), 0);
}

static void test_cas_http_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    fx_http r;
    char path[200], absent[200], tag[40], body[100];
    set_ok(fx, "budget", "100", "integer");
    int64_t revision = revision_of(fx, "budget");
    snprintf(path, sizeof path, "/v1/agents/%s/configs/budget", agent_of(fx));
    snprintf(absent, sizeof absent, "/v1/agents/%s/configs/absent", agent_of(fx));
    snprintf(tag, sizeof tag, "\"%lld\"", (long long)revision);
    fx_server_start(fx, &srv, NULL);

    static const char *const malformed[] = {
        "12", "W/\"12\"", "*", "\"1\", \"2\"", "\"12", "\"-1\"", "\"x\"", "\"\"", NULL
    };
    for (const char *const *m = malformed; *m; m++)
        refused(fx, &srv, path, "{\"value\": 7}", *m, 400, "malformed");
    snprintf(body, sizeof body, "{\"value\": 7, \"revision\": %lld}", (long long)revision + 1);
    refused(fx, &srv, path, body, tag, 422, "invalid");
    refused(fx, &srv, path, "{\"value\": 7, \"revision\": -1}", NULL, 422, "invalid");
    refused(fx, &srv, path, "{\"value\": 7, \"revision\": \"3\"}", NULL, 422, "invalid");
    refused(fx, &srv, path, "{\"value\": 7, \"fence\": 0}", NULL, 422, "invalid");
    refused(fx, &srv, path, "{\"value\": 7, \"fence\": 424242}", NULL, 409, "stale_fence");
    refused(fx, &srv, path, "{\"value\": \"x\"}", tag, 422, "invalid");

    /* a key that does not exist: If-Match fails (412), a body revision finds nothing (404) */
    refused(fx, &srv, absent, "{\"value\": 1}", tag, 412, "not_found");
    snprintf(body, sizeof body, "{\"value\": 1, \"revision\": %lld}", (long long)revision);
    refused(fx, &srv, absent, body, NULL, 404, "not_found");
    assert_int_equal(fx_count(fx, "agent_configs"), 1);

    /* a new key: 201, with its ETag */
    put(&srv, &r, absent, "{\"value\": 1}", NULL);
    assert_status(&r, 201);
    assert_true(answer_revision(&r) > revision);
    fx_http_free(&r);
    assert_int_equal(fx_server_stop(&srv), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

/* Writes that hand a record back give the row's revision after the write:
 * a registration, a capability switched, a workflow transition. */
static void test_cas_writes_hand_back_new_revision(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent reg = OI_AGENT_INIT;
    reg.type = "cost";
    reg.name = "Registered";
    assert_ok(fx, oi_agent_register(fx->store, &reg, NULL));
    assert_true(reg.revision > 0);
    assert_int_equal(reg.revision, raw_revision(fx, "agents", reg.id));

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT, switched = OI_AGENT_CAPABILITY_INIT;
    memcpy(cap.agent_id, reg.id, sizeof cap.agent_id);
    cap.capability_name = "scale";
    cap.capability_version = "1.0.0";
    assert_ok(fx, oi_capability_register(fx->store, &cap));
    assert_int_equal(cap.revision, raw_revision(fx, "agent_capabilities", cap.id));
    assert_ok(fx, oi_capability_set_enabled(fx->store, reg.id, "scale", "1.0.0", false,
                                            &switched));
    assert_true(switched.revision > cap.revision);
    assert_int_equal(switched.revision, raw_revision(fx, "agent_capabilities", cap.id));

    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_start_workflow(fx->store, reg.id, "scan", NULL, &st));
    assert_int_equal(st.revision, raw_revision(fx, "agent_states", st.id));
    int64_t started = st.revision;
    oi_agent_state_clear(&st);
    assert_ok(fx, oi_agent_finish_workflow(fx->store, reg.id, &st));
    assert_true(st.revision > started);
    assert_int_equal(st.revision, raw_revision(fx, "agent_states", st.id));
    /* the transition's answer (CLI --json, as the service's) shows it too */
    fx_run run;
    fx_cli(fx, &run, "agent", "start", "Registered", "rescan", "--json", NULL);
    assert_int_equal(run.status, 0);
    json_t *answer = json_loads(run.out, 0, NULL);
    assert_non_null(answer);
    assert_int_equal(json_integer_value(json_object_get(answer, "revision")),
                     raw_revision(fx, "agent_states", st.id));
    json_decref(answer);
    fx_run_free(&run);
    oi_agent_state_clear(&st);
    oi_agent_capability_clear(&switched);
    oi_agent_clear(&reg); /* the stored record register filled in */
}

int run_cas_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cas_config_revision_moves),
        T(test_cas_records_read_their_revision),
        T(test_cas_writes_ignore_revision),
        T(test_cas_writes_hand_back_new_revision),
        T(test_cas_version1_records),
        T(test_cas_two_clients_one_wins),
        T(test_cas_refusals_write_nothing),
        T(test_cas_options_defaults),
        T(test_cas_racing_processes_one_wins),
        T(test_cas_waiting_writer_finds_row_moved),
        T(test_cas_fenced_writes),
        T(test_cas_cli_two_clients),
        T(test_cas_cli_refusals),
        T(test_cas_http_two_clients),
        T(test_cas_http_refusals),
    };
    return fx_run_group("cas", tests);
}
