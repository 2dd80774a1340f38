#!/bin/bash
# Without any agentctl command, agentd polls on its own: a pushed release is deployed within a
# few poll intervals.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
E2E_POLL_INTERVAL=2s
e2e_begin "polling deploys new releases without agentctl"

make_git_repo
push_image web web:1 "web v1" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config
start_agentd

runs() { [[ "$(service_version web 2>/dev/null)" == "$1" && "$(service_state web)" == "running healthy" ]]; }
current_revision_is() {
    "$AGENTCTL" --socket "$SOCKET" --json status "$STACK" 2>/dev/null |
        jq -e --arg r "$1" '.stacks[0].current.revision == $r' >/dev/null
}
wait_for "release 1 deployed by polling" 90 runs "web v1"

push_image web web:2 "web v2" >/dev/null
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
wait_for "release 2 promoted by polling" 90 current_revision_is "$rev2"
assert_runs web "web v2"
status=$(stack_status)
assert_json "$status" .current.trigger poll "trigger of a polled deployment"
assert_json "$status" .last_poll.result ok "last poll result"

e2e_pass
