#!/bin/sh
# browser-test.sh - the web console in a real browser (issue 11): headless
# Chromium driven by tests/browser/console_test.py against `optiinfra serve`.
#
#   sh scripts/browser-test.sh OPTIINFRA_BINARY SCREENSHOT_DIR
#
# Builds nothing.  Prepares a throw-away SQLite database the way an operator
# would, with the CLI: schema, seed, a day of metrics and a secret config for
# one agent, one agent stale, one named like an HTML injection, and an admin
# token; starts the server on a free loopback port; runs the test; stops the
# server whatever happened (trap), so no server outlives the run.  The token
# and the secret reach the test through the environment, never on a command
# line (ps shows those).
#
# Needs chromium, chromium-driver and python3-selenium (scripts/deps.sh
# --test).  Debian's /usr/bin/python3, not whatever `python3` is on PATH: the
# selenium package is installed for that one.
set -eu

if [ $# != 2 ]; then
    echo "usage: sh scripts/browser-test.sh OPTIINFRA_BINARY SCREENSHOT_DIR" >&2
    exit 2
fi
cli=$1
shots=$2
[ -x "$cli" ] || { echo "browser-test: $cli is not an executable: build it first (make)" >&2; exit 2; }
case "$cli" in /*) ;; *) cli="$PWD/$cli" ;; esac
if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ] ||
   ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    echo "browser-test: chromium, chromium-driver or python3-selenium is missing: run sh scripts/deps.sh --test" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d -t optiinfra-browser.XXXXXX)
server_pid=
# shellcheck disable=SC2317 # called by the trap
stop() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

export OPTIINFRA_DATABASE_URL="sqlite:$work/console.db"
"$cli" db upgrade > /dev/null
"$cli" seed > /dev/null

# A day of metrics for one seeded agent, every 30 minutes, so that the agent
# page has a line to draw in its 24 h range.  Values follow a fixed pattern:
# the test only needs points, not realism.
metrics_agent="Cost Optimizer"
now=$(date -u +%s)
{
    echo "agent,metric_name,metric_value,metric_unit,collection_timestamp"
    i=0
    while [ $i -lt 48 ]; do
        at=$(date -u -d "@$((now - 86400 + i * 1800))" +%Y-%m-%dT%H:%M:%SZ)
        echo "$metrics_agent,gpu_spend_usd,$((300 + (i * 37) % 120)).5,usd,$at"
        echo "$metrics_agent,pending_recommendations_count,$(((i * 5) % 7)),count,$at"
        i=$((i + 1))
    done
} > "$work/metrics.csv"
"$cli" metrics import "$work/metrics.csv" > /dev/null

# One agent stale, so that the fleet shows every health and a heartbeat has a
# visible effect.  No command backdates a heartbeat (rightly), so SQL does, in
# both places the schema keeps it: agent_states (what health is computed
# from) and its copy in agents.
stale_agent="Resource Allocator"
sqlite3 "$work/console.db" "
    UPDATE agent_states SET last_heartbeat = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-2 hours')
     WHERE agent_id = (SELECT id FROM agents WHERE name = '$stale_agent');
    UPDATE agents SET last_heartbeat = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-2 hours')
     WHERE name = '$stale_agent';"
[ "$("$cli" agents --json | grep -c '"health": "stale"')" = 1 ] ||
    { echo "browser-test: could not make $stale_agent stale: the schema changed?" >&2; exit 1; }

# A secret the agent page must mask until an admin reveals it; from stdin, as
# a secret should travel (not on a command line).
secret="sk-browser-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
printf '%s' "$secret" |
    "$cli" config set "$metrics_agent" billing_api_key --stdin --sensitive > /dev/null

token=$("$cli" token create --admin --label browser-test | tail -n 1)

# Port 0: the server takes a free port and names it on stderr.
"$cli" serve --listen 127.0.0.1:0 --threads 2 2> "$work/serve.log" &
server_pid=$!
port=
tries=0
while [ -z "$port" ]; do
    port=$(sed -n 's/^optiinfra serve: listening on .* port \([0-9]*\),.*/\1/p' "$work/serve.log")
    if [ -z "$port" ]; then
        tries=$((tries + 1))
        if [ $tries -gt 300 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "browser-test: optiinfra serve did not start listening within 30 s:" >&2
            cat "$work/serve.log" >&2
            exit 1
        fi
        sleep 0.1
    fi
done
url="http://127.0.0.1:$port"

# The hostile name goes in through the API, as any client could send it
# (curl reads the token's header from a file: its command line is public),
# and holds a lock, so that the name is also on the locks page.
hostile='<img src=x onerror=alert(1)>'
echo "Authorization: Bearer $token" > "$work/auth"
curl -sf -o /dev/null -X POST -H @"$work/auth" -H 'Content-Type: application/json' \
    -d "{\"type\": \"batch\", \"name\": \"$hostile\", \"version\": \"0.1.0\"}" "$url/v1/agents" ||
    { echo "browser-test: registering the hostile agent failed" >&2; exit 1; }
"$cli" lock acquire "$hostile" batch_queue --ttl 10m > /dev/null

mkdir -p "$shots"
# Every wait of the test has its own timeout; this one is for a browser that
# hangs.  SIGINT: Python unwinds and closes the browser (console_test.py's main).
limit=240
status=0
OI_BROWSER_URL=$url OI_BROWSER_TOKEN=$token OI_BROWSER_CLI=$cli \
OI_BROWSER_SERVER_LOG="$work/serve.log" OI_BROWSER_HOSTILE_NAME=$hostile \
OI_BROWSER_METRICS_AGENT=$metrics_agent OI_BROWSER_STALE_AGENT=$stale_agent \
OI_BROWSER_SECRET_KEY=billing_api_key OI_BROWSER_SECRET=$secret \
    timeout -s INT $limit /usr/bin/python3 "$here/tests/browser/console_test.py" "$shots" || status=$?
[ $status != 124 ] || echo "browser-test: the test did not finish within $limit s: stopped"

# SIGTERM: the server finishes its requests and exits 0 (service.md); anything
# else (a crash, a sanitizer's report when given build/asan's binary) fails.
kill "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
if [ $server_status != 0 ]; then
    echo "browser-test: optiinfra serve exited $server_status after SIGTERM, not 0"
    status=1
fi
if [ $status != 0 ]; then
    echo "--- the server's log (last 30 lines)"
    tail -n 30 "$work/serve.log"
fi
exit $status
