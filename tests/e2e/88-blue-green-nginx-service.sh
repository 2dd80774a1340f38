#!/bin/bash
# Blue-green through nginx as the `nginx` service of the stack's own compose file (in the shared
# project, an image made from the host's Debian nginx package): the upstream file's directory is
# bind-mounted, agentd runs nginx -t inside the container and reloads it by SIGHUP through the
# Engine API. With a load loop through nginx's published port the whole time: a promotion, an
# automatic rollback (release 3 passes its slot's gate but fails the soak), a rollback that
# starts the old release again and one inside keep_old_for (a switch back). Not one request
# fails, what nginx serves changes exactly when each switch is recorded, and nginx's container is
# never recreated or restarted. Then: a compose file that bind-mounts the upstream file itself is
# refused at verify; a site that fails nginx -t inside the container fails the release while the
# old slot keeps serving.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/nginx.sh
source "$(dirname "$0")/nginx.sh"
e2e_begin "blue-green through an nginx service: zero failed requests in promotions and rollbacks"
E2E_EXTRA_PROJECTS+=("$STACK-blue" "$STACK-green" "$STACK-shared")
nginx_service_setup

make_git_repo
push_image_async nginx nginx:1 "nginx"
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async web web:3 "web v3"
push_image_async web web:4 "web v4"
push_image_async worker worker:1 "worker"
push_images_wait
worker=$(image_ref worker:1)
nginx_image=$(image_ref nginx:1)
# release WEB_IMAGE [UPSTREAM_MOUNT]: the compose file: web in slots (no published port), a
# shared worker and the shared nginx in front.
release() { compose_stack "$1" "$worker"; nginx_service_yaml "$nginx_image" "${2:-}"; }
rev1=$(commit_compose "$(release "$(image_ref web:1)")" "release 1")

E2E_HEALTH_TIMEOUT=30s E2E_HEALTH_STABLE=2s write_config "      http:
        - url: http://127.0.0.1:$NGINX_PORT/health
$(blue_green_service_yaml 10m)"
start_agentd
sync_expect 0
d1=$(json_get "$(latest_deployment)" .id)
assert_json "$(latest_deployment)" .status succeeded "release 1"
assert_eq "web v1" "$(proxied)" "nginx serves release 1"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=blue deployment=$d1" "the upstream file"
nginx_container() {
    docker ps -q --no-trunc --filter "label=com.docker.compose.project=$STACK-shared" \
        --filter "label=com.docker.compose.service=nginx"
}
nginx_id=$(nginx_container)
[[ -n "$nginx_id" ]] || fail "nginx does not run in $STACK-shared"
nginx_started=$(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$nginx_id")
# The reload happened inside the container: its master has the worker it started then.
[[ "$(docker top "$nginx_id" -o pid,args | grep -c 'nginx: worker process')" -ge 1 ]] ||
    fail "nginx's container has no worker: $(docker top "$nginx_id")"

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
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$d2" "the upstream file"
assert_json "$(stack_status)" .slots.active green "status: active slot"

blue_green_rollbacks "$rev1" "$d2"
d5=$D5

assert_eq "$nginx_id" "$(nginx_container)" "nginx's container after four switches"
assert_eq "$nginx_started" "$(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$nginx_id")" \
    "nginx was never restarted"

# `agentctl rollback` paused the stack: resume it.
ctl resume "$STACK" >/dev/null

say "refused: nginx bind-mounts the upstream file itself"
commit_compose "$(release "$(image_ref web:4)" "$NGINX_UPSTREAMS:/etc/nginx/agentd/upstreams.conf:ro")" \
    "a single-file mount" >/dev/null
sync_expect 1
assert_json "$(latest_deployment)" .status rejected "a single-file mount of the upstream file"
assert_contains "$(json_get "$(latest_deployment)" .reason)" \
    "service nginx (nginx) bind-mounts the upstream file $NGINX_UPSTREAMS itself" "why"
assert_contains "$(json_get "$(latest_deployment)" .reason)" "bind-mount its directory" "what to do"
assert_eq "web v2" "$(proxied)" "still serving release 2"
assert_eq "$nginx_id" "$(nginx_container)" "nginx's container after the refusal"

say "a site that fails nginx -t inside the container: the release fails, green keeps serving"
commit_compose "$(release "$(image_ref web:4)")" "release 4" >/dev/null
cp "$NGINX_CONF" "$NGINX_CONF.good"
echo "this_is_not_a_directive;" >>"$NGINX_CONF"
sync_expect 1
assert_contains "$(json_get "$(latest_deployment)" .reason)" "nginx -t refused the upstreams" "why"
assert_contains "$(json_get "$(latest_deployment)" .reason)" "this_is_not_a_directive" "what nginx said"
assert_eq "web v2" "$(proxied)" "still serving release 2"
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$d5" "the upstream file is the old one"
[[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-blue")" ]] ||
    fail "the slot of the failed release still runs"
cp "$NGINX_CONF.good" "$NGINX_CONF"
assert_eq "$nginx_started" "$(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$nginx_id")" \
    "nginx was never restarted"
e2e_pass
