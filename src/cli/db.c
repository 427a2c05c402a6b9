/*
 * db.c - `optiinfra db`: schema revisions, as Alembic's commands show them.
 *
 *   db upgrade [head|REV] [--sql]     apply revisions up to the target
 *   db downgrade -1|base|REV [--sql]  revert revisions down to the target
 *   db current                        the revision the database is at
 *   db history                        the revisions, oldest first
 *   db maintain [--ahead N]           partitions of agent_metrics made ahead
 *   db backup PATH [--force]          a consistent copy of a SQLite database
 *
 * Downgrade has no default target on purpose: it drops tables and their
 * data, so the user says how far.  --sql prints the SQL a migration would
 * run, for a DBA to review or apply by hand, and changes nothing.  Each
 * revision applied is recorded as committed (cli_committed) before its
 * line is printed, so a report that cannot be written still says where
 * the schema is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

/* The compiled-in revision with this id, or NULL. */
static const oi_revision *find_revision(const char *id)
{
    for (size_t i = 0; id && i < oi_migrate_revision_count(); i++)
        if (strcmp(oi_migrate_revision(i)->id, id) == 0)
            return oi_migrate_revision(i);
    return NULL;
}

static const char *or_base(const char *rev)
{
    return rev ? rev : "base";
}

/* ---- upgrade and downgrade --------------------------------------------- */

typedef int (*migrate_fn)(oi_store *store, const char *target,
                          void (*applied)(void *ctx, const char *rev),
                          oi_sql_sink sql, void *ctx);

typedef struct migration {
    bool upgrade;
    size_t steps;
    json_t *json_steps;
} migration;

/* A revision was applied (upgrade) or reverted (downgrade). */
static void on_step(void *data, const char *rev_id)
{
    migration *m = data;
    const oi_revision *rev = find_revision(rev_id);
    const char *below = or_base(rev ? rev->down_id : NULL);
    const char *from = m->upgrade ? below : rev_id;
    const char *to = m->upgrade ? rev_id : below;
    m->steps++;
    cli_committed(NULL, "%s the database to revision %s",
                  m->upgrade ? "upgraded" : "downgraded", to);
    if (m->json_steps) {
        json_array_append_new(m->json_steps,
                              json_pack("{s:s, s:s, s:s}", "revision", rev_id, "from", from,
                                        "to", to));
        return;
    }
    printf("Running %s %s -> %s", m->upgrade ? "upgrade" : "downgrade", from, to);
    if (rev && rev->description)
        printf(", %s", rev->description);
    putchar('\n');
    fflush(stdout);
}

static void print_sql(void *data, const char *sql)
{
    (void)data;
    size_t n = strlen(sql);
    fputs(sql, stdout);
    if (n == 0 || sql[n - 1] != '\n')
        putchar('\n');
}

static void print_nothing_to_do(const char *current)
{
    const char *head = oi_migrate_head();
    if (current && strcmp(current, head) == 0)
        printf("Already at head (%s); nothing to do\n", head);
    else
        printf("Already at %s; nothing to do\n", or_base(current));
}

static int report_migration(const cli_ctx *ctx, migration *m)
{
    const char *current = NULL;
    int rc = oi_migrate_current(ctx->store, &current);
    if (rc != OI_OK) {
        json_decref(m->json_steps);
        return cli_fail_store(ctx, rc, NULL);
    }
    if (m->json_steps)
        return cli_json_print(json_pack("{s:o, s:o, s:s}", "applied", m->json_steps,
                                        "current", view_string(current),
                                        "head", oi_migrate_head()));
    if (m->steps == 0)
        print_nothing_to_do(current);
    return CLI_EXIT_OK;
}

static int check_migration_args(const cli_ctx *ctx, const cli_args *a)
{
    if (cli_flag(a, "--sql") && ctx->json)
        return cli_fail_usage(ctx->cmd, "--sql prints SQL and cannot be combined with --json");
    return CLI_EXIT_OK;
}

