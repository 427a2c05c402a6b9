#!/bin/sh
# import.sh - the metrics import benchmark (run by hand, not by the test suite).
#
#   sh bench/import.sh [ROWS [REPEAT]]     default 1000000 rows, best of 1
#
# Generates ROWS metric rows (bench/gen_metrics.c; nothing is committed) and
# loads them, on the same machine and from this one script:
#
#   SQLite      optiinfra metrics import (CSV, then NDJSON), against the
#               sqlite3 shell's `.import --csv` of the same rows
#   PostgreSQL  (inside pg_virtualenv) optiinfra metrics import (CSV, then
#               NDJSON), against psql's `\copy agent_metrics ... CSV` of the
#               same rows
#
# then exports the last database (optiinfra metrics export > /dev/null).
# Every load goes into a fresh database, migrated to head by optiinfra and
# holding the four core agents, so each tool writes into the same table with
# the same indexes, constraints and foreign keys (the sqlite3 shell gets
# PRAGMA foreign_keys=ON, as optiinfra sets it).  The raw tools get agent ids
# where optiinfra resolves names, and check nothing beyond the table's
# constraints; optiinfra also validates every row on the client.
#
# Each load runs REPEAT times (a fresh database each time) and the fastest
# run is shown: on a shared or virtual machine the disk's noise is larger
# than the differences measured.  Before each run the disk is settled (sync;
# CHECKPOINT on PostgreSQL).  For each run: wall time, CPU time (user +
# system) and peak RSS of the client process, as /usr/bin/time -v reports
# them ("Elapsed (wall clock) time", "User time", "System time", "Maximum
# resident set size"); the PostgreSQL server's time is in the wall time only.
# "xN" is the time relative to the raw tool on that backend (below 1:
# faster).  Data files and SQLite databases go to $TMPDIR (default /tmp);
# TMPDIR=/dev/shm takes the disk out of the SQLite figures.
set -eu
cd "$(dirname "$0")/.."

ROWS=${1:-1000000}
REPEAT=${2:-1}
BUILD=${BUILD:-build/bench}
export BUILD

# ---- measuring ------------------------------------------------------------

# run_timed COMMAND...: run it under /usr/bin/time -v; sets WALL, CPU, RSS_KB.
run_timed() {
    sync
    if [ -n "${PGHOST:-}" ]; then psql -X -q -c CHECKPOINT; fi
    log=$WORK/time.log
    if ! /usr/bin/time -v -o "$log" "$@" > "$WORK/out.log" 2>&1; then
        echo "bench: $* failed:" >&2
        cat "$WORK/out.log" >&2
        exit 1
    fi
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        print s }' "$log")
    CPU=$(awk -F': ' '/(User|System) time/ { s += $2 } END { print s }' "$log")
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
}

# best LABEL SETUP COMMAND...: REPEAT times SETUP (not timed), then COMMAND;
# prints the fastest run and sets BEST to its wall time.
best() {
    label=$1 setup=$2
    shift 2
    BEST= best_cpu= best_rss=
    i=0
    while [ $i -lt "$REPEAT" ]; do
        $setup
        run_timed "$@"
        if [ -z "$BEST" ] || [ "$(awk -v a="$WALL" -v b="$BEST" 'BEGIN { print (a < b) }')" = 1 ]
        then
            BEST=$WALL best_cpu=$CPU best_rss=$RSS_KB
        fi
        i=$((i + 1))
    done
    awk -v label="$label" -v s="$BEST" -v rows="$ROWS" -v cpu="$best_cpu" -v rss="$best_rss" \
        'BEGIN { printf "%-34s %7.2f s %8.0f rows/s  cpu %6.2f s %7.1f MB", label, s,
                 rows / s, cpu, rss / 1024 }'
}

# ratio A B: "   xA/B"
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "   x%.2f\n", a / b }'
}

# gen FORMAT AGENT...: the rows, in $WORK/data.FORMAT
gen() {
    format=$1
    shift
    "$BUILD/gen_metrics" "$ROWS" "$format" "$@" > "$WORK/data.$format"
}

nothing() { :; }

