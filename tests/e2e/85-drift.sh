#!/bin/bash
# Drift: a container removed by hand is reported by the next poll (status `drifted`, a
# `drifted` notification) and, with the default `drift: warn`, left as it is; with `drift:
# heal` the current release is re-applied through the gate as a deployment with trigger
# `drift`, and a container replaced by hand (compose up of an edited file) is healed the same
# way. Each heal resolves the notification.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "drift: a container removed or replaced by hand is reported, then healed"
trap e2e_cleanup EXIT

receiver notes
notes_url="http://127.0.0.1:$(cat "$T/notes.port")/hooks/DRIFTSECRET"
# noted EVENT: the receiver got a generic notification of EVENT.
noted() { received notes | jq -s -e --arg e "$1" 'any(.[]; .event == $e)' >/dev/null; }
# noted_count EVENT: how many notifications of EVENT the receiver got.
noted_count() { received notes | jq -s --arg e "$1" '[.[] | select(.event == $e)] | length'; }

make_git_repo
push_image_async web web:1 "web v1"
push_image_async web other:1 "not the release"
push_images_wait
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
# configure [EXTRA_STACK_YAML]: polls every second, notifications to the receiver.
configure() {
    E2E_POLL_INTERVAL=1s E2E_HEALTH_STABLE=1s write_config "${1:-}"
    cat >>"$CONFIG" <<YAML
notifications:
  - url: $notes_url
    format: generic
YAML
}
configure
start_agentd
wait_for "release 1 deployed by a poll" 60 newest_is succeeded
d1=$(json_get "$(latest_deployment)" .id)
assert_runs web "web v1"
state_is() { [[ "$(json_get "$(stack_status)" .state)" == "$1" ]]; }
wait_for "a poll that finds no drift" 30 state_is running
assert_json "$(stack_status)" .drift null "status: drift"

say "warn (the default): a container removed by hand is reported by the next poll"
mapfile -t web_ids < <(container_ids web)
docker rm -f "${web_ids[@]}" >/dev/null
wait_for "status drifted" 30 state_is drifted
status=$(stack_status)
assert_json "$status" .drift "web: no container" "status: drift"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "DRIFT: web: no container" "status (table)"
wait_for "the drifted notification" 30 noted drifted
note=$(received notes | jq -c 'select(.event == "drifted")' | head -n 1)
assert_json "$note" .deployment "$d1" "drifted: the current deployment"
assert_contains "$(json_get "$note" .summary)" "web: no container" "drifted: summary"
polled_since() { [[ "$(json_get "$(stack_status)" .last_poll.at)" != "$1" ]]; }
wait_for "another poll" 20 polled_since "$(json_get "$status" .last_poll.at)"
assert_eq "$d1" "$(json_get "$(latest_deployment)" .id)" "warn deploys nothing"
[[ -z "$(container_ids web)" ]] || fail "drift: warn re-created the container"
assert_eq 1 "$(noted_count drifted)" "drifted notifications while it goes on"

say "drift: heal re-applies release 1 through the gate"
configure "    drift: heal"
ctl reload >/dev/null
# healed_after ID: the newest deployment is a later one, succeeded.
healed_after() {
    local d
    d=$(latest_deployment)
    [[ "$(json_get "$d" .id)" != "$1" && "$(json_get "$d" .status)" == succeeded ]]
}
wait_for "a heal deployment" 60 healed_after "$d1"
heal=$(latest_deployment)
heal_id=$(json_get "$heal" .id)
assert_json "$heal" .trigger drift "heal"
assert_json "$heal" .revision "$rev1" "heal: the current release"
assert_json_true "$(show_json "$heal_id")" \
    'any(.events[]; .phase == "drift" and (.message | contains("web: no container")))' \
    "heal: its events say what differed"
assert_runs web "web v1"
wait_for "status running" 30 state_is running
assert_json "$(stack_status)" .drift null "status after the heal"
wait_for "the resolved notification" 30 noted resolved

say "a container replaced by hand (compose up of an edited file: another image) is healed"
ctl pause "$STACK" >/dev/null  # no poll while the container is replaced
mkdir -p "$T/by-hand"
compose_stack "$(image_ref other:1)" >"$T/by-hand/compose.yaml"
docker-compose -p "$STACK" -f "$T/by-hand/compose.yaml" up -d >/dev/null 2>&1 ||
    fail "compose up of the edited file failed"
assert_eq "not the release" "$(service_version web)" "the replacement serves"
ctl resume "$STACK" >/dev/null
wait_for "a second heal" 60 healed_after "$heal_id"
heal2=$(latest_deployment)
assert_json "$heal2" .trigger drift "second heal"
assert_json_true "$(show_json "$(json_get "$heal2" .id)")" \
    "any(.events[]; .phase == \"drift\" and (.message | contains(\"runs $(image_ref other:1)\")))" \
    "second heal: its events name the other image"
assert_runs web "web v1"
mapfile -t web_ids < <(container_ids web)
assert_eq 1 "${#web_ids[@]}" "containers of web after the heal"
e2e_pass
