/*
 * fuzz_csv.c - CSV metric import (import.c, csv.c, reader.c), through
 * oi_metrics_import() and the service's oi_metrics_batch_read(), on a store
 * with the seed's agents.  Invariants (fuzz_import): the import and the batch
 * path agree; a refusal is bad input (never a database error), names its
 * line and keeps exactly the rows it reports; what is accepted exports in
 * both formats with no row dropped and imports back whole.
 */
#include "fuzz.h"

void oi_fuzz_csv(oi_store *store, const uint8_t *data, size_t size)
{
    fuzz_import(store, data, size, OI_FORMAT_CSV);
}

OI_FUZZ_MAIN_STORE(csv)
