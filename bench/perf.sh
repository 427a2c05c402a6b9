#!/bin/sh
# perf.sh - optiinfra side by side with the databases' own tools (issue 10):
# one command, run by hand, never by the test suite.
#
#   sh bench/perf.sh [--rows N] [--runs K] [--budget S] [--latencies DIR]
#                    [--only W,...] [--http] [sqlite|postgresql|both]
#
# Defaults: 1,000,000 rows, 3 runs, both backends; 8 to 15 minutes on two
# shared CPUs (it prints the time each workload took, and how much of it
# the timed commands took).  It stops by itself: once a backend has taken S
# seconds (default 80 a run: 240 for 3 runs, 400 for 5), each of its
# workloads stops after the run under way (the first always runs), and its
# table says so (the column "runs" and a note).  At 1M rows a run of every
# workload takes about 40 (SQLite) to 50 s (PostgreSQL) on a quiet machine
# (W3 alone 10 s), more when other builds keep it busy, plus about 25 s to
# make the data once (docs/performance.md, "How to read the numbers").  With
# --latencies DIR each W4 run's per-query latencies, both sides, are kept
# in DIR/w4-BACKEND-RUN.txt.  --only w2,w4 runs those workloads alone (w1
# to w7; w5 is W5a and W5b, w6 both keys).  It builds the
# project optimised as a packager does (make BUILD=build/bench: -O2 -g) and
# its tools (bench/perf_data.c, bench/perf_client.c, bench/heartbeat_lib.c),
# generates the data set (perf_data: fixed seed, the 4 seeded agents, 20
# metric names, 30 days, values with decimals, metadata {"region", "model",
# "spot"}), and on each backend (SQLite: files under $TMPDIR, default /tmp;
# PostgreSQL: a throw-away cluster of pg_virtualenv -t, fsync off) runs every
# workload K times through optiinfra and K times through the raw tool,
# alternating (optiinfra, raw, optiinfra, raw ...), each run on the same
# kind of database:
#
#   W1  `optiinfra db upgrade` + `optiinfra seed` (the CLI) on an empty
#       database, against the raw tool (sqlite3 .read with the library's
#       PRAGMAs, psql -f; one process) replaying the script `db upgrade --sql` prints (the
#       migrations and alembic_version) and the seeded rows dumped once
#       (sqlite3 .dump --data-only, pg_dump --data-only); the triggers of
#       006 run on both sides.  Time.
#   W2  `optiinfra metrics import --format csv` (the CLI, agents by name)
#       against sqlite3's `.import --csv` / psql's `\copy ... CSV` (agent
#       ids) of the same rows, into a fresh migrated and seeded database
#       each run: N/2 rows (the generator at half the size), so that the
#       2K loads fit the time.  Rows per second, the client's CPU (user +
#       system) and peak RSS.  Checked: every row stored.
#   W3  heartbeats, one client, each beat its own transaction, 5 s, round
#       robin over the 4 seeded agents: oi_agent_heartbeat_with() (the C
#       API, bench/heartbeat_lib.c, one thread) against the same statements
#       (src/heartbeat.c) in a plain C loop over sqlite3 (perf_client
#       beat-sqlite) / pgbench -n -M prepared -c 1 -T 5 (the statements
#       with the id and status bound, now() for the client's time).  The
#       two alternate which runs first.  Beats per second.  Then, in each
#       run, "W3 interleaved": the library and the same transaction in a
#       plain C loop (sqlite3 on the same file; libpq with BEGIN and COMMIT
#       as simple queries and the statements prepared, as the library
#       sends them) in one process, turns of 25 beats each (perf_client
#       beats-sqlite|beats-pg), so that the machine's slow moments fall on
#       both: the library's own cost, which the separate runs' noise hides.
#   W4-W7 read one database holding the N rows (loaded by the raw tool,
#       untimed; checkpointed, VACUUM ANALYZE on PostgreSQL).
#   W4  2,000 range queries (one agent, one metric, one day, drawn from a
#       fixed seed), every row read: oi_metric_iter_new() (the C API)
#       against one statement prepared once (sqlite3_prepare_v2 /
#       PQprepare) with the same SQL, both in one perf_client process,
#       interleaved query by query (a slow moment of the machine falls on
#       both sides).  p50 and p99 latency of each side; the row counts of
#       every query must match.
#   W5a count/avg/min/max/p50/p95/p99 per agent and metric name (the C API:
#       oi_metric_aggregate_iter_new) against the best SQL for the same
#       answer in the sqlite3 shell / psql (nearest-rank percentiles, sums
#       in value order: src/aggregate.c; on PostgreSQL percentile_disc and
#       sum(... ORDER BY)).  Time; the answers are compared (a warning if
#       they differ).
#   W5b the same per hour for one metric name, every agent.
#   W6  `optiinfra metrics query --where KEY=VALUE --limit 0` (the CLI) >
#       /dev/null, for a selective key (model: 1 row in 50) and a common
#       one (region: 1 in 4), against the same rows selected by the sqlite3
#       shell (json_extract) / psql (metadata @> ..., which the GIN index
#       serves).  Time; the row counts must match.
#   W7  `optiinfra metrics export --format csv` (the CLI) > /dev/null
#       against `sqlite3 -csv` / psql `\copy (SELECT ...) TO STDOUT CSV` of
#       the same columns in the same order.  Time and peak RSS.
#
# With --http, bench/serve.sh runs afterwards in a short variant (one
# round, 3 s runs: ROUNDS=1 DURATION=3): HTTP heartbeats and metric ingest
# under wrk against the library's own rates (about 2 minutes more).
#
# Times are of the whole client process (start and connection included:
# perf_client time, CPU and peak RSS from getrusage); W3 and W4 measure
# inside their programs.  Before each W1, W2 and W3 run the disk is
# settled (sync; CHECKPOINT on PostgreSQL).
#
# Each backend gets a table: the median of the K runs of each side and
# their ratio.  A ratio is optiinfra / raw, for times and for rates alike:
# a time passes at or below its target (<=), a rate at or above it (>=),
# as the issue states them.  Beside it: "pairs", the lowest and highest
# ratio of run i of optiinfra to run i of the raw tool (the noise a reader
# should allow for), and on SQLite "cpu", the same ratio of the client's
# CPU seconds (the client does all of the work there; CPU time is less
# disturbed than wall time by whatever else runs).  The verdict: "met"
# when the ratio of the medians meets the target, "missed" when no pair
# meets it, "within noise" otherwise.  The machine (CPUs, load, CPU
# pressure) is printed at the start and at the end.
#
# Exit status: 1 at once when a step fails or a check fails (rows lost, row
# counts that differ), with one line saying which; 2 at the end when a
# target was "missed" (not "within noise"), or at once for a bad option;
# 0 otherwise.  Temporary files go to $TMPDIR and are removed at the end,
# or on an interrupt.  BUILD (build/bench) is where it
# builds.  docs/performance.md has the figures.
set -eu
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."

