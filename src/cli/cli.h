/*
 * cli.h - what the files of the optiinfra command-line tool share.
 *
 * The tool is a table of commands (main.c) over a few helpers: a small
 * option parser, store opening, error reporting with exit codes, aligned
 * text tables, JSON printing and human durations (output.c).  Each command
 * group lives in its own file and only declares its cli_command; main.c
 * parses the command's options from that declaration before running it, so
 * no command parses argv itself.
 *
 * The tool uses the public API of liboptiinfra only (optiinfra/optiinfra.h).
 */
#ifndef OPTIINFRA_CLI_H
#define OPTIINFRA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "optiinfra/optiinfra.h"

/* Exit codes: the contract with scripts (docs/cli.md, `optiinfra --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_CHECKS_FAILED = 1, /* validate ran and some check failed */
    CLI_EXIT_USAGE = 2,         /* unknown command or option, missing argument */
    CLI_EXIT_INVALID = 3,       /* OI_EINVALID */
    CLI_EXIT_NOT_FOUND = 4,     /* OI_ENOTFOUND */
    CLI_EXIT_CONNECT = 5,       /* OI_ECONNECT, OI_EAUTH */
    CLI_EXIT_SCHEMA = 6,        /* OI_ESCHEMA */
    CLI_EXIT_CONFLICT = 7,      /* OI_EEXISTS, OI_ECONSTRAINT, OI_EBUSY, OI_ESTATE */
    CLI_EXIT_OTHER = 8,         /* anything else */
    CLI_EXIT_HELD = 9           /* OI_EHELD: another live agent holds the lock */
};

#define CLI_DEFAULT_DATABASE_URL "sqlite:optiinfra.db"
#define CLI_DATABASE_URL_ENV "OPTIINFRA_DATABASE_URL"
#define CLI_MAX_ARGS 8
#define CLI_MAX_OPTIONS 8 /* a command's own options, plus --json, --help, -h */

/* An option a command accepts besides the implicit --json and --help. */
typedef struct cli_option {
    const char *name;  /* "--sql" */
    bool takes_value;  /* --name=VALUE or --name VALUE */
} cli_option;

/* What the parser found: positional arguments and the options seen. */
typedef struct cli_args {
    cli_option options[CLI_MAX_OPTIONS]; /* accepted: the command's, then implicit */
    int noptions;
    const char *values[CLI_MAX_OPTIONS]; /* by index in options */
    bool seen[CLI_MAX_OPTIONS];
    char *pos[CLI_MAX_ARGS];
    int npos;
} cli_args;

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
    const char *database_url;
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

/* main.c: whether the option `name` ("--sql") was given. */
bool cli_flag(const cli_args *args, const char *name);

/* output.c: errors.  Each returns the exit code to return from main. */
int cli_exit_code(int oi_code);
int cli_fail(int exit_code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_fail_store(const cli_ctx *ctx, int oi_code, const char *hint);
int cli_fail_usage(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* output.c: aligned text tables.  Cells are copied. */
typedef struct cli_table {
    size_t ncols;
    const char *const *headers; /* NULL: no header line */
    char **cells;               /* nrows * ncols */
    size_t nrows, cap;
} cli_table;

void cli_table_init(cli_table *t, size_t ncols, const char *const *headers);
void cli_table_add(cli_table *t, const char *const *row);
void cli_table_print(const cli_table *t, const char *indent);
void cli_table_free(cli_table *t);

/* output.c: time and numbers as people read them. */
#define CLI_TEXT_BUFSZ 64
char *cli_format_duration(int64_t seconds, char *buf);
char *cli_format_age(oi_time t, oi_time now, char *buf); /* "12s ago", "never" */
char *cli_format_number(double v, char *buf);
int64_t cli_age_seconds(oi_time t, oi_time now);

/* output.c: JSON.  cli_json_print() takes the reference it is given. */
int cli_json_print(json_t *value);
json_t *cli_json_string(const char *s);  /* NULL -> null */
json_t *cli_json_time(oi_time t);        /* OI_TIME_NULL -> null */
json_t *cli_json_embedded(const char *json_text); /* stored JSON text as JSON */

#endif
