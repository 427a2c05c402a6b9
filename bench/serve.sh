#!/bin/sh
# serve.sh - the load benchmark of `optiinfra serve` (run by hand, never by
# the test suite): issue 7, item 8.
#
#   sh bench/serve.sh [sqlite|postgresql|both]        default both
#
# On each backend (SQLite on a file under $TMPDIR, default /tmp; PostgreSQL
# in a throw-away cluster of pg_virtualenv -t, as scripts/test.sh uses: its
# fsync is off unless PG_FSYNC=on), each run on a fresh database migrated by
# `optiinfra db upgrade` and holding 1,000 agents of type "bench", each with
# an agent token (registered through the library: bench/bench_agents.c):
#
#   1. HTTP heartbeats: `optiinfra serve --quiet` on 127.0.0.1:0 (the port
#      read from its stderr), its default worker threads; wrk, 64 keep-alive
#      connections on 2 threads, 10 s, POST /v1/agents/ID/heartbeat
#      {"status":"healthy"}, round-robin over the 1,000 agents, each beat
#      with its agent's own token (bench/heartbeat.lua).  Checked: no answer
#      other than 200 and no socket error; the server's
#      optiinfra_http_requests_total for the route counts every beat wrk saw
#      acknowledged (and at most one more per connection: the requests in
#      flight when wrk stopped); every agent's two stored heartbeats are at
#      or after the newest time the service acknowledged for it
#      (bench_agents check-beats).
#   2. The library's heartbeats: 64 threads, a store each, calling
#      oi_agent_heartbeat_with() with status "healthy" round-robin over the
#      same agents for 10 s (bench/heartbeat_lib.c); then again with as many
#      threads as the server has workers (database connections).
#   3. HTTP metric ingest: wrk, 4 connections, 10 s, POST /v1/metrics, each
#      request the next batch of 1,000 NDJSON rows of one bench/gen_metrics.c
#      file (10 agents by name; bench/metrics.lua), the admin token.
#      Checked: no answer other than 200; the table holds exactly 1,000 rows
#      per 200 the server counted, and at least the rows wrk saw accepted.
#   4. `optiinfra metrics import` of the first rows of the same file, as many
#      as the service accepted.  Checked: the table holds them all.
#
# Rates are per second of wall time.  Latencies are wrk's for HTTP and the
# call's for the library.  Peak RSS: the server's VmHWM (/proc/PID/status)
# at the end of each of its runs, the baselines' maximum RSS (/usr/bin/time).
# CPU: microseconds of CPU time (user + system) per beat or row, of every
# process the run used: wrk, the server or the library's client, and the
# PostgreSQL server (all of the cluster's processes); less sensitive than
# the rates to whatever else runs on the machine.  The summary compares
# HTTP with the library on each backend against the issue's targets (>= 0.8
# for heartbeats at the same concurrency, and for metric ingest).
#
# Everything shares the machine: wrk, the server, the database server and
# whatever else runs; the load average is printed before and after.
# Variables: DURATION (10, seconds per timed run), ROUNDS (3: the four
# steps run in turn this many times, and the summary shows the median of
# each figure, the range of each rate, and the median of the ratios taken
# within each round, so that a baseline and the run it is compared with
# ran minutes apart, under the same load), SERVE_ARGS (extra
# `optiinfra serve` options, e.g. "--threads 8"), PG_FSYNC (off), TMPDIR
# (TMPDIR=/dev/shm takes the disk out of the SQLite figures), BUILD
# (build/bench, where `make` builds optiinfra and this script its tools).
#
# Exit status: 1 as soon as a check fails (an answer other than 200, a lost
# beat or row, a server that does not stop cleanly); 2 at the end when a
# ratio misses its target; 0 otherwise.  bench/import.sh is the bulk import
# benchmark (optiinfra against sqlite3's .import and psql's \copy).
# docs/performance.md has the figures and what they mean.
set -eu
cd "$(dirname "$0")/.."

