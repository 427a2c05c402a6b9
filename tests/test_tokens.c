/*
 * test_tokens.c - API tokens (tokens.h, revision 005) through the library
 * and the CLI, on either backend.
 *
 * What could break, each checked: the token's form (prefix, length, hex);
 * that the table holds SHA-256 of the token and never the token; that only
 * the exact token verifies (a changed digit, another prefix, upper case, a
 * short or long one, a revoked one do not) and that no message repeats it;
 * the role rules (an agent token needs an existing agent, the others
 * refuse one) and the label rules, each refusal writing nothing; the
 * schema's own checks; revoking; listing in creation order over several
 * pages; an agent token deleted with its agent; and the CLI, whose token
 * is the last line of its output and whose listing never shows one.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>

enum { MANY_TOKENS = 503 }; /* more than one page of OI_ITER_PAGE (500) */

static void assert_exit(const fx_run *r, int code)
{
    if (r->status == code)
        return;
    print_error("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    fail();
}

/* "oit_" and 64 lower-case hex digits. */
static void assert_token_form(const char *token)
{
    assert_int_equal(strlen(token), OI_TOKEN_LEN);
    assert_int_equal(OI_TOKEN_LEN, 68);
    assert_memory_equal(token, "oit_", 4);
    for (const char *p = token + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            fail_msg("token character '%c' is not a lower-case hex digit", *p);
}

static void sha256_hex(const char *text, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* The token_sha256 column of the token with this id, read around the library. */
static char *stored_hash(oi_fixture *fx, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT token_sha256 FROM api_tokens WHERE id = '%s'", id);
    char *text = fx_sql_text(fx, sql);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* Neither the token, nor its hex part, nor its hash in text. */
static void assert_no_secret(const char *text, const char *token)
{
    char hash[65];
    sha256_hex(token, hash);
    assert_not_contains(text, token);
    assert_not_contains(text, token + 4);
    assert_not_contains(text, hash);
}

static long long tokens(oi_fixture *fx)
{
    return fx_count(fx, "api_tokens");
}

/* ---- create ------------------------------------------------------------------ */

static void test_token_create_admin(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ], other[OI_TOKEN_BUFSZ];
    oi_api_token t = OI_API_TOKEN_INIT;
    oi_time before = oi_time_now();
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, "ops laptop", token, &t));
    assert_token_form(token);
    assert_int_equal(strlen(t.id), OI_UUID_LEN);
    assert_int_equal(t.role, OI_TOKEN_ADMIN);
    assert_string_equal(t.agent_id, "");
    assert_null(t.agent_name);
    assert_string_equal(t.label, "ops laptop");
    assert_true(t.created_at >= before && t.created_at <= oi_time_now());
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_READ_ONLY, "", NULL, other, NULL));
    assert_token_form(other);
    assert_string_not_equal(token, other);
    assert_int_equal(tokens(fx), 2);
    oi_api_token_clear(&t);
}

static void test_token_role_names(void **state)
{
    (void)state;
    assert_string_equal(oi_token_role_name(OI_TOKEN_ADMIN), "admin");
    assert_string_equal(oi_token_role_name(OI_TOKEN_READ_ONLY), "read_only");
    assert_string_equal(oi_token_role_name(OI_TOKEN_AGENT), "agent");
    assert_null(oi_token_role_name((oi_token_role)3));
    assert_null(oi_token_role_name((oi_token_role)-1));
}

/* The table holds SHA-256 of the whole token text, and nothing else of it. */
static void test_token_stored_as_hash(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ], want[65];
    oi_api_token t = OI_API_TOKEN_INIT;
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_AGENT, fx->cost_agent.id, "x", token, &t));
    sha256_hex(token, want);
    char *hash = stored_hash(fx, t.id);
    assert_string_equal(hash, want);
    char *rows = fx_sql_text(fx, "SELECT * FROM api_tokens");
    assert_not_contains(rows, token);
    assert_not_contains(rows, token + 4);
    assert_contains(rows, t.id);
    free(rows);
    free(hash);
    oi_api_token_clear(&t);
}

