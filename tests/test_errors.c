/*
 * test_errors.c - error paths: bad URLs, unreachable servers, refused
 * credentials, bad input refused before anything is written, and secrets
 * (passwords, sensitive config values) kept out of every message.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Open url, expect `code`, and hand back the store's message (copied). */
static char *open_expect(const char *url, int code)
{
    oi_store *store = NULL;
    int rc = oi_store_open(&store, url);
    if (rc != code) {
        print_error("oi_store_open(\"%s\") returned %d (%s), expected %d (%s): %s\n", url, rc,
                    oi_strerror(rc), code, oi_strerror(code), store ? oi_errmsg(store) : "");
        oi_store_close(store);
        fail();
    }
    assert_non_null(store);
    char *msg = strdup(oi_errmsg(store));
    assert_int_equal(oi_errcode(store), code);
    oi_store_close(store);
    return msg;
}

static void test_open_malformed_urls(void **state)
{
    (void)state;
    const char *bad[] = {"", "mysql://x", "sqlite:", "nonsense",
                         "host=127.0.0.1 no_such_option=1",
                         "host=127.0.0.1 password='secretpw"}; /* unterminated quote */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *msg = open_expect(bad[i], OI_EINVALID);
        assert_true(strlen(msg) > 0);
        assert_not_contains(msg, "secretpw");
        free(msg);
    }
}

