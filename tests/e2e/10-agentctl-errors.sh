#!/bin/bash
# agentctl's exit codes: 3 when agentd is not reachable, 2 for an unknown stack or command.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "agentctl exit codes: no daemon 3, unknown stack 2"

make_git_repo
push_image web web:1 "web v1" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config

say "no daemon"
rc=0
out=$(AGENTD_SOCKET=$SOCKET timeout 30 "$AGENTCTL" status 2>&1) || rc=$?
assert_eq 3 "$rc" "agentctl status (socket from AGENTD_SOCKET) without a daemon"
assert_ne "" "$out" "agentctl says why it failed"
ctl_expect 3 status
ctl_expect 3 --json status

start_agentd
say "unknown stack and command"
ctl_expect 2 status nosuchstack
ctl_expect 2 no-such-command
rc=0
AGENTD_SOCKET=$SOCKET timeout 30 "$AGENTCTL" status >/dev/null 2>&1 || rc=$?
assert_eq 0 "$rc" "agentctl status via AGENTD_SOCKET with the daemon up"

status=$(stack_status)
assert_json "$status" .name "$STACK" "the configured stack is listed"
assert_json "$status" .current null "nothing deployed yet"
assert_json "$status" .state new "state of a stack never deployed"
assert_json_true "$(status_json)" '.stacks | type == "array"' "status --json has a stacks array"
assert_json "$(history_json)" '.deployments | length' 0 "empty history"
ctl status >/dev/null
assert_contains "$CTL_OUT" "$STACK" "the table names the stack"

e2e_pass
