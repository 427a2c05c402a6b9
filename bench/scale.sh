#!/bin/sh
# scale.sh - the scale benchmark (issue 12): 50 million metric rows across
# 1,000 agents over months, in a throw-away PostgreSQL cluster; one command,
# run by hand, never by the test suite.
#
#   sh bench/scale.sh [--rows N] [--agents N] [--months M] [--batch N]
#                     [--budget S] [--reserve S] [--queries N]
#
# Defaults: 50,000,000 rows, 1,000 agents, 6 months, batches of 2,000,000
# rows, a budget of 7,200 s, 1,000 range queries.  At 50 M rows it needs
# about 24 GB of free disk where $TMPDIR is (default /tmp; the cluster
# lives there): it checks first (400 bytes a row, 5 GB more for the WAL)
# and refuses when there is not enough.
#
# It builds the project optimised (make BUILD=build/bench) and
# bench/scale_data.c, starts a cluster (pg_virtualenv -t: fsync off,
# max_wal_size 4GB so checkpoints do not pace the load), migrates it to
# head, runs `optiinfra db maintain` when the build has it (the partitions
# ahead), creates the agents (psql), then:
#
#   import     the rows, generated and streamed: scale_data csv | optiinfra
#              metrics import - (the CLI, agents by name), in batches of
#              --batch rows, each one process and one transaction, oldest
#              rows first.  Per batch: rows/s and the CLI's peak RSS
#              (VmHWM, read from /proc every second while it runs: memory
#              must not grow with the rows).  Nothing is on disk but the
#              database: the rows go through a pipe.
#   analyze    ANALYZE agent_metrics (what autovacuum would do), timed.
#   range      --queries range queries through the library (one agent, one
#              metric, one day; scale_data range): p50 and p99.
#   aggregate  `optiinfra metrics aggregate --name gpu_utilization --bucket
#              1h` (the CLI, every agent) over one day and over one month
#              (the last full ones): time and rows.
#   sizes      each partition of agent_metrics (pg_inherits; the table
#              itself when it is not partitioned): rows (the planner's
#              estimate after ANALYZE) and pg_total_relation_size.
#   prune      `optiinfra metrics prune --older-than` the start of the
#              second month: the oldest month goes.  Time, rows deleted,
#              partitions before and after.
#
# Time budget: no import batch starts once the elapsed time plus the last
# batch's time passes BUDGET - RESERVE (default reserve 900 s, for the steps
# after the import): the figures are then those of the rows imported, and
# the report says how many.  Each later step is stopped (timeout) when the
# budget is spent.  The figures depend on the machine and on what else runs
# on it: the report starts and ends with its load.
set -eu
cd "$(dirname "$0")/.."

ROWS=50000000 AGENTS=1000 MONTHS=6 BATCH=2000000 BUDGET=7200 RESERVE=900 QUERIES=1000
BUILD=${BUILD:-build/bench}
OI=$BUILD/optiinfra
BYTES_PER_ROW=400

die() {
    echo "scale.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit "$1"
}

now() { date +%s; }

# since T0: the seconds since T0 (date +%s.%N)
since() {
    awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.3f", t1 - t0 }'
}

machine() {
    printf '%s CPUs, load average %s' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -r /proc/pressure/cpu ]; then
        sed -n 's/^some .*avg60=\([0-9.]*\).*/, CPU pressure (some, 60 s) \1%/p' /proc/pressure/cpu
    else
        echo
    fi
}

# left: the seconds of the budget still unspent (at least 1)
left() {
    l=$((BUDGET - ($(now) - BEGAN)))
    [ "$l" -gt 0 ] || l=1
    echo "$l"
}

# ---- inside the cluster ----------------------------------------------------

# the password stays in PGPASSWORD (pg_virtualenv's), out of every command line
url() {
    echo "postgresql://$PGUSER@$PGHOST:$PGPORT/oi_scale"
}

sql() {
    psql -X -q -At -d oi_scale -v ON_ERROR_STOP=1 -c "$1"
}

prepare() {
    psql -X -q -c "CREATE DATABASE oi_scale"
    "$OI" --database-url "$(url)" db upgrade > /dev/null
    if "$OI" db maintain --help > /dev/null 2>&1; then
        "$OI" --database-url "$(url)" db maintain > /dev/null
        echo "  db maintain: run"
    fi
    sql "INSERT INTO agents (type, name, status)
         SELECT 'scale', 'scale-agent-' || lpad(i::text, 4, '0'), 'active'
         FROM generate_series(1, $AGENTS) AS i"
    sql "SELECT id FROM agents WHERE type = 'scale'" > "$WORK/ids"
    echo "  $(wc -l < "$WORK/ids") agents; agent_metrics: $(partitions) partitions"
}

partitions() {
    sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'agent_metrics'::regclass"
}