static void test_open_file_that_is_not_a_database(void **state)
{
    oi_fixture *fx = FX(state);
    char path[400], url[420];
    snprintf(path, sizeof path, "%s/not-a-database.db", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not an SQLite database\n", f);
    fclose(f);
    snprintf(url, sizeof url, "sqlite:%s", path);
    free(open_expect(url, OI_ECONNECT));
}

/* sqlite::memory: is a private database: migrate, seed and validate work. */
static void test_open_sqlite_in_memory(void **state)
{
    (void)state;
    oi_store *store = NULL;
    oi_validation *v = NULL;
    assert_int_equal(oi_store_open(&store, "sqlite::memory:"), OI_OK);
    assert_string_equal(oi_store_backend(store), "sqlite");
    assert_int_equal(oi_migrate_upgrade(store, "head", NULL, NULL, NULL), OI_OK);
    assert_int_equal(oi_seed_core(store, NULL), OI_OK);
    assert_int_equal(oi_seed_state(store, NULL), OI_OK);
    assert_int_equal(oi_validate(store, &v), OI_OK);
    assert_non_null(v);
    assert_true(oi_validation_count(v) > 0);
    assert_int_equal(oi_validation_failed(v), 0);
    oi_validation_free(v);
    oi_store_close(store);
}

/* A store whose open failed refuses every call with OI_ECONNECT. */
static void test_unconnected_store_refuses_calls(void **state)
{
    (void)state;
    oi_store *store = NULL;
    assert_int_equal(oi_store_open(&store, "postgresql://u@127.0.0.1:1/db"), OI_ECONNECT);
    oi_iter *it = NULL;
    oi_customer c = OI_CUSTOMER_INIT;
    const char *cur = NULL;
    int rc = oi_customer_iter_new(&it, store); /* refused here or by the first next() */
    if (rc == OI_OK)
        rc = oi_customer_next(it, &c);
    oi_iter_free(it);
    assert_int_equal(rc, OI_ECONNECT);
    assert_int_equal(oi_begin(store), OI_ECONNECT);
    assert_int_equal(oi_migrate_current(store, &cur), OI_ECONNECT);
    assert_int_equal(oi_seed_core(store, NULL), OI_ECONNECT);
    assert_int_equal(oi_errcode(store), OI_ECONNECT);
    oi_store_close(store);
}

static void test_open_sqlite_in_missing_directory(void **state)
{
    oi_fixture *fx = FX(state);
    char url[600];
    snprintf(url, sizeof url, "sqlite:%s/no/such/dir/test.db", fx->dir);
    free(open_expect(url, OI_ECONNECT));
}

static void test_open_unreachable_server(void **state)
{
    (void)state;
    free(open_expect("postgresql://u@127.0.0.1:1/db", OI_ECONNECT));
    free(open_expect("host=127.0.0.1 port=1 dbname=db user=u", OI_ECONNECT));
}

static void test_url_password_redacted(void **state)
{
    (void)state;
    const char *urls[] = {"postgresql://u:secretpw@127.0.0.1:1/db",
                          "host=127.0.0.1 port=1 dbname=db user=u password=secretpw",
                          "host=127.0.0.1 port=1 password = 'secretpw with \\' quote' user=u",
                          "postgresql://u@127.0.0.1:1/db?sslmode=disable&password=secretpw"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        oi_store *store = NULL;
        assert_int_equal(oi_store_open(&store, urls[i]), OI_ECONNECT);
        assert_contains(oi_store_url(store), "***");
        assert_not_contains(oi_store_url(store), "secretpw");
        assert_not_contains(oi_errmsg(store), "secretpw");
        oi_store_close(store);
    }
}

/* Every secret libpq knows of (password, sslpassword), in every form libpq
 * reads, stays out of oi_store_url() and oi_errmsg(); so does the whole
 * string when libpq cannot parse it, whatever libpq's own message quotes. */
static const struct secret_url {
    const char *url;
    int code;
} secret_urls[] = {
    {"postgresql://u@127.0.0.1:1/db?sslpassword=SSLPW", OI_ECONNECT},
    {"postgresql://u:S3cret@127.0.0.1:1/db", OI_ECONNECT},
    {"postgres://u:S3cret@127.0.0.1:1/db?sslpassword=SSLPW", OI_ECONNECT},
    {"postgresql://u@127.0.0.1:1/db?password=S3cret", OI_ECONNECT},
    {"postgresql://u:S%33cret@127.0.0.1:1/db", OI_ECONNECT},           /* percent-encoded */
    {"postgresql://u@127.0.0.1:1/db?password=S%33cret%20x", OI_ECONNECT},
    {"host=127.0.0.1 port=1 password=S3cret dbname=x", OI_ECONNECT},
    {"host=127.0.0.1 port=1 password = 'S3cret \\' x' sslpassword=SSLPW", OI_ECONNECT},
    {"host=/nonexistent/socket/dir password=S3cret dbname=x", OI_ECONNECT},
    {"postgresql://u:S3cret@127.0.0.1:1/db?sslmode=bogus", OI_ECONNECT}, /* libpq quotes bogus */
    /* libpq cannot parse these, and its message would quote them */
    {"postgres:/u:S3cret@127.0.0.1/db", OI_EINVALID},
    {"postgresql:u:S3cret@127.0.0.1/db", OI_EINVALID},
    {"PostgreSQL://u:S3cret@127.0.0.1/db", OI_EINVALID},
    {"postgresql://u:S3cret@127.0.0.1:1/db?no_such_option=1", OI_EINVALID},
    {"postgresql://u:S3cret@127.0.0.1:1/%zz", OI_EINVALID},
    {"host=127.0.0.1 port=1 password='S3cret", OI_EINVALID},
    {"host=127.0.0.1 S3cret password=x", OI_EINVALID},
    {"mysql://u:S3cret@127.0.0.1/db", OI_EINVALID},                   /* no backend */
};

static void assert_no_secret(const char *text)
{
    const char *secrets[] = {"S3cret", "S%33cret", "33cret", "SSLPW"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        assert_not_contains(text, secrets[i]);
}

static void test_url_secrets_never_shown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof secret_urls / sizeof *secret_urls; i++) {
        const struct secret_url *u = &secret_urls[i];
        oi_store *store = NULL;
        int rc = oi_store_open(&store, u->url);
        if (rc != u->code)
            fail_msg("oi_store_open(\"%s\") returned %d, expected %d: %s", u->url, rc, u->code,
                     oi_errmsg(store));
        assert_no_secret(oi_store_url(store));
        assert_no_secret(oi_errmsg(store));
        assert_not_contains(oi_errmsg(store), "127.0.0.1/db"); /* the string is not echoed */
        if (rc == OI_EINVALID) {
            assert_string_equal(oi_store_url(store), "(URL not shown)");
            assert_contains(oi_errmsg(store), "postgresql://"); /* says which forms work */
        } else {
            assert_contains(oi_store_url(store), "=***");
        }
        oi_store_close(store);
    }
}

/* oi_store_url() of a PostgreSQL URL: libpq's key=value pairs, as libpq
 * parsed them, quoted where needed; a SQLite URL as given. */
static void test_store_url_rendering(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"postgresql://u:S3cret@127.0.0.1:1/db", "user=u password=*** dbname=db host=127.0.0.1 port=1"},
        {"host=127.0.0.1 port=1 application_name='a b\\'c\\\\d' sslpassword=''",
         "host=127.0.0.1 port=1 application_name='a b\\'c\\\\d' sslpassword=***"},
        {"postgresql:///db?host=/nonexistent/socket/dir", "dbname=db host=/nonexistent/socket/dir"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oi_store *store = NULL;
        assert_int_equal(oi_store_open(&store, cases[i][0]), OI_ECONNECT);
        assert_string_equal(oi_store_url(store), cases[i][1]);
        oi_store_close(store);
    }
    oi_store *store = NULL;
    assert_int_equal(oi_store_open(&store, "sqlite::memory:"), OI_OK);
    assert_string_equal(oi_store_url(store), "sqlite::memory:");
    oi_store_close(store);
}

