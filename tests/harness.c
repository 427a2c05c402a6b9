/*
 * harness.c - fixtures, raw database access and the CLI runner shared by
 * every test file (see harness.h for the why).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <uuid/uuid.h>

/* ------------------------------------------------------------------ */
/* backend choice                                                      */

const char *fx_backend(void)
{
    const char *b = getenv("OI_TEST_BACKEND");
    return (b && *b) ? b : "sqlite";
}

bool fx_is_pg(void)
{
    return strcmp(fx_backend(), "postgresql") == 0;
}

static int skipped;

void fx_skip_unless_pg(void)
{
    if (!fx_is_pg()) {
        skipped++;
        skip();
    }
}

void fx_skip(const char *why)
{
    print_message("skipped: %s\n", why);
    skipped++;
    skip();
}

void fx_skip_in_sanitizer_build(const char *why)
{
#if defined(__SANITIZE_ADDRESS__)
    fx_skip(why);
#else
    (void)why;
#endif
}

/* ------------------------------------------------------------------ */
/* raw access                                                          */

/* Append one libpq key='value' pair, quoted as libpq wants. */
static void conninfo_add(FILE *f, const char *key, const char *env)
{
    const char *v = getenv(env);
    if (!v || !*v)
        return;
    fprintf(f, "%s%s='", ftell(f) ? " " : "", key);
    for (; *v; v++) {
        if (*v == '\'' || *v == '\\')
            fputc('\\', f);
        fputc(*v, f);
    }
    fputc('\'', f);
}

static void pg_url(char *out, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    conninfo_add(f, "host", "PGHOST");
    conninfo_add(f, "port", "PGPORT");
    conninfo_add(f, "dbname", "PGDATABASE");
    conninfo_add(f, "user", "PGUSER");
    conninfo_add(f, "password", "PGPASSWORD");
    fclose(f);
    if (len == 0 || len >= size)
        fail_msg("set PGHOST, PGPORT, PGDATABASE, PGUSER (run under pg_virtualenv)");
    memcpy(out, text, len + 1);
    free(text);
}

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *pg_connect(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        print_error("raw libpq connect failed: %s\n", PQerrorMessage(conn));
        PQfinish(conn);
        fail();
    }
    PQsetNoticeProcessor(conn, pg_quiet, NULL);
    return conn;
}

static char *pg_rows(const char *conninfo, const char *sql)
{
    PGconn *conn = pg_connect(conninfo);
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        print_error("raw SQL failed: %s\n  %s\n", PQerrorMessage(conn), sql);
        PQclear(res);
        PQfinish(conn);
        fail();
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (int r = 0; r < PQntuples(res); r++) {
        for (int c = 0; c < PQnfields(res); c++)
            fprintf(f, "%s%s", c ? "|" : "", PQgetvalue(res, r, c));
        fputc('\n', f);
    }
    fclose(f);
    PQclear(res);
    PQfinish(conn);
    return text;
}

static int sqlite_row(void *ctx, int n, char **values, char **names)
{
    (void)names;
    for (int c = 0; c < n; c++)
        fprintf(ctx, "%s%s", c ? "|" : "", values[c] ? values[c] : "");
    fputc('\n', ctx);
    return 0;
}

static char *sqlite_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        print_error("raw sqlite open %s failed: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        fail();
    }
    sqlite3_busy_timeout(db, 10000);
    char *text = NULL, *err = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc = sqlite3_exec(db, sql, sqlite_row, f, &err);
    fclose(f);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
        print_error("raw SQL failed: %s\n  %s\n", err ? err : "?", sql);
        sqlite3_free(err);
        free(text);
        fail();
    }
    return text;
}

