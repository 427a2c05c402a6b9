/*
 * csv.h - RFC 4180 records in and out (csv.c).
 */
#ifndef OI_CSV_H
#define OI_CSV_H

#include "reader.h"

/* The fields of the record last read, in the reader's buffer. */
typedef struct oi_csv_fields {
    size_t *at;    /* where each field starts: r->buf + at[i], NUL-terminated */
    bool *quoted;  /* whether it was quoted ("" is the empty text, not NULL) */
    size_t n, cap;
} oi_csv_fields;

void oi_csv_fields_free(oi_csv_fields *f);

/* The next record (blank lines skipped): OI_ROW, OI_DONE at the end, or an
 * error whose message does not name the line (the caller adds
 * r->record_line). */
int oi_csv_read(oi_store *s, oi_text_reader *r, oi_csv_fields *f);

/* n fields and a LF.  A field is quoted when it holds a comma, a quote or a
 * line break, or is "" (the empty text); NULL writes nothing. */
void oi_csv_write_record(FILE *out, const char *const *fields, size_t n);

#endif
