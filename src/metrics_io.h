/*
 * metrics_io.h - what import.c, export.c and prune.c share: their
 * statement cache slots and the columns of a metrics file.  The formats
 * are csv.h and ndjson.h, numbers number.h, the agent cache agentref.h.
 */
#ifndef OI_METRICS_IO_H
#define OI_METRICS_IO_H

#include "table.h"

/* The six columns, in export order; their names are the CSV header and the
 * NDJSON keys. */
enum {
    OI_MF_AGENT,
    OI_MF_NAME,
    OI_MF_VALUE,
    OI_MF_UNIT,
    OI_MF_TIME,
    OI_MF_META,
    OI_MF_COUNT
};

static inline const char *oi_metric_field(int k)
{
    static const char *const names[OI_MF_COUNT] = {
        "agent", "metric_name", "metric_value", "metric_unit", "collection_timestamp",
        "metadata",
    };
    return names[k];
}

#endif
