/*
 * csv.c - CSV records (RFC 4180) read from a text reader and written to a
 * FILE.
 *
 * The reader is strict where a lenient one would guess: a quote inside an
 * unquoted field, or text after a closing quote, is an error, not data.  It
 * keeps line breaks inside quoted fields as they are (CRLF included) and
 * accepts LF or CRLF between records; blank lines are skipped.  Fields are
 * kept back to back in the reader's one buffer, each ended by a NUL, with
 * their offsets, so a record costs no allocation once the buffers have
 * grown to the longest record.  Only delimiters, quotes and line breaks go
 * through the character loops below; the bytes between them are copied in
 * runs (oi_reader_add_until).
 *
 * As in PostgreSQL's CSV format, an unquoted empty field and "" differ (no
 * value against the empty text): the reader says which fields were quoted
 * and the writer quotes "", so both survive a round trip.
 */
#include <string.h>
#include "csv.h"

/* ---- reading ---------------------------------------------------------------- */

/* The bytes that end a run of plain text in a field, which the loops below
 * look at one by one; every other byte is copied in bulk
 * (oi_reader_add_until).  NUL is one so that it is refused. */
static const bool unquoted_stop[256] = {['\0'] = true, [','] = true, ['"'] = true,
                                        ['\n'] = true, ['\r'] = true};
static const bool quoted_stop[256] = {['\0'] = true, ['"'] = true, ['\n'] = true};

void oi_csv_fields_free(oi_csv_fields *f)
{
    free(f->at);
    free(f->quoted);
    memset(f, 0, sizeof *f);
}

static void start_field(const oi_text_reader *r, oi_csv_fields *f, bool quoted)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->at = oi_realloc(f->at, f->cap * sizeof *f->at);
        f->quoted = oi_realloc(f->quoted, f->cap * sizeof *f->quoted);
    }
    f->at[f->n] = r->len;
    f->quoted[f->n++] = quoted;
}

/* A quoted field's content, up to and past the closing quote; doubled
 * quotes are one quote.  *c receives the character after the field. */
static int read_quoted(oi_store *s, oi_text_reader *r, int *c)
{
    for (;;) {
        int ch = oi_reader_getc(r);
        if (ch == EOF)
            return ferror(r->in) ? oi_reader_at_end(s, r)
                                 : oi_fail(s, OI_EINVALID, "a quoted field is not closed");
        if (ch == '"') {
            ch = oi_reader_getc(r);
            if (ch != '"') {
                *c = ch;
                return OI_OK;
            }
        }
        if (ch == '\n')
            r->line++;
        int rc = oi_reader_add(s, r, ch);
        if (rc == OI_OK)
            rc = oi_reader_add_until(s, r, quoted_stop);
        if (rc)
            return rc;
    }
}

static int read_unquoted(oi_store *s, oi_text_reader *r, int *c)
{
    for (int ch = *c;; ch = oi_reader_getc(r)) {
        if (ch == ',' || ch == EOF || oi_reader_line_end(r, ch)) {
            *c = ch == '\r' ? '\n' : ch;
            return OI_OK;
        }
        if (ch == '"')
            return oi_fail(s, OI_EINVALID, "a quote inside an unquoted field: quote the "
                           "whole field and double the quotes in it");
        int rc = oi_reader_add(s, r, ch);
        if (rc == OI_OK)
            rc = oi_reader_add_until(s, r, unquoted_stop);
        if (rc)
            return rc;
    }
}

/* One field starting with *c; *c receives what ended it: ',', '\n' or EOF. */
static int read_field(oi_store *s, oi_text_reader *r, oi_csv_fields *f, int *c)
{
    bool quoted = *c == '"';
    int rc;
    start_field(r, f, quoted);
    if (quoted) {
        rc = read_quoted(s, r, c);
        if (rc == OI_OK && *c != ',' && *c != EOF && !oi_reader_line_end(r, *c))
            return oi_fail(s, OI_EINVALID, "text after the closing quote of a field: "
                           "double the quotes inside a quoted field");
        if (*c == '\r')
            *c = '\n';
    } else {
        rc = read_unquoted(s, r, c);
    }
    return rc == OI_OK ? oi_reader_end_field(s, r) : rc;
}

/* Past blank lines to the first character of a record, or EOF. */
static int skip_blank_lines(oi_text_reader *r)
{
    for (;;) {
        r->record_line = r->line + 1;
        int c = oi_reader_getc(r);
        if (!oi_reader_line_end(r, c))
            return c;
        r->line++;
    }
}

int oi_csv_read(oi_store *s, oi_text_reader *r, oi_csv_fields *f)
{
    oi_reader_skip_bom(r);
    int c = skip_blank_lines(r);
    if (c == EOF)
        return oi_reader_at_end(s, r);
    r->len = f->n = 0;
    for (;;) {
        int rc = read_field(s, r, f, &c);
        if (rc)
            return rc;
        if (c != ',')
            break;
        c = oi_reader_getc(r);
    }
    if (c == '\n')
        r->line++;
    else if (ferror(r->in))
        return oi_reader_at_end(s, r);
    int rc = oi_reader_check_utf8(s, r);
    return rc ? rc : OI_ROW;
}

/* ---- writing ---------------------------------------------------------------- */

static void write_field(FILE *out, const char *text)
{
    if (!text)
        return;
    if (*text && !strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
        return;
    }
    putc_unlocked('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            putc_unlocked('"', out);
        putc_unlocked(*p, out);
    }
    putc_unlocked('"', out);
}

void oi_csv_write_record(FILE *out, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc_unlocked(',', out);
        write_field(out, fields[i]);
    }
    putc_unlocked('\n', out);
}
