#!/bin/bash
# state_dir on a small tmpfs that fills up: agentd reports it (log and status), the store stays
# intact with every deployment and event, the running release keeps serving, and once space
# returns the next poll deploys by itself.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
E2E_POLL_INTERVAL=2s
e2e_begin "state_dir full: reported, store intact, old release serves, recovers when space returns"

STATE=$T/state
mkdir -p "$STATE"
mount -t tmpfs -o size=24m,mode=0700 "agentd-$STACK" "$STATE" || fail "cannot mount a tmpfs on $STATE"
unmount_state() { umount -l "$STATE" 2>/dev/null || true; }
# Unmount before lib.sh's cleanup removes $T (and after agentd stopped).
trap 'rc=$?; stop_agentd >/dev/null 2>&1; unmount_state; (exit $rc); e2e_cleanup' EXIT

make_git_repo
push_image web web:1 "web v1" >/dev/null
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
deployed() {
    [[ "$(stack_status | jq -r '.current.revision // empty')" == "$1" ]] &&
        [[ "$(latest_deployment | jq -r .status)" == succeeded ]]
}
wait_for "release 1 deployed by a poll" 90 deployed "$rev1"
deployments_before=$(sqlite3 "$STATE/state.db" 'SELECT count(*) FROM deployments')
events_before=$(sqlite3 "$STATE/state.db" 'SELECT count(*) FROM events')

say "fill $STATE"
dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$STATE/filler-tail" bs=512 2>/dev/null || true
free=$(df --output=avail -B1 "$STATE" | tail -1)
say "$free bytes left"

web2=$(push_image web web:2 "web v2")
rev2=$(commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2")
full_reported() { grep -Eq "No space left on device|database or disk is full" "$AGENTD_LOG"; }
wait_for "agentd to report the full disk in its log" 60 full_reported
say "agentd reported: $(grep -Eo "[^]]*(No space left on device|database or disk is full).*" "$AGENTD_LOG" | tail -1)"
status_reports_full() {
    stack_status | jq -r '.last_poll.error // empty' |
        grep -Eq "No space left on device|database or disk is full"
}
wait_for "agentctl status to report the full disk" 30 status_reports_full
say "agentctl status: $(stack_status | jq -c .last_poll)"

say "the store is intact and complete, the old release serves"
assert_eq ok "$(sqlite3 "$STATE/state.db" 'PRAGMA integrity_check')" "integrity of the state store"
deployments_full=$(sqlite3 "$STATE/state.db" 'SELECT count(*) FROM deployments')
events_full=$(sqlite3 "$STATE/state.db" 'SELECT count(*) FROM events')
((deployments_full >= deployments_before)) ||
    fail "deployments lost: $deployments_before before, $deployments_full now"
((events_full >= events_before)) || fail "events lost: $events_before before, $events_full now"
assert_runs web "web v1"
assert_eq "running healthy" "$(service_state web)" "web while the disk is full"
agentd_answers || fail "the API stopped answering"

say "free the space; the next poll deploys release 2 by itself"
rm -f "$STATE/filler" "$STATE/filler-tail"
wait_for "release 2 deployed by a poll" 120 deployed "$rev2"
assert_runs web "web v2"
assert_runs_digest web "$(image_ref web)" "$web2"
assert_eq ok "$(sqlite3 "$STATE/state.db" 'PRAGMA integrity_check')" "integrity after recovery"
assert_json "$(stack_status)" .last_poll.result ok "last poll after recovery"
e2e_pass