bool fx_sql_try(oi_fixture *fx, const char *sql)
{
    if (fx_is_pg()) {
        PGconn *conn = pg_connect(fx->url);
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        PQfinish(conn);
        return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    }
    sqlite3 *db = NULL;
    bool ok = sqlite3_open_v2(fx->db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
              sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
              sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

char *fx_sql_text(oi_fixture *fx, const char *sql)
{
    return fx_is_pg() ? pg_rows(fx->url, sql) : sqlite_rows(fx->db_path, sql);
}

void fx_sql_exec(oi_fixture *fx, const char *sql)
{
    free(fx_sql_text(fx, sql));
}

long long fx_sql_int(oi_fixture *fx, const char *sql)
{
    char *text = fx_sql_text(fx, sql);
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text) {
        print_error("raw SQL gave no integer: '%s'\n  %s\n", text, sql);
        free(text);
        fail();
    }
    free(text);
    return v;
}

long long fx_count(oi_fixture *fx, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return fx_sql_int(fx, sql);
}

long long fx_user_tables(oi_fixture *fx)
{
    return fx_sql_int(fx, fx_is_pg()
        ? "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
          "AND relkind IN ('r', 'p') AND NOT relispartition AND relname <> 'alembic_version'"
        : "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
          "AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'");
}

char *fx_schema_dump(oi_fixture *fx)
{
    if (!fx_is_pg())
        return fx_sql_text(fx, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");
    return fx_sql_text(fx,
        "SELECT * FROM ("
        " SELECT 'column', table_name::text, column_name::text, data_type::text,"
        "        is_nullable::text, coalesce(column_default::text, ''), is_identity::text"
        "   FROM information_schema.columns WHERE table_schema = 'public'"
        " UNION ALL"
        " SELECT 'index', tablename::text, indexname::text, indexdef, '', '', ''"
        "   FROM pg_indexes WHERE schemaname = 'public'"
        " UNION ALL"
        " SELECT 'constraint', conrelid::regclass::text, conname::text,"
        "        pg_get_constraintdef(oid), '', '', ''"
        "   FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        " UNION ALL"
        " SELECT 'trigger', event_object_table::text, trigger_name::text,"
        "        event_manipulation::text, action_statement::text, '', ''"
        "   FROM information_schema.triggers WHERE trigger_schema = 'public'"
        " UNION ALL"
        " SELECT 'function', proname::text, pg_get_function_identity_arguments(oid),"
        "        md5(prosrc), '', '', ''"
        "   FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        ") s ORDER BY 1, 2, 3, 4, 5");
}

/* Every row of every table, in one statement: a hostile-input test takes
 * thousands of fingerprints, and a connection per table would cost more
 * than the commands they judge.  Each table's rows are ordered by its
 * primary key's columns, else (a table without one) by the whole row.
 * PostgreSQL runs the SELECT of each table inside the one statement
 * (query_to_xml), each row as its row value's text; partitions are read
 * through their parent, once. */
static const char fingerprint_pg[] =
    "SELECT c.relname, query_to_xml(format('SELECT x::text AS r FROM %I x ORDER BY %s',"
    "  c.relname, coalesce((SELECT string_agg('x.' || quote_ident(a.attname), ', '"
    "                                          ORDER BY array_position(i.indkey::int2[], a.attnum))"
    "    FROM pg_index i JOIN pg_attribute a"
    "      ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
    "   WHERE i.indrelid = c.oid AND i.indisprimary), 'x::text')), false, false, '')"
    " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
    " AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname";

/* SQLite cannot run a SELECT built inside a statement: the tables, each
 * with its ORDER BY (alias x) and its row as one text (its columns quote()d,
 * so NULL and '' differ), make one UNION ALL (a file open costs little). */
static const char fingerprint_tables_sqlite[] =
    "SELECT m.name,"
    " coalesce((SELECT group_concat('x.\"' || name || '\"', ', ')"
    "   FROM (SELECT name FROM pragma_table_info(m.name) WHERE pk > 0 ORDER BY pk)), 'x.rowid'),"
    " (SELECT group_concat('quote(x.\"' || name || '\")', ' || ''|'' || ')"
    "   FROM (SELECT name FROM pragma_table_info(m.name) ORDER BY cid))"
    " FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
    " ORDER BY m.name";

char *fx_db_fingerprint(oi_fixture *fx)
{
    if (fx_is_pg())
        return fx_sql_text(fx, fingerprint_pg);
    char *tables = fx_sql_text(fx, fingerprint_tables_sqlite);
    char *sql = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sql, &len);
    fputs("SELECT t, r FROM (", f);
    int i = 0;
    for (char *save = NULL, *line = strtok_r(tables, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), i++) {
        char *order = strchr(line, '|');
        char *row = order ? strchr(order + 1, '|') : NULL;
        assert_non_null(row);
        *order++ = '\0';
        *row++ = '\0';
        fprintf(f, "%sSELECT %d AS i, row_number() OVER (ORDER BY %s) AS n, '%s' AS t, "
                   "%s AS r FROM \"%s\" x",
                i ? " UNION ALL " : "", i, order, line, row, line);
    }
    fputs(") s ORDER BY i, n", f);
    fclose(f);
    free(tables);
    char *text = fx_sql_text(fx, sql);
    free(sql);
    return text;
}

/* ------------------------------------------------------------------ */
/* fixtures                                                            */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

fx_counters fx_counters_now;

double fx_seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh SQLite database migrated to head is a copy of the file of one
 * migrated once per run, the template: migrating each test's file cost
 * more than most tests in the sanitizer build (the validate group's 6
 * tests: 3.25 s of CPU -> 2.24 s, medians of 3 alternated).  On PostgreSQL each test's setup drops
 * and recreates schema public and migrates it: a CREATE DATABASE ...
 * TEMPLATE per test cost the server more CPU than that (6 setups: 3.0 s
 * against 4.6 s, or 3.6 s with STRATEGY FILE_COPY). */
static char template_dir[256]; /* "" until the first setup makes it */

/* Migrate the database at url to head with the library under test. */
static void migrate_to_head(oi_fixture *fx)
{
    assert_ok(fx, oi_store_open(&fx->store, fx->url));
    assert_ok(fx, oi_migrate_upgrade(fx->store, "head", NULL, NULL, NULL));
}

static void sqlite_template_path(char *out, size_t size)
{
    snprintf(out, size, "%s/template.db", template_dir);
}

static void make_sqlite_template(void)
{
    oi_fixture tmpl = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(template_dir, sizeof template_dir, "%s/oi-template-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(template_dir))
        fail_msg("mkdtemp %s: %s", template_dir, strerror(errno));
    sqlite_template_path(tmpl.db_path, sizeof tmpl.db_path);
    snprintf(tmpl.url, sizeof tmpl.url, "sqlite:%s", tmpl.db_path);
    migrate_to_head(&tmpl);
    oi_store_close(tmpl.store); /* the last connection: the WAL is checkpointed into the file */
}

/* The template file, byte for byte, into a new file. */
static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
    struct stat st;
    if (in < 0 || out < 0 || fstat(in, &st) != 0)
        fail_msg("copy %s to %s: %s", from, to, strerror(errno));
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n <= 0)
            fail_msg("copy %s to %s: %s", from, to, n < 0 ? strerror(errno) : "short");
        left -= n;
    }
    close(in);
    close(out);
}

