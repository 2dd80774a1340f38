#!/bin/bash
# A commit with an invalid compose file is `rejected` and the running containers are untouched.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "an invalid compose file is rejected; the old containers keep running"

make_git_repo
push_image web web:1 "web v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)
containers=$(container_ids)

say "release 2: a compose file with an option compose does not know"
commit_compose "$(compose_stack "$(image_ref web:1)")
    no_such_compose_option: true" "release 2 (broken)" >/dev/null
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rejected "the broken release"
assert_json_true "$bad" '.reason | length > 0' "a rejection has a reason"
assert_eq "$containers" "$(container_ids)" "containers after the rejection"
assert_runs web "web v1"
status=$(stack_status)
assert_json "$status" .current.id "$id1" "current after the rejection"
assert_json "$status" .current.revision "$rev1" "current revision after the rejection"

say "the rejected release is not tried again"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length after another sync"
assert_eq "$containers" "$(container_ids)" "containers after another sync"

e2e_pass
