/*
 * cli.h - what the files of the optiinfra command-line tool share.
 *
 * The tool is a table of commands (main.c: dispatch, help, store opening)
 * over a few helpers: the option parser and the readers of its result
 * (options.c, declared in options.h), error reporting with exit codes,
 * aligned text tables, JSON printing and human durations (output.c).  Each
 * command group lives in its own file and only declares its cli_command;
 * main.c parses the command's options from that declaration before running
 * it, so no command parses argv itself.  The JSON form of every record is
 * not the CLI's own: the commands build their --json output from the views
 * (src/views/views.h), which the HTTP service shares.
 *
 * Calls between the files go one way, never back: main.c calls the
 * commands, the commands call options.c, output.c and the views (and a few
 * each other's, without a loop), options.c calls output.c, output.c calls no
 * other file of the CLI, and the views call no file of the CLI.
 *
 * The tool uses the public API of liboptiinfra (optiinfra/optiinfra.h), the
 * library's allocator (src/alloc.h, whose failure handler main.c sets) and
 * its numbers as text (src/number.h), and nothing else of the library.
 */
#ifndef OPTIINFRA_CLI_H
#define OPTIINFRA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "optiinfra/optiinfra.h"
#include "buf.h"
#include "views/views.h"
#include "options.h"
#include "views/collect.h"

/* Exit codes: the contract with scripts (docs/cli.md, `optiinfra --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_CHECKS_FAILED = 1, /* validate ran and some check failed */
    CLI_EXIT_USAGE = 2,         /* unknown command or option, missing argument */
    CLI_EXIT_INVALID = 3,       /* OI_EINVALID */
    CLI_EXIT_NOT_FOUND = 4,     /* OI_ENOTFOUND */
    CLI_EXIT_CONNECT = 5,       /* OI_ECONNECT, OI_EAUTH */
    CLI_EXIT_SCHEMA = 6,        /* OI_ESCHEMA */
    CLI_EXIT_CONFLICT = 7,      /* OI_EEXISTS, OI_ECONSTRAINT, OI_EBUSY, OI_ESTATE,
                                   OI_ESTALE, OI_ECONFLICT */
    CLI_EXIT_OTHER = 8,         /* anything else */
    CLI_EXIT_HELD = 9           /* OI_EHELD: another live agent holds the lock */
};

#define CLI_DEFAULT_DATABASE_URL "sqlite:optiinfra.db"
#define CLI_DATABASE_URL_ENV "OPTIINFRA_DATABASE_URL"
#define CLI_READ_URL_ENV "OPTIINFRA_READ_URL"
#define CLI_REPLICA_FALLBACK_ENV "OPTIINFRA_REPLICA_FALLBACK"
#define CLI_MAX_REPLICA_LAG_ENV "OPTIINFRA_MAX_REPLICA_LAG"

typedef struct cli_ctx cli_ctx;
typedef struct cli_command cli_command;

struct cli_command {
    const char *name;      /* "upgrade" */
    const char *path;      /* "db upgrade": how messages name it */
    const char *synopsis;  /* "db upgrade [head|REV] [--sql]" */
    const char *summary;   /* one line for the command list */
    const char *help;      /* the rest of `--help`, after the synopsis */
    const cli_option *options; /* terminated by a {NULL} entry; may be NULL */
    int min_args, max_args;
    bool needs_head;       /* main checks the schema is at head before run() */
    /* Optional: refuse bad arguments before the store is opened. */
    int (*check)(const cli_ctx *ctx, const cli_args *args);
    int (*run)(cli_ctx *ctx, const cli_args *args);
    const cli_command *const *subcommands; /* groups only; NULL-terminated */
};

struct cli_ctx {
    char **args;            /* the command line after the program's name */
    const char *database_url;
    oi_store_options open;  /* database_url, the read replica and its settings */
    bool json;
    const cli_command *cmd; /* the command being run */
    oi_store *store;        /* opened by main before run(), closed after */
};

/* Commands, one group per file. */
extern const cli_command cli_cmd_db;
extern const cli_command cli_cmd_seed;
extern const cli_command cli_cmd_validate;
extern const cli_command cli_cmd_agents;
extern const cli_command cli_cmd_agent;
extern const cli_command cli_cmd_metrics;
extern const cli_command cli_cmd_metrics_import, cli_cmd_metrics_export, cli_cmd_metrics_prune;
extern const cli_command cli_cmd_event, cli_cmd_events, cli_cmd_recommendations,
    cli_cmd_recommendation;
