#!/bin/bash
# The fault matrix, dockerd restarted mid-deploy: agentd and its compose talk to a private
# dockerd in network and mount namespaces of its own (tests/e2e/docker.sh; the shared one is
# never touched), which is restarted while release 2 is in its health gate. The stopping
# dockerd ends every container, which says nothing about release 2: the deployment ends
# succeeded (release 2 serving) or rolled_back (release 1 serving) without marking release 2
# bad, state.db stays whole with everything recorded before, and agentd's own polling deploys
# release 2.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/docker.sh
source "$(dirname "$0")/docker.sh"
E2E_POLL_INTERVAL=2s
E2E_HEALTH_TIMEOUT=60s
E2E_HEALTH_STABLE=5s
e2e_begin "dockerd restarted during the gate: transient, not a verdict on the release"

WEB_PORT=$(closed_port)
make_git_repo
for n in 1 2; do push_image_async web "web:$n" "web $n"; done
push_images_wait
private_dockerd_start
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

finished() { [[ "$(deployment_status "$interrupted")" =~ ^(succeeded|superseded|rolled_back|failed)$ ]]; }
wait_for "deployment $interrupted to end" 120 finished
shown=$(show_json "$interrupted")
status=$(json_get "$shown" .status)
say "deployment $interrupted ended $status: $(json_get "$shown" .reason)"
case "$status" in
succeeded | superseded) ;;  # the restart fell between two samples and the gate saw nothing
rolled_back)
    assert_contains "$(json_get "$shown" .reason)" "(transient: retried)" "why it was rolled back"
    assert_match "$(json_get "$shown" .reason)" "stopped by the engine|event stream ended" \
        "why it was rolled back"
    ;;
*) fail "deployment $interrupted ended '$status', expected succeeded or rolled_back: $shown" ;;
esac

# A restarting dockerd says nothing about release 2 (issue 9): never marked bad, and deployed by
# the next poll if it was rolled back.
assert_eq 0 "$(bad_release_count)" "releases marked bad after the dockerd restart"
release2_runs() {
    serves "web 2" && "$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -e '.deployments[0].status == "succeeded"' >/dev/null
}
wait_for "the next poll to deploy release 2" 90 release2_runs
assert_runs web "web 2"
fault_store_survived

e2e_pass
