/*
 * output.c - how the CLI talks back: errors, tables, JSON, durations.
 *
 * Errors are one line on stderr, "optiinfra: what went wrong; what to do",
 * and every error path returns its exit code through cli_exit_code(), the one
 * place where library codes become process exit codes.  Messages about the
 * database come from oi_errmsg(), which never holds a password; the CLI
 * itself never prints a URL other than oi_store_url()'s redacted one.
 *
 * Text tables are aligned by character count (UTF-8 aware, no wide glyphs
 * expected) and carry no trailing blanks, so they diff and grep cleanly;
 * their memory comes from the library's allocator (src/alloc.h).  A table
 * of unbounded length (`metrics query --limit 0`) is streamed: its first
 * CLI_TABLE_MEASURED rows set the column widths, and every later row is
 * printed as it comes, a wider cell pushing only the rest of its own line
 * (psql's FETCH_COUNT aligns each batch anew instead; here one header fits
 * every line that is not wider): memory no longer grows with the row count
 * (250,000 rows held took 233 MB).  A table of fewer rows prints as before.
 *
 * JSON is printed here and built elsewhere: the commands hand over a value
 * made by the views (src/views/views.h), which the HTTP service shares.
 *
 * This file calls no other file of the CLI: the option parser (options.c)
 * and the commands call it, never the other way round.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "number.h"
#include "utf8.h"
#include "cli.h"

/* ---- errors ------------------------------------------------------------ */

int cli_exit_code(int oi_code)
{
    switch (oi_code) {
    case OI_OK:          return CLI_EXIT_OK;
    case OI_EINVALID:    return CLI_EXIT_INVALID;
    case OI_ENOTFOUND:   return CLI_EXIT_NOT_FOUND;
    case OI_ECONNECT:
    case OI_EAUTH:       return CLI_EXIT_CONNECT;
    case OI_ESCHEMA:     return CLI_EXIT_SCHEMA;
    case OI_EEXISTS:
    case OI_ECONSTRAINT:
    case OI_EBUSY:
    case OI_ESTATE:
    case OI_ESTALE:
    case OI_ECONFLICT:   return CLI_EXIT_CONFLICT;
    case OI_ECOMPACTED:  return CLI_EXIT_NOT_FOUND;
    case OI_EHELD:       return CLI_EXIT_HELD;
    default:             return CLI_EXIT_OTHER;
    }
}

/* The message is escaped (oi_utf8_escape): it may quote a value, and a value
 * must not drive the terminal from an error line either. */
static void print_error_line(const char *hint, const char *fmt, va_list ap)
{
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        oi_oom(0);
    char *shown = oi_utf8_escape(msg);
    fprintf(stderr, "optiinfra: %s%s%s\n", shown, hint ? "; " : "", hint ? hint : "");
    free(shown);
    free(msg);
}

int cli_fail(int exit_code, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error_line(hint, fmt, ap);
    va_end(ap);
    return exit_code;
}

int cli_agent_lookup(const cli_ctx *ctx, const char *ref, oi_agent *out)
{
    int rc = oi_agent_lookup(ctx->store, ref, out);
    if (rc == OI_OK)
        return CLI_EXIT_OK;
    return cli_fail_store(ctx, rc, rc == OI_ENOTFOUND ? "`optiinfra agents` lists the agents"
                                                      : NULL);
}

/* The obvious next step for a library error, when there is one. */
static const char *default_hint(const cli_ctx *ctx, int oi_code)
{
    switch (oi_code) {
    case OI_ESCHEMA:
        return ctx->cmd && ctx->cmd->needs_head
            ? "run `optiinfra db upgrade`"
            : "see `optiinfra db history` for the revisions this tool knows";
    case OI_ECONNECT:
        return ctx->open.read_url ? "check --database-url and --read-url (or "
                                    CLI_DATABASE_URL_ENV " and " CLI_READ_URL_ENV ")"
                                  : "check --database-url or " CLI_DATABASE_URL_ENV;
    case OI_EAUTH:
        return "check the user and password in --database-url or " CLI_DATABASE_URL_ENV;
    case OI_EBUSY:
        return "another process is writing to the database; try again";
    default:
        return NULL;
    }
}

