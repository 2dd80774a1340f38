#!/bin/bash
# The fault matrix, SIGKILL of agentd during a rollback: release 2 is unhealthy, so the gate
# fails and agentd rolls back to release 1, whose own gate (stable for 10s) keeps the rollback
# phase open. agentd is killed there; state.db stays whole with everything recorded before; the
# restart finishes the rollback (rolled_back, release 1 serving, release 2 marked bad and not
# retried), and agentd's own polling deploys a new good release.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
E2E_POLL_INTERVAL=2s
E2E_HEALTH_TIMEOUT=40s
E2E_HEALTH_STABLE=10s
e2e_begin "SIGKILL during rollback; the restart finishes the rollback"

WEB_PORT=$(closed_port)
make_git_repo
push_image_async web web:1 "web 1"
push_image_async unhealthy web:2 "web 2 (unhealthy)"
push_image_async web web:3 "web 3"
push_images_wait
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config
start_agentd
wait_for "release 1 to serve on port $WEB_PORT" 120 serves "web 1"
wait_for "release 1 to be recorded as succeeded" 60 newest_is succeeded
id1=$(json_get "$(latest_deployment)" .id)
fault_snapshot

say "release 2 is unhealthy: the gate fails and agentd rolls back; SIGKILL it there"
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2 (unhealthy)" >/dev/null
wait_for "release 2 rolling back" 120 in_phase rollback
interrupted=$(json_get "$(latest_deployment)" .id)
kill_agentd
fault_store_survived
assert_eq 1 "$(bad_release_count)" "releases marked bad before the rollback began"
start_agentd
assert_interrupted_ends "$interrupted" "web 1" "web 2 (unhealthy)"
assert_eq rolled_back "$(cat "$T/interrupted.status")" "the interrupted rollback's outcome"
assert_eq succeeded "$(deployment_status "$id1")" "release 1 after the rollback"
assert_json "$(stack_status)" .current.id "$id1" "the current deployment after the rollback"
fault_survived
say "release 2 is not retried by the next polls"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length after a poll of the bad release"
assert_eq 1 "$(bad_release_count)" "releases marked bad"

fault_recovers "$(image_ref web:3)" "web 3"

e2e_pass