/* fx->url names a database migrated to head, fx->store is open on it. */
static void fresh_database(oi_fixture *fx)
{
    if (fx_is_pg()) {
        pg_url(fx->url, sizeof fx->url);
        fx_sql_exec(fx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
        migrate_to_head(fx);
        return;
    }
    if (!*template_dir)
        make_sqlite_template();
    char path[300];
    sqlite_template_path(path, sizeof path);
    snprintf(fx->db_path, sizeof fx->db_path, "%s/test.db", fx->dir);
    snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->db_path);
    copy_file(path, fx->db_path);
    assert_ok(fx, oi_store_open(&fx->store, fx->url));
}

static int open_fresh(void **state, bool with_agent)
{
    double started = fx_seconds_now();
    oi_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx;
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/oi-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->dir))
        fail_msg("mkdtemp %s: %s", fx->dir, strerror(errno));
    fx->cost_agent = (oi_agent)OI_AGENT_INIT;
    fresh_database(fx);
    if (with_agent)
        fx_make_agent(fx, "cost", "Test Cost Agent", &fx->cost_agent);
    fx_counters_now.setup_seconds += fx_seconds_now() - started;
    return 0;
}

int fx_setup(void **state)
{
    return open_fresh(state, false);
}

int fx_setup_agent(void **state)
{
    return open_fresh(state, true);
}

int fx_teardown(void **state)
{
    oi_fixture *fx = *state;
    if (!fx)
        return 0;
    oi_agent_clear(&fx->cost_agent);
    oi_store_close(fx->store);
    if (!getenv("OI_TEST_KEEP"))
        nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    *state = NULL;
    return 0;
}

int fx_record_batch(oi_store *store, oi_agent_metric *items, size_t n)
{
    oi_agent_metric **ptrs = malloc((n ? n : 1) * sizeof *ptrs);
    if (!ptrs)
        return OI_ERROR;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &items[i];
    int rc = oi_metric_record_batch(store, ptrs, n);
    free(ptrs);
    return rc;
}