ROWS=1000000
RUNS=3
BUDGET=
HTTP=
LATENCIES=
ONLY=w1,w2,w3,w4,w5,w6,w7
WHICH=both
QUERIES=2000
BEAT_SECONDS=5
BUILD=${BUILD:-build/bench}
OI=$BUILD/optiinfra
# The tables the seed writes, parents first: the rows the raw W1 replays.
SEEDED_TABLES="customers agents events recommendations approvals optimizations agent_configs
               agent_states resource_locks lock_fences agent_capabilities agent_metrics"
EXPORT_COLUMNS="a.name, m.metric_name, m.metric_value, m.metric_unit, m.collection_timestamp,
                m.metadata"
QUERY_COLUMNS="m.collection_timestamp, a.name, m.metric_name, m.metric_value, m.metric_unit,
               m.metadata"

die() {
    echo "perf.sh: FAILED: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit "$1"
}

machine() {
    printf '%s CPUs (%s), load average %s' "$(nproc)" \
        "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -r /proc/pressure/cpu ]; then
        sed -n 's/^some .*avg60=\([0-9.]*\).*/, CPU pressure (some, 60 s) \1%/p' /proc/pressure/cpu
    else
        echo
    fi
}

# ---- measuring ------------------------------------------------------------------

# timed KEY OUT COMMAND... [--then COMMAND...]: run the commands with their
# standard output to OUT; appends "wall cpu rss_mb" (the client's, children
# included: perf_client time) to $WORK/t.KEY, and the wall time to
# $WORK/in_runs (the time of a step spent in what it measures).
timed() {
    t_key=$1 t_out=$2
    shift 2
    if ! "$BUILD/perf_client" time "$WORK/time" "$@" > "$t_out" 2> "$WORK/err"; then
        tail -3 "$WORK/err" >&2
        die "$t_key: $*"
    fi
    cat "$WORK/time" >> "$WORK/t.$t_key"
    cut -d' ' -f1 "$WORK/time" >> "$WORK/in_runs"
}

# note KEY VALUE: appends a figure measured by the program itself
note() {
    echo "$2" >> "$WORK/t.$1"
}

