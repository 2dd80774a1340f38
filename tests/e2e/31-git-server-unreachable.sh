#!/bin/bash
# The git server (a real `git daemon` serving git://) goes away while a new release waits on
# it: polls fail naming the remote, the old release keeps serving, the store keeps every
# deployment and event, and once the server is back the next poll deploys the release by
# itself, without any agentctl command.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/git_faults.sh
source "$(dirname "$0")/git_faults.sh"
E2E_POLL_INTERVAL=2s
e2e_begin "git server unreachable: old release serves, the next poll recovers by itself"

git_daemon_trap

make_git_repo
git_daemon_start
WEB_PORT=$(closed_port)
push_image web web:1 "web 1" >/dev/null
commit_compose "$(served_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config
use_git_daemon
start_agentd
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "release 1 over git://"
assert_serves "web 1"
current_id=$(json_get "$(stack_status)" .current.id)

say "the git server stops; release 2 is pushed to the repository meanwhile"
git_daemon_stop
store_snapshot
count=$(history_count)
push_image web web:2 "web 2" >/dev/null
rev2=$(commit_compose "$(served_stack "$(image_ref web:2)")" "release 2")
sync_expect 1
status=$(stack_status)
assert_json "$status" .last_poll.result error "last poll with the git server down"
assert_contains "$(json_get "$status" .last_poll.error)" "git://127.0.0.1:$GIT_PORT/deploy.git" \
    "the poll error names the remote"
assert_json "$status" .current.id "$current_id" "the current release with the git server down"
assert_eq "$count" "$(history_count)" "history length with the git server down"
assert_serves "web 1"
assert_store_kept "with the git server down"

say "the git server is back: polling deploys release 2 by itself"
git_daemon_start
current_revision_is() {
    "$AGENTCTL" --socket "$SOCKET" --json status "$STACK" 2>/dev/null |
        jq -e --arg r "$1" '.stacks[0].current.revision == $r and .stacks[0].last_poll.result == "ok"' \
            >/dev/null
}
wait_for "release 2 deployed by polling" 90 current_revision_is "$rev2"
assert_json "$(stack_status)" .current.trigger poll "release 2 came from a poll"
assert_serves "web 2"
assert_store_kept "after the git server came back"

e2e_pass
