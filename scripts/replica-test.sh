#!/bin/sh
# replica-test.sh - the read-replica tests, against a real streaming replica.
#
# Usage: scripts/replica-test.sh BUILD_DIR     (inside pg_virtualenv)
#
# pg_virtualenv's cluster (the PG* variables) is the primary.  This script
# makes a hot standby of it with pg_basebackup -R (wal_level replica is the
# default, and pg_virtualenv's pg_hba.conf lets its superuser replicate over
# 127.0.0.1), starts it on a free port with its own socket folder, and runs
# the test group "replica" (tests/test_replica.c) with OI_TEST_READ_URL
# naming it.  The tests pause its replay, stop it and start it again, cut
# it off from the primary and join it again through OI_TEST_REPLICA_CTL
# (this script, "ctl stop|start|cut|join").  OI_REPLICA_RUN runs another
# command instead of the tests (a benchmark), OI_TEST_WRAP wraps the test
# binary (gdb -batch -ex run --args).  The standby is stopped and removed
# in every case (trap).  PostgreSQL refuses to run as
# root, so as root the server's commands run as the user postgres.
set -eu

bin=$("${PG_CONFIG:-pg_config}" --bindir)

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ctl DIR stop|start|cut|join: what a test does to the standby.  cut points
# its primary_conninfo at a port nobody listens on (the standby keeps
# serving what it has, its WAL receiver gone), join restores it.
if [ "${1:-}" = ctl ]; then
    dir=$2
    port=$(cat "$dir/port")
    auto=$dir/data/postgresql.auto.conf
    case $3 in
        stop) as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
        start) as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
                   -o "-p $port -k $dir -c listen_addresses=localhost" start >/dev/null ;;
        cut) as_pg cp "$auto" "$dir/auto.conf.joined"
             echo "primary_conninfo = 'host=127.0.0.1 port=1 connect_timeout=1'" |
                 as_pg tee -a "$auto" >/dev/null
             as_pg "$bin/pg_ctl" -D "$dir/data" reload >/dev/null ;;
        join) as_pg cp "$dir/auto.conf.joined" "$auto"
              as_pg "$bin/pg_ctl" -D "$dir/data" reload >/dev/null ;;
        *) echo "replica-test.sh ctl: stop, start, cut or join" >&2; exit 2 ;;
    esac
    exit 0
fi

build=${1:?usage: scripts/replica-test.sh BUILD_DIR}
dir=$(mktemp -d "${TMPDIR:-/tmp}/oi-replica.XXXXXX")
chmod 755 "$dir"
cleanup() {
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A port nobody listens on now (other clusters run on this machine).
/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' > "$dir/port"
port=$(cat "$dir/port")
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi

as_pg env PGPASSWORD="$PGPASSWORD" "$bin/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" \
    -U "$PGUSER" -D "$dir/data" -R -X stream -c fast
# Debian keeps a cluster's configuration outside its data folder: the
# standby gets the primary's pg_hba.conf and otherwise the defaults.
as_pg cp "$(psql -X -Atc 'SHOW hba_file')" "$dir/data/pg_hba.conf"
as_pg touch "$dir/data/postgresql.conf"
sh "$0" ctl "$dir" start

export OI_TEST_READ_URL="host=127.0.0.1 port=$port dbname=$PGDATABASE user=$PGUSER"
export OI_TEST_REPLICA_CTL="sh $0 ctl $dir"
if [ -n "${OI_REPLICA_RUN:-}" ]; then # another command with the replica (bench/replica_lag.c)
    sh -c "$OI_REPLICA_RUN"
    exit
fi
OI_TEST_BACKEND=postgresql OI_TEST_FILTER=${OI_TEST_FILTER:-test_replica_*} \
    OI_TEST_CLI="$build/optiinfra" ${OI_TEST_WRAP:-} "$build/optiinfra-tests"