/* The tool says why it cannot open the store in one line, and shows no
 * secret of the URL it was given, on stdout or stderr. */
static void test_cli_never_prints_url_secrets(void **state)
{
    oi_fixture *fx = FX(state);
    const char *commands[][2] = {{"db", "current"}, {"agents", NULL}};
    for (size_t i = 0; i < sizeof secret_urls / sizeof *secret_urls; i++) {
        for (size_t c = 0; c < sizeof commands / sizeof *commands; c++) {
            fx_run r;
            fx_cli_raw(fx, &r, "--database-url", secret_urls[i].url, commands[c][0],
                       commands[c][1], (char *)NULL);
            if (r.status == 0)
                fail_msg("optiinfra --database-url '%s' %s: exit 0", secret_urls[i].url,
                         commands[c][0]);
            assert_no_secret(r.out);
            assert_no_secret(r.err);
            assert_int_equal(fx_count_lines(r.err), 1);
            fx_run_free(&r);
        }
    }
    /* the single-slash form is refused for what it is */
    fx_run r;
    fx_cli_raw(fx, &r, "--database-url", "postgres:/u:S3cret@h/db", "agents", (char *)NULL);
    assert_contains(r.err, "malformed PostgreSQL URL");
    assert_contains(r.err, "postgresql://");
    assert_not_contains(r.err, "postgres:/u");
    fx_run_free(&r);
}

static void test_open_wrong_password(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    /* make sure the user has a password, keeping the one the other tests use */
    const char *pw = getenv("PGPASSWORD");
    char sql[256], url[512];
    snprintf(sql, sizeof sql, "ALTER USER current_user PASSWORD '%s'", pw && *pw ? pw : "right");
    fx_sql_exec(fx, sql);
    snprintf(url, sizeof url, "host=127.0.0.1 port=%s dbname=%s user=%s password=wrong",
             getenv("PGPORT") ? getenv("PGPORT") : "5432",
             getenv("PGDATABASE") ? getenv("PGDATABASE") : "postgres",
             getenv("PGUSER") ? getenv("PGUSER") : "postgres");
    /* A refused password is OI_ECONNECT: libpq 15 keeps the server's
     * SQLSTATE to itself, and a password sent then refused looks, to its
     * API, like one accepted before a later refusal (no such database).
     * (This test expected OI_EAUTH when that came from the message text.) */
    char *msg = open_expect(url, OI_ECONNECT);
    assert_not_contains(msg, "wrong");
    free(msg);
    /* No password at all when the server asks for one: OI_EAUTH. */
    snprintf(url, sizeof url,
             "host=127.0.0.1 port=%s dbname=%s user=%s password='' passfile=/nonexistent",
             getenv("PGPORT") ? getenv("PGPORT") : "5432",
             getenv("PGDATABASE") ? getenv("PGDATABASE") : "postgres",
             getenv("PGUSER") ? getenv("PGUSER") : "postgres");
    free(open_expect(url, OI_EAUTH));
}

static void test_invalid_json_refused(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "latency";
    m.metric_value = 1.0;
    m.collection_timestamp = oi_time_now();
    m.metadata = "{\"region\": ";
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);
    m.metadata = "[\"not\", \"an object\"]";
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);

    oi_agent_state s = OI_AGENT_STATE_INIT;
    memcpy(s.agent_id, fx->cost_agent.id, sizeof s.agent_id);
    s.last_heartbeat = oi_time_now();
    s.resource_locks = "[1, 2]"; /* a list of strings */
    assert_rc(fx, oi_agent_state_create(fx->store, &s), OI_EINVALID);
    s.resource_locks = NULL;
    s.last_error = "{oops}";
    assert_rc(fx, oi_agent_state_create(fx->store, &s), OI_EINVALID);

    oi_customer c = OI_CUSTOMER_INIT;
    c.name = "x";
    c.email = "x@x.example";
    c.api_key = "x";
    c.metadata = "not json";
    assert_rc(fx, oi_customer_create(fx->store, &c), OI_EINVALID);

    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
    assert_int_equal(fx_count(fx, "agent_states"), 0);
    assert_int_equal(fx_count(fx, "customers"), 0);
}

static int create_config(oi_fixture *fx, char *key, char *value, char *type)
{
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.config_key = key;
    c.config_value = value;
    c.config_type = type;
    return oi_agent_config_create(fx->store, &c);
}

