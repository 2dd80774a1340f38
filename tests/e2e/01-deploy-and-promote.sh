#!/bin/bash
# First deploy, then a new commit with a new healthy image is promoted and the old deployment
# becomes `superseded`.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "first deploy; a new healthy release is promoted, the old one superseded"

make_git_repo
web1=$(push_image web web:1 "web v1")
worker1=$(push_image worker worker:1 "worker v1")
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)" "$(image_ref worker:1)")" "release 1")
write_config
start_agentd

say "first deploy"
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .status succeeded "first deployment"
assert_json "$first" .revision "$rev1" "first deployment's revision"
assert_json "$first" .stack "$STACK" "first deployment's stack"
assert_json "$first" .tag null "first deployment's tag (following a branch)"
assert_json "$first" '.images.web' "$(image_ref web:1)@$web1" "first deployment's web image"
assert_json_true "$first" '.images.worker | endswith("'"$worker1"'")' "first deployment's worker image"
assert_json_true "$first" '.finished_at != null and .started_at != null' "first deployment's times"
first_id=$(json_get "$first" .id)
assert_runs web "web v1"
assert_runs worker "worker v1"
assert_runs_digest web "$(image_ref web)" "$web1"
assert_eq "running healthy" "$(service_state web)" "web container state"

status=$(stack_status)
assert_json "$status" .state running "stack state after the first deploy"
assert_json "$status" .current.id "$first_id" "current deployment"
assert_json "$status" .paused false "paused"
assert_json "$status" .last_poll.result ok "last poll result"

say "a new commit with a new healthy image"
web2=$(push_image web web:2 "web v2")
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)" "$(image_ref worker:1)")" "release 2")
sync_expect 0
second=$(latest_deployment)
second_id=$(json_get "$second" .id)
assert_ne "$first_id" "$second_id" "a new deployment"
assert_json "$second" .status succeeded "second deployment"
assert_json "$second" .revision "$rev2" "second deployment's revision"
assert_json "$second" '.images.web' "$(image_ref web:2)@$web2" "second deployment's web image"
assert_eq superseded "$(deployment_status "$first_id")" "the first deployment after the second succeeded"
assert_runs web "web v2"
assert_runs worker "worker v1"
assert_runs_digest web "$(image_ref web)" "$web2"

history=$(history_json)
assert_json "$history" '.deployments | length' 2 "history length"
assert_json "$history" '.deployments[0].id' "$second_id" "history is newest first"
assert_json "$history" '.deployments[1].id' "$first_id" "history's older entry"
assert_json "$(stack_status)" .current.id "$second_id" "current after the second deploy"

say "a sync without changes deploys nothing"
containers=$(container_ids)
sync_expect 0
assert_eq 2 "$(history_count)" "history length after a sync without changes"
assert_eq "$containers" "$(container_ids)" "containers after a sync without changes"

e2e_pass
