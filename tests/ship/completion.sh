#!/bin/bash
# completion/agentctl.bash: commands and options complete without agentd; stack names and
# deployment ids come from `agentctl status --json` / `history --json`, asked through the
# agentctl being completed (here a script answering like agentctl, since no agentd runs), with
# the --socket of the command line; nothing is offered when agentd does not answer.
# completion/_agentctl (zsh) and completion/agentctl.fish offer the same commands and options as
# bash's (run in zsh and fish without a terminal), and the same stacks and deployments.
source "$(dirname "$0")/lib.sh"

# shellcheck source=../../completion/agentctl.bash
source "$ship_root/completion/agentctl.bash"

# complete_words WORD...: COMPREPLY for the command line WORD... (the last word is the one
# being completed), sorted and joined by spaces.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _agentctl
    printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' '
}
expect() {
    local want=$1 got
    shift
    got=$(complete_words "$@")
    if [[ $got == "$want" ]]; then
        pass "complete '$*' -> '$want'"
    else
        fail "complete '$*': want '$want', got '$got'"
    fi
}

if complete -p agentctl 2>/dev/null | grep -q -- '-F _agentctl'; then
    pass "sourcing registers _agentctl for agentctl"
else
    fail "sourcing does not register a completion for agentctl"
fi

# Without agentd: the real agentctl name is not even on PATH here, or exits 3.
nothing=$ship_tmp/unreachable-agentctl
printf '#!/bin/sh\necho "agentd is not reachable" >&2\nexit 3\n' >"$nothing"
chmod +x "$nothing"
expect "approve config diff fleet history pause pin policy reload resume retry rollback show status sync tags unpin verify watch" "$nothing" ""
expect "show status sync" "$nothing" s
expect "tags" "$nothing" t
expect "--help --order --regex --semver" "$nothing" tags ghcr.io/acme/web --
expect "alphabetical numerical" "$nothing" tags web --regex x --order ""
expect "--help --identity --issuer --key --trusted-root" "$nothing" verify ghcr.io/acme/web --
expect "" "$nothing" verify web --identity ""
mkdir -p "$ship_tmp/keys" && touch "$ship_tmp/keys/cosign.pub" "$ship_tmp/keys/trusted_root.json"
expect "$ship_tmp/keys/cosign.pub" "$nothing" verify web --key "$ship_tmp/keys/co"
expect "$ship_tmp/keys/trusted_root.json" "$nothing" verify web --identity a --issuer b \
    --trusted-root "$ship_tmp/keys/tr"
# An option's argument is not a positional one: the image is still the only one.
expect "--help --identity --issuer --key --trusted-root" "$nothing" verify web \
    --trusted-root /x --
expect "" "$nothing" tags ""
expect "reload resume retry" "$nothing" re
expect "rollback" "$nothing" ro
expect "--help --json --socket --version" "$nothing" --
expect "status" "$nothing" --json --socket /tmp/x.sock stat
expect "--help --wait" "$nothing" sync --
expect "--help --to" "$nothing" rollback shop -
expect "--limit" "$nothing" history --l
expect "check" "$nothing" config ""
expect "" "$nothing" status ""
expect "" "$nothing" reload ""
expect "" "$nothing" history --limit ""
touch "$ship_tmp/my-agent.yaml"
expect "$ship_tmp/my-agent.yaml" "$nothing" config check "$ship_tmp/my-"

# With an agentctl that answers like agentd's API: it records its arguments.
fake=$ship_tmp/agentctl
cat >"$fake" <<EOS
#!/bin/bash
echo "\$*" >>"$ship_tmp/calls"
case "\$*" in
    *"status"*)
        echo '{"stacks":[{"name":"shop","state":"idle","paused":false,"pinned":false,