# row LABEL UNIT TARGET ELAPSED KEY FIELD [EXPR [cpu]]: a line of the table,
# from field FIELD of each run's line in $WORK/t.KEY.oi and $WORK/t.KEY.raw,
# taken as the awk expression EXPR of v (default v).  Run i of optiinfra is
# paired with run i of the raw tool: their ratio is the pair's.  "cpu": the
# client's CPU seconds (field 2) are compared too, on SQLite only, where the
# client process does all of the work (a PostgreSQL server's CPU is not the
# client's).  TARGET: "<=1.1" or ">=1.0" for the ratio, "<64" for
# optiinfra's own figure (its largest over the runs), "-" for none.  The
# verdict (docs/performance.md, "How to read the numbers"): "met" when the
# ratio of the medians meets the target; "missed" when no pair meets it;
# "within noise" otherwise.  The CPU ratio is for reading, not the verdict:
# wall time also counts the waits for the disk, a real cost.
row() {
    awk -v label="$1" -v unit="$2" -v target="$3" -v el="$4" \
        -v cpu="$([ "${8:-}" = cpu ] && [ "$BACKEND" = sqlite ] && echo 1)" \
        -v f="$6" -v oi="$WORK/t.$5.oi" -v raw="$WORK/t.$5.raw" '
    function load(file, v, field,   n, line, x) {
        n = 0
        while ((getline line < file) > 0) {
            split(line, x, " ")
            v[++n] = x[field] + 0
        }
        close(file)
        return n
    }
    function median(v, n,   i, j, t, w) {
        for (i = 1; i <= n; i++) w[i] = v[i]
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
        return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
    }
    function meets(r) { return op == "<=" ? r <= t : r >= t }
    BEGIN {
        n = load(oi, a, f); m = load(raw, b, f); if (m < n) n = m
        for (i = 1; i <= n; i++) { v = a[i]; a[i] = '"${7:-v}"'; v = b[i]; b[i] = '"${7:-v}"' }
        ma = median(a, n); mb = median(b, n); r = mb > 0 ? ma / mb : 0
        op = substr(target, 1, 2); spread = ""; cr = ""; verdict = ""
        if (op == "<=" || op == ">=") {
            t = substr(target, 3) + 0
            for (i = 1; i <= n; i++) {
                x = b[i] > 0 ? a[i] / b[i] : 0
                if (i == 1 || x < lo) lo = x
                if (i == 1 || x > hi) hi = x
                if (meets(x)) paired = 1
            }
            spread = sprintf("%.2f-%.2f", lo, hi)
            if (cpu) {
                load(oi, c, 2); load(raw, d, 2); mc = median(c, n); md = median(d, n)
                # a rate per CPU second for a rate, CPU seconds for a time
                x = op == "<=" ? (md > 0 ? mc / md : 0) : (mc > 0 ? md / mc : 0)
                cr = sprintf("%.2f", x)
            }
            verdict = meets(r) ? "met" : paired ? "within noise" : "missed"
        } else if (target != "-") {
            t = substr(target, 2) + 0
            for (i = 1; i <= n; i++) if (a[i] > top) top = a[i]
            verdict = top < t ? "met" : "missed"
        }
        printf "%-31s %11.6g %-3s %11.6g %-3s %5.2f %-9s %5s  %-6s %-12s %4s s %4d\n", label,
               ma, unit, mb, unit, r, spread, cr, target, verdict, el, n
        exit verdict == "missed" }' >> "$WORK/table" || : > "$WORK/missed"
}

# now: the seconds since the epoch, for the elapsed times
now() { date +%s; }

# another_run: counts the runs of a workload in $run: K of them, or fewer
# once the backend's time budget is spent (the first always runs)
another_run() {
    [ "$run" -lt "$RUNS" ] || return 1
    if [ "$run" -gt 0 ] && [ $(($(now) - backend_began)) -gt "$BUDGET" ]; then
        [ -n "$over_budget" ] ||
            echo "the backend's $BUDGET s were spent (a busy machine): later workloads" \
                 "ran fewer times (column runs)" >> "$WORK/notes"
        over_budget=1
        return 1
    fi
    run=$((run + 1))
}

# ---- the backends -----------------------------------------------------------------

# url DB: what optiinfra --database-url takes
url() {
    if [ "$BACKEND" = sqlite ]; then
        echo "sqlite:$WORK/$1.db"
    else
        echo "postgresql://$PGUSER:$PGPASSWORD@$PGHOST:${PGPORT:-5432}/$1"
    fi
}

# sql DB QUERY: the answer, "|"-separated, no header
sql() {
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 -separator '|' "$WORK/$1.db" "$2"
    else
        psql -X -At -F '|' -v ON_ERROR_STOP=1 -d "$1" -c "$2"
    fi
}

# settle: the disk and the database at rest before a timed run
settle() {
    sync
    [ "$BACKEND" = sqlite ] || psql -X -q -c CHECKPOINT
}

# empty DB: no database DB (SQLite) or an empty one (PostgreSQL)
empty() {
    if [ "$BACKEND" = sqlite ]; then
        rm -f "$WORK/$1.db" "$WORK/$1.db-wal" "$WORK/$1.db-shm"
    else
        psql -X -q -o /dev/null -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
    fi
}

# seeded DB: DB migrated to head and seeded, a copy of the database "seeded"
seeded() {
    if [ "$BACKEND" = sqlite ]; then
        empty "$1"
        cp "$WORK/seeded.db" "$WORK/$1.db"
    else
        psql -X -q -o /dev/null -c "DROP DATABASE IF EXISTS $1" \
            -c "CREATE DATABASE $1 TEMPLATE seeded"
    fi
    settle
}

# The raw tools' runs, timed (a command for /usr/bin/time, not a function).

# timed_sql KEY OUT DB QUERY: the answer, "|"-separated, no header, to OUT
timed_sql() {
    if [ "$BACKEND" = sqlite ]; then
        timed "$1" "$2" sqlite3 -bail -separator '|' "$WORK/$3.db" "$4"
    else
        timed "$1" "$2" psql -X -At -F '|' -v ON_ERROR_STOP=1 -d "$3" -c "$4"
    fi
}

# timed_replay KEY DB FILE: the SQL script FILE, one process
timed_replay() {
    if [ "$BACKEND" = sqlite ]; then
        timed "$1" /dev/null sqlite3 -bail "$WORK/$2.db" ".read $3"
    else
        timed "$1" /dev/null psql -X -q -v ON_ERROR_STOP=1 -d "$2" -f "$3"
    fi
}

# ---- the workloads ----------------------------------------------------------------

