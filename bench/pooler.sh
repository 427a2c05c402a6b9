#!/bin/sh
# pooler.sh - named against unnamed statements, direct to PostgreSQL and
# through PgBouncer (issue 12, item 3; docs/scaling.md, "Connection
# poolers"): one command, run by hand, never by the test suite.
#
#   sh bench/pooler.sh [--rows N] [--runs K]
#
# Defaults: 200,000 metric rows, 3 runs; about 3 minutes.  Inside a
# throw-away cluster (pg_virtualenv -t, fsync off), on one database
# migrated, seeded and loaded with N rows by perf_data (bench/perf.sh's
# generator: 4 agents, 20 metric names, 30 days), analysed, it starts two
# PgBouncers (Debian's, as the postgres account when run as root), one in
# session pooling and one in transaction pooling, each with 2 server
# connections, and runs K rounds of four configurations, alternating:
#
#   direct, named        the default: server-side prepared statements
#   direct, unnamed      pool_mode=transaction on a direct connection
#   session pool, named  PgBouncer pool_mode = session, the store's default
#                        (pool_mode=session in the URL: the store would
#                        otherwise detect the pooler and go unnamed)
#   transaction pool, unnamed   PgBouncer pool_mode = transaction
#
# and in each: W4 of bench/perf.sh, 2,000 range queries through
# oi_metric_iter_new() (one agent, one metric, one day from a fixed seed;
# perf_client range-lib: p50 and p99 in ms), and W3, heartbeats through
# oi_agent_heartbeat_with() for 5 s, one thread (heartbeat_lib: beats per
# second, and the p50 of one beat).  It prints every run and, per
# configuration, the medians.
set -eu
cd "$(dirname "$0")/.."

ROWS=200000
RUNS=3
QUERIES=2000
BEAT_SECONDS=5
BUILD=${BUILD:-build/bench}

while [ $# -gt 0 ]; do
    case $1 in
        --rows) ROWS=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --inside) INSIDE=1 ;;
        *) sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
    shift
done

if [ -z "${INSIDE:-}" ]; then
    command -v pgbouncer > /dev/null || { echo "pooler.sh: install pgbouncer" >&2; exit 1; }
    make -s -j2 BUILD="$BUILD" all
    LINK="$BUILD/liboptiinfra.a $(pkg-config --libs sqlite3 libpq jansson uuid nettle) -lm -lpthread"
    for tool in perf_client heartbeat_lib; do
        # shellcheck disable=SC2046,SC2086 # LINK and the flags: several arguments
        cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude $(pkg-config --cflags libpq) \
            -o "$BUILD/$tool" "bench/$tool.c" $LINK
    done
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/perf_data" bench/perf_data.c
    export BUILD
    # Two pg_virtualenv started at the same moment can pick the same port:
    # a cluster that does not start is tried again.
    for attempt in 1 2 3; do
        pg_virtualenv -t -o fsync=off sh "$0" --inside --rows "$ROWS" --runs "$RUNS" && exit 0
        [ "$attempt" = 3 ] || { echo "pooler.sh: again (attempt $attempt failed)" >&2; sleep 5; }
    done
    exit 1
fi

OI=$BUILD/optiinfra
WORK=$(mktemp -d -t optiinfra-pooler.XXXXXX)
chmod 755 "$WORK"
# The PgBouncers' process ids, in a file: bouncer() runs in a command
# substitution, whose variables do not come back.
cleanup() {
    if [ -f "$WORK/pids" ]; then
        # shellcheck disable=SC2046 # one id a line
        kill -INT $(cat "$WORK/pids") 2> /dev/null || true
        sleep 0.5
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DIRECT="host=$PGHOST port=$PGPORT dbname=bench user=$PGUSER password=$PGPASSWORD"
psql -X -q -c "CREATE DATABASE bench"
"$OI" --database-url "$DIRECT" db upgrade > /dev/null
"$OI" --database-url "$DIRECT" seed > /dev/null
psql -X -At -F '|' -d bench -c "SELECT id, name FROM agents ORDER BY name" > "$WORK/agents"
cut -d'|' -f1 "$WORK/agents" > "$WORK/ids"
IDS=$(tr '\n' ' ' < "$WORK/ids")
"$BUILD/perf_data" "$ROWS" pg-csv 0 "$WORK/agents" > "$WORK/data.csv"
psql -X -q -v ON_ERROR_STOP=1 -d bench -c "\\copy agent_metrics (agent_id, metric_name,
    metric_value, metric_unit, collection_timestamp, metadata, created_at)
    FROM '$WORK/data.csv' CSV HEADER"