AGENTS=1000
CONNECTIONS=64
WRK_THREADS=2
BATCH_ROWS=1000
BATCH_AGENTS=10
METRIC_CONNECTIONS=4
MAX_ROW_RATE=100000
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
SERVE_ARGS=${SERVE_ARGS:-}
BUILD=${BUILD:-build/bench}
HEARTBEAT_ROUTE='/v1/agents/{agent}/heartbeat'
METRICS_ROUTE='/v1/metrics'

SERVER_PID=

die() {
    echo "serve.sh: FAILED: $*" >&2
    exit 1
}

# load: the load average, and how much of the last minute runnable tasks
# waited for a CPU (pressure stall information), when the kernel says
load() {
    printf 'load average %s' "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -r /proc/pressure/cpu ]; then
        sed -n 's/^some .*avg60=\([0-9.]*\).*/, CPU pressure (some, 60 s) \1%/p' /proc/pressure/cpu
    else
        echo
    fi
}

# ---- the databases --------------------------------------------------------------

# url DB: the URL of database DB on the backend under test
url() {
    if [ "$BACKEND" = sqlite ]; then
        echo "sqlite:$WORK/$1.db"
    else
        echo "postgresql://$PGUSER:$PGPASSWORD@$PGHOST:${PGPORT:-5432}/$1"
    fi
}

# sql DB QUERY: one value
sql() {
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 "$WORK/$1.db" "$2"
    else
        psql -X -At -d "$1" -c "$2"
    fi
}

# fresh DB: an empty database DB at head with the agents ($WORK/agents.txt,
# their tokens) and an admin token ($ADMIN_TOKEN)
fresh() {
    if [ "$BACKEND" = sqlite ]; then
        rm -f "$WORK/$1.db" "$WORK/$1.db-wal" "$WORK/$1.db-shm"
    else
        psql -X -q -o /dev/null -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
        psql -X -q -o /dev/null -c CHECKPOINT
    fi
    sync
    "$BUILD/optiinfra" --database-url "$(url "$1")" db upgrade > /dev/null
    ADMIN_TOKEN=$("$BUILD/bench_agents" "$(url "$1")" register "$AGENTS" "$WORK/agents.txt")
}

# ---- the server -----------------------------------------------------------------

# start_server DB: sets SERVER_PID and PORT
start_server() {
    # shellcheck disable=SC2086 # SERVE_ARGS: options, split on purpose
    "$BUILD/optiinfra" --database-url "$(url "$1")" serve --listen 127.0.0.1:0 --quiet \
        $SERVE_ARGS 2> "$WORK/server.log" &
    SERVER_PID=$!
    PORT=
    tries=0
    while [ -z "$PORT" ] && [ $tries -lt 100 ]; do
        sleep 0.1
        PORT=$(sed -n 's/.* listening on .* port \([0-9]*\),.*/\1/p' "$WORK/server.log")
        tries=$((tries + 1))
    done
    [ -n "$PORT" ] || { cat "$WORK/server.log" >&2; die "the server did not start"; }
    SERVER_THREADS=$(sed -n 's/.* port [0-9]*, \([0-9]*\) threads,.*/\1/p' "$WORK/server.log")
    curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null || die "the server is not ready"
}

# stop_server: SERVER_RSS_MB from VmHWM, then SIGTERM: it must exit 0
stop_server() {
    SERVER_RSS_MB=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || { cat "$WORK/server.log" >&2; die "the server did not stop cleanly"; }
    SERVER_PID=
}

# served ROUTE: the server's count of 200 answers of POST ROUTE (/metrics)
served() {
    curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$PORT/metrics" |
        awk -v route="route=\"$1\"" '/^optiinfra_http_requests_total\{/ &&
            index($0, "method=\"POST\"") && index($0, route) && index($0, "code=\"200\"") {
                n += $NF } END { print n + 0 }'
}

# grouping: ", N requests per commit" of the SQLite writer (group commit),
# or nothing on PostgreSQL, where there is no writer
grouping() {
    curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$PORT/metrics" |
        awk '$1 == "optiinfra_write_groups_total" { g = $2 }
             $1 == "optiinfra_write_group_requests_total" { r = $2 }
             END { if (g > 0) printf ", %.1f requests per commit", r / g }'
}

