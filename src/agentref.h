/*
 * agentref.h - a bounded cache of agent references (agentref.c).
 */
#ifndef OI_AGENTREF_H
#define OI_AGENTREF_H

#include "internal.h"

/* Text to text: agent name or id -> id on import, id -> what the export
 * calls the agent.  A hash table of OI_REF_CACHE_SLOTS slots (allocated at
 * the first put) holding at most OI_REF_CACHE_MAX entries; when full, it is
 * emptied and fills again.  Zero-initialised is empty. */
#define OI_REF_CACHE_SLOTS 8192 /* a power of two */
#define OI_REF_CACHE_MAX 4096   /* half the slots: probes stay short */
typedef struct oi_ref_entry {
    char *key;
    char *value;
} oi_ref_entry;
typedef struct oi_ref_cache {
    oi_ref_entry *slots;
    unsigned used;
} oi_ref_cache;

/* The value kept for key, or NULL. */
const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key);
/* Keep a copy of key and value; returns the copy of value. */
const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value);
void oi_ref_cache_free(oi_ref_cache *c);

#endif