"current":{"id":"41","stack":"shop","images":{"web":"ghcr.io/a/web@sha256:00"}},
"last_poll":{"at":"2026-11-22T08:00:00Z","result":"ok","error":null},"candidate":null},
{"name": "shop-admin","state":"idle"},{"name":"tools_2","state":"paused"}]}' ;;
    *"history shop --limit 50")
        echo '{"deployments":[{"id":"41","stack":"shop"},{"id":"40","stack":"shop"}]}' ;;
    *"history --limit 50")
        echo '{"deployments":[{"id":"41","stack":"shop"},{"id":"39","stack":"tools_2"},
{"id": 38,"stack":"shop-admin"}]}' ;;
esac
EOS
chmod +x "$fake"
expect "shop shop-admin tools_2" "$fake" status ""
expect "shop shop-admin" "$fake" pause sh
expect "shop shop-admin tools_2" "$fake" watch ""
expect "--help" "$nothing" watch --
expect "tools_2" "$fake" --json rollback t
expect "" "$fake" rollback shop ""
expect "38 39 41" "$fake" show ""
expect "40 41" "$fake" rollback shop --to ""
expect "40 41" "$fake" rollback shop --to 4
expect "41" "$fake" rollback shop --to 41
expect "shop shop-admin" "$fake" pin sh
expect "40 41" "$fake" pin shop ""
expect "" "$fake" pin shop 41 ""
expect "40 41" "$fake" approve shop ""
expect "tools_2" "$fake" unpin t
expect "shop shop-admin tools_2" "$fake" retry ""
expect "" "$fake" retry shop ""
expect "shop shop-admin" "$fake" diff s
expect "" "$fake" diff shop ""
expect "release status unhalt" "$fake" fleet ""
expect "shop shop-admin tools_2" "$fake" fleet unhalt ""
expect "" "$fake" fleet unhalt shop ""
expect "" "$fake" fleet release ""
expect "shop shop-admin tools_2" "$fake" fleet release web-1 ""
rm -f "$ship_tmp/calls"
complete_words "$fake" --socket /srv/a.sock resume "" >/dev/null
if grep -qx -- '--socket /srv/a.sock --json status' "$ship_tmp/calls" 2>/dev/null; then
    pass "stack names are asked with the command line's --socket and --json"
else
    fail "stack names were asked as '$(cat "$ship_tmp/calls" 2>/dev/null)'"
fi

# Against the real agentctl (when built): its commands and options are the ones completed, and
# with agentd unreachable it offers nothing, quickly.
agentctl=$ship_build/agentctl
if [[ -x $agentctl ]]; then
    commands=$("$agentctl" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }' |
        sort | paste -sd ' ')
    expect "$commands" "$agentctl" ""
    for command in $commands; do
        [[ $command == config ]] && continue
        options=$("$agentctl" "$command" --help | grep -o -- '--[a-z][a-z-]*' | sort -u |
            paste -sd ' ')
        expect "$options" "$agentctl" "$command" --
    done
    globals=$("$agentctl" --help | sed '/^Subcommands:/,$d' | grep -o -- '--[a-z][a-z-]*' |
        sort -u | paste -sd ' ')
    expect "$globals" "$agentctl" --
    export AGENTD_SOCKET=$ship_tmp/none.sock
    start=$SECONDS
    expect "" "$agentctl" --socket "$ship_tmp/none.sock" pause ""
    expect "" "$agentctl" show ""
    ((SECONDS - start < 5)) && pass "an unreachable agentd does not slow completion" ||
        fail "completion took $((SECONDS - start))s with agentd unreachable"
else
    echo "note: no $agentctl: completion not compared with agentctl --help"
fi

# zsh and fish. The reference is bash's completion, checked against agentctl's command table
# above: every command, every command's options, the global options.
reference_commands=$(complete_words "$nothing" "")
reference_lines=("$reference_commands" "$(complete_words "$nothing" --)")
for command in $reference_commands; do
    [[ $command == config ]] && continue
    reference_lines+=("$(complete_words "$nothing" "$command" --)")
done
reference_lines+=("$(complete_words "$nothing" policy test --)")
reference=$(printf '%s\n' "${reference_lines[@]}")

zsh_file=$ship_root/completion/_agentctl
if ! command -v zsh >/dev/null; then
    fail "zsh is not installed (scripts/setup installs it)"
else
    check "zsh -n completion/_agentctl" zsh -n "$zsh_file"
    # No terminal, so no zle: the file's functions run with compsys' _describe, _arguments and
    # _wanted replaced by functions printing what they are given (checked interactively: they
    # complete the same). Option names are taken from _arguments' specs.
    zsh_probe=$ship_tmp/probe.zsh
    cat >"$zsh_probe" <<'EOS'
source $1
_describe() { local name=${@[-1]}; print -l -- ${(P)name} }
_wanted() { local name=${@[-1]}; print -l -- ${(P)name} }
options() { print -l -- "$@" | sed -E 's/^\([^)]*\)//; s/^\*//' | grep -oE '^--[a-z][a-z-]*' | sort | paste -sd' ' }
case $2 in
    commands) _agentctl_commands | cut -d: -f1 | sort | paste -sd' ' ;;
    globals)
        _arguments() { options "$@" }
        words=(agentctl '') CURRENT=2
        _agentctl ;;
    options) _agentctl_specs $3 $4; options $reply ;;
    stacks) _agentctl_program=$3 _agentctl_stacks | sort | paste -sd' ' ;;
    deployments) _agentctl_program=$3 _agentctl_deployments $4 | sort | paste -sd' ' ;;
