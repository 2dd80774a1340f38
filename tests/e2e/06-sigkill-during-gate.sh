#!/bin/bash
# SIGKILL agentd while it gates a release, start it again: the interrupted deployment ends
# succeeded or rolled_back, and status agrees with the containers. As every scenario of the
# fault matrix (docs/testing.md): state.db stays whole with everything recorded before the kill,
# and agentd's own polling then deploys a new release.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# A long stable period keeps the gate open long enough to kill agentd inside it.
E2E_HEALTH_STABLE=10s
E2E_HEALTH_TIMEOUT=40s
E2E_POLL_INTERVAL=2s
e2e_begin "SIGKILL during the gate; the restart completes the deployment"

WEB_PORT=$(closed_port)
make_git_repo
push_image_async web web:3 "web v3"
web1=$(push_image web web:1 "web v1")
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)
fault_snapshot

web2=$(push_image web web:2 "web v2")
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
say "agentctl sync (no wait); kill agentd once release 2 runs and is being gated"
ctl sync "$STACK" >/dev/null

# Release 2 is applied (its container serves v2) while its deployment is still in progress.
in_gate() {
    local latest
    latest=$("$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null) || return 1
    jq -e --arg id1 "$id1" \
        '.deployments[0] | .status == "in_progress" and (.id | tostring) != $id1' \
        <<<"$latest" >/dev/null || return 1
    [[ "$(service_version web 2>/dev/null)" == "web v2" ]]
}
wait_for "release 2 in the health gate" 60 in_gate
interrupted=$(json_get "$(latest_deployment)" .id)
kill_agentd
fault_store_survived

say "restart agentd; it finishes the interrupted deployment"
start_agentd
finished() {
    local status
    status=$("$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -r '.deployments[0].status') || return 1
    [[ "$status" == succeeded || "$status" == rolled_back ]]
}
wait_for "the interrupted deployment to end" 120 finished
last=$(latest_deployment)
last_id=$(json_get "$last" .id)
assert_ne "$id1" "$last_id" "the interrupted deployment is the newest"
assert_eq "$interrupted" "$last_id" "the interrupted deployment is the one that ended"
status=$(stack_status)
assert_json_true "$status" '.state != "deploying"' "stack state after recovery"
case "$(json_get "$last" .status)" in
succeeded)
    say "recovery promoted release 2"
    assert_json "$status" .current.revision "$rev2" "current revision"
    assert_runs web "web v2"
    assert_runs_digest web "$(image_ref web)" "$web2"
    assert_eq superseded "$(deployment_status "$id1")" "release 1 after release 2 succeeded"
    ;;
rolled_back)
    say "recovery rolled release 2 back"
    assert_json "$status" .current.revision "$rev1" "current revision"
    assert_runs web "web v1"
    assert_runs_digest web "$(image_ref web)" "$web1"
    ;;
*) fail "unexpected status of the interrupted deployment: $last" ;;
esac
assert_eq "running healthy" "$(service_state web)" "web after recovery"
assert_eq 1 "$(container_ids web | wc -l)" "one web container"

push_images_wait
fault_recovers "$(image_ref web:3)" "web v3"

e2e_pass