void fx_random_uuid(char out[OI_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

void fx_make_agent(oi_fixture *fx, const char *type, const char *name, oi_agent *out)
{
    oi_agent a = OI_AGENT_INIT;
    a.type = (char *)type;
    a.name = (char *)name;
    a.agent_version = "1.0.0";
    a.status = "active";
    a.endpoint = "http://test:8000";
    a.capabilities = "[\"test\"]";
    a.last_heartbeat = oi_time_now();
    assert_ok(fx, oi_agent_create(fx->store, &a));
    assert_ok(fx, oi_agent_get(fx->store, a.id, out));
}

void fx_make_customer(oi_fixture *fx, const char *email, oi_customer *out)
{
    oi_customer c = OI_CUSTOMER_INIT;
    c.name = "Acme AI";
    c.email = (char *)email;
    c.api_key = (char *)email; /* unique because the email is */
    c.plan = "startup";
    c.metadata = "{\"industry\":\"saas\"}";
    assert_ok(fx, oi_customer_create(fx->store, &c));
    assert_ok(fx, oi_customer_get(fx->store, c.id, out));
}

void fx_make_recommendation(oi_fixture *fx, const char *customer_id, const char *agent_id,
                            oi_recommendation *out)
{
    oi_recommendation r = OI_RECOMMENDATION_INIT;
    snprintf(r.customer_id, sizeof r.customer_id, "%s", customer_id);
    snprintf(r.agent_id, sizeof r.agent_id, "%s", agent_id);
    r.type = "spot_migration";
    r.title = "Move batch inference to spot instances";
    r.description = "Nightly batch jobs tolerate interruption";
    r.estimated_savings = 1234.5;
    r.estimated_improvement = OI_NULL_NUMBER;
    r.confidence_score = 0.8;
    r.priority = "high";
    r.approved_at = OI_TIME_NULL;
    r.executed_at = OI_TIME_NULL;
    assert_ok(fx, oi_recommendation_create(fx->store, &r));
    assert_ok(fx, oi_recommendation_get(fx->store, r.id, out));
}

/* ------------------------------------------------------------------ */
/* iterators into arrays                                               */

#define FX_COLLECTOR(X, T, INIT, NEXT_CALL, CLEAR_CALL)                         \
    size_t fx_collect_##X(oi_fixture *fx, oi_iter *it, T **out)                 \
    {                                                                           \
        T *items = NULL, rec = INIT;                                            \
        size_t n = 0, cap = 0;                                                  \
        int rc;                                                                 \
        assert_non_null(it);                                                    \
        while ((rc = NEXT_CALL) == OI_OK) {                                     \
            if (!out) {                                                         \
                CLEAR_CALL;                                                     \
                n++;                                                            \
                continue;                                                       \
            }                                                                   \
            if (n == cap) {                                                     \
                cap = cap ? 2 * cap : 16;                                       \
                items = realloc(items, cap * sizeof *items);                    \
                assert_non_null(items);                                         \
            }                                                                   \
            items[n++] = rec;                                                   \
            rec = (T)INIT;                                                      \
        }                                                                       \
        oi_iter_free(it);                                                       \
        fx_assert_rc(fx->store, rc, OI_ITEROVER, "next() of fx_collect_" #X,   \
                     __FILE__, __LINE__);                                       \
        if (out)                                                                \
            *out = items;                                                       \
        return n;                                                               \
    }                                                                           \
    void fx_free_##X(T *items, size_t n)                                        \
    {                                                                           \
        for (size_t i = 0; i < n; i++) {                                        \
            T *r_ = &items[i];                                                  \
            (void)r_;                                                           \
            FREE_ONE_##X;                                                       \
        }                                                                       \
        free(items);                                                            \
    }                                                                           \
    int fx_first_##X(int rc, oi_iter **itp)                                     \
    {                                                                           \
        oi_iter *it = *itp;                                                     \
        *itp = NULL;                                                            \
        if (rc != OI_OK) {                                                      \
            if (it)                                                             \
                fail_msg("a constructor returned %d without setting *out to NULL", rc); \
            return rc;                                                          \
        }                                                                       \
        T rec = INIT;                                                           \
        rc = NEXT_CALL;                                                         \
        if (rc == OI_OK)                                                        \
            CLEAR_CALL;                                                         \
        oi_iter_free(it);                                                       \
        return rc;                                                              \
    }

#define FREE_ONE_customers oi_customer_clear(r_)
#define FREE_ONE_agents oi_agent_clear(r_)
#define FREE_ONE_events oi_event_clear(r_)
#define FREE_ONE_recommendations oi_recommendation_clear(r_)
#define FREE_ONE_approvals oi_approval_clear(r_)
#define FREE_ONE_optimizations oi_optimization_clear(r_)
#define FREE_ONE_agent_configs oi_agent_config_clear(r_)
#define FREE_ONE_agent_states oi_agent_state_clear(r_)
#define FREE_ONE_agent_capabilities oi_agent_capability_clear(r_)
#define FREE_ONE_agent_metrics oi_agent_metric_clear(r_)
#define FREE_ONE_locks oi_lock_clear(r_)
#define FREE_ONE_livenesses oi_agent_liveness_clear(r_)
#define FREE_ONE_metric_stats oi_metric_stats_clear(r_)
#define FREE_ONE_api_tokens oi_api_token_clear(r_)
#define FREE_ONE_capable (oi_agent_clear(&r_->agent), oi_agent_capability_clear(&r_->capability))

FX_COLLECTOR(customers, oi_customer, OI_CUSTOMER_INIT,
             oi_customer_next(it, &rec), oi_customer_clear(&rec))
FX_COLLECTOR(agents, oi_agent, OI_AGENT_INIT, oi_agent_next(it, &rec), oi_agent_clear(&rec))
FX_COLLECTOR(events, oi_event, OI_EVENT_INIT, oi_event_next(it, &rec), oi_event_clear(&rec))
FX_COLLECTOR(recommendations, oi_recommendation, OI_RECOMMENDATION_INIT,
             oi_recommendation_next(it, &rec), oi_recommendation_clear(&rec))
FX_COLLECTOR(approvals, oi_approval, OI_APPROVAL_INIT,
             oi_approval_next(it, &rec), oi_approval_clear(&rec))
FX_COLLECTOR(optimizations, oi_optimization, OI_OPTIMIZATION_INIT,
             oi_optimization_next(it, &rec), oi_optimization_clear(&rec))
FX_COLLECTOR(agent_configs, oi_agent_config, OI_AGENT_CONFIG_INIT,
             oi_agent_config_next(it, &rec), oi_agent_config_clear(&rec))
FX_COLLECTOR(agent_states, oi_agent_state, OI_AGENT_STATE_INIT,
             oi_agent_state_next(it, &rec), oi_agent_state_clear(&rec))
FX_COLLECTOR(agent_capabilities, oi_agent_capability, OI_AGENT_CAPABILITY_INIT,
             oi_agent_capability_next(it, &rec), oi_agent_capability_clear(&rec))
FX_COLLECTOR(agent_metrics, oi_agent_metric, OI_AGENT_METRIC_INIT,
             oi_agent_metric_next(it, &rec), oi_agent_metric_clear(&rec))
FX_COLLECTOR(locks, oi_lock, OI_LOCK_INIT, oi_lock_next(it, &rec), oi_lock_clear(&rec))
FX_COLLECTOR(livenesses, oi_agent_liveness, OI_AGENT_LIVENESS_INIT,
             oi_agent_liveness_next(it, &rec), oi_agent_liveness_clear(&rec))
FX_COLLECTOR(metric_stats, oi_metric_stats, OI_METRIC_STATS_INIT,
             oi_metric_stats_next(it, &rec), oi_metric_stats_clear(&rec))
FX_COLLECTOR(api_tokens, oi_api_token, OI_API_TOKEN_INIT, oi_api_token_next(it, &rec),
             oi_api_token_clear(&rec))
#define FX_CAPABLE_INIT {OI_AGENT_INIT, OI_AGENT_CAPABILITY_INIT}
FX_COLLECTOR(capable, fx_capable, FX_CAPABLE_INIT,
             oi_capable_agent_next(it, &rec.agent, &rec.capability),
             (oi_agent_clear(&rec.agent), oi_agent_capability_clear(&rec.capability)))

static char iter_unset_byte;
oi_iter *const fx_iter_unset = (oi_iter *)&iter_unset_byte;

size_t fx_metric_query(oi_fixture *fx, const oi_metric_filter *f, oi_agent_metric **out,
                       char *cursor)
{
    oi_iter *it = NULL;
    assert_ok(fx, oi_metric_iter_new(&it, fx->store, f));
    oi_agent_metric rec = OI_AGENT_METRIC_INIT, *items = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = oi_agent_metric_next(it, &rec)) == OI_OK) {
        if (!out) {
            oi_agent_metric_clear(&rec);
            n++;
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            items = realloc(items, cap * sizeof *items);
            assert_non_null(items);
        }
        items[n++] = rec;
        rec = (oi_agent_metric)OI_AGENT_METRIC_INIT;
    }
    if (cursor && rc == OI_ITEROVER)
        assert_ok(fx, oi_metric_iter_cursor(it, cursor));
    oi_iter_free(it);
    assert_rc(fx, rc, OI_ITEROVER);
    if (out)
        *out = items;
    return n;
}