int cli_fail_store(const cli_ctx *ctx, int oi_code, const char *hint)
{
    const char *msg = ctx->store ? oi_errmsg(ctx->store) : "";
    if (!msg || !*msg)
        msg = oi_strerror(oi_code);
    if (!hint)
        hint = default_hint(ctx, oi_code);
    if (hint && strstr(msg, hint))  /* the library may already say what to do */
        hint = NULL;
    return cli_fail(cli_exit_code(oi_code), hint, "%s", msg);
}

int cli_fail_usage(const cli_command *cmd, const char *fmt, ...)
{
    char hint[128];
    if (cmd)
        snprintf(hint, sizeof hint, "see `optiinfra %s --help`", cmd->path);
    else
        snprintf(hint, sizeof hint, "see `optiinfra --help`");
    va_list ap;
    va_start(ap, fmt);
    print_error_line(hint, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* ---- the outcome of a write, for when its report cannot be written ------ */

/* A write command records what it committed, in one line, before it
 * prints its report: if stdout then fails (a full disk, a closed pipe),
 * the error says what is in the database, so that the user knows a retry
 * would repeat it.  One command runs per process: one line is enough. */
static char committed[512];
static const char *retry_hint;

void cli_committed(const char *retry, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(committed, sizeof committed, fmt, ap);
    va_end(ap);
    retry_hint = retry;
}

int cli_fail_output(int err, bool command_finished)
{
    static bool reported; /* once: main's last flush fails again after a command's */
    char why[160] = "";
    if (reported)
        return CLI_EXIT_OTHER;
    reported = true;
    if (err)
        snprintf(why, sizeof why, ": %s", strerror(err));
    if (*committed)
        return cli_fail(CLI_EXIT_OTHER, retry_hint, "%s (committed); then writing the report to "
                        "standard output failed%s", committed, why);
    if (command_finished)
        return cli_fail(CLI_EXIT_OTHER, NULL, "writing to standard output failed%s; the "
                        "command had run to its end, so any change it made is committed", why);
    return cli_fail(CLI_EXIT_OTHER, NULL, "writing to standard output failed%s", why);
}

/* ---- tables ------------------------------------------------------------ */

void cli_table_init(cli_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->headers = headers;
}

void cli_table_stream(cli_table *t, const char *indent)
{
    t->streaming = true;
    t->indent = indent;
}

/* Printable ASCII: a cell that is its own escape, one column per byte. */
static bool plain_ascii(const char *s, size_t *width)
{
    const char *p = s;
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
            return false;
    *width = (size_t)(p - s);
    return true;
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* n blanks at the end of line. */
static void add_blanks(oi_buf *line, size_t n)
{
    static const char blanks[] = "                                ";
    for (; n > sizeof blanks - 1; n -= sizeof blanks - 1)
        oi_buf_add(line, blanks);
    oi_buf_add(line, blanks + (sizeof blanks - 1 - n));
}

/* Two blanks after each cell but the last, more to fill its column; a cell
 * wider than its column (a streamed row) pushes the rest of its own line. */
static void add_cell(oi_buf *line, const char *cell, size_t width, size_t column_width,
                     bool last)
{
    oi_buf_add(line, cell);
    if (!last)
        add_blanks(line, width < column_width ? column_width - width + 2 : 2);
}

/* A line in one write, not a locked stdio call per cell and per padding:
 * W6's table (region=us-east, 200k rows, callgrind): 480 -> 360
 * instructions a cell. */
static void write_line(oi_buf *line)
{
    oi_buf_add(line, "\n");
    fwrite_unlocked(line->data, 1, line->len, stdout);
    line->len = 0;
}

static void print_row(oi_buf *line, const char *const *cells, const size_t *widths,
                      size_t ncols, const char *indent)
{
    oi_buf_add(line, indent);
    for (size_t c = 0; c < ncols; c++)
        add_cell(line, cells[c], text_width(cells[c]), widths[c], c + 1 == ncols);
    write_line(line);
}

/* A row of a streamed table, as it comes: a printable ASCII cell (most) is
 * copied as it is, with no escaped copy. */
static void print_row_now(cli_table *t, const char *const *row)
{
    oi_buf_add(&t->line, t->indent);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *cell = row[c] ? row[c] : "-";
        char *shown = NULL;
        size_t width;
        if (!plain_ascii(cell, &width)) {
            cell = shown = oi_utf8_escape(cell);
            width = text_width(shown);
        }
        add_cell(&t->line, cell, width, t->widths[c], c + 1 == t->ncols);
        free(shown);
    }
    write_line(&t->line);
}

static size_t *measure(const cli_table *t)
{
    size_t *widths = oi_calloc(t->ncols, sizeof *widths);
    for (size_t c = 0; c < t->ncols; c++) {
        widths[c] = t->headers ? text_width(t->headers[c]) : 0;
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    return widths;
}

static void print_held(const cli_table *t, const size_t *widths, const char *indent)
{
    oi_buf line = {0};
    if (t->headers)
        print_row(&line, t->headers, widths, t->ncols, indent);
    for (size_t r = 0; r < t->nrows; r++)
        print_row(&line, (const char *const *)t->cells + r * t->ncols, widths, t->ncols,
                  indent);
    free(line.data);
}

static void free_held(cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* A NULL cell prints as "-"; a cell's text is escaped (oi_utf8_escape). */
void cli_table_add(cli_table *t, const char *const *row)
{
    if (t->widths) {
        print_row_now(t, row);
        return;
    }
    t->cells = oi_grow(t->cells, &t->cap, t->nrows, t->ncols * sizeof *t->cells);
    char **dst = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++)
        dst[c] = oi_utf8_escape(row[c] ? row[c] : "-");
    t->nrows++;
    if (t->streaming && t->nrows == CLI_TABLE_MEASURED) {
        t->widths = measure(t);
        print_held(t, t->widths, t->indent);
        free_held(t);
    }
}

void cli_table_print(const cli_table *t, const char *indent)
{
    if (t->widths)   /* streamed: every row is out */
        return;
    size_t *widths = measure(t);
    print_held(t, widths, indent);
    free(widths);
}

void cli_table_free(cli_table *t)
{
    free_held(t);
    free(t->widths);
    free(t->line.data);
    memset(t, 0, sizeof *t);
}

/* ---- durations and numbers --------------------------------------------- */

/* The largest whole unit: "12s", "5m", "2h", "3d". */
char *cli_format_duration(int64_t seconds, char *buf)
{
    static const struct { int64_t size; char unit; } units[] = {
        { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' }
    };
    int64_t magnitude = seconds < 0 ? -seconds : seconds;
    size_t i = 0;
    while (units[i].size > magnitude && units[i].size > 1)
        i++;
    snprintf(buf, CLI_TEXT_BUFSZ, "%s%" PRId64 "%c", seconds < 0 ? "-" : "",
             magnitude / units[i].size, units[i].unit);
    return buf;
}

int64_t cli_age_seconds(oi_time t, oi_time now)
{
    return (now - t) / 1000000;
}

/* "12s ago"; "never" for a NULL time; "in 5m" for a clock ahead of ours. */
char *cli_format_age(oi_time t, oi_time now, char *buf)
{
    char d[CLI_TEXT_BUFSZ];
    if (t == OI_TIME_NULL) {
        snprintf(buf, CLI_TEXT_BUFSZ, "never");
        return buf;
    }
    int64_t age = cli_age_seconds(t, now);
    if (age >= 0)
        snprintf(buf, CLI_TEXT_BUFSZ, "%s ago", cli_format_duration(age, d));
    else
        snprintf(buf, CLI_TEXT_BUFSZ, "in %s", cli_format_duration(-age, d));
    return buf;
}

/* The shortest text that reads back as the same double: 0.85, not 0.8499... */
char *cli_format_number(double v, char *buf)
{
    return oi_number_format(v, buf);
}

/* ---- JSON -------------------------------------------------------------- */

/* The strings the views repaired (not valid UTF-8 in the database), each
 * with a reference held so that its address cannot be reused until the
 * JSON that holds it has been printed and the repairs reported. */
static json_t **repairs;
static size_t nrepairs, repairs_cap;

static void note_repair(json_t *repaired, void *unused)
{
    (void)unused;
    repairs = oi_grow(repairs, &repairs_cap, nrepairs, sizeof *repairs);
    repairs[nrepairs++] = json_incref(repaired);
}

/* ---- a terminal on stdout --------------------------------------------- */

/* What reaches a terminal through stdout goes through this filter, so that
 * no value any command prints (a name written around the library, a
 * config value shown with --show-secrets) can move the cursor, recolour or
 * retitle the terminal: a C0 control but line feed and tab, DEL and a C1
 * control (U+0080 to U+009F, C2 80 to C2 9F in UTF-8) are written as
 * \x1b or \u009b.  Only for a terminal: a file or a pipe gets the bytes
 * unchanged (an export, `config get` in a script).  A C2 at the end of one
 * write waits for the next, which says whether it began a C1 (one left at
 * the very end, which no UTF-8 text has, is dropped). */
typedef struct terminal {
    bool pending_c2;
} terminal;

static bool put(const char *text, size_t n)
{
    while (n > 0) {
        ssize_t done = write(STDOUT_FILENO, text, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        text += done;
        n -= (size_t)done;
    }
    return true;
}

static ssize_t terminal_write(void *cookie, const char *buf, size_t size)
{
    terminal *t = cookie;
    char out[4096];
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (t->pending_c2) {
            t->pending_c2 = false;
            if (c >= 0x80 && c < 0xA0) {
                n += (size_t)sprintf(out + n, "\\u%04x", c);
                continue;
            }
            out[n++] = (char)0xC2;
        }
        if (c == 0xC2)
            t->pending_c2 = true;
        else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            n += (size_t)sprintf(out + n, "\\x%02x", c);
        else
            out[n++] = (char)c;
        if (n > sizeof out - 16) {
            if (!put(out, n))
                return -1;
            n = 0;
        }
    }
    return put(out, n) ? (ssize_t)size : -1;
}

static void filter_terminal(void)
{
    static terminal state;
    if (!isatty(STDOUT_FILENO))
        return;
    FILE *f = fopencookie(&state, "w", (cookie_io_functions_t){.write = terminal_write});
    if (!f)
        return;   /* unfiltered rather than no output */
    setvbuf(f, NULL, _IOLBF, 4096);
    stdout = f;
}

void cli_output_init(void)
{
    view_set_repair_hook(note_repair, NULL);
    filter_terminal();
}

static bool was_repaired(const json_t *v)
{
    for (size_t i = 0; i < nrepairs; i++)
        if (repairs[i] == v)
            return true;
    return false;
}

/* One line per repaired member, naming it and its record's id. */
static void warn_repaired(const json_t *record, const char *member)
{
    const json_t *id = json_object_get(record, "id");
    char idtext[64] = "";
    if (json_is_string(id))
        snprintf(idtext, sizeof idtext, " %s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(idtext, sizeof idtext, " %" JSON_INTEGER_FORMAT, json_integer_value(id));
    fprintf(stderr, "optiinfra: warning: %s of record%s is not valid UTF-8 (written around "
            "the library); shown with U+FFFD for each bad sequence\n", member,
            *idtext ? idtext : " without an id");
}

static void report_repairs(const json_t *node, const json_t *record, const char *member)
{
    if (json_is_object(node)) {
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)node, key, value) {
            if (was_repaired(value))
                warn_repaired(node, key);
            else
                report_repairs(value, node, key);
        }
    } else if (json_is_array(node)) {
        size_t i;
        const json_t *value;
        json_array_foreach(node, i, value) {
            if (record && was_repaired(value))
                warn_repaired(record, member);
            else
                report_repairs(value, record, member);
        }
    }
}

static void take_repairs(const json_t *value)
{
    if (nrepairs == 0)
        return;
    report_repairs(value, NULL, NULL);
    for (size_t i = 0; i < nrepairs; i++)
        json_decref(repairs[i]);
    nrepairs = 0;
}

/* 15 significant digits print stored values such as 0.85 as written. */
int cli_json_print(json_t *value)
{
    if (!value)
        return cli_fail(CLI_EXIT_OTHER, NULL, "out of memory");
    take_repairs(value);
    int rc = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)
                                           | JSON_ENCODE_ANY);
    int err = errno;
    fputc('\n', stdout);
    json_decref(value);
    return rc == 0 ? CLI_EXIT_OK : cli_fail_output(err, false);
}

/* ---- JSON documents streamed ------------------------------------------- */

/* {"KEY": [ELEMENT, ...], REST...} laid out byte for byte as cli_json_print
 * lays out the whole document (jansson's JSON_INDENT(2)), each element
 * printed as it comes: an element nested two levels deep is its own dump
 * with four more blanks after each line break, which is safe because a
 * line break inside a JSON string is always escaped. */
typedef struct nested_text {
    const char *indent; /* after each '\n' */
    size_t skip;        /* bytes of the dump not to write */
} nested_text;

static int write_nested(const char *text, size_t size, void *data)
{
    nested_text *n = data;
    size_t skipped = n->skip < size ? n->skip : size;
    text += skipped;
    size -= skipped;
    n->skip -= skipped;
    const char *nl;
    while ((nl = memchr(text, '\n', size)) != NULL) {
        size_t line = (size_t)(nl - text) + 1;
        fwrite(text, 1, line, stdout);
        fputs(n->indent, stdout);
        text += line;
        size -= line;
    }
    fwrite(text, 1, size, stdout);
    return ferror(stdout) ? -1 : 0;
}

static int dump_nested(json_t *value, const char *indent, size_t skip)
{
    nested_text n = { indent, skip };
    take_repairs(value);
    int rc = json_dump_callback(value, write_nested, &n, JSON_INDENT(2) | JSON_REAL_PRECISION(15)
                                                             | JSON_ENCODE_ANY);
    json_decref(value);
    return rc == 0 ? CLI_EXIT_OK : cli_fail_output(errno, false);
}

void cli_json_array_begin(cli_json_array *a, const char *key)
{
    a->count = 0;
    printf("{\n  \"%s\": [", key);
}

int cli_json_array_add(cli_json_array *a, json_t *element)
{
    if (!element)
        return cli_fail(CLI_EXIT_OTHER, NULL, "out of memory");
    fputs(a->count++ ? ",\n    " : "\n    ", stdout);
    return dump_nested(element, "    ", 0);
}

int cli_json_array_end(cli_json_array *a, json_t *rest)
{
    if (!rest)
        return cli_fail(CLI_EXIT_OTHER, NULL, "out of memory");
    fputs(a->count ? "\n  ]" : "]", stdout);
    int rc = CLI_EXIT_OK;
    if (json_object_size(rest) == 0) {
        fputs("\n}", stdout);
        json_decref(rest);
    } else {
        fputc(',', stdout);
        rc = dump_nested(rest, "", 1);  /* its members, without its '{' */
    }
    fputc('\n', stdout);
    return rc;
}