static void test_token_agent_role(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ], upper[OI_UUID_LEN + 1];
    oi_api_token t = OI_API_TOKEN_INIT, v = OI_API_TOKEN_INIT;
    snprintf(upper, sizeof upper, "%s", fx->cost_agent.id);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_AGENT, upper, NULL, token, &t));
    assert_int_equal(t.role, OI_TOKEN_AGENT);
    assert_string_equal(t.agent_id, fx->cost_agent.id); /* stored in lower case */
    assert_string_equal(t.agent_name, "Test Cost Agent");
    assert_null(t.label);
    assert_ok(fx, oi_token_verify(fx->store, token, &v));
    assert_int_equal(v.role, OI_TOKEN_AGENT);
    assert_string_equal(v.agent_id, fx->cost_agent.id);
    assert_string_equal(v.agent_name, "Test Cost Agent");
    oi_api_token_clear(&v);

    /* the token goes with its agent */
    assert_ok(fx, oi_agent_delete(fx->store, fx->cost_agent.id));
    assert_int_equal(tokens(fx), 0);
    assert_rc(fx, oi_token_verify(fx->store, token, &v), OI_ENOTFOUND);
    oi_api_token_clear(&t);
}

/* Every refusal writes nothing, leaves the buffer "" and the record empty. */
static void assert_refused(oi_fixture *fx, oi_token_role role, const char *agent_id,
                           const char *label, int code, const char *message)
{
    char token[OI_TOKEN_BUFSZ];
    oi_api_token t = OI_API_TOKEN_INIT;
    memset(token, 'x', sizeof token);
    t.label = "caller's";
    assert_rc(fx, oi_token_create(fx->store, role, agent_id, label, token, &t), code);
    assert_contains(oi_errmsg(fx->store), message);
    assert_string_equal(token, "");
    assert_null(t.label);
    assert_string_equal(t.id, "");
    assert_int_equal(tokens(fx), 0);
}

static void test_token_role_rules(void **state)
{
    oi_fixture *fx = FX(state);
    char missing[OI_UUID_LEN + 1];
    fx_random_uuid(missing);
    const char *cost = fx->cost_agent.id;
    assert_refused(fx, OI_TOKEN_AGENT, missing, NULL, OI_ENOTFOUND, "no agent with id");
    assert_refused(fx, OI_TOKEN_AGENT, missing, NULL, OI_ENOTFOUND, "needs an existing agent");
    assert_refused(fx, OI_TOKEN_AGENT, NULL, NULL, OI_EINVALID, "needs the id of its agent");
    assert_refused(fx, OI_TOKEN_AGENT, "", NULL, OI_EINVALID, "needs the id of its agent");
    assert_refused(fx, OI_TOKEN_AGENT, "Test Cost Agent", NULL, OI_EINVALID, "is not a UUID");
    assert_refused(fx, OI_TOKEN_ADMIN, cost, NULL, OI_EINVALID, "only an agent token");
    assert_refused(fx, OI_TOKEN_READ_ONLY, cost, NULL, OI_EINVALID, "not a read_only token");
    assert_refused(fx, (oi_token_role)7, NULL, NULL, OI_EINVALID, "is not a token role");
}

static void test_token_label_rules(void **state)
{
    oi_fixture *fx = FX(state);
    char label[OI_TOKEN_LABEL_MAX + 2], token[OI_TOKEN_BUFSZ];
    oi_api_token t = OI_API_TOKEN_INIT;
    memset(label, 'a', sizeof label - 1);
    label[sizeof label - 1] = '\0'; /* 201 bytes */
    assert_refused(fx, OI_TOKEN_ADMIN, NULL, label, OI_EINVALID, "at most 200 bytes");
    assert_refused(fx, OI_TOKEN_ADMIN, NULL, "line\nbreak", OI_EINVALID, "control characters");
    assert_refused(fx, OI_TOKEN_ADMIN, NULL, "tab\there", OI_EINVALID, "control characters");
    assert_refused(fx, OI_TOKEN_ADMIN, NULL, "bad \xff utf-8", OI_EINVALID, "UTF-8");

    label[OI_TOKEN_LABEL_MAX] = '\0'; /* 200 bytes: the longest */
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, label, token, &t));
    assert_string_equal(t.label, label);
    oi_api_token_clear(&t);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, "", token, &t));
    assert_null(t.label); /* "" is no label */
    oi_api_token_clear(&t);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, "déploiement ☃", token, NULL));
    assert_ok(fx, oi_token_verify(fx->store, token, &t));
    assert_string_equal(t.label, "déploiement ☃");
    oi_api_token_clear(&t);
    assert_int_equal(fx_sql_int(fx, "SELECT count(*) FROM api_tokens WHERE label IS NULL"), 1);
}