# peak_rss PID: the process's peak RSS in kB (VmHWM), read every second
# until it ends; the last reading is its peak
peak_rss() {
    peak=0
    while hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2> /dev/null) &&
        [ -n "$hwm" ]; do
        peak=$hwm
        sleep 1
    done
    echo "$peak"
}

# import_batch FIRST COUNT: one batch through a pipe; sets SECS and RSS_KB
import_batch() {
    rm -f "$WORK/pipe"
    mkfifo "$WORK/pipe"
    t0=$(date +%s.%N)
    "$BUILD/scale_data" csv "$ROWS" "$1" "$2" "$AGENTS" "$START" "$DAYS" > "$WORK/pipe" &
    gen=$!
    "$OI" --database-url "$(url)" metrics import - --format csv < "$WORK/pipe" \
        > "$WORK/import.out" 2>&1 &
    cli=$!
    RSS_KB=$(peak_rss $cli)
    wait $cli || { cat "$WORK/import.out" >&2; die "the import of rows $1.. failed"; }
    wait $gen || die "the generator failed"
    SECS=$(since "$t0")
}

import() {
    IMPORTED=0 max_rss=0 total_secs=0 last=0
    echo "  batch      rows     seconds     rows/s   peak RSS (MB)"
    while [ "$IMPORTED" -lt "$ROWS" ]; do
        if [ $(($(now) - BEGAN + last)) -gt $((BUDGET - RESERVE)) ]; then
            echo "  the budget is spent: $IMPORTED of $ROWS rows imported; the figures" \
                 "below are for them"
            break
        fi
        count=$BATCH
        [ $((IMPORTED + count)) -le "$ROWS" ] || count=$((ROWS - IMPORTED))
        import_batch "$IMPORTED" "$count"
        IMPORTED=$((IMPORTED + count))
        last=$(printf '%.0f' "$SECS")
        total_secs=$(awk -v a="$total_secs" -v b="$SECS" 'BEGIN { print a + b }')
        [ "$RSS_KB" -le "$max_rss" ] || max_rss=$RSS_KB
        awk -v n="$IMPORTED" -v c="$count" -v s="$SECS" -v r="$RSS_KB" \
            'BEGIN { printf "  %9d %9d %9.1f %10.0f %10.1f\n", n, c, s, c / s, r / 1024 }'
    done
    awk -v n="$IMPORTED" -v s="$total_secs" -v r="$max_rss" \
        'BEGIN { printf "  import: %d rows in %.0f s, %.0f rows/s; CLI peak RSS %.1f MB" \
                 " (largest of the batches)\n", n, s, n / s, r / 1024 }'
}

timed() {
    t0=$(date +%s.%N)
    timeout "$(left)" "$@"
    rc=$?
    SECS=$(since "$t0")
    [ $rc -ne 124 ] || echo "  (stopped: the budget is spent)"
    return $rc
}

