#!/bin/sh
# public-api.sh - the functions the public headers declare, one name a line,
# sorted.
#
# Usage: public-api.sh CC INCLUDE_DIR
# The headers go through the C preprocessor first (CC -E), so declarations
# written by macros (OI_RECORD_API) count as well as prototypes written out
# one by one.  The preprocessed text is then split into top-level
# declarations; a function is a name oi_... followed by "(" in one of them,
# except in typedefs, static (inline) functions and function bodies (a
# pointer "(*oi_fn)(" is not a name followed by "(").  scripts/export-map.sh
# makes the shared library's version script from this list and
# scripts/test.sh checks the library's exports against it.
set -eu
cc=$1
include=$2
"$cc" -E -P -I"$include" "$include/optiinfra/optiinfra.h" | awk '
    { text = text " " $0 }
    END {
        gsub(/[{};]/, "\n&\n", text)
        n = split(text, part, "\n")
        depth = 0; decl = ""; body = 0
        for (i = 1; i <= n; i++) {
            p = part[i]
            if (p == "{") {
                # A "{" right after ")" at file scope opens a function body.
                if (depth == 0 && decl ~ /\)[ \t]*$/) body = 1
                depth++
            } else if (p == "}") {
                depth--
                if (depth == 0 && body) { body = 0; decl = "" }
            } else if (p == ";") {
                if (depth == 0) { emit(decl); decl = "" }
            } else if (depth == 0) {
                decl = decl " " p
            }
        }
    }
    function emit(d,    name) {
        if (d ~ /^[ \t]*typedef[ \t]/ || d ~ /(^|[^A-Za-z0-9_])static[ \t]/) return
        while (match(d, /(^|[^A-Za-z0-9_])oi_[A-Za-z0-9_]+[ \t]*\(/)) {
            name = substr(d, RSTART, RLENGTH)
            d = substr(d, RSTART + RLENGTH)
            sub(/^[^o]*/, "", name); sub(/[ \t]*\($/, "", name)
            print name
        }
    }' | LC_ALL=C sort -u
