#!/bin/bash
# fleet wave (issue 14's acceptance): a 3-member etcd cluster and 20 agentd on one Docker engine,
# each with its own state_dir, API socket, project_prefix and fleet host, following one stack of
# one git repository; max_updating 3, canary hosts h01 and h02 first, the others once 2 hosts
# are done. Release 1 rolls out with never more than 3 hosts in their turn (from each host's
# deployment events and from etcd's revision history: fleet_timeline.py); a release that fails
# on the canaries halts the wave (no other host starts it); a fix and `fleet unhalt` complete it,
# although a host holding a slot is SIGKILLed (its slot is free within the lease's TTL); one etcd
# member killed mid-wave changes nothing; with all three down no host starts a release and every
# host goes on serving. Each host's compose project is <stack>-<host>-<stack>: lib.sh's cleanup (and
# the runner's, after a time-out) removes the containers of projects named <stack>-*.
# e2e: timeout 900
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "fleet wave: 20 agentd, a 3-member etcd, at most 3 updating, canaries first"

readonly HOSTS=20 MAX_UPDATING=3 AFTER=2 LEASE_TTL=5
readonly CANARIES=h01,h02
declare -A AGENT_PIDS=()
hosts=()
for ((i = 1; i <= HOSTS; i++)); do hosts+=("$(printf 'h%02d' "$i")"); done

wave_cleanup() {
    local rc=$?
    trap - ERR
    set +e
    stop_agents "${!AGENT_PIDS[@]}"
    (exit "$rc")
    e2e_cleanup
}
trap wave_cleanup EXIT

# actl HOST ARGS...: agentctl against HOST's agentd.
actl() {
    local host=$1
    shift
    timeout "$E2E_CTL_TIMEOUT" "$AGENTCTL" --socket "$T/$host.sock" "$@"
}

# The web service only, without a Docker healthcheck (20 containers probed every second would
# cost this machine's two cores more than the agents do) and without a network (20 projects'
# networks, with those of the scenarios running beside this one, would use up the engine's
# address pools). The gate waits for it to run stably; the crash variant never does.
fleet_stack() {
    cat <<YAML
services:
  web:
    image: $(image_ref "$1")
    restart: always
    network_mode: none
YAML
}

configure_host() {
    local host=$1 ring=main endpoints
    [[ ",$CANARIES," != *",$host,"* ]] || ring=canary
    endpoints=$(printf '"%s", ' "${ETCD_ENDPOINTS[@]}")
    cat >"$T/$host.yaml" <<YAML
state_dir: $T/state-$host
project_prefix: $STACK-$host-
api:
  socket: $T/$host.sock
fleet:
  etcd: {endpoints: [${endpoints%, }]}
  host: $host
  group: wave
  labels: {ring: $ring}
  max_updating: $MAX_UPDATING
  soak: 2s
  lease_ttl: ${LEASE_TTL}s
stacks:
  - name: $STACK
    git: {url: "file://$BARE", path: $STACK_PATH, branch: main}
    poll_interval: 1h
    health: {timeout: 30s, stable: 1s}
    rollout: {canary: {ring: canary}, after: $AFTER}
YAML
}

start_host() {
    "$AGENTD" --config "$T/$1.yaml" </dev/null >>"$T/$1.log" 2>&1 &
    AGENT_PIDS[$1]=$!
}

host_answers() { actl "$1" status >/dev/null 2>&1; }

# stop_agents HOST...: SIGTERM to each, then waits (SIGKILL after 60s).
stop_agents() {
    local host end=$((SECONDS + 60))
    for host in "$@"; do kill -TERM "${AGENT_PIDS[$host]}" 2>/dev/null; done
    for host in "$@"; do
        while kill -0 "${AGENT_PIDS[$host]}" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
        kill -KILL "${AGENT_PIDS[$host]}" 2>/dev/null
        wait "${AGENT_PIDS[$host]}" 2>/dev/null
        unset "AGENT_PIDS[$host]"
    done
}

# sync_hosts HOST...: `agentctl sync` (queued, not waited for) on each.
sync_hosts() {
    local host
    for host in "$@"; do actl "$host" sync "$STACK" >/dev/null || fail "agentctl sync on $host"; done
}

host_status() { actl "$1" --json status "$STACK" | jq -c '.stacks[0]'; }
host_revision() { host_status "$1" | jq -r '.current.revision // ""'; }

