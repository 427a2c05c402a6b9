/*
 * fuzz_http.c - the service's requests: a libmicrohttpd daemon with the
 * service's own handlers (request.c's srv_access_handler: routing, the body
 * reader and query-argument checks of body.c, every route's conversion of
 * a JSON body into records), on a seeded SQLite file, fed one request per
 * input over a socket pair.  No port is opened; the daemon runs in this
 * thread (external polling), so the service's worker store is this thread's
 * and a request that writes runs inline (no writer thread, no watch hub: a
 * watch answers at once).  The caller is on the loopback and no token
 * exists, so every route is open to it, as to an administrator.
 *
 * The input is a request in a loose form that keeps the fuzzer on the
 * service's code rather than on HTTP framing:
 *
 *   METHOD TARGET            e.g. "POST /v1/agents?x=1"
 *   Header: value            any number, up to an empty line
 *   <body>                   the rest, sent with its Content-Length
 *
 * sent as HTTP/1.0 with Connection: close (the answer ends when the
 * connection closes, whatever Connection header the input adds; no chunks),
 * with Content-Type: application/json unless a header names one.
 *
 * Invariants (fuzz_http in fuzz_common.c): every request is answered in
 * time (5 s on the monotonic clock); never with a 5xx (the database is
 * up: a 500 is a check that let through what the database refused, or a
 * bug); an answer the service labels JSON parses as JSON, and an error's
 * is {"error": {"code", "message"}} with a one-line message (but the Go
 * registry's 404 on its routes, {"error": "Agent not found"}, which its
 * clients read: routes_compat.c).  After a request that is not a GET the
 * database is restored from its pristine copy (SQLite's backup API), so
 * every input meets the same rows.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "server/server.h"
#include "fuzz.h"

#define FUZZ_HTTP_MAX_BODY (1024 * 1024)

static struct MHD_Daemon *fuzz_daemon;
static char db_dir[64], db_path[256], db_url[300];
static sqlite3 *pristine; /* the seeded database, in memory */

/* ---- the database ----------------------------------------------------------- */

static void copy_database(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    fuzz_assert(b != NULL);
    fuzz_assert(sqlite3_backup_step(b, -1) == SQLITE_DONE);
    fuzz_assert(sqlite3_backup_finish(b) == SQLITE_OK);
}

#define DB_DIR_PREFIX "optiinfra-fuzz-http."

/* A database folder and its files (the database, its WAL and shared memory). */
static void remove_folder(const char *dir)
{
    static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm"};
    char path[300];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void remove_database(void)
{
    remove_folder(db_dir);
}

/* A crash ends the fuzzer without its atexit() handlers: the folders of
 * fuzzers that are gone (named by their process id) are removed by the
 * next one. */
static void remove_stale_folders(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, DB_DIR_PREFIX, strlen(DB_DIR_PREFIX)) != 0)
            continue;
        long pid = strtol(e->d_name + strlen(DB_DIR_PREFIX), NULL, 10);
        char dir[300];
        snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            remove_folder(dir);
    }
    if (d)
        closedir(d);
}

/* In memory-backed /dev/shm when there is one: the restores after each
 * write then cost no disk flush. */
static void prepare_database(void)
{
    const char *parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    remove_stale_folders(parent);
    snprintf(db_dir, sizeof db_dir, "%s/" DB_DIR_PREFIX "%ld", parent, (long)getpid());
    remove_folder(db_dir); /* a stale one of a process that had this id */
    fuzz_assert(mkdir(db_dir, 0700) == 0);
    atexit(remove_database);
    snprintf(db_path, sizeof db_path, "%s/fuzz.db", db_dir);
    snprintf(db_url, sizeof db_url, "sqlite:%s", db_path);
    oi_store *store;
    fuzz_assert(oi_store_open(&store, db_url) == OI_OK);
    fuzz_assert(oi_migrate_upgrade(store, "head", NULL, NULL, NULL) == OI_OK);
    fuzz_assert(oi_seed_core(store, NULL) == OI_OK && oi_seed_state(store, NULL) == OI_OK);
    oi_store_close(store);
    sqlite3 *file;
    fuzz_assert(sqlite3_open(db_path, &file) == SQLITE_OK);
    fuzz_assert(sqlite3_open(":memory:", &pristine) == SQLITE_OK);
    copy_database(pristine, file);
    sqlite3_close(file);
}

/* The copy goes to the WAL (the service's store keeps the file in WAL
 * mode), and a backup's commit runs no automatic checkpoint, which only a
 * statement's commit does: without this one the WAL grew by the whole
 * database at each restore, to 600 MB of /dev/shm (memory) in 20 s.  A
 * truncating checkpoint waits for readers: none, since the service's store
 * holds no read transaction between requests (else it would read stale
 * rows), which this checks too. */
static void restore_database(void)
{
    sqlite3 *file;
    fuzz_assert(sqlite3_open(db_path, &file) == SQLITE_OK);
    sqlite3_busy_timeout(file, 5000);
    copy_database(file, pristine);
    fuzz_assert(sqlite3_wal_checkpoint_v2(file, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
                SQLITE_OK);
    sqlite3_close(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    prepare_database();
    static oi_store_options store_options = OI_STORE_OPTIONS_INIT;
    store_options.url = db_url;
    srv_request_setup(FUZZ_HTTP_MAX_BODY, false);
    srv_worker_setup(&store_options);
    srv_stats_setup();
    srv_beats_setup(0);
    fuzz_assert(srv_mhd_load() == NULL);
    fuzz_daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME, 0,
                                   NULL, NULL, srv_access_handler, NULL,
                                   MHD_OPTION_URI_LOG_CALLBACK, srv_uri_received, NULL,
                                   MHD_OPTION_NOTIFY_COMPLETED, srv_completed_handler, NULL,
                                   MHD_OPTION_END);
    fuzz_assert(fuzz_daemon != NULL);
    return 0;
}

/* ---- one request ---------------------------------------------------------------- */

static void pump(void)
{
    MHD_run_wait(fuzz_daemon, 0);
}

/* A socket pair whose one end the daemon serves, as a loopback caller's. */
static int connect_daemon(void)
{
    int sv[2];
    fuzz_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = htons(40000),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fuzz_assert(MHD_add_connection(fuzz_daemon, sv[1], (struct sockaddr *)&loopback,
                                   sizeof loopback) == MHD_YES);
    return sv[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = connect_daemon();
    bool writes = fuzz_http(fd, pump, data, size, NULL);
    MHD_run_wait(fuzz_daemon, 0); /* let it forget the connection */
    if (writes)
        restore_database();
    return 0;
}