# ---- PostgreSQL (inside pg_virtualenv) --------------------------------------

pg_url() {
    echo "postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$1"
}

pg_fresh() {
    psql -X -q -o /dev/null -c "DROP DATABASE IF EXISTS oi_bench" -c "CREATE DATABASE oi_bench"
    "$BUILD/optiinfra" --database-url "$(pg_url oi_bench)" db upgrade > /dev/null
    "$BUILD/optiinfra" --database-url "$(pg_url oi_bench)" seed core > /dev/null
}

postgresql() {
    export PGOPTIONS='-c client_min_messages=warning'
    echo
    echo "PostgreSQL $(psql -X -At -c 'SHOW server_version')"
    pg_fresh
    # shellcheck disable=SC2046 # the four ids (the seed's), one argument each
    gen pg-csv $(psql -X -At -d oi_bench -c 'SELECT id FROM agents ORDER BY name')
    columns="agent_id, metric_name, metric_value, metric_unit, collection_timestamp, metadata,
             created_at"
    best "psql \\copy ... CSV" pg_fresh psql -X -q -d oi_bench \
        -c "\\copy agent_metrics ($columns) FROM '$WORK/data.pg-csv' CSV HEADER"
    echo
    raw=$BEST
    for format in csv ndjson; do
        best "optiinfra metrics import ($format)" pg_fresh "$BUILD/optiinfra" \
            --database-url "$(pg_url oi_bench)" metrics import "$WORK/data.$format"
        ratio "$BEST" "$raw"
    done
    best "optiinfra metrics export (csv)" nothing sh -c \
        "'$BUILD/optiinfra' --database-url '$(pg_url oi_bench)' metrics export > /dev/null"
    echo
}

if [ "${1:-}" = "--inside-pg" ]; then
    ROWS=$2 REPEAT=$3 WORK=$4
    postgresql
    exit 0
fi

# ---- SQLite --------------------------------------------------------------------

sqlite_fresh() {
    rm -f "$WORK/bench.db" "$WORK/bench.db-wal" "$WORK/bench.db-shm"
    "$BUILD/optiinfra" --database-url "sqlite:$WORK/bench.db" db upgrade > /dev/null
    "$BUILD/optiinfra" --database-url "sqlite:$WORK/bench.db" seed core > /dev/null
}

sqlite() {
    echo "SQLite $(sqlite3 --version | cut -d' ' -f1)"
    sqlite_fresh
    # shellcheck disable=SC2046
    gen sqlite-csv $(sqlite3 "$WORK/bench.db" 'SELECT id FROM agents ORDER BY name')
    best "sqlite3 .import --csv" sqlite_fresh sqlite3 -cmd 'PRAGMA foreign_keys = ON' \
        "$WORK/bench.db" ".import --csv $WORK/data.sqlite-csv agent_metrics"
    echo
    raw=$BEST
    for format in csv ndjson; do
        best "optiinfra metrics import ($format)" sqlite_fresh "$BUILD/optiinfra" \
            --database-url "sqlite:$WORK/bench.db" metrics import "$WORK/data.$format"
        ratio "$BEST" "$raw"
    done
    best "optiinfra metrics export (csv)" nothing sh -c \
        "'$BUILD/optiinfra' --database-url 'sqlite:$WORK/bench.db' metrics export > /dev/null"
    echo
}

# ---- main ----------------------------------------------------------------------

for tool in sqlite3 psql pg_virtualenv /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
make -s BUILD="$BUILD" all
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/gen_metrics" bench/gen_metrics.c

WORK=$(mktemp -d -t optiinfra-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "$ROWS rows, best of $REPEAT; $(nproc) CPUs; $(uname -sr); files in $(dirname "$WORK")"
for format in csv ndjson; do
    gen $format "Cost Optimizer" "Performance Tuner" "Resource Allocator" "Application Monitor"
done
echo "CSV $(du -h "$WORK/data.csv" | cut -f1), NDJSON $(du -h "$WORK/data.ndjson" | cut -f1)"
echo
sqlite
pg_virtualenv -t sh "$0" --inside-pg "$ROWS" "$REPEAT" "$WORK"
