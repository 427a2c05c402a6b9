#!/bin/sh
# test.sh - the whole test suite (also `make check` and .ci/run).
#
#   1. build, warnings as errors (WERROR=1): the coverage variant
#      (build/cov), the sanitizer variant (build/asan: ASan + UBSan, leaks
#      detected) and the plain build a packager makes (build/plain)
#   2. the test binary on SQLite, both variants; in the sanitizer one the
#      CLI and server processes the tests start skip LeakSanitizer's exit
#      check (OI_TEST_CLI_LEAKS=0, tests/main.c says why): the PostgreSQL
#      run checks them, and the test binary itself checks on both
#   3. inside one throw-away PostgreSQL cluster (pg_virtualenv): the test
#      binary on PostgreSQL, both variants, and the spec's VALIDATION
#      CHECKLIST queries, verbatim through psql, on a database prepared only
#      by `optiinfra db upgrade` and `optiinfra seed`; and, once each on the
#      coverage build, the PgBouncer tests (tests/test_pgbouncer.c, their own
#      pgbouncer) and the read-replica tests (scripts/replica-test.sh: a
#      streaming standby of the cluster made with pg_basebackup)
#   4. line coverage of the library (src/, without the CLI, its views and
#      the service), at least 95%; of the service and the views, measured
#      from the server processes the HTTP tests start, at least 90%
#   5. the shared library exports the functions of the public headers and
#      nothing else, each released 1.y's (scripts/abi-1.y.txt) under OPTIINFRA_1.y and
#      the ones added since under the current version's node; the static one defines no
#      global symbol without the oi_ prefix; no two source files call each
#      other (scripts/check-cycles.sh)
#   6. the man page (scripts/check-manpage.sh) and the bash completion
#      (scripts/check-completion.sh) cover every command and option of --help
#   7. the API example program (docs/example.c) on a temporary SQLite file
#   8. make install into a staging directory (DESTDIR, Debian's multiarch
#      LIBDIR), then the example and tests/abi/newer_struct.c (structs from
#      a newer header are refused cleanly) built from the installed headers and
#      libraries with pkg-config, shared and static, and run
#   9. the fuzzers (scripts/fuzz.sh): make fuzz builds each libFuzzer target
#      of fuzz/ with clang under ASan + UBSan, and each runs 20 s on its
#      corpus, two at a time (docs/fuzzing.md)
#  10. the web console in headless Chromium (scripts/browser-test.sh,
#      tests/browser/console_test.py): optiinfra serve, plain build, on a
#      seeded SQLite file; screenshots in build/screenshots (docs/console.md)
#
# Every step runs even when an earlier one failed; the summary at the end
# lists them, repeats the lines of a failed step's output that say what
# failed (CI keeps only the end of the output), and the exit code is
# non-zero if any failed.  Works as root or
# not, with no terminal (CI=true), on a fresh Debian 12 (scripts/deps.sh
# installs what is missing).
set -eu
cd "$(dirname "$0")/.."

COVERAGE_MIN=95
SERVICE_COVERAGE_MIN=90
RESULTS=${OI_TEST_RESULTS:-}
# The lines of a failed step's output the summary repeats (cmocka's, the
# sanitizers', fuzz.sh's, the compiler's, the scripts' own): CI shows only
# the end of the output.
FAILURE_LINES='\[  (FAILED|ERROR) +\]|FAILED|^FAIL|ERROR: |SUMMARY: |error:|[Aa]ssert|invariant broken'