extern const cli_command cli_cmd_config, cli_cmd_capability;
extern const cli_command cli_cmd_lock, cli_cmd_locks; /* locks.c */
extern const cli_command cli_cmd_serve;                /* serve.c */
extern const cli_command cli_cmd_token;                /* token.c */
extern const cli_command cli_cmd_watch;                /* watch.c */
/* runtime.c: subcommands of `agent` (listed by agents.c) */
extern const cli_command cli_cmd_agent_heartbeat, cli_cmd_agent_start, cli_cmd_agent_finish,
    cli_cmd_agent_error, cli_cmd_agent_recover;

/* output.c: the agent named by ref (name or id); prints the error and returns
 * its exit code on failure, CLI_EXIT_OK otherwise. */
int cli_agent_lookup(const cli_ctx *ctx, const char *ref, oi_agent *out);

/* output.c: errors.  Each returns the exit code to return from main. */
int cli_exit_code(int oi_code);
int cli_fail(int exit_code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_fail_store(const cli_ctx *ctx, int oi_code, const char *hint);
int cli_fail_usage(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* output.c: what a write command committed, recorded in one line ("imported
 * 12 rows in 1 batch") before it prints its report, with what running it
 * again would do (NULL: nothing worth saying, as for an idempotent seed);
 * and the error for a report that could not be written (err: the errno, 0
 * if unknown), which says what was committed, or, when command_finished
 * and nothing was recorded, that any change made is committed.  Exit 8;
 * said once, however many writes fail. */
void cli_committed(const char *retry, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_fail_output(int err, bool command_finished);

/* output.c: aligned text tables.  Cells are copied, escaped (oi_utf8_escape).
 * A table is held whole and printed by cli_table_print, or streamed: after
 * cli_table_stream, the first CLI_TABLE_MEASURED rows are held, then
 * printed with the widths they need, and each later row is printed by
 * cli_table_add itself (a wider cell pushes the rest of its line only);
 * cli_table_print then prints what is still held, if anything. */
#define CLI_TABLE_MEASURED 1000
typedef struct cli_table {
    size_t ncols;
    const char *const *headers; /* NULL: no header line */
    char **cells;               /* nrows * ncols, held */
    size_t nrows, cap;
    bool streaming;
    const char *indent;         /* streaming: of every line */
    size_t *widths;             /* streaming: set once the held rows are out */
    oi_buf line;                /* streaming: the row being printed */
} cli_table;

void cli_table_init(cli_table *t, size_t ncols, const char *const *headers);
void cli_table_stream(cli_table *t, const char *indent);
void cli_table_add(cli_table *t, const char *const *row);
void cli_table_print(const cli_table *t, const char *indent);
void cli_table_free(cli_table *t);

/* output.c: time and numbers as people read them. */
#define CLI_TEXT_BUFSZ 64
char *cli_format_duration(int64_t seconds, char *buf);
char *cli_format_age(oi_time t, oi_time now, char *buf); /* "12s ago", "never" */
char *cli_format_number(double v, char *buf);
int64_t cli_age_seconds(oi_time t, oi_time now);

/* output.c: print a JSON value (a view, src/views/views.h) and take its
 * reference; NULL is reported as out of memory.  Each string a view had to
 * repair (text that is not UTF-8, shown with U+FFFD) gets a warning on
 * stderr naming its member and its record's id; main calls
 * cli_output_init() first, which asks the views to report repairs and, when
 * stdout is a terminal, puts a filter on it that escapes control
 * characters (oi_utf8_escape's forms) in everything printed. */
int cli_json_print(json_t *value);
void cli_output_init(void);

/* output.c: the document {"KEY": [ELEMENT, ...], REST...} printed as
 * cli_json_print would print it whole, each element as it comes: begin
 * (KEY a plain name, printed as it is), add each element (its reference
 * taken), end with the object of the members that follow the array (its
 * reference taken; {} for none).  add and end return an exit code. */
typedef struct cli_json_array {
    size_t count;
} cli_json_array;

void cli_json_array_begin(cli_json_array *a, const char *key);
int cli_json_array_add(cli_json_array *a, json_t *element);
int cli_json_array_end(cli_json_array *a, json_t *rest);

#endif
