/*
 * options.h - the CLI's option parser (options.c): what a command accepts,
 * what its command line gave, and how the command reads it.
 *
 * A command declares its options as a {NULL}-terminated cli_option array;
 * main.c accepts them, plus the implicit --json, --help and -h, into a
 * cli_args, parses the command line into it and hands it to the command,
 * which reads it with cli_flag(), cli_value(), cli_values() and
 * cli_duration_option().  Nothing has a fixed size: a command may declare
 * any number of options, and a command line may hold any number of option
 * values and arguments; every one given is kept (no silent limit).
 *
 * options.c reports usage errors through output.c and calls no other file
 * of the CLI.
 */
#ifndef OPTIINFRA_CLI_OPTIONS_H
#define OPTIINFRA_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_ctx cli_ctx;
typedef struct cli_command cli_command;

/* An option a command accepts besides the implicit --json and --help. */
typedef struct cli_option {
    const char *name;  /* "--sql" */
    bool takes_value;  /* --name=VALUE or --name VALUE */
} cli_option;

/* An accepted option and what the command line gave it. */
typedef struct cli_option_state {
    cli_option option;
    bool seen;
    const char **values; /* every value given, in command-line order */
    size_t nvalues, cap;
} cli_option_state;

/* What the parser found: positional arguments and the options seen.
 * Zero-initialise it; release it with cli_args_free(). */
typedef struct cli_args {
    cli_option_state *options; /* accepted: the command's, then implicit */
    size_t noptions, options_cap;
    char **pos;                /* positional arguments, in order */
    int npos;
    size_t pos_cap;
    char **origin;             /* the whole command line (main's argv + 1), to
                                  number an argument in a message */
} cli_args;

/* Accept the options of opts (terminated by a {NULL} entry; may be NULL).
 * The first of two options of the same name is the one that gets values. */
void cli_args_accept(cli_args *a, const cli_option *opts);
/*
 * Parse argv[0..argc) (a part of a->origin) into a: options anywhere, "--opt=value" or "--opt
 * value", "--" ends the options, "-1" and other "-DIGITS" (and "-") are
 * arguments.  With stop_at_argument, parsing ends at the first argument
 * (a command name) and *next is its index.  An unknown option, a value
 * given to a flag or a missing value is a usage error of cmd (NULL: the
 * global options): the message is printed and CLI_EXIT_USAGE returned.
 * No message echoes an argument that is not an option of the command (it
 * may be a secret given without its option): it is named by its position,
 * with the options the command takes, and an option name one edit away
 * from one of them ("--stal") is suggested.
 */
int cli_args_parse(const cli_command *cmd, cli_args *a, int argc, char **argv,
                   bool stop_at_argument, int *next);
/* The position of arg (a pointer into a->origin) on the command line,
 * counted from 1 after the program's name; 0 if it is not there. */
int cli_arg_position(const cli_args *a, const char *arg);
/* Whether `given` (its first len bytes) and `name` are at most one edit
 * apart (a letter added, dropped, changed, or two swapped): a typing slip
 * worth a "did you mean". */
bool cli_one_edit_apart(const char *given, size_t len, const char *name);
/* The number of arguments against cmd's min_args and max_args (usage error). */
int cli_args_check_count(const cli_command *cmd, const cli_args *a);
void cli_args_free(cli_args *a);

/* Whether the option `name` ("--sql") was given. */
bool cli_flag(const cli_args *a, const char *name);
/* The value of option `name` (the last one given), NULL if not given. */
const char *cli_value(const cli_args *a, const char *name);
/* Every value of a repeatable option, in command-line order: *n of them
 * (0 and NULL when none), valid as long as a is. */
const char *const *cli_values(const cli_args *a, const char *name, size_t *n);
/* The duration option `name` ("--ttl") into *micros, left unchanged when
 * the option is absent; a malformed or zero duration is invalid input (exit 3), as
 * is every malformed option value: exit 2 is for unknown, missing or conflicting
 * commands, options and arguments. */
int cli_duration_option(const cli_ctx *ctx, const cli_args *a, const char *name,
                        int64_t *micros);

#endif
