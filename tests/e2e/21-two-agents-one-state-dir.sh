#!/bin/bash
# Two agentd on one host: a second one on the same state_dir refuses to start with a clear
# message, and so does one on the same API socket; the first keeps serving, its socket and its
# store untouched.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "a second agentd on the same state_dir or socket refuses, the first keeps serving"

make_git_repo
push_image web web:1 "web v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
first_pid=$AGENTD_PID

# second_agentd CONFIG: runs another agentd in the foreground (it must exit by itself); sets
# SECOND_RC and SECOND_OUT.
second_agentd() {
    SECOND_RC=0
    SECOND_OUT=$(timeout 30 "$AGENTD" --config "$1" </dev/null 2>&1) || SECOND_RC=$?
}

say "a second agentd with the same configuration"
second_agentd "$CONFIG"
assert_eq 1 "$SECOND_RC" "exit status of the second agentd (same state_dir)"
assert_contains "$SECOND_OUT" "another agentd is running with state_dir $T/state (pid $first_pid)" \
    "the second agentd's message"

say "a second agentd on the same state_dir with its own socket"
sed "s|socket: $SOCKET|socket: $T/other.sock|" "$CONFIG" >"$T/same-state.yaml"
second_agentd "$T/same-state.yaml"
assert_eq 1 "$SECOND_RC" "exit status of the second agentd (own socket, same state_dir)"
assert_contains "$SECOND_OUT" "another agentd is running with state_dir $T/state" \
    "the second agentd's message"
[[ ! -e $T/other.sock ]] || fail "the refused agentd created $T/other.sock"

say "a second agentd with its own state_dir on the same socket"
sed "s|state_dir: $T/state|state_dir: $T/other-state|" "$CONFIG" >"$T/same-socket.yaml"
second_agentd "$T/same-socket.yaml"
assert_eq 1 "$SECOND_RC" "exit status of the second agentd (same socket)"
assert_contains "$SECOND_OUT" "api socket $SOCKET: another process is listening on it" \
    "the second agentd's message"

say "the first agentd still serves, on its own socket"
kill -0 "$first_pid" || fail "the first agentd died"
[[ -S $SOCKET ]] || fail "the socket $SOCKET is gone"
sync_expect 0
assert_json "$(stack_status)" .current.revision "$rev1" "current revision"
assert_eq 1 "$(history_count)" "deployments recorded"
assert_runs web "web v1"
integrity=$(sqlite3 "$T/state/state.db" 'PRAGMA integrity_check')
assert_eq ok "$integrity" "integrity of the state store"
e2e_pass
