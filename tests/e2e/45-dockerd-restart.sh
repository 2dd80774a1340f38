#!/bin/bash
# e2e: serial
# The fault matrix, dockerd restarted mid-deploy: agentd and its compose talk to a private
# dockerd (tests/e2e/docker.sh; the shared one is never touched), which is restarted while
# release 2 is in its health gate. The deployment must end succeeded (release 2 serving) or
# rolled_back (release 1 serving), state.db stays whole with everything recorded before, and
# agentd's own polling deploys a new release afterwards.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/docker.sh
source "$(dirname "$0")/docker.sh"
E2E_POLL_INTERVAL=2s
E2E_HEALTH_TIMEOUT=60s
E2E_HEALTH_STABLE=10s
e2e_begin "dockerd restarted during the gate: the deployment ends, the store is whole"

private_dockerd_start
WEB_PORT=$(closed_port)
make_git_repo
for n in 1 2 3; do push_image_async web "web:$n" "web $n"; done
push_images_wait
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config
start_agentd
wait_for "release 1 to serve on port $WEB_PORT" 120 serves "web 1"
wait_for "release 1 to be recorded as succeeded" 60 newest_is succeeded
fault_snapshot

say "release 2; restart dockerd while it is gated"
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
wait_for "release 2 in the gate" 60 in_phase gate
interrupted=$(json_get "$(latest_deployment)" .id)
private_dockerd_restart
fault_store_survived
assert_interrupted_ends "$interrupted" "web 1" "web 2"
bad_after_restart=$(bad_release_count)
fault_recovers "$(image_ref web:3)" "web 3"

# A restarting dockerd says nothing about release 2: it must not be marked bad (issue 9,
# defect 3: transient failures are retried, only verdicts about the release reject it).
# KNOWN DEFECT (reported to the lead, agent/deploy): the gate takes the containers that the
# stopping dockerd ended ("exited with code 0") as release 2's failure, rolls back and marks
# release 2 bad, so it is never retried.
ip link show docker0 >/dev/null 2>&1 || fail "the shared dockerd's docker0 disappeared"
assert_eq 0 "$bad_after_restart" "KNOWN DEFECT: releases marked bad after a dockerd restart"

e2e_pass