# iso EPOCH_SECONDS
iso() {
    date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

aggregate() { # LABEL FROM TO
    timed "$OI" --database-url "$(url)" metrics aggregate --name gpu_utilization --bucket 1h \
        --from "$(iso "$2")" --to "$(iso "$3")" > "$WORK/agg.out" || return 0
    printf '  aggregate, hourly, %-6s %8.2f s  %d rows\n' "$1:" "$SECS" \
        $(($(wc -l < "$WORK/agg.out") - 1))
}

sizes() {
    echo "  partition                          rows (est.)      total size"
    sql "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid),
                pg_size_pretty(pg_total_relation_size(c.oid))
         FROM pg_class c
         WHERE c.oid IN (SELECT inhrelid FROM pg_inherits
                         WHERE inhparent = 'agent_metrics'::regclass)
            OR (c.relname = 'agent_metrics' AND c.relkind = 'r')
         ORDER BY c.relname" |
        awk -F'|' '{ printf "  %-32s %12d %15s\n", $1, $2, $4; rows += $2; bytes += $3 }
                   END { if (rows > 0)
                             printf "  total %.1f GB, %.0f bytes a row\n", bytes / 2^30,
                                    bytes / rows }'
    echo "  database: $(sql "SELECT pg_size_pretty(pg_database_size('oi_scale'))")"
}

prune() {
    before=$(partitions)
    cutoff=$(date -u -d "$(date -u -d "@$START" +%Y-%m-01) + 1 month" +%s)
    rows=$(sql "SELECT count(*) FROM agent_metrics WHERE collection_timestamp < to_timestamp($cutoff)")
    timed "$OI" --database-url "$(url)" metrics prune --older-than "$(($(now) - cutoff))s" \
        > "$WORK/prune.out" 2>&1 || { cat "$WORK/prune.out"; return 0; }
    printf '  prune of the oldest month (%s rows before %s): %.2f s; partitions %s -> %s\n' \
        "$rows" "$(iso "$cutoff")" "$SECS" "$before" "$(partitions)"
    sed 's/^/    /' "$WORK/prune.out"
}

inside() {
    export PGOPTIONS='-c client_min_messages=warning'
    echo "PostgreSQL $(psql -X -At -c 'SHOW server_version'); $(machine)"
    prepare
    import
    echo "  now $(($(now) - BEGAN)) s into the run; $(machine)"
    timed psql -X -q -d oi_scale -c "ANALYZE agent_metrics" && printf '  analyze: %.1f s\n' "$SECS"
    if timed "$BUILD/scale_data" range "$(url)" "$QUERIES" "$WORK/ids" "$START" \
        "$((IMPORTED * DAYS / ROWS))" > "$WORK/range.out"; then
        printf '  range (one agent, one metric, one day; library): %s\n' "$(cat "$WORK/range.out")"
    fi
    # the last full day and month among the rows imported
    end=$((START + IMPORTED * DAYS / ROWS * 86400))
    aggregate day $((end - 86400)) $((end - 1))
    month_end=$(date -u -d "$(date -u -d "@$end" +%Y-%m-01)" +%s)
    month_start=$(date -u -d "$(date -u -d "@$month_end" +%Y-%m-01) - 1 month" +%s)
    if [ "$month_start" -ge "$START" ]; then
        aggregate month "$month_start" $((month_end - 1))
    else
        echo "  aggregate over a month: fewer than a month imported"
    fi
    sizes
    prune
    echo "  done in $(($(now) - BEGAN)) s; $(machine)"
}

if [ "${1:-}" = "--inside-pg" ]; then
    shift
    WORK=$1 ROWS=$2 AGENTS=$3 START=$4 DAYS=$5 BATCH=$6 BUDGET=$7 RESERVE=$8 QUERIES=$9 \
        BEGAN=${10}
    inside
    exit 0
fi

# ---- main ----------------------------------------------------------------------

while [ $# -gt 0 ]; do
    case $1 in
        --*) [ "$1" = --help ] || [ $# -ge 2 ] || usage 2 >&2 ;;
    esac
    case $1 in
        --rows) ROWS=$2; shift ;;
        --agents) AGENTS=$2; shift ;;
        --months) MONTHS=$2; shift ;;
        --batch) BATCH=$2; shift ;;
        --budget) BUDGET=$2; shift ;;
        --reserve) RESERVE=$2; shift ;;
        --queries) QUERIES=$2; shift ;;
        -h|--help) usage 0 ;;
        *) usage 2 >&2 ;;
    esac
    shift
done
case $ROWS$AGENTS$MONTHS$BATCH$BUDGET$RESERVE$QUERIES in *[!0-9]*|'') usage 2 >&2 ;; esac
for n in "$ROWS" "$AGENTS" "$MONTHS" "$BATCH" "$QUERIES"; do [ "$n" -gt 0 ] || usage 2 >&2; done
[ "$AGENTS" -le 9999 ] || die "--agents: at most 9999"
for tool in psql pg_virtualenv timeout mkfifo pkg-config; do
    command -v "$tool" > /dev/null || die "$tool is needed"
done

dir=${TMPDIR:-/tmp}
# the table and its indexes, plus the WAL (max_wal_size 4GB) and a margin
need_kb=$((ROWS / 1024 * BYTES_PER_ROW + 5 * 1024 * 1024))
free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
    die "$ROWS rows need about $((need_kb / 1024 / 1024)) GB free in $dir, which has" \
        "$((free_kb / 1024 / 1024)) GB: free some, set TMPDIR elsewhere or use --rows"
fi

BEGAN=$(now)
# the span: MONTHS whole months ending with the last one, then this month
# up to today (the times are in the past, as prune's cutoff is)
START=$(date -u -d "$(date -u +%Y-%m-01) - $MONTHS months" +%s)
DAYS=$((($(date -u -d "$(date -u +%Y-%m-%d)" +%s) - START) / 86400))
make -s -j2 BUILD="$BUILD" all
LINK="$BUILD/liboptiinfra.a $(pkg-config --libs sqlite3 libpq jansson uuid nettle) -lm -lpthread"
# shellcheck disable=SC2086 # LINK: several arguments
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -o "$BUILD/scale_data" \
    bench/scale_data.c $LINK

WORK=$(mktemp -d -t optiinfra-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
echo "$("$OI" --version | head -1); $(uname -sr), Debian $(cat /etc/debian_version)"
echo "$ROWS rows, $AGENTS agents, $DAYS days from $(date -u -d "@$START" +%Y-%m-%d)," \
     "batches of $BATCH, budget $BUDGET s; $((free_kb / 1024 / 1024)) GB free in $dir"
pg_virtualenv -t -o max_wal_size=4GB -o shared_buffers=512MB \
    sh "$0" --inside-pg "$WORK" "$ROWS" "$AGENTS" "$START" "$DAYS" "$BATCH" "$BUDGET" \
    "$RESERVE" "$QUERIES" "$BEGAN"
