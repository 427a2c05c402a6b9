/*
 * newer_struct.c - a program built against a newer header meets this library.
 *
 * Built against the installed headers (pkg-config optiinfra) by
 * scripts/test.sh, it plays a program compiled against a future 1.x whose
 * structs gained a field: each future struct is the 1.0 struct followed by
 * one more field, its version one past this header's, as a newer header
 * would declare it.  The library must refuse every such struct with
 * OI_EINVALID and a message naming it, before reading or writing anything:
 * no row is written, no input is read, and neither the old fields nor the
 * new one change.  The same calls with this header's versions must work,
 * so a refusal cannot come from something else.
 *
 *   abi-newer-struct sqlite:/tmp/x.db   prints "abi: N passed, M failed"
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <stdio.h>
#include <string.h>
#include <optiinfra/optiinfra.h>

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

#define CANARY ((char *)"canary: must stay")

/* What a 1.1 header could declare: the 1.0 fields, then a new one. */
typedef struct future_agent {
    oi_agent v1;
    char *new_field;
} future_agent;

typedef struct future_filter {
    oi_metric_filter v1;
    const char *new_field;
} future_filter;

typedef struct future_import_options {
    oi_import_options v1;
    int new_field;
} future_import_options;

typedef struct future_heartbeat_options {
    oi_heartbeat_options v1;
    const char *new_field;
} future_heartbeat_options;

typedef struct future_api_token {
    oi_api_token v1;
    char *new_field;
} future_api_token;

static size_t count_agents(oi_store *store)
{
    oi_iter *it;
    oi_agent a = OI_AGENT_INIT;
    size_t n = 0;
    int rc = oi_agent_iter_new(&it, store);
    while (rc == OI_OK && (rc = oi_agent_next(it, &a)) == OI_OK) {
        oi_agent_clear(&a);
        n++;
    }
    oi_iter_free(it);
    return rc == OI_ITEROVER ? n : (size_t)-1;
}

/* The message names the struct and the version the caller set (the
 * library's newest + 1, which this header's version may be for some). */
static int refused(oi_store *store, int rc, const char *type, unsigned version)
{
    char want[64];
    snprintf(want, sizeof want, "%s version %u", type, version);
    return rc == OI_EINVALID && strstr(oi_errmsg(store), want) != NULL;
}

static void newer_agent(oi_store *store)
{
    future_agent fa = {OI_AGENT_INIT, CANARY};
    fa.v1.version = OI_AGENT_VERSION + 1;
    fa.v1.type = "cost";
    fa.v1.name = "From The Future";
    check(refused(store, oi_agent_create(store, &fa.v1), "oi_agent", OI_AGENT_VERSION + 1),
          "create with a newer oi_agent is OI_EINVALID, naming the struct");
    check(count_agents(store) == 0, "... and writes no row");
    check(fa.v1.id[0] == '\0' && fa.v1.created_at == OI_TIME_NULL && fa.new_field == CANARY,
          "... and fills in nothing, the new field included");

    fa.v1.version = OI_AGENT_VERSION;
    check(oi_agent_create(store, &fa.v1) == OI_OK && count_agents(store) == 1,
          "the same record with this header's version is created");

    future_agent got = {OI_AGENT_INIT, CANARY};
    got.v1.version = OI_AGENT_VERSION + 1;
    got.v1.name = CANARY;
    check(refused(store, oi_agent_get(store, fa.v1.id, &got.v1), "oi_agent", OI_AGENT_VERSION + 1),
          "get into a newer oi_agent is OI_EINVALID");
    check(got.v1.name == CANARY && got.new_field == CANARY, "... and writes into none of it");

    oi_iter *it;
    int rc = oi_agent_iter_new(&it, store);
    check(rc == OI_OK && refused(store, oi_agent_next(it, &got.v1), "oi_agent", OI_AGENT_VERSION + 1) &&
              got.v1.name == CANARY && got.new_field == CANARY,
          "next into a newer oi_agent is OI_EINVALID and writes nothing");
    got.v1.version = OI_AGENT_VERSION;
    check(oi_agent_next(it, &got.v1) == OI_OK && strcmp(got.v1.name, "From The Future") == 0,
          "... and the row it refused is still there for a record of this version");
    oi_agent_clear(&got.v1);
    oi_iter_free(it);
}

static void newer_filter(oi_store *store)
{
    future_filter f = {OI_METRIC_FILTER_INIT, CANARY};
    oi_iter *it = NULL;
    f.v1.version = OI_METRIC_FILTER_VERSION + 1;
    check(refused(store, oi_metric_iter_new(&it, store, &f.v1), "oi_metric_filter", OI_METRIC_FILTER_VERSION + 1) && !it,
          "a newer oi_metric_filter is OI_EINVALID and opens no iterator");
    f.v1.version = OI_METRIC_FILTER_VERSION;
    check(oi_metric_iter_new(&it, store, &f.v1) == OI_OK, "this header's filter is taken");
    oi_iter_free(it);
}

