#!/bin/bash
# project_prefix: two agentd on one Docker engine, each with its own state_dir, API socket and
# project_prefix, follow the same stack name from the same git repository. Both deploy, each in
# its own compose project (<prefix><stack>; no project is named after the stack alone), both
# see no drift in their own project, and a release one of them deploys leaves the other's
# containers untouched until that one deploys it too.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "project_prefix: two agentd follow the same stack, each in its own compose project"

# lib.sh's cleanup stops the agentd of $AGENTD_PID (b's at the end); a's is stopped here first.
A_PID=""
prefix_cleanup() {
    local rc=$?
    trap - ERR
    set +e
    if [[ -n "$A_PID" ]]; then
        local b_pid=$AGENTD_PID
        AGENTD_PID=$A_PID
        stop_agentd
        AGENTD_PID=$b_pid
    fi
    (exit "$rc")
    e2e_cleanup
}
trap prefix_cleanup EXIT

A_PROJECT=pa-$STACK
B_PROJECT=pb-$STACK
E2E_EXTRA_PROJECTS+=("$A_PROJECT" "$B_PROJECT")

# use_agent NAME: the following helpers (write_config, start_agentd, ctl, sync_expect ...) talk
# to agentd NAME: its agent.yaml, API socket and log in $T.
use_agent() {
    CONFIG=$T/$1.yaml
    SOCKET=$T/$1.sock
    AGENTD_LOG=$T/$1.log
}

# configure_agent NAME: agent.yaml of agentd NAME, state in $T/state-NAME, project_prefix pNAME-.
configure_agent() {
    use_agent "$1"
    write_config
    sed -i "s|^state_dir: .*|state_dir: $T/state-$1|" "$CONFIG"
    printf 'project_prefix: p%s-\n' "$1" >>"$CONFIG"
}

# project_web_version PROJECT: /www/version served by web in compose project PROJECT.
project_web_version() { project_file "$1" web /www/version; }

make_git_repo
push_image web web:1 "web v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")

say "agentd a (project_prefix pa-) deploys release 1"
configure_agent a
"$AGENTD" --check-config --config "$CONFIG" >/dev/null
start_agentd
A_PID=$AGENTD_PID
sync_expect 0
assert_json "$(latest_deployment)" .stack "$STACK" "a's deployment names the stack, not the project"
assert_eq "web v1" "$(project_web_version "$A_PROJECT")" "web in project $A_PROJECT"

say "agentd b (project_prefix pb-) deploys the same stack name beside it"
configure_agent b
start_agentd
sync_expect 0
assert_json "$(stack_status)" .current.revision "$rev1" "b's current revision"
assert_eq "web v1" "$(project_web_version "$B_PROJECT")" "web in project $B_PROJECT"
[[ -d $T/state-b/stacks/$STACK ]] || fail "b's working tree is not $T/state-b/stacks/$STACK"

say "docker ps shows both projects, and none named after the stack alone"
projects=$(docker ps --filter "label=com.docker.compose.project" \
    --format '{{.Label "com.docker.compose.project"}} {{.Label "com.docker.compose.service"}}' |
    grep -F -- "$STACK" | sort)
assert_eq "$A_PROJECT web"$'\n'"$B_PROJECT web" "$projects" "running compose projects of $STACK"
assert_eq "" "$(container_ids)" "containers of project $STACK"

say "each sees its own project's containers: no drift after another poll"
for agent in a b; do
    use_agent "$agent"
    sync_expect 0
    status=$(stack_status)
    assert_json "$status" .state running "$agent's stack state"
    assert_json "$status" .drift null "$agent's drift"
done

say "release 2 deployed by b leaves a's project untouched; then a deploys it too"
a_before=$(container_starts "$A_PROJECT")
push_image web web:2 "web v2" >/dev/null
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
use_agent b
sync_expect 0
assert_json "$(stack_status)" .current.revision "$rev2" "b's current revision"
assert_eq "web v2" "$(project_web_version "$B_PROJECT")" "web in project $B_PROJECT"
assert_eq "$a_before" "$(container_starts "$A_PROJECT")" "a's containers after b's deployment"
assert_eq "web v1" "$(project_web_version "$A_PROJECT")" "web in project $A_PROJECT"
use_agent a
sync_expect 0
assert_json "$(stack_status)" .current.revision "$rev2" "a's current revision"
assert_eq "web v2" "$(project_web_version "$A_PROJECT")" "web in project $A_PROJECT"
assert_eq 2 "$(history_count)" "a's deployments"

e2e_pass
