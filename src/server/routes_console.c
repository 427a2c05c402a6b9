/*
 * routes_console.c - the web console: GET / and GET /ui/{file}.
 *
 * The console is a single page (src/server/console/: index.html,
 * console.css, console.js), Chart.js from Debian's libjs-chart.js and its
 * licence (/ui/licenses), all compiled into the program by
 * scripts/embed-assets.sh: an installed `optiinfra serve` needs no file
 * beside it and no CDN.  docs/console.md describes the pages.
 *
 * The files need no token, as /openapi.json needs none: they are the same
 * for everyone and hold no data.  The page asks for the user's token and
 * sends it with every /v1 call it makes, so what the console shows is what
 * that token may read.
 *
 * Every console answer, 304 and 404 included, carries a strict
 * Content-Security-Policy (scripts and styles of this origin only, no
 * inline script or style, no eval, no framing), nosniff and no-referrer: an
 * agent name holding markup cannot run even if a page bug let it into the
 * DOM.  Cache-Control is no-cache with a strong ETag (a hash of the bytes,
 * made at build time): a browser revalidates on each load and gets a 304
 * without a body when it has the file, and a new build is seen at once
 * although the URLs carry no version.
 *
 * A file is found by its exact name in the compiled-in table, never through
 * the file system: "../Makefile" and its encodings are names like any
 * other, which the table does not have (404).  HEAD is answered as GET is,
 * without the body (libmicrohttpd drops it).
 */
#include <string.h>
#include "server.h"

#define CONSOLE_CSP                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "   \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* The headers of every console answer but its content type. */
#define CONSOLE_HEADERS                                                                  \
    "Content-Security-Policy", CONSOLE_CSP, "X-Content-Type-Options", "nosniff",        \
    "Referrer-Policy", "no-referrer", "Cache-Control", "no-cache"

/* The one error shape of the service, fixed: the name asked is not echoed. */
static const char not_found_body[] =
    "{\"error\":{\"code\":\"not_found\",\"message\":\"no such console file; the console "
    "is at / and its files under /ui/\"}}\n";

static const srv_asset *asset_named(const char *name)
{
    for (const srv_asset *a = srv_console_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/*
 * Whether If-None-Match (a list of ETags, or "*") names etag.  The
 * comparison is the weak one RFC 9110 asks of If-None-Match: a W/ prefix
 * is ignored.
 */
static bool etag_matches(const char *if_none_match, const char *etag)
{
    size_t etag_len = strlen(etag);
    for (const char *p = if_none_match; *p;) {
        p += strspn(p, " \t,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if ((len == 1 && *p == '*') || (len == etag_len && memcmp(p, etag, len) == 0))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static enum MHD_Result reply_asset(srv_request *req, const srv_asset *a)
{
    if (!a) {
        const char *const headers[] = {"Content-Type", "application/json; charset=utf-8",
                                       CONSOLE_HEADERS, NULL};
        return srv_reply_static(req, MHD_HTTP_NOT_FOUND, headers, not_found_body,
                                sizeof not_found_body - 1);
    }
    const char *if_none_match = srv_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (if_none_match && etag_matches(if_none_match, a->etag)) {
        const char *const headers[] = {"ETag", a->etag, CONSOLE_HEADERS, NULL};
        return srv_reply_static(req, MHD_HTTP_NOT_MODIFIED, headers, "", 0);
    }
    const char *const headers[] = {"Content-Type", a->content_type, "ETag", a->etag,
                                   CONSOLE_HEADERS, NULL};
    return srv_reply_static(req, MHD_HTTP_OK, headers, a->data, a->size);
}

static enum MHD_Result console_page(srv_request *req)
{
    return reply_asset(req, asset_named("index.html"));
}

static enum MHD_Result console_file(srv_request *req)
{
    return reply_asset(req, asset_named(srv_param(req, 0)));
}

const srv_route srv_routes_console[] = {
    {"GET", "/", console_page, SRV_OPEN, NULL},
    {"HEAD", "/", console_page, SRV_OPEN, NULL},
    {"GET", "/ui/{file...}", console_file, SRV_OPEN, NULL},
    {"HEAD", "/ui/{file...}", console_file, SRV_OPEN, NULL},
    {NULL, NULL, NULL, SRV_OPEN, NULL}
};