# The seeded database, the agents, the data files and the W1 script.
prepare() {
    empty seeded
    "$OI" --database-url "$(url seeded)" db upgrade > /dev/null
    "$OI" --database-url "$(url seeded)" seed > /dev/null
    sql seeded "SELECT id, name FROM agents ORDER BY name" > "$WORK/agents"
    cut -d'|' -f1 "$WORK/agents" > "$WORK/ids"
    IDS=$(tr '\n' ' ' < "$WORK/ids")
    SEEDED_METRICS=$(sql seeded "SELECT count(*) FROM agent_metrics")
    [ -f "$WORK/data.csv" ] ||
        "$BUILD/perf_data" "$INGEST_ROWS" csv 0 "$WORK/agents" > "$WORK/data.csv"
    if [ "$BACKEND" = sqlite ]; then
        format="sqlite-csv $(sql seeded 'SELECT max(id) + 1 FROM agent_metrics')"
    else
        format="pg-csv 0"
    fi
    # shellcheck disable=SC2086 # format and first id
    "$BUILD/perf_data" "$INGEST_ROWS" $format "$WORK/agents" > "$WORK/data.raw"
    # shellcheck disable=SC2086
    "$BUILD/perf_data" "$ROWS" $format "$WORK/agents" > "$WORK/data.all"
    w1_script > "$WORK/w1.sql"
}

# The raw tool's W1: the migrations as `db upgrade --sql` prints them, then
# the seeded rows in one transaction.
w1_script() {
    empty w1
    if [ "$BACKEND" = sqlite ]; then
        # the connection as the library sets it up (src/backend/sqlite.c)
        echo "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
        "$OI" --database-url "$(url w1)" db upgrade --sql
        echo "BEGIN;"
        # shellcheck disable=SC2086,SC2116 # the table names on one line
        sqlite3 "$WORK/seeded.db" ".dump --data-only $(echo $SEEDED_TABLES)"
    else
        "$OI" --database-url "$(url w1)" db upgrade --sql
        echo "BEGIN;"
        # without pg_dump's empty search_path, under which the triggers' functions fail;
        # agent_metrics is partitioned (revision 008): its rows are in its partitions,
        # which -t of the parent leaves out, and are loaded through the parent
        # shellcheck disable=SC2046,SC2086 # -t TABLE for each
        pg_dump --data-only --load-via-partition-root $(printf -- '-t %s ' $SEEDED_TABLES) \
                -t 'agent_metrics_*' seeded |
            grep -v "^SELECT pg_catalog.set_config('search_path'"
    fi
    echo "COMMIT;"
}

w1() {
    start=$(now)
    run=0
    while another_run; do
        empty w1
        settle
        timed w1.oi /dev/null "$OI" --database-url "$(url w1)" db upgrade \
            --then "$OI" --database-url "$(url w1)" seed
        [ "$run" -gt 1 ] || check_w1
        empty w1
        settle
        timed_replay w1.raw w1 "$WORK/w1.sql"
        [ "$run" -gt 1 ] || check_w1
    done
    row "W1 upgrade + seed, ms" ms "<=1.2" $(($(now) - start)) w1 1 "v * 1000" cpu
}

# The seeded tables hold what the seeded database holds, row for row.
check_w1() {
    counts=$(for t in $SEEDED_TABLES; do echo "SELECT '$t', count(*) FROM $t UNION ALL"; done)
    counts="$counts SELECT 'alembic_version', count(*) FROM alembic_version"
    [ "$(sql w1 "$counts")" = "$(sql seeded "$counts")" ] ||
        die "W1: the database built differs from the seeded one in its row counts"
}

# timed_import KEY DB FILE: the raw tool loads FILE (SQLite: foreign keys
# checked and synchronous NORMAL, as the library opens a database)
timed_import() {
    if [ "$BACKEND" = sqlite ]; then
        timed "$1" /dev/null sqlite3 -bail -cmd 'PRAGMA foreign_keys = ON' \
            -cmd 'PRAGMA synchronous = NORMAL' "$WORK/$2.db" \
            ".import --csv $3 agent_metrics"
    else
        timed "$1" /dev/null psql -X -q -v ON_ERROR_STOP=1 -d "$2" -c "\\copy agent_metrics (
            agent_id, metric_name, metric_value, metric_unit, collection_timestamp, metadata,
            created_at) FROM '$3' CSV HEADER"
    fi
}

# check_rows DB ROWS: DB holds the seeded metrics and ROWS more
check_rows() {
    n=$(sql "$1" "SELECT count(*) FROM agent_metrics")
    [ "$n" -eq $(($2 + SEEDED_METRICS)) ] ||
        die "$1 holds $n metrics, not $(($2 + SEEDED_METRICS))"
}

w2() {
    start=$(now)
    run=0
    while another_run; do
        seeded w2_oi
        timed w2.oi /dev/null "$OI" --database-url "$(url w2_oi)" metrics import --format csv \
            "$WORK/data.csv"
        check_rows w2_oi "$INGEST_ROWS"
        seeded w2_raw
        timed_import w2.raw w2_raw "$WORK/data.raw"
        check_rows w2_raw "$INGEST_ROWS"
    done
    el=$(($(now) - start))
    row "W2 ingest, rows/s" "r/s" ">=1.0" "$el" w2 1 "$INGEST_ROWS / v" cpu
    echo "W2: $INGEST_ROWS rows a run" >> "$WORK/notes"
    row "W2 client CPU, s" s - "$el" w2 2
    row "W2 peak RSS, MB" MB "<64" "$el" w2 3
    empty w2_oi
    empty w2_raw
}

