/*
 * textset.h - a bounded set of texts (textset.c): what the import has
 * already checked, so that a text seen again is not checked again.
 */
#ifndef OI_TEXTSET_H
#define OI_TEXTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oi_textset_slot {
    uint64_t hash;
    char *text;                /* NULL: empty */
} oi_textset_slot;

/* Zero-initialised; allocated at the first add. */
typedef struct oi_textset {
    oi_textset_slot *slot;
    size_t n;
} oi_textset;

bool oi_textset_has(const oi_textset *set, const char *text);
/* Keep a copy of text (not already in the set).  A text longer than
 * OI_TEXTSET_TEXT_MAX bytes is not kept; a full set is emptied first. */
void oi_textset_add(oi_textset *set, const char *text);
void oi_textset_free(oi_textset *set);

#define OI_TEXTSET_TEXT_MAX 512

#endif