static void newer_import_options(oi_store *store)
{
    static const char csv[] = "agent,metric_name,metric_value\nFrom The Future,m,1\n";
    future_import_options o = {OI_IMPORT_OPTIONS_INIT, 7};
    oi_import_report report = OI_IMPORT_REPORT_INIT;
    FILE *in = fmemopen((void *)csv, sizeof csv - 1, "r");
    o.v1.version = OI_IMPORT_OPTIONS_VERSION + 1;
    check(refused(store, oi_metrics_import(store, in, OI_FORMAT_CSV, &o.v1, &report),
                  "oi_import_options", OI_IMPORT_OPTIONS_VERSION + 1) && ftell(in) == 0 && report.rows == 0,
          "a newer oi_import_options is OI_EINVALID before a byte is read");
    o.v1.version = OI_IMPORT_OPTIONS_VERSION;
    check(oi_metrics_import(store, in, OI_FORMAT_CSV, &o.v1, &report) == OI_OK &&
              report.rows == 1,
          "this header's options import the same input");
    fclose(in);
}

/* 1.1's structs: options the library reads, a record it fills. */
static void newer_heartbeat_options(oi_store *store)
{
    future_heartbeat_options o = {OI_HEARTBEAT_OPTIONS_INIT, CANARY};
    oi_agent a = OI_AGENT_INIT;
    oi_time at = 42;
    o.v1.version = OI_HEARTBEAT_OPTIONS_VERSION + 1;
    o.v1.status = "from the future";
    check(oi_agent_find(store, "cost", "From The Future", &a) == OI_OK &&
              refused(store, oi_agent_heartbeat_with(store, a.id, &o.v1, &at),
                      "oi_heartbeat_options", OI_HEARTBEAT_OPTIONS_VERSION + 1) && at == 42,
          "a heartbeat with newer oi_heartbeat_options is OI_EINVALID");
    oi_agent_clear(&a);
    check(oi_agent_find(store, "cost", "From The Future", &a) == OI_OK &&
              a.last_heartbeat == OI_TIME_NULL && strcmp(a.status, "active") == 0,
          "... and records neither the beat nor the status");
    o.v1.version = OI_HEARTBEAT_OPTIONS_VERSION;
    check(oi_agent_heartbeat_with(store, a.id, &o.v1, &at) == OI_OK && at != 42,
          "this header's options are taken");
    oi_agent_clear(&a);
}

static void newer_api_token(oi_store *store)
{
    future_api_token t = {OI_API_TOKEN_INIT, CANARY};
    char token[OI_TOKEN_BUFSZ] = "x";
    bool any = true;
    t.v1.version = OI_API_TOKEN_VERSION + 1;
    t.v1.label = CANARY;
    check(refused(store, oi_token_create(store, OI_TOKEN_ADMIN, NULL, "l", token, &t.v1),
                  "oi_api_token", OI_API_TOKEN_VERSION + 1) && token[0] == '\0' && t.v1.label == CANARY &&
              t.new_field == CANARY,
          "a token into a newer oi_api_token is OI_EINVALID and fills in nothing");
    check(oi_token_any(store, &any) == OI_OK && !any, "... and makes no token");
    t.v1.version = OI_API_TOKEN_VERSION;
    check(oi_token_create(store, OI_TOKEN_ADMIN, NULL, "l", token, &t.v1) == OI_OK &&
              oi_token_verify(store, token, NULL) == OI_OK,
          "this header's record gets a token that verifies");
    oi_api_token_clear(&t.v1);
}

int main(int argc, char **argv)
{
    oi_store *store = NULL;
    int major;
    if (argc != 2) {
        fputs("usage: abi-newer-struct URL\n", stderr);
        return 2;
    }
    check(oi_version(&major, NULL, NULL) == OPTIINFRA_VERSION_NUMBER &&
              major == OPTIINFRA_VERSION_MAJOR,
          "oi_version() is the version of the installed headers");
    if (oi_store_open(&store, argv[1]) != OI_OK ||
        oi_migrate_upgrade(store, "head", NULL, NULL, NULL) != OI_OK) {
        fprintf(stderr, "abi-newer-struct: %s\n", oi_errmsg(store));
        oi_store_close(store);
        return 1;
    }
    newer_agent(store);
    newer_filter(store);
    newer_import_options(store);
    newer_heartbeat_options(store);
    newer_api_token(store);
    oi_store_close(store);
    printf("abi: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
