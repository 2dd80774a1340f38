#!/bin/bash
# The end-to-end harness: real agentd and agentctl binaries against real git repositories, a real
# registry and a real Docker daemon. Sourced by every tests/e2e/NN-name.sh scenario:
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_begin "what this scenario proves"
#   ... steps and assertions ...
#   e2e_pass
#
# Needs scripts/services' environment (AGENTD_TEST_REGISTRY) and built binaries (AGENTD_BUILD_DIR,
# default build/). Each scenario gets its own temporary directory ($T), stack and compose
# project name ($STACK), git repository, images ($AGENTD_TEST_REGISTRY/$STACK/...) and agentd;
# an EXIT trap stops agentd and removes the project's containers. E2E_KEEP=1 keeps $T.
# A failed assertion prints "FAIL: ..." plus agentd's log and exits 1; the runner shows it.
set -Eeuo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly E2E_ROOT
# AGENTD_BUILD_DIR: absolute, or relative to the repository root (default build).
e2e_build_dir=${AGENTD_BUILD_DIR:-build}
[[ "$e2e_build_dir" == /* ]] || e2e_build_dir=$E2E_ROOT/$e2e_build_dir
AGENTD=${AGENTD:-$e2e_build_dir/agentd}
AGENTCTL=${AGENTCTL:-$e2e_build_dir/agentctl}
readonly AGENTD AGENTCTL
readonly E2E_CTL_TIMEOUT=${E2E_CTL_TIMEOUT:-150}

# shellcheck source=SCRIPTDIR/../images/build
source "$E2E_ROOT/tests/images/build"

T=""
STACK=""
SOCKET=""
CONFIG=""
AGENTD_PID=""
AGENTD_LOG=""
WORK=""       # the git working clone
BARE=""       # the bare repository agentd fetches from
STACK_PATH=stack  # sub-directory of the repository holding the compose files
WEB_PORT=""   # when set, compose_stack publishes web's port 80 on 127.0.0.1:$WEB_PORT
E2E_EXTRA_PROJECTS=()  # more compose projects (stacks) of the scenario, cleaned up like $STACK
CTL_RC=0
CTL_OUT=""
CTL_ERR=""
E2E_NAME=$(basename "$0" .sh)
E2E_STARTED=$SECONDS

# ---------------------------------------------------------------------------------------------
# Reporting

say() { echo "[$E2E_NAME +$((SECONDS - E2E_STARTED))s] $*"; }

# Prints the failure, agentd's log and the project's containers, then exits 1.
fail() {
    trap - ERR
    local message="FAIL: $E2E_NAME: $*"
    echo "$message" >&2
    [[ -n "${E2E_RESULT:-}" ]] && echo "$message" >"$E2E_RESULT"
    if [[ -n "$AGENTD_LOG" && -f "$AGENTD_LOG" ]]; then
        echo "--- agentd log (last 80 lines of $AGENTD_LOG)" >&2
        tail -n 80 "$AGENTD_LOG" >&2 || true
    fi
    if [[ -n "$STACK" ]]; then
        echo "--- containers of project $STACK" >&2
        docker ps -a --filter "label=com.docker.compose.project=$STACK" \
            --format '{{.Names}}  {{.Image}}  {{.Status}}' >&2 || true
    fi
    exit 1
}

on_error() {
    local rc=$1 line=$2 command=$3
    fail "unexpected exit status $rc at line $line: $command"
}

# ---------------------------------------------------------------------------------------------
# Life cycle

e2e_begin() {
    say "$*"
    [[ -n "${AGENTD_TEST_REGISTRY:-}" ]] ||
        fail "AGENTD_TEST_REGISTRY is not set: run scripts/services and source its environment"
    [[ -x "$AGENTD" ]] || fail "no agentd binary at $AGENTD (build first)"
    [[ -x "$AGENTCTL" ]] || fail "no agentctl binary at $AGENTCTL (build first)"
    T=$(mktemp -d /tmp/agentd-e2e.XXXXXX)
    # Stack names are also compose project names: [a-z0-9][a-z0-9_-]{0,62}.
    local number=${E2E_NAME%%-*}
    STACK=$(printf 'e2e%s-%04x%04x' "${number//[^0-9]/}" "$RANDOM" "$RANDOM")
    SOCKET=$T/api.sock
    CONFIG=$T/agent.yaml
    AGENTD_LOG=$T/agentd.log
    trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
    trap e2e_cleanup EXIT
    # A signal (the runner's time limit, Ctrl-C) still cleans up, through the EXIT trap.
    trap 'exit 143' TERM
    trap 'exit 130' INT
    # For the runner, to clean up after a scenario it had to kill.
    [[ -z "${E2E_RESULT:-}" ]] || echo "$T $STACK" >"$E2E_RESULT.info"
    docker image inspect "$base_image" >/dev/null 2>&1 || build_base
    say "stack $STACK, directory $T"
}

# stack_containers STACK: the ids of every container of compose project STACK or STACK-*.
stack_containers() {
    docker ps -a --filter label=com.docker.compose.project \
        --format '{{.ID}} {{.Label "com.docker.compose.project"}}' |
        awk -v stack="$1" '$2 == stack || index($2, stack "-") == 1 { print $1 }'
}

# stack_networks STACK: the ids of the networks of compose project STACK or STACK-*.
stack_networks() {
    docker network ls --filter label=com.docker.compose.project \
        --format '{{.ID}} {{.Label "com.docker.compose.project"}}' |
        awk -v stack="$1" '$2 == stack || index($2, stack "-") == 1 { print $1 }'
}

e2e_cleanup() {
    local rc=$?
    trap - ERR
    set +e
    stop_agentd >/dev/null 2>&1
    local pid
    for pid in "${E2E_RECEIVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${ETCD_PIDS[@]}"; do
        [[ -z "$pid" ]] || { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    done
    local project
    for project in "${E2E_EXTRA_PROJECTS[@]}"; do
        local extra=()
        mapfile -t extra < <(docker ps -aq --filter "label=com.docker.compose.project=$project")
        ((${#extra[@]} == 0)) || docker rm -f "${extra[@]}" >/dev/null 2>&1
        mapfile -t extra < <(docker network ls -q --filter "label=com.docker.compose.project=$project")
        ((${#extra[@]} == 0)) || docker network rm "${extra[@]}" >/dev/null 2>&1
    done
    if [[ -n "$STACK" ]]; then
        local ids=()
        # The stack's project and those named after it (a blue-green stack's STACK-blue,
        # STACK-green and STACK-shared): a container left running with a healthcheck costs CPU
        # for the rest of the run.
        mapfile -t ids < <(stack_containers "$STACK")
        ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null 2>&1
        mapfile -t ids < <(stack_networks "$STACK")
        ((${#ids[@]} == 0)) || docker network rm "${ids[@]}" >/dev/null 2>&1
        # A blue-green stack's shared network (agentd creates it, not compose).
        docker network rm "agentd-$STACK" >/dev/null 2>&1
        mapfile -t ids < <(docker volume ls -q --filter "label=com.docker.compose.project=$STACK")
        ((${#ids[@]} == 0)) || docker volume rm "${ids[@]}" >/dev/null 2>&1
        mapfile -t ids < <(docker images -q "$AGENTD_TEST_REGISTRY/$STACK/*" | sort -u)
        ((${#ids[@]} == 0)) || docker rmi -f "${ids[@]}" >/dev/null 2>&1
    fi
    if [[ -n "$T" && "${E2E_KEEP:-0}" != 1 ]]; then
        rm -rf "$T"
    fi
    exit "$rc"
}

e2e_pass() {
    say "PASS"
    exit 0
}

# ---------------------------------------------------------------------------------------------
# Assertions

assert_eq() {
    local expected=$1 actual=$2 what=$3
    [[ "$expected" == "$actual" ]] || fail "$what: expected '$expected', got '$actual'"
}

assert_ne() {
    local unexpected=$1 actual=$2 what=$3
    [[ "$unexpected" != "$actual" ]] || fail "$what: expected something other than '$actual'"
}

assert_contains() {
    local haystack=$1 needle=$2 what=$3
    [[ "$haystack" == *"$needle"* ]] || fail "$what: expected to contain '$needle', got '$haystack'"
}

assert_match() {
    local text=$1 regex=$2 what=$3
    [[ "$text" =~ $regex ]] || fail "$what: expected to match /$regex/, got '$text'"
}

# assert_json JSON FILTER EXPECTED WHAT: `jq -r FILTER` of JSON equals EXPECTED.
assert_json() {
    local json=$1 filter=$2 expected=$3 what=$4 actual
    actual=$(jq -r "$filter" <<<"$json" 2>&1) || fail "$what: jq '$filter' failed: $actual; JSON: $json"
    [[ "$expected" == "$actual" ]] ||
        fail "$what: $filter expected '$expected', got '$actual'; JSON: $json"
}

# assert_json_true JSON FILTER WHAT: `jq -e FILTER` holds.
assert_json_true() {
    local json=$1 filter=$2 what=$3
    jq -e "$filter" <<<"$json" >/dev/null 2>&1 || fail "$what: $filter does not hold for $json"
}

json_get() { jq -r "$2" <<<"$1"; }

# assert_image DEPLOYMENT_JSON SERVICE NAME DIGEST: the deployment records SERVICE's image as
# NAME's repository at DIGEST ("repo@sha256:..." or "repo:tag@sha256:...").
assert_image() {
    local json=$1 service=$2 name=$3 digest=$4
    local repo=$AGENTD_TEST_REGISTRY/$STACK/${name%%:*}
    jq -e --arg s "$service" --arg r "$repo" --arg d "$digest" \
        '.images[$s] | type == "string" and (. == ($r + "@" + $d) or
            (startswith($r + ":") and endswith("@" + $d)))' <<<"$json" >/dev/null 2>&1 ||
        fail "image of $service: expected ${repo}[:tag]@$digest, got $(jq -c --arg s "$service" '.images[$s]' <<<"$json" 2>&1)"
}

# wait_for "DESCRIPTION" TIMEOUT_SECONDS COMMAND...: polls every 0.25s until COMMAND succeeds.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local end=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            fail "timed out after ${seconds}s waiting for: $what"
        fi
        sleep 0.25
    done
}

# ---------------------------------------------------------------------------------------------
# Git: a bare repository (what agentd fetches, file://) and a working clone (what a maintainer
# pushes from).

make_git_repo() {
    BARE=$T/git/deploy.git
    WORK=$T/git/work
    git init -q --bare -b main "$BARE"
    git init -q -b main "$WORK"
    git -C "$WORK" config user.name "e2e maintainer"
    git -C "$WORK" config user.email "e2e@example.invalid"
    git -C "$WORK" config commit.gpgsign false
    git -C "$WORK" remote add origin "$BARE"
    mkdir -p "$WORK/$STACK_PATH"
    echo "# deploy repository of $E2E_NAME" >"$WORK/README.md"
    git -C "$WORK" add README.md
    git -C "$WORK" commit -q -m "initial"
    git -C "$WORK" push -q origin main
}

# commit_file PATH CONTENT MESSAGE: writes PATH (relative to the clone), commits, pushes, and
# prints the new revision.
commit_file() {
    local path=$1 content=$2 message=$3
    mkdir -p "$(dirname "$WORK/$path")"
    printf '%s\n' "$content" >"$WORK/$path"
    git -C "$WORK" add "$path"
    git -C "$WORK" commit -q -m "$message"
    git -C "$WORK" push -q origin main
    git -C "$WORK" rev-parse HEAD
}

# push_git_tag TAG: tags the clone's HEAD (annotated) and pushes the tag.
push_git_tag() {
    git -C "$WORK" tag -a -m "release $1" "$1"
    git -C "$WORK" push -q origin "$1"
}

# commit_compose CONTENT MESSAGE: the stack's compose.yaml; prints the revision.
commit_compose() {
    commit_file "$STACK_PATH/compose.yaml" "$1" "$2"
}

# compose_stack WEB_IMAGE [WORKER_IMAGE]: a compose file with a web service behind a Docker
# healthcheck (GET /health) and, optionally, a worker. With WEB_PORT set, web's port 80 is
# published on 127.0.0.1:$WEB_PORT.
compose_stack() {
    local web=$1 worker=${2:-}
    cat <<YAML
services:
  web:
    image: $web
    restart: always
YAML
    [[ -z "$WEB_PORT" ]] || printf '    ports: ["127.0.0.1:%s:80"]\n' "$WEB_PORT"
    cat <<YAML
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"]
      interval: 1s
      timeout: 5s
      retries: 3
YAML
    if [[ -n "$worker" ]]; then
        cat <<YAML
  worker:
    image: $worker
    restart: always
YAML
    fi
}

# ---------------------------------------------------------------------------------------------
# Images

# push_image VARIANT NAME:TAG [TEXT]: builds web|unhealthy|crash|worker with /www/version = TEXT
# (default NAME:TAG), pushes it as $AGENTD_TEST_REGISTRY/$STACK/NAME:TAG, prints the digest.
push_image() {
    local variant=$1 name=$2 text=${3:-$2}
    build_variant "$variant" "$STACK/$name" "$text"
}

# push_image_only VARIANT NAME:TAG [TEXT]: push_image, then the local copy is removed, so that
# the engine must pull its blobs from the registry (prints the digest).
push_image_only() {
    local digest
    digest=$(push_image "$@") || return 1
    docker rmi "$(image_ref "$2")" >/dev/null || return 1
    echo "$digest"
}

# push_image_async VARIANT NAME:TAG [TEXT]: push_image (push_image_only with E2E_PUSH_ONLY=1) in
# the background (pushes are slow and mostly wait); push_images_wait waits for every one
# started, then pushed_digest NAME:TAG prints one's digest.
e2e_pushes=()
pushed_file() { echo "$T/pushed.${1//[^A-Za-z0-9._-]/_}"; }

push_image_async() {
    local file
    file=$(pushed_file "$2")
    if [[ "${E2E_PUSH_ONLY:-0}" == 1 ]]; then
        push_image_only "$@" >"$file" 2>"$file.log" &
    else
        push_image "$@" >"$file" 2>"$file.log" &
    fi
    e2e_pushes+=("$!:$2")
}

push_images_wait() {
    local job
    for job in "${e2e_pushes[@]}"; do
        wait "${job%%:*}" || fail "push of ${job#*:} failed: $(cat "$(pushed_file "${job#*:}").log")"
    done
    e2e_pushes=()
}

pushed_digest() { cat "$(pushed_file "$1")"; }

# image_ref NAME:TAG: the reference a compose file uses for push_image's image.
image_ref() { echo "$AGENTD_TEST_REGISTRY/$STACK/$1"; }

# ---------------------------------------------------------------------------------------------
# etcd (Debian's etcd-server) for the fleet's scenarios

ETCD_PIDS=()       # one per member; a member killed by etcd_kill_member is ""
ETCD_ENDPOINTS=()  # their client URLs

# etcd_cluster N: starts an N-member etcd cluster on loopback ports (data and logs in $T,
# stopped by e2e_cleanup) and waits until every member answers.
etcd_cluster() {
    local n=$1 i port peers=() cluster="" used=" "
    for ((i = 0; i < 2 * n; i++)); do
        port=$(closed_port)
        [[ "$used" != *" $port "* ]] || { i=$((i - 1)); continue; }
        used+="$port "
        if ((i < n)); then ETCD_ENDPOINTS+=("http://127.0.0.1:$port"); else peers+=("http://127.0.0.1:$port"); fi
    done
    for ((i = 0; i < n; i++)); do cluster+="${cluster:+,}m$i=${peers[i]}"; done
    for ((i = 0; i < n; i++)); do
        etcd --name "m$i" --data-dir "$T/etcd-$i" --logger zap --log-outputs stderr \
            --listen-client-urls "${ETCD_ENDPOINTS[i]}" --advertise-client-urls "${ETCD_ENDPOINTS[i]}" \
            --listen-peer-urls "${peers[i]}" --initial-advertise-peer-urls "${peers[i]}" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            </dev/null >"$T/etcd-$i.log" 2>&1 &
        ETCD_PIDS+=($!)
    done
    wait_for "etcd answering" 60 etcdctl_ endpoint health
}

# etcdctl_ ARGS...: etcdctl (v3) against the cluster's members.
etcdctl_() {
    local IFS=,
    ETCDCTL_API=3 etcdctl --endpoints="${ETCD_ENDPOINTS[*]}" "$@"
}

# etcd_kill_member I: SIGKILL of member I (0-based).
etcd_kill_member() {
    say "SIGKILL etcd member $1 (${ETCD_ENDPOINTS[$1]})"
    kill -9 "${ETCD_PIDS[$1]}"
    wait "${ETCD_PIDS[$1]}" 2>/dev/null || true
    ETCD_PIDS[$1]=""
}

# ---------------------------------------------------------------------------------------------
# Notification receivers

# receiver NAME [ARGS...]: starts tests/e2e/notify_receiver.py (stopped by e2e_cleanup) logging
# each request to $T/NAME.log; its port is in $T/NAME.port once it listens.
E2E_RECEIVER_PIDS=()
receiver() {
    local name=$1
    shift
    rm -f "$T/$name.port"
    /usr/bin/python3 "$E2E_ROOT/tests/e2e/notify_receiver.py" --log "$T/$name.log" \
        --port-file "$T/$name.port" "$@" </dev/null >>"$T/$name.out" 2>&1 &
    E2E_RECEIVER_PIDS+=($!)
    wait_for "receiver $name listening" 20 test -s "$T/$name.port"
}

# received NAME: the bodies NAME got, one JSON line each (the generic format's objects).
received() {
    if [[ -f "$T/$1.log" ]]; then jq -c '.body | fromjson' "$T/$1.log"; fi
}

# ---------------------------------------------------------------------------------------------
# Configuration and daemon

# write_config [EXTRA_STACK_YAML]: agent.yaml with state and socket in $T and one stack that
# follows main of the bare repository (or what E2E_GIT_FOLLOW says, e.g. 'tags: {semver: "^1"}');
# cycles are driven by `agentctl sync --wait`.
# EXTRA_STACK_YAML lines (indented by 4 spaces) are added to the stack.
write_config() {
    local extra=${1:-}
    cat >"$CONFIG" <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
stacks:
  - name: $STACK
    git:
      url: file://$BARE
      path: $STACK_PATH
      ${E2E_GIT_FOLLOW:-branch: main}
    poll_interval: ${E2E_POLL_INTERVAL:-1h}
    health:
      timeout: ${E2E_HEALTH_TIMEOUT:-20s}
      stable: ${E2E_HEALTH_STABLE:-3s}
YAML
    [[ -z "$extra" ]] || printf '%s\n' "$extra" >>"$CONFIG"
}

agentd_answers() { "$AGENTCTL" --socket "$SOCKET" status >/dev/null 2>&1; }

# E2E_AGENTD_DOCKER_SOCKET=PATH: agentd (which talks to /var/run/docker.sock, as does the
# compose it runs) starts in a mount namespace of its own where /run is an empty tmpfs with
# docker.sock a symlink to PATH, a private dockerd's socket (docker.sh): a symlink, not a bind
# mount of the socket, so that it still leads to the daemon after a restart made a new socket.
# Nothing changes for any other process.
start_agentd() {
    say "starting agentd"
    if [[ -n "${E2E_AGENTD_DOCKER_SOCKET:-}" ]]; then
        # shellcheck disable=SC2016  # expanded by that shell
        unshare --mount --propagation private sh -c \
            'mount -t tmpfs -o mode=0755 e2e-run /run && ln -s "$1" /run/docker.sock &&
             exec "$2" --config "$3"' \
            sh "$E2E_AGENTD_DOCKER_SOCKET" "$AGENTD" "$CONFIG" </dev/null >>"$AGENTD_LOG" 2>&1 &
    else
        "$AGENTD" --config "$CONFIG" </dev/null >>"$AGENTD_LOG" 2>&1 &
    fi
    AGENTD_PID=$!
    echo "$AGENTD_PID" >"$T/agentd.pid"
    local end=$((SECONDS + 30))
    until agentd_answers; do
        kill -0 "$AGENTD_PID" 2>/dev/null || {
            AGENTD_PID=""
            fail "agentd exited during start"
        }
        ((SECONDS < end)) || fail "agentd did not answer on $SOCKET within 30s"
        sleep 0.2
    done
}

# stop_agentd: SIGTERM and wait (it finishes its current step), SIGKILL after 60s.
stop_agentd() {
    [[ -n "$AGENTD_PID" ]] || return 0
    kill -TERM "$AGENTD_PID" 2>/dev/null || true
    local end=$((SECONDS + 60))
    while kill -0 "$AGENTD_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
    kill -KILL "$AGENTD_PID" 2>/dev/null || true
    wait "$AGENTD_PID" 2>/dev/null || true
    AGENTD_PID=""
}

# kill_agentd: SIGKILL, as a crash or power loss would.
kill_agentd() {
    [[ -n "$AGENTD_PID" ]] || return 0
    say "SIGKILL agentd (pid $AGENTD_PID)"
    kill -KILL "$AGENTD_PID" 2>/dev/null || true
    wait "$AGENTD_PID" 2>/dev/null || true
    AGENTD_PID=""
}

# ---------------------------------------------------------------------------------------------
# agentctl

# ctl_run ARGS...: runs agentctl against this scenario's daemon; sets CTL_RC, CTL_OUT, CTL_ERR;
# never fails by itself.
ctl_run() {
    local err_file=$T/ctl.err
    CTL_RC=0
    CTL_OUT=$(timeout "$E2E_CTL_TIMEOUT" "$AGENTCTL" --socket "$SOCKET" "$@" 2>"$err_file") ||
        CTL_RC=$?
    CTL_ERR=$(cat "$err_file")
    ((CTL_RC != 124)) || fail "agentctl $* did not return within ${E2E_CTL_TIMEOUT}s"
    return 0
}

# ctl ARGS...: agentctl that must succeed; prints its output.
ctl() {
    ctl_run "$@"
    ((CTL_RC == 0)) || fail "agentctl $* exited $CTL_RC: $CTL_OUT $CTL_ERR"
    printf '%s\n' "$CTL_OUT"
}

# ctl_expect RC ARGS...: agentctl that must exit RC.
ctl_expect() {
    local expected=$1
    shift
    ctl_run "$@"
    ((CTL_RC == expected)) || fail "agentctl $* exited $CTL_RC, expected $expected: $CTL_OUT $CTL_ERR"
}

# sync_expect RC: `agentctl sync STACK --wait` must exit RC (0 done, 1 failed/rolled back).
sync_expect() {
    say "agentctl sync $STACK --wait (expect exit $1)"
    ctl_expect "$1" sync "$STACK" --wait
}

status_json() { ctl --json status "$STACK"; }
# The stack's entry of `status --json`.
stack_status() { status_json | jq -c --arg s "$STACK" '.stacks[] | select(.name == $s)'; }
history_json() { ctl --json history "$STACK"; }
history_count() { history_json | jq '.deployments | length'; }
latest_deployment() { history_json | jq -c '.deployments[0]'; }
show_json() { ctl --json show "$1"; }
deployment_status() { show_json "$1" | jq -r '.status'; }

# ---------------------------------------------------------------------------------------------
# Containers of the compose project

# container_ids [SERVICE]: the project's (non one-off) containers, sorted.
container_ids() {
    local filters=(--filter "label=com.docker.compose.project=$STACK")
    [[ -z "${1:-}" ]] || filters+=(--filter "label=com.docker.compose.service=$1")
    docker ps -aq --no-trunc "${filters[@]}" | sort
}

# service_version SERVICE: /www/version inside the service's running container.
service_version() {
    local id
    id=$(docker ps -q --filter "label=com.docker.compose.project=$STACK" \
        --filter "label=com.docker.compose.service=$1" | head -n 1)
    [[ -n "$id" ]] || return 1
    docker exec "$id" cat /www/version
}

# service_state SERVICE: "running healthy", "running none", "restarting none", ...
service_state() {
    local id
    id=$(container_ids "$1" | head -n 1)
    [[ -n "$id" ]] || { echo "absent"; return 0; }
    docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id"
}

# container_starts [PROJECT]: "SERVICE ID STARTED_AT" of each container of the project (default
# $STACK), sorted: equal before and after means nothing was recreated or restarted.
container_starts() {
    local project=${1:-$STACK} ids=()
    mapfile -t ids < <(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project")
    ((${#ids[@]} == 0)) && return 0
    docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.State.StartedAt}}' \
        "${ids[@]}" | sort
}

# project_file PROJECT SERVICE FILE: FILE inside the service's running container.
project_file() {
    local id
    id=$(docker ps -q --filter "label=com.docker.compose.project=$1" \
        --filter "label=com.docker.compose.service=$2" | head -n 1)
    [[ -n "$id" ]] || return 1
    docker exec "$id" cat "$3"
}

# service_image_id SERVICE: the image id the service's container runs.
service_image_id() {
    local id
    id=$(container_ids "$1" | head -n 1)
    [[ -n "$id" ]] || return 1
    docker inspect -f '{{.Image}}' "$id"
}

# image_id_of REF@DIGEST: the local image id of a pulled digest.
image_id_of() { docker image inspect -f '{{.Id}}' "$1"; }

# assert_runs SERVICE VERSION: the service's container is running and serves VERSION.
assert_runs() {
    local service=$1 expected=$2 actual state
    state=$(service_state "$service")
    [[ "$state" == running* ]] || fail "service $service: expected a running container, got '$state'"
    actual=$(service_version "$service" 2>&1) || fail "service $service: cannot read its version: $actual"
    assert_eq "$expected" "$actual" "version served by $service"
}

# assert_runs_digest SERVICE REPO DIGEST: the service's container runs REPO@DIGEST.
assert_runs_digest() {
    local service=$1 repo=$2 digest=$3 want have
    want=$(image_id_of "$repo@$digest" 2>&1) || fail "$repo@$digest is not pulled: $want"
    have=$(service_image_id "$service") || fail "service $service has no container"
    assert_eq "$want" "$have" "image of service $service ($repo@$digest)"
}

# A loopback port nothing listens on.
closed_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

# ---------------------------------------------------------------------------------------------
# The fault matrix (docs/testing.md): every fault scenario ends with the same checks.
#
#   WEB_PORT=$(closed_port); E2E_POLL_INTERVAL=2s   # before write_config / compose_stack
#   ... release 1 deployed ...
#   fault_snapshot                        # before the fault
#   ... the fault, its own assertions ...
#   fault_survived [same-containers]      # the old release serves, state.db is whole
#   fault_recovers REF TEXT               # a new good release deploys by itself

FAULT_ROWS=""
FAULT_SERVED=""
FAULT_CONTAINERS=""

state_db() { echo "$T/state/state.db"; }

# db_rows: what state.db has recorded, one line per fact that must never be lost: each
# deployment's release, trigger and start (not yet for a waiting one, whose start and previous
# are set when its images arrive); each finished deployment's outcome (succeeded and superseded
# count as one: promoting the next release supersedes the current one); each event.
db_rows() {
    sqlite3 -readonly -separator ' | ' "$(state_db)" \
        "SELECT 'deployment', id, stack, revision, tag, images, trigger, started_at, previous
           FROM deployments WHERE status != 'waiting';" \
        "SELECT 'finished', id, CASE status WHEN 'superseded' THEN 'succeeded' ELSE status END,
                finished_at, reason FROM deployments WHERE finished_at IS NOT NULL;" \
        "SELECT 'event', id, deployment_id, at, phase, message FROM events;" | sort
}

# served: what web's published port answers (its /version); nothing when it does not answer.
served() { curl -fsS --max-time 5 "http://127.0.0.1:$WEB_PORT/version" 2>/dev/null || true; }

# serves TEXT: web's published port answers TEXT (for wait_for).
serves() { [[ "$(served)" == "$1" ]]; }

# fault_snapshot: remembers, before a fault, what must survive it.
fault_snapshot() {
    [[ -n "$WEB_PORT" ]] || fail "fault_snapshot needs WEB_PORT (a published web port)"
    FAULT_ROWS=$T/fault-rows.$SECONDS
    db_rows >"$FAULT_ROWS" || fail "cannot read $(state_db)"
    FAULT_CONTAINERS=$(container_ids)
    FAULT_SERVED=$(served)
    [[ -n "$FAULT_SERVED" ]] || fail "web's published port $WEB_PORT does not answer before the fault"
    say "snapshot before the fault: $(wc -l <"$FAULT_ROWS") rows, web serves '$FAULT_SERVED'"
}

# fault_survived [same-containers]: after a fault, the old release still serves on the
# published port (and, with same-containers, the project's containers are the very same),
# `PRAGMA integrity_check` of state.db is ok, and every row of fault_snapshot is still there.
fault_survived() {
    local actual
    actual=$(served)
    assert_eq "$FAULT_SERVED" "$actual" "what web serves after the fault"
    if [[ "${1:-}" == same-containers ]]; then
        assert_eq "$FAULT_CONTAINERS" "$(container_ids)" "the project's containers after the fault"
    fi
    fault_store_survived
}

# fault_store_survived: state.db passes `PRAGMA integrity_check` and holds every row of
# fault_snapshot (for a fault after which the containers may rightly be changing).
fault_store_survived() {
    local lost
    assert_state_db_ok
    lost=$(comm -23 "$FAULT_ROWS" <(db_rows)) || fail "cannot read $(state_db)"
    [[ -z "$lost" ]] || fail "recorded before the fault and lost or changed since: $lost"
}

# assert_state_db_ok: SQLite's own check of state.db finds nothing wrong.
assert_state_db_ok() {
    local check
    check=$(sqlite3 -readonly "$(state_db)" "PRAGMA integrity_check;" 2>&1) ||
        fail "PRAGMA integrity_check failed: $check"
    assert_eq ok "$check" "PRAGMA integrity_check of state.db"
}

# fault_recovers REF TEXT [COMPOSE]: once the fault is gone, a new good release (web at REF,
# serving TEXT; the compose file COMPOSE, default compose_stack REF) is committed and deployed by
# agentd's own polling (E2E_POLL_INTERVAL), without any agentctl command; what was recorded
# before the fault is still there afterwards.
fault_recovers() {
    local ref=$1 text=$2 compose=${3:-} before
    [[ -n "$compose" ]] || compose=$(compose_stack "$ref")
    before=$(json_get "$(latest_deployment)" .id)
    commit_compose "$compose" "release serving $text (after the fault)" >/dev/null
    say "waiting for the next scheduled poll to deploy '$text'"
    recovered() {
        local latest
        latest=$("$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null) || return 1
        jq -e --arg b "$before" '.deployments[0] | (.id | tostring) != $b and .status == "succeeded"' \
            <<<"$latest" >/dev/null || return 1
        serves "$text"
    }
    wait_for "the scheduled poll to deploy '$text'" 90 recovered
    fault_store_survived
    assert_runs web "$text"
}

# bad_release_count: how many releases state.db holds as bad (never retried).
bad_release_count() { sqlite3 -readonly "$(state_db)" "SELECT count(*) FROM bad_releases;"; }

# in_phase PHASE: the newest deployment is in progress in PHASE (for wait_for).
in_phase() {
    "$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -e --arg p "$1" '.deployments[0] | .status == "in_progress" and .phase == $p' >/dev/null
}

# newest_status: the status of the newest deployment (for wait_for through a function).
newest_status() {
    "$AGENTCTL" --socket "$SOCKET" --json history "$STACK" 2>/dev/null |
        jq -r '.deployments[0].status // empty'
}
newest_is() { [[ "$(newest_status)" == "$1" ]]; }
newest_finished() {
    local status
    status=$(newest_status)
    [[ -n "$status" && "$status" != in_progress ]]
}

# assert_interrupted_ends ID OLD_TEXT NEW_TEXT: after a restart, deployment ID (interrupted by a
# SIGKILL) ends, either succeeded with web serving NEW_TEXT or rolled_back with web serving
# OLD_TEXT, and status agrees; prints its final status.
assert_interrupted_ends() {
    local id=$1 old=$2 new=$3 last status
    wait_for "the interrupted deployment $id to end" 120 newest_finished
    last=$(latest_deployment)
    assert_eq "$id" "$(json_get "$last" .id)" "the interrupted deployment is the newest"
    status=$(json_get "$last" .status)
    say "the interrupted deployment $id ended $status: $(json_get "$last" .reason)"
    case "$status" in
    succeeded) wait_for "web to serve '$new'" 30 serves "$new"; assert_runs web "$new" ;;
    rolled_back) wait_for "web to serve '$old'" 30 serves "$old"; assert_runs web "$old" ;;
    *) fail "the interrupted deployment $id ended '$status', expected succeeded or rolled_back: $last" ;;
    esac
    assert_json_true "$(stack_status)" '.state != "deploying"' "stack state after recovery"
    assert_eq 1 "$(container_ids web | wc -l)" "web containers after recovery"
    echo "$status" >"$T/interrupted.status"
}
