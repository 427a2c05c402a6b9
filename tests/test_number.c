/*
 * test_number.c - doubles as text (optiinfra/number.h): the shortest text
 * that reads back as the same double, the grammar oi_number_parse()
 * accepts, and the same results under a locale whose decimal point is a
 * comma, set for the process (setlocale) or for one thread (uselocale),
 * including the library's own paths on the backend under test: import,
 * export, configs and metrics.
 *
 * Decimal-comma locales are looked up by name (de_DE.UTF-8, fr_FR.UTF-8,
 * ...; glibc honours LOCPATH).  Where none is installed those tests are
 * skipped with a message.  One can be built without installing anything:
 * localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8, then run with LOCPATH=DIR.
 */
#include "harness.h"
#include "number.h"

#include <float.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT "Test Cost Agent"

/* ---- helpers ------------------------------------------------------------------ */

/* A fixed sequence of 64-bit patterns (xorshift64). */
static uint64_t next_bits(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A finite double from the sequence: any exponent, any sign. */
static double next_double(uint64_t *state)
{
    double d;
    do {
        uint64_t bits = next_bits(state);
        memcpy(&d, &bits, sizeof d);
    } while (!isfinite(d));
    return d;
}

/* The C locale, for reading back what oi_number_parse() refuses. */
static locale_t c_locale;

/* v written and read back with the library's two calls, in whatever
 * locale the thread has: true when it comes back bit for bit. */
static bool round_trips(double v)
{
    char buf[OI_NUMBER_BUFSZ];
    double back;
    oi_number_format(v, buf);
    if (strchr(buf, ','))
        return false;
    if (fabs(v) < DBL_MIN && v != 0)  /* subnormal: out of oi_number_parse()'s range */
        back = strtod_l(buf, NULL, c_locale);
    else if (oi_number_parse(buf, &back) != OI_OK)
        return false;
    return memcmp(&back, &v, sizeof v) == 0;
}

/* The name of an installed locale that writes 1.5 as "1,5", or NULL. */
static const char *comma_locale_name(void)
{
    static const char *const names[] = {
        "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8",
        "es_ES.UTF-8", "it_IT.UTF-8", "ru_RU.UTF-8", "pt_BR.UTF-8", "de_DE", "fr_FR",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        locale_t l = newlocale(LC_NUMERIC_MASK, names[i], (locale_t)0);
        bool comma = l && strcmp(nl_langinfo_l(RADIXCHAR, l), ",") == 0;
        if (l)
            freelocale(l);
        if (comma)
            return names[i];
    }
    return NULL;
}

static const char *comma_locale_or_skip(void)
{
    const char *name = comma_locale_name();
    if (!name)
        fx_skip("no locale with a decimal comma is installed (locale -a); build one with "
                "localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8 and run with LOCPATH=DIR");
    return name;
}

/* The process's LC_NUMERIC becomes a decimal-comma locale, as a host
 * program's setlocale() would make it; the teardowns put "C" back. */
static void set_comma_locale(void)
{
    const char *name = comma_locale_or_skip();
    char check[16];
    assert_non_null(setlocale(LC_NUMERIC, name));
    snprintf(check, sizeof check, "%.1f", 1.5);
    assert_string_equal(check, "1,5");  /* the locale is in force */
}

static int restore_locale(void **state)
{
    (void)state;
    setlocale(LC_NUMERIC, "C");
    return 0;
}

static int restore_locale_and_fixture(void **state)
{
    restore_locale(state);
    return fx_teardown(state);
}

/* ---- formatting and parsing ------------------------------------------------------ */

static void test_number_format_shortest(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"}, {0.85, "0.85"}, {1.5, "1.5"}, {100, "100"}, {-2.5e-07, "-2.5e-07"},
        {1e21, "1e+21"}, {1e15, "1e+15"}, {0.1 + 0.2, "0.30000000000000004"},
        {123456789012345678.0, "1.2345678901234568e+17"}, {1.0 / 3, "0.3333333333333333"},
        {DBL_MAX, "1.7976931348623157e+308"}, {DBL_MIN, "2.2250738585072014e-308"},
        {4.9406564584124654e-324, "4.94065645841247e-324"},  /* subnormal: not shortest */
        {0.0, "0"}, {-0.0, "-0"},
        {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"},
    };
    char buf[OI_NUMBER_BUFSZ];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(oi_number_format(cases[i].v, buf), cases[i].text);
}

/* What oi_number_format() must write: the first of %.15g, %.16g, %.17g that
 * reads back (its fast path for short decimals must agree to the byte). */
static void format_by_loop(double v, char *buf)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, OI_NUMBER_BUFSZ, "%.*g", digits, v);
        if (strtod_l(buf, NULL, c_locale) == v)
            return;
    }
}