static void test_token_create_refuses_bad_arguments(void **state)
{
    oi_fixture *fx = FX(state);
    oi_api_token t = OI_API_TOKEN_INIT;
    assert_rc(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, NULL, NULL, &t), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "buffer for the token");
    const unsigned bad[] = {0, OI_API_TOKEN_VERSION + 1};
    for (size_t b = 0; b < 2; b++) {
        char token[OI_TOKEN_BUFSZ] = "untouched";
        oi_api_token out = {0};
        out.version = bad[b];
        assert_rc(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, NULL, token, &out),
                  OI_EINVALID);
        assert_contains(oi_errmsg(fx->store), "oi_api_token version");
        assert_string_equal(token, "");
        assert_string_equal(out.id, "");
    }
    assert_int_equal(tokens(fx), 0);
}

/* ---- verify ------------------------------------------------------------------ */

static void test_token_verify(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ];
    oi_api_token made = OI_API_TOKEN_INIT, got = OI_API_TOKEN_INIT;
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_READ_ONLY, NULL, "grafana", token, &made));
    assert_ok(fx, oi_token_verify(fx->store, token, &got));
    assert_string_equal(got.id, made.id);
    assert_int_equal(got.role, OI_TOKEN_READ_ONLY);
    assert_string_equal(got.agent_id, "");
    assert_null(got.agent_name);
    assert_string_equal(got.label, "grafana");
    assert_true(got.created_at == made.created_at);
    oi_api_token_clear(&got);
    assert_ok(fx, oi_token_verify(fx->store, token, NULL)); /* out is optional */
    assert_ok(fx, oi_token_verify(fx->store, token, &got)); /* and again: cached statement */
    oi_api_token_clear(&got);
    oi_api_token_clear(&made);
}

/* A token that differs anywhere, or has another form, is not found, and the
 * message never repeats it. */
static void test_token_verify_refuses_others(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ], probe[OI_TOKEN_BUFSZ + 8];
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, NULL, token, NULL));
    char *variants[16];
    size_t n = 0;
    for (size_t at = 4; at < OI_TOKEN_LEN; at += 21) { /* another hex digit here and there */
        snprintf(probe, sizeof probe, "%s", token);
        probe[at] = probe[at] == '0' ? '1' : '0';
        variants[n++] = strdup(probe);
    }
    snprintf(probe, sizeof probe, "oix_%s", token + 4); /* another prefix */
    variants[n++] = strdup(probe);
    snprintf(probe, sizeof probe, "%s", token); /* upper case */
    for (char *p = probe + 4; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    variants[n++] = strdup(probe);
    snprintf(probe, sizeof probe, "%.67s", token); /* one digit short */
    variants[n++] = strdup(probe);
    snprintf(probe, sizeof probe, "%s0", token); /* one too many */
    variants[n++] = strdup(probe);
    snprintf(probe, sizeof probe, "%.67sg", token); /* not hex */
    variants[n++] = strdup(probe);
    variants[n++] = strdup(token + 4); /* no prefix */
    variants[n++] = strdup("");
    for (size_t i = 0; i < n; i++) {
        oi_api_token got = OI_API_TOKEN_INIT;
        got.label = "caller's";
        assert_rc(fx, oi_token_verify(fx->store, variants[i], &got), OI_ENOTFOUND);
        assert_null(got.label); /* emptied */
        if (*variants[i])
            assert_not_contains(oi_errmsg(fx->store), variants[i]);
        assert_no_secret(oi_errmsg(fx->store), token);
        free(variants[i]);
    }
    assert_rc(fx, oi_token_verify(fx->store, NULL, NULL), OI_EINVALID);
    oi_api_token bad = {0};
    assert_rc(fx, oi_token_verify(fx->store, token, &bad), OI_EINVALID);
    assert_contains(oi_errmsg(fx->store), "oi_api_token version 0");
    assert_ok(fx, oi_token_verify(fx->store, token, NULL)); /* the real one still works */
}

/* ---- any, revoke, list ------------------------------------------------------- */

