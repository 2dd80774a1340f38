#!/bin/bash
# `agentctl pin` holds a stack at a recorded release (deploying it again, gated), polls still
# observe what is new but deploy nothing until `agentctl unpin` (`agentctl diff` shows what it
# would deploy: commits, images, compose diff); a release that failed its gate
# is remembered as bad until `agentctl retry`, which deploys the same release again once the
# cause outside it (a file in a host directory the release mounts) is fixed.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "pin holds a release, unpin lets the next one in, retry tries a bad release again"

# compose_gated WEB_IMAGE: web whose healthcheck fetches /gate/health, served from the host
# directory $T/gate that the test fills or empties: the release stays the same, its health does
# not.
compose_gated() {
    cat <<YAML
services:
  web:
    image: $1
    restart: always
    volumes: ["$T/gate:/www/gate:ro"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/gate/health"]
      interval: 1s
      timeout: 5s
      retries: 3
YAML
}

# deployed REVISION: the newest deployment succeeded with REVISION.
deployed() {
    local latest
    latest=$(latest_deployment)
    [[ "$(json_get "$latest" .status)" == succeeded &&
        "$(json_get "$latest" .revision)" == "$1" ]]
}

make_git_repo
for version in 1 2 3 4; do
    push_image_async web "web:$version" "web v$version"
done
push_images_wait
web3=$(pushed_digest web:3)
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
E2E_HEALTH_STABLE=1s write_config
start_agentd
sync_expect 0
id1=$(json_get "$(latest_deployment)" .id)
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
sync_expect 0
assert_runs web "web v2"

say "agentctl pin $STACK $id1: release 1 runs again and the stack is held"
ctl pin "$STACK" "$id1" >/dev/null
assert_contains "$CTL_OUT" "pinned at deployment" "pin's answer"
assert_runs web "web v1"
pinned=$(latest_deployment)
pin_id=$(json_get "$pinned" .id)
assert_ne "$id1" "$pin_id" "pin deployed release 1 again as a new deployment"
assert_json "$pinned" .revision "$rev1" "the pin's deployment"
assert_json "$pinned" .trigger rollback "the pin's deployment"
status=$(stack_status)
assert_json "$status" .pinned "$pin_id" "pinned after pin"
assert_json "$status" .paused false "paused after pin"
assert_json "$status" .current.revision "$rev1" "current after pin"
ctl pin "$STACK" "$pin_id" >/dev/null
assert_contains "$CTL_OUT" "noop" "pinning what runs deploys nothing"
assert_json "$(latest_deployment)" .id "$pin_id" "newest deployment after pinning what runs"

say "pin refuses an unknown deployment (exit 2) and a malformed one"
ctl_expect 2 pin "$STACK" 99999
assert_contains "$CTL_ERR" "has no deployment 99999" "pin of an unknown deployment"
ctl_expect 2 pin "$STACK" web

say "release 3 is observed while pinned, not deployed"
rev3=$(commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3")
count=$(history_count)
containers=$(container_ids)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length while pinned"
assert_eq "$containers" "$(container_ids)" "containers while pinned"
assert_runs web "web v1"
status=$(stack_status)
assert_json "$status" .last_poll.revision "$rev3" "the pinned stack's last poll"
assert_contains "$(json_get "$status" .candidate)" "${rev3:0:12}" "status names the held candidate"
assert_contains "$(json_get "$status" .candidate)" "pinned at deployment $pin_id" \
    "status says why the candidate waits"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "PINNED at $pin_id" "status (table)"

say "agentctl diff $STACK: what unpinning would deploy"
diff=$(ctl --json diff "$STACK")
assert_json "$diff" .pending true "diff while release 3 is held"
assert_json "$diff" .current.revision "$rev1" "diff: from"
assert_json "$diff" .candidate.revision "$rev3" "diff: to"
assert_json "$diff" '.commits | map(.subject) | join(",")' "release 3,release 2" "diff: commits"
assert_json "$diff" '.commits[0].id' "$rev3" "diff: newest commit"
assert_json "$diff" '.services.changed | map(.service) | join(",")' web "diff: services"
assert_json "$diff" '.services.changed[0].from.tag' 1 "diff: web's old tag"
assert_json "$diff" '.services.changed[0].to.tag' 3 "diff: web's new tag"
assert_json "$diff" '.services.changed[0].to.digest' "$web3" "diff: web's new digest"
assert_contains "$(json_get "$diff" .compose_diff)" "+    image: $(image_ref web:3)" "diff: compose"
ctl diff "$STACK" >/dev/null
assert_contains "$CTL_OUT" "release 3" "diff (text) lists the commit"

say "agentctl unpin $STACK: release 3 is deployed at once"
ctl unpin "$STACK" >/dev/null
assert_contains "$CTL_OUT" "unpinned" "unpin's answer"
assert_json "$(stack_status)" .pinned null "pinned after unpin"
wait_for "release 3 deployed after unpin" 90 deployed "$rev3"
assert_runs web "web v3"
ctl diff "$STACK" >/dev/null
assert_contains "$CTL_OUT" "nothing to deploy" "diff once release 3 runs"

say "release 4 fails its gate (its health file is missing), is rolled back and remembered"
mkdir -p "$T/gate"
rev4=$(commit_compose "$(compose_gated "$(image_ref web:4)")" "release 4")
sync_expect 1
bad=$(latest_deployment)
bad_id=$(json_get "$bad" .id)
assert_json "$bad" .status rolled_back "release 4"
assert_json "$bad" .revision "$rev4" "the rolled back deployment"
assert_runs web "web v3"
count=$(history_count)
sync_expect 0
assert_eq "$count" "$(history_count)" "history length: release 4 is not tried again"
assert_contains "$(json_get "$(stack_status)" .candidate)" "marked bad" "status of the bad release"
ctl_expect 1 pin "$STACK" "$bad_id"
assert_contains "$CTL_ERR" "rolled_back" "pin of a rolled back deployment"

say "the cause is fixed outside the release; agentctl retry $STACK deploys it"
echo ok >"$T/gate/health"
ctl retry "$STACK" >/dev/null
assert_contains "$CTL_OUT" "succeeded" "retry's answer"
retried=$(latest_deployment)
assert_json "$retried" .status succeeded "release 4 retried"
assert_json "$retried" .revision "$rev4" "the retried deployment"
assert_json "$retried" .trigger retry "the retried deployment"
assert_ne "$bad_id" "$(json_get "$retried" .id)" "retry makes a new deployment"
assert_runs web "web v4"

e2e_pass
