#!/bin/bash
# An unhealthy release is rolled back within health.timeout: containers return to the previous
# digests, the reason names the service, and the bad release is not tried again.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "an unhealthy release is rolled back and not retried"

make_git_repo
web1=$(push_image web web:1 "web v1")
push_image worker worker:1 "worker v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)" "$(image_ref worker:1)")" "release 1")
write_config
start_agentd
sync_expect 0
good_id=$(json_get "$(latest_deployment)" .id)
assert_runs web "web v1"

say "release 2: web fails its healthcheck"
push_image unhealthy web:2 "web v2 unhealthy" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)" "$(image_ref worker:1)")" "release 2" >/dev/null
started=$SECONDS
sync_expect 1
took=$((SECONDS - started))
bad=$(latest_deployment)
bad_id=$(json_get "$bad" .id)
assert_ne "$good_id" "$bad_id" "a deployment for release 2"
assert_json "$bad" .status rolled_back "release 2"
reason=$(json_get "$bad" .reason)
assert_contains "$reason" web "the rollback reason names the service"
assert_contains "$reason" unhealthy "the rollback reason says why"
# The gate (20s) plus re-applying and gating release 1 again, with slack for a slow machine.
((took < 90)) || fail "the rollback took ${took}s"

assert_runs web "web v1"
assert_runs_digest web "$(image_ref web)" "$web1"
assert_eq "running healthy" "$(service_state web)" "web after the rollback"
status=$(stack_status)
assert_json "$status" .current.revision "$rev1" "current revision after the rollback"
assert_json "$status" .current.images.web "$(image_ref web:1)@$web1" "current image after the rollback"
assert_json "$status" .state running "stack state after the rollback"

shown=$(show_json "$bad_id")
assert_json_true "$shown" '.events | length > 0' "show lists events"
assert_json_true "$shown" '[.events[].message] | any(contains("web"))' "an event names the service"
ctl show "$bad_id" >/dev/null
assert_contains "$CTL_OUT" web "agentctl show (table) names the service"

say "another sync does not try release 2 again"
containers=$(container_ids)
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length after another sync"
assert_eq "$containers" "$(container_ids)" "containers after another sync"
assert_runs web "web v1"

e2e_pass