static void assert_formats_as_loop(double v)
{
    char got[OI_NUMBER_BUFSZ], want[OI_NUMBER_BUFSZ];
    format_by_loop(v, want);
    oi_number_format(v, got);
    if (strcmp(got, want) != 0)
        fail_msg("%a: \"%s\", not \"%s\"", v, got, want);
}

/* Short decimals (the fast path), their neighbours one ulp away (not short),
 * the edges of the path (0.0001, 15 digits, 6 decimals) and any double. */
static void test_number_format_short_decimals(void **state)
{
    (void)state;
    static const double edges[] = {
        1e-4, 9.9999e-5, 1.5e-4, 0.000123456, 0.0001234567, 999999999999999.0, 1e15,
        99999999999999.9, 12345678.901234, 123456789.0123456, 0.05, 0.5, 5, 50, 4135.631,
        489.604, -489.604, 0.1 + 0.2, 1e14, 123456.7890001, 9007199254740993.0, -0.0, 0.0,
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        assert_formats_as_loop(edges[i]);
        assert_formats_as_loop(nextafter(edges[i], INFINITY));
        assert_formats_as_loop(nextafter(edges[i], -INFINITY));
    }
    uint64_t seed = 0x2545F4914F6CDD1Du;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next_bits(&seed);
        double scale = pow(10, (int)(bits % 9));    /* 0 to 8 decimals */
        double v = (double)((bits >> 8) % 1000000000000000u) / scale;
        assert_formats_as_loop(bits & 1 ? -v : v);
        assert_formats_as_loop(nextafter(v, 0));
        assert_formats_as_loop(next_double(&seed));
    }
}

/* oi_strtod_c against strtod_l: the same double, bit for bit, and the same
 * end, for decimals on both sides of its fast path's edges (15 significant
 * digits, 22 decimals), with signs, leading zeros, a lone point, an
 * exponent, a hexadecimal prefix and text after the number. */
static void assert_reads_as_strtod(const char *text)
{
    static locale_t c;
    if (!c)
        c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    char *want_end, *got_end;
    double want = strtod_l(text, &want_end, c), got = oi_strtod_c(text, &got_end);
    if (memcmp(&want, &got, sizeof want) != 0 || want_end != got_end)
        fail_msg("\"%s\": %a (end +%td), strtod_l %a (end +%td)", text, got,
                 got_end - text, want, want_end - text);
}

static void test_number_strtod_fast_path(void **state)
{
    (void)state;
    static const char *const edges[] = {
        "0", "-0", "+0", "-0.0", "0.", ".5", "-.5", ".", "-", "+", "", " 1", "1 ", "5.", "00012.3400",
        "489.604", "4135.631", "0.1", "0.3", "999999999999999", "9999999999999999",
        "123456789012345.6", "0.000000000000000000001", "0.0000000000000000000001",
        "0.00000000000000000000001", "1.0000000000000000000000", "9007199254740993",
        "1e5", "1.5E-3", "0x10", "0X1p3", "12abc", "1.2.3", "-1.5x", "inf", "nan", "1,5",
        "000000000000000000000000001", "0.100000000000000", "0.1000000000000000",
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        assert_reads_as_strtod(edges[i]);
    uint64_t seed = 0xD1B54A32D192ED03u;
    char text[64];
    for (int i = 0; i < 300000; i++) {
        uint64_t bits = next_bits(&seed);
        int ndigits = 1 + (int)(bits % 18), point = (int)((bits >> 5) % (ndigits + 24));
        size_t n = 0;
        if (bits & (1u << 10))
            text[n++] = '-';
        for (int d = 0; d < ndigits; d++) {
            if (d == point)
                text[n++] = '.';
            bits = next_bits(&seed);
            text[n++] = (char)('0' + bits % 10);
        }
        if (point > ndigits) {     /* a point further left: 0.000ddd */
            memmove(text + (text[0] == '-') + 2 + (point - ndigits),
                    text + (text[0] == '-'), (size_t)ndigits);
            n = (size_t)(text[0] == '-');
            text[n++] = '0', text[n++] = '.';
            memset(text + n, '0', (size_t)(point - ndigits));
            n += (size_t)(point - ndigits + ndigits);
        }
        text[n] = '\0';
        assert_reads_as_strtod(text);
    }
}

static void test_number_round_trip(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 200000; i++) {
        double v = next_double(&seed);
        if (!round_trips(v))
            fail_msg("%a does not round-trip", v);
    }
}

