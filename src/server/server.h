/*
 * server.h - what the files of `optiinfra serve`, the HTTP/JSON service,
 * share.
 *
 * The service is libmicrohttpd in its epoll thread-pool mode: a few worker
 * threads, each serving many connections, each with a store connection of
 * its own (worker.c), so that a request never waits for another thread's
 * database round trip and no store handle is ever shared between threads.
 *
 * A request goes through request.c: its body is gathered up to the size
 * limit, the route is found in the route tables (router.c), the caller's
 * token is checked against the route's access (auth.c), and the route's
 * handler runs on the worker's store (on SQLite, a request that writes
 * runs on the writer's, which commits the requests that arrive together
 * at once: writer.c).  A handler answers through reply.c,
 * always: a JSON value, an error in the one shape every error has
 * ({"error": {"code", "message"}}), or a stream that reads a library
 * iterator row by row as the client takes the bytes, in constant memory.
 * server.c starts and stops the daemon and writes the access log;
 * stats.c counts requests for /metrics.  A watch (GET /v1/watch) with
 * nothing to answer yet waits in watch.c's hub, its connection suspended,
 * so an open watch costs no thread.
 *
 * Routes are grouped by what they serve, one file each (routes_*.c); each
 * file declares a NULL-terminated table that router.c lists.  docs/service.md
 * describes the routes; docs/openapi.json is their contract.
 */
#ifndef OPTIINFRA_SERVER_H
#define OPTIINFRA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "server/mhd_load.h"
#include "optiinfra/optiinfra.h"

/* ---- configuration (server.c) ------------------------------------------ */

#define SRV_DEFAULT_LISTEN "127.0.0.1:8080"
#define SRV_DEFAULT_MAX_BODY (10u * 1024 * 1024)
#define SRV_DEFAULT_TIMEOUT_S 60u
#define SRV_DEFAULT_MAX_CONNECTIONS 1024u
/* How long a stop waits for requests in flight before closing anyway. */
#define SRV_DRAIN_TIMEOUT_S 30

typedef struct srv_config {
    const char *listen;          /* "ADDR:PORT", "[v6]:PORT"; port 0: any free port */
    const oi_store_options *store_options; /* how each worker opens its store: the
                                              database, a read replica (GET routes) */
    size_t max_body;             /* bytes; larger bodies get 413 */
    unsigned threads;            /* worker threads, each with its own store */
    unsigned max_connections;
    unsigned timeout_s;          /* an idle connection is closed after this */
    bool quiet;                  /* no access log */
    int64_t heartbeat_write_interval; /* microseconds; 0: write every beat (beats.c) */
} srv_config;

/*
 * Run the service until SIGTERM or SIGINT: stop accepting, let the
 * requests in flight finish, close the workers' stores, return 0.  store
 * is the CLI's, open as cfg->store_options says, for the checks before the
 * start.  A start that fails (a bad address, a port in use, an address off
 * this host while no token exists) prints one line on stderr and returns
 * the CLI's exit code for it.
 */
int srv_run(const srv_config *cfg, oi_store *store);

/* ---- the daemon's callbacks (request.c) ----------------------------------- */

/* Set once before the daemon starts. */
void srv_request_setup(size_t max_body, bool access_log);
/* libmicrohttpd's MHD_AccessHandlerCallback and MHD_RequestCompletedCallback. */
enum MHD_Result srv_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **req_cls);
/* libmicrohttpd's URI log callback (MHD_OPTION_URI_LOG_CALLBACK): called
 * with the URL as sent, before it is decoded; makes the request's state,
 * which the access handler then receives as *req_cls. */
void *srv_uri_received(void *cls, const char *uri, struct MHD_Connection *conn);
void srv_completed_handler(void *cls, struct MHD_Connection *conn, void **req_cls,
                           enum MHD_RequestTerminationCode toe);
/* Requests begun and not yet completed. */
int srv_requests_in_flight(void);
/* Microseconds of a monotonic clock. */
int64_t srv_monotonic_us(void);

