/*
 * agentref.c - agent references of metrics files, resolved once: the
 * import's name or id -> id, the export's id -> name (or id).
 *
 * A file has millions of rows and a fleet's agents: each distinct
 * reference costs one lookup, not one per row.  The cache is a hash table
 * (FNV-1a, linear probing) of a fixed size, so memory does not grow with
 * the number of agents; it keeps up to OI_REF_CACHE_MAX references, and a
 * file that names more than that empties it and starts again, paying a
 * lookup per reference it meets anew, never a failure.  (It was a list of
 * 64 searched in turn: rows cycling through 1,000 agents paid a lookup
 * each, docs/performance.md "Scale".)  What a cached entry says can go
 * stale while the import or export runs (an agent deleted or renamed
 * meanwhile): the database's foreign key catches the import's rows, and
 * an export is not a snapshot anyway.
 */
#include <string.h>
#include "agentref.h"
#include "hash.h"

static unsigned slot_of(const char *key)
{
    return (unsigned)(oi_hash_text(key) & (OI_REF_CACHE_SLOTS - 1));
}

/* The slot holding key, or the empty slot where it would go: there is
 * always one, since at most half the slots are used. */
static oi_ref_entry *find(const oi_ref_cache *c, const char *key)
{
    unsigned i = slot_of(key);
    while (c->slots[i].key && strcmp(c->slots[i].key, key) != 0)
        i = (i + 1) & (OI_REF_CACHE_SLOTS - 1);
    return &c->slots[i];
}

const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key)
{
    return c->slots ? find(c, key)->value : NULL;
}

static void empty(oi_ref_cache *c)
{
    for (unsigned i = 0; i < OI_REF_CACHE_SLOTS; i++) {
        free(c->slots[i].key);
        free(c->slots[i].value);
        c->slots[i].key = c->slots[i].value = NULL;
    }
    c->used = 0;
}

const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value)
{
    if (!c->slots)
        c->slots = oi_calloc(OI_REF_CACHE_SLOTS, sizeof *c->slots);
    oi_ref_entry *e = find(c, key);
    if (e->key) { /* kept already: the newer value wins */
        free(e->value);
    } else {
        if (c->used == OI_REF_CACHE_MAX) {
            empty(c);
            e = find(c, key);
        }
        e->key = oi_strdup(key);
        c->used++;
    }
    e->value = oi_strdup(value);
    return e->value;
}

void oi_ref_cache_free(oi_ref_cache *c)
{
    if (c->slots)
        empty(c);
    free(c->slots);
    c->slots = NULL;
}