# beats KEY: the rate a heartbeat program printed ("... rate R ...")
beats() {
    rate=$(sed -n 's/^\(.* \)\{0,1\}rate \([0-9.]*\).*/\2/p' "$WORK/out.beat")
    [ -n "$rate" ] || die "W3: no heartbeat rate in: $(cat "$WORK/out.beat")"
    note "$1" "$rate"
}

# timed_beats KEY: the raw tool's heartbeats; "... rate R" in $WORK/out.beat
timed_beats() {
    if [ "$BACKEND" = sqlite ]; then
        # shellcheck disable=SC2086 # the ids, one argument each
        timed "$1" "$WORK/out.beat" "$BUILD/perf_client" beat-sqlite "$WORK/w3.db" \
            "$BEAT_SECONDS" $IDS
    else
        # shellcheck disable=SC2046 # -D aN=ID for each agent
        timed "$1" "$WORK/out.pgbench" pgbench -n -M prepared -c 1 -T "$BEAT_SECONDS" \
            -f "$WORK/beat.pgbench" $(awk '{ printf "-D a%d=%s ", NR, $1 }' "$WORK/ids") \
            -D status=healthy w3
        # the script beats every agent once: one transaction of pgbench is a beat per agent
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/out.pgbench" |
            awk -v n="$(wc -l < "$WORK/ids")" '{ printf "rate %.1f\n", $1 * n }' > "$WORK/out.beat"
    fi
}

# The pgbench script: for each agent, the transaction oi_agent_heartbeat_with()
# runs, its statements as src/heartbeat.c writes them, the agent's id and the
# status bound as the library binds them (-M prepared).  The time is now():
# it must move at every beat as the library's does (a constant one would let
# PostgreSQL update agents in place, HOT, without a new entry in
# ix_agents_last_heartbeat: a cheaper write than the library's, 2% fewer
# server instructions a beat under callgrind), and pgbench has no timestamp
# variable; the library's bound text costs the server one timestamptz parse.
pgbench_script() {
    n=1
    while read -r _; do
        cat <<EOF
BEGIN;
UPDATE agents SET last_heartbeat = CASE WHEN last_heartbeat > now() THEN last_heartbeat ELSE now() END, status = COALESCE(:status, status), metadata = COALESCE(NULL, metadata), updated_at = now() WHERE id = :a$n RETURNING id;
INSERT INTO agent_states (agent_id, last_heartbeat, created_at, updated_at) VALUES (:a$n, now(), now(), now()) ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = CASE WHEN agent_states.last_heartbeat > excluded.last_heartbeat THEN agent_states.last_heartbeat ELSE excluded.last_heartbeat END, updated_at = excluded.updated_at;
COMMIT;
EOF
        n=$((n + 1))
    done < "$WORK/ids"
}

w3_library() {
    settle
    timed w3.cpu.oi "$WORK/out.beat" "$BUILD/heartbeat_lib" "$(url w3)" "$WORK/ids" 1 \
        "$BEAT_SECONDS"
    beats w3.oi
}

w3_raw() {
    settle
    timed_beats w3.cpu.raw
    beats w3.raw
}

# Both sides in one process, turn by turn: the rates in $WORK/out.beats.
w3_interleaved() {
    if [ "$BACKEND" = sqlite ]; then
        kind=sqlite target=$WORK/w3.db
    else
        kind=pg target=dbname=w3
    fi
    settle
    # shellcheck disable=SC2086 # the ids, one argument each
    timed w3i.both "$WORK/out.beats" "$BUILD/perf_client" "beats-$kind" "$(url w3)" \
        "$target" "$BEAT_SECONDS" $IDS
    note w3i.oi "$(awk '{ print $2 }' "$WORK/out.beats")"
    note w3i.raw "$(awk '{ print $4 }' "$WORK/out.beats")"
}

w3() {
    start=$(now)
    [ "$BACKEND" = sqlite ] || pgbench_script > "$WORK/beat.pgbench"
    seeded w3
    run=0
    while another_run; do
        # Which goes first alternates: a run's order must not favour a side.
        if [ $((run % 2)) = 1 ]; then w3_library; w3_raw; else w3_raw; w3_library; fi
        w3_interleaved
    done
    row "W3 heartbeats/s, 1 client" "b/s" ">=0.95" $(($(now) - start)) w3 1
    row "W3 interleaved, raw C loop" "b/s" ">=0.95" $(($(now) - start)) w3i 1
    empty w3
}

# pooled_p99 FIELD FILE...: the p99 (nearest rank) of field FIELD of every
# line but the header of the latency files, in ms
pooled_p99() {
    f=$1
    shift
    tail -q -n +2 "$@" | awk -v f="$f" '{ print $f }' | sort -g |
        awk '{ v[NR] = $1 } END { r = int((NR * 99 + 99) / 100); print v[r] / 1000 }'
}