static void test_config_value_checked_against_type(void **state)
{
    oi_fixture *fx = FX(state);
    assert_rc(fx, create_config(fx, "a", "1", "nope"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "b", "abc", "number"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "b", "nan", "number"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "b", "inf", "float"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "b", "", "integer"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "c", "1.5", "integer"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "d", "maybe", "boolean"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "e", "{", "json"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "e", NULL, "number"), OI_EINVALID);
    assert_rc(fx, create_config(fx, "e", NULL, NULL), OI_EINVALID);
    assert_rc(fx, create_config(fx, NULL, "1", "number"), OI_EINVALID);
    assert_int_equal(fx_count(fx, "agent_configs"), 0);

    assert_ok(fx, create_config(fx, "f", "42", "integer"));
    assert_ok(fx, create_config(fx, "g", "true", "boolean"));
    assert_ok(fx, create_config(fx, "h", "0.5", "float"));
    assert_ok(fx, create_config(fx, "i", "{\"a\": [1, 2]}", "json"));
    assert_ok(fx, create_config(fx, "j", "free text", NULL)); /* default type: string */
    assert_int_equal(fx_count(fx, "agent_configs"), 5);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_configs "
                                    "WHERE config_key = 'j' AND config_type = 'string'"), 1);
}

/* The unique keys of the state tables, and their checked values. */
static void test_state_table_keys_and_checks(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_state first = OI_AGENT_STATE_INIT;
    sample_agent_state(fx, &first);
    oi_agent_state second = OI_AGENT_STATE_INIT;
    memcpy(second.agent_id, fx->cost_agent.id, sizeof second.agent_id);
    second.last_heartbeat = OI_TIME_NULL;
    assert_rc(fx, oi_agent_state_create(fx->store, &second), OI_EEXISTS); /* one per agent */
    assert_not_contains(oi_errmsg(fx->store), "refers to"); /* not taken for a foreign key */
    first.error_count = -1;
    assert_rc2(fx, oi_agent_state_update(fx->store, &first), OI_ECONSTRAINT, OI_EINVALID);
    assert_int_equal(fx_sql_int(fx, "SELECT min(error_count) FROM agent_states"), 0);

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    sample_agent_capability(fx, &cap);
    oi_agent_capability same = cap;
    same.id[0] = '\0';
    assert_rc(fx, oi_agent_capability_create(fx->store, &same), OI_EEXISTS);
    same.capability_version = "1.0.1";
    assert_ok(fx, oi_agent_capability_create(fx->store, &same));
    assert_int_equal(fx_count(fx, "agent_states"), 1);
    assert_int_equal(fx_count(fx, "agent_capabilities"), 2);
    oi_agent_capability_clear(&cap);
    oi_agent_state_clear(&first);
}

static void test_metric_value_must_be_finite(void **state)
{
    oi_fixture *fx = FX(state);
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        oi_agent_metric m = OI_AGENT_METRIC_INIT;
        memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
        m.metric_name = "gpu_utilization";
        m.metric_value = bad[i];
        m.collection_timestamp = oi_time_now();
        assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_EINVALID);
    }
    assert_int_equal(fx_count(fx, "agent_metrics"), 0);
}

static void test_unknown_agent_refused(void **state)
{
    oi_fixture *fx = FX(state);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    /* store.h: a foreign key refusing the write is OI_ECONSTRAINT */
    oi_agent_state s = OI_AGENT_STATE_INIT;
    memcpy(s.agent_id, unknown, sizeof s.agent_id);
    s.last_heartbeat = oi_time_now();
    assert_rc(fx, oi_agent_state_create(fx->store, &s), OI_ECONSTRAINT);
    assert_contains(oi_errmsg(fx->store), "a record it refers to does not exist");
    oi_agent_capability c = OI_AGENT_CAPABILITY_INIT;
    memcpy(c.agent_id, unknown, sizeof c.agent_id);
    c.capability_name = "x";
    c.capability_version = "1.0.0";
    assert_rc(fx, oi_agent_capability_create(fx->store, &c), OI_ECONSTRAINT);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, unknown, sizeof m.agent_id);
    m.metric_name = "x";
    m.collection_timestamp = oi_time_now();
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_ECONSTRAINT);
    assert_int_equal(fx_count(fx, "agent_states") + fx_count(fx, "agent_capabilities") +
                     fx_count(fx, "agent_metrics"), 0);
}

/* A column missing (a database at another revision) is OI_ESCHEMA on both
 * backends, for statements prepared before the column went and after:
 * SQLite's by the statement failing to compile, PostgreSQL's by SQLSTATE
 * 42703; never by the message. */
