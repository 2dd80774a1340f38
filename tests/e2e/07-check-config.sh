#!/bin/bash
# `agentd --check-config` accepts a valid file and, for an invalid one, exits 2 naming the
# file, line and key of every problem.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "agentd --check-config reports line and key"

make_git_repo
write_config
say "a valid configuration"
out=$("$AGENTD" --config "$CONFIG" --check-config 2>&1) || fail "--check-config of a valid file exited $?: $out"

say "an invalid configuration"
bad=$T/agent.yaml
cat >"$bad" <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
stacks:
  - name: $STACK
    git:
      url: file://$BARE
    health:
      timeout: fast
    poll_intervall: 1m
YAML
rc=0
out=$("$AGENTD" --config "$bad" --check-config 2>&1) || rc=$?
assert_eq 2 "$rc" "exit status of --check-config for an invalid file"
assert_contains "$out" "agent.yaml:9:" "the error names the file and line of the bad duration"
assert_contains "$out" "stacks[0].health.timeout" "the error names the key"
assert_contains "$out" "fast" "the error shows the bad value"
assert_contains "$out" "poll_intervall" "the unknown key is reported too"
assert_contains "$out" "agent.yaml:10:" "the unknown key's line"

say "agentd does not start with an invalid configuration"
rc=0
timeout 30 "$AGENTD" --config "$bad" >"$T/start.log" 2>&1 || rc=$?
assert_ne 0 "$rc" "exit status of agentd started with an invalid file"
assert_ne 124 "$rc" "agentd exits instead of running with an invalid file"
[[ ! -e "$SOCKET" ]] || fail "agentd created its socket despite the invalid configuration"

e2e_pass