/* ---- the worker's store (worker.c) --------------------------------------- */

/*
 * The calling worker thread's store, opened on first use and checked to be
 * at the schema head; NULL when the database cannot be reached or is not at
 * head, with *code and the message in msg (msgsize bytes) saying why.  A
 * store whose connection failed is reopened on the next request, once no
 * stream still reads from it.
 */
oi_store *srv_worker_store(int *code, char *msg, size_t msgsize);
/* Tell the worker its store failed with code: a lost connection is reopened. */
void srv_worker_store_failed(int code);
/* A stream started or ended reading from the worker's store. */
void srv_worker_stream_begin(void);
void srv_worker_stream_end(void);
/* Set once at start: how every worker opens its store (borrowed). */
void srv_worker_setup(const oi_store_options *opts);

/* ---- authentication (auth.c) -------------------------------------------- */

struct sockaddr;
/* Whether addr is on this host: 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool srv_is_loopback(const struct sockaddr *addr);

/* What a route requires of the caller. */
typedef enum srv_access {
    SRV_OPEN,        /* no token needed: /healthz */
    SRV_READ,        /* any token */
    SRV_AGENT_WRITE, /* admin, or an agent token acting on its own agent */
    SRV_ADMIN        /* admin only */
} srv_access;

typedef enum srv_role { SRV_ROLE_NONE, SRV_ROLE_READ_ONLY, SRV_ROLE_AGENT, SRV_ROLE_ADMIN } srv_role;

typedef struct srv_auth {
    srv_role role;
    oi_uuid agent_id;   /* the agent of an agent token, else "" */
    bool open_loopback; /* no token exists: a loopback caller is admin */
} srv_auth;

/* ---- a request ---------------------------------------------------------- */

#define SRV_MAX_PARAMS 4

typedef struct srv_request srv_request;
typedef struct srv_route srv_route;

struct srv_request {
    struct MHD_Connection *conn;
    char *method;
    char *path;                   /* without the query string */
    bool encoded_nul;             /* the URL as sent held %00 (srv_uri_received) */
    const srv_route *route;       /* NULL until matched */
    char *params[SRV_MAX_PARAMS]; /* the route's {placeholders}, URL-decoded */
    size_t nparams;

    char *body;                   /* NUL-terminated; NULL when there was none */
    size_t body_len, body_cap;
    bool body_too_large;

    oi_store *store;              /* the worker's, for this request */
    srv_auth auth;

    const char *allow;            /* a 405's Allow header: the path's methods */
    bool retry_soon;              /* a 503 busy: Retry-After: 1 */

    int64_t started;              /* monotonic microseconds */
    unsigned status;              /* the status answered */
    uint64_t bytes;               /* body bytes sent */
    bool answered;

    void *prepared;               /* the route's prepare left it for the handler */
    void (*prepared_free)(void *);

    bool deferred;                /* run by the writer: keep the answer */
    bool in_group_tx;             /* in a savepoint of the writer's transaction */
    struct MHD_Response *pending; /* the kept answer, sent once resumed */
    srv_request *next_write;      /* the writer's queue */
};

/* The request's parts (body.c): the decoded value of query argument
 * `name`, NULL if absent. */
const char *srv_query(const srv_request *req, const char *name);
/* The value of request header `name`, NULL if absent. */
const char *srv_header(const srv_request *req, const char *name);
/* The route parameter at index i (0 = first placeholder). */
const char *srv_param(const srv_request *req, size_t i);

/*
 * Authenticate the caller of a routed request (auth.c) against its route's
 * access: false, with 401 or 403 answered, when it may not go on.  Sets
 * req->auth.
 */
bool srv_authenticate(srv_request *req);

/* ---- routes (router.c and routes_*.c) ----------------------------------- */

/* A handler answers through reply.c and returns its result. */
typedef enum MHD_Result (*srv_handler)(srv_request *req);

