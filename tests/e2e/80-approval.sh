#!/bin/bash
# approval: manual: a new release is verified and pulled, then waits (status `waiting`, reason
# "approval") with nothing applied, and a notification asks for an approver; `agentctl approve`
# deploys exactly that release. A newer release found meanwhile takes its place: approving the
# old one is refused, saying which one waits now, and the old one can never be restored.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "manual approval: waits pulled, approve deploys it, a newer candidate is reported"

trap e2e_cleanup EXIT
receiver notes
# noted EVENT DEPLOYMENT: the receiver got a generic notification of EVENT about DEPLOYMENT.
noted() {
    received notes |
        jq -s -e --arg e "$1" --argjson d "$2" 'any(.[]; .event == $e and .deployment == $d)' \
            >/dev/null
}

make_git_repo
for version in 1 2 3; do
    push_image_async web "web:$version" "web v$version"
done
push_images_wait
web1=$(pushed_digest web:1)
# The engine must pull release 1's image from the registry while it waits.
docker rmi "$(image_ref web:1)" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
E2E_HEALTH_STABLE=1s write_config "    approval: manual"
cat >>"$CONFIG" <<YAML
notifications:
  - url: http://127.0.0.1:$(cat "$T/notes.port")/hooks/approvals
    format: generic
    events: [approval, succeeded]
YAML
start_agentd

say "release 1 is verified and pulled, then waits for approval with nothing applied"
sync_expect 0
assert_contains "$CTL_OUT" "waits for approval" "sync's outcome (waiting, or noop if agentd's first poll made it wait)"
waiting=$(latest_deployment)
id1=$(json_get "$waiting" .id)
assert_json "$waiting" .status waiting "release 1 before approval"
assert_json "$waiting" .reason approval "release 1 before approval"
assert_json "$waiting" .revision "$rev1" "the waiting deployment"
assert_eq "" "$(container_ids)" "containers before approval"
docker image inspect "$AGENTD_TEST_REGISTRY/$STACK/web@$web1" >/dev/null ||
    fail "release 1's image was not pulled while it waits"
status=$(stack_status)
assert_json "$status" .waiting.deployment "$id1" "status: waiting"
assert_json "$status" .waiting.reason approval "status: waiting"
assert_json "$status" .waiting.until null "status: waiting"
assert_contains "$(json_get "$status" .candidate)" "waits for approval (\`agentctl approve $STACK $id1\`)" \
    "status: candidate"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "waits for approval" "status (table)"
wait_for "the approval notification" 30 noted approval "$id1"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length: a poll leaves the waiting release as it is"

say "agentctl approve $STACK $id1 deploys exactly that release"
ctl approve "$STACK" "$id1" >/dev/null
assert_contains "$CTL_OUT" "succeeded, deployment $id1" "approve's answer"
assert_contains "$CTL_OUT" "approved and deployed" "approve's answer"
assert_runs web "web v1"
approved=$(show_json "$id1")
assert_json "$approved" .status succeeded "release 1 after approval"
assert_json "$approved" .trigger manual "release 1 after approval"
assert_json_true "$approved" 'any(.events[]; .phase == "approval" and (.message | test("approved")))' \
    "release 1's events"
wait_for "the succeeded notification" 30 noted succeeded "$id1"
ctl_expect 1 approve "$STACK"
assert_contains "$CTL_ERR" "no release of stack $STACK waits for approval" "approve with nothing waiting"

say "release 2 waits; release 3 comes before anyone approves: it waits in release 2's place"
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
sync_expect 0
id2=$(json_get "$(latest_deployment)" .id)
assert_json "$(show_json "$id2")" .revision "$rev2" "release 2's deployment"
rev3=$(commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3")
sync_expect 0
id3=$(json_get "$(latest_deployment)" .id)
assert_ne "$id2" "$id3" "release 3's own deployment"
assert_json "$(show_json "$id3")" .reason approval "release 3"
replaced=$(show_json "$id2")
assert_json "$replaced" .status superseded "release 2 once release 3 came"
assert_json "$replaced" .reason "superseded by deployment $id3 before it was deployed" "release 2"
assert_runs web "web v1"

say "approving release 2 now is refused and names release 3; nothing is deployed"
containers=$(container_ids)
ctl_expect 1 approve "$STACK" "$id2"
assert_contains "$CTL_ERR" "deployment $id2 no longer waits for approval: deployment $id3" "approve of the replaced release"
assert_contains "$CTL_ERR" "agentctl approve $STACK $id3" "approve of the replaced release"
assert_eq "$containers" "$(container_ids)" "containers after the refused approval"
ctl_expect 2 approve "$STACK" 99999
ctl_expect 1 rollback "$STACK" --to "$id2"
assert_contains "$CTL_ERR" "superseded before it was deployed" "rollback to a release that never ran"

say "agentctl approve $STACK (no id) deploys release 3, the one waiting"
ctl approve "$STACK" >/dev/null
assert_contains "$CTL_OUT" "succeeded, deployment $id3" "approve's answer"
assert_runs web "web v3"
assert_json "$(stack_status)" .waiting null "status once nothing waits"

e2e_pass