# wait_hosts_at REVISION SECONDS HOST...: until each host's current release is REVISION.
wait_hosts_at() {
    local revision=$1 seconds=$2 host
    shift 2
    local end=$((SECONDS + seconds))
    for host in "$@"; do
        until [[ "$(host_revision "$host")" == "$revision" ]]; do
            ((SECONDS < end)) || {
                AGENTD_LOG=$T/$host.log
                fail "$host is not at ${revision:0:12} after ${seconds}s: $(host_status "$host")"
            }
            sleep 1
        done
    done
}

etcd_revision() { etcdctl_ get / -w json | jq -r '.header.revision'; }

# check_wave NAME REVISION ETCD_REVISION HOST...: fleet_timeline.py on the hosts' deployments of
# REVISION and etcd's history since ETCD_REVISION.
check_wave() {
    local name=$1 revision=$2 since=$3 host id
    shift 3
    mkdir -p "$T/$name"
    for host in "$@"; do
        id=$(actl "$host" --json history "$STACK" |
            jq -r --arg r "$revision" '[.deployments[] | select(.revision == $r)][0].id')
        actl "$host" --json show "$id" >"$T/$name/$host.json"
    done
    timeout 3 env ETCDCTL_API=3 etcdctl --endpoints="$(etcd_live_endpoints)" \
        watch --rev "$since" --prefix "$keys/" -w json >"$T/$name.history" || true
    /usr/bin/python3 "$E2E_ROOT/tests/e2e/fleet_timeline.py" --deployments "$T/$name" \
        --history "$T/$name.history" --keys "$keys" --max-updating "$MAX_UPDATING" \
        --canary "$CANARIES" --after "$AFTER" >"$T/$name.timeline" ||
        fail "$name's timeline: $(cat "$T/$name.timeline")"
    say "$name: $(cat "$T/$name.timeline")"
}

etcd_live_endpoints() {
    local i live=()
    for i in "${!ETCD_PIDS[@]}"; do [[ -z "${ETCD_PIDS[i]}" ]] || live+=("${ETCD_ENDPOINTS[i]}"); done
    local IFS=,
    echo "${live[*]}"
}

# assert_serves HOST VERSION: HOST's web container runs and serves VERSION.
assert_serves() {
    assert_eq "$2" "$(project_file "$STACK-$1-$STACK" web /www/version)" "what $1's web serves"
}

etcd_cluster 3
keys=/agentd/wave/$STACK

make_git_repo
push_image_async web web:1 "web v1"
push_image_async crash web:2 "web v2 crashing"
push_image_async web web:3 "web v3"
push_image_async web web:4 "web v4"
push_image_async web web:5 "web v5"
push_images_wait
rev1=$(commit_compose "$(fleet_stack web:1)" "release 1")

say "20 agentd start: h01 and h02 are the canaries"
for host in "${hosts[@]}"; do
    configure_host "$host"
    start_host "$host"
done
for host in "${hosts[@]}"; do wait_for "$host's agentd answering" 30 host_answers "$host"; done

say "release 1 rolls out: the canaries first, then the others, at most 3 at a time"
since=$(etcd_revision)
sync_hosts "${hosts[@]}"
wait_hosts_at "$rev1" 300 "${hosts[@]}"
check_wave release-1 "$rev1" "$since" "${hosts[@]}"
assert_contains "$(cat "$T/release-1.timeline")" "most_at_once=$MAX_UPDATING" \
    "release 1 used every slot"
for host in h01 h10 h20; do assert_serves "$host" "web v1"; done
assert_eq "$HOSTS" "$(etcdctl_ get --prefix --keys-only "$keys/done/" | grep -c .)" "done marks"

say "release 2 crashes on the canaries: halted, no other host starts it"
rev2=$(commit_compose "$(fleet_stack web:2)" "release 2")
sync_hosts "${hosts[@]}"
halted() { etcdctl_ get --print-value-only "$keys/halt" | grep -q .; }
wait_for "the halt of release 2" 120 halted
halt=$(etcdctl_ get --print-value-only "$keys/halt")
assert_match "$(json_get "$halt" .host)" '^h0[12]$' "the halting host"
sees_halt() { host_status "$1" | jq -r '.candidate // ""' | grep -q 'fleet halted'; }
for host in "${hosts[@]:2}"; do wait_for "$host sees the halt" 60 sees_halt "$host"; done
for host in "${hosts[@]}"; do
    statuses=$(actl "$host" --json history "$STACK" |
        jq -r --arg r "$rev2" '[.deployments[] | select(.revision == $r) | .status] | join(",")')
    case $host in
        h01 | h02) [[ "$statuses" =~ ^(rolled_back|waiting)$ ]] ||
            fail "canary $host: release 2 is '$statuses'" ;;
        *) assert_eq waiting "$statuses" "$host's deployment of release 2" ;;
    esac
    assert_eq "$rev1" "$(host_revision "$host")" "$host's current release"