psql -X -q -d bench -c "VACUUM ANALYZE"

# bouncer MODE: a PgBouncer in MODE pooling on a free port; prints the port
bouncer() {
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf '"%s" "%s"\n' "$PGUSER" "$PGPASSWORD" > "$WORK/users.$1"
    cat > "$WORK/$1.ini" <<EOF
[databases]
* = host=$PGHOST port=$PGPORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $WORK/users.$1
pool_mode = $1
default_pool_size = 2
logfile = $WORK/$1.log
EOF
    [ "$(id -u)" != 0 ] || chown postgres "$WORK/$1.ini" "$WORK/users.$1"
    if [ "$(id -u)" = 0 ]; then
        pgbouncer -q -u postgres "$WORK/$1.ini" > /dev/null 2>&1 &
    else
        pgbouncer -q "$WORK/$1.ini" > /dev/null 2>&1 &
    fi
    echo "$!" >> "$WORK/pids"
    for _ in $(seq 50); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 0.1
    done
    echo "$port"
}
[ "$(id -u)" != 0 ] || chown postgres "$WORK"
SESSION_PORT=$(bouncer session)
TRANSACTION_PORT=$(bouncer transaction)
BOUNCED="host=127.0.0.1 dbname=bench user=$PGUSER"

config_url() {
    case $1 in
        direct-named) echo "$DIRECT" ;;
        direct-unnamed) echo "$DIRECT pool_mode=transaction" ;;
        session-named) echo "$BOUNCED port=$SESSION_PORT pool_mode=session" ;;
        transaction-unnamed) echo "$BOUNCED port=$TRANSACTION_PORT pool_mode=transaction" ;;
    esac
}

CONFIGS="direct-named direct-unnamed session-named transaction-unnamed"
echo "rows $ROWS, $QUERIES range queries, ${BEAT_SECONDS} s of heartbeats; $(nproc) CPUs," \
     "load $(cut -d' ' -f1-3 /proc/loadavg); PgBouncer $(pgbouncer --version | head -1 |
     cut -d' ' -f2), PostgreSQL $(psql -X -At -c 'SHOW server_version')"
for run in $(seq "$RUNS"); do
    for c in $CONFIGS; do
        url=$(config_url "$c")
        # shellcheck disable=SC2086 # the ids, one argument each
        range=$("$BUILD/perf_client" range-lib "$url" "$QUERIES" $IDS)
        beats=$("$BUILD/heartbeat_lib" "$url" "$WORK/ids" 1 "$BEAT_SECONDS")
        echo "$run $c $range $beats" | tee -a "$WORK/runs"
    done
done
echo
printf '%-22s %10s %10s %12s %12s\n' configuration "W4 p50 ms" "W4 p99 ms" "W3 beats/s" \
    "W3 p50 ms"
for c in $CONFIGS; do
    # run config "queries" N "rows" R "p50_ms" P "p99_ms" Q, then "beats" B
    # "seconds" S "rate" R "p50_ms" P "p99_ms" Q: the medians of P, Q, R, P
    awk -v c="$c" '$2 == c { print $8, $10, $16, $18 }' "$WORK/runs" |
        awk '{ p50[NR] = $1; p99[NR] = $2; rate[NR] = $3; beat[NR] = $4 }
             function median(a, n,   i, j, t) {
                 for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                     if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                 return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
             END { printf "%-22s %10.3f %10.3f %12.0f %12.3f\n", c, median(p50, NR),
                   median(p99, NR), median(rate, NR), median(beat, NR) }' c="$c"
done
