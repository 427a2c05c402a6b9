# bash completion for optiinfra(1)                        -*- shell-script -*-
#
# Installed as $(BASHCOMPLETIONDIR)/optiinfra (bash-completion loads it on
# the first TAB after "optiinfra"), or source it from ~/.bashrc.
#
# The commands, their subcommands and their options are read from the
# tool's own help when TAB is pressed (`optiinfra --help`, `optiinfra
# COMMAND --help`), so they always match the optiinfra being completed,
# whichever version it is; only the values of a few options and arguments
# are listed here.  scripts/check-completion.sh checks that every command
# and option of the help completes.  Needs no bash-completion helper.

# _optiinfra_commands CLI: the command paths, one a line ("db upgrade").
_optiinfra_commands()
{
    "$1" --help 2>/dev/null | awk '
        /^Commands:/ { on = 1; next }
        /^$/ { on = 0 }
        on && /^  [a-z]/ {
            path = ""
            for (i = 1; i <= NF && $i ~ /^[a-z][a-z_]*$/; i++) path = path (path ? " " : "") $i
            print path
        }'
}

# _optiinfra_options CLI WORD...: the options of a command, one a line,
# "--name" or "--name=" when it takes a value, from its usage line and its
# Options section.
_optiinfra_options()
{
    local cli=$1
    shift
    "$cli" "$@" --help 2>/dev/null | awk '
        /^Usage:/ { usage = 1 }
        /^Options:/ { options = 1 }
        /^$/ { options = 0 }
        usage || options {
            for (i = 1; i <= NF; i++) {
                o = $i; sub(/^\[/, "", o)
                if (o !~ /^--[a-z]/) continue
                sub(/[^a-z0-9-].*$/, "", o)
                v = (i < NF) ? $(i + 1) : ""; sub(/^\[/, "", v); sub(/[],.]+$/, "", v)
                o = o ((v ~ /^[A-Z]/ || v ~ /^[a-z0-9]+(\|[a-z0-9_,]+)+$/) ? "=" : "")
                if (!(o in seen)) { seen[o] = 1; print o }
            }
        }
        { usage = 0 }'
}

# _optiinfra_has LIST LINE: whether LINE is one of the lines of LIST.
_optiinfra_has()
{
    [[ $'\n'$1$'\n' == *$'\n'"$2"$'\n'* ]]
}

_optiinfra()
{
    local cli=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # bash splits --opt=value into "--opt" "=" "value" (COMP_WORDBREAKS has
    # "="); without that, the value is completed after "--opt=".
    local prefix=
    if [[ $cur == "=" ]]; then
        cur=
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 2)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == --*=* ]]; then
        prev=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
    fi
    [[ $cli == "~/"* ]] && cli=$HOME/${cli#"~/"}
    COMPREPLY=()

    # The words before the cursor, from the command on (global options and
    # the values of those that take one before it skipped).
    local -a words=()
    local i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((${#words[@]} == 0)); then
            case $w in
            --database-url|--read-url|--replica-fallback|--max-replica-lag)
                i=$((i + 1))
                [[ ${COMP_WORDS[i]-} == "=" ]] && i=$((i + 1))
                continue ;;
            -*|=) continue ;;
            esac
        fi
        words+=("$w")
    done

    if ((${#words[@]} == 0)); then
        if [[ $prev == --database-url ]]; then
            compopt -o nospace 2> /dev/null
            COMPREPLY=($(compgen -W "sqlite: sqlite::memory: postgresql://" -- "$cur"))
            return 0
        elif [[ $prev == --read-url ]]; then
            compopt -o nospace 2> /dev/null
            COMPREPLY=($(compgen -W "postgresql://" -- "$cur"))
            return 0
        elif [[ $prev == --replica-fallback ]]; then
            COMPREPLY=($(compgen -W "primary error" -- "$cur"))
            return 0
        elif [[ $prev == --max-replica-lag ]]; then
            return 0
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--database-url --read-url --replica-fallback
                                     --max-replica-lag --json --help --version" -- "$cur"))
            return 0
        fi
    fi

    local commands
    commands=$(_optiinfra_commands "$cli")
    [[ -n $commands ]] || return 0

    # `help db upgrade` completes the words of the command it names.
    local help=0
    if [[ ${words[0]-} == help ]]; then
        help=1
        words=("${words[@]:1}")
    fi

    # The command: the first words that make one of the paths of the help
    # (no path is the start of another: groups such as "db" are not paths).
    local path= typed= n=0
    for w in "${words[@]}"; do
        typed=${typed:+$typed }$w
        n=$((n + 1))
        if _optiinfra_has "$commands" "$typed"; then
            path=$typed
            break
        fi
    done

    # Not yet a command: the next word of the paths that start with the words.
    if [[ -z $path ]]; then
        local next= line
        while read -r line; do
            if [[ -z $typed ]]; then
                line=${line%% *}
            elif [[ $line == "$typed "* ]]; then
                line=${line#"$typed "}
                line=${line%% *}
            else
                continue
            fi
            [[ " $next " == *" $line "* ]] || next+=" $line"
        done <<< "$commands"
        COMPREPLY=($(compgen -W "$next" -- "$cur"))
        return 0
    fi
    ((help)) && return 0

    # A command: its options, the values of some, and some arguments.
    local options opt
    options=$(_optiinfra_options "$cli" $path)
    if [[ $prev == --* ]] && _optiinfra_has "$options" "$prev="; then
        case $path:$prev in
        *:--format) COMPREPLY=($(compgen -W "csv ndjson" -- "$cur")) ;;
        *:--type) COMPREPLY=($(compgen -W "string number integer float boolean json" -- "$cur")) ;;
        "agent error:--severity") COMPREPLY=($(compgen -W "low medium high critical" -- "$cur")) ;;
        *:--severity) COMPREPLY=($(compgen -W "info warning error critical" -- "$cur")) ;;
        *:--status)
            COMPREPLY=($(compgen -W "pending approved rejected executing completed failed rolled_back" -- "$cur")) ;;
        "metrics aggregate:--by") COMPREPLY=($(compgen -W "agent name agent,name" -- "$cur")) ;;
        esac
        [[ -n $prefix ]] && COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
        return 0
    fi
    [[ -n $prefix ]] && return 0

    # The arguments given so far, without the options and their values.
    local nargs=0
    for ((i = n; i < ${#words[@]}; i++)); do
        w=${words[i]}
        if [[ $w == -?* && $w != -[0-9]* ]]; then
            if [[ $w != *=* ]] && _optiinfra_has "$options" "$w="; then
                [[ ${words[i + 1]-} == "=" ]] && i=$((i + 1))
                i=$((i + 1))
            fi
        elif [[ $w != "=" ]]; then
            nargs=$((nargs + 1))
        fi
    done
    local args=
    case $path:$nargs in
    seed:0) args="core state" ;;
    "db upgrade:0") args=head ;;
    "db downgrade:0") args="-1 base" ;;
    "recommendation move:1") args="executing completed failed rolled_back" ;;
    "metrics import:0")
        args=-
        if [[ $cur != -* ]]; then
            compopt -o filenames 2> /dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi ;;
    "db backup:0")
        if [[ $cur != -* ]]; then
            compopt -o filenames 2> /dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi ;;
    esac

    if [[ $cur == -* && $cur != -[0-9]* ]]; then
        local -a all=(--help)
        while read -r opt; do
            [[ -n $opt ]] && all+=("${opt%=}")
        done <<< "$options"
        args+=" ${all[*]}"
    fi
    COMPREPLY+=($(compgen -W "$args" -- "$cur"))
    return 0
} &&
    complete -F _optiinfra optiinfra

# ex: filetype=sh