static void test_missing_column_is_schema_error(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    sample_agent_metric(fx, &m); /* the insert and the get are prepared and cached */
    fx_sql_exec(fx, "ALTER TABLE agent_metrics DROP COLUMN metric_unit");
    oi_agent_metric got = OI_AGENT_METRIC_INIT;
    assert_rc(fx, oi_agent_metric_get(fx->store, m.id, &got), OI_ESCHEMA);
    assert_contains(oi_errmsg(fx->store), "metric_unit");
    m.metric_value = 2;
    assert_rc(fx, oi_agent_metric_update(fx->store, &m), OI_ESCHEMA); /* prepared now */
    int64_t id = m.id;
    m.id = 0;
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_ESCHEMA);
    m.id = id;
    oi_agent_metric_clear(&m);
}

static void test_sensitive_value_not_in_errmsg(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.config_key = "db_password";
    c.config_value = "hunter2-SECRET";
    c.is_sensitive = true;
    assert_ok(fx, oi_agent_config_create(fx->store, &c));

    oi_agent_config dup = c;
    dup.id[0] = '\0';
    dup.config_value = "other-SECRET-2";
    assert_rc(fx, oi_agent_config_create(fx->store, &dup), OI_EEXISTS);
    assert_not_contains(oi_errmsg(fx->store), "SECRET");

    oi_agent_config typed = c;
    typed.id[0] = '\0';
    typed.config_key = "db_port";
    typed.config_type = "integer";
    typed.config_value = "topSECRET";
    assert_rc(fx, oi_agent_config_create(fx->store, &typed), OI_EINVALID);
    assert_not_contains(oi_errmsg(fx->store), "SECRET");

    c.config_type = "json";
    c.config_value = "{SECRET";
    assert_rc(fx, oi_agent_config_update(fx->store, &c), OI_EINVALID);
    assert_not_contains(oi_errmsg(fx->store), "SECRET");
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM agent_configs "
                                    "WHERE config_value = 'hunter2-SECRET'"), 1);
}

static void test_transactions(void **state)
{
    oi_fixture *fx = FX(state);
    oi_customer c = OI_CUSTOMER_INIT;
    c.name = "Tx";
    c.email = "tx@x.example";
    c.api_key = "tx";
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_begin(fx->store), OI_EINVALID); /* no nesting */
    assert_ok(fx, oi_customer_create(fx->store, &c));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "customers"), 0);

    assert_rc(fx, oi_commit(fx->store), OI_EINVALID);   /* nothing open */
    assert_rc(fx, oi_rollback(fx->store), OI_EINVALID);
    c.id[0] = '\0';
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_customer_create(fx->store, &c));
    assert_ok(fx, oi_commit(fx->store));
    assert_int_equal(fx_count(fx, "customers"), 1);
}

static void make_customer(oi_fixture *fx, char *name, int expect)
{
    oi_customer c = OI_CUSTOMER_INIT;
    char email[64];
    snprintf(email, sizeof email, "%s@x.example", name);
    c.name = name;
    c.email = email;
    c.api_key = name;
    assert_rc(fx, oi_customer_create(fx->store, &c), expect);
}

/* A savepoint undoes its own part alone, even after a failed statement
 * (which on PostgreSQL would otherwise doom the whole transaction). */
static void test_savepoints(void **state)
{
    oi_fixture *fx = FX(state);
    assert_rc(fx, oi_savepoint(fx->store), OI_EINVALID);  /* no transaction */
    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_savepoint_release(fx->store), OI_EINVALID); /* none open */
    assert_rc(fx, oi_savepoint_rollback(fx->store), OI_EINVALID);
    make_customer(fx, "kept", OI_OK);

    assert_ok(fx, oi_savepoint(fx->store));
    make_customer(fx, "undone", OI_OK);
    make_customer(fx, "kept", OI_EEXISTS);  /* a failed statement */
    assert_ok(fx, oi_savepoint_rollback(fx->store));
    assert_int_equal(oi_errcode(fx->store), OI_EEXISTS); /* still readable */

    assert_ok(fx, oi_savepoint(fx->store));
    make_customer(fx, "released", OI_OK);
    assert_ok(fx, oi_savepoint(fx->store));  /* nested */
    make_customer(fx, "inner", OI_OK);
    assert_ok(fx, oi_savepoint_rollback(fx->store));
    assert_ok(fx, oi_savepoint_release(fx->store));

    assert_ok(fx, oi_savepoint(fx->store));  /* left open: the commit keeps it */
    make_customer(fx, "open", OI_OK);
    assert_ok(fx, oi_commit(fx->store));
    assert_rc(fx, oi_savepoint_release(fx->store), OI_EINVALID);
    assert_int_equal(fx_count(fx, "customers"), 3);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM customers WHERE name IN "
                                    "('kept', 'released', 'open')"), 3);

    assert_ok(fx, oi_begin(fx->store));      /* oi_rollback ends every savepoint */
    assert_ok(fx, oi_savepoint(fx->store));
    make_customer(fx, "gone", OI_OK);
    assert_ok(fx, oi_rollback(fx->store));
    assert_rc(fx, oi_savepoint_rollback(fx->store), OI_EINVALID);
    assert_int_equal(fx_count(fx, "customers"), 3);
}