struct srv_route {
    const char *method;   /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern;  /* "/v1/agents/{agent}/heartbeat": {x} matches one segment;
                             also the route's label in /metrics */
    srv_handler handler;
    srv_access access;
    /* Optional, for a route that writes: the work that only reads (parsing
     * a batch), run first on the worker's own thread and store, so that the
     * writer (writer.c) has only the writing to do.  It answers on failure,
     * or leaves what it made in req->prepared for the handler. */
    srv_handler prepare;
};

/* The tables, one per routes_*.c file, NULL-pattern-terminated. */
extern const srv_route srv_routes_service[];       /* /healthz, /readyz, /openapi.json */
extern const srv_route srv_routes_agents[];        /* agents, heartbeats, transitions */
extern const srv_route srv_routes_locks[];         /* /v1/locks */
extern const srv_route srv_routes_configs[];       /* /v1/agents/{agent}/configs */
extern const srv_route srv_routes_capabilities[];  /* capabilities, who can do X */
extern const srv_route srv_routes_orchestration[]; /* events, recommendations, approvals */
extern const srv_route srv_routes_metrics[];       /* /v1/metrics */
extern const srv_route srv_routes_prometheus[];    /* /metrics */
extern const srv_route srv_routes_compat[];        /* the Go orchestrator's /agents routes */
extern const srv_route srv_routes_python[];        /* the Python agents' /api/v1/agents */
extern const srv_route srv_routes_watch[];         /* /v1/watch */
extern const srv_route srv_routes_console[];       /* /, /ui/{file...}: the web console */

/*
 * Find the route of method and path: *out the route and the request's
 * params filled; SRV_ROUTE_NO_PATH when no route has the path,
 * SRV_ROUTE_NO_METHOD when some route has it with another method (the
 * allowed methods in allow, a comma-separated list).
 */
enum { SRV_ROUTE_FOUND, SRV_ROUTE_NO_PATH, SRV_ROUTE_NO_METHOD };
int srv_route_find(srv_request *req, char *allow, size_t allowsize);
/* Call fn for every route (the OpenAPI check and /metrics walk them). */
void srv_route_each(void (*fn)(const srv_route *route, void *arg), void *arg);

/* ---- answers (reply.c) -------------------------------------------------- */

/* Answer status with text (malloc'd, which it takes) of content_type. */
enum MHD_Result srv_reply_text(srv_request *req, unsigned status, const char *content_type,
                               char *text, size_t len);
/* Answer status with len bytes of data that live as long as the program
 * (never copied nor freed), with headers: NULL-terminated name, value
 * pairs, Content-Type and Cache-Control among them (the console's files). */
enum MHD_Result srv_reply_static(srv_request *req, unsigned status, const char *const *headers,
                                 const void *data, size_t len);