# settled ROUTE: served ROUTE once the requests wrk left in flight are done
# (the count no longer moves)
settled() {
    now=$(served "$1")
    while sleep 0.5 && [ "$(served "$1")" != "$now" ]; do
        now=$(served "$1")
    done
    echo "$now"
}

# field NAME: the value after NAME on the BENCH line of $WORK/wrk.log
field() {
    awk -v name="$1" '/^BENCH / { for (i = 2; i < NF; i++) if ($i == name) print $(i + 1) }' \
        "$WORK/wrk.log"
}

# wrk_run SCRIPT CONNECTIONS: wrk on the server into $WORK/wrk.log; fails on
# any answer other than 200 and any socket error.  Sets SERVER_TICKS,
# DB_TICKS and WRK_TICKS: the CPU time of the run
wrk_run() {
    server_before=$(ticks "$SERVER_PID") db_before=$(db_ticks)
    /usr/bin/time -f '%U %S' -o "$WORK/wrk.time" wrk -c "$2" -t "$WRK_THREADS" \
        -d "${DURATION}s" --timeout 30s -s "bench/$1" "http://127.0.0.1:$PORT" \
        > "$WORK/wrk.log" 2>&1 || { cat "$WORK/wrk.log" >&2; die "wrk"; }
    SERVER_TICKS=$(($(ticks "$SERVER_PID") - server_before)) DB_TICKS=$(($(db_ticks) - db_before))
    WRK_TICKS=$(time_ticks "$WORK/wrk.time")
    grep -q '^BENCH ' "$WORK/wrk.log" || { cat "$WORK/wrk.log" >&2; die "wrk printed no result"; }
    if [ "$(field non2xx)" != 0 ] || [ "$(field socket_errors)" != 0 ]; then
        cat "$WORK/wrk.log" >&2
        tail -20 "$WORK/server.log" >&2
        die "$1: $(field non2xx) answers other than 200, $(field socket_errors) socket errors"
    fi
}

# ---- CPU time -------------------------------------------------------------------

HZ=$(getconf CLK_TCK)

# ticks PID: the CPU time (user + system, clock ticks) of process PID so far
ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# db_ticks: the database server's CPU time so far: PostgreSQL's postmaster
# and its children, alive or gone (0 for SQLite, inside its client)
db_ticks() {
    if [ "$BACKEND" = sqlite ]; then
        echo 0
        return
    fi
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$POSTMASTER/stat"
      for child in $(pgrep -P "$POSTMASTER"); do
          awk '{ print $14 + $15 }' "/proc/$child/stat" 2> /dev/null || :
      done
    } | awk '{ s += $1 } END { print s }'
}

# per_op TICKS OPS: microseconds of CPU per operation
per_op() {
    awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'
}

# time_ticks FILE: the ticks of /usr/bin/time -f '%U %S' output
time_ticks() {
    awk -v hz="$HZ" '{ printf "%.0f", ($1 + $2) * hz }' "$1"
}

# ---- measuring ------------------------------------------------------------------

# record KEY RATE P50 P99 RSS CPU COUNT: a run's figures, one line per round
# in $WORK/runs.BACKEND.KEY
record() {
    file=$WORK/runs.$BACKEND.$1
    shift
    echo "$*" >> "$file"
}

# figure KEY FIELD [max]: the median over the rounds (or the largest) of
# field FIELD (1 rate, 2 p50, 3 p99, 4 RSS, 5 CPU per op, 6 count) of KEY's runs
figure() {
    cut -d' ' -f"$2" "$WORK/runs.$BACKEND.$1" | sort -n |
        awk -v max="${3:-}" '{ v[NR] = $1 } END { print max ? v[NR] : v[int((NR + 1) / 2)] }'
}

# wrk_rate COUNT: COUNT per second of wrk's run
wrk_rate() {
    awk -v n="$1" -v s="$(field seconds)" 'BEGIN { printf "%.0f", n / s }'
}

