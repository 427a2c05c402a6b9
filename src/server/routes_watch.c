/*
 * routes_watch.c - GET /v1/watch: wait for changes, as Consul's blocking
 * queries do (any token: SRV_READ).
 *
 *   GET /v1/watch[?since=REV][&wait=30s][&table=T][&agent_id=UUID]
 *
 * Answers as soon as a change after revision `since` that matches commits
 * (at once if there already is one), or at the end of `wait` with none:
 * 200 {"revision": R, "changes": [...]} and X-Optiinfra-Revision: R, R
 * being what the service has looked up to; the next watch passes it as
 * `since`.  Without `since` it waits for the next change.  The arguments
 * are checked here; watch.c does the waiting.
 *
 * Bad arguments are 422 (`invalid`), as everywhere: a `since` that is not
 * a revision, a `wait` that is not a duration or is over 10m, a table that
 * is not watched and an agent_id that is not a UUID (the library's filter
 * check says which).  A `since` the change log no longer covers is 410
 * `compacted`, whose message gives the revision it starts after.  The
 * agent is an id, not a name: it need not exist yet (a watch may wait for
 * its registration) and stays the same when it is renamed or deleted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "server.h"

/* `since` into *since (-1 when absent): false, with 422 answered, when it
 * is not a revision. */
static bool read_since(srv_request *req, int64_t *since)
{
    const char *text = srv_query(req, "since");
    *since = -1;
    if (!text)
        return true;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text >= '0' && *text <= '9' && !*end && errno == 0) {
        *since = v;
        return true;
    }
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "since '%s' is not a revision: pass the \"revision\" of the last answer "
                    "(a whole number, 0 or more), or leave it out to wait for the next change",
                    text);
    return false;
}

/* `wait` into *micros (the default when absent): false, with 422 answered,
 * when it is not a duration up to the maximum. */
static bool read_wait(srv_request *req, int64_t *micros)
{
    const char *text = srv_query(req, "wait");
    *micros = (int64_t)SRV_WATCH_DEFAULT_WAIT_S * 1000000;
    if (text && strcmp(text, "0") == 0) /* a bare 0 needs no unit */
        *micros = 0;
    else if (text && !srv_query_duration(req, "wait", micros))
        return false;
    if (*micros <= (int64_t)SRV_WATCH_MAX_WAIT_S * 1000000)
        return true;
    srv_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                    "wait '%s' is too long: at most %ds (%dm); watch again when it answers",
                    text, SRV_WATCH_MAX_WAIT_S, SRV_WATCH_MAX_WAIT_S / 60);
    return false;
}

static enum MHD_Result watch(srv_request *req)
{
    static const char *const known[] = {"since", "wait", "table", "agent_id", NULL};
    srv_watch_spec spec = {.table = srv_query(req, "table"),
                           .agent_id = srv_query(req, "agent_id")};
    if (!srv_query_known(req, known) || !read_since(req, &spec.since) ||
        !read_wait(req, &spec.wait))
        return MHD_YES;
    return srv_watch(req, &spec);
}

const srv_route srv_routes_watch[] = {
    {"GET", "/v1/watch", watch, SRV_READ, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
