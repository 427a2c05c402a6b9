/*
 * test_fuzz_regressions.c - the fuzzers' corpora, run once through the
 * fuzzers' own entry points in the normal test binary.
 *
 * Every file of fuzz/corpus/<target>/ (the seeds, the "nasty-" ones made of
 * the hostile values, and the reproducer of each crash a fuzzer
 * found, copied there: docs/fuzzing.md) is fed to oi_fuzz_<target>(), the
 * function the libFuzzer program calls, with the same invariants: the
 * target files are included here, and a broken invariant fails the test
 * (fuzz_failed below) instead of aborting.  What an input that broke one
 * had allocated is not freed: the sanitizer build then reports leaks too.
 *
 * The targets that work on a store get the fixture's, with the seed's
 * records, on the backend under test, so the parsers' verdicts are checked
 * on both; the import checks roll back what they wrote, and the test checks
 * that nothing stayed.  The HTTP target's requests go to a real `optiinfra
 * serve` on the fixture's database (the fuzzer runs the same handlers
 * in-process), one connection each, and their answers to the output log
 * the secrets group greps.
 *
 * The tests read fuzz/corpus from the working directory: run the binary
 * from the top of the source tree, as scripts/test.sh does.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "http.h"

#include "../fuzz/fuzz_common.c"
#include "../fuzz/fuzz_url.c"
#include "../fuzz/fuzz_time.c"
#include "../fuzz/fuzz_number.c"
#include "../fuzz/fuzz_semver.c"
#include "../fuzz/fuzz_json.c"
#include "../fuzz/fuzz_csv.c"
#include "../fuzz/fuzz_ndjson.c"
#include "../fuzz/fuzz_filter.c"
#include "../fuzz/fuzz_cursor.c"

#define CORPUS "fuzz/corpus"

/* The corpus file being fed, for the failure's message. */
static char feeding[512];

/* A broken invariant ends its input, not the test: fuzz_failed() notes it
 * and jumps back to feed_corpus(), which goes on with the next file, so
 * that one run names every failing file and the test still cleans up (a
 * server stops).  The test fails at its end (assert_no_failure). */
static jmp_buf next_input;
static int failures;
static char first_failure[800];

void fuzz_failed(const char *what, const char *file, int line)
{
    char why[800];
    snprintf(why, sizeof why, "%s: invariant broken at %s:%d: %s", feeding, file, line, what);
    print_message("%s\n", why);
    if (failures++ == 0)
        snprintf(first_failure, sizeof first_failure, "%s", why);
    longjmp(next_input, 1);
}

static void assert_no_failure(void)
{
    if (failures)
        fail_msg("%d corpus file(s) broke an invariant, the first: %s", failures, first_failure);
}

/* ---- the corpus ---------------------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The whole file (it may hold NUL bytes): *size bytes. */
static uint8_t *read_input(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    uint8_t *data = NULL;
    size_t cap = 0, n;
    *size = 0;
    do {
        data = oi_grow(data, &cap, *size + 4096, 1);
        n = fread(data + *size, 1, cap - *size, f);
        *size += n;
    } while (n > 0);
    fclose(f);
    return data;
}

typedef void (*feed_fn)(void *ctx, const uint8_t *data, size_t size);

/* One input; fuzz_failed() jumps back here. */
static void feed_one(feed_fn feed, void *ctx, const uint8_t *data, size_t size)
{
    if (setjmp(next_input) == 0)
        feed(ctx, data, size);
}

/* Feed every file of the target's corpus, in name order, each once,
 * whatever the others do; the number fed. */
static size_t feed_corpus(const char *target, feed_fn feed, void *ctx)
{
    failures = 0;
    char dir[256];
    struct dirent **names;
    snprintf(dir, sizeof dir, CORPUS "/%s", target);
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0)
        fail_msg("cannot list %s: run the tests from the top of the source tree", dir);
    size_t fed = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t size;
            snprintf(feeding, sizeof feeding, "%s/%s", dir, names[i]->d_name);
            uint8_t *data = read_input(feeding, &size);
            feed_one(feed, ctx, data, size);
            free(data);
            fed++;
        }
        free(names[i]);
    }
    free(names);
    assert_true(fed > 0);
    return fed;
}

