#!/bin/sh
# fuzz.sh - run the libFuzzer targets of fuzz/ on their corpora (docs/fuzzing.md).
#
#   sh scripts/fuzz.sh [--seconds N] [--build DIR] [TARGET...]
#
# Builds them first (make fuzz BUILD=DIR, default build: the programs are
# DIR/fuzz/fuzz_TARGET), then runs each TARGET (default: every one) for N
# seconds (default 30), two at a time, one per core.  A target reads its
# seeds from fuzz/corpus/TARGET (and tokens from fuzz/dict/TARGET.dict if
# there is one), which it never writes, and keeps the inputs it finds new
# in DIR/fuzz/work/TARGET, so a later run starts where this one stopped.
# A failure is a crash, a broken invariant (abort), a leak, a timeout (an
# input taking over 10 s), running out of memory or any sanitizer report:
# libFuzzer stops, writes the input that did it to DIR/fuzz/crashes/TARGET/
# and the run's output to DIR/fuzz/logs/TARGET.log; the target's line says
# where both are.  The last line is "fuzz: N passed, M failed" (also
# appended to $OI_TEST_SUMMARY when set, for scripts/test.sh); the exit
# code is non-zero if any failed.
#
# A long run of one target: sh scripts/fuzz.sh --seconds 3600 csv
set -eu
cd "$(dirname "$0")/.."

seconds=30
build=build
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
case "$seconds" in
    ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number of seconds" >&2; exit 2 ;;
esac

if [ $# -eq 0 ]; then
    set -- $(ls fuzz/fuzz_*.c | sed -e 's|fuzz/fuzz_||' -e 's|\.c$||' | grep -vx common)
fi
for target in "$@"; do
    if [ ! -f "fuzz/fuzz_$target.c" ] || [ "$target" = common ]; then
        echo "fuzz.sh: no target '$target' (the targets are fuzz/fuzz_*.c)" >&2
        exit 2
    fi
done

# Warnings are errors here as in every build of the suite: a harness that
# drifts from an interface it calls must not build (a char * passed for
# an options struct once did, and every request of fuzz_http failed).
make -s -j"$(nproc 2>/dev/null || echo 2)" BUILD="$build" WERROR=1 fuzz

dir=$build/fuzz
mkdir -p "$dir/logs"

# run TARGET: N seconds on its corpus; "ok" or "FAILED" and where to look.
run() {
    target=$1
    work=$dir/work/$target
    crashes=$dir/crashes/$target
    log=$dir/logs/$target.log
    dict=
    [ -f "fuzz/dict/$target.dict" ] && dict=-dict=fuzz/dict/$target.dict
    mkdir -p "$work" "$crashes"
    # shellcheck disable=SC2086 # $dict: one option or none
    if "$dir/fuzz_$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 $dict \
            -artifact_prefix="$crashes/" "$work" "fuzz/corpus/$target" > "$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz $target: ok, ${runs:-?} runs in ${seconds}s"
    else
        reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        echo "fuzz $target: FAILED, reproducer ${reproducer:-(none written)}, output $log"
        grep -E -m 12 \
            'invariant broken|ERROR: |SUMMARY: |^    #[0-9]+ .* in (oi_|fuzz_|[a-z_]+ /)' \
            "$log" | sed 's/^/    /' || true
        return 1
    fi
}

# run_into K TARGET: run TARGET, its lines into $results.K, 0 or 1 into $results.K.rc.
run_into() {
    if run "$2" > "$results.$1"; then echo 0; else echo 1; fi > "$results.$1.rc"
}

passed=0 failed=0
results=$(mktemp -t optiinfra-fuzz.XXXXXX)
trap 'rm -f "$results" "$results".*' EXIT
# Two at a time: every run lasts the same N seconds, so pairs end together.
while [ $# -gt 0 ]; do
    run_into 1 "$1" &
    shift
    if [ $# -gt 0 ]; then
        run_into 2 "$1"
        shift
    fi
    wait
    for k in 1 2; do
        [ -f "$results.$k" ] || continue
        cat "$results.$k"
        if [ "$(cat "$results.$k.rc")" = 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
        rm -f "$results.$k" "$results.$k.rc"
    done
done

echo "fuzz: $passed passed, $failed failed" | tee -a "${OI_TEST_SUMMARY:-/dev/null}"
[ "$failed" = 0 ]