/* Answer status with value (a reference it takes). */
enum MHD_Result srv_reply_json(srv_request *req, unsigned status, json_t *value);
/* Answer with {"error": {"code": code, "message": ...}}. */
enum MHD_Result srv_reply_error(srv_request *req, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answer the failure rc of a library call on req->store (its message). */
enum MHD_Result srv_reply_store_error(srv_request *req, int rc);
/* The HTTP status and error code of a library failure. */
unsigned srv_status_of(int rc, const char **code);
/* 503 for a store that could not be had (srv_worker_store's code and msg). */
enum MHD_Result srv_reply_unavailable(srv_request *req, int rc, const char *msg);
/* A request the writer ran: send the answer kept for it, or drop it (the
 * connection died); replace a kept answer with the failure rc. */
enum MHD_Result srv_reply_send_pending(srv_request *req);
void srv_reply_drop_pending(srv_request *req);
void srv_reply_replace_error(srv_request *req, int rc);

/* ---- group commit on SQLite (writer.c) ------------------------------------ */

/* Start the writer thread if store is SQLite's (else nothing to do): 0, or
 * the error number of a thread that could not start. */
int srv_writer_start(oi_store *store);
/* Run what is waiting, then stop the writer; later writes run in place. */
void srv_writer_stop(void);
/* Hand a whole, authenticated request that writes to the writer, its
 * connection suspended until answered: false (nothing done) when there is
 * no writer, and the caller runs it itself. */
bool srv_writer_submit(srv_request *req);
/*
 * A handler's transaction, to make several library calls one answer: in
 * the writer's group the request already has a savepoint of its own, kept
 * or undone by its answer (an error status undoes it), so these do
 * nothing there; elsewhere they are oi_begin(), oi_commit() and
 * oi_rollback() on req->store.
 */
int srv_tx_begin(srv_request *req);
int srv_tx_commit(srv_request *req);
void srv_tx_rollback(srv_request *req);

/*
 * A JSON list streamed from an iterator: prefix, then next_row's values
 * separated by commas, then the text suffix() returns (NULL: "]}" ), each
 * value written as the client reads.  next_row returns OI_OK with *row set,
 * OI_ITEROVER at the end, or a failure (the response is then cut short:
 * a client sees a truncated chunked body, never a valid-looking list).
 * The stream owns state and frees it with free_state when done.
 */
typedef struct srv_stream_ops {
    int (*next_row)(void *state, json_t **row);
    char *(*suffix)(void *state, uint64_t rows); /* malloc'd text, or NULL */
    void (*free_state)(void *state);
} srv_stream_ops;
enum MHD_Result srv_reply_stream(srv_request *req, unsigned status, const char *prefix,
                     const srv_stream_ops *ops, void *state);

/* ---- bodies and arguments (body.c) -------------------------------------- */

/*
 * The body parsed as JSON into *out (a new reference): 415 unless the
 * content type is JSON, 400 with the line and column when it does not
 * parse, 422 when it is not of the kind ('o' an object, 'a' an array).
 * An empty body gives an empty object when empty_ok, else 400.  Returns
 * true when *out is set; false when the error is answered.
 */
bool srv_body_json(srv_request *req, char kind, bool empty_ok, json_t **out);
/*
 * Member `name` of obj as a string into *out (NULL when absent or null):
 * false, with 422 answered, when it is present and not a string.
 */
bool srv_member_string(srv_request *req, json_t *obj, const char *name, const char **out);
/* A JSON value as text for a column that stores JSON (NULL for absent/null). */
char *srv_json_text(json_t *value);
/* Query argument `name` as a duration (oi_duration_parse); 0 when absent.
 * False, with 422 answered, when it does not parse. */
bool srv_query_duration(srv_request *req, const char *name, int64_t *micros);
/* Query argument `name` as a boolean (true/false/1/0); false when absent. */
bool srv_query_bool(srv_request *req, const char *name, bool *out);
/* Every value of query argument `name` (?name=a&name=b), in the order
 * given, into a new array (free() it; the texts are the request's, valid
 * until it completes); *n their count, NULL when 0. */
const char **srv_query_all(const srv_request *req, const char *name, size_t *n);
/* Whether every query argument is one of the NULL-terminated `known`: a
 * misspelt filter must not silently widen a list.  False, with 422
 * answered naming the first unknown one and the known ones. */
bool srv_query_known(srv_request *req, const char *const *known);
/* Whether the request's Content-Type is the media type `type`
 * ("application/x-ndjson"), its parameters aside, case-insensitively. */
bool srv_content_type_is(const srv_request *req, const char *type);
/* Whether the request's Content-Type is JSON as srv_body_json() requires
 * (application/json or any +json type). */
bool srv_body_is_json(const srv_request *req);

/* The agent named by ref (an id or a unique name) into *out; false, with
 * 404 or 422 answered, when there is none. */
bool srv_agent_lookup(srv_request *req, const char *ref, oi_agent *out);
/* Whether the caller may write agent_id's records: false, with 403
 * answered, for an agent token of another agent. */
bool srv_may_write_agent(srv_request *req, const char *agent_id);

/* Whether the caller may see sensitive configs: false, with 403 answered,
 * unless it is an administrator. */
bool srv_may_show_secrets(srv_request *req);

/* ---- OptiInfra's client dialects (compat.c) ----------------------------- */

/* What both dialects tell an agent: beat every 30 s. */
#define SRV_COMPAT_HEARTBEAT_INTERVAL_S 30
/* agents.status of an agent that unregistered through a dialect: absent to
 * the dialects until it registers again; a client may not report it. */
#define SRV_COMPAT_UNREGISTERED "unregistered"

/* "http://HOST:PORT" (a host with a colon in brackets), malloc'd. */
char *srv_compat_endpoint(const char *host, long port);
/* The host and port of an endpoint "SCHEME://[USER@]HOST[:PORT][/...]" (no
 * port: 80 for http, 443 for https, else 0); host "" and port 0 for an
 * endpoint that is not such a URL (or NULL). */
void srv_compat_host_port(const char *endpoint, char *host, size_t hostsize, long *port);

/* Readers of a dialect's body, each false with 422 answered:
 * member `name` as a string (required: present and non-empty); "port" as
 * an integer 1..65535 (0 when absent and not required); "status" as a
 * string ("" read as NULL; the reserved word refused); "metadata" as an
 * object (borrowed; NULL when absent); "capabilities" as the JSON text of
 * a list of names (malloc'd; NULL when absent), each item a string or,
 * when objects, an object with a "name". */
bool srv_compat_text(srv_request *req, json_t *body, const char *name, bool required,
                     const char **out);
bool srv_compat_port(srv_request *req, json_t *body, bool required, long *port);
bool srv_compat_status(srv_request *req, json_t *body, const char **out);
bool srv_compat_metadata(srv_request *req, json_t *body, json_t **out);
bool srv_compat_capabilities(srv_request *req, json_t *body, bool objects, char **out);

/* The agent with this id into *out; OI_ENOTFOUND also for an id that is not
 * a UUID and for an agent that unregistered. */
int srv_compat_find(oi_store *store, const char *id, oi_agent *out);

/*
 * Register `given` (left unchanged) and record a heartbeat of it, in one
 * transaction; the stored record into *out (OI_AGENT_INIT'd; clear it
 * whatever the result).  given->id, when set, is the agent's own choice:
 * 409 when another agent has it or (type, name) has another id.  The caller
 * must be an admin, or the agent's token when the agent exists.  False
 * when an error is answered.
 */
bool srv_compat_register(srv_request *req, const oi_agent *given, oi_agent *out,
                         bool *created);

/* Work on an agent inside srv_compat_with_agent()'s transaction: OI_OK, or
 * the library failure to answer (everything is then rolled back). */
typedef int (*srv_compat_work)(srv_request *req, const oi_agent *a, void *arg);
typedef enum srv_compat_outcome {
    SRV_COMPAT_DONE,     /* work done and committed: answer the success */
    SRV_COMPAT_NO_AGENT, /* no such agent (srv_compat_find()): answer 404 */
    SRV_COMPAT_ANSWERED  /* an error is answered */
} srv_compat_outcome;
/* In one transaction: find agent id, check that the caller may write it,
 * run work(req, agent, arg), commit. */
srv_compat_outcome srv_compat_with_agent(srv_request *req, const char *id,
                                         srv_compat_work work, void *arg);
/* The work of unregistering: the agent's status becomes SRV_COMPAT_UNREGISTERED. */
int srv_compat_unregister(srv_request *req, const oi_agent *a, void *arg);

/* ---- watches (watch.c) --------------------------------------------------- */

#define SRV_WATCH_DEFAULT_WAIT_S 30
#define SRV_WATCH_MAX_WAIT_S 600
/* The most changes one answer carries; its revision is then the last one's,
 * so the next watch goes on from there. */
#define SRV_WATCH_MAX_CHANGES 1000

/* What GET /v1/watch asked for, its arguments checked (routes_watch.c). */
typedef struct srv_watch_spec {
    int64_t since;        /* the revision the client has seen; -1: the current one */
    int64_t wait;         /* microseconds to wait for a change; 0: answer at once */
    const char *table;    /* NULL: every watched table */
    const char *agent_id; /* a UUID; NULL: every agent */
} srv_watch_spec;

/*
 * Answer a watch: at once with the changes after spec->since that match,
 * if there are any (or when it may not wait), else suspend its connection
 * and hand it to the hub, which answers it when a matching change commits
 * or at its deadline.  Runs on the worker, on req->store.
 */
enum MHD_Result srv_watch(srv_request *req, const srv_watch_spec *spec);
/* Start the hub's thread: 0, or the error number of a thread that could
 * not start (watches are then answered at once). */
int srv_watch_start(void);
/* Answer every open watch now (no change: its deadline came early), stop
 * the hub and answer later watches at once: before the drain of a stop,
 * since a suspended connection stays in flight until answered. */
void srv_watch_stop(void);
/* For /metrics: the watches open now; those a change has answered. */
unsigned long long srv_watch_open(void);
unsigned long long srv_watch_wakeups(void);

/* ---- the web console (routes_console.c) ---------------------------------- */

/* A file of the console, compiled in by scripts/embed-assets.sh. */
typedef struct srv_asset {
    const char *name;         /* served as /ui/NAME */
    const char *content_type;
    const char *etag;         /* strong, quoted: a hash of the bytes */
    const unsigned char *data;
    size_t size;
} srv_asset;
/* The console's files, then one with a NULL name (build/gen/console_assets.c). */
extern const srv_asset srv_console_assets[];

/* ---- Prometheus (routes_prometheus.c) ----------------------------------- */

/* The most agent-metric series one scrape of /metrics exports by default. */
#define SRV_DEFAULT_METRIC_SERIES_CAP 10000u
/* Set once before the daemon starts (0: the default). */
void srv_prometheus_setup(size_t metric_series_cap);

/* ---- agent lists (agent_rows.c) ------------------------------------------ */

/* Where an agent list reads its rows, and which it keeps. */
typedef struct srv_agent_rows {
    oi_store *store;
    oi_iter *iter;         /* oi_agent rows; oi_agent_liveness rows when by_liveness */
    bool by_liveness;      /* the stale-agents iterator: each agent read by its id */
    const char *type;      /* NULL: every type */
    bool (*keep)(const oi_agent *a); /* NULL: every agent */
} srv_agent_rows;

/* The next agent the list keeps into *a, with its state into *s (*has_state
 * false when it has none): OI_OK, OI_ITEROVER or a failure. */
int srv_agent_rows_next(srv_agent_rows *rows, oi_agent *a, oi_agent_state *s, bool *has_state);

/* ---- heartbeats kept in memory (beats.c) --------------------------------- */

/* Once, before the daemon starts: write a beat with nothing new only once
 * per interval (microseconds; 0: write every beat). */
void srv_beats_setup(int64_t interval);
bool srv_beats_enabled(void);
/* Whether this beat may go unwritten: the status (NULL: none) is the one
 * this server last wrote for the agent, and that write is younger than the
 * interval.  It then counts as the agent's newest beat seen. */
bool srv_beats_coalesce(const char *agent_id, const char *status, oi_time now);
/* A beat this server wrote, at `at`, with `status` (NULL: none). */
void srv_beats_written(const char *agent_id, const char *status, oi_time at);
/* The newest beat of the agent this server received (OI_TIME_NULL: none,
 * or the option is off). */
oi_time srv_beats_seen(const char *agent_id);
/* Beats answered without a write, since the start. */
uint64_t srv_beats_coalesced_total(void);
/* At the stop. */
void srv_beats_free(void);

/* ---- statistics (stats.c) ----------------------------------------------- */

/* Make a slot for every route; once, before the daemon starts. */
void srv_stats_setup(void);
/* Count a finished request: its route, status and duration. */
void srv_stats_record(const srv_request *req, int64_t micros);
/* The writer committed a group of `requests` requests. */
void srv_stats_group_committed(size_t requests);
/* The request counts and latency histograms in text format 0.0.4. */
void srv_stats_write(FILE *out);

#endif