/* ---- targets without a store -------------------------------------------------------- */

typedef struct plain_feed {
    void (*entry)(const uint8_t *, size_t);
} plain_feed;

static void feed_plain(void *ctx, const uint8_t *data, size_t size)
{
    ((plain_feed *)ctx)->entry(data, size);
}

#define PLAIN_TEST(target)                                                     \
    static void test_fuzz_corpus_##target(void **state)                        \
    {                                                                          \
        (void)state;                                                           \
        plain_feed f = {oi_fuzz_##target};                                     \
        feed_corpus(#target, feed_plain, &f);                                  \
        assert_no_failure();                                                   \
    }

PLAIN_TEST(url)
PLAIN_TEST(time)
PLAIN_TEST(number)
PLAIN_TEST(semver)
PLAIN_TEST(json)

/* ---- targets on the fixture's store ----------------------------------------------------- */

typedef struct store_feed {
    oi_store *store;
    void (*entry)(oi_store *, const uint8_t *, size_t);
} store_feed;

static void feed_store(void *ctx, const uint8_t *data, size_t size)
{
    store_feed *f = ctx;
    oi_rollback(f->store); /* what an input that broke an invariant left open */
    f->entry(f->store, data, size);
}

static void seed(oi_fixture *fx)
{
    assert_ok(fx, oi_seed_core(fx->store, NULL));
    assert_ok(fx, oi_seed_state(fx->store, NULL));
}

/* Each input once, then the database as the seed left it: every check rolled
 * back what it wrote. */
static void run_store_target(oi_fixture *fx, const char *target,
                             void (*entry)(oi_store *, const uint8_t *, size_t))
{
    seed(fx);
    char *before = fx_sql_text(fx, "SELECT id, metric_name FROM agent_metrics ORDER BY id");
    store_feed f = {fx->store, entry};
    feed_corpus(target, feed_store, &f);
    oi_rollback(fx->store);
    assert_no_failure();
    char *after = fx_sql_text(fx, "SELECT id, metric_name FROM agent_metrics ORDER BY id");
    assert_string_equal(after, before);
    free(before);
    free(after);
}

#define STORE_TEST(target)                                                     \
    static void test_fuzz_corpus_##target(void **state)                        \
    {                                                                          \
        run_store_target(FX(state), #target, oi_fuzz_##target);                \
    }

STORE_TEST(csv)
STORE_TEST(ndjson)
STORE_TEST(filter)
STORE_TEST(cursor)

/* ---- HTTP ------------------------------------------------------------------------------ */

static int connect_server(const fx_server *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* One request; its answer goes to the output log the secrets check reads. */
static void feed_server(void *ctx, const uint8_t *data, size_t size)
{
    char *answer;
    fuzz_http(connect_server(ctx), NULL, data, size, &answer);
    fx_output_log(feeding, answer);
    free(answer);
}

static void test_fuzz_corpus_http(void **state)
{
    oi_fixture *fx = FX(state);
    fx_server srv;
    seed(fx);
    fx_server_start(fx, &srv, NULL);
    feed_corpus("http", feed_server, &srv);
    assert_int_equal(fx_server_stop(&srv), 0);
    assert_no_failure();
}

int run_fuzz_regression_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_corpus_url),
        cmocka_unit_test(test_fuzz_corpus_time),
        cmocka_unit_test(test_fuzz_corpus_number),
        cmocka_unit_test(test_fuzz_corpus_semver),
        cmocka_unit_test(test_fuzz_corpus_json),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_csv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_ndjson, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_filter, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_cursor, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_http, fx_setup, fx_teardown),
    };
    return fx_run_group("fuzz_regressions", tests);
}