static void test_token_any_and_revoke(void **state)
{
    oi_fixture *fx = FX(state);
    char token[OI_TOKEN_BUFSZ], upper[OI_UUID_LEN + 1];
    bool any = true;
    oi_api_token t = OI_API_TOKEN_INIT;
    assert_ok(fx, oi_token_any(fx->store, &any));
    assert_false(any);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, NULL, token, &t));
    assert_ok(fx, oi_token_any(fx->store, &any));
    assert_true(any);

    assert_rc(fx, oi_token_revoke(fx->store, "not-a-uuid"), OI_EINVALID);
    assert_rc(fx, oi_token_revoke(fx->store, NULL), OI_EINVALID);
    char missing[OI_UUID_LEN + 1];
    fx_random_uuid(missing);
    assert_rc(fx, oi_token_revoke(fx->store, missing), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), missing);
    assert_int_equal(tokens(fx), 1);

    snprintf(upper, sizeof upper, "%s", t.id);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_ok(fx, oi_token_revoke(fx->store, upper));
    assert_int_equal(tokens(fx), 0);
    assert_rc(fx, oi_token_verify(fx->store, token, NULL), OI_ENOTFOUND);
    assert_contains(oi_errmsg(fx->store), "unknown or revoked");
    assert_rc(fx, oi_token_revoke(fx->store, t.id), OI_ENOTFOUND);
    assert_ok(fx, oi_token_any(fx->store, &any));
    assert_false(any);
    oi_api_token_clear(&t);
}

static int by_creation(const void *pa, const void *pb)
{
    const oi_api_token *a = pa, *b = pb;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Every token once, by (created_at, id), over several pages. */
static void test_token_list(void **state)
{
    oi_fixture *fx = FX(state);
    oi_api_token *made = calloc(MANY_TOKENS, sizeof *made);
    char token[OI_TOKEN_BUFSZ];
    assert_non_null(made);
    assert_ok(fx, oi_begin(fx->store));
    for (int i = 0; i < MANY_TOKENS; i++) {
        char label[32];
        snprintf(label, sizeof label, "token %d", i);
        made[i] = (oi_api_token)OI_API_TOKEN_INIT;
        assert_ok(fx, oi_token_create(fx->store, i % 3 == 0 ? OI_TOKEN_AGENT : OI_TOKEN_ADMIN,
                                      i % 3 == 0 ? fx->cost_agent.id : NULL, label, token,
                                      &made[i]));
    }
    assert_ok(fx, oi_commit(fx->store));
    qsort(made, MANY_TOKENS, sizeof *made, by_creation);

    oi_iter *it = NULL;
    oi_api_token *got = NULL;
    assert_ok(fx, oi_token_iter_new(&it, fx->store));
    size_t n = fx_collect_api_tokens(fx, it, &got);
    assert_int_equal(n, MANY_TOKENS);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i].id, made[i].id);
        assert_int_equal(got[i].role, made[i].role);
        assert_string_equal(got[i].label, made[i].label);
        assert_true(got[i].created_at == made[i].created_at);
        if (got[i].role == OI_TOKEN_AGENT)
            assert_string_equal(got[i].agent_name, "Test Cost Agent");
        else
            assert_null(got[i].agent_name);
    }
    fx_free_api_tokens(got, n);
    fx_free_api_tokens(made, MANY_TOKENS);

    /* the wrong record type, and a record of an unknown version */
    oi_agent a = OI_AGENT_INIT;
    oi_api_token bad = {0};
    assert_ok(fx, oi_token_iter_new(&it, fx->store));
    assert_rc(fx, oi_agent_next(it, &a), OI_EINVALID);
    assert_rc(fx, oi_api_token_next(it, &bad), OI_EINVALID);
    oi_iter_free(it);
    assert_int_equal(oi_api_token_next(NULL, &bad), OI_EINVALID);
}

/* ---- the schema's own rules -------------------------------------------------- */

