/*
 * agentref.c - agent references of metrics files, resolved once: the
 * import's name or id -> id, the export's id -> name (or id).
 *
 * A file has millions of rows and a handful of agents, so each distinct
 * reference costs one lookup, not one per row.  The cache is bounded (64
 * entries, the oldest making room) so that memory does not grow with the
 * number of agents either, and searched linearly, which is short for the
 * few agents a file names.  A file that cycles through more agents than
 * that pays a lookup per miss, not a failure.  What a cached entry says
 * can go stale while the import or export runs (an agent deleted or
 * renamed meanwhile): the database's foreign key catches the import's
 * rows, and an export is not a snapshot anyway.
 */
#include <string.h>
#include "agentref.h"

const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key)
{
    for (int i = 0; i < OI_REF_CACHE_SIZE && c->key[i]; i++)
        if (strcmp(c->key[i], key) == 0)
            return c->value[i];
    return NULL;
}

const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value)
{
    unsigned i = c->next++ % OI_REF_CACHE_SIZE;
    free(c->key[i]);
    free(c->value[i]);
    c->key[i] = oi_strdup(key);
    c->value[i] = oi_strdup(value);
    return c->value[i];
}

void oi_ref_cache_free(oi_ref_cache *c)
{
    for (int i = 0; i < OI_REF_CACHE_SIZE; i++) {
        free(c->key[i]);
        free(c->value[i]);
    }
}