# W4: both sides in one perf_client process, query by query (bench/perf_client.c):
# a slow moment of the machine costs both alike.  Each run notes "p50 p99"
# of each side, and its per-query latencies are kept (in --latencies DIR, or
# $WORK) for the p99 of all runs' queries together: K times the tail's sample.
w4() {
    start=$(now)
    if [ "$BACKEND" = sqlite ]; then
        kind=sqlite target=$WORK/q.db
    else
        kind=pg target=dbname=q
    fi
    run=0
    rm -f "${LATENCIES:-$WORK}"/w4-"$BACKEND"-*.txt
    while another_run; do
        # shellcheck disable=SC2086 # the ids, one argument each
        timed w4.both "$WORK/out.range" "$BUILD/perf_client" "range-$kind" --latencies \
            "${LATENCIES:-$WORK}/w4-$BACKEND-$run.txt" "$(url q)" "$target" "$QUERIES" $IDS
        note w4.oi "$(awk '{ print $6, $8 }' "$WORK/out.range")"
        note w4.raw "$(awk '{ print $10, $12 }' "$WORK/out.range")"
    done
    el=$(($(now) - start))
    row "W4 range query p50, ms" ms "<=1.1" "$el" w4 1
    row "W4 range query p99, ms" ms "<=1.1" "$el" w4 2
    pooled_p99 2 "${LATENCIES:-$WORK}"/w4-"$BACKEND"-*.txt > "$WORK/t.w4pool.oi"
    pooled_p99 3 "${LATENCIES:-$WORK}"/w4-"$BACKEND"-*.txt > "$WORK/t.w4pool.raw"
    row "W4 p99, all $run runs' queries" ms "<=1.1" "$el" w4pool 1
    echo "W4: $QUERIES queries, $(awk '{ print $4 }' "$WORK/out.range") rows each run," \
         "both sides in one process, interleaved" >> "$WORK/notes"
}

# same_stats NAME A B: the two answers agree (counts, min, max and the
# percentiles exactly, averages within 1e-12): a warning if not
same_stats() {
    sort "$2" > "$2.sorted"
    sort "$3" > "$3.sorted"
    if ! awk -F'|' 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { split(a[FNR], x, "|"); k = NF - 7
          if (x[1] != $1 || (k == 2 && x[2] != $2)) bad = 1
          for (i = k + 1; i <= NF; i++) {
              d = x[i] - $i; if (d < 0) d = -d; m = $i < 0 ? -$i : $i
              if (d > (i == k + 2 ? 1e-12 * m : 1e-13 * m)) bad = 1 } }
        END { exit bad || FNR != n || n == 0 }' "$2.sorted" "$3.sorted"; then
        echo "WARNING: $1: optiinfra's answer and the raw SQL's differ" \
            "($(wc -l < "$2.sorted") and $(wc -l < "$3.sorted") groups)" | tee -a "$WORK/notes" >&2
    fi
}

# stats KEY OPTIINFRA_MODE...: W5's two sides, compared on the first run
stats() {
    key=$1 label=$2 sqlfile=$3
    shift 3
    start=$(now)
    run=0
    while another_run; do
        timed "$key.oi" "$WORK/out.oi" "$BUILD/perf_client" "$@"
        timed_sql "$key.raw" "$WORK/out.raw" q "$(cat "$sqlfile")"
        [ "$run" -gt 1 ] || same_stats "$key" "$WORK/out.oi" "$WORK/out.raw"
    done
    row "$label" s "<=1.1" $(($(now) - start)) "$key" 1 v cpu
}

# The raw SQL of W5: the library's definitions (src/aggregate.c), written
# as each database computes them fastest.
stats_sql() {
    keys=$1 where=$2
    if [ "$BACKEND" = sqlite ]; then
        cat <<EOF
WITH r AS (SELECT $keys AS k, metric_value AS v,
                  row_number() OVER w AS rn, count(*) OVER p AS n, sum(metric_value) OVER w AS s
           FROM agent_metrics $where
           WINDOW p AS (PARTITION BY $keys),
                  w AS (p ORDER BY metric_value ROWS UNBOUNDED PRECEDING))
SELECT k, max(n), max(CASE WHEN rn = n THEN s END) / max(n), min(v), max(v),
       min(CASE WHEN rn * 100 >= 50 * n THEN v END), min(CASE WHEN rn * 100 >= 95 * n THEN v END),
       min(CASE WHEN rn * 100 >= 99 * n THEN v END)
FROM r GROUP BY k
EOF
    else
        cat <<EOF
SELECT k, n, s / n, lo, hi, p[1], p[2], p[3] FROM (
  SELECT $keys AS k, count(*) AS n, sum(metric_value ORDER BY metric_value) AS s,
         min(metric_value) AS lo, max(metric_value) AS hi,
         percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY metric_value) AS p
  FROM agent_metrics $where GROUP BY 1) g
EOF
    fi
}

