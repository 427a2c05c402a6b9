/*
 * ndjson.c - NDJSON: one JSON object per line, read with jansson, written
 * by hand.
 *
 * jansson judges each line (syntax, duplicate keys) and decodes its
 * strings.  The members are then walked in the order written, by a scan of
 * the line that trusts the syntax jansson accepted, so that numbers and
 * nested objects can be taken as written: jansson would give 0.85 back as
 * 0.84999999999999998, and a stored object would lose its author's
 * spacing.  The scan ends each key and value with a NUL in the reader's
 * buffer (after it has looked at what follows), so members are C strings
 * without a copy.  The price is a second pass over each line.
 *
 * Lines end with LF or CRLF; blank lines are skipped.  Writing puts no
 * blanks between tokens, and JSON kept as stored goes on one line: its raw
 * line breaks, which can only be blanks between tokens, become spaces.
 */
#include <string.h>
#include "ndjson.h"

/* ---- lines ------------------------------------------------------------------ */

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* One line into the buffer, without its LF: OI_OK, OI_DONE at the end of
 * the input, or an error. */
static int read_one_line(oi_store *s, oi_text_reader *r)
{
    static const bool line_end_or_nul[256] = {['\n'] = true, ['\0'] = true};
    int c;
    r->record_line = r->line + 1;
    r->len = 0;
    for (;;) {
        int rc = oi_reader_add_until(s, r, line_end_or_nul);   /* the bulk of the line */
        if (rc)
            return rc;
        if ((c = oi_reader_getc(r)) == EOF || c == '\n')
            break;
        rc = oi_reader_add(s, r, c);   /* a NUL (refused) or a byte given back */
        if (rc)
            return rc;
    }
    if (c == '\n') {
        r->line++;
        return OI_OK;
    }
    return ferror(r->in) || r->len == 0 ? oi_reader_at_end(s, r) : OI_OK;
}

/* The next line that is not blank, NUL-terminated, without its CR. */
static int read_line(oi_store *s, oi_text_reader *r)
{
    int rc;
    oi_reader_skip_bom(r);
    do
        rc = read_one_line(s, r);
    while (rc == OI_OK && is_blank(r->buf, r->len));
    if (rc)
        return rc;
    if (r->buf[r->len - 1] == '\r')
        r->len--;
    r->buf[r->len] = '\0';
    return oi_reader_check_utf8(s, r);
}

/* ---- reading objects ---------------------------------------------------------- */

/* Spans of a line jansson has already accepted. */

static char *skip_blanks(char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static char *skip_string(char *p)
{
    for (p++; *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p + 1;
}

static char *skip_value(char *p)
{
    int depth = 0;
    if (*p == '"')
        return skip_string(p);
    if (*p != '{' && *p != '[')
        return p + strcspn(p, ",}] \t\r\n");
    do {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
        p++;
    } while (depth > 0);
    return p;
}

void oi_ndjson_free(oi_ndjson_object *o)
{
    json_decref(o->root);
    json_decref(o->key);
    memset(o, 0, sizeof *o);
}

int oi_ndjson_read(oi_store *s, oi_text_reader *r, oi_ndjson_object *o)
{
    json_error_t jerr;
    oi_ndjson_free(o);
    int rc = read_line(s, r);
    if (rc)
        return rc;
    o->root = json_loadb(r->buf, r->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o->root) {
        char *near = strstr(jerr.text, " near "); /* jansson quotes the line's own bytes */
        if (near)
            *near = '\0';
        return oi_fail(s, OI_EINVALID, "not valid JSON: %s (column %d)", jerr.text,
                       jerr.column);
    }
    if (!json_is_object(o->root))
        return oi_fail(s, OI_EINVALID, "not a JSON object: each line holds one metric "
                       "as {\"agent\": ..., \"metric_name\": ..., ...}");
    o->next = skip_blanks(skip_blanks(r->buf) + 1);
    return OI_ROW;
}

/* The key between key and end (its closing quote), decoded: the text
 * itself unless it holds an escape. */
static const char *decode_key(oi_ndjson_object *o, const char *key, const char *end)
{
    json_decref(o->key);
    o->key = NULL;
    if (!memchr(key, '\\', (size_t)(end - key)))
        return key;
    o->key = json_loadb(key - 1, (size_t)(end - key) + 2, JSON_DECODE_ANY, NULL);
    return json_string_value(o->key);
}

bool oi_ndjson_next(oi_ndjson_object *o, oi_ndjson_member *m)
{
    char *key = o->next + 1, *key_end, *value, *end;
    if (*o->next != '"')
        return false;
    key_end = skip_string(o->next) - 1;
    m->key = decode_key(o, key, key_end);
    m->raw_key = key;
    value = skip_blanks(skip_blanks(key_end + 1) + 1);
    end = skip_value(value);
    o->next = skip_blanks(end);
    if (*o->next == ',')
        o->next = skip_blanks(o->next + 1);
    *key_end = *end = '\0';  /* only now: the scan needed what follows them */
    m->value = value;
    m->string = *value == '"' ? json_string_value(json_object_get(o->root, m->key)) : NULL;
    return true;
}

/* ---- writing ------------------------------------------------------------------ */

static void write_string(FILE *out, const char *text)
{
    putc_unlocked('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') {
            putc_unlocked('\\', out);
            putc_unlocked(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
        } else {
            putc_unlocked(*p, out);
        }
    }
    putc_unlocked('"', out);
}

static void write_key(FILE *out, bool first, const char *key)
{
    putc_unlocked(first ? '{' : ',', out);
    write_string(out, key);
    putc_unlocked(':', out);
}

void oi_ndjson_write_string(FILE *out, bool first, const char *key, const char *text)
{
    write_key(out, first, key);
    if (text)
        write_string(out, text);
    else
        fputs("null", out);
}

void oi_ndjson_write_json(FILE *out, bool first, const char *key, const char *json)
{
    write_key(out, first, key);
    for (const char *p = json; *p; p++)
        putc_unlocked(*p == '\n' || *p == '\r' ? ' ' : *p, out);
}

void oi_ndjson_write_end(FILE *out)
{
    fputs("}\n", out);
}
