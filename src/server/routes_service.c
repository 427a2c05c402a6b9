/*
 * routes_service.c - the routes about the service itself: /healthz,
 * /readyz, /openapi.json.
 *
 * /healthz answers while the process runs, without a token or a database
 * (a liveness probe restarts a process, and a database outage is no
 * reason to).  /readyz answers 200 only when this worker's store is open
 * and at the schema head, asked of the database on every probe (an open
 * connection to a database that has gone away is not ready), else 503
 * with the reason: a readiness probe takes the instance out of rotation
 * until the database is back or migrated, and back in by itself once it
 * is, since each probe reconnects.  Neither needs a token: probes carry
 * none, and neither says anything about the data.
 *
 * /openapi.json is docs/openapi.json, the routes' contract, compiled into
 * the program (scripts/embed-file.sh) and answered byte for byte.  It needs
 * no token either: it describes the routes, not the data, and a client
 * reads it before it has a token (the 404 of a mistyped path points to it).
 */
#include <string.h>
#include "alloc.h"
#include "server.h"

/* docs/openapi.json, generated into the build by scripts/embed-file.sh. */
extern const unsigned char srv_openapi_json[];
extern const size_t srv_openapi_json_size;

static enum MHD_Result healthz(srv_request *req)
{
    return srv_reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result readyz(srv_request *req)
{
    int code;
    char msg[512];
    oi_store *store = srv_worker_store(&code, msg, sizeof msg);
    if (store && (code = oi_migrate_check_head(store)) != OI_OK) {
        snprintf(msg, sizeof msg, "%s", oi_errmsg(store));
        srv_worker_store_failed(code);
        store = NULL;
    }
    if (!store)
        return srv_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                               code == OI_ESCHEMA ? "schema_not_at_head" : "unavailable",
                               "%s", msg);
    return srv_reply_json(req, MHD_HTTP_OK,
                          json_pack("{s:s, s:s, s:s}", "status", "ready", "backend",
                                    oi_store_backend(store), "revision", oi_migrate_head()));
}

static enum MHD_Result openapi(srv_request *req)
{
    char *text = oi_malloc(srv_openapi_json_size);
    memcpy(text, srv_openapi_json, srv_openapi_json_size);
    return srv_reply_text(req, MHD_HTTP_OK, "application/json; charset=utf-8", text,
                          srv_openapi_json_size);
}

const srv_route srv_routes_service[] = {
    {"GET", "/healthz", healthz, SRV_OPEN, NULL},
    {"GET", "/readyz", readyz, SRV_OPEN, NULL},
    {"GET", "/openapi.json", openapi, SRV_OPEN, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