/* A library call made inside the user's transaction joins it. */
static void test_calls_join_the_user_transaction(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "customers"), 0);
    assert_int_equal(fx_count(fx, "agents"), 1);

    assert_ok(fx, oi_begin(fx->store));
    assert_rc(fx, oi_seed_state(fx->store, NULL), OI_ENOTFOUND);
    assert_int_equal(oi_errcode(fx->store), OI_ENOTFOUND); /* kept for the caller to read */
    assert_ok(fx, oi_rollback(fx->store));

    assert_ok(fx, oi_begin(fx->store));
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
    assert_ok(fx, oi_commit(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 12);
}

/* The server going away mid-session is a connection error, not a crash. */
/* End the store's session as a server restart or an idle timeout would,
 * and wait until it is gone: the termination is asynchronous, and a
 * statement sent before it lands is lost with the session (not retried). */
#define OTHER_SESSIONS "FROM pg_stat_activity WHERE datname = current_database() " \
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"

static void terminate_other_sessions(oi_fixture *fx)
{
    fx_sql_exec(fx, "SELECT pg_terminate_backend(pid) " OTHER_SESSIONS);
    for (int i = 0; i < 500 && fx_sql_int(fx, "SELECT count(*) " OTHER_SESSIONS) > 0; i++)
        usleep(10000);
}

static void test_server_connection_lost(void **state)
{
    oi_fixture *fx = FX(state);
    fx_skip_unless_pg();
    oi_iter *it = NULL;
    assert_ok(fx, oi_customer_iter_new(&it, fx->store));
    fx_collect_customers(fx, it, NULL);
    terminate_other_sessions(fx);
    /* Between statements, outside a transaction, the store replaces the
     * connection the server closed (test_faults.c has the restarts). */
    assert_ok(fx, oi_customer_iter_new(&it, fx->store));
    assert_int_equal(fx_collect_customers(fx, it, NULL), 0);
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    memcpy(m.agent_id, fx->cost_agent.id, sizeof m.agent_id);
    m.metric_name = "x";
    m.collection_timestamp = oi_time_now();
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);

    /* Inside a transaction it does not: the transaction's work is gone, so
     * its calls fail until it is rolled back, and none autocommits. */
    assert_ok(fx, oi_begin(fx->store));
    terminate_other_sessions(fx);
    assert_rc(fx, oi_agent_metric_create(fx->store, &m), OI_ECONNECT);
    assert_ok(fx, oi_rollback(fx->store));
    assert_int_equal(fx_count(fx, "agent_metrics"), 1);
}

static void test_bad_arguments_refused(void **state)
{
    oi_fixture *fx = FX(state);
    const char *agent = fx->cost_agent.id;
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_agent a = OI_AGENT_INIT;
    oi_agent_config cfg = OI_AGENT_CONFIG_INIT;
    oi_iter *it = NULL;
    double avg = 0;

    assert_rc(fx, oi_agent_get(fx->store, "not-a-uuid", &a), OI_EINVALID);
    assert_rc(fx, oi_agent_delete(fx->store, "not-a-uuid"), OI_EINVALID);
    assert_rc(fx, oi_agent_config_iter_by_agent(&it, fx->store, "xyz"), OI_EINVALID);
    assert_null(it);
    assert_rc(fx, oi_agent_find(fx->store, NULL, "Test Cost Agent", &a), OI_EINVALID);
    assert_rc(fx, oi_agent_lookup(fx->store, "", &a), OI_EINVALID);
    assert_rc(fx, oi_agent_lookup(fx->store, unknown, &a), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_config_find(fx->store, agent, NULL, &cfg), OI_EINVALID);
    assert_rc(fx, oi_agent_capability_iter_versions(&it, fx->store, agent, NULL), OI_EINVALID);
    assert_null(it);

    oi_metadata_match no_value = {"region", NULL};
    oi_metric_filter f = OI_METRIC_FILTER_INIT;
    f.agent_id = agent;
    f.where = &no_value;
    f.nwhere = 1;
    assert_rc(fx, oi_metric_iter_new(&it, fx->store, &f), OI_EINVALID);
    assert_null(it);
    oi_metric_filter none = OI_METRIC_FILTER_INIT;
    none.agent_id = agent;
    none.metric_name = "never_recorded";
    assert_rc(fx, oi_agent_metric_avg(fx->store, &none, &avg), OI_ENOTFOUND);
    assert_int_equal(fx_metric_query(fx, &none, NULL, NULL), 0);

    oi_customer c = OI_CUSTOMER_INIT;
    c.email = "noname@x.example";
    c.api_key = "noname";
    assert_rc(fx, oi_customer_create(fx->store, &c), OI_EINVALID); /* name is required */
    oi_event e = OI_EVENT_INIT;
    snprintf(e.customer_id, sizeof e.customer_id, "bogus");
    e.event_type = "x";
    assert_rc(fx, oi_event_create(fx->store, &e), OI_EINVALID);

    e.customer_id[0] = '\0'; /* required */
    assert_rc(fx, oi_event_create(fx->store, &e), OI_EINVALID);
    oi_customer bad_id = OI_CUSTOMER_INIT;
    snprintf(bad_id.id, sizeof bad_id.id, "not-a-uuid");
    bad_id.name = "x";
    bad_id.email = "bad-id@x.example";
    bad_id.api_key = "bad-id";
    assert_rc(fx, oi_customer_create(fx->store, &bad_id), OI_EINVALID);

    oi_agent_capability cap = OI_AGENT_CAPABILITY_INIT;
    memcpy(cap.agent_id, agent, sizeof cap.agent_id);
    cap.capability_name = "x";
    const char *versions[] = {"1.2", "v1.2.0", "1.02.0", "1.2.3.4", ""};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        cap.capability_version = (char *)versions[i];
        assert_rc(fx, oi_agent_capability_create(fx->store, &cap), OI_EINVALID);
    }
    cap.capability_version = "1.2.3-beta.1";
    assert_ok(fx, oi_agent_capability_create(fx->store, &cap));
    assert_int_equal(fx_count(fx, "agent_capabilities"), 1);
    assert_int_equal(fx_count(fx, "customers") + fx_count(fx, "events"), 0);
}

