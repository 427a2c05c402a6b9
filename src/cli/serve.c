/*
 * serve.c - `optiinfra serve`: the store as an HTTP/JSON service.
 *
 *   serve [--listen ADDR:PORT] [--threads N] [--max-body BYTES]
 *         [--max-connections N] [--timeout DURATION] [--quiet]
 *         [--metrics-series-cap N]
 *   serve --routes
 *
 * This file only reads the options into a srv_config; the service itself
 * is src/server/ (server.h says how it is built), and docs/service.md
 * describes its routes, tokens and operation.  --routes prints the route
 * tables instead of serving them, so that a test (or a reader) can hold
 * docs/openapi.json against the routes the program really has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli.h"
#include "server/server.h"

/* A whole number of at least 1 (and at most max) into *out; else exit 2. */
static int count_option(const cli_ctx *ctx, const cli_args *a, const char *name,
                        unsigned long max, unsigned long *out)
{
    const char *text = cli_value(a, name);
    if (!text)
        return CLI_EXIT_OK;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || v < 1 || v > max)
        return cli_fail_usage(ctx->cmd, "%s '%s' must be a whole number from 1 to %lu", name,
                              text, max);
    *out = v;
    return CLI_EXIT_OK;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2 : n > 64 ? 64 : (unsigned)n;
}

static int read_config(const cli_ctx *ctx, const cli_args *a, srv_config *cfg)
{
    unsigned long threads = default_threads(), max_body = SRV_DEFAULT_MAX_BODY,
                  max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
    int64_t timeout = (int64_t)SRV_DEFAULT_TIMEOUT_S * 1000000;
    int exit_code;
    if ((exit_code = count_option(ctx, a, "--threads", 256, &threads)) ||
        (exit_code = count_option(ctx, a, "--max-body", 1ul << 30, &max_body)) ||
        (exit_code = count_option(ctx, a, "--max-connections", 100000, &max_connections)) ||
        (exit_code = cli_duration_option(ctx, a, "--timeout", &timeout)))
        return exit_code;
    if (cli_value(a, "--timeout") && (timeout < 1000000 || timeout > 86400 * INT64_C(1000000)))
        return cli_fail_usage(ctx->cmd, "--timeout must be from 1s to 24h");
    int64_t beat_interval = 0;
    if ((exit_code = cli_duration_option(ctx, a, "--heartbeat-write-interval", &beat_interval)))
        return exit_code;
    if (beat_interval >= 30 * INT64_C(1000000))
        return cli_fail_usage(ctx->cmd, "--heartbeat-write-interval must be under 30s: the "
                                        "stored heartbeat lags by up to that much, and others "
                                        "judge an agent stale after 90s by default");
    const char *listen = cli_value(a, "--listen");
    *cfg = (srv_config){
        .listen = listen ? listen : SRV_DEFAULT_LISTEN,
        .store_options = &ctx->open,
        .max_body = max_body,
        .threads = (unsigned)threads,
        .max_connections = (unsigned)max_connections,
        .timeout_s = (unsigned)(timeout / 1000000),
        .quiet = cli_flag(a, "--quiet"),
        .heartbeat_write_interval = beat_interval,
    };
    return CLI_EXIT_OK;
}

/* --metrics-series-cap N: set before the daemon starts (routes_prometheus.c). */
static int read_series_cap(const cli_ctx *ctx, const cli_args *a, size_t *cap)
{
    unsigned long n = SRV_DEFAULT_METRIC_SERIES_CAP;
    int exit_code = count_option(ctx, a, "--metrics-series-cap", 100000000, &n);
    *cap = n;
    return exit_code;
}

static int check_serve(const cli_ctx *ctx, const cli_args *a)
{
    srv_config cfg;
    size_t cap;
    int exit_code = read_config(ctx, a, &cfg);
    return exit_code ? exit_code : read_series_cap(ctx, a, &cap);
}

static void print_route(const srv_route *route, void *out)
{
    fprintf(out, "%s %s\n", route->method, route->pattern);
}

static int run_serve(cli_ctx *ctx, const cli_args *a)
{
    if (cli_flag(a, "--routes")) {
        srv_route_each(print_route, stdout);
        return CLI_EXIT_OK;
    }
    srv_config cfg;
    size_t cap;
    int exit_code = read_config(ctx, a, &cfg);
    if (!exit_code)
        exit_code = read_series_cap(ctx, a, &cap);
    if (exit_code)
        return exit_code;
    srv_prometheus_setup(cap);
    return srv_run(&cfg, ctx->store);
}

static const cli_option serve_options[] = {
    {"--listen", true}, {"--threads", true}, {"--max-body", true},
    {"--max-connections", true}, {"--timeout", true}, {"--quiet", false},
    {"--metrics-series-cap", true}, {"--heartbeat-write-interval", true},
    {"--routes", false}, {NULL, false}
};

const cli_command cli_cmd_serve = {
    .name = "serve",
    .path = "serve",
    .synopsis = "serve [--listen ADDR:PORT]",
    .summary = "Serve the store over HTTP/JSON until SIGTERM or SIGINT",
    .help =
        "Options:\n"
        "  --listen ADDR:PORT     where to listen (default " SRV_DEFAULT_LISTEN "; port 0:\n"
        "                         any free port, printed on stderr). An address off this\n"
        "                         host needs an API token to exist (`optiinfra token create`)\n"
        "  --threads N            worker threads, each with its own database connection\n"
        "                         (default: the number of CPUs, at least 2)\n"
        "  --max-body BYTES       the largest request body (default 10485760, 10 MiB): 413\n"
        "  --max-connections N    connections open at once (default 1024)\n"
        "  --timeout DURATION     close a connection idle this long (default 60s)\n"
        "  --quiet                no access log (one line per request on stderr)\n"
        "  --metrics-series-cap N\n"
        "                         the most agent-metric series one scrape of /metrics\n"
        "                         exports (default 10000); the others are counted in\n"
        "                         optiinfra_agent_metric_series_dropped_total\n"
        "  --heartbeat-write-interval D\n"
        "                         write a heartbeat with nothing new (same status, no\n"
        "                         metadata) only once per D (under 30s); the others are\n"
        "                         answered from memory and shown in /metrics (default:\n"
        "                         every beat is written; docs/coordination.md)\n"
        "  --routes               print every route the server answers, one METHOD PATTERN\n"
        "                         a line, and exit without listening ({name}: one path\n"
        "                         segment; {name...}: the rest of the path, slashes and\n"
        "                         all); docs/openapi.json describes each\n"
        "\n"
        "The database is --database-url's, as for every command. The service answers\n"
        "503 until the schema is at head. SIGTERM or SIGINT: stop accepting, finish the\n"
        "requests in flight, exit 0. Routes, tokens and operation: docs/service.md;\n"
        "the routes' contract, OpenAPI 3: docs/openapi.json, served at GET /openapi.json.\n",
    .options = serve_options,
    .min_args = 0,
    .max_args = 0,
    .check = check_serve,
    .run = run_serve,
};