done
assert_serves h05 "web v1"
ctl_fleet=$(actl h07 fleet status "$STACK")
assert_contains "$ctl_fleet" "HALTED    release ${rev2:0:12}" "fleet status on h07 (which has it waiting)"

say "the fix (release 3) and fleet unhalt: the wave completes, though a slot holder is SIGKILLed"
rev3=$(commit_compose "$(fleet_stack web:3)" "release 3")
actl h11 fleet unhalt "$STACK" >/dev/null
sync_hosts "${hosts[@]}"
# The victim: the first host outside the canary wave to hold a slot for release 3.
victim=""
holds_slot() {
    local host
    for host in $(etcdctl_ get --prefix --keys-only "$keys/slots/" | sed -n 's|.*/slots/||p'); do
        [[ "$host" == h0[12] ]] && continue
        [[ "$(actl "$host" --json history "$STACK" | jq -r '.deployments[0].status')" == in_progress ]] ||
            continue
        victim=$host
        return 0
    done
    return 1
}
wait_for "a host outside the canary wave deploying release 3" 120 holds_slot
say "SIGKILL agentd of $victim, which holds a slot"
kill -KILL "${AGENT_PIDS[$victim]}"
wait "${AGENT_PIDS[$victim]}" 2>/dev/null || true
unset "AGENT_PIDS[$victim]"
killed_at=$SECONDS
slot_gone() { [[ -z "$(etcdctl_ get --keys-only "$keys/slots/$victim")" ]]; }
wait_for "$victim's slot freed by its lease" $((LEASE_TTL * 3)) slot_gone
say "$victim's slot was free $((SECONDS - killed_at))s after the kill (lease_ttl ${LEASE_TTL}s)"
others=()
for host in "${hosts[@]}"; do [[ "$host" == "$victim" ]] || others+=("$host"); done
wait_hosts_at "$rev3" 300 "${others[@]}"
say "$victim starts again and deploys release 3 in its turn"
start_host "$victim"
wait_for "$victim's agentd answering" 30 host_answers "$victim"
sync_hosts "$victim"
wait_hosts_at "$rev3" 120 "$victim"
assert_eq "" "$(etcdctl_ get --keys-only "$keys/halt")" "the halt after release 3"
for host in h01 "$victim" h20; do assert_serves "$host" "web v3"; done

say "release 4: one etcd member is killed mid-wave, and nothing changes"
rev4=$(commit_compose "$(fleet_stack web:4)" "release 4")
since=$(etcd_revision)
sync_hosts "${hosts[@]}"
wait_hosts_at "$rev4" 120 h01
etcd_kill_member 0
wait_hosts_at "$rev4" 300 "${hosts[@]}"
check_wave release-4 "$rev4" "$since" "${hosts[@]}"

say "all three members down: no host starts release 5, every host goes on serving release 4"
etcd_kill_member 1
etcd_kill_member 2
rev5=$(commit_compose "$(fleet_stack web:5)" "release 5")
sync_hosts "${hosts[@]}"
waits_for_etcd() { host_status "$1" | jq -r '.candidate // ""' | grep -q 'etcd'; }
for host in "${hosts[@]}"; do
    wait_for "$host waiting for etcd" 60 waits_for_etcd "$host"
done
for host in "${hosts[@]}"; do
    assert_eq "$rev4" "$(host_revision "$host")" "$host's current release"
    assert_serves "$host" "web v4"
    assert_eq "" "$(actl "$host" --json history "$STACK" |
        jq -r --arg r "$rev5" '.deployments[] | select(.revision == $r and .status != "waiting") | .id')" \
        "$host's deployments of release 5 that went beyond waiting"
done
say "status of h03 without etcd: $(host_status h03 | jq -r .candidate)"

e2e_pass