# step NAME COMMAND...: run it and append "ok|FAIL  NAME: N passed, M failed
# (S s)" to the results file, S its seconds (CI's budget is 30 minutes).  A
# command may write such count lines to $OI_TEST_SUMMARY (the test binary
# does); otherwise the step counts as one.
step() {
    name=$1
    shift
    echo
    echo "=== $name"
    counts=$(mktemp -t optiinfra-step.XXXXXX)
    export OI_TEST_SUMMARY="$counts"
    step_started=$(date +%s)
    # The output goes to a log, which tail shows as it grows (the command
    # stays in the foreground: a background one would ignore SIGINT, and
    # so would every program it started), so that a failed step's telling
    # lines can be repeated in the summary.  --pid: tail ends with us.
    log=$(mktemp -t optiinfra-step-log.XXXXXX)
    tail -n +1 -f --pid=$$ "$log" &
    follower=$!
    if "$@" > "$log" 2>&1; then status=ok; else status=FAIL; fi
    sleep 0.2   # tail's last lines
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
    if [ "$status" = FAIL ]; then
        grep -E -m 12 "$FAILURE_LINES" "$log" |
            awk -v step="$name" '{ print "      " step ": " substr($0, 1, 200) }' \
            >> "$RESULTS.failures" || true
    fi
    rm -f "$log"
    # shellcheck disable=SC2046 # two numbers, split on purpose
    set -- $(awk '{ for (i = 2; i <= NF; i++) {
                        if ($i ~ /^passed,?$/) p += $(i - 1)
                        if ($i ~ /^failed,?$/) f += $(i - 1) } }
                  END { print p + 0, f + 0 }' "$counts")
    rm -f "$counts"
    passed=$1 failed=$2
    if [ "$status" = ok ] && [ $((passed + failed)) = 0 ]; then passed=1; fi
    if [ "$status" = FAIL ] && [ "$failed" = 0 ]; then failed=1; fi # a crash, a leak at exit
    printf '%-5s %s: %s passed, %s failed (%s s)\n' "$status" "$name" "$passed" "$failed" \
        $(($(date +%s) - step_started)) >> "$RESULTS"
}

# suite VARIANT: the test binary of build/VARIANT on $OI_TEST_BACKEND.
suite() {
    OI_TEST_CLI="build/$1/optiinfra" "build/$1/optiinfra-tests"
}

# suite_cli_leaks_unchecked VARIANT: the same, LeakSanitizer off in the
# processes the tests start (tests/main.c).
suite_cli_leaks_unchecked() {
    OI_TEST_CLI_LEAKS=0 OI_TEST_CLI="build/$1/optiinfra" "build/$1/optiinfra-tests"
}

export ASAN_OPTIONS=detect_leaks=1
# Each group's wall and CPU seconds, processes and setup time, on stderr:
# where the suite's 30 minutes go.
export OI_TEST_TIMES=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- the spec's checklist queries (run inside pg_virtualenv) ------------

spec_query_failed=0
spec_query_passed=0

# check_query NAME SQL EXPECTED: psql's unaligned rows, sorted, against EXPECTED.
check_query() {
    got=$(psql -X -q -At -F '|' -d oi_spec_check -c "$2" | LC_ALL=C sort)
    want=$(printf '%s\n' "$3" | LC_ALL=C sort)
    if [ "$got" = "$want" ]; then
        echo "spec-query ok: $1"
        spec_query_passed=$((spec_query_passed + 1))
    else
        echo "spec-query FAILED: $1"
        echo "--- expected"; echo "$want"; echo "--- got"; echo "$got"
        spec_query_failed=$((spec_query_failed + 1))
    fi
}

