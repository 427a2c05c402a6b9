#!/bin/sh
# deps.sh - install the Debian packages optiinfra needs, if any is missing.
#
#   sh scripts/deps.sh          what building and running need (libjs-chart.js:
#                               Chart.js, compiled into the web console)
#   sh scripts/deps.sh --test   also what the test suite needs (PostgreSQL
#                               server, cmocka, gcovr; clang with libFuzzer's
#                               runtime, libclang-rt-14-dev, which clang does
#                               not pull in, and llvm-symbolizer, for make fuzz;
#                               headless Chromium, its driver and selenium for
#                               the web console's browser test; pgbouncer
#                               for the PgBouncer tests)
#
# As root it runs apt-get (update first, only when something is missing);
# otherwise it prints the exact command to run and exits 1.
set -eu

build_pkgs="gcc make pkg-config libc6-dev libsqlite3-dev sqlite3 libpq-dev libjansson-dev uuid-dev nettle-dev libmicrohttpd-dev libjs-chart.js"
test_pkgs="postgresql postgresql-common libcmocka-dev gcovr libcurl4-openssl-dev prometheus libjson-validator-perl python3-sqlalchemy python3-psycopg2 clang libclang-rt-14-dev llvm"
# scripts/browser-test.sh (curl: it registers an agent).  fonts-liberation is
# only a Recommends of chromium, which --no-install-recommends skips: without
# it the screenshots' text falls back to whatever font is there.
test_pkgs="$test_pkgs chromium chromium-driver python3-selenium fonts-liberation curl"
# tests/test_pgbouncer.c starts its own PgBouncer (transaction pooling).
test_pkgs="$test_pkgs pgbouncer"

case "${1:-}" in
    "") pkgs=$build_pkgs ;;
    --test) pkgs="$build_pkgs $test_pkgs" ;;
    *) echo "usage: sh scripts/deps.sh [--test]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # one word per package
apt-get install -y -q --no-install-recommends $missing
