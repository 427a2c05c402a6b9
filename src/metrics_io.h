/*
 * metrics_io.h - what import.c, export.c and csv.c share: the text formats
 * (a reader of CSV records and NDJSON lines with one reusable buffer,
 * writers, numbers) and a small cache of agent references.
 */
#ifndef OI_METRICS_IO_H
#define OI_METRICS_IO_H

#include <locale.h>
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
extern const char *const oi_metric_fields[OI_MF_COUNT];

/* ---- reading (csv.c) ------------------------------------------------------ */

/* Reads a FILE one CSV record or one line at a time into a buffer that is
 * reused and grows only up to OI_IMPORT_RECORD_MAX. */
typedef struct oi_text_reader {
    FILE *in;
    char *buf;            /* the record; CSV fields each end with a NUL */
    size_t len, cap;
    size_t *field_at;     /* CSV: where each field starts in buf */
    bool *field_quoted;   /* CSV: whether it was quoted ("" is not NULL) */
    size_t nfields, fields_cap;
    int pushed[3];        /* characters read ahead and given back */
    int npushed;
    uint64_t line;        /* line breaks read so far */
    uint64_t record_line; /* the line the current record starts on */
    uint64_t bytes;       /* bytes read so far */
} oi_text_reader;

void oi_text_reader_init(oi_text_reader *r, FILE *in);
void oi_text_reader_free(oi_text_reader *r);
/* The next record (blank lines skipped): OI_ROW, OI_DONE at the end, or an
 * error whose message does not name the line (the caller adds
 * r->record_line). */
int oi_csv_read(oi_store *s, oi_text_reader *r);
int oi_line_read(oi_store *s, oi_text_reader *r);

/* Between begin and end the calling thread reads and writes numbers in the
 * C locale's format ('.' for the decimal point), whatever the process's
 * locale; the number functions below expect it. */
typedef struct oi_c_numeric {
    locale_t c, saved;
} oi_c_numeric;
void oi_c_numeric_begin(oi_c_numeric *n);
void oi_c_numeric_end(oi_c_numeric *n);

/* A decimal number ("-1.5e3"): OI_OK, or OI_EINVALID with a message naming
 * `what`. */
int oi_number_parse(oi_store *s, const char *what, const char *text, double *out);

/* ---- writing (csv.c) ------------------------------------------------------ */

#define OI_NUMBER_BUFSZ 32
/* The fewest digits that read back as v, with a '.' whatever the locale. */
char *oi_number_format(double v, char buf[OI_NUMBER_BUFSZ]);
/* A CSV field: NULL as nothing, "" as "", quoted when it holds a comma,
 * quote or line break. */
void oi_csv_write_field(FILE *out, const char *text);
/* A JSON string literal. */
void oi_json_write_string(FILE *out, const char *text);
/* Stored JSON text kept on one line: its raw line breaks, which can only be
 * blanks between tokens, become spaces. */
void oi_json_write_inline(FILE *out, const char *json);

/* ---- agent references (import.c) ------------------------------------------ */

/* A bounded map of text to text (agent name or id -> id on import, id ->
 * name on export): a few agents, millions of rows.  When full, the oldest
 * entry makes room. */
#define OI_REF_CACHE_SIZE 64
typedef struct oi_ref_cache {
    char *key[OI_REF_CACHE_SIZE];
    char *value[OI_REF_CACHE_SIZE];
    unsigned next;
} oi_ref_cache;

const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key);
const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value);
void oi_ref_cache_free(oi_ref_cache *c);

#endif