/* The spec's FILE 2 fixtures, field for field. */

void sample_agent_config(oi_fixture *fx, oi_agent_config *out)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.config_key = "test_threshold";
    c.config_value = "100";
    c.config_type = "number";
    c.description = "Test configuration";
    c.is_sensitive = false;
    assert_ok(fx, oi_agent_config_create(fx->store, &c));
    assert_ok(fx, oi_agent_config_get(fx->store, c.id, out));
}

void sample_agent_state(oi_fixture *fx, oi_agent_state *out)
{
    oi_agent_state s = OI_AGENT_STATE_INIT;
    memcpy(s.agent_id, fx->cost_agent.id, sizeof s.agent_id);
    s.status = "active";
    s.current_workflow = "test_workflow";
    s.workflow_data = "{\"key\": \"value\"}";
    s.resource_locks = "[\"resource1\"]";
    s.error_count = 0;
    s.last_error = NULL;
    s.last_heartbeat = oi_time_now();
    assert_ok(fx, oi_agent_state_create(fx->store, &s));
    assert_ok(fx, oi_agent_state_get(fx->store, s.id, out));
}

void sample_agent_capability(oi_fixture *fx, oi_agent_capability *out)
{
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.capability_name = "test_capability";
    c.capability_version = "1.0.0";
    c.description = "Test capability";
    c.parameters = "{\"param1\": \"value1\"}";
    c.is_enabled = true;
    assert_ok(fx, oi_agent_capability_create(fx->store, &c));
    assert_ok(fx, oi_agent_capability_get(fx->store, c.id, out));
}

