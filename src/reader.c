/*
 * reader.c - the input of metrics import below the formats: characters from
 * a FILE into one record buffer, with the line count, a byte order mark
 * dropped and the text checked to be UTF-8 without NUL bytes.
 *
 * Reading is one character at a time from the FILE's own buffer
 * (getc_unlocked: the import holds the FILE's lock) into one buffer that is
 * reused for every record, so memory does not grow with the input; the
 * plain bytes of a field, up to its next delimiter, in one tight loop
 * (oi_reader_add_until).  Not a block of our own filled by fread: on a pipe
 * that waits for a whole block, where getc hands over the rows that came.  A
 * record may be no longer than OI_IMPORT_RECORD_MAX: without a bound, one
 * unclosed quote would make the CSV reader hold the rest of the file.
 * Text must be valid UTF-8 without NUL bytes, which PostgreSQL would refuse
 * and SQLite would store: checking here makes both backends refuse the same
 * records.  The check runs on each whole record once it is read, so the
 * per-character loop stays a copy.
 */
#include <errno.h>
#include <string.h>
#include "reader.h"

void oi_text_reader_init(oi_text_reader *r, FILE *in)
{
    memset(r, 0, sizeof *r);
    r->in = in;
}

void oi_text_reader_free(oi_text_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int oi_reader_getc(oi_text_reader *r)
{
    if (r->npushed)
        return r->pushed[--r->npushed];
    int c = getc_unlocked(r->in);
    if (c != EOF)
        r->bytes++;
    return c;
}

/* Give c back to be read again (up to three characters). */
static void unread(oi_text_reader *r, int c)
{
    if (c != EOF)
        r->pushed[r->npushed++] = c;
}

/* Excel writes a byte order mark; it is not data. */
void oi_reader_skip_bom(oi_text_reader *r)
{
    static const unsigned char bom[] = {0xEF, 0xBB, 0xBF};
    int got[3], n = 0;
    if (r->bytes != 0)
        return;
    while (n < 3 && (got[n] = oi_reader_getc(r)) == bom[n])
        n++;
    if (n == 3)
        return;
    unread(r, got[n]);
    while (n > 0)
        unread(r, got[--n]);
}

bool oi_reader_line_end(oi_text_reader *r, int c)
{
    if (c == '\r') {
        int after = oi_reader_getc(r);
        if (after == '\n')
            return true;
        unread(r, after);
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

int oi_reader_add(oi_store *s, oi_text_reader *r, int c)
{
    if (c == '\0')
        return oi_fail(s, OI_EINVALID, "a NUL byte is not allowed in text");
    int rc = make_room(s, r);
    if (rc == OI_OK)
        r->buf[r->len++] = (char)c;
    return rc;
}

int oi_reader_end_field(oi_store *s, oi_text_reader *r)
{
    int rc = make_room(s, r);
    if (rc == OI_OK)
        r->buf[r->len++] = '\0';
    return rc;
}

/* Bytes from in to buf + len, up to a byte flagged in stop or the end
 * (*stopped), or up to a byte that finds no room below limit (a NUL kept
 * free after the text; !*stopped); that byte, or EOF, goes to *c.  The new
 * length.  Its own function so that the length stays in a register: a store
 * through buf (a char pointer) may alias any field of the reader. */
static size_t copy_run(FILE *in, char *buf, size_t len, size_t limit, const bool stop[256],
                       int *c, bool *stopped)
{
    int ch;
    while ((ch = getc_unlocked(in)) != EOF && !stop[ch] && len + 1 < limit)
        buf[len++] = (char)ch;
    *c = ch;
    *stopped = ch == EOF || stop[ch];
    return len;
}

/* The loop the CSV reader spends its time in: with four calls a byte, the
 * reader was 60% of a PostgreSQL import's instructions (docs/performance.md).
 * A byte that finds the buffer full goes through oi_reader_add, which grows
 * it or refuses the record exactly as byte by byte reading did (a stop byte
 * at the bound is still the caller's: its own error comes first).
 * Characters given back are left to oi_reader_getc: they are rare (after a
 * lone CR, or a short BOM). */
int oi_reader_add_until(oi_store *s, oi_text_reader *r, const bool stop[256])
{
    if (r->npushed)
        return OI_OK;
    int c;
    for (;;) {
        bool stopped;
        size_t limit = r->cap < OI_IMPORT_RECORD_MAX ? r->cap : OI_IMPORT_RECORD_MAX;
        size_t len = copy_run(r->in, r->buf, r->len, limit, stop, &c, &stopped);
        r->bytes += len - r->len + (c != EOF);
        r->len = len;
        if (stopped)
            break;
        int rc = oi_reader_add(s, r, c);
        if (rc)
            return rc;
    }
    unread(r, c);
    return OI_OK;
}

/* Where the first byte that is not valid UTF-8 is, or -1. */
static long utf8_error_at(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x80) { /* most text: ASCII, eight bytes a test */
            uint64_t word;
            for (i++; i + 8 <= n; i += 8) {
                memcpy(&word, p + i, 8);
                if (word & UINT64_C(0x8080808080808080))
                    break;
            }
            continue;
        }
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

int oi_reader_check_utf8(oi_store *s, const oi_text_reader *r)
{
    long at = utf8_error_at((const unsigned char *)r->buf, r->len);
    if (at < 0)
        return OI_OK;
    return oi_fail(s, OI_EINVALID, "the text is not valid UTF-8 (byte 0x%02X)",
                   (unsigned char)r->buf[at]);
}

int oi_reader_at_end(oi_store *s, const oi_text_reader *r)
{
    if (ferror(r->in))
        return oi_fail(s, OI_ERROR, "cannot read the input: %s", strerror(errno));
    return OI_DONE;
}
