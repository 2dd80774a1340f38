#!/bin/bash
# A private Docker daemon for one scenario, so that it can be stopped and restarted without
# touching the dockerd every other test (and session) shares. Source after lib.sh; push the
# scenario's images first (through the shared daemon), then:
#
#   private_dockerd_start     # exports DOCKER_HOST (this scenario's docker CLI) and
#                             # E2E_AGENTD_DOCKER_SOCKET (agentd and its compose, see start_agentd)
#   private_dockerd_restart   # SIGTERM, wait, start again on the same data
#
# The daemon runs in a network namespace of its own (PD_NS): its bridge, its iptables and
# whatever it deletes at start or stop are that namespace's, never the shared daemon's docker0
# (a private dockerd in the host's namespace deleted it: docs/testing.md). It also has a mount
# namespace of its own (its overlays and its containerd's mounts stay in it) and its own socket,
# --data-root, --exec-root, pidfile and --config-file in $T/dockerd. The test registry (on the
# host's loopback) is reached at the same address inside the namespace through a pair of socat
# relays joined by a unix socket, so image references are the same for every daemon. The web
# service's published port is inside the namespace too: `served` looks there.

PD_DIR=""
PD_PID=""
PD_NS=""
PD_RELAYS=()

private_dockerd_args() {
    echo --host "unix://$PD_DIR/docker.sock" --data-root "$PD_DIR/data" \
        --exec-root "$PD_DIR/exec" --pidfile "$PD_DIR/docker.pid" \
        --config-file "$PD_DIR/daemon.json" --iptables=false --ip6tables=false
}

# shared_docker_untouched WHEN: the shared daemon still has its bridge and answers on its socket,
# and /dev/null is still a device.
shared_docker_untouched() {
    ip link show docker0 >/dev/null 2>&1 || fail "the shared dockerd's docker0 is missing $1"
    DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1 ||
        fail "the shared dockerd does not answer on /var/run/docker.sock $1"
    assert_eq "character special file" "$(stat -c %F /dev/null)" "/dev/null $1"
}

# private_dockerd_up: starts the daemon in the namespaces and waits until it answers.
private_dockerd_up() {
    # shellcheck disable=SC2046  # the arguments are words without spaces
    nsenter --net="/run/netns/$PD_NS" unshare --mount --propagation private \
        dockerd $(private_dockerd_args) </dev/null >>"$PD_DIR/dockerd.log" 2>&1 &
    PD_PID=$!  # nsenter and unshare exec: this is dockerd
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
    local port=${AGENTD_TEST_REGISTRY##*:}
    PD_DIR=$T/dockerd
    PD_NS=e2e-$STACK
    mkdir -p "$PD_DIR"
    echo '{}' >"$PD_DIR/daemon.json"
    shared_docker_untouched "before the scenario"
    trap private_dockerd_on_exit EXIT
    echo "$PD_NS" >"$PD_DIR/netns"  # for tests/e2e/run, should this scenario be killed
    ip netns add "$PD_NS" || fail "cannot make network namespace $PD_NS"
    ip -n "$PD_NS" link set lo up
    socat "UNIX-LISTEN:$PD_DIR/registry.sock,fork,unlink-early" "TCP:127.0.0.1:$port" \
        </dev/null >>"$PD_DIR/relay.log" 2>&1 &
    PD_RELAYS+=("$!")
    nsenter --net="/run/netns/$PD_NS" socat \
        "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$PD_DIR/registry.sock" \
        </dev/null >>"$PD_DIR/relay.log" 2>&1 &
    PD_RELAYS+=("$!")
    private_dockerd_up
    export DOCKER_HOST=unix://$PD_DIR/docker.sock
    export E2E_AGENTD_DOCKER_SOCKET=$PD_DIR/docker.sock
    say "private dockerd (pid $PD_PID) on $DOCKER_HOST in network namespace $PD_NS"
}

# private_dockerd_restart: stops the daemon as an administrator or a package upgrade would
# (SIGTERM: it stops the containers) and starts it again; `restart: always` containers return.
private_dockerd_restart() {
    say "restarting the private dockerd (pid $PD_PID)"
    private_dockerd_down
    private_dockerd_up
    say "the private dockerd is back (pid $PD_PID)"
    shared_docker_untouched "after the private dockerd's restart"
}

# served: what web's published port answers inside the private daemon's namespace.
served() {
    nsenter --net="/run/netns/$PD_NS" curl -fsS --max-time 5 "http://127.0.0.1:$WEB_PORT/version" \
        2>/dev/null || true
}

private_dockerd_on_exit() {
    local rc=$? pid pids=()
    trap - ERR
    set +e
    stop_agentd >/dev/null 2>&1
    private_dockerd_down  # stops the project's containers with it
    if ((${#PD_RELAYS[@]} > 0)); then
        kill "${PD_RELAYS[@]}" 2>/dev/null
        wait "${PD_RELAYS[@]}" 2>/dev/null
    fi
    # containerd shims of containers that did not stop name the directory
    for pid in /proc/[0-9]*; do
        { tr '\0' ' ' <"$pid/cmdline"; } 2>/dev/null | grep -qF "$PD_DIR/" && pids+=("${pid#/proc/}")
    done
    ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null
    ip netns pids "$PD_NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$PD_NS" 2>/dev/null
    unset DOCKER_HOST E2E_AGENTD_DOCKER_SOCKET
    if ((rc == 0)); then
        (shared_docker_untouched "after the scenario") || rc=1
    fi
    (exit "$rc")
    e2e_cleanup
}