static void test_token_schema_checks(void **state)
{
    oi_fixture *fx = FX(state);
    char sql[512], missing[OI_UUID_LEN + 1];
    const char *hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *cost = fx->cost_agent.id;
    fx_random_uuid(missing);
#define TRY(role, agent, digest)                                                     \
    (snprintf(sql, sizeof sql, "INSERT INTO api_tokens (role, agent_id, token_sha256) " \
              "VALUES (%s, %s, %s)", role, agent, digest), fx_sql_try(fx, sql))
    char quoted_cost[64], quoted_missing[64], quoted_hash[80];
    snprintf(quoted_cost, sizeof quoted_cost, "'%s'", cost);
    snprintf(quoted_missing, sizeof quoted_missing, "'%s'", missing);
    snprintf(quoted_hash, sizeof quoted_hash, "'%s'", hash);
    assert_false(TRY("'agent'", "NULL", quoted_hash));          /* an agent token needs one */
    assert_false(TRY("'admin'", quoted_cost, quoted_hash));     /* others name none */
    assert_false(TRY("'root'", "NULL", quoted_hash));           /* not a role */
    assert_false(TRY("'agent'", quoted_missing, quoted_hash));  /* no such agent */
    assert_false(TRY("'admin'", "NULL", "upper('" "0123456789abcdef0123456789abcdef"
                                        "0123456789abcdef0123456789abcdef')"));
    assert_false(TRY("'admin'", "NULL", "'0123456789abcdef'")); /* too short */
    assert_false(TRY("'admin'", "NULL", "NULL"));
    assert_int_equal(tokens(fx), 0);
    assert_true(TRY("'agent'", quoted_cost, quoted_hash));
    assert_false(TRY("'admin'", "NULL", quoted_hash));          /* the hash is unique */
    assert_int_equal(tokens(fx), 1);
#undef TRY
}

/* ---- the CLI ------------------------------------------------------------------ */

/* The last line of text (a copy, without its newline). */
static char *last_line(const char *text)
{
    size_t len = strlen(text);
    while (len && text[len - 1] == '\n')
        len--;
    size_t start = len;
    while (start && text[start - 1] != '\n')
        start--;
    return strndup(text + start, len - start);
}

static void test_cli_token_create(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    oi_api_token t = OI_API_TOKEN_INIT;
    fx_cli(fx, &r, "token", "create", "--admin", "--label", "ops", (char *)NULL);
    assert_exit(&r, 0);
    char *token = last_line(r.out);
    assert_token_form(token);
    assert_int_equal(fx_count_lines(r.out), 2);
    assert_contains(r.out, "role admin");
    assert_contains(r.out, "label 'ops'");
    assert_contains(r.out, "store it now: it is shown only once");
    assert_ok(fx, oi_token_verify(fx->store, token, &t));
    assert_contains(r.out, t.id);
    assert_int_equal(t.role, OI_TOKEN_ADMIN);
    oi_api_token_clear(&t);
    free(token);
    fx_run_free(&r);

    fx_cli(fx, &r, "token", "create", "--agent", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 0);
    token = last_line(r.out);
    assert_contains(r.out, "role agent, agent 'Test Cost Agent')");
    assert_ok(fx, oi_token_verify(fx->store, token, &t));
    assert_int_equal(t.role, OI_TOKEN_AGENT);
    assert_string_equal(t.agent_id, fx->cost_agent.id);
    oi_api_token_clear(&t);
    free(token);
    fx_run_free(&r);

    fx_cli(fx, &r, "token", "create", "--read-only", "--json", (char *)NULL);
    assert_exit(&r, 0);
    json_t *j = fx_json(r.out);
    const char *json_token = json_string_value(json_object_get(j, "token"));
    assert_non_null(json_token);
    assert_token_form(json_token);
    assert_ok(fx, oi_token_verify(fx->store, json_token, &t));
    assert_string_equal(json_string_value(json_object_get(j, "id")), t.id);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "read_only");
    assert_true(json_is_null(json_object_get(j, "agent_id")));
    assert_true(json_is_null(json_object_get(j, "label")));
    assert_true(json_is_string(json_object_get(j, "created_at")));
    oi_api_token_clear(&t);
    json_decref(j);
    fx_run_free(&r);
    assert_int_equal(tokens(fx), 3);
}