static void test_number_parse_grammar(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double want;
    } accepted[] = {
        {"1.5", 1.5}, {"-2.5e-07", -2.5e-07}, {"+.5", 0.5}, {"5.", 5}, {"1E3", 1000},
        {" 2", 2}, {"0x1p3", 8}, {"2.2250738585072014e-308", DBL_MIN}, {"1e-310", 1e-310},
    };
    static const char *const refused[] = {
        "", "1.5x", "1,5", "1.5 ", "abc", "1e999", "-1e999", "1e-400", "--1",
    };
    double d;
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        if (oi_number_parse(accepted[i].text, &d) != OI_OK || d != accepted[i].want)
            fail_msg("'%s' should read as %g", accepted[i].text, accepted[i].want);
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (oi_number_parse(refused[i], &d) != OI_EINVALID)
            fail_msg("'%s' should be refused", refused[i]);
    assert_int_equal(oi_number_parse(NULL, &d), OI_EINVALID);
    /* strtod's words: finiteness is the caller's check */
    assert_int_equal(oi_number_parse("inf", &d), OI_OK);
    assert_true(isinf(d));
    assert_int_equal(oi_number_parse("nan", &d), OI_OK);
    assert_true(isnan(d));
}

/* ---- a decimal-comma locale ------------------------------------------------------ */

static void test_number_comma_locale_process(void **state)
{
    (void)state;
    char buf[OI_NUMBER_BUFSZ];
    double d;
    set_comma_locale();
    assert_string_equal(oi_number_format(1.5, buf), "1.5");
    assert_string_equal(oi_number_format(-2.5e-07, buf), "-2.5e-07");
    assert_int_equal(oi_number_parse("1.5", &d), OI_OK);
    assert_true(d == 1.5);
    assert_int_equal(oi_number_parse("1,5", &d), OI_EINVALID);
    uint64_t seed = 42;
    for (int i = 0; i < 20000; i++) {
        double v = next_double(&seed);
        if (!round_trips(v))
            fail_msg("%a does not round-trip under %s", v, setlocale(LC_NUMERIC, NULL));
    }
}

typedef struct worker {
    locale_t locale;   /* the thread's own, set with uselocale() */
    uint64_t seed;
    int failures;
    bool kept;         /* the thread still had its locale afterwards */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    uselocale(w->locale);
    for (int i = 0; i < 20000; i++)
        w->failures += !round_trips(next_double(&w->seed));
    w->kept = uselocale((locale_t)0) == w->locale;
    uselocale(LC_GLOBAL_LOCALE);
    return NULL;
}

/* Threads in a comma locale of their own (and one in C) at once: each
 * writes and reads '.', and finds its locale as it set it. */
static void test_number_comma_locale_threads(void **state)
{
    (void)state;
    const char *name = comma_locale_or_skip();
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){newlocale(LC_ALL_MASK, i ? name : "C", (locale_t)0), 7u + (uint64_t)i,
                        0, false};
        assert_non_null(w[i].locale);
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        freelocale(w[i].locale);
        assert_int_equal(w[i].failures, 0);
        assert_true(w[i].kept);
    }
}

/* The library's paths in a program that set a decimal-comma locale: an
 * import and export through both formats, a config of type number, a
 * metric recorded and read back (on PostgreSQL, doubles cross the wire as
 * text both ways). */
