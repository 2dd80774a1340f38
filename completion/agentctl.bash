# bash completion for agentctl(1).
# Stack names and deployment ids come from the running agentd (`agentctl --json status`,
# `agentctl --json history`), asked through the same agentctl binary and socket as the command
# line being completed; when agentd does not answer, they are simply not offered.

_agentctl_commands="status history show sync watch diff rollback pin unpin approve retry pause resume reload config policy tags verify fleet"

# Runs the agentctl being completed with the --socket of the command line, if any.
_agentctl_query() {
    local socket=() i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        if [[ ${COMP_WORDS[i]} == --socket ]]; then
            socket=(--socket "${COMP_WORDS[i + 1]}")
        elif [[ ${COMP_WORDS[i]} == --socket=* ]]; then
            socket=(--socket "${COMP_WORDS[i]#--socket=}")
        fi
    done
    local runner=()
    command -v timeout >/dev/null 2>&1 && runner=(timeout 3)
    "${runner[@]}" "${COMP_WORDS[0]}" "${socket[@]}" --json "$@" 2>/dev/null
}

# The "name" fields of `--json status`; no jq needed.
_agentctl_stacks() {
    _agentctl_query status | grep -o '"name" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

# The "id" fields of `history --json` (of one stack when given), the newest 50.
_agentctl_deployments() {
    _agentctl_query history "$@" --limit 50 | grep -o '"id" *: *"\{0,1\}[A-Za-z0-9_.-]*' |
        sed 's/.*[:"] *\([A-Za-z0-9_.-]*\)$/\1/'
}

_agentctl() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_CWORD:+${COMP_WORDS[COMP_CWORD - 1]}}
    COMPREPLY=()

    # Option arguments first.
    case $prev in
        --socket | --key | --trusted-root)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --limit | --identity | --issuer)
            return
            ;;
        --to)
            local stack="" i
            for ((i = 1; i < COMP_CWORD; i++)); do
                if [[ ${COMP_WORDS[i]} == rollback && $((i + 1)) -lt COMP_CWORD ]]; then
                    stack=${COMP_WORDS[i + 1]}
                fi
            done
            COMPREPLY=($(compgen -W "$(_agentctl_deployments $stack)" -- "$cur"))
            return
            ;;
    esac

    # The command and its position, skipping global options.
    local command="" command_at=0 i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --socket) ((i++)) ;;
            -*) ;;
            *)
                command=${COMP_WORDS[i]}
                command_at=$i
                break
                ;;
        esac
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--socket --json --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_agentctl_commands" -- "$cur"))
        fi
        return
    fi

    # Positional arguments after the command, not counting options.
    local args=0
    for ((i = command_at + 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --to | --limit | --socket | --semver | --regex | --order | --key | --identity | --issuer | \
                --trusted-root)
                ((i++))
                ;;
            -*) ;;
            *) ((args++)) ;;
        esac
    done

    # --socket and --json belong before the command; after it only the command's own options.
    local options="--help"
    case $command in
        history) options+=" --limit" ;;
        sync) options+=" --wait" ;;
        rollback) options+=" --to" ;;
        policy) ((args > 0)) && options+=" --semver --regex --order" ;;  # after "test"
        tags) options+=" --semver --regex --order" ;;
        verify) options+=" --key --identity --issuer --trusted-root" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi

    if [[ ($command == policy || $command == tags) && $prev == --order ]]; then
        COMPREPLY=($(compgen -W "alphabetical numerical" -- "$cur"))
        return
    fi
    case $command in
        policy)
            ((args == 0)) && COMPREPLY=($(compgen -W "test" -- "$cur"))
            ;;
        fleet)
            # fleet status [STACK], fleet unhalt STACK, fleet release HOST STACK.
            local sub=${COMP_WORDS[command_at + 1]}
            if ((args == 0)); then
                COMPREPLY=($(compgen -W "status unhalt release" -- "$cur"))
            elif [[ ($args -eq 1 && ($sub == status || $sub == unhalt)) ||
                ($args -eq 2 && $sub == release) ]]; then
                COMPREPLY=($(compgen -W "$(_agentctl_stacks)" -- "$cur"))
            fi
            ;;
        status | history | sync | watch | diff | rollback | unpin | retry | pause | resume)
            ((args == 0)) && COMPREPLY=($(compgen -W "$(_agentctl_stacks)" -- "$cur"))
            ;;
        pin | approve)
            # pin STACK DEPLOYMENT, approve STACK [DEPLOYMENT]: the stack, then one of its
            # deployments.
            if ((args == 0)); then
                COMPREPLY=($(compgen -W "$(_agentctl_stacks)" -- "$cur"))
            elif ((args == 1)); then
                COMPREPLY=($(compgen -W "$(_agentctl_deployments "$prev")" -- "$cur"))
            fi
            ;;
        show)
            ((args == 0)) && COMPREPLY=($(compgen -W "$(_agentctl_deployments)" -- "$cur"))
            ;;
        config)
            if ((args == 0)); then
                COMPREPLY=($(compgen -W "check" -- "$cur"))
            elif ((args == 1)); then
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
    esac
}

complete -F _agentctl agentctl
