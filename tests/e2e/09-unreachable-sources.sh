#!/bin/bash
# An unreachable registry or git remote is a poll error in status; nothing is deployed and the
# running containers are untouched; the next good poll clears it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "unreachable registry and git: last_poll error, containers untouched"

make_git_repo
push_image web web:1 "web v1" >/dev/null
good_compose=$(compose_stack "$(image_ref web:1)")
commit_compose "$good_compose" "release 1" >/dev/null
write_config
start_agentd
sync_expect 0
containers=$(container_ids)
count=$(history_count)

port=$(closed_port)
say "release 2 names an image on 127.0.0.1:$port, where nothing listens"
commit_compose "$(compose_stack "127.0.0.1:$port/$STACK/web:1")" "release 2 (registry down)" >/dev/null
sync_expect 1
status=$(stack_status)
assert_json "$status" .last_poll.result error "last poll result with the registry down"
assert_json_true "$status" '.last_poll.error | length > 0' "last poll error with the registry down"
assert_json_true "$status" '.last_poll.at != null' "last poll time"
assert_json "$status" .state running "stack state with the registry down"
assert_eq "$count" "$(history_count)" "history length with the registry down"
assert_eq "$containers" "$(container_ids)" "containers with the registry down"
assert_runs web "web v1"

say "back to release 1's compose file: the poll is fine again"
commit_compose "$good_compose" "release 3 (= release 1)" >/dev/null
sync_expect 0
assert_json "$(stack_status)" .last_poll.result ok "last poll result after the fix"
assert_eq "$containers" "$(container_ids)" "containers after the fix"

say "the git remote disappears"
mv "$BARE" "$BARE.gone"
sync_expect 1
status=$(stack_status)
assert_json "$status" .last_poll.result error "last poll result with git unreachable"
assert_json_true "$status" '.last_poll.error | length > 0' "last poll error with git unreachable"
assert_eq "$containers" "$(container_ids)" "containers with git unreachable"
assert_runs web "web v1"

say "the git remote is back"
mv "$BARE.gone" "$BARE"
sync_expect 0
assert_json "$(stack_status)" .last_poll.result ok "last poll result with git back"
assert_eq "$containers" "$(container_ids)" "containers with git back"

e2e_pass
