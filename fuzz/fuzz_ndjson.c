/*
 * fuzz_ndjson.c - NDJSON metric import (import.c, ndjson.c, reader.c), with
 * the invariants of fuzz_csv.c (fuzz_import in fuzz_common.c).
 */
#include "fuzz.h"

void oi_fuzz_ndjson(oi_store *store, const uint8_t *data, size_t size)
{
    fuzz_import(store, data, size, OI_FORMAT_NDJSON);
}

OI_FUZZ_MAIN_STORE(ndjson)