static void test_number_comma_locale_library(void **state)
{
    oi_fixture *fx = FX(state);
    const char *csv = "agent,metric_name,metric_value,collection_timestamp,metadata\n"
                      AGENT ",cpu,1.5,2026-01-01T00:00:00Z,\"{\"\"k\"\": 1.50}\"\n"
                      AGENT ",mem,-2.5e-07,2026-01-01T00:00:01Z,{}\n";
    const char *ndjson = "{\"agent\": \"" AGENT "\", \"metric_name\": \"gpu\", \"metric_value\": "
                         "0.85, \"collection_timestamp\": \"2026-01-01T00:00:02Z\", "
                         "\"metadata\": {\"k\": 1.50}}\n"
                         "{\"agent\": \"" AGENT "\", \"metric_name\": \"disk\", \"metric_value\": "
                         "\"2.25\", \"collection_timestamp\": \"2026-01-01T00:00:03Z\"}\n";
    set_comma_locale();
    FILE *in = fmemopen((void *)csv, strlen(csv), "r");
    assert_ok(fx, oi_metrics_import(fx->store, in, OI_FORMAT_CSV, NULL, NULL));
    fclose(in);
    in = fmemopen((void *)ndjson, strlen(ndjson), "r");
    assert_ok(fx, oi_metrics_import(fx->store, in, OI_FORMAT_NDJSON, NULL, NULL));
    fclose(in);
    char *stored = fx_sql_text(fx, "SELECT metric_value FROM agent_metrics ORDER BY id");
    assert_string_equal(stored, "1.5\n-2.5e-07\n0.85\n2.25\n");
    free(stored);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_ok(fx, oi_metrics_export(fx->store, out, OI_FORMAT_CSV, NULL, NULL));
    assert_ok(fx, oi_metrics_export(fx->store, out, OI_FORMAT_NDJSON, NULL, NULL));
    fclose(out);
    assert_contains(text, AGENT ",cpu,1.5,,2026-01-01T00:00:00.000000Z,");
    assert_contains(text, AGENT ",mem,-2.5e-07,,");
    assert_contains(text, "\"metric_name\":\"gpu\",\"metric_value\":0.85,");
    assert_contains(text, "\"metric_name\":\"disk\",\"metric_value\":2.25,");
    free(text);

    oi_agent_metric m = OI_AGENT_METRIC_INIT;
    snprintf(m.agent_id, sizeof m.agent_id, "%s", fx->cost_agent.id);
    m.metric_name = "net";
    m.metric_value = 0.1 + 0.2;
    assert_ok(fx, oi_agent_metric_create(fx->store, &m));
    oi_agent_metric *rows;
    oi_iter *it;
    assert_ok(fx, oi_agent_metric_iter_new(&it, fx->store));
    size_t n = fx_collect_agent_metrics(fx, it, &rows);
    assert_int_equal(n, 5);
    assert_true(rows[0].metric_value == 1.5 && rows[2].metric_value == 0.85);
    assert_true(rows[4].metric_value == 0.1 + 0.2);
    fx_free_agent_metrics(rows, n);

    double d;
    const char *agent = fx->cost_agent.id;
    assert_ok(fx, oi_config_set(fx->store, agent, "ratio", "1.5", "number", NULL,
                                OI_SENSITIVE_NO, NULL));
    assert_ok(fx, oi_config_get_double(fx->store, agent, "ratio", &d));
    assert_true(d == 1.5);
    assert_rc(fx, oi_config_set(fx->store, agent, "ratio", "1,5", "number", NULL,
                                OI_SENSITIVE_NO, NULL), OI_EINVALID);
}

int run_number_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_format_shortest),
        cmocka_unit_test(test_number_format_short_decimals),
        cmocka_unit_test(test_number_strtod_fast_path),
        cmocka_unit_test(test_number_round_trip),
        cmocka_unit_test(test_number_parse_grammar),
        cmocka_unit_test_teardown(test_number_comma_locale_process, restore_locale),
        cmocka_unit_test(test_number_comma_locale_threads),
        cmocka_unit_test_setup_teardown(test_number_comma_locale_library, fx_setup_agent,
                                        restore_locale_and_fixture),
    };
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    int failed = fx_run_group("number", tests);
    freelocale(c_locale);
    return failed;
}