# wrk_cpu OPS UNIT: the CPU per operation of the run, printed; CPU: its sum
wrk_cpu() {
    CPU=$(per_op $((SERVER_TICKS + WRK_TICKS + DB_TICKS)) "$1")
    echo "    CPU per $2: $CPU us = server $(per_op "$SERVER_TICKS" "$1") + wrk" \
         "$(per_op "$WRK_TICKS" "$1") + database server $(per_op "$DB_TICKS" "$1")"
}

http_heartbeats() {
    fresh oi_beats
    start_server oi_beats
    before=$(served "$HEARTBEAT_ROUTE")
    BENCH_AGENTS=$WORK/agents.txt BENCH_BEATS=$WORK/beats.txt wrk_run heartbeat.lua "$CONNECTIONS"
    ok=$(field ok)
    counted=$(($(settled "$HEARTBEAT_ROUTE") - before))
    if [ "$counted" -lt "$ok" ] || [ "$counted" -gt $((ok + CONNECTIONS)) ]; then
        die "heartbeats: wrk saw $ok acknowledged, the server counts $counted"
    fi
    "$BUILD/bench_agents" "$(url oi_beats)" check-beats "$WORK/beats.txt" > "$WORK/check.log" ||
        die "heartbeats: an acknowledged beat is not in the database"
    group=$(grouping)
    stop_server
    echo "  HTTP heartbeats: $(wrk_rate "$ok")/s; $ok acknowledged, $counted counted by the" \
         "server$group; $(cat "$WORK/check.log")"
    wrk_cpu "$ok" beat
    record http_beats "$(wrk_rate "$ok")" "$(field p50_ms)" "$(field p99_ms)" "$SERVER_RSS_MB" \
           "$CPU" "$ok"
}

# lib_heartbeats THREADS
lib_heartbeats() {
    fresh oi_lib
    db_before=$(db_ticks)
    /usr/bin/time -f '%U %S %M' -o "$WORK/time.log" "$BUILD/heartbeat_lib" "$(url oi_lib)" \
        "$WORK/agents.txt" "$1" "$DURATION" > "$WORK/lib.log" ||
        { cat "$WORK/lib.log" >&2; die "heartbeat_lib"; }
    sleep 1 # the backends' exit
    db_used=$(($(db_ticks) - db_before)) lib_ticks=$(time_ticks "$WORK/time.log")
    rss=$(awk '{ printf "%.1f", $3 / 1024 }' "$WORK/time.log")
    # "beats N seconds S rate R p50_ms P p99_ms Q"
    read -r _ beats _ _ _ rate _ p50 _ p99 < "$WORK/lib.log"
    rate=$(printf '%.0f' "$rate")
    cpu=$(per_op $((lib_ticks + db_used)) "$beats")
    echo "  library heartbeats, $1 threads: $rate/s; $beats beats"
    echo "    CPU per beat: $cpu us = library $(per_op "$lib_ticks" "$beats") + database" \
         "server $(per_op "$db_used" "$beats")"
    record "lib_beats_$1" "$rate" "$p50" "$p99" "$rss" "$cpu" "$beats"
}

http_metrics() {
    fresh oi_http_metrics
    start_server oi_http_metrics
    before=$(served "$METRICS_ROUTE")
    BENCH_BATCHES=$WORK/batch. BENCH_TOKEN=$ADMIN_TOKEN BENCH_THREADS=$WRK_THREADS \
        wrk_run metrics.lua "$METRIC_CONNECTIONS"
    accepted=$(field accepted)
    counted=$(($(settled "$METRICS_ROUTE") - before))
    stored=$(sql oi_http_metrics 'SELECT count(*) FROM agent_metrics')
    if [ "$stored" -ne $((counted * BATCH_ROWS)) ] || [ "$stored" -lt "$accepted" ]; then
        die "metrics: wrk saw $accepted rows accepted, the server counts $counted batches," \
            "the table holds $stored rows"
    fi
    group=$(grouping)
    stop_server
    echo "  HTTP metrics: $(wrk_rate "$accepted") rows/s; $accepted rows accepted, $stored" \
         "stored$group"
    wrk_cpu "$accepted" row
    record http_rows "$(wrk_rate "$accepted")" "$(field p50_ms)" "$(field p99_ms)" \
           "$SERVER_RSS_MB" "$CPU" "$accepted"
    ACCEPTED=$accepted
}

