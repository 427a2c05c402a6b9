#!/bin/sh
# check-cycles.sh - no two source files call each other, directly or not.
#
# Usage: check-cycles.sh BUILD_DIR
# From the object files of BUILD_DIR (a build made by `make`), builds the
# graph "file A calls a function defined in file B" (nm: a global function
# B defines, type T or W, that A leaves undefined, type U), once for the
# library (src/*.c, src/backend/*.c) and once for the program (src/cli/*.c,
# the views in src/views/*.c and, once it is built, the HTTP service in
# src/server/*.c), and fails listing every cycle: each group of files that
# reach each other, with the calls that tie them.  Calls into the library
# from the program, and into system libraries, are outside both graphs.
#
# Within the program the views are a layer of their own, below the CLI and
# the service that share them: no view calls a function of either, even
# one way.
set -eu
build=${1:?usage: check-cycles.sh BUILD_DIR}
status=0

# graph NAME OBJ...: print the graph's summary and its cycles; 1 if any.
graph() {
    name=$1
    shift
    for o in "$@"; do
        [ -f "$o" ] || { echo "check-cycles.sh: $o missing: run make first" >&2; return 2; }
    done
    for o in "$@"; do
        file=${o#"$build"/}
        file=${file%.o}.c
        nm "$o" | awk -v file="$file" '
            $1 == "U" { print file, "U", $2; next }
            NF == 3 && ($2 == "T" || $2 == "W") { print file, "D", $3 }
            END { print file, "F", "-" }'
    done | awk -v name="$name" '
        !($1 in node) { node[$1] = ++n; nodes[n] = $1 }
        $2 == "F" { next }
        $2 == "D" { def[$3] = $1; next }
        { use[++nu] = $1 " " $3 }
        END {
            for (k = 1; k <= nu; k++) {
                split(use[k], u, " ")
                if (!(u[2] in def) || def[u[2]] == u[1]) continue
                a = node[u[1]]; b = node[def[u[2]]]
                if (!((a, b) in edge)) { edges++; edge[a, b] = u[2] }
                else if (index(" " edge[a, b] " ", " " u[2] " ") == 0) edge[a, b] = edge[a, b] " " u[2]
            }
            # reach[i, j]: j is reachable from i (Floyd-Warshall; a few dozen files)
            for (i = 1; i <= n; i++) for (j = 1; j <= n; j++) if ((i, j) in edge) reach[i, j] = 1
            for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if ((i, k) in reach)
                for (j = 1; j <= n; j++) if ((k, j) in reach) reach[i, j] = 1
            printf "%s: %d files, %d calling pairs\n", name, n, edges
            found = 0
            for (i = 1; i <= n; i++) {
                if (i in done || !((i, i) in reach)) continue
                members = nodes[i]; m = 1; scc[1] = i; done[i] = 1
                for (j = i + 1; j <= n; j++)
                    if ((i, j) in reach && (j, i) in reach) { members = members " <-> " nodes[j]; scc[++m] = j; done[j] = 1 }
                found++
                print "cycle: " members
                for (x = 1; x <= m; x++) for (y = 1; y <= m; y++)
                    if ((scc[x], scc[y]) in edge)
                        printf "  %s -> %s: %s\n", nodes[scc[x]], nodes[scc[y]], edge[scc[x], scc[y]]
            }
            if (!found) print "no cycle"
            exit found ? 1 : 0
        }'
}

# below LOWER UPPER...: no object of LOWER calls a function defined in an
# UPPER object; 1 listing the calls if one does.
below() {
    lower=$1
    shift
    [ $# -gt 0 ] || return 0
    nm --defined-only "$@" | awk 'NF == 3 && ($2 == "T" || $2 == "W") { print $3 }' |
        LC_ALL=C sort -u > "$tmp/upper"
    found=0
    for o in "$build/$lower"/*.o; do
        [ -f "$o" ] || { echo "check-cycles.sh: $o missing: run make first" >&2; return 2; }
        file=${o#"$build"/}
        nm -u "$o" | awk '{ print $NF }' | LC_ALL=C sort -u |
            LC_ALL=C comm -12 - "$tmp/upper" > "$tmp/calls"
        if [ -s "$tmp/calls" ]; then
            echo "layer: ${file%.o}.c calls up: $(paste -sd ' ' "$tmp/calls")"
            found=1
        fi
    done
    [ $found = 0 ] && echo "$lower: calls no file above it"
    return $found
}

tmp=$(mktemp -d -t optiinfra-cycles.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The service's objects exist once the Makefile builds it.
server=$(ls "$build"/src/server/*.o 2>/dev/null || true)

graph library "$build"/src/*.o "$build"/src/backend/*.o || status=1
# shellcheck disable=SC2086 # $server: object paths without blanks, split on purpose
graph program "$build"/src/cli/*.o "$build"/src/views/*.o $server || status=1
# shellcheck disable=SC2086
below src/views "$build"/src/cli/*.o $server || status=1
exit $status
