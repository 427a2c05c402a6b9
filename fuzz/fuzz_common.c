/*
 * fuzz_common.c - the helpers of fuzz.h: the fuzzers' store, the bytes as a
 * string, failed invariants, and the import checks the CSV and NDJSON
 * targets share.
 *
 * An import is checked inside a transaction that is rolled back at the end
 * (an import inside the caller's transaction joins it), so every run starts
 * from the same rows: what one input finds, the same input finds again,
 * alone, and the regression tests leave their fixture's database as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "fuzz.h"

/* Rows per batch: small, so that a few lines of input already span batches
 * and the "earlier batches stay" path runs. */
#define FUZZ_IMPORT_BATCH 3

oi_store *fuzz_store(void)
{
    static oi_store *store;
    if (store)
        return store;
    if (oi_store_open(&store, "sqlite::memory:") != OI_OK ||
        oi_migrate_upgrade(store, "head", NULL, NULL, NULL) != OI_OK ||
        oi_seed_core(store, NULL) != OI_OK || oi_seed_state(store, NULL) != OI_OK) {
        fprintf(stderr, "fuzz: cannot prepare the in-memory store: %s\n",
                store ? oi_errmsg(store) : "out of memory");
        abort();
    }
    return store;
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = oi_malloc(size + 1);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#ifdef OI_FUZZ_LIBFUZZER
void fuzz_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, what);
    abort();
}
#endif

void fuzz_assert_message(const char *msg)
{
    fuzz_assert(msg && *msg);
    fuzz_assert(!strpbrk(msg, "\r\n"));
}

/* ---- import ------------------------------------------------------------- */

static int64_t metric_rows(oi_store *store)
{
    int64_t n = -1;
    fuzz_assert(oi_query_int64(store, "SELECT count(*) FROM agent_metrics", &n) == OI_OK);
    return n;
}

/* A refused import said why and where, and kept exactly the rows of the
 * batches before the bad record. */
static void check_refusal(oi_store *store, int rc, const oi_import_report *r)
{
    /* Bad input only: a database error means a check let through what the
     * database refuses (the class of a name too long for an index). */
    fuzz_assert(rc == OI_EINVALID || rc == OI_ENOTFOUND);
    fuzz_assert_message(oi_errmsg(store));
    fuzz_assert_message(r->reason);
    fuzz_assert(r->line >= 1);
    fuzz_assert(r->resume_line >= 1 && r->resume_line <= r->line);
    fuzz_assert(r->rows <= r->line);
}

/* Export every metric in `format` into memory: *rows of them. */
static char *export_all(oi_store *store, oi_metrics_format format, size_t *len, uint64_t *rows)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    fuzz_assert(out != NULL);
    int rc = oi_metrics_export(store, out, format, NULL, rows);
    fclose(out);
    fuzz_assert(rc == OI_OK);
    return text;
}

/* Import len bytes of text: the code, the report in r. */
static int import_bytes(oi_store *store, const void *text, size_t len, oi_metrics_format format,
                        oi_import_report *r)
{
    oi_import_options opts = OI_IMPORT_OPTIONS_INIT;
    opts.batch_size = FUZZ_IMPORT_BATCH;
    *r = (oi_import_report)OI_IMPORT_REPORT_INIT;
    /* fmemopen() of no bytes is an empty file; its buffer must not be NULL. */
    FILE *in = fmemopen(len ? (void *)text : (void *)"", len, "r");
    fuzz_assert(in != NULL);
    int rc = oi_metrics_import(store, in, format, &opts, r);
    fclose(in);
    return rc;
}

/* After a successful import, every row reads back: an export in either
 * format holds every row (a JSON view never drops one), and imports back
 * whole. */
static void check_round_trip(oi_store *store, oi_metrics_format format)
{
    int64_t before = metric_rows(store);
    size_t len;
    uint64_t exported;
    char *text = export_all(store, format, &len, &exported);
    fuzz_assert((int64_t)exported == before);
    oi_import_report r;
    int rc = import_bytes(store, text, len, format, &r);
    free(text);
    fuzz_assert(rc == OI_OK);
    fuzz_assert(r.rows == exported);
    fuzz_assert(metric_rows(store) == before + (int64_t)exported);
}

/* The service's path (a batch read whole, then written) gives the import's
 * verdict on the same bytes: the same code, the same line, the same rows. */
static void check_batch_path(oi_store *store, const uint8_t *data, size_t size,
                             oi_metrics_format format, int import_rc,
                             const oi_import_report *import)
{
    oi_import_report r = OI_IMPORT_REPORT_INIT;
    oi_metrics_batch *batch = NULL;
    FILE *in = fmemopen(size ? (void *)data : (void *)"", size, "r");
    fuzz_assert(in != NULL);
    int rc = oi_metrics_batch_read(store, in, format, &batch, &r);
    fclose(in);
    fuzz_assert(rc == import_rc);
    if (rc != OI_OK) {
        fuzz_assert(batch == NULL);
        fuzz_assert(r.line == import->line);
        return;
    }
    int64_t before = metric_rows(store);
    rc = oi_metrics_batch_write(store, batch, &r);
    oi_metrics_batch_free(batch);
    fuzz_assert(rc == OI_OK);
    fuzz_assert(r.rows == import->rows);
    fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
}

void fuzz_import(oi_store *store, const uint8_t *data, size_t size, oi_metrics_format format)
{
    fuzz_assert(oi_begin(store) == OI_OK);
    int64_t before = metric_rows(store);
    oi_import_report r;
    int rc = import_bytes(store, data, size, format, &r);
    fuzz_assert(r.bytes <= size);
    if (rc == OI_OK) {
        fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
        check_round_trip(store, OI_FORMAT_CSV);
        check_round_trip(store, OI_FORMAT_NDJSON);
    } else {
        check_refusal(store, rc, &r);
        fuzz_assert(metric_rows(store) == before + (int64_t)r.rows);
    }
    check_batch_path(store, data, size, format, rc, &r);
    fuzz_assert(oi_rollback(store) == OI_OK);
    fuzz_assert(metric_rows(store) == before);
}