# import_metrics ROWS: the first ROWS rows of the file the batches were cut from
import_metrics() {
    fresh oi_import
    sync
    db_before=$(db_ticks)
    head -n "$1" "$WORK/rows.ndjson" |
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.log" "$BUILD/optiinfra" \
            --database-url "$(url oi_import)" metrics import - --format ndjson \
            > "$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; die "import"; }
    sleep 1 # the backend's exit
    db_used=$(($(db_ticks) - db_before))
    stored=$(sql oi_import 'SELECT count(*) FROM agent_metrics')
    [ "$stored" -eq "$1" ] || die "import: $1 rows imported, the table holds $stored"
    read -r seconds user system kb < "$WORK/time.log"
    import_ticks=$(echo "$user $system" | awk -v hz="$HZ" '{ printf "%.0f", ($1 + $2) * hz }')
    rate=$(awk -v n="$1" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    cpu=$(per_op $((import_ticks + db_used)) "$1")
    echo "  metrics import: $rate rows/s; $1 rows in $seconds s"
    echo "    CPU per row: $cpu us = optiinfra $(per_op "$import_ticks" "$1") + database server" \
         "$(per_op "$db_used" "$1")"
    record import_rows "$rate" - - "$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
           "$cpu" "$1"
}

# ---- one backend ----------------------------------------------------------------

# range KEY: "(lowest-highest)" rate of KEY's runs
range() {
    cut -d' ' -f1 "$WORK/runs.$BACKEND.$1" | sort -n |
        awk 'NR == 1 { lo = $1 } { hi = $1 } END { print "(" lo "-" hi ")" }'
}

# line LABEL KEY UNIT: a line of the backend's table: the medians, the range
# of the rates, the largest peak RSS
line() {
    printf '  %-34s %7s %-6s %-13s %8s %9s %7s %7s\n' "$1" "$(figure "$2" 1)" "$3" \
           "$(range "$2")" "$(figure "$2" 2)" "$(figure "$2" 3)" "$(figure "$2" 4 max)" \
           "$(figure "$2" 5)"
}