static void test_cli_token_refusals(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli(fx, &r, "token", "create", (char *)NULL); /* no role */
    assert_exit(&r, 2);
    assert_contains(r.err, "exactly one of --admin, --read-only and --agent");
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "create", "--admin", "--read-only", (char *)NULL);
    assert_exit(&r, 2);
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "create", "--admin", "--agent", "Test Cost Agent", (char *)NULL);
    assert_exit(&r, 2);
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "create", "--agent", "Nobody", (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "Nobody");
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "create", "--admin", "--label", "a\tb", (char *)NULL);
    assert_exit(&r, 3);
    assert_contains(r.err, "control characters");
    assert_string_equal(r.out, "");
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "revoke", "nope", (char *)NULL);
    assert_exit(&r, 3);
    fx_run_free(&r);
    char missing[OI_UUID_LEN + 1];
    fx_random_uuid(missing);
    fx_cli(fx, &r, "token", "revoke", missing, (char *)NULL);
    assert_exit(&r, 4);
    assert_contains(r.err, "token list");
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "revoke", (char *)NULL);
    assert_exit(&r, 2);
    fx_run_free(&r);
    assert_int_equal(tokens(fx), 0);
}

/* `token list` shows what the store has, never a token or its hash. */
static void test_cli_token_list_and_revoke(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    char admin[OI_TOKEN_BUFSZ], agent[OI_TOKEN_BUFSZ];
    oi_api_token a = OI_API_TOKEN_INIT, b = OI_API_TOKEN_INIT;
    fx_cli(fx, &r, "token", "list", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "No API tokens");
    fx_run_free(&r);
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_ADMIN, NULL, "first", admin, &a));
    assert_ok(fx, oi_token_create(fx->store, OI_TOKEN_AGENT, fx->cost_agent.id, NULL, agent, &b));

    fx_cli(fx, &r, "token", "list", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "ROLE");
    assert_contains(r.out, a.id);
    assert_contains(r.out, b.id);
    assert_contains(r.out, "first");
    assert_contains(r.out, "Test Cost Agent");
    assert_true(strstr(r.out, a.id) < strstr(r.out, b.id)); /* oldest first */
    assert_no_secret(r.out, admin);
    assert_no_secret(r.out, agent);
    fx_run_free(&r);
    fx_cli(fx, &r, "token", "list", "--json", (char *)NULL);
    assert_exit(&r, 0);
    assert_no_secret(r.out, admin);
    assert_no_secret(r.out, agent);
    json_t *j = fx_json(r.out);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "role")), "admin");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "agent")),
                        "Test Cost Agent");
    assert_null(json_object_get(json_array_get(j, 0), "token"));
    json_decref(j);
    fx_run_free(&r);

    fx_cli(fx, &r, "token", "revoke", a.id, (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "revoked");
    fx_run_free(&r);
    assert_rc(fx, oi_token_verify(fx->store, admin, NULL), OI_ENOTFOUND);
    assert_ok(fx, oi_token_verify(fx->store, agent, NULL));
    fx_cli(fx, &r, "token", "revoke", b.id, "--json", (char *)NULL);
    assert_exit(&r, 0);
    j = fx_json(r.out);
    assert_true(json_is_true(json_object_get(j, "revoked")));
    json_decref(j);
    fx_run_free(&r);
    assert_int_equal(tokens(fx), 0);
    oi_api_token_clear(&a);
    oi_api_token_clear(&b);
}

static void test_cli_token_help(void **state)
{
    oi_fixture *fx = FX(state);
    fx_run r;
    fx_cli_raw(fx, &r, "--help", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "token create --admin | --read-only | --agent AGENT");
    assert_contains(r.out, "token list");
    assert_contains(r.out, "token revoke ID");
    fx_run_free(&r);
    fx_cli_raw(fx, &r, "token", "create", "--help", (char *)NULL);
    assert_exit(&r, 0);
    assert_contains(r.out, "--label L");
    assert_contains(r.out, "last line");
    fx_run_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)

int run_token_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_token_create_admin),
        cmocka_unit_test(test_token_role_names),
        T(test_token_stored_as_hash),
        T(test_token_agent_role),
        T(test_token_role_rules),
        T(test_token_label_rules),
        T(test_token_create_refuses_bad_arguments),
        T(test_token_verify),
        T(test_token_verify_refuses_others),
        T(test_token_any_and_revoke),
        T(test_token_list),
        T(test_token_schema_checks),
        T(test_cli_token_create),
        T(test_cli_token_refusals),
        T(test_cli_token_list_and_revoke),
        T(test_cli_token_help),
    };
    return fx_run_group("tokens", tests);
}
