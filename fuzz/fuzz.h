/*
 * fuzz.h - what the fuzz targets share (docs/fuzzing.md).
 *
 * Each fuzz/fuzz_<target>.c defines one entry point, oi_fuzz_<target>(),
 * that feeds its bytes to the library's real code and abort()s when an
 * invariant fails (a sanitizer reports the rest).  Two programs call the
 * same entry points:
 *
 *   - the libFuzzer binaries `make fuzz` builds (OI_FUZZ_LIBFUZZER defined):
 *     OI_FUZZ_MAIN(target) there is LLVMFuzzerTestOneInput(), and the
 *     targets that need a store get fuzz_store(), an in-memory SQLite
 *     store migrated and seeded once;
 *   - the test binary (tests/test_fuzz_regressions.c includes the targets):
 *     each reproducer and "nasty" seed of fuzz/corpus/ is fed once to the
 *     same entry point, on the fixture's store of the backend under test.
 *
 * So a crash the fuzzer finds becomes a regression test by copying its
 * reproducer into fuzz/corpus/<target>/, nothing else.
 */
#ifndef OI_FUZZ_H
#define OI_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "optiinfra/optiinfra.h"

#ifdef OI_FUZZ_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* The libFuzzer entry of a target whose entry point needs no store. */
#define OI_FUZZ_MAIN(target)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)               \
    {                                                                          \
        oi_fuzz_##target(data, size);                                          \
        return 0;                                                              \
    }
/* ... and of one that works on a store: fuzz_store(), opened at start. */
#define OI_FUZZ_MAIN_STORE(target)                                             \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                          \
    {                                                                          \
        (void)argc, (void)argv;                                                \
        fuzz_store();                                                          \
        return 0;                                                              \
    }                                                                          \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)               \
    {                                                                          \
        oi_fuzz_##target(fuzz_store(), data, size);                            \
        return 0;                                                              \
    }
#else
#define OI_FUZZ_MAIN(target)
#define OI_FUZZ_MAIN_STORE(target)
/* Send the request an HTTP target's input describes (fuzz_http.c) on fd, a
 * non-blocking connection to the service, read its answer and check it;
 * pump (may be NULL) runs a daemon that serves fd in this thread.  Closes
 * fd.  *answer_out (when not NULL) receives the answer as read (up to a NUL
 * byte), to free.  Returns whether the request may have written (its
 * method is not GET). */
bool fuzz_http(int fd, void (*pump)(void), const uint8_t *data, size_t size, char **answer_out);

#endif

/* The entry points, one per target (fuzz/fuzz_<target>.c). */
void oi_fuzz_url(const uint8_t *data, size_t size);
void oi_fuzz_time(const uint8_t *data, size_t size);
void oi_fuzz_number(const uint8_t *data, size_t size);
void oi_fuzz_semver(const uint8_t *data, size_t size);
void oi_fuzz_json(const uint8_t *data, size_t size);
void oi_fuzz_csv(oi_store *store, const uint8_t *data, size_t size);
void oi_fuzz_ndjson(oi_store *store, const uint8_t *data, size_t size);
void oi_fuzz_filter(oi_store *store, const uint8_t *data, size_t size);
void oi_fuzz_cursor(oi_store *store, const uint8_t *data, size_t size);

/* An in-memory SQLite store at the schema head with the seed's records,
 * opened on the first call and kept for the life of the process. */
oi_store *fuzz_store(void);

/* The bytes as a NUL-terminated string (cut at a NUL byte among them, as a
 * C caller's string would be); free() it. */
char *fuzz_text(const uint8_t *data, size_t size);

/* Stop the run when an invariant does not hold: abort() after saying which
 * one, so libFuzzer keeps the input as a crash. */
#define fuzz_assert(cond) ((cond) ? (void)0 : fuzz_failed(#cond, __FILE__, __LINE__))
void fuzz_failed(const char *what, const char *file, int line) __attribute__((noreturn));

/* A store's message is one line of text: not empty, no line break. */
void fuzz_assert_message(const char *msg);

/* Import data in `format` inside a transaction rolled back at the end,
 * checking what an import promises (oi_fuzz_csv, oi_fuzz_ndjson). */
void fuzz_import(oi_store *store, const uint8_t *data, size_t size, oi_metrics_format format);

/* Send the request an HTTP target's input describes (fuzz_http.c) on fd, a
 * non-blocking connection to the service, read its answer and check it;
 * pump (may be NULL) runs a daemon that serves fd in this thread.  Closes
 * fd.  *answer_out (when not NULL) receives the answer as read (up to a NUL
 * byte), to free.  Returns whether the request may have written (its
 * method is not GET). */
bool fuzz_http(int fd, void (*pump)(void), const uint8_t *data, size_t size, char **answer_out);

#endif