w5() {
    if [ "$BACKEND" = sqlite ]; then
        by_agent="agent_id || '|' || metric_name"
        hour="unixepoch(substr(collection_timestamp, 1, 19)) / 3600 * 3600"
    else
        by_agent="agent_id || '|' || metric_name"
        hour="floor(extract(epoch FROM collection_timestamp) / 3600)::bigint * 3600"
    fi
    stats_sql "$by_agent" "" > "$WORK/w5a.sql"
    stats_sql "$hour" "WHERE metric_name = 'gpu_utilization'" > "$WORK/w5b.sql"
    stats w5a "W5a aggregate by agent, name, s" "$WORK/w5a.sql" aggregate "$(url q)"
    stats w5b "W5b hourly buckets, s" "$WORK/w5b.sql" buckets "$(url q)" gpu_utilization
}

# search KEY VALUE: W6 for one condition; the row counts must agree
search() {
    key=w6.$1 start=$(now)
    if [ "$BACKEND" = sqlite ]; then
        cond="json_extract(m.metadata, '\$.$1') = '$2'"
    else
        cond="m.metadata @> '{\"$1\": \"$2\"}'"
    fi
    select="SELECT $QUERY_COLUMNS FROM agent_metrics m JOIN agents a ON a.id = m.agent_id
            WHERE $cond ORDER BY m.collection_timestamp, m.id"
    want=$(sql q "SELECT count(*) FROM agent_metrics m WHERE $cond")
    got=$("$OI" --database-url "$(url q)" --json metrics query --where "$1=$2" --limit 0 |
          grep -o '"metric_name"' | wc -l)
    [ "$got" = "$want" ] || die "W6: --where $1=$2 gave $got rows, the SQL $want"
    run=0
    while another_run; do
        timed "$key.oi" /dev/null "$OI" --database-url "$(url q)" metrics query \
            --where "$1=$2" --limit 0
        timed_sql "$key.raw" /dev/null q "$select"
    done
    row "W6 metadata $1=$2, s" s "<=1.1" $(($(now) - start)) "$key" 1 v cpu
    echo "W6 $1=$2: $want rows" >> "$WORK/notes"
}

# W6: a selective key (1 row in 50) and a common one (1 in 4)
w6() {
    search model model-07
    search region us-east
}

# timed_export KEY OUT: the raw tool's CSV of what `metrics export` writes
timed_export() {
    select="SELECT $EXPORT_COLUMNS FROM agent_metrics m JOIN agents a ON a.id = m.agent_id
            ORDER BY m.id"
    if [ "$BACKEND" = sqlite ]; then
        timed "$1" "$2" sqlite3 -bail -csv -header "$WORK/q.db" "$select"
    else
        timed "$1" "$2" psql -X -q -v ON_ERROR_STOP=1 -d q -c "\\copy ($select) TO STDOUT CSV HEADER"
    fi
}

w7() {
    start=$(now)
    run=0
    while another_run; do
        timed w7.oi "$WORK/out.oi" "$OI" --database-url "$(url q)" metrics export --format csv
        timed_export w7.raw "$WORK/out.raw"
        a=$(wc -l < "$WORK/out.oi") b=$(wc -l < "$WORK/out.raw")
        [ "$a" = "$b" ] || die "W7: the export has $a lines, the raw tool's $b"
    done
    el=$(($(now) - start))
    row "W7 export, s" s "<=1.1" "$el" w7 1 v cpu
    row "W7 peak RSS, MB" MB "<64" "$el" w7 3
}

# The database of W4-W7: every row, loaded by the raw tool (the fastest way:
# the rows are stored as optiinfra stores them), at rest.
query_database() {
    seeded q
    timed_import load q "$WORK/data.all"
    check_rows q "$ROWS"
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 "$WORK/q.db" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
    else
        # the raw load put every row in the default partition (revision 008):
        # `db maintain` makes their months' partitions and moves them there, so
        # that W4 to W7 read the table as a store that imports its rows has it
        "$OI" --database-url "$(url q)" db maintain > /dev/null
        psql -X -q -d q -c "VACUUM ANALYZE"
    fi
    settle
}

# where_the_time_went STEP BEGAN: a step's time since BEGAN (date +%s.%N),
# and how much of it the timed commands took (the rest: databases made,
# data loaded, checks)
where_the_time_went() {
    awk -v step="$1" -v el="$(date +%s.%N | awk -v b="$2" '{ print $1 - b }')" -v runs="$run" '
    { t += $1 } END {
        printf "  %s: %.1f s", step, el
        if (NR) printf " (%.1f s in %d timed commands, %d runs; %.1f s around them)", t, NR, runs,
                       el - t
        printf "\n" }' "$WORK/in_runs"
}

backend() {
    BACKEND=$1
    if [ "$BACKEND" = sqlite ]; then
        version="SQLite $(sqlite3 --version | cut -d' ' -f1)"
    else
        export PGOPTIONS='-c client_min_messages=warning'
        version="PostgreSQL $(psql -X -At -c 'SHOW server_version')"
    fi
    echo
    echo "$version: $ROWS rows, $RUNS runs; $(machine)"
    rm -f "$WORK"/t.*
    : > "$WORK/table"
    : > "$WORK/notes"
    backend_began=$(now)
    over_budget=
    steps=
    for step in prepare w1 w2 query_database w3 w4 w5 w6 w7; do
        case $step,$ONLY, in
            prepare,*) steps=prepare ;;
            query_database,*w[4-7],*) steps="$steps $step" ;; # W4 to W7 read every row
            *) case ",$ONLY," in *",$step,"*) steps="$steps $step" ;; esac ;;
        esac
    done
    for step in $steps; do
        began=$(date +%s.%N)
        : > "$WORK/in_runs"
        run=0
        $step
        where_the_time_went "$step" "$began"
    done
    echo
    echo "$version, $ROWS rows, medians of the runs (ratio = optiinfra / raw, times and rates" \
         "alike: a time passes at <= target, a rate at >= target; pairs: the lowest and" \
         "highest ratio of run i of one side to run i of the other; cpu: the ratio of the" \
         "client's CPU time; docs/performance.md says how the verdict is reached)"
    printf "%-31s %15s %15s %5s %-9s %5s  %-6s %-12s %6s %4s\n" workload optiinfra "raw tool" \
        ratio pairs cpu target verdict elapsed runs
    cat "$WORK/table"
    sed 's/^/  /' "$WORK/notes"
}