static int run_migration(cli_ctx *ctx, const cli_args *a, bool upgrade, const char *target)
{
    bool sql_only = cli_flag(a, "--sql");
    migration m = { .upgrade = upgrade };
    if (ctx->json)
        m.json_steps = json_array();
    migrate_fn migrate = upgrade ? oi_migrate_upgrade : oi_migrate_downgrade;
    int rc = migrate(ctx->store, target, on_step, sql_only ? print_sql : NULL, &m);
    if (rc != OI_OK) {
        json_decref(m.json_steps);
        return cli_fail_store(ctx, rc, NULL);
    }
    return sql_only ? CLI_EXIT_OK : report_migration(ctx, &m);
}

static int run_upgrade(cli_ctx *ctx, const cli_args *a)
{
    return run_migration(ctx, a, true, a->npos ? a->pos[0] : "head");
}

static int run_downgrade(cli_ctx *ctx, const cli_args *a)
{
    return run_migration(ctx, a, false, a->pos[0]);
}

/* ---- current and history ----------------------------------------------- */

static int run_current(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    const char *current = NULL, *head = oi_migrate_head();
    int rc = oi_migrate_current(ctx->store, &current);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    bool at_head = current && strcmp(current, head) == 0;
    if (ctx->json)
        return cli_json_print(json_pack("{s:o, s:s, s:b}", "current", view_string(current),
                                        "head", head, "at_head", at_head));
    if (!current)
        printf("base (no revision applied; head is %s)\n", head);
    else if (at_head)
        printf("%s (head)\n", current);
    else
        printf("%s (head is %s)\n", current, head);
    return CLI_EXIT_OK;
}

static json_t *revision_json(const oi_revision *rev, bool head, bool current)
{
    return json_pack("{s:s, s:o, s:o, s:b, s:b}", "revision", rev->id,
                     "down_revision", view_string(rev->down_id),
                     "description", view_string(rev->description),
                     "head", head, "current", current);
}

static void print_revision(const oi_revision *rev, bool head, bool current)
{
    printf("%s -> %s%s%s", or_base(rev->down_id), rev->id, head ? " (head)" : "",
           current ? " (current)" : "");
    if (rev->description)
        printf(", %s", rev->description);
    putchar('\n');
}

/* The history is printed even when the current revision cannot be read. */
static int run_history(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    const char *current = NULL;
    int rc = oi_migrate_current(ctx->store, &current);
    size_t n = oi_migrate_revision_count();
    json_t *list = ctx->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const oi_revision *rev = oi_migrate_revision(i);
        bool head = i + 1 == n;
        bool is_current = rc == OI_OK && current && strcmp(current, rev->id) == 0;
        if (list)
            json_array_append_new(list, revision_json(rev, head, is_current));
        else
            print_revision(rev, head, is_current);
    }
    int exit_code = list ? cli_json_print(list) : CLI_EXIT_OK;
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, "the revisions above are the ones this tool knows");
    return exit_code;
}

/* ---- maintain --------------------------------------------------------- */

static int parse_ahead(const cli_args *a, int *out)
{
    const char *text = cli_value(a, "--ahead");
    char *end;
    if (!text)
        return CLI_EXIT_OK;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || n > 1000)
        return cli_fail(CLI_EXIT_INVALID, NULL, "--ahead '%s' is not a whole number from 0 "
                        "to 1000", text);
    *out = (int)n;
    return CLI_EXIT_OK;
}

static int check_maintain(const cli_ctx *ctx, const cli_args *a)
{
    int ahead;
    (void)ctx;
    return parse_ahead(a, &ahead);
}

