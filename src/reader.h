/*
 * reader.h - the byte level under the CSV and NDJSON readers (reader.c):
 * a FILE read one character at a time into one reusable, bounded buffer.
 */
#ifndef OI_READER_H
#define OI_READER_H

#include "internal.h"

/* The record being read, grown up to OI_IMPORT_RECORD_MAX and reused. */
typedef struct oi_text_reader {
    FILE *in;
    char *buf;            /* the record's bytes; room for a NUL after them */
    size_t len, cap;
    int pushed[3];        /* characters read ahead and given back */
    int npushed;
    uint64_t line;        /* line breaks read so far */
    uint64_t record_line; /* the line the current record starts on */
    uint64_t bytes;       /* bytes read so far */
} oi_text_reader;

void oi_text_reader_init(oi_text_reader *r, FILE *in);
void oi_text_reader_free(oi_text_reader *r);

/* The next character, or EOF. */
int oi_reader_getc(oi_text_reader *r);
/* At the very start of the input, drop a UTF-8 byte order mark. */
void oi_reader_skip_bom(oi_text_reader *r);
/* Whether c ends a line: '\n', or '\r' followed by '\n' (then consumed). */
bool oi_reader_line_end(oi_text_reader *r, int c);

/* Append c to the record (a NUL byte in the input is an error) / append
 * the NUL that ends a field.  Both fail past OI_IMPORT_RECORD_MAX. */
int oi_reader_add(oi_store *s, oi_text_reader *r, int c);
int oi_reader_end_field(oi_store *s, oi_text_reader *r);
/* Append every byte up to the first one flagged in stop (indexed by the
 * unsigned byte; NUL must be flagged) or the end of the input, which is left
 * to be read next: the bulk of a field copied without a call per byte.
 * Fails past OI_IMPORT_RECORD_MAX as oi_reader_add does. */
int oi_reader_add_until(oi_store *s, oi_text_reader *r, const bool stop[256]);

/* The record is valid UTF-8: OI_OK, or OI_EINVALID naming the bad byte. */
int oi_reader_check_utf8(oi_store *s, const oi_text_reader *r);
/* At EOF: OI_DONE, or the read error that ended the input. */
int oi_reader_at_end(oi_store *s, const oi_text_reader *r);

#endif