void sample_agent_metric(oi_fixture *fx, oi_agent_metric *out)
{
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "test_metric";
    m.metric_value = 100.0;
    m.metric_unit = "count";
    m.collection_timestamp = oi_time_now();
    m.metadata = "{\"source\": \"test\"}";
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, out));
}

/* ------------------------------------------------------------------ */
/* assertions                                                          */

void fx_assert_rc(oi_store *store, int got, int want, const char *what, const char *file, int line)
{
    if (got == want)
        return;
    print_error("%s\n  returned %d (%s), expected %d (%s)\n  errmsg: %s\n", what, got,
                oi_strerror(got), want, oi_strerror(want), store ? oi_errmsg(store) : "(no store)");
    _fail(file, line);
}

void fx_assert_rc2(oi_store *store, int got, int a, int b, const char *what, const char *file, int line)
{
    if (got == a || got == b)
        return;
    print_error("%s\n  returned %d (%s), expected %d (%s) or %d (%s)\n  errmsg: %s\n", what, got,
                oi_strerror(got), a, oi_strerror(a), b, oi_strerror(b),
                store ? oi_errmsg(store) : "(no store)");
    _fail(file, line);
}

void fx_assert_contains(const char *hay, const char *needle, bool want, const char *file, int line)
{
    bool found = hay && strstr(hay, needle);
    if (found == want)
        return;
    print_error("expected %s\"%s\" in:\n---\n%s\n---\n", want ? "" : "no ", needle,
                hay ? hay : "(null)");
    _fail(file, line);
}

json_t *fx_json(const char *text)
{
    json_error_t err;
    if (!text)
        fail_msg("expected JSON text, got NULL");
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    if (!j)
        fail_msg("invalid JSON (%s): %s", err.text, text);
    return j;
}

json_t *fx_json_at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *seg = strtok_r(buf, ".", &save); seg && cur;
         seg = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)strtoul(seg, NULL, 10));
        else
            cur = json_object_get(cur, seg);
    }
    return cur;
}

/* ------------------------------------------------------------------ */
/* waiting for a child                                                 */

/* Poll the child's pidfd, which becomes readable the moment it exits: the
 * loop this replaced (waitpid WNOHANG, then sleep 10 ms) made each of the
 * ~1,700 processes a run starts (OI_TEST_TIMES=1 counts them) wait 5 ms
 * on average after its exit. */
