/*
 * test_validate.c - the validation checklist as a library call: clean after
 * migrate and seed, failing (and saying where) when data is missing.
 */
#include "harness.h"

#include <string.h>

static void seed_all(oi_fixture *fx)
{
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
}

/* Check i of a run (which must exist). */
static const oi_check *check(const oi_validation *v, size_t i)
{
    const oi_check *c = oi_validation_check(v, i);
    assert_non_null(c);
    return c;
}

/* Print the failed checks, to make a failing assertion readable. */
static void print_failed(const oi_validation *v)
{
    for (size_t i = 0; i < oi_validation_count(v); i++)
        if (!check(v, i)->ok)
            print_message("  failed check: %s: %s\n", check(v, i)->name, check(v, i)->detail);
}

static size_t failed_count(const oi_validation *v)
{
    size_t n = 0;
    for (size_t i = 0; i < oi_validation_count(v); i++)
        n += !check(v, i)->ok;
    return n;
}

/* Run the checklist (it must run, whether or not its checks pass). */
static oi_validation *validate(oi_fixture *fx)
{
    oi_validation *v = NULL;
    assert_ok(fx, oi_validate(fx->store, &v));
    assert_non_null(v);
    assert_null(oi_validation_check(v, oi_validation_count(v))); /* past the last */
    return v;
}

static void test_validate_passes_after_seed(void **state)
{
    oi_fixture *fx = FX(state);
    seed_all(fx);
    oi_validation *v = validate(fx);
    print_failed(v);
    assert_int_equal(oi_validation_failed(v), 0);
    assert_true(oi_validation_count(v) >= 10);
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        assert_non_null(check(v, i)->name);
        assert_non_null(check(v, i)->detail);
    }
    oi_validation_free(v);
}

static void test_validate_fails_without_seed(void **state)
{
    oi_fixture *fx = FX(state);
    oi_validation *v = validate(fx); /* the checks ran; they failed */
    assert_true(oi_validation_failed(v) > 0);
    assert_int_equal(oi_validation_failed(v), failed_count(v));
    bool counts_failed = false;
    for (size_t i = 0; i < oi_validation_count(v); i++)
        counts_failed |= !check(v, i)->ok && (strstr(check(v, i)->name, "agent_configs") ||
                                             strstr(check(v, i)->detail, "agent_configs"));
    assert_true(counts_failed);
    oi_validation_free(v);
}

static void test_validate_names_agent_without_state(void **state)
{
    oi_fixture *fx = FX(state);
    seed_all(fx);
    oi_agent tuner = OI_AGENT_INIT;
    assert_ok(fx, oi_agent_find(fx->store, "performance", "Performance Tuner", &tuner));
    oi_agent_state st = OI_AGENT_STATE_INIT;
    assert_ok(fx, oi_agent_state_find(fx->store, tuner.id, &st));
    assert_ok(fx, oi_agent_state_delete(fx->store, st.id));

    oi_validation *v = validate(fx);
    assert_true(oi_validation_failed(v) > 0);
    bool named = false;
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = check(v, i);
        if (c->ok)
            continue;
        named |= strstr(c->name, "Performance Tuner") || strstr(c->detail, "Performance Tuner");
    }
    if (!named)
        print_failed(v);
    assert_true(named);
    oi_validation_free(v);
    oi_agent_state_clear(&st);
    oi_agent_clear(&tuner);
}

static void test_validate_on_base_database(void **state)
{
    oi_fixture *fx = FX(state);
    assert_ok(fx, oi_migrate_downgrade(fx->store, "base", NULL, NULL, NULL));
    oi_validation *v = validate(fx);
    assert_true(oi_validation_failed(v) > 0);
    bool revision_failed = false;
    for (size_t i = 0; i < oi_validation_count(v); i++)
        revision_failed |= !check(v, i)->ok && strstr(check(v, i)->name, "revision");
    assert_true(revision_failed);
    oi_validation_free(v);
}

static void test_validate_names_missing_cost_config(void **state)
{
    oi_fixture *fx = FX(state);
    seed_all(fx);
    fx_sql_exec(fx, "DELETE FROM agent_configs WHERE config_key = 'savings_threshold_percent'");
    oi_validation *v = validate(fx);
    assert_true(oi_validation_failed(v) > 0);
    bool named = false;
    for (size_t i = 0; i < oi_validation_count(v); i++) {
        const oi_check *c = check(v, i);
        named |= !c->ok && (strstr(c->name, "savings_threshold_percent") ||
                            strstr(c->detail, "savings_threshold_percent"));
    }
    if (!named)
        print_failed(v);
    assert_true(named);
    oi_validation_free(v);
}

/* The index of a check by name, or -1. */
static long find_check(const oi_validation *v, const char *name)
{
    for (size_t i = 0; i < oi_validation_count(v); i++)
        if (strcmp(check(v, i)->name, name) == 0)
            return (long)i;
    return -1;
}

/* api_tokens (005) is checked as every table is: present, counted (no rows
 * needed), its foreign key and index there. */
static void test_validate_checks_api_tokens(void **state)
{
    oi_fixture *fx = FX(state);
    static const char *const names[] = {"table api_tokens", "count api_tokens",
                                        "foreign key api_tokens.agent_id",
                                        "index ix_api_tokens_agent_id"};
    seed_all(fx);
    oi_validation *v = validate(fx);
    print_failed(v);
    assert_int_equal(oi_validation_failed(v), 0);
    assert_int_equal(oi_validation_count(v), 66);
    for (size_t i = 0; i < 4; i++) {
        long at = find_check(v, names[i]);
        if (at < 0)
            fail_msg("no check named '%s'", names[i]);
        assert_true(check(v, (size_t)at)->ok);
    }
    oi_validation_free(v);

    fx_sql_exec(fx, "DROP INDEX ix_api_tokens_agent_id");
    v = validate(fx);
    assert_int_equal(oi_validation_failed(v), 1);
    assert_false(check(v, (size_t)find_check(v, "index ix_api_tokens_agent_id"))->ok);
    oi_validation_free(v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int run_validate_tests(void)
{
    const struct CMUnitTest tests[] = {
        T(test_validate_passes_after_seed),
        T(test_validate_fails_without_seed),
        T(test_validate_names_agent_without_state),
        T(test_validate_on_base_database),
        T(test_validate_names_missing_cost_config),
        T(test_validate_checks_api_tokens),
    };
    return fx_run_group("validate", tests);
}
