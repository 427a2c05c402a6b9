/*
 * textset.c - a bounded set of texts: open addressing with linear probing
 * in a fixed table of SET_SLOTS slots, each holding a text's 64-bit
 * FNV-1a hash and a copy of the text.
 *
 * What it is for: the import checks each row's metadata as JSON (jansson:
 * a parse that builds and frees a tree), while a file's rows repeat a few
 * label sets (an agent's region, model ...).  A text found valid is kept,
 * and the same bytes later are known valid by a hash and a compare.
 *
 * Bounded: at most SET_MAX texts of at most OI_TEXTSET_TEXT_MAX bytes
 * (about 0.6 MB); the table stays at most half full, so probes are short.
 * When it is full it is emptied and fills again: simpler than evicting,
 * and a file with more distinct texts than that gains little anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "textset.h"

#define SET_SLOTS 2048                /* a power of two */
#define SET_MAX (SET_SLOTS / 2)

/* The slot of text, or the empty slot where it would go. */
static oi_textset_slot *find(const oi_textset *set, const char *text, uint64_t hash)
{
    size_t i = hash & (SET_SLOTS - 1);
    while (set->slot[i].text &&
           (set->slot[i].hash != hash || strcmp(set->slot[i].text, text) != 0))
        i = (i + 1) & (SET_SLOTS - 1);
    return &set->slot[i];
}

bool oi_textset_has(const oi_textset *set, const char *text)
{
    return set->slot && find(set, text, oi_hash_text(text))->text;
}

static void empty(oi_textset *set)
{
    for (size_t i = 0; i < SET_SLOTS; i++) {
        free(set->slot[i].text);
        set->slot[i].text = NULL;
    }
    set->n = 0;
}

void oi_textset_add(oi_textset *set, const char *text)
{
    if (strlen(text) > OI_TEXTSET_TEXT_MAX)
        return;
    if (!set->slot)
        set->slot = oi_calloc(SET_SLOTS, sizeof *set->slot);
    if (set->n == SET_MAX)
        empty(set);
    uint64_t hash = oi_hash_text(text);
    oi_textset_slot *slot = find(set, text, hash);
    if (slot->text)
        return;
    slot->text = oi_strdup(text);
    slot->hash = hash;
    set->n++;
}

void oi_textset_free(oi_textset *set)
{
    if (set->slot)
        empty(set);
    free(set->slot);
    set->slot = NULL;
}
