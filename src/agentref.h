/*
 * agentref.h - a bounded cache of agent references (agentref.c).
 */
#ifndef OI_AGENTREF_H
#define OI_AGENTREF_H

#include "internal.h"

/* Text to text: agent name or id -> id on import, id -> what the export
 * calls the agent.  When full, the oldest entry makes room. */
#define OI_REF_CACHE_SIZE 64
typedef struct oi_ref_cache {
    char *key[OI_REF_CACHE_SIZE];
    char *value[OI_REF_CACHE_SIZE];
    unsigned next;
} oi_ref_cache;

/* The value kept for key, or NULL. */
const char *oi_ref_cache_get(const oi_ref_cache *c, const char *key);
/* Keep a copy of key and value; returns the copy of value. */
const char *oi_ref_cache_put(oi_ref_cache *c, const char *key, const char *value);
void oi_ref_cache_free(oi_ref_cache *c);

#endif