# ratio LABEL A B: the median over the rounds of A's rate over B's in the same
# round, against the target
ratio() {
    r=$(paste -d' ' "$WORK/runs.$BACKEND.$2" "$WORK/runs.$BACKEND.$3" |
        awk '{ print $1 / $7 }' | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')
    each=$(paste -d' ' "$WORK/runs.$BACKEND.$2" "$WORK/runs.$BACKEND.$3" |
           awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $7 }')
    verdict=$(awk -v r="$r" 'BEGIN { print (r >= 0.8 ? "pass" : "MISS") }')
    printf '  %-34s %7s  (rounds: %s; target >= 0.8: %s)\n' "$1" "$r" "$each" "$verdict"
    [ "$verdict" = pass ] || touch "$WORK/missed"
}

# table: the backend's figures, into $WORK/summary.BACKEND
table() {
    printf '%-36s %7s %-6s %-13s %8s %9s %7s %7s\n' "$BACKEND_VERSION" median "" "(range)" \
           "p50 ms" "p99 ms" "RSS MB" "CPU us"
    line "heartbeats HTTP, $CONNECTIONS connections" http_beats /s
    line "heartbeats library, $CONNECTIONS threads" "lib_beats_$CONNECTIONS" /s
    line "heartbeats library, $SERVER_THREADS threads" "lib_beats_$SERVER_THREADS" /s
    line "metrics HTTP, $METRIC_CONNECTIONS connections" http_rows rows/s
    line "metrics import (optiinfra)" import_rows rows/s
    ratio "heartbeats HTTP / library" http_beats "lib_beats_$CONNECTIONS"
    ratio "metric rows HTTP / import" http_rows import_rows
}

backend() {
    BACKEND=$1
    if [ "$BACKEND" = sqlite ]; then
        BACKEND_VERSION="SQLite $(sqlite3 --version | cut -d' ' -f1)"
    else
        export PGOPTIONS='-c client_min_messages=warning'
        BACKEND_VERSION="PostgreSQL $(psql -X -At -c 'SHOW server_version' | cut -d' ' -f1)"
        BACKEND_VERSION="$BACKEND_VERSION, fsync $(psql -X -At -c 'SHOW fsync')"
        POSTMASTER=$(head -1 "$(psql -X -At -c 'SHOW data_directory')/postmaster.pid")
    fi
    echo
    echo "$BACKEND_VERSION; $(load)"
    round=1
    while [ $round -le "$ROUNDS" ]; do
        echo " round $round"
        http_heartbeats
        lib_heartbeats "$CONNECTIONS"
        lib_heartbeats "$SERVER_THREADS"
        http_metrics
        import_metrics "$ACCEPTED"
        round=$((round + 1))
    done
    table > "$WORK/summary.$BACKEND"
}

# a failure stops the server it leaves running
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2> /dev/null || :' EXIT

if [ "${1:-}" = "--inside-pg" ]; then
    WORK=$2
    backend postgresql
    exit 0
fi

# ---- main -----------------------------------------------------------------------

which=${1:-both}
case $which in
    sqlite|postgresql|both) ;;
    *) echo "usage: sh bench/serve.sh [sqlite|postgresql|both]" >&2; exit 2 ;;
esac
for tool in wrk curl sqlite3 psql pg_virtualenv /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "serve.sh: $tool is needed" >&2; exit 1; }
done
make -s BUILD="$BUILD" all
LINK="$BUILD/liboptiinfra.a $(pkg-config --libs sqlite3 libpq jansson uuid nettle) -lm -lpthread"
for tool in bench_agents heartbeat_lib; do
    # shellcheck disable=SC2086 # LINK: several arguments
    cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -o "$BUILD/$tool" \
        "bench/$tool.c" $LINK
done
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/gen_metrics" bench/gen_metrics.c

WORK=$(mktemp -d -t optiinfra-serve.XXXXXX)
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2> /dev/null || :; rm -rf "$WORK"' EXIT
echo "optiinfra serve load benchmark: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' \
    /proc/cpuinfo | head -1)), $(uname -sr), Debian $(cat /etc/debian_version)," \
    "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); files in $(dirname "$WORK")"
# The metric rows: more than a run can send (MAX_ROW_RATE a second), for
# the first agents by the names bench_agents gives them, cut into batches.
# shellcheck disable=SC2046 # the names: one argument each
"$BUILD/gen_metrics" $((DURATION * MAX_ROW_RATE)) ndjson $(awk -v n="$BATCH_AGENTS" \
    'BEGIN { for (i = 0; i < n; i++) print "bench-agent-" sprintf("%04d", i) }') \
    > "$WORK/rows.ndjson"
split -l "$BATCH_ROWS" -a 4 -d "$WORK/rows.ndjson" "$WORK/batch."
echo "$AGENTS agents; $DURATION s per run, $ROUNDS rounds; metric batches of $BATCH_ROWS rows" \
     "($BATCH_AGENTS agents); $(load)"
[ "$which" = postgresql ] || backend sqlite
[ "$which" = sqlite ] || pg_virtualenv -t -o "fsync=${PG_FSYNC:-off}" sh "$0" --inside-pg "$WORK"
echo
echo "Summary ($(load))"
for b in sqlite postgresql; do
    [ ! -f "$WORK/summary.$b" ] || cat "$WORK/summary.$b"
done
echo "Checks passed: no answer other than 200, no socket error, every acknowledged beat and" \
     "row in the database, clean stops."
[ ! -f "$WORK/missed" ] || exit 2
