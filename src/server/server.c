/*
 * server.c - starting and stopping the daemon, and the access log.
 *
 * libmicrohttpd runs in its epoll thread-pool mode: `threads` workers each
 * poll their own share of the connections, so thousands of idle keep-alive
 * connections cost a file descriptor each, not a thread.  The main thread
 * only waits for SIGTERM or SIGINT (blocked everywhere else, so no worker
 * is ever interrupted inside a database call); then it stops accepting
 * (the accept policy refuses every new connection), answers the open
 * watches (watch.c: each is a request in flight until answered, and may
 * wait minutes), waits for the requests in flight to finish, and stops
 * the daemon, which closes the listening socket and joins the workers, and
 * with them closes their stores.
 *
 * Not MHD_quiesce_daemon: in libmicrohttpd 0.9.75's epoll thread pool it
 * races with the workers.  For each worker it sets was_quiesced, then
 * removes the listening socket from that worker's epoll set itself
 * (daemon.c:5521-5531), while a worker whose event loop comes round in
 * between sees the flag and removes the socket too (MHD_epoll,
 * daemon.c:4931-4977).  Whichever comes second gets ENOENT, which
 * MHD_quiesce_daemon, and one of the two places in MHD_epoll, answer with
 * MHD_PANIC: "Fatal error in GNU libmicrohttpd daemon.c:5531: Failed to
 * remove listen FD from epoll set", abort, exit status 134.  With the
 * accept policy only the daemon touches the socket: its workers while
 * they run, then MHD_stop_daemon, which closes it once it has joined them.
 *
 * With no token in the store the service answers loopback callers only,
 * so it refuses to listen on any other address until a token exists
 * (auth.c applies the same rule to each request, in case the last token
 * is revoked while it runs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "server.h"
#include "cli/cli.h"

/* ---- the listening address ------------------------------------------------ */

/* "HOST:PORT" or "[V6]:PORT" into a socket address; false with a message. */
static bool parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (!colon || hlen == 0 || !colon[1]) {
        cli_fail(CLI_EXIT_USAGE, "give --listen as ADDRESS:PORT, e.g. 127.0.0.1:8080",
                 "--listen '%s' is not ADDRESS:PORT", listen);
        return false;
    }
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']')
        h++, hlen -= 2;
    if (hlen >= sizeof host) {
        cli_fail(CLI_EXIT_USAGE, NULL, "--listen address is too long");
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+') {
        cli_fail(CLI_EXIT_USAGE, "a port is 0 to 65535 (0: any free port)",
                 "--listen port '%s' is not a port number", colon + 1);
        return false;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || !res) {
        cli_fail(CLI_EXIT_USAGE, "give an IP address or a resolvable host name",
                 "--listen address '%s': %s", host, gai_strerror(rc));
        return false;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static bool is_loopback(const struct sockaddr_storage *addr)
{
    return srv_is_loopback((const struct sockaddr *)addr);
}

static unsigned bound_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/* ---- start ---------------------------------------------------------------- */

/*
 * Before listening, on the store the CLI opened (so a mistyped URL fails
 * now, not at the first request): an address off this host needs a token
 * to exist.  A schema behind the head is only a warning: the
 * service answers 503 until `optiinfra db upgrade` has run, so that it can
 * be deployed before its migration.
 */
static int check_database(oi_store *store, const char *listen, bool loopback)
{
    int rc = oi_migrate_check_head(store);
    if (rc == OI_ESCHEMA) {
        fprintf(stderr, "optiinfra serve: warning: %s; answering 503 until `optiinfra db "
                "upgrade` has run\n", oi_errmsg(store));
        return CLI_EXIT_OK;
    }
    if (rc != OI_OK)
        return cli_fail(cli_exit_code(rc), NULL, "%s", oi_errmsg(store));
    bool any = false;
    if (!loopback && (rc = oi_token_any(store, &any)) != OI_OK)
        return cli_fail(cli_exit_code(rc), NULL, "%s", oi_errmsg(store));
    if (!loopback && !any)
        return cli_fail(CLI_EXIT_USAGE,
                        "create one with `optiinfra token create --admin`, or listen on "
                        "127.0.0.1",
                        "refusing to listen on %s: no API token exists, so every caller "
                        "would be an administrator", listen);
    return CLI_EXIT_OK;
}

/* Set when a stop signal arrives: from then on new connections are refused
 * (closed as soon as accepted), so that the requests in flight can drain. */
static atomic_bool stopping;

static enum MHD_Result accept_unless_stopping(void *cls, const struct sockaddr *addr,
                                              socklen_t len)
{
    (void)cls, (void)addr, (void)len;
    return atomic_load(&stopping) ? MHD_NO : MHD_YES;
}

static struct MHD_Daemon *start_daemon(const srv_config *cfg, struct sockaddr_storage *addr)
{
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, 0, accept_unless_stopping, NULL, srv_access_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_s,
        MHD_OPTION_URI_LOG_CALLBACK, srv_uri_received, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, srv_completed_handler, NULL,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
}

/* ---- stop ----------------------------------------------------------------- */

static int wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

static void drain(void)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < SRV_DRAIN_TIMEOUT_S * 100 && srv_requests_in_flight() > 0; i++)
        nanosleep(&tick, NULL);
}

static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit it */
    signal(SIGPIPE, SIG_IGN);
}

int srv_run(const srv_config *cfg, oi_store *store)
{
    struct sockaddr_storage addr;
    socklen_t len;
    if (!parse_listen(cfg->listen, &addr, &len))
        return CLI_EXIT_USAGE;
    const char *unloadable = srv_mhd_load();
    if (unloadable)
        return cli_fail(CLI_EXIT_OTHER, NULL, "%s", unloadable);
    int exit_code = check_database(store, cfg->listen, is_loopback(&addr));
    if (exit_code != CLI_EXIT_OK)
        return exit_code;
    srv_request_setup(cfg->max_body, !cfg->quiet);
    srv_worker_setup(cfg->store_options);
    srv_stats_setup();
    srv_beats_setup(cfg->heartbeat_write_interval);
    block_signals();
    int err = srv_writer_start(store);
    if (err != 0)
        return cli_fail(CLI_EXIT_OTHER, NULL, "cannot start the writer thread: %s",
                        strerror(err));
    if ((err = srv_watch_start()) != 0) {
        srv_writer_stop();
        return cli_fail(CLI_EXIT_OTHER, NULL, "cannot start the watch thread: %s",
                        strerror(err));
    }
    struct MHD_Daemon *daemon = start_daemon(cfg, &addr);
    if (!daemon) {
        int listen_errno = errno; /* before the stops, which may change it */
        srv_watch_stop();
        srv_writer_stop();
        return cli_fail(CLI_EXIT_OTHER, "is the port in use? try another --listen",
                        "cannot listen on %s: %s", cfg->listen, strerror(listen_errno));
    }
    fprintf(stderr, "optiinfra serve: listening on %s port %u, %u threads, database %s\n",
            cfg->listen, bound_port(daemon), cfg->threads, oi_store_url(store));
    fflush(stderr);
    int sig = wait_for_signal();
    fprintf(stderr, "optiinfra serve: %s: finishing the requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&stopping, true);
    srv_watch_stop(); /* before the drain: an open watch is a request in flight */
    drain();
    srv_writer_stop(); /* before the daemon: it resumes connections */
    MHD_stop_daemon(daemon);
    srv_beats_free();
    fprintf(stderr, "optiinfra serve: stopped\n");
    return CLI_EXIT_OK;
}
