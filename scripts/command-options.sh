#!/bin/sh
# command-options.sh - the options each command's help lists.
#
# Usage: command-options.sh CLI < PATHS
# For each command path read from standard input, one a line ("metrics
# import"; "help" is skipped), prints "PATH|--OPTION" for every option of
# `CLI PATH --help`: its usage line and its "Options:" section.  Shared by
# check-manpage.sh and check-completion.sh, so that both read the help alike.
set -eu
cli=${1:?usage: command-options.sh CLI < PATHS}
while read -r path; do
    [ "$path" = help ] && continue
    # shellcheck disable=SC2086 # the path's words are the command's words
    "$cli" $path --help | awk -v path="$path" '
        /^Usage:/ { usage = 1 }
        /^Options:/ { options = 1 }
        /^$/ { options = 0 }
        usage || options {
            s = $0
            while (match(s, /--[a-z][a-z0-9-]*/)) {
                print path "|" substr(s, RSTART, RLENGTH)
                s = substr(s, RSTART + RLENGTH)
            }
        }
        { usage = 0 }'
done