static void test_time_format_and_parse(void **state)
{
    (void)state;
    char buf[OI_TIME_BUFSZ];
    oi_time t = 0;
    assert_string_equal(oi_time_format(0, buf), "1970-01-01T00:00:00.000000Z");
    assert_string_equal(oi_time_format(-1, buf), "1969-12-31T23:59:59.999999Z");
    const oi_time want = 1700000000123457LL;
    const char *same[] = {"2023-11-14T22:13:20.123457Z", "2023-11-14 22:13:20.123457",
                          "2023-11-14t22:13:20.123457+00", "2023-11-14T22:13:20.123457+00:00",
                          "2023-11-14T17:13:20.123457-0500"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        assert_int_equal(oi_time_parse(same[i], &t), OI_OK);
        assert_true(t == want);
    }
    assert_int_equal(oi_time_parse("2023-11-14T22:13:20.5Z", &t), OI_OK);
    assert_true(t == 1700000000500000LL);
    const char *bad[] = {"", "yesterday", "2023-11-14", "2023-13-01T00:00:00Z",
                         "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z",
                         "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20+5", "2023-11-14T22:13:20+05:x",
                         "2023-02-30T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (oi_time_parse(bad[i], &t) != OI_EINVALID)
            fail_msg("oi_time_parse accepted \"%s\"", bad[i]);
    }
    assert_int_equal(oi_time_parse(NULL, &t), OI_EINVALID);
}

