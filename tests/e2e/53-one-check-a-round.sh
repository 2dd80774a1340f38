#!/bin/bash
# Stacks that follow one repository poll in rounds: every poll_interval all of them poll, and
# the round checks the repository once for them all, counted at a real `git daemon` (its access
# hook runs once per upload-pack, i.e. per check of the remote's refs). Their image is never
# pushed, so they wait for it and poll round after round without deploying anything.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/git_faults.sh
source "$(dirname "$0")/git_faults.sh"
e2e_begin "stacks of one repository: one git check a round"

git_daemon_trap
make_git_repo
GIT_ACCESS_HOOK=$T/access-hook
# shellcheck disable=SC2016  # $1 and $2 are the hook's arguments
printf '#!/bin/sh\necho "$1 $2" >>%q\n' "$T/checks" >"$GIT_ACCESS_HOOK"
chmod +x "$GIT_ACCESS_HOOK"
git_daemon_start

stacks=("$STACK" "${STACK}b" "${STACK}c" "${STACK}d")
E2E_EXTRA_PROJECTS+=("${stacks[@]:1}")
web=$(image_ref web:never-pushed)
{
    printf 'state_dir: %s/state\napi:\n  socket: %s\nstacks:\n' "$T" "$SOCKET"
    for s in "${stacks[@]}"; do
        commit_file "$s/compose.yaml" "$(compose_stack "$web")" "stack $s" >/dev/null
        cat <<YAML
  - name: $s
    git: {url: "$(git_daemon_url)", path: $s, branch: main}
    poll_interval: 2s
    health: {timeout: 20s, stable: 2s}
YAML
    done
} >"$CONFIG"
start_agentd

# poll_times: every stack's last poll time, in the order of the configuration.
poll_times() { ctl --json status | jq -r '[.stacks[].last_poll.at // "none"] | join(" ")'; }
# round_since TIMES: every stack polled since poll_times printed TIMES.
round_since() {
    local -a before after
    read -ra before <<<"$1"
    read -ra after <<<"$(poll_times)"
    ((${#after[@]} == ${#stacks[@]})) || return 1
    for i in "${!before[@]}"; do
        [[ "${after[i]}" != none && "${after[i]}" != "${before[i]}" ]] || return 1
    done
}
checks() { wc -l <"$T/checks"; }

say "waiting for the start-up round and the one after it"
wait_for "every stack's first poll" 60 round_since "$(poll_times)"
wait_for "a whole round after the first" 30 round_since "$(poll_times)"
status=$(ctl --json status)
assert_json_true "$status" '[.stacks[].last_poll.result] | all(. == "ok")' \
    "every stack's polls succeed"
assert_json_true "$status" '[.stacks[].candidate] | all(test("web"))' \
    "every stack waits for its image"

rounds=3
say "$rounds rounds of ${#stacks[@]} polls: one check of the repository each"
checked=$(checks)
for ((round = 1; round <= rounds; round++)); do
    wait_for "round $round" 30 round_since "$(poll_times)"
done
assert_eq "$rounds" "$(($(checks) - checked))" \
    "git checks in $rounds rounds of ${#stacks[@]} stacks of one repository"
assert_eq '["waiting"]' "$(history_json | jq -c '[.deployments[].status]')" \
    "deployments of a release whose image was never pushed"
for s in "${stacks[@]}"; do
    assert_eq "" "$(stack_containers "$s")" "containers of $s"
done
e2e_pass
