#!/bin/bash
# A deployment window that closes: agentd's own polls deploy a release inside the window; once
# it has closed, a new release waits (status `waiting`, reason "window", until the next opening)
# with nothing pulled or applied, and an admin's `agentctl sync` deploys it anyway, its events
# saying that it overrode the window.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "deployment window: deploys inside, waits once it closed, sync overrides"
trap e2e_cleanup EXIT

make_git_repo
for version in 1 2; do
    push_image_async web "web:$version" "web v$version"
done
push_images_wait
docker rmi "$(image_ref web:2)" >/dev/null  # release 2 must not be pulled while it waits
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")

# A window of every day that opened this minute and closes two or three minutes later: at
# least 90 seconds left for release 1's first poll on a loaded machine. It may cross midnight
# (then it closes tomorrow).
now=$(date -u +%s)
opens=$((now - now % 60))
closes=$((opens + ($((now % 60)) < 30 ? 120 : 180)))
from=$(date -u -d "@$opens" +%H:%M)
to=$(date -u -d "@$closes" +%H:%M)
E2E_POLL_INTERVAL=1s E2E_HEALTH_STABLE=1s write_config "    window: {from: \"$from\", to: \"$to\", tz: UTC}"
start_agentd

say "inside the window ($from-$to UTC) agentd's own poll deploys release 1"
wait_for "release 1 deployed by a poll" 60 newest_is succeeded
d1=$(latest_deployment)
assert_json "$d1" .revision "$rev1" "release 1"
assert_json "$d1" .trigger poll "release 1"
assert_runs web "web v1"

say "after $to UTC the window is closed: release 2 waits for it"
window_closed() { (($(date -u +%s) >= closes)); }
wait_for "the window to close at $to UTC" 200 window_closed
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
wait_for "release 2 waiting for the window" 30 newest_is waiting
waiting=$(latest_deployment)
id2=$(json_get "$waiting" .id)
assert_json "$waiting" .revision "$rev2" "release 2"
assert_json "$waiting" .reason window "release 2"
status=$(stack_status)
assert_json "$status" .waiting.deployment "$id2" "status: waiting"
assert_json "$status" .waiting.reason window "status: waiting"
assert_json "$status" .waiting.until "$(date -u -d "@$((opens + 86400))" +%Y-%m-%dT%H:%M:%S.000Z)" \
    "status: waiting until the window opens tomorrow"
assert_contains "$(json_get "$status" .candidate)" \
    "waits for the deployment window daily $from-$to UTC (opens in " "status: candidate"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "waits for the deployment window" "status (table)"
! docker image inspect "$(image_ref web:2)" >/dev/null 2>&1 ||
    fail "release 2's image was pulled while it waits for the window"
assert_runs web "web v1"
count=$(history_count)
polled_since() { [[ "$(json_get "$(stack_status)" .last_poll.at)" != "$1" ]]; }
wait_for "another poll" 20 polled_since "$(json_get "$status" .last_poll.at)"
assert_eq "$count" "$(history_count)" "history length: polls leave the waiting release as it is"

say "agentctl sync deploys release 2 now, and says it overrode the window"
ctl sync "$STACK" --wait >/dev/null
assert_contains "$CTL_OUT" "succeeded, deployment $id2" "sync's outcome"
assert_runs web "web v2"
deployed=$(show_json "$id2")
assert_json "$deployed" .status succeeded "release 2"
assert_json "$deployed" .trigger manual "release 2"
assert_json_true "$deployed" \
    'any(.events[]; .phase == "window" and (.message | test("deployed now because an admin asked")))' \
    "release 2's events"
e2e_pass