static int run_maintain(cli_ctx *ctx, const cli_args *a)
{
    oi_maintain_options opts = OI_MAINTAIN_OPTIONS_INIT;
    oi_maintain_report r = OI_MAINTAIN_REPORT_INIT;
    parse_ahead(a, &opts.ahead);
    int rc = oi_metrics_maintain(ctx->store, &opts, &r);
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    if (r.partitioned)
        cli_committed(NULL, "made %llu partitions of agent_metrics and moved %llu rows",
                      (unsigned long long)r.partitions_created, (unsigned long long)r.rows_moved);
    if (ctx->json)
        return cli_json_print(json_pack("{s:b, s:I, s:I}", "partitioned", r.partitioned,
                                        "partitions_created", (json_int_t)r.partitions_created,
                                        "rows_moved", (json_int_t)r.rows_moved));
    if (!r.partitioned)
        printf("Nothing to do: agent_metrics is a plain table on %s\n",
               oi_store_backend(ctx->store));
    else
        printf("Created %llu partition%s of agent_metrics; moved %llu row%s out of the "
               "default partition\n", (unsigned long long)r.partitions_created,
               r.partitions_created == 1 ? "" : "s", (unsigned long long)r.rows_moved,
               r.rows_moved == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

/* ---- backup ------------------------------------------------------------ */

/* The copy and its safety (a snapshot; never a partial file at PATH) are
 * the library's (backup.c); the command says where it went and how big. */
static int run_backup(cli_ctx *ctx, const cli_args *a)
{
    const char *path = a->pos[0];
    oi_backup_options opts = OI_BACKUP_OPTIONS_INIT;
    opts.overwrite = cli_flag(a, "--force");
    int rc = oi_store_backup(ctx->store, path, &opts);
    if (rc == OI_EEXISTS)
        return cli_fail_store(ctx, rc, "pass --force to replace it");
    if (rc == OI_ESCHEMA) /* most likely the empty file a mistyped URL created */
        return cli_fail_store(ctx, rc, "check --database-url or OPTIINFRA_DATABASE_URL");
    if (rc != OI_OK)
        return cli_fail_store(ctx, rc, NULL);
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    cli_committed(NULL, "backed up the database to %s", path);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s, s:I}", "path", path, "bytes", (json_int_t)bytes));
    printf("Backed up the database to %s (%lld bytes)\n", path, bytes);
    return CLI_EXIT_OK;
}

/* ---- declarations ------------------------------------------------------ */

static const cli_option sql_option[] = { { "--sql", false }, { NULL, false } };

static const cli_command db_upgrade = {
    .name = "upgrade", .path = "db upgrade",
    .synopsis = "db upgrade [head|REV] [--sql]",
    .summary = "Apply schema revisions up to head or REV",
    .help =
        "Applies each revision in its own transaction and prints one line per\n"
        "revision applied.  A database already at or past the target is left as is.\n\n"
        "Arguments:\n"
        "  head   the newest revision (default)\n"
        "  REV    a revision id, e.g. 001_core_tables (see `optiinfra db history`)\n\n"
        "Options:\n"
        "  --sql   print the SQL that would run instead of running it\n"
        "  --json  print {\"applied\": [{revision, from, to}], \"current\", \"head\"}\n\n"
        "Examples:\n"
        "  optiinfra db upgrade\n"
        "  optiinfra --database-url postgresql://oi@localhost/optiinfra db upgrade --sql\n",
    .options = sql_option, .min_args = 0, .max_args = 1,
    .check = check_migration_args, .run = run_upgrade,
};

static const cli_command db_downgrade = {
    .name = "downgrade", .path = "db downgrade",
    .synopsis = "db downgrade -1|base|REV [--sql]",
    .summary = "Revert schema revisions down to a target",
    .help =
        "Reverts revisions, newest first, dropping their tables and the data in\n"
        "them.  The target is required.\n\n"
        "Arguments:\n"
        "  -N     N revisions down (-1: the newest one)\n"
        "  base   every revision: an empty schema\n"
        "  REV    down to (and keeping) revision REV\n\n"
        "Options:\n"
        "  --sql   print the SQL that would run instead of running it\n"
        "  --json  print {\"applied\": [{revision, from, to}], \"current\", \"head\"}\n\n"
        "Examples:\n"
        "  optiinfra db downgrade -1\n"
        "  optiinfra db downgrade base --sql\n",
    .options = sql_option, .min_args = 1, .max_args = 1,
    .check = check_migration_args, .run = run_downgrade,
};

static const cli_command db_current = {
    .name = "current", .path = "db current", .synopsis = "db current",
    .summary = "Show the database's schema revision",
    .help =
        "Prints e.g. `002_agent_state_tables (head)`, or `base (no revision applied)`.\n\n"
        "Options:\n"
        "  --json  print {\"current\", \"head\", \"at_head\"}; current is null at base\n",
    .max_args = 0, .run = run_current,
};

static const cli_command db_history = {
    .name = "history", .path = "db history", .synopsis = "db history",
    .summary = "List the schema revisions, oldest first",
    .help =
        "One line per revision: `DOWN -> REV [(head)] [(current)], description`.\n\n"
        "Options:\n"
        "  --json  print [{revision, down_revision, description, head, current}]\n",
    .max_args = 0, .run = run_history,
};

static const cli_option maintain_options[] = { { "--ahead", true }, { NULL, false } };

static const cli_command db_maintain = {
    .name = "maintain", .path = "db maintain", .synopsis = "db maintain [--ahead N]",
    .summary = "Make the partitions of agent_metrics ahead of need",
    .help =
        "On PostgreSQL, where agent_metrics is partitioned by collection_timestamp\n"
        "(a month a partition unless the database says otherwise), makes every\n"
        "missing partition from the oldest metric of the last five years (or now)\n"
        "to N intervals after the current one, and moves into them the rows of\n"
        "their range that sat in the default partition.  One transaction; running\n"
        "it again creates nothing.  Run it daily (cron, a systemd timer): imports\n"
        "make their own partitions, single metrics written between runs never\n"
        "fail (they go to the default partition).  On SQLite agent_metrics is a\n"
        "plain table: it succeeds and says there is nothing to do.\n"
        "See docs/scaling.md for the settings and how to change them.\n\n"
        "Options:\n"
        "  --ahead N  partitions to have after the current one, 0 to 1000\n"
        "             (default: the database's setting, 3 unless changed)\n"
        "  --json     print {\"partitioned\", \"partitions_created\", \"rows_moved\"}\n\n"
        "Exit codes: 0 done (on SQLite too), 3 a bad --ahead, 6 not at head.\n\n"
        "Examples:\n"
        "  optiinfra db maintain\n"
        "  optiinfra db maintain --ahead 12 --json\n",
    .options = maintain_options, .max_args = 0, .needs_head = true,
    .check = check_maintain, .run = run_maintain,
};

static const cli_option backup_options[] = { { "--force", false }, { NULL, false } };

static const cli_command db_backup = {
    .name = "backup", .path = "db backup", .synopsis = "db backup PATH [--force]",
    .summary = "Copy a SQLite database, consistently, while it is in use",
    .help =
        "Writes a copy of the database to PATH: one snapshot of every committed\n"
        "transaction, taken while agents and the service keep writing (SQLite's\n"
        "online backup API).  The copy is written beside PATH as\n"
        "PATH.incomplete-XXXXXX and renamed to PATH only when complete, so PATH\n"
        "never holds a partial copy; the file is readable by its owner only (it\n"
        "holds what the database holds).  It is a database like the original:\n"
        "`optiinfra --database-url sqlite:PATH validate` checks it.\n\n"
        "PostgreSQL databases are backed up with the server's tools, pg_dump or\n"
        "pg_basebackup (docs/scaling.md): the command refuses them (exit 3).\n\n"
        "Arguments:\n"
        "  PATH     the file to write; its directory must exist\n\n"
        "Options:\n"
        "  --force  replace a file already at PATH (once the copy is complete)\n"
        "  --json   print {\"path\", \"bytes\"}\n\n"
        "Exit codes: 0 backed up, 3 PATH unusable (its directory missing or not\n"
        "writable, PATH a directory or the database's own file) or a PostgreSQL\n"
        "database, 6 the database has no schema revision (nothing to back up: a\n"
        "mistyped --database-url), 7 a file already at PATH (without --force) or\n"
        "the database locked, 8 the copy failed (a full disk).  On any failure\n"
        "nothing is left behind.\n\n"
        "Examples:\n"
        "  optiinfra db backup /var/backups/optiinfra-$(date +%F).db\n"
        "  optiinfra --database-url sqlite:/srv/oi.db db backup /srv/oi.db.bak --force\n",
    .options = backup_options, .min_args = 1, .max_args = 1, .run = run_backup,
};

static const cli_command *const db_subcommands[] = {
    &db_upgrade, &db_downgrade, &db_current, &db_history, &db_maintain, &db_backup, NULL
};

const cli_command cli_cmd_db = {
    .name = "db", .path = "db", .synopsis = "db COMMAND",
    .summary = "Manage the schema revisions",
    .subcommands = db_subcommands,
};