spec_queries() {
    psql -X -q -c 'DROP DATABASE IF EXISTS oi_spec_check' -c 'CREATE DATABASE oi_spec_check'
    url="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/oi_spec_check"
    build/cov/optiinfra --database-url "$url" db upgrade
    build/cov/optiinfra --database-url "$url" seed

    check_query "table counts" "
SELECT 'agent_configs' as table_name, COUNT(*) FROM agent_configs
UNION ALL
SELECT 'agent_states', COUNT(*) FROM agent_states
UNION ALL
SELECT 'agent_capabilities', COUNT(*) FROM agent_capabilities
UNION ALL
SELECT 'agent_metrics', COUNT(*) FROM agent_metrics;" \
"agent_configs|12
agent_states|4
agent_capabilities|11
agent_metrics|12"

    check_query "relationships per agent" "
SELECT
    a.name as agent_name,
    COUNT(DISTINCT c.id) as configs,
    COUNT(DISTINCT s.id) as states,
    COUNT(DISTINCT cap.id) as capabilities,
    COUNT(DISTINCT m.id) as metrics
FROM agents a
LEFT JOIN agent_configs c ON a.id = c.agent_id
LEFT JOIN agent_states s ON a.id = s.agent_id
LEFT JOIN agent_capabilities cap ON a.id = cap.agent_id
LEFT JOIN agent_metrics m ON a.id = m.agent_id
GROUP BY a.name;" \
"Cost Optimizer|3|1|3|3
Performance Tuner|3|1|3|3
Resource Allocator|3|1|2|3
Application Monitor|3|1|3|3"

    check_query "cost agent configs" "
SELECT
    config_key,
    config_value,
    config_type
FROM agent_configs
WHERE agent_id = (SELECT id FROM agents WHERE type = 'cost' LIMIT 1);" \
"cost_threshold_usd|1000|number
savings_threshold_percent|15|number
check_interval_minutes|60|number"

    echo "spec-queries: $spec_query_passed passed, $spec_query_failed failed" |
        tee -a "$OI_TEST_SUMMARY"
    [ "$spec_query_failed" = 0 ]
}

# The PgBouncer tests (tests/test_pgbouncer.c), which start PgBouncer in
# transaction pooling mode in front of the cluster themselves: once, in the
# coverage build (about 6 s), not in the PostgreSQL suites.
pgbouncer_tests() (
    export OI_TEST_PGBOUNCER=1 OI_TEST_FILTER='test_pgbouncer_*'
    suite cov
)

# ---- inside pg_virtualenv -----------------------------------------------

if [ "${1:-}" = "--inside-pg" ]; then
    export OI_TEST_BACKEND=postgresql
    step "tests postgresql (coverage build)" suite cov
    step "spec checklist queries on postgresql" spec_queries
    step "tests through pgbouncer (coverage build)" pgbouncer_tests
    # A streaming replica of this cluster (pg_basebackup -R), its tests, and
    # its removal: once, on the coverage build (~15 s).
    step "read replica (streaming standby, coverage build)" sh scripts/replica-test.sh build/cov
    step "tests postgresql (asan+ubsan build)" suite asan
    exit 0
fi

# ---- outside ------------------------------------------------------------

sh scripts/deps.sh --test

RESULTS=$(mktemp -t optiinfra-test-results.XXXXXX)
export OI_TEST_RESULTS="$RESULTS"
trap 'rm -f "$RESULTS" "$RESULTS.failures"' EXIT
started=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)

echo "=== build (coverage, sanitizer and plain variants)"
find build/cov -name '*.gcda' -delete 2>/dev/null || true
make -j"$jobs" BUILD=build/cov COVERAGE=1 WERROR=1 tests
make -j"$jobs" BUILD=build/asan SANITIZE=1 WERROR=1 tests
make -j"$jobs" BUILD=build/plain WERROR=1 all

export OI_TEST_BACKEND=sqlite
step "tests sqlite (coverage build)" suite cov
step "tests sqlite (asan+ubsan build)" suite_cli_leaks_unchecked asan

# -t: a temporary cluster directory even as root, so that a run killed
# half-way leaves nothing behind in /etc/postgresql.
step "postgresql cluster (pg_virtualenv)" pg_virtualenv -t sh scripts/test.sh --inside-pg

