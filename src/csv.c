/*
 * csv.c - the text formats of metrics import and export: CSV records
 * (RFC 4180), NDJSON lines, numbers and JSON strings.
 *
 * Reading is one character at a time from the FILE's own buffer into one
 * buffer that is reused for every record, so memory does not grow with the
 * input.  A record may be no longer than OI_IMPORT_RECORD_MAX: without a
 * bound, one unclosed quote would make the reader hold the rest of the
 * file.  The reader is strict where a lenient one would guess: a quote
 * inside an unquoted field, or text after a closing quote, is an error, not
 * data.  It keeps line breaks inside quoted fields as they are (CRLF
 * included) and accepts LF or CRLF between records.  Blank lines are
 * skipped, a UTF-8 byte order mark at the start is dropped, and text must be
 * valid UTF-8 without NUL bytes, which PostgreSQL would refuse and SQLite
 * would store: both backends then refuse the same records.
 *
 * Numbers are read and written with '.' whatever the process's locale (an
 * import or export switches its thread to the C numeric locale while it
 * runs: uselocale() is per thread, so the host program is not disturbed),
 * and written with the fewest digits that read back as the same double
 * (0.1, not 0.10000000000000001), so an export imports back unchanged.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include "metrics_io.h"

const char *const oi_metric_fields[OI_MF_COUNT] = {
    "agent", "metric_name", "metric_value", "metric_unit", "collection_timestamp", "metadata",
};

/* ---- characters ----------------------------------------------------------- */

void oi_text_reader_init(oi_text_reader *r, FILE *in)
{
    memset(r, 0, sizeof *r);
    r->in = in;
}

void oi_text_reader_free(oi_text_reader *r)
{
    free(r->buf);
    free(r->field_at);
    free(r->field_quoted);
    memset(r, 0, sizeof *r);
}

static int next_char(oi_text_reader *r)
{
    if (r->npushed)
        return r->pushed[--r->npushed];
    int c = getc_unlocked(r->in);
    if (c != EOF)
        r->bytes++;
    return c;
}

static void unread_char(oi_text_reader *r, int c)
{
    if (c != EOF)
        r->pushed[r->npushed++] = c;
}

/* At the very start of the input, a UTF-8 byte order mark (Excel writes
 * one) is not data. */
static void skip_bom(oi_text_reader *r)
{
    static const unsigned char bom[] = {0xEF, 0xBB, 0xBF};
    int got[3], n = 0;
    if (r->bytes != 0)
        return;
    while (n < 3 && (got[n] = next_char(r)) == bom[n])
        n++;
    if (n == 3)
        return;
    unread_char(r, got[n]);
    while (n > 0)
        unread_char(r, got[--n]);
}

/* A line break ends here: '\n', or '\r' followed by '\n'.  Consumes it. */
static bool at_line_end(oi_text_reader *r, int c)
{
    if (c == '\r') {
        int after = next_char(r);
        if (after == '\n')
            return true;
        unread_char(r, after);
    }
    return c == '\n';
}

/* Room for one more byte and a NUL after it. */
static int make_room(oi_store *s, oi_text_reader *r)
{
    if (r->len + 1 >= OI_IMPORT_RECORD_MAX)
        return oi_fail(s, OI_EINVALID, "the record is longer than %d bytes (an unclosed quote?)",
                       OI_IMPORT_RECORD_MAX);
    if (r->len + 1 >= r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->buf = oi_realloc(r->buf, r->cap);
    }
    return OI_OK;
}

static int add_char(oi_store *s, oi_text_reader *r, int c)
{
    if (c == '\0')
        return oi_fail(s, OI_EINVALID, "a NUL byte is not allowed in text");
    int rc = make_room(s, r);
    if (rc == OI_OK)
        r->buf[r->len++] = (char)c;
    return rc;
}

/* Where the first byte that is not valid UTF-8 is, or -1. */
static long utf8_error_at(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > n)
            return (long)i;
        unsigned long cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return (long)i;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)i;
        i += len;
    }
    return -1;
}

static int check_utf8(oi_store *s, const oi_text_reader *r)
{
    long at = utf8_error_at((const unsigned char *)r->buf, r->len);
    if (at < 0)
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "the text is not valid UTF-8 (byte 0x%02X)",
                   (unsigned char)r->buf[at]);
}

/* End of input: OI_DONE, or the read error that ended it. */
static int input_end(oi_store *s, const oi_text_reader *r)
{
    if (ferror(r->in))
        return oi_fail(s, OI_ERROR, "cannot read the input: %s", strerror(errno));
    return OI_DONE;
}

/* ---- CSV -------------------------------------------------------------------- */

static void start_field(oi_text_reader *r, bool quoted)
{
    if (r->nfields == r->fields_cap) {
        r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 8;
        r->field_at = oi_realloc(r->field_at, r->fields_cap * sizeof *r->field_at);
        r->field_quoted = oi_realloc(r->field_quoted, r->fields_cap * sizeof *r->field_quoted);
    }
    r->field_at[r->nfields] = r->len;
    r->field_quoted[r->nfields++] = quoted;
}

/* A quoted field's content, up to and past the closing quote; doubled
 * quotes are one quote.  *c receives the character after the field. */
