#!/bin/bash
# `agentctl rollback STACK --to ID` restores that release; the stack stays paused/pinned (a new
# commit is not deployed) until `agentctl resume`.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "rollback --to restores a release and holds the stack until resume"

make_git_repo
web1=$(push_image web web:1 "web v1")
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)
push_image web web:2 "web v2" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
sync_expect 0
id2=$(json_get "$(latest_deployment)" .id)
assert_runs web "web v2"

say "agentctl rollback $STACK --to $id1"
ctl rollback "$STACK" --to "$id1" >/dev/null
assert_runs web "web v1"
assert_runs_digest web "$(image_ref web)" "$web1"
status=$(stack_status)
assert_json "$status" .current.revision "$rev1" "current revision after the rollback"
assert_json "$status" .current.images.web "$(image_ref web:1)@$web1" "current image after the rollback"
assert_json_true "$status" '.paused == true or .pinned != null' "the stack is held after the rollback"
assert_ne "$id2" "$(json_get "$status" .current.id)" "current is no longer release 2"

say "a new commit is not deployed while the stack is held"
push_image web web:3 "web v3" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3" >/dev/null
count=$(history_count)
containers=$(container_ids)
ctl_run sync "$STACK" --wait
((CTL_RC == 0 || CTL_RC == 1)) || fail "sync of a held stack exited $CTL_RC: $CTL_OUT $CTL_ERR"
assert_eq "$count" "$(history_count)" "history length while held"
assert_eq "$containers" "$(container_ids)" "containers while held"
assert_runs web "web v1"

say "agentctl resume $STACK; the new commit is deployed"
ctl resume "$STACK" >/dev/null
status=$(stack_status)
assert_json "$status" .paused false "paused after resume"
assert_json "$status" .pinned null "pinned after resume"
sync_expect 0
assert_json "$(latest_deployment)" .status succeeded "release 3 after resume"
assert_runs web "web v3"

e2e_pass