bool fx_wait_child(pid_t pid, int timeout_ms, int *status)
{
    double started = fx_seconds_now(), deadline = started + timeout_ms / 1000.0;
    int fd = pidfd_open(pid, 0);
    if (fd < 0)
        fail_msg("pidfd_open: %s (the tests need Linux 5.3 or later)", strerror(errno));
    bool ended = false;
    for (double now = started; !ended && now < deadline; now = fx_seconds_now()) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left_ms = (int)((deadline - now) * 1000.0) + 1;
        if (poll(&p, 1, left_ms) > 0)
            ended = waitpid(pid, status, 0) == pid;
    }
    close(fd);
    fx_counters_now.wait_seconds += fx_seconds_now() - started;
    return ended;
}

/* ------------------------------------------------------------------ */
/* the CLI                                                             */

char *fx_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (f) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            fwrite(chunk, 1, n, out);
        fclose(f);
    }
    fclose(out);
    return text;
}

/* ------------------------------------------------------------------ */
/* the output log                                                      */

const char *const fx_known_secrets[] = {
    FX_SECRET_CLI, FX_SECRET_CONFIG, FX_SECRET_ERRORS, FX_SECRET_SPEC, FX_SECRET_SERVER,
    FX_SECRET_SERVER_DATA, FX_SECRET_OWN, NULL
};

static char output_log[512];
static bool output_log_is_ours; /* made for this run: fx_summary() removes it */

