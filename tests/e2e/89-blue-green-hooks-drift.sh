#!/bin/bash
# Blue-green with hooks and drift: the post-deploy smoke test reaches the new slot by
# web-${AGENTD_SLOT} before any traffic does, and runs between the slot's gate ("passed its
# gate") and the switch; a container of the serving slot removed by hand is drift, healed by
# deploying the release again to the other slot (no hook runs for a heal); a release whose smoke
# test fails never gets traffic (not one failed request through nginx), its slot is stopped, and
# the on_rollback hook runs for the slot that serves; a release whose shared worker crash-loops
# fails the gate before the switch, and the worker is brought back to the serving release.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/nginx.sh
source "$(dirname "$0")/nginx.sh"
e2e_begin "blue-green: post-deploy smoke test of the new slot, on_rollback, drift healed"
nginx_start

make_git_repo
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async worker worker:1 "worker v1"
push_image_async crash worker:2 "worker v2 crashes"
push_images_wait

# release WEB_IMAGE EXPECTED [WORKER_IMAGE]: web in slots, a shared worker (worker:1), a smoke
# hook that wants EXPECTED from the new slot's web, and a restore hook that says which slot it
# was told of. ${AGENTD_SLOT} is for compose to fill in, not this shell.
release() {
    compose_stack "$1" "${3:-$(image_ref worker:1)}"
    cat <<YAML
  smoke:
    image: $(image_ref web:1)
    profiles: [hooks]
    command: ["sh", "-c", "v=\$\$(wget -q -O- http://web-\${AGENTD_SLOT}/version) && echo \"slot \${AGENTD_SLOT} says \$\$v\" && [ \"\$\$v\" = '$2' ]"]
  restore:
    image: $(image_ref web:1)
    profiles: [hooks]
    command: ["echo", "restore ran for slot \${AGENTD_SLOT}"]
YAML
}
commit_compose "$(release "$(image_ref web:1)" "web v1")" "release 1" >/dev/null
E2E_HEALTH_TIMEOUT=30s E2E_HEALTH_STABLE=2s write_config "      http:
        - url: http://127.0.0.1:$NGINX_PORT/health
$(blue_green_yaml 10m)
    drift: heal
    hooks:
      post_deploy: [{service: smoke, timeout: 1m}]
      on_rollback: [{service: restore, timeout: 1m}]"
start_agentd

say "release 1: the smoke test asks slot blue, after its gate and before the switch"
sync_expect 0
d1=$(json_get "$(latest_deployment)" .id)
assert_json "$(latest_deployment)" .status succeeded "release 1"
assert_eq "web v1" "$(proxied)" "nginx serves release 1"
events=$(show_json "$d1")
assert_json_true "$events" \
    'any(.events[]; .phase == "post_deploy" and (.message | contains("slot blue says web v1")))' \
    "the smoke test's output"
