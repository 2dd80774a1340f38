#!/bin/bash
# Helpers for the git fault scenarios (30-33): a stack whose web service publishes a loopback
# port (so "the old release keeps serving" is checked the way a user's client sees it), and
# checks that the state store is intact and kept every deployment and event. Source after
# lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/git_faults.sh"
#   WEB_PORT=$(closed_port)
#   commit_compose "$(served_stack "$(image_ref web:1)")" "release 1"
#   assert_serves "web 1"
#   store_snapshot; ...; assert_store_kept "after the fault"
#   git_daemon_trap; git_daemon_start; write_config; use_git_daemon   # git:// instead of file://

WEB_PORT=""
STORE_SNAPSHOT=""

# served_stack WEB_IMAGE: compose_stack's web service, published on 127.0.0.1:$WEB_PORT.
served_stack() {
    [[ -n "$WEB_PORT" ]] || fail "served_stack: set WEB_PORT first"
    compose_stack "$1"
    cat <<YAML
    ports:
      - "127.0.0.1:$WEB_PORT:80"
YAML
}

# assert_serves TEXT: http://127.0.0.1:$WEB_PORT/version answers TEXT.
assert_serves() {
    local expected=$1 actual
    actual=$(curl -fsS --max-time 5 "http://127.0.0.1:$WEB_PORT/version" 2>&1) ||
        fail "the published port $WEB_PORT does not answer: $actual"
    assert_eq "$expected" "$actual" "version served on port $WEB_PORT"
}

store_db() { echo "$T/state/state.db"; }

# store_query SQL: one read-only query on the state store (WAL: safe while agentd runs).
store_query() { sqlite3 -readonly -batch -noheader "$(store_db)" "$1"; }

# store_rows: every deployment (id, status) and event (id, deployment, phase), one per line.
store_rows() {
    store_query "SELECT 'deployment', id, status FROM deployments ORDER BY id;
                 SELECT 'event', id, deployment_id, phase FROM events ORDER BY id;"
}

# store_snapshot: remembers the store's deployments and events for assert_store_kept.
store_snapshot() { STORE_SNAPSHOT=$(store_rows | awk -F'|' '$1 == "event" || $1 == "deployment" {print $1 "|" $2}'); }

# assert_store_kept WHAT: PRAGMA integrity_check is ok and every deployment and event of the
# last snapshot is still there.
assert_store_kept() {
    local what=$1 integrity now missing
    integrity=$(store_query "PRAGMA integrity_check;" 2>&1) || fail "integrity_check $what: $integrity"
    assert_eq ok "$integrity" "PRAGMA integrity_check $what"
    now=$(store_rows | awk -F'|' '{print $1 "|" $2}')
    missing=$(comm -23 <(sort <<<"$STORE_SNAPSHOT") <(sort <<<"$now"))
    [[ -z "$missing" ]] || fail "records lost $what: $missing"
}

# ---------------------------------------------------------------------------------------------
# A real git server: `git daemon` serving $T/git over git:// on a loopback port.

GIT_PORT=""
GIT_DAEMON_PID=""

# git_daemon_start: (re)starts the daemon, on the same port as before if there was one. A first
# start whose port was taken meanwhile (the daemon exits at once) tries another port. With
# GIT_ACCESS_HOOK, the daemon runs that program before each service it serves (git daemon
# --access-hook): a check of the remote's refs is one upload-pack.
git_daemon_start() {
    local fixed_port=$GIT_PORT end
    for _ in 1 2 3 4 5; do
        [[ -n "$fixed_port" ]] || GIT_PORT=$(closed_port)
        git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$GIT_PORT" \
            ${GIT_ACCESS_HOOK:+"--access-hook=$GIT_ACCESS_HOOK"} \
            --base-path="$T/git" "$T/git" </dev/null >>"$T/git-daemon.log" 2>&1 &
        GIT_DAEMON_PID=$!
        end=$((SECONDS + 20))
        while kill -0 "$GIT_DAEMON_PID" 2>/dev/null && ((SECONDS < end)); do
            git ls-remote "$(git_daemon_url)" >/dev/null 2>&1 && return 0
            sleep 0.25
        done
        git_daemon_stop
        [[ -z "$fixed_port" ]] || break
    done
    fail "git daemon did not answer on port $GIT_PORT: $(tail -n 5 "$T/git-daemon.log")"
}

git_daemon_stop() {
    [[ -n "$GIT_DAEMON_PID" ]] || return 0
    kill -TERM "$GIT_DAEMON_PID" 2>/dev/null || true
    wait "$GIT_DAEMON_PID" 2>/dev/null || true
    GIT_DAEMON_PID=""
}

git_daemon_url() { echo "git://127.0.0.1:$GIT_PORT/deploy.git"; }

# use_git_daemon: the stack in $CONFIG fetches over git:// instead of file://.
use_git_daemon() { sed -i "s|url: file://$BARE|url: $(git_daemon_url)|" "$CONFIG"; }

# git_daemon_trap: stops the daemon when the scenario exits, before lib.sh's cleanup (or the
# cleanup already installed, given as $1: proxy_on_exit for scenarios with the registry proxy).
git_daemon_trap() {
    GIT_DAEMON_NEXT_TRAP=${1:-e2e_cleanup}
    trap git_daemon_on_exit EXIT
}

git_daemon_on_exit() {
    local rc=$?
    git_daemon_stop
    (exit "$rc")
    "$GIT_DAEMON_NEXT_TRAP"
}