# build/cov is named as the only search path: gcovr would otherwise also read
# the coverage data of any other build folder in the tree and fail to merge it.
coverage() {
    status=0
    gcovr --root . --object-directory build/cov --filter 'src/' --exclude 'src/cli/' \
        --exclude 'src/views/' --exclude 'src/server/' \
        --print-summary --fail-under-line "$COVERAGE_MIN" -o build/cov/coverage.txt \
        build/cov || status=$?
    cat build/cov/coverage.txt
    return $status
}
step "library line coverage >= $COVERAGE_MIN%" coverage

# The service and the views, measured from the real `optiinfra serve` processes the
# HTTP tests start (each writes its coverage data when it exits on SIGTERM).
service_coverage() {
    status=0
    gcovr --root . --object-directory build/cov --filter 'src/server/' --filter 'src/views/' \
        --print-summary --fail-under-line "$SERVICE_COVERAGE_MIN" \
        -o build/cov/service-coverage.txt build/cov || status=$?
    cat build/cov/service-coverage.txt
    return $status
}
step "service and views line coverage >= $SERVICE_COVERAGE_MIN%" service_coverage

# The shared library's ABI is the public headers, nothing more: every function
# they declare is exported, and no internal helper is.  scripts/public-api.sh
# reads the declarations, whether written out or made by macros.  Symbol
# versions: the functions each released 1.y shipped (scripts/abi-1.y.txt,
# frozen) are all still there under OPTIINFRA_1.y, every function added since
# is under the node of the version being built, and there is no other node.
exports() {
    want=$(sh scripts/public-api.sh cc include)
    # Each one written out in a header, not made by a macro expansion.
    for f in $want; do
        grep -q "[ *]$f(" include/optiinfra/*.h ||
            { echo "$f is declared only through a macro"; return 1; }
    done
    dir=build/plain
    nm -D --defined-only $dir/liboptiinfra.so > $dir/dynsym.txt
    got=$(awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' $dir/dynsym.txt | LC_ALL=C sort -u)
    nodes=$(awk '$2 == "A" { print $3 }' $dir/dynsym.txt | LC_ALL=C sort -V | tr '\n' ' ')
    current=$(sed -n 's/^#define OPTIINFRA_VERSION "\([0-9]*\.[0-9]*\)\..*/\1/p' \
              include/optiinfra/version.h)
    status=0
    if [ "$want" != "$got" ]; then
        echo "exported symbols differ from the public headers:"
        echo "$want" > $dir/want.txt
        echo "$got" > $dir/got.txt
        diff -u $dir/want.txt $dir/got.txt
        status=1
    fi
    cat scripts/abi-*.txt | grep -v -e '^#' -e '^$' | LC_ALL=C sort -u > $dir/frozen.txt
    expected= node_counts=
    for list in $(ls scripts/abi-*.txt | sort -V) "$current"; do
        release=${list##*/abi-}
        release=${release%.txt}
        expected="${expected}OPTIINFRA_$release "
        if [ "$list" = "$current" ]; then   # the functions no frozen list names
            echo "$want" | LC_ALL=C comm -23 - $dir/frozen.txt > $dir/abi-want.txt
        else
            grep -v -e '^#' -e '^$' "$list" | LC_ALL=C sort -u > $dir/abi-want.txt
        fi
        grep "@@OPTIINFRA_$release\$" $dir/dynsym.txt | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
            LC_ALL=C sort -u > $dir/abi-got.txt
        if ! cmp -s $dir/abi-want.txt $dir/abi-got.txt; then
            echo "functions of $release not exported under OPTIINFRA_$release:" \
                 $(LC_ALL=C comm -23 $dir/abi-want.txt $dir/abi-got.txt)
            echo "functions under OPTIINFRA_$release that are not of $release:" \
                 $(LC_ALL=C comm -13 $dir/abi-want.txt $dir/abi-got.txt)
            status=1
        fi
        node_counts="$node_counts, $(wc -l < $dir/abi-want.txt) under OPTIINFRA_$release"
    done
    if [ "$nodes" != "$expected" ]; then
        echo "version nodes: $nodes, not $expected"
        status=1
    fi
    [ $status = 0 ] || return 1
    echo "liboptiinfra.so exports the $(echo "$want" | wc -l) functions of the public headers," \
         "each declared in a header's own text${node_counts}"
}
step "shared library exports the public API only" exports

# Linked statically, the library shares the program's namespace: every global
# symbol it defines carries the prefix.
static_symbols() {
    nm -A --defined-only build/plain/liboptiinfra.a > build/plain/symbols.txt
    bad=$(awk '$2 ~ /^[A-Zu]$/ && $3 !~ /^(oi_|OI_)/' build/plain/symbols.txt)
    count=$(awk '$2 ~ /^[A-Zu]$/' build/plain/symbols.txt | wc -l)
    if [ -z "$bad" ]; then
        echo "liboptiinfra.a defines $count global symbols, every one prefixed oi_ or OI_"
        return 0
    fi
    echo "liboptiinfra.a defines global symbols without the oi_ prefix:"
    echo "$bad"
    return 1
}
step "static library defines prefixed symbols only" static_symbols

step "no call cycle between source files" sh scripts/check-cycles.sh build/plain
step "man page covers the CLI's help" \
    sh scripts/check-manpage.sh build/plain/optiinfra docs/optiinfra.1
step "bash completion covers the CLI's help" \
    sh scripts/check-completion.sh build/plain/optiinfra completion/optiinfra.bash

example() {
    dir=$(mktemp -d -t optiinfra-example.XXXXXX)
    status=0
    for variant in cov asan; do
        build/$variant/example "sqlite:$dir/example-$variant.db" || status=1
        build/$variant/example "sqlite:$dir/example-$variant.db" || status=1 # over its own leftovers
    done
    rm -rf "$dir"
    return $status
}
step "example program (docs/example.c)" example

# What a package gets: make install into a staging root with Debian's
# multiarch LIBDIR, then the example compiled against the installed headers
# and linked against the installed libraries, with the flags of the installed
# optiinfra.pc (PKG_CONFIG_SYSROOT_DIR puts the staging root in front of its
# paths): shared, run with LD_LIBRARY_PATH, and static.
install_test() (
    dest=$(mktemp -d -t optiinfra-install.XXXXXX)
    trap 'rm -rf "$dest"' EXIT
    multiarch=$(cc -print-multiarch 2>/dev/null || true)
    libdir=/usr/lib${multiarch:+/$multiarch}
    major=$(sed -n 's/^#define OPTIINFRA_VERSION_MAJOR *//p' include/optiinfra/version.h)
    version=$(sed -n 's/^#define OPTIINFRA_VERSION "\(.*\)"/\1/p' include/optiinfra/version.h)
    make -s BUILD=build/plain WERROR=1 install DESTDIR="$dest" PREFIX=/usr LIBDIR="$libdir" ||
        return 1
    status=0
    for f in /usr/bin/optiinfra /usr/include/optiinfra/optiinfra.h "$libdir/liboptiinfra.a" \
             "$libdir/liboptiinfra.so.$version" "$libdir/liboptiinfra.so.$major" \
             "$libdir/liboptiinfra.so" "$libdir/pkgconfig/optiinfra.pc" \
             /usr/share/man/man1/optiinfra.1 /usr/share/bash-completion/completions/optiinfra; do
        if [ -e "$dest$f" ]; then echo "installed $f"; else echo "NOT installed: $f"; status=1; fi
    done
    soname=$(readelf -d "$dest$libdir/liboptiinfra.so.$version" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    if [ "$soname" = "liboptiinfra.so.$major" ]; then echo "soname $soname"
    else echo "soname $soname, not liboptiinfra.so.$major"; status=1; fi

    export PKG_CONFIG_PATH="$dest$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
    [ "$(pkg-config --modversion optiinfra)" = "$version" ] || { echo "pkg-config version"; status=1; }
    cp docs/example.c "$dest/example.c"
    cp tests/abi/newer_struct.c "$dest/newer_struct.c"
    cd "$dest"
    # shellcheck disable=SC2046 # pkg-config's flags, split on purpose
    cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags optiinfra) -o example-shared \
        example.c $(pkg-config --libs optiinfra) || return 1
    readelf -d example-shared | grep -q "NEEDED.*\[liboptiinfra.so.$major\]" ||
        { echo "example-shared does not load liboptiinfra.so.$major"; status=1; }
    LD_LIBRARY_PATH="$dest$libdir" ./example-shared "sqlite:$dest/x.db" || status=1

    # A program built against these headers plays one built against a newer
    # 1.x whose structs gained a field: the library refuses them cleanly.
    # shellcheck disable=SC2046 # pkg-config's flags, split on purpose
    cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags optiinfra) -o newer-struct \
        newer_struct.c $(pkg-config --libs optiinfra) || return 1
    LD_LIBRARY_PATH="$dest$libdir" ./newer-struct "sqlite:$dest/abi.db" |
        tee abi.log
    grep -q '^abi: [0-9]* passed, 0 failed$' abi.log || status=1
    grep '^abi: ' abi.log >> "$OI_TEST_SUMMARY"

    # Static: liboptiinfra.a by name (-l:), its dependencies as pkg-config
    # --static lists them.  Where their own static closure cannot link (it
    # could not while libpq was among them: Debian's libpq.pc names
    # libpgcommon, libpgport and gssapi_krb5, whose archives libpq-dev does not
    # ship; since 1.5 libpq is loaded at run time, design.md), link them
    # shared: our Libs and Libs.private (--maximum-traverse-depth=2 stops at
    # our package) and our Requires.private as shared libraries.
    static_libs=$(pkg-config --static --libs optiinfra | sed 's/-loptiinfra /-l:liboptiinfra.a /')
    # shellcheck disable=SC2046,SC2086
    if ! cc $(pkg-config --cflags optiinfra) -o example-static example.c $static_libs \
            2> static.log; then
        echo "pkg-config --static: the full static closure does not link here; dependencies shared:"
        grep 'cannot find' static.log || cat static.log
        static_libs="$(pkg-config --static --maximum-traverse-depth=2 --libs optiinfra |
                       sed 's/-loptiinfra /-l:liboptiinfra.a /') $(pkg-config --libs \
                       $(pkg-config --print-requires-private optiinfra))"
        # shellcheck disable=SC2046,SC2086
        cc $(pkg-config --cflags optiinfra) -o example-static example.c $static_libs || return 1
    fi
    if readelf -d example-static | grep -q 'NEEDED.*liboptiinfra'; then
        echo "example-static loads liboptiinfra.so"; status=1
    fi
    ./example-static "sqlite:$dest/x.db" || status=1
    "$dest/usr/bin/optiinfra" --version || status=1
    return $status
)
step "make install; the example and the newer-struct ABI program built with pkg-config" install_test

step "fuzzing: each target of fuzz/ for 20 s" sh scripts/fuzz.sh --seconds 20

# The web console (issue 11) in headless Chromium against the plain build on
# SQLite; the screenshots of its pages stay in build/screenshots/.
step "browser console (headless chromium)" \
    sh scripts/browser-test.sh build/plain/optiinfra build/screenshots

echo
echo "=== summary ($(($(date +%s) - started))s)"
cat "$RESULTS"
if [ -s "$RESULTS.failures" ]; then
    echo "what failed (the first lines of each failed step's output that say so):"
    cat "$RESULTS.failures"
fi
awk '{ for (i = 2; i <= NF; i++) {
           if ($i ~ /^passed,?$/) p += $(i - 1)
           if ($i ~ /^failed,?$/) f += $(i - 1) } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$RESULTS"
! grep -q '^FAIL' "$RESULTS"
