/*
 * stmtcache.c - the store's prepared statements, keyed by what they are.
 *
 * An open-addressing hash table from a key (SQL text, or descriptor address
 * and variant) to a prepared statement.  Text keys are hashed and compared
 * whole: a key can only ever find the statement of the same SQL.  The table
 * doubles when half full, so a lookup is a hash and, nearly always, one
 * comparison; on PostgreSQL a hit saves a round trip and a plan.
 *
 * Entries are never removed while the store is open: statements handed out
 * by oi_stmt_cached*() may still be in use up the call stack, so evicting
 * one could free it under its user.  What bounds the table is that those
 * statements are a fixed set of the code, and that acquired shapes past
 * OI_STMT_SHAPES_MAX become private statements, freed on release.
 */
#include <string.h>
#include "hash.h"
#include "internal.h"

typedef struct oi_stmt_key {
    const void *descriptor; /* a static object; NULL: keyed by text */
    uint64_t variant;
    const char *text;       /* the SQL, when keyed by text */
} oi_stmt_key;

typedef struct entry {
    const void *descriptor;
    uint64_t variant;
    char *text;        /* text-keyed: the SQL (owned) */
    uint64_t hash;
    oi_stmt *st;       /* NULL: empty slot */
    bool busy;         /* acquired and not yet released */
    bool acquired;     /* came in through oi_stmt_acquire (counts to the bound) */
} entry;

struct oi_stmtcache {
    entry *slots;
    size_t cap;        /* a power of two */
    size_t used;
    size_t acquired;
};

static uint64_t key_hash(const oi_stmt_key *k)
{
    if (!k->descriptor)
        return oi_hash_text(k->text);
    uint64_t h = oi_hash_bytes(OI_HASH_INIT, &k->descriptor, sizeof k->descriptor);
    return oi_hash_bytes(h, &k->variant, sizeof k->variant);
}

static bool key_matches(const entry *e, const oi_stmt_key *k, uint64_t hash)
{
    if (e->hash != hash || e->descriptor != k->descriptor)
        return false;
    return k->descriptor ? e->variant == k->variant : strcmp(e->text, k->text) == 0;
}

/* The slot of key: its entry, or the empty slot where it belongs. */
static entry *find_slot(oi_stmtcache *c, const oi_stmt_key *k, uint64_t hash)
{
    size_t mask = c->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        entry *e = &c->slots[i];
        if (!e->st || key_matches(e, k, hash))
            return e;
    }
}

static void grow(oi_stmtcache *c)
{
    entry *old = c->slots;
    size_t old_cap = c->cap;
    c->cap = old_cap ? old_cap * 2 : 64;
    c->slots = oi_calloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].st)
            continue;
        size_t mask = c->cap - 1, j = old[i].hash & mask;
        while (c->slots[j].st)
            j = (j + 1) & mask;
        c->slots[j] = old[i];
    }
    free(old);
}

static oi_stmtcache *cache_of(oi_store *s)
{
    if (!s->stmts)
        s->stmts = oi_calloc(1, sizeof *s->stmts);
    if ((s->stmts->used + 1) * 2 > s->stmts->cap)
        grow(s->stmts);
    return s->stmts;
}

/* Prepare the statement of key: its text, or built from its descriptor. */
static int prepare_key(oi_store *s, const oi_stmt_key *k, oi_sql_builder build,
                       oi_stmt **out)
{
    if (!k->descriptor)
        return oi_stmt_prepare(s, k->text, out);
    char *sql = build(k->descriptor, k->variant);
    int rc = oi_stmt_prepare(s, sql, out);
    free(sql);
    return rc;
}

static int insert(oi_store *s, entry *e, const oi_stmt_key *k, uint64_t hash,
                  oi_sql_builder build)
{
    int rc = prepare_key(s, k, build, &e->st);
    if (rc)
        return rc;
    e->descriptor = k->descriptor;
    e->variant = k->variant;
    e->text = k->descriptor ? NULL : oi_strdup(k->text);
    e->hash = hash;
    e->busy = e->acquired = false;
    s->stmts->used++;
    return OI_OK;
}

static int cached(oi_store *s, const oi_stmt_key *k, oi_sql_builder build, oi_stmt **out)
{
    *out = NULL;
    int rc = oi_store_ready(s); /* a cached statement runs on the connection too */
    if (rc)
        return rc;
    uint64_t hash = key_hash(k);
    entry *e = find_slot(cache_of(s), k, hash);
    if (e->st && e->busy) /* held by an iterator: resetting it would break the iteration */
        return oi_fail(s, OI_ERROR, "internal error: a statement in use was asked for again");
    if (e->st) {
        oi_reset(e->st);
    } else if ((rc = insert(s, e, k, hash, build)) != OI_OK) {
        return rc;
    }
    *out = e->st;
    return OI_OK;
}

int oi_stmt_cached(oi_store *s, const char *sql, oi_stmt **out)
{
    oi_stmt_key k = {.text = sql};
    return cached(s, &k, NULL, out);
}

int oi_stmt_cached_by(oi_store *s, const void *descriptor, uint64_t variant,
                      oi_sql_builder build, oi_stmt **out)
{
    oi_stmt_key k = {.descriptor = descriptor, .variant = variant};
    return cached(s, &k, build, out);
}

int oi_stmt_acquire(oi_store *s, const char *sql, oi_stmt **out, bool *private_stmt)
{
    oi_stmt_key k = {.text = sql};
    *out = NULL;
    *private_stmt = false;
    int rc = oi_store_ready(s);
    if (rc)
        return rc;
    uint64_t hash = key_hash(&k);
    oi_stmtcache *c = cache_of(s);
    entry *e = find_slot(c, &k, hash);
    if (e->st && !e->busy) {
        oi_reset(e->st);
    } else if (!e->st && c->acquired < OI_STMT_SHAPES_MAX) {
        rc = insert(s, e, &k, hash, NULL);
        if (rc)
            return rc;
        e->acquired = true;
        c->acquired++;
    } else {
        *private_stmt = true;
        return oi_stmt_prepare(s, sql, out);
    }
    e->busy = true;
    *out = e->st;
    return OI_OK;
}

void oi_stmt_release(oi_store *s, oi_stmt *st, bool private_stmt)
{
    if (!st)
        return;
    if (private_stmt) {
        oi_stmt_free(st);
        return;
    }
    oi_reset(st);
    for (size_t i = 0; i < s->stmts->cap; i++)
        if (s->stmts->slots[i].st == st)
            s->stmts->slots[i].busy = false;
}

void oi_stmtcache_free(oi_stmtcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        oi_stmt_free(c->slots[i].st);
        free(c->slots[i].text);
    }
    free(c->slots);
    free(c);
}