# Where the gate's end, the smoke test's output and the switch's start are among the events.
# shellcheck disable=SC2016  # $m is jq's
order=$(json_get "$events" '[.events[].message] as $m |
    [($m | map(contains("passed its gate")) | index(true)),
     ($m | map(contains("slot blue says")) | index(true)),
     ($m | map(startswith("traffic to slot")) | index(true))] | map(tostring) | join(" ")')
read -r gated smoked switched <<<"$order"
((gated < smoked && smoked < switched)) ||
    fail "gate passed, smoke test, switch: expected in that order, events at $order"
assert_eq "" "$(docker ps -aq --filter "label=com.docker.compose.service=smoke" --filter "label=com.docker.compose.project=$STACK-shared")" \
    "the smoke test's container is removed"

say "drift: blue's web container removed by hand; a sync heals it through green"
mapfile -t blue_ids < <(docker ps -aq --filter "label=com.docker.compose.project=$STACK-blue")
((${#blue_ids[@]} > 0)) || fail "slot blue runs no container"
docker rm -f "${blue_ids[@]}" >/dev/null
ctl_run sync "$STACK" --wait
heal=$(latest_deployment)
heal_id=$(json_get "$heal" .id)
assert_json "$heal" .trigger drift "the heal"
assert_json "$heal" .status succeeded "the heal"
assert_json_true "$(show_json "$heal_id")" \
    'any(.events[]; .phase == "drift" and (.message | contains("web: no container")))' \
    "the heal's events say what differed"
assert_json_true "$(show_json "$heal_id")" 'all(.events[]; .phase != "post_deploy")' \
    "a heal runs no hook"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$heal_id" "the upstream file"
wait_for "nginx to serve release 1 from green" 10 proxies "web v1"
state_is() { [[ "$(json_get "$(stack_status)" .state)" == "$1" ]]; }
ctl_run sync "$STACK" --wait
assert_json "$(stack_status)" .drift null "status after the heal"
state_is running || fail "status after the heal: $(json_get "$(stack_status)" .state)"

say "release 2 fails its smoke test in blue: no traffic reaches it, on_rollback runs for green"
load_start smoke /version
commit_compose "$(release "$(image_ref web:2)" "web v1")" "release 2" >/dev/null
sync_expect 1
d2=$(json_get "$(latest_deployment)" .id)
load_stop smoke
assert_no_failed_requests smoke "a release failing its smoke test"
[[ -z "$(awk '$4 != "web" || $5 != "v1"' "$T/load.smoke")" ]] ||
    fail "nginx served something else than release 1: $(awk '$4 != "web" || $5 != "v1"' "$T/load.smoke" | head -n 3)"
assert_json "$(latest_deployment)" .status rolled_back "release 2"
reason=$(json_get "$(latest_deployment)" .reason)
assert_contains "$reason" "post_deploy hook smoke failed" "release 2: why"
events=$(show_json "$d2")
assert_json_true "$events" \
    'any(.events[]; .phase == "post_deploy" and (.message | contains("slot blue says web v2")))' \
    "the smoke test asked blue"
assert_json_true "$events" 'all(.events[]; .phase != "switch" and .phase != "soak")' \
    "release 2 never switched"
assert_json_true "$events" \
    'any(.events[]; .phase == "on_rollback" and (.message | contains("restore ran for slot green")))' \
    "on_rollback ran for the serving slot"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$heal_id" "the upstream file"
[[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-blue")" ]] ||
    fail "the slot of the failed release still runs"
assert_eq 1 "$(bad_release_count)" "release 2 is remembered as bad"

say "release 3's shared worker crash-loops: the gate fails before the switch, the worker is restored"
# worker_image: the image id of the shared worker's container.
worker_image() {
    docker inspect -f '{{.Image}}' "$(docker ps -aq --filter "label=com.docker.compose.project=$STACK-shared" \
        --filter "label=com.docker.compose.service=worker")"
}
assert_eq "$(image_id_of "$(image_ref worker:1)")" "$(worker_image)" "the worker before release 3"
commit_compose "$(release "$(image_ref web:2)" "web v2" "$(image_ref worker:2)")" "release 3" >/dev/null
sync_expect 1
d3=$(json_get "$(latest_deployment)" .id)
assert_json "$(latest_deployment)" .status rolled_back "release 3"
assert_contains "$(json_get "$(latest_deployment)" .reason)" "worker" "release 3: why"
events=$(show_json "$d3")
assert_json_true "$events" 'all(.events[]; .phase != "switch" and .phase != "post_deploy")' \
    "release 3 never reached the smoke test or the switch"
assert_json_true "$events" \
    "any(.events[]; .phase == \"rollback\" and (.message | contains(\"shared services back to deployment $heal_id's release: worker\")))" \
    "the shared services restored"
assert_eq "$(image_id_of "$(image_ref worker:1)")" "$(worker_image)" "the worker after release 3"
worker_runs() {
    [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-shared" --filter "label=com.docker.compose.service=worker" --filter status=running)" ]]
}
wait_for "the restored worker to run" 30 worker_runs
assert_eq "web v1" "$(proxied)" "nginx still serves release 1"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$heal_id" "the upstream file"
e2e_pass
