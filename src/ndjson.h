/*
 * ndjson.h - one JSON object per line, in and out (ndjson.c).
 */
#ifndef OI_NDJSON_H
#define OI_NDJSON_H

#include <jansson.h>
#include "reader.h"

/* The object on the line last read, and where the walk through its
 * members is. */
typedef struct oi_ndjson_object {
    json_t *root;        /* jansson's parse: the syntax checked, strings decoded */
    json_t *key;         /* the current member's key, when it had to be decoded */
    char *next;          /* the next member in the reader's buffer */
} oi_ndjson_object;

/* A member.  Its texts live until the next read or oi_ndjson_free(), but
 * key only until the next oi_ndjson_next(). */
typedef struct oi_ndjson_member {
    const char *key;     /* decoded */
    const char *raw_key; /* as written between its quotes */
    const char *value;   /* as written: "text", 12.5, {...}, null, ... */
    const char *string;  /* a string value, decoded; NULL for other kinds */
} oi_ndjson_member;

/* The next line that is not blank, parsed: OI_ROW, OI_DONE at the end, or
 * an error whose message does not name the line (the caller adds
 * r->record_line).  Frees the previous object. */
int oi_ndjson_read(oi_store *s, oi_text_reader *r, oi_ndjson_object *o);
/* The next member, in the order written; false after the last. */
bool oi_ndjson_next(oi_ndjson_object *o, oi_ndjson_member *m);
void oi_ndjson_free(oi_ndjson_object *o);

/* Members of a line written as {"key":value,...} without blanks: `first`
 * opens the object, oi_ndjson_write_end() closes it and the line.  A NULL
 * text is written as null; json is JSON text (a number, a stored object),
 * kept on the line. */
void oi_ndjson_write_string(FILE *out, bool first, const char *key, const char *text);
void oi_ndjson_write_json(FILE *out, bool first, const char *key, const char *json);
void oi_ndjson_write_end(FILE *out);

#endif
