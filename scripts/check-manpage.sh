#!/bin/sh
# check-manpage.sh - docs/optiinfra.1 says what the CLI's help says.
#
# Usage: check-manpage.sh CLI [MANPAGE]
# Reads `CLI --help` and `CLI COMMAND --help` for every command it lists,
# and the man page (default docs/optiinfra.1), and reduces both to the same
# facts, one a line:
#   command PATH            a command (`.SS PATH` in COMMANDS)
#   option PATH --OPT       an option of the command's usage line or Options
#                           section (`.SS PATH` of the page)
#   global --OPT            a global option (OPTIONS of the page)
#   exit N                  an exit code (EXIT STATUS)
#   env NAME                an environment variable the help names ($NAME;
#                           ENVIRONMENT of the page, which may name more)
#   version X.Y.Z           `CLI --version` (the page's .TH footer)
# and fails listing the facts of one side missing from the other, so that
# the page cannot drift from the tool.  Then, when groff is installed, the
# page must render with no warning (groff -man -Tutf8 -ww).
set -eu
cli=${1:?usage: check-manpage.sh CLI [MANPAGE]}
page=${2:-docs/optiinfra.1}
tmp=$(mktemp -d -t optiinfra-manpage.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0

# ---- the CLI's facts ----------------------------------------------------

"$cli" --help > "$tmp/help"
{
    awk '
        /^Commands:/ { commands = 1; next }
        /^Global options/ { commands = 0; globals = 1; next }
        /^Exit codes:/ { globals = 0; codes = 1; next }
        /^$/ { commands = 0; globals = 0; codes = 0 }
        commands && /^  [a-z]/ {
            path = ""
            for (i = 1; i <= NF && $i ~ /^[a-z][a-z_]*$/; i++) path = path (path ? " " : "") $i
            print "command " path
        }
        globals && /^  -/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^--?[a-z]/) { o = $i; sub(/[^a-z0-9-].*$/, "", o); print "global " o }
        }
        codes && /^  [0-9]+  / { print "exit " $1 }
        { s = $0
          while (match(s, /\$[A-Z][A-Z0-9_]*/)) { print "env " substr(s, RSTART + 1, RLENGTH - 1); s = substr(s, RSTART + RLENGTH) } }
    ' "$tmp/help"
    echo "version $("$cli" --version | awk '{ print $NF }')"
} > "$tmp/cli"

# Each command's options: its usage line and its "Options:" section.
sed -n 's/^command //p' "$tmp/cli" | sh "$(dirname "$0")/command-options.sh" "$cli" |
    awk -F'|' '{ print "option " $1 " " $2 }' >> "$tmp/cli"

# ---- the man page's facts -----------------------------------------------

awk '
    /^\.\\"/ { next }
    { gsub(/\\f[BIRP]/, ""); gsub(/\\-/, "-"); gsub(/\\&|\\c/, "") }
    /^\.TH / { for (i = 1; i < NF; i++) if ($i == "\"optiinfra") { v = $(i + 1); sub(/"$/, "", v); print "version " v } }
    /^\.SH / { section = $0; sub(/^\.SH +/, "", section); gsub(/"/, "", section); command = ""; next }
    /^\.SS / && section == "COMMANDS" {
        command = $0; sub(/^\.SS +/, "", command); gsub(/"/, "", command)
        print "command " command
        next
    }
    section == "EXIT STATUS" && /^\.B [0-9]+$/ { print "exit " $2 }
    section == "ENVIRONMENT" && /^\.BR? / {
        for (i = 2; i <= NF; i++) { n = $i; gsub(/[",]/, "", n); if (n ~ /^[A-Z][A-Z0-9_]+$/) print "env " n }
    }
    section == "OPTIONS" || command != "" {
        s = $0
        while (match(s, /(^|[^a-z0-9-])--?[a-z][a-z0-9-]*/)) {
            o = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
            sub(/^[^-]/, "", o)
            if (command != "" && o ~ /^--/) print "option " command " " o
            else if (command == "" && /^\.(TP|B|BR|BI) / && prev == ".TP") print "global " o
        }
    }
    { prev = $1 }
' "$page" > "$tmp/page"

LC_ALL=C sort -u "$tmp/cli" > "$tmp/cli.sorted"
LC_ALL=C sort -u "$tmp/page" > "$tmp/page.sorted"
missing=$(LC_ALL=C comm -23 "$tmp/cli.sorted" "$tmp/page.sorted")
extra=$(LC_ALL=C comm -13 "$tmp/cli.sorted" "$tmp/page.sorted" | grep -v '^env ' || true)
echo "$(grep -c '^command ' "$tmp/cli.sorted") commands, $(grep -c '^option ' "$tmp/cli.sorted") command options, $(grep -c '^global ' "$tmp/cli.sorted") global options, $(grep -c '^exit ' "$tmp/cli.sorted") exit codes in the help of $cli"
if [ -n "$missing" ]; then
    echo "in the help, missing from $page:"
    printf '%s\n' "$missing" | sed 's/^/  /'
    status=1
fi
if [ -n "$extra" ]; then
    echo "in $page, not in the help:"
    printf '%s\n' "$extra" | sed 's/^/  /'
    status=1
fi
[ $status = 0 ] && echo "$page lists every one of them, and nothing else"

# ---- rendering ----------------------------------------------------------

if command -v groff > /dev/null 2>&1; then
    if groff -man -Tutf8 -ww -z "$page" > "$tmp/groff" 2>&1 && [ ! -s "$tmp/groff" ]; then
        echo "groff -man -Tutf8 -ww renders $page without warnings"
    else
        echo "groff -man -Tutf8 -ww warns about $page:"
        cat "$tmp/groff"
        status=1
    fi
else
    echo "groff is not installed: rendering not checked"
fi
exit $status
