#!/bin/bash
# Blue-green through Debian's nginx on the host, with a load loop through nginx the whole time:
# a promotion (release 2 up in the green slot, gated there, traffic switched), an automatic
# rollback (release 3 passes its slot's gate but fails the soak through the proxy: traffic goes
# back to green), a rollback after the old slot was replaced (release 1 started again in blue)
# and one inside keep_old_for (a switch back to green, no container started). Not one request
# fails, and what nginx serves changes exactly when each switch is recorded. Then: keep_old_for
# stops the idle slot; a slot service that publishes a port is refused at verify; an nginx
# configuration that fails `nginx -t` fails the release while the old slot keeps serving.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/nginx.sh
source "$(dirname "$0")/nginx.sh"
e2e_begin "blue-green: zero failed requests through nginx in promotions and rollbacks"
nginx_start

make_git_repo
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async web web:3 "web v3"
push_image_async web web:4 "web v4"
push_image_async worker worker:1 "worker"
push_images_wait
worker=$(image_ref worker:1)
# release FILE-TEXT: the compose file of web image $1 (no published port: nginx reaches it) and
# a shared worker.
release() { compose_stack "$1" "$worker"; }
rev1=$(commit_compose "$(release "$(image_ref web:1)")" "release 1")

# write_config's health block ends its text: the probe continues it.
E2E_HEALTH_TIMEOUT=30s E2E_HEALTH_STABLE=2s write_config "      http:
        - url: http://127.0.0.1:$NGINX_PORT/health
$(blue_green_yaml 20s)"
start_agentd
sync_expect 0
d1=$(json_get "$(latest_deployment)" .id)
assert_json "$(latest_deployment)" .status succeeded "release 1"
assert_eq "web v1" "$(proxied)" "nginx serves release 1"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=blue deployment=$d1" "the upstream file"
[[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-shared" --filter "label=com.docker.compose.service=worker")" ]] ||
    fail "the shared worker does not run in $STACK-shared"
[[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$STACK-blue" --filter "label=com.docker.compose.service=worker")" ]] ||
    fail "the shared worker runs in the slot project too"

say "promotion: release 2 into green, then the switch"
load_start promote /version
commit_compose "$(release "$(image_ref web:2)")" "release 2" >/dev/null
sync_expect 0
d2=$(json_get "$(latest_deployment)" .id)
assert_json "$(latest_deployment)" .status succeeded "release 2"
wait_for "requests after the switch" 10 proxies "web v2"
load_stop promote
assert_no_failed_requests promote "promotion"
assert_switch_timeline promote "$d2" "web v1" "web v2"
assert_json_true "$(show_json "$d2")" \
    'any(.events[]; .phase == "gate" and .message == "slot green passed its gate")' \
    "release 2: the end of the slot's gate"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$d2" "the upstream file"
status=$(stack_status)
assert_json "$status" .slots.active green "status: active slot"
assert_json "$status" .slots.idle_deployment "$d1" "status: the idle slot holds release 1"
[[ "$(json_get "$status" .slots.idle_stops_at)" != null ]] || fail "status: no stop time for blue"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "slot green serves" "status (table)"
[[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-blue")" ]] ||
    fail "the old slot was stopped at once (keep_old_for is 20s)"

blue_green_rollbacks "$rev1" "$d2"
d5=$D5

say "keep_old_for (20s) over: the idle slot is stopped by the next cycle"
blue_stopped() {
    ctl_run sync "$STACK" --wait >/dev/null
    [[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-blue")" ]]
}
wait_for "blue stopped" 90 blue_stopped
[[ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$STACK-blue")" ]] ||
    fail "keep_old_for removed the old slot's containers (it only stops them)"
assert_json "$(stack_status)" .slots.idle_stops_at null "status: blue stopped"
assert_eq "web v2" "$(proxied)" "still serving release 2"

# `agentctl rollback` paused the stack (and keep_old_for still stopped blue): resume it.
ctl resume "$STACK" >/dev/null

say "refused: a slot service that publishes a port"
rejected_rev=$(commit_compose "$(WEB_PORT=$(closed_port) compose_stack "$(image_ref web:4)" "$worker")" "ports") 
sync_expect 1
assert_json "$(latest_deployment)" .status rejected "a published port"
assert_contains "$(json_get "$(latest_deployment)" .reason)" "service web publishes a host port" "why"
assert_eq "web v2" "$(proxied)" "still serving release 2"

say "an nginx configuration that fails nginx -t: the release fails, green keeps serving"
commit_compose "$(release "$(image_ref web:4)")" "release 4" >/dev/null
cp "$NGINX_CONF" "$NGINX_CONF.good"
echo "this_is_not_a_directive;" >>"$NGINX_CONF"
sync_expect 1
d7=$(json_get "$(latest_deployment)" .id)
assert_contains "$(json_get "$(latest_deployment)" .reason)" "nginx -t" "why"
assert_eq "web v2" "$(proxied)" "still serving release 2"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$d5" "the upstream file is the old one"
[[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-blue")" ]] ||
    fail "the slot of the failed release still runs"
cp "$NGINX_CONF.good" "$NGINX_CONF"
: "$d7" "$rejected_rev"
e2e_pass