const char *fx_output_log_path(void)
{
    if (*output_log)
        return output_log;
    const char *env = getenv("OI_TEST_OUTPUT_LOG");
    if (env && *env) {
        snprintf(output_log, sizeof output_log, "%s", env);
        return output_log;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(output_log, sizeof output_log, "%s/oi-test-output-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(output_log);
    if (fd < 0)
        fail_msg("mkstemp %s: %s", output_log, strerror(errno));
    close(fd);
    output_log_is_ours = true;
    return output_log;
}

static void append_file(const char *path, const char *head, const char *text)
{
    FILE *f = fopen(path, "a");
    if (!f)
        fail_msg("cannot append to %s: %s", path, strerror(errno));
    fprintf(f, "%s%s", head, text);
    fclose(f);
}

void fx_output_log(const char *source, const char *text)
{
    if (!text || !*text)
        return;
    char head[320];
    snprintf(head, sizeof head, "\n=== %s\n", source);
    append_file(fx_output_log_path(), head, text);
}

static void secrets_path(char *out, size_t size)
{
    snprintf(out, size, "%s.secrets", fx_output_log_path());
}

void fx_secret_record(const char *secret)
{
    char path[600];
    secrets_path(path, sizeof path);
    append_file(path, secret, "\n");
}

char *fx_secrets_recorded(void)
{
    char path[600];
    secrets_path(path, sizeof path);
    return fx_slurp(path);
}

/* Whether the arguments ask the CLI to print secrets. */
static bool asks_for_secrets(const char *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(args[i], "--show-secrets", 14) == 0)
            return true;
    return false;
}

/* Whether the command (after the global options) is `token create`. */
static bool is_token_create(const char *const *args, size_t n)
{
    size_t i = 0;
    while (i < n && strncmp(args[i], "--", 2) == 0)
        i += strcmp(args[i], "--database-url") == 0 ? 2 : 1;
    return i + 1 < n && strcmp(args[i], "token") == 0 && strcmp(args[i + 1], "create") == 0;
}

/* Every API token in text ("oit_" and 64 hex digits) is recorded. */
static void record_tokens(const char *text)
{
    for (const char *p = text; (p = strstr(p, OI_TOKEN_PREFIX)); p++) {
        size_t hex = strspn(p + 4, "0123456789abcdef");
        if (hex == OI_TOKEN_LEN - 4) {
            char token[OI_TOKEN_BUFSZ];
            memcpy(token, p, OI_TOKEN_LEN);
            token[OI_TOKEN_LEN] = '\0';
            fx_secret_record(token);
        }
    }
}

/* What a run showed goes to the output log, unless it asked for secrets. */
static void log_run(const fx_run *run, const char *source, const char *const *args, size_t n)
{
    char name[300];
    if (asks_for_secrets(args, n))
        return;
    snprintf(name, sizeof name, "%s.err", source);
    fx_output_log(name, run->err);
    if (is_token_create(args, n)) {
        record_tokens(run->out);
        return;
    }
    snprintf(name, sizeof name, "%s.out", source);
    fx_output_log(name, run->out);
}

const char *fx_cli_path(void)
{
    const char *p = getenv("OI_TEST_CLI");
    return p && *p ? p : "build/optiinfra";
}

enum { CLI_TIMEOUT_MS = 120000 };

pid_t fx_spawn(const char *const *argv, const char *out_path, const char *err_path)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    fx_counters_now.processes++;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void fx_cli_argv(oi_fixture *fx, fx_run *run, bool with_url, const char *const *args,
                 size_t nargs)
{
    static int seq;
    const char **argv = calloc(nargs + 4, sizeof *argv);
    int n = 0;
    assert_non_null(argv);
    argv[n++] = fx_cli_path();
    if (access(argv[0], X_OK) != 0)
        fail_msg("CLI %s not found: build it or set OI_TEST_CLI", argv[0]);
    if (with_url) {
        argv[n++] = "--database-url";
        argv[n++] = fx->url;
    }
    for (size_t i = 0; i < nargs; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/cli-%d.out", fx->dir, ++seq);
    snprintf(err_path, sizeof err_path, "%s/cli-%d.err", fx->dir, seq);
    pid_t pid = fx_spawn(argv, out_path, err_path);
    const char *last = argv[n - 1];
    free(argv);
    int status = 0;
    if (!fx_wait_child(pid, CLI_TIMEOUT_MS, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("CLI timed out: %s", last);
    }
    run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run->out = fx_slurp(out_path);
    run->err = fx_slurp(err_path);
    char source[64];
    snprintf(source, sizeof source, "cli-%d", seq);
    log_run(run, source, args, nargs);
}

/* The arguments of a NULL-terminated va_list, for fx_cli_argv. */
static void cli_run(oi_fixture *fx, fx_run *run, bool with_url, va_list ap)
{
    const char **args = NULL;
    size_t n = 0, cap = 0;
    for (const char *a; (a = va_arg(ap, const char *));) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            args = realloc(args, cap * sizeof *args);
            assert_non_null(args);
        }
        args[n++] = a;
    }
    fx_cli_argv(fx, run, with_url, args, n);
    free(args);
}

void fx_cli(oi_fixture *fx, fx_run *run, ...)
{
    va_list ap;
    va_start(ap, run);
    cli_run(fx, run, true, ap);
    va_end(ap);
}

void fx_cli_raw(oi_fixture *fx, fx_run *run, ...)
{
    va_list ap;
    va_start(ap, run);
    cli_run(fx, run, false, ap);
    va_end(ap);
}

void fx_run_free(fx_run *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

int fx_count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (strspn(p, " \t") < len)
            n++;
        p = nl ? nl + 1 : p + len;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* a child process                                                     */

int fx_in_child(oi_fixture *fx, int (*fn)(const char *url, void *ctx), void *ctx,
                int timeout_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    fx_counters_now.processes++;
    if (pid == 0)
        _exit(fn(fx->url, ctx));
    int status = 0;
    if (!fx_wait_child(pid, timeout_ms, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------------ */
/* totals                                                              */

static size_t total_run;
static int total_failed;

int fx_tally_tests(const struct CMUnitTest *tests, size_t n, int failed)
{
    const char *filter = getenv("OI_TEST_FILTER");
    for (size_t i = 0; i < n; i++)
        if (!filter || !*filter || fnmatch(filter, tests[i].name, 0) == 0)
            total_run++;
    total_failed += failed;
    return failed;
}

/* Run the secrets group, then print the closing line; also append it to
 * $OI_TEST_SUMMARY (scripts/test.sh adds up the runs from there). */
int fx_summary(void)
{
    run_secrets_tests(); /* last: it reads what every other group printed */
    if (*template_dir && !getenv("OI_TEST_KEEP"))
        nftw(template_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (output_log_is_ours) {
        char path[600];
        secrets_path(path, sizeof path);
        remove(path);
        remove(output_log);
    }
    long passed = (long)total_run - total_failed - skipped;
    char line[128];
    int n = snprintf(line, sizeof line, "%s: %ld passed, %d failed", fx_backend(), passed,
                     total_failed);
    if (skipped)
        snprintf(line + n, sizeof line - (size_t)n, ", %d skipped", skipped);
    printf("%s\n", line);
    fflush(stdout);
    const char *path = getenv("OI_TEST_SUMMARY");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
    return total_failed ? 1 : 0;
}