esac
EOS
    zsh_lines=("$(zsh -f "$zsh_probe" "$zsh_file" commands)"
        "$(zsh -f "$zsh_probe" "$zsh_file" globals)")
    for command in $reference_commands; do
        [[ $command == config ]] && continue
        zsh_lines+=("$(zsh -f "$zsh_probe" "$zsh_file" options "$command")")
    done
    zsh_lines+=("$(zsh -f "$zsh_probe" "$zsh_file" options policy test)")
    got=$(printf '%s\n' "${zsh_lines[@]}")
    if [[ $got == "$reference" ]]; then
        pass "zsh offers bash's commands, global options and every command's options"
    else
        fail "zsh and bash differ (< bash, > zsh):"
        diff <(echo "$reference") <(echo "$got") | sed 's/^/    /'
    fi
    got=$(zsh -f "$zsh_probe" "$zsh_file" stacks "$fake")
    if [[ $got == "shop shop-admin tools_2" ]]; then
        pass "zsh offers agentd's stacks"
    else
        fail "zsh offers the stacks '$got'"
    fi
    got=$(zsh -f "$zsh_probe" "$zsh_file" deployments "$fake" shop)
    if [[ $got == "40 41" ]]; then
        pass "zsh offers a stack's deployments"
    else
        fail "zsh offers the deployments of shop '$got'"
    fi
fi

fish_file=$ship_root/completion/agentctl.fish
if ! command -v fish >/dev/null; then
    fail "fish is not installed (scripts/setup installs it)"
else
    check "fish -n completion/agentctl.fish" fish --no-config -n "$fish_file"
    # fish_complete LINE: what fish offers for LINE, sorted and joined by spaces.
    fish_complete() {
        # shellcheck disable=SC2016 # fish expands $argv
        fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$fish_file" "$1" |
            cut -f1 | sort | paste -sd ' '
    }
    fish_lines=("$(fish_complete "agentctl ")" "$(fish_complete "agentctl --")")
    for command in $reference_commands; do
        [[ $command == config ]] && continue
        fish_lines+=("$(fish_complete "agentctl $command --")")
    done
    fish_lines+=("$(fish_complete "agentctl policy test --")")
    got=$(printf '%s\n' "${fish_lines[@]}")
    if [[ $got == "$reference" ]]; then
        pass "fish offers bash's commands, global options and every command's options"
    else
        fail "fish and bash differ (< bash, > fish):"
        diff <(echo "$reference") <(echo "$got") | sed 's/^/    /'
    fi
    fish_expect() {
        local want=$1 got
        got=$(fish_complete "$2")
        if [[ $got == "$want" ]]; then
            pass "fish: complete '$2' -> '$want'"
        else
            fail "fish: complete '$2': want '$want', got '$got'"
        fi
    }
    fish_expect "show status sync" "agentctl s"
    fish_expect "status" "agentctl --json --socket /tmp/x.sock stat"
    fish_expect "alphabetical numerical" "agentctl tags web --regex x --order "
    fish_expect "check" "agentctl config "
    fish_expect "$ship_tmp/my-agent.yaml" "agentctl config check $ship_tmp/my-"
    # fish completes by the command's name: the unreachable agentctl under its own name.
    mkdir -p "$ship_tmp/down" && cp "$nothing" "$ship_tmp/down/agentctl"
    fish_expect "" "$ship_tmp/down/agentctl status "
    fish_expect "shop shop-admin tools_2" "$fake status "
    fish_expect "" "$fake rollback shop "
    fish_expect "38 39 41" "$fake show "
    fish_expect "40 41" "$fake pin shop "
    fish_expect "40 41" "$fake rollback shop --to "
    fish_expect "release status unhalt" "$fake fleet "
    fish_expect "shop shop-admin tools_2" "$fake fleet status "
    fish_expect "" "$fake fleet release "
    fish_expect "shop shop-admin tools_2" "$fake fleet release web-1 "
    rm -f "$ship_tmp/calls"
    fish_complete "$fake --socket /srv/a.sock resume " >/dev/null
    if grep -qx -- '--socket /srv/a.sock --json status' "$ship_tmp/calls" 2>/dev/null; then
        pass "fish asks for stack names with the command line's --socket and --json"
    else
        fail "fish asked for stack names as '$(cat "$ship_tmp/calls" 2>/dev/null)'"
    fi
fi
finish
