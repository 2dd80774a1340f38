#!/bin/bash
# SIGKILL agentd during a blue-green release, at each phase that matters, then start it again:
# killed in the slot's gate (up, not switched), the deployment ends failed (transient) and
# traffic never left the old slot, and the next cycle deploys the release again; killed in the
# soak (switched), the restart soaks again and the release succeeds; killed between the switch
# and its record in state.db (the kill in the soak, with state.db put back as it was before the
# switch), the restart takes the upstream file as the truth, records the switch and soaks again.
# Each time exactly one slot serves, and state.db, the proxy's upstream file and `agentctl
# status` agree on which.
# (Killed in the slot's gate, the restart's first cycle tries the release again.)
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/nginx.sh
source "$(dirname "$0")/nginx.sh"
e2e_begin "blue-green: SIGKILL in the slot's gate and in the soak; the restart settles it"
nginx_start

make_git_repo
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async web web:3 "web v3"
push_image_async web web:4 "web v4"
push_images_wait
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
# A long stable window and soak keep each phase open long enough to kill agentd inside it.
E2E_HEALTH_TIMEOUT=60s E2E_HEALTH_STABLE=8s write_config "      http:
        - url: http://127.0.0.1:$NGINX_PORT/health
$(blue_green_yaml 10m | sed 's/soak: 4s/soak: 10s/')"
start_agentd
sync_expect 0

# agree SLOT TEXT: the upstream file, state.db and status name SLOT, nginx serves TEXT (so
# exactly that slot gets the traffic) and the slot runs containers.
agree() {
    local slot=$1 text=$2
    assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=$slot " "the upstream file"
    assert_eq "$slot" "$(sqlite3 -readonly "$(state_db)" "SELECT active_slot FROM stacks WHERE name = '$STACK';")" "state.db"
    assert_json "$(stack_status)" .slots.active "$slot" "status"
    wait_for "nginx to serve '$text'" 30 proxies "$text"
    [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$STACK-$slot")" ]] ||
        fail "slot $slot serves but runs no container"
    say "slot $slot serves '$text'; upstream file, state.db and status agree"
}
agree blue "web v1"

say "release 2; SIGKILL while green is gated (up, not switched)"
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
ctl sync "$STACK" >/dev/null
wait_for "release 2 in the slot's gate" 60 in_phase gate
interrupted=$(json_get "$(latest_deployment)" .id)
kill_agentd
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=blue " "the upstream file while agentd is down"
assert_eq "web v1" "$(proxied)" "nginx while agentd is down"
start_agentd
ended() { [[ "$(deployment_status "$interrupted")" != in_progress ]]; }
wait_for "the interrupted deployment to end" 60 ended
assert_eq failed "$(deployment_status "$interrupted")" "killed before the switch"
assert_contains "$(json_get "$(show_json "$interrupted")" .reason)" "before the switch" "why"
# Transient: agentd's first cycle after the start deploys release 2 again, to green.
retried() { [[ "$(json_get "$(latest_deployment)" .id)" != "$interrupted" ]] && newest_is succeeded; }
wait_for "release 2 deployed again" 90 retried
agree green "web v2"

say "release 3; SIGKILL during the soak (switched)"
commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3" >/dev/null
ctl sync "$STACK" >/dev/null
wait_for "release 3 in the soak" 60 in_phase soak
interrupted=$(json_get "$(latest_deployment)" .id)
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=blue deployment=$interrupted" "switched before the kill"
kill_agentd
start_agentd
wait_for "the interrupted deployment to end" 90 newest_finished
assert_eq "$interrupted" "$(json_get "$(latest_deployment)" .id)" "the interrupted deployment"
assert_json "$(latest_deployment)" .status succeeded "killed in the soak, soaked again"
assert_json_true "$(show_json "$interrupted")" \
    'any(.events[]; .phase == "recover" and (.message | contains("soaking again")))' "its events"
agree blue "web v3"
assert_json "$(stack_status)" .slots.idle_deployment \
    "$(sqlite3 -readonly "$(state_db)" "SELECT id FROM deployments WHERE stack = '$STACK' AND status = 'superseded' ORDER BY id DESC LIMIT 1;")" \
    "status: green holds release 2"
d3=$interrupted

say "release 4; SIGKILL after the switch, state.db as if the switch had not been recorded"
commit_compose "$(compose_stack "$(image_ref web:4)")" "release 4" >/dev/null
ctl sync "$STACK" >/dev/null
wait_for "release 4 in the soak" 60 in_phase soak
interrupted=$(json_get "$(latest_deployment)" .id)
kill_agentd
assert_contains "$(head -n 1 "$NGINX_UPSTREAMS")" "slot=green deployment=$interrupted" "switched before the kill"
# What state.db holds between the switch and its record: blue serves release 3, green nothing.
sqlite3 "$(state_db)" "UPDATE stacks SET active_slot = 'blue', active_deployment = $d3, idle_deployment = NULL, idle_stops_at = NULL WHERE name = '$STACK';"
start_agentd
wait_for "the interrupted deployment to end" 90 newest_finished
assert_eq "$interrupted" "$(json_get "$(latest_deployment)" .id)" "the interrupted deployment"
assert_json "$(latest_deployment)" .status succeeded "killed before the switch was recorded"
assert_json_true "$(show_json "$interrupted")" \
    'any(.events[]; .phase == "recover" and (.message | contains("traffic switched to slot green")))' \
    "its events"
agree green "web v4"
assert_json "$(stack_status)" .slots.idle_deployment "$d3" "status: blue holds release 3"
e2e_pass
