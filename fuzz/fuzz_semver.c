/*
 * fuzz_semver.c - semantic versions: oi_value_check() of OI_KIND_SEMVER and
 * the precedence order oi_semver_compare() (capabilities.c).
 *
 * The input is up to three versions, one per line.  Invariants, for the
 * valid ones: the order is antisymmetric (compare(a, b) == -compare(b, a)),
 * only a version equals itself, and it is transitive.  compare() runs on
 * the invalid ones too, without a verdict: rows written before 1.4 hold
 * versions no validator checked, and they are still ordered.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

#define NVERSIONS 3

static bool semver_valid(const char *v)
{
    char msg[OI_VALUE_MSGSZ];
    int rc = oi_value_check(OI_KIND_SEMVER, "version", v, strlen(v), msg, sizeof msg);
    if (rc != OI_OK)
        fuzz_assert_message(msg);
    return rc == OI_OK;
}

static void check_order(const char *const *v, const bool *ok, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int c = oi_semver_compare(v[i], v[j]);
            fuzz_assert(c >= -1 && c <= 1);
            if (!ok[i] || !ok[j])
                continue;
            fuzz_assert(c == -oi_semver_compare(v[j], v[i]));
            fuzz_assert((c == 0) == (strcmp(v[i], v[j]) == 0));
            for (int k = 0; k < n; k++)
                if (ok[k] && c < 0 && oi_semver_compare(v[j], v[k]) < 0)
                    fuzz_assert(oi_semver_compare(v[i], v[k]) < 0);
        }
}

void oi_fuzz_semver(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size), *rest = text;
    const char *v[NVERSIONS];
    bool ok[NVERSIONS];
    int n = 0;
    for (; n < NVERSIONS && rest; n++) {
        v[n] = strsep(&rest, "\n");
        ok[n] = semver_valid(v[n]);
    }
    check_order(v, ok, n);
    free(text);
}

OI_FUZZ_MAIN(semver)