# ---- main ----------------------------------------------------------------------

# The PostgreSQL part, in a cluster of its own; started again (up to three
# times) when the cluster does not start: two pg_virtualenv started at the
# same moment on a shared machine can pick the same port.
postgresql() {
    for attempt in 1 2 3; do
        pg_virtualenv -t sh "$0" --inside-pg "$WORK" "$ROWS" "$RUNS" "$INGEST_ROWS" "$BUDGET" \
            "$LATENCIES" "$ONLY" &&
            return 0
        [ ! -f "$WORK/pg.started" ] || die "the PostgreSQL part"
        echo "pg_virtualenv failed to start a cluster (attempt $attempt); again" >&2
        sleep 5
    done
    die "pg_virtualenv could not start a cluster"
}

if [ "${1:-}" = "--inside-pg" ]; then
    WORK=$2 ROWS=$3 RUNS=$4 INGEST_ROWS=$5 BUDGET=$6 LATENCIES=$7 ONLY=$8
    : > "$WORK/pg.started"
    backend postgresql
    exit 0 # a miss is in $WORK/missed: pg_virtualenv prints the server's log on a failure
fi

while [ $# -gt 0 ]; do
    case $1 in
        --rows) ROWS=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --budget) BUDGET=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --latencies)
            LATENCIES=$(cd "$CALLER_DIR" && cd "$2" 2> /dev/null && pwd) || {
                echo "perf.sh: --latencies $2: not a directory (make it first)" >&2
                exit 2
            }
            shift ;;
        --http) HTTP=1 ;;
        -h|--help) usage 0 ;;
        sqlite|postgresql|both) WHICH=$1 ;;
        *) usage 2 >&2 ;;
    esac
    shift
done
case $ROWS$RUNS$BUDGET in *[!0-9]*) usage 2 >&2 ;; esac
case ,$ONLY, in
    *,,*) echo "perf.sh: --only \"$ONLY\": an empty name (w1 to w7, comma-separated)" >&2
          exit 2 ;;
esac
for w in $(echo "$ONLY" | tr , ' '); do
    case $w in
        w[1-7]) ;;
        *) echo "perf.sh: --only $ONLY: \"$w\" is not a workload (w1 to w7, comma-separated)" >&2
           exit 2 ;;
    esac
done
# 80 s a run: the K runs of every workload at 1M rows on a busy machine
# (about 60 s a run when quiet, docs/performance.md), and the data's load
BUDGET=${BUDGET:-$((80 * RUNS))}
if [ "$ROWS" -lt 2 ] || [ "$RUNS" -lt 1 ]; then usage 2 >&2; fi
# W2 loads half the rows a run: six loads of every row take 6 of the 15
# minutes per backend on this machine when it is busy
INGEST_ROWS=$((ROWS / 2))
for tool in sqlite3 psql pg_dump pgbench pg_virtualenv /usr/bin/time pkg-config; do
    command -v "$tool" > /dev/null || die "$tool is needed"
done

begin=$(now)
make -s -j2 BUILD="$BUILD" all
LINK="$BUILD/liboptiinfra.a $(pkg-config --libs sqlite3 libpq jansson uuid nettle) -lm -lpthread"
for tool in perf_client heartbeat_lib; do
    # shellcheck disable=SC2046,SC2086 # LINK and the flags: several arguments
    cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude $(pkg-config --cflags libpq) \
        -o "$BUILD/$tool" "bench/$tool.c" $LINK
done
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/perf_data" bench/perf_data.c

WORK=$(mktemp -d -t optiinfra-perf.XXXXXX)
export BUILD
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
echo "$("$OI" --version | head -1), built in $(($(now) - begin)) s;" \
     "$(uname -sr), Debian $(cat /etc/debian_version), $(cc --version | head -1);" \
     "files in $(dirname "$WORK")"
[ "$WHICH" = postgresql ] || backend sqlite
[ "$WHICH" = sqlite ] || postgresql
echo
echo "Done in $(($(now) - begin)) s; $(machine)"
if [ -n "$HTTP" ]; then
    echo "HTTP (bench/serve.sh, one round of 3 s runs):"
    ROUNDS=1 DURATION=3 BUILD=$BUILD sh bench/serve.sh "$WHICH" || [ $? = 2 ] ||
        die "bench/serve.sh"
fi
# the PostgreSQL part leaves its misses in $WORK/missed too
[ ! -f "$WORK/missed" ] || exit 2
