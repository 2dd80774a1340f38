#!/bin/bash
# A private Docker daemon for one scenario, so that it can be stopped and restarted without
# touching the dockerd every other test (and session) shares. Source after lib.sh, call after
# e2e_begin:
#
#   source "$(dirname "$0")/docker.sh"
#   private_dockerd_start     # exports DOCKER_HOST (this scenario's docker CLI and compose) and
#                             # E2E_AGENTD_DOCKER_SOCKET (agentd, see start_agentd)
#   private_dockerd_restart   # SIGTERM, wait, start again on the same data
#
# It has its own socket, --data-root, --exec-root (so its own containerd), pidfile and (empty)
# --config-file in $T/dockerd, its own default bridge (an interface made here, PD_BRIDGE, with
# an address from 10.214.0.0/16; never --bridge=none, with which dockerd deletes docker0, the
# shared daemon's bridge), its own pool for compose's networks (10.213.0.0/16, apart from the
# shared daemon's), and leaves iptables alone (--iptables=false: published ports are served by
# docker-proxy). On exit: agentd, the project's containers and networks, the daemon, the bridge.

PD_DIR=""
PD_PID=""
PD_BRIDGE=""

private_dockerd_args() {
    echo --host "unix://$PD_DIR/docker.sock" --data-root "$PD_DIR/data" \
        --exec-root "$PD_DIR/exec" --pidfile "$PD_DIR/docker.pid" \
        --config-file "$PD_DIR/daemon.json" --bridge "$PD_BRIDGE" \
        --iptables=false --ip6tables=false --default-address-pool base=10.213.0.0/16,size=24
}

# private_bridge_make: a bridge interface of this scenario's own, e2eb + 8 hex digits, with a
# free /24 of 10.214.0.0/16.
private_bridge_make() {
    local n
    PD_BRIDGE=e2eb$(printf '%04x%04x' "$RANDOM" "$RANDOM")
    ip link add "$PD_BRIDGE" type bridge || fail "cannot make bridge $PD_BRIDGE"
    echo "$PD_BRIDGE" >"$PD_DIR/bridge"  # for tests/e2e/run, should this scenario be killed
    for _ in $(seq 20); do
        n=$((RANDOM % 250 + 1))
        ip -4 addr show | grep -q "inet 10\.214\.$n\." && continue
        ip addr add "10.214.$n.1/24" dev "$PD_BRIDGE" || fail "cannot address bridge $PD_BRIDGE"
        ip link set "$PD_BRIDGE" up
        return 0
    done
    fail "no free /24 in 10.214.0.0/16 for bridge $PD_BRIDGE"
}

# private_dockerd_up: starts the daemon and waits until it answers.
private_dockerd_up() {
    # shellcheck disable=SC2046  # the arguments are words without spaces
    dockerd $(private_dockerd_args) </dev/null >>"$PD_DIR/dockerd.log" 2>&1 &
    PD_PID=$!
    local end=$((SECONDS + 60))
    until docker --host "unix://$PD_DIR/docker.sock" version >/dev/null 2>&1; do
        kill -0 "$PD_PID" 2>/dev/null || fail "the private dockerd exited: $(tail -n 5 "$PD_DIR/dockerd.log")"
        ((SECONDS < end)) || fail "the private dockerd did not answer within 60s"
        sleep 0.25
    done
}

private_dockerd_down() {
    [[ -n "$PD_PID" ]] || return 0
    kill -TERM "$PD_PID" 2>/dev/null || true
    local end=$((SECONDS + 60))
    while kill -0 "$PD_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.25; done
    kill -KILL "$PD_PID" 2>/dev/null || true
    wait "$PD_PID" 2>/dev/null || true
    PD_PID=""
}

private_dockerd_start() {
    PD_DIR=$T/dockerd
    mkdir -p "$PD_DIR"
    echo '{}' >"$PD_DIR/daemon.json"
    trap private_dockerd_on_exit EXIT
    ip link show docker0 >/dev/null 2>&1 || fail "the shared dockerd's docker0 is missing before the scenario"
    private_bridge_make
    private_dockerd_up
    export DOCKER_HOST=unix://$PD_DIR/docker.sock
    export E2E_AGENTD_DOCKER_SOCKET=$PD_DIR/docker.sock
    say "private dockerd (pid $PD_PID) on $DOCKER_HOST"
}

# private_dockerd_restart: stops the daemon as an administrator or a package upgrade would
# (SIGTERM: it stops the containers) and starts it again; `restart: always` containers return.
private_dockerd_restart() {
    say "restarting the private dockerd (pid $PD_PID)"
    private_dockerd_down
    private_dockerd_up
    say "the private dockerd is back (pid $PD_PID)"
    ip link show docker0 >/dev/null 2>&1 || fail "the shared dockerd's docker0 disappeared"
}

private_dockerd_on_exit() {
    local rc=$? ids=()
    set +e
    stop_agentd >/dev/null 2>&1
    if [[ -n "$PD_PID" && -n "$STACK" ]]; then
        mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$STACK")
        ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null 2>&1
        mapfile -t ids < <(docker network ls -q --filter "label=com.docker.compose.project=$STACK")
        ((${#ids[@]} == 0)) || docker network rm "${ids[@]}" >/dev/null 2>&1
    fi
    private_dockerd_down
    [[ -z "$PD_BRIDGE" ]] || ip link del "$PD_BRIDGE" 2>/dev/null
    unset DOCKER_HOST
    (exit "$rc")
    e2e_cleanup
}