static int read_quoted(oi_store *s, oi_text_reader *r, int *c)
{
    for (;;) {
        int ch = next_char(r);
        if (ch == EOF)
            return ferror(r->in) ? input_end(s, r)
                                 : oi_fail(s, OI_EINVALID, "a quoted field is not closed");
        if (ch == '"') {
            ch = next_char(r);
            if (ch != '"') {
                *c = ch;
                return OI_OK;
            }
        }
        if (ch == '\n')
            r->line++;
        int rc = add_char(s, r, ch);
        if (rc)
            return rc;
    }
}

static int read_unquoted(oi_store *s, oi_text_reader *r, int *c)
{
    for (int ch = *c;; ch = next_char(r)) {
        if (ch == ',' || ch == EOF || at_line_end(r, ch)) {
            *c = ch == '\r' ? '\n' : ch;
            return OI_OK;
        }
        if (ch == '"')
            return oi_fail(s, OI_EINVALID, "a quote inside an unquoted field: quote the "
                           "whole field and double the quotes in it");
        int rc = add_char(s, r, ch);
        if (rc)
            return rc;
    }
}

/* One field starting with *c; *c receives what ended it: ',', '\n' or EOF. */
static int read_field(oi_store *s, oi_text_reader *r, int *c)
{
    bool quoted = *c == '"';
    int rc;
    start_field(r, quoted);
    if (quoted) {
        rc = read_quoted(s, r, c);
        if (rc == OI_OK && *c != ',' && *c != EOF && !at_line_end(r, *c))
            return oi_fail(s, OI_EINVALID, "text after the closing quote of a field: "
                           "double the quotes inside a quoted field");
        if (*c == '\r')
            *c = '\n';
    } else {
        rc = read_unquoted(s, r, c);
    }
    if (rc == OI_OK)
        rc = make_room(s, r);
    if (rc == OI_OK)
        r->buf[r->len++] = '\0';
    return rc;
}

int oi_csv_read(oi_store *s, oi_text_reader *r)
{
    int c;
    skip_bom(r);
    for (;;) {
        r->record_line = r->line + 1;
        c = next_char(r);
        if (!at_line_end(r, c))
            break;
        r->line++;
    }
    if (c == EOF)
        return input_end(s, r);
    r->len = r->nfields = 0;
    for (;;) {
        int rc = read_field(s, r, &c);
        if (rc)
            return rc;
        if (c != ',')
            break;
        c = next_char(r);
    }
    if (c == '\n')
        r->line++;
    else if (ferror(r->in))
        return input_end(s, r);
    int rc = check_utf8(s, r);
    return rc ? rc : OI_ROW;
}

/* ---- lines ------------------------------------------------------------------ */

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

int oi_line_read(oi_store *s, oi_text_reader *r)
{
    int c;
    skip_bom(r);
    do {
        r->record_line = r->line + 1;
        r->len = 0;
        while ((c = next_char(r)) != EOF && c != '\n') {
            int rc = add_char(s, r, c);
            if (rc)
                return rc;
        }
        if (c == '\n')
            r->line++;
        else if (ferror(r->in) || r->len == 0)
            return input_end(s, r);
    } while (is_blank(r->buf, r->len));
    if (r->buf[r->len - 1] == '\r')
        r->len--;
    r->buf[r->len] = '\0';
    int rc = check_utf8(s, r);
    return rc ? rc : OI_ROW;
}

/* ---- numbers ---------------------------------------------------------------- */

/* Decimal syntax only: strtod would also take "nan", "inf", hex and
 * leading blanks. */
static bool is_decimal(const char *p)
{
    size_t digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

void oi_c_numeric_begin(oi_c_numeric *n)
{
    n->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!n->c)
        oi_oom(0);
    n->saved = uselocale(n->c);
}

void oi_c_numeric_end(oi_c_numeric *n)
{
    uselocale(n->saved);
    freelocale(n->c);
}

static bool names_non_finite(const char *text)
{
    static const char *const words[] = {"nan", "inf", "infinity"};
    if (*text == '+' || *text == '-')
        text++;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(text, words[i]) == 0)
            return true;
    return false;
}

int oi_number_parse(oi_store *s, const char *what, const char *text, double *out)
{
    if (!is_decimal(text)) {
        if (names_non_finite(text))
            return oi_fail(s, OI_EINVALID, "%s must be a finite number, not '%s'", what, text);
        return oi_fail(s, OI_EINVALID, "%s '%.40s' is not a number", what, text);
    }
    *out = strtod(text, NULL);
    if (!isfinite(*out))
        return oi_fail(s, OI_EINVALID, "%s '%.40s' is out of range", what, text);
    return OI_OK;
}

char *oi_number_format(double v, char buf[OI_NUMBER_BUFSZ])
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, OI_NUMBER_BUFSZ, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* ---- writing ---------------------------------------------------------------- */

void oi_csv_write_field(FILE *out, const char *text)
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

void oi_json_write_string(FILE *out, const char *text)
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

void oi_json_write_inline(FILE *out, const char *json)
{
    for (const char *p = json; *p; p++)
        putc_unlocked(*p == '\n' || *p == '\r' ? ' ' : *p, out);
}
