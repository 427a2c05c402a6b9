/*
 * store_options.c - oi_store_open_ext(): a store opened from options, with
 * its read replica.
 *
 * Apart from store.c because it reads a versioned struct (table.c's
 * checks) and sets up the replica (replica.c), both of which call store.c:
 * the files' calls go one way (scripts/check-cycles.sh).  What the replica
 * does once open is replica.c.
 */
#include <string.h>
#include "internal.h"
#include "table.h"

int oi_store_options_init(oi_store_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_store_options", version,
                       OI_STORE_OPTIONS_VERSION))
        return OI_EINVALID;
    opts->fallback = OI_REPLICA_USE_PRIMARY;
    opts->check_every = OI_REPLICA_CHECK_EVERY_DEFAULT;
    return OI_OK;
}

static int check_options(oi_store *s, const oi_store_options *o)
{
    if (o->fallback != OI_REPLICA_USE_PRIMARY && o->fallback != OI_REPLICA_FAIL)
        return oi_fail(s, OI_EINVALID, "unknown replica fallback %d: use OI_REPLICA_USE_PRIMARY "
                       "or OI_REPLICA_FAIL", (int)o->fallback);
    if (o->limit_lag && o->max_lag < 0)
        return oi_fail(s, OI_EINVALID, "the replica's maximum lag is negative: give 0 or more");
    if (o->check_every < 0)
        return oi_fail(s, OI_EINVALID, "the replica's check interval is negative: give 0 or more");
    return OI_OK;
}

static int open_replica(oi_store *s, const oi_store_options *o)
{
    int rc = check_options(s, o);
    if (rc)
        return rc;
    if (strcmp(oi_store_backend(s), "postgresql") != 0)
        return oi_fail(s, OI_EINVALID, "a read replica needs a PostgreSQL primary, not %s: "
                       "drop the read URL", oi_store_backend(s));
    const oi_backend *b = oi_backend_for(o->read_url);
    if (!b || strcmp(b->name, "postgresql") != 0) /* nothing opened: sqlite: would make a file */
        return oi_fail(s, OI_EINVALID, "the read URL is not a PostgreSQL URL (not shown): a "
                       "replica is a PostgreSQL hot standby of the primary");
    oi_replica *rep = oi_calloc(1, sizeof *rep);
    s->replica = rep;
    rep->url = oi_strdup(o->read_url);
    rep->fallback = o->fallback;
    rep->limit_lag = o->limit_lag;
    rep->max_lag = o->max_lag;
    rep->check_every = o->check_every;
    rc = oi_replica_connect(rep);
    if (rc == OI_ECONNECT) /* down for now: reads fall back or fail until it is back */
        return OI_OK;
    if (rc)
        return oi_fail(s, rc, "cannot open the read replica: %s", oi_errmsg(rep->store));
    return OI_OK;
}

int oi_store_open_ext(oi_store **out, const oi_store_options *opts)
{
    if (!opts) {
        oi_store_open(out, NULL); /* connects nowhere: a store to say why on */
        return oi_fail(*out, OI_EINVALID, "no store options: pass OI_STORE_OPTIONS_INIT "
                       "with a URL");
    }
    if (oi_check_version(NULL, "oi_store_options", opts->version, OI_STORE_OPTIONS_VERSION)) {
        oi_store_open(out, NULL);
        return oi_check_version(*out, "oi_store_options", opts->version,
                                OI_STORE_OPTIONS_VERSION);
    }
    int rc = oi_store_open(out, opts->url);
    if (rc == OI_OK && opts->read_url && *opts->read_url)
        rc = open_replica(*out, opts);
    return rc;
}
