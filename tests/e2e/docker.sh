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
# It has its own socket, --data-root, --exec-root (so its own containerd) and pidfile in
# $T/dockerd, no default bridge (compose makes its own networks, from 10.213.0.0/16, apart from
# the shared daemon's), and leaves iptables alone (--iptables=false: published ports are
# served by docker-proxy). On exit: agentd, the project's containers and networks, the daemon.

PD_DIR=""
PD_PID=""

private_dockerd_args() {
    echo --host "unix://$PD_DIR/docker.sock" --data-root "$PD_DIR/data" \
        --exec-root "$PD_DIR/exec" --pidfile "$PD_DIR/docker.pid" --bridge=none \
        --iptables=false --ip6tables=false --default-address-pool base=10.213.0.0/16,size=24
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
    trap private_dockerd_on_exit EXIT
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
    unset DOCKER_HOST
    (exit "$rc")
    e2e_cleanup
}