static void test_duration_parse(void **state)
{
    (void)state;
    int64_t us = 0;
    const struct { const char *text; int64_t us; } good[] = {
        {"500ms", 500000}, {"90s", 90000000}, {"15m", 900000000}, {"2h", 7200000000},
        {"30d", 2592000000000}, {"1w", 604800000000}, {"0s", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(oi_duration_parse(good[i].text, &us), OI_OK);
        assert_true(us == good[i].us);
    }
    const char *bad[] = {"", "90", "s", "-5s", "1.5h", "10y", "5 m", "99999999999999999999d",
                         "9223372036854775807d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (oi_duration_parse(bad[i], &us) != OI_EINVALID)
            fail_msg("oi_duration_parse accepted \"%s\"", bad[i]);
    assert_int_equal(oi_duration_parse(NULL, &us), OI_EINVALID);
}

static void test_strerror_and_store_info(void **state)
{
    oi_fixture *fx = FX(state);
    const int codes[] = {OI_OK, OI_ERROR, OI_EINVALID, OI_ENOTFOUND, OI_EEXISTS,
                         OI_ECONSTRAINT, OI_ECONNECT, OI_EAUTH, OI_ESCHEMA, OI_EBUSY,
                         OI_EHELD, OI_ESTATE};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(oi_strerror(codes[i])) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(oi_strerror(codes[i]), oi_strerror(codes[j]));
    }
    assert_true(strlen(oi_strerror(12345)) > 0);
    assert_string_equal(oi_store_backend(fx->store), fx_backend());
    if (!fx_is_pg())
        assert_string_equal(oi_store_url(fx->store), fx->url);
    else if (getenv("PGPASSWORD") && *getenv("PGPASSWORD"))
        assert_not_contains(oi_store_url(fx->store), getenv("PGPASSWORD"));
}

static void test_missing_rows_not_found(void **state)
{
    oi_fixture *fx = FX(state);
    char unknown[OI_UUID_LEN + 1];
    fx_random_uuid(unknown);
    oi_agent_config c = OI_AGENT_CONFIG_INIT;
    memcpy(c.id, unknown, sizeof c.id);
    memcpy(c.agent_id, fx->cost_agent.id, sizeof c.agent_id);
    c.config_key = "k";
    c.config_value = "v";
    assert_rc(fx, oi_agent_config_update(fx->store, &c), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_metric_delete(fx->store, 987654321), OI_ENOTFOUND);

    /* a metric can be corrected, then deleted once */
    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    sample_agent_metric(fx, &m);
    m.metric_value = 101.5;
    assert_ok(fx, oi_agent_metric_update(fx->store, &m));
    oi_agent_metric got = OI_AGENT_METRIC_INIT;
    assert_ok(fx, oi_agent_metric_get(fx->store, m.id, &got));
    assert_true(got.metric_value == 101.5);
    oi_agent_metric_clear(&got);
    assert_ok(fx, oi_agent_metric_delete(fx->store, m.id));
    assert_rc(fx, oi_agent_metric_delete(fx->store, m.id), OI_ENOTFOUND);
    assert_rc(fx, oi_agent_metric_update(fx->store, &m), OI_ENOTFOUND);
    oi_agent_metric_clear(&m);
    assert_rc(fx, oi_agent_delete(fx->store, unknown), OI_ENOTFOUND);
    oi_agent_state s = OI_AGENT_STATE_INIT;
    assert_rc(fx, oi_agent_state_find(fx->store, fx->cost_agent.id, &s), OI_ENOTFOUND);
    assert_true(strlen(oi_errmsg(fx->store)) > 0);
    assert_int_equal(oi_errcode(fx->store), OI_ENOTFOUND);
}

static void test_agent_lookup_by_name_or_id(void **state)
{
    oi_fixture *fx = FX(state);
    oi_agent twin1 = OI_AGENT_INIT, twin2 = OI_AGENT_INIT, got = OI_AGENT_INIT;
    fx_make_agent(fx, "cost", "Twin", &twin1);
    fx_make_agent(fx, "resource", "Twin", &twin2);
    assert_rc(fx, oi_agent_lookup(fx->store, "Twin", &got), OI_EINVALID);
    assert_ok(fx, oi_agent_lookup(fx->store, twin2.id, &got));
    assert_string_equal(got.type, "resource");
    oi_agent_clear(&got);
    assert_ok(fx, oi_agent_lookup(fx->store, "Test Cost Agent", &got));
    assert_string_equal(got.id, fx->cost_agent.id);
    oi_agent_clear(&got);
    assert_rc(fx, oi_agent_lookup(fx->store, "nobody", &got), OI_ENOTFOUND);
    oi_agent_clear(&twin1);
    oi_agent_clear(&twin2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_error_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_malformed_urls),
        T(test_open_sqlite_in_missing_directory),
        cmocka_unit_test(test_open_unreachable_server),
        cmocka_unit_test(test_url_password_redacted),
        cmocka_unit_test(test_url_secrets_never_shown),
        cmocka_unit_test(test_store_url_rendering),
        cmocka_unit_test_setup_teardown(test_cli_never_prints_url_secrets, fx_setup, fx_teardown),
        T(test_open_file_that_is_not_a_database),
        cmocka_unit_test(test_open_sqlite_in_memory),
        cmocka_unit_test(test_unconnected_store_refuses_calls),
        T(test_open_wrong_password),
        T(test_invalid_json_refused),
        T(test_config_value_checked_against_type),
        T(test_state_table_keys_and_checks),
        T(test_metric_value_must_be_finite),
        T(test_unknown_agent_refused),
        T(test_missing_column_is_schema_error),
        T(test_sensitive_value_not_in_errmsg),
        T(test_transactions),
        T(test_savepoints),
        T(test_calls_join_the_user_transaction),
        T(test_server_connection_lost),
        T(test_bad_arguments_refused),
        cmocka_unit_test(test_time_format_and_parse),
        cmocka_unit_test(test_duration_parse),
        T(test_strerror_and_store_info),
        T(test_missing_rows_not_found),
        T(test_agent_lookup_by_name_or_id),
    };
    return fx_run_group("errors", tests);
}
