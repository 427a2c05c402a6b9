#!/bin/sh
# check-completion.sh - the bash completion completes what the help lists.
#
# Usage: check-completion.sh CLI [COMPLETION]
# For every command of `CLI --help` ("metrics import"), each of its words
# must be offered after the words before it (with and without `help` in
# front), and every option of `CLI COMMAND --help` (its usage line and
# Options section) must be offered after "--".  The completion script
# (default completion/optiinfra.bash) is sourced into bash and its function
# called as bash would on TAB.  Skipped when bash is not installed.
set -eu
cli=${1:?usage: check-completion.sh CLI [COMPLETION]}
completion=${2:-completion/optiinfra.bash}
if ! command -v bash > /dev/null 2>&1; then
    echo "bash is not installed: completion not checked"
    exit 0
fi
tmp=$(mktemp -d -t optiinfra-completion.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The cases, one a line: "word EXPECTED WORDS_BEFORE..." or
# "option EXPECTED COMMAND_WORDS...".
"$cli" --help | awk '
    /^Commands:/ { on = 1; next }
    /^$/ { on = 0 }
    on && /^  [a-z]/ {
        before = ""
        for (i = 1; i <= NF && $i ~ /^[a-z][a-z_]*$/; i++) {
            print "word", $i, before
            if ($1 != "help") print "word", $i, "help" (before ? " " before : "")
            before = before (before ? " " : "") $i
        }
        print "command", before
    }' > "$tmp/words"
sed -n 's/^command //p' "$tmp/words" | sh "$(dirname "$0")/command-options.sh" "$cli" |
    awk -F'|' '{ print "option", $2, $1 }' > "$tmp/options"
grep -v '^command ' "$tmp/words" | LC_ALL=C sort -u > "$tmp/cases"
LC_ALL=C sort -u "$tmp/options" >> "$tmp/cases"

commands=$(grep -c '^command ' "$tmp/words")
# One TAB per distinct line before the cursor, checked for all its cases.
bash -c '
    set -u
    cli=$1
    source "$2" || exit 1
    declare -A want=()
    while read -r kind expected before; do
        want["$kind:$before"]+=" $expected"
    done < "$3"
    passed=0 failed=0
    for key in "${!want[@]}"; do
        before=${key#*:}
        read -r -a COMP_WORDS <<< "$cli $before"
        if [[ ${key%%:*} == word ]]; then COMP_WORDS+=(""); else COMP_WORDS+=("--"); fi
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _optiinfra
        for expected in ${want[$key]}; do
            if [[ " ${COMPREPLY[*]-} " == *" $expected "* ]]; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                echo "not completed: $expected after \"optiinfra $before ${COMP_WORDS[COMP_CWORD]}\"" \
                     "(offered: ${COMPREPLY[*]-nothing})"
            fi
        done
    done
    echo "$4 commands: $passed command words and options complete, $failed do not"
    ((failed == 0))
' check-completion "$cli" "$completion" "$tmp/cases" "$commands"
