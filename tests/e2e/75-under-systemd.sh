#!/bin/bash
# Under systemd: agentd tells the service manager it is ready once its API answers (READY=1
# through $NOTIFY_SOCKET), what it is doing (STATUS=), that it is alive (WATCHDOG=1 when
# $WATCHDOG_USEC asks), that it reloads (RELOADING=1) and that it stops (STOPPING=1). With its
# stderr handed to journald ($JOURNAL_STREAM naming it), each record is a journal entry with
# PRIORITY=, SYSLOG_IDENTIFIER=agentd and, for a stack's records, AGENTD_STACK= and
# AGENTD_DEPLOYMENT=, which `journalctl AGENTD_STACK=...` selects by.
# systemd and journald do not run here: tests/e2e/datagram_sink.py binds their sockets (the
# journal's at its fixed path, /run/systemd/journal/socket; when a journald holds it, the journal
# half is skipped with a warning).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "under systemd: sd_notify states and journal entries with the stack's fields"

SINK_PIDS=()
JOURNAL_SOCKET=/run/systemd/journal/socket
on_exit() {
    local rc=$? pid
    set +e
    stop_agentd >/dev/null 2>&1
    for pid in "${SINK_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    (exit "$rc")
    e2e_cleanup
}
trap on_exit EXIT

# start_sink FORMAT SOCKET OUT: 0 once it listens, 3 when something else holds SOCKET.
start_sink() {
    local ready=$T/$1.ready
    /usr/bin/python3 "$E2E_ROOT/tests/e2e/datagram_sink.py" --format "$1" --socket "$2" \
        --out "$3" --ready "$ready" </dev/null 2>>"$T/sink.log" &
    local pid=$!
    local end=$((SECONDS + 10))
    until [[ -s "$ready" ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" && return 1 || return $?
        fi
        ((SECONDS < end)) || fail "the $1 sink did not bind $2 within 10s"
        sleep 0.1
    done
    SINK_PIDS+=("$pid")
}

NOTIFY_OUT=$T/notify.jsonl
JOURNAL_OUT=$T/journal.jsonl
touch "$NOTIFY_OUT" "$JOURNAL_OUT"
start_sink notify "$T/notify.sock" "$NOTIFY_OUT"
journal=1
start_sink journal "$JOURNAL_SOCKET" "$JOURNAL_OUT" || {
    rc=$?
    ((rc == 3)) || fail "the journal sink failed: $(cat "$T/sink.log")"
    say "WARN: $JOURNAL_SOCKET is held by a running journald: journal entries not checked"
    journal=0
}

make_git_repo
push_image web web:1 "web v1" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config

# What systemd sets for a Type=notify unit with WatchdogSec=2s and StandardError=journal.
touch "$AGENTD_LOG"
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000
JOURNAL_STREAM=$(stat -c '%d:%i' "$AGENTD_LOG")
export JOURNAL_STREAM
start_agentd
unset NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM
agentd_pid=$AGENTD_PID  # the sender of what the sinks record, also after it stopped

# notified JQ_FILTER: some datagram agentd sent matches.
notified() {
    jq -e -s --arg pid "$agentd_pid" "map(select(._PID == \$pid) | $1) | any" "$NOTIFY_OUT" \
        >/dev/null
}
# journal_entries JQ_FILTER: agentd's journal entries matching, as a JSON array.
journal_entries() {
    jq -c -s --arg pid "$agentd_pid" "map(select(._PID == \$pid and ($1)))" "$JOURNAL_OUT"
}
journal_has() { [[ "$(journal_entries "$1" | jq length)" -gt 0 ]]; }

wait_for "READY=1 with the status" 10 notified '.READY == "1" and .STATUS == "watching 1 stacks"'
wait_for "a watchdog ping" 10 notified '.WATCHDOG == "1"'

sync_expect 0
deployment=$(latest_deployment | jq -r .id)
assert_eq "$(latest_deployment | jq -r .status)" succeeded "deployment status"
wait_for "the status after the deployment" 10 \
    notified ".STATUS == \"watching 1 stacks; last: $STACK succeeded\""

if ((journal)); then
    wait_for "the ready entry" 10 journal_has '.MESSAGE | startswith("agentd: ready")'
    ready=$(journal_entries '.MESSAGE | startswith("agentd: ready")' | jq -c '.[0]')
    assert_json "$ready" .PRIORITY 6 "priority of the ready entry (info)"
    assert_json "$ready" .SYSLOG_IDENTIFIER agentd "identifier"
    assert_json "$ready" '.AGENTD_STACK // "none"' none "a record about no stack names none"

    succeeded="stack $STACK: deployment $deployment succeeded"
    wait_for "the deployment's entry" 10 journal_has ".MESSAGE == \"$succeeded\""
    entry=$(journal_entries ".MESSAGE == \"$succeeded\"" | jq -c '.[0]')
    assert_json "$entry" .PRIORITY 6 "priority of the promotion (info)"
    assert_json "$entry" .SYSLOG_IDENTIFIER agentd "identifier"
    assert_json "$entry" .AGENTD_STACK "$STACK" "AGENTD_STACK of the promotion"
    assert_json "$entry" .AGENTD_DEPLOYMENT "$deployment" "AGENTD_DEPLOYMENT of the promotion"

    # `journalctl AGENTD_STACK=$STACK AGENTD_DEPLOYMENT=N` would show the deployment's story.
    story=$(journal_entries ".AGENTD_DEPLOYMENT == \"$deployment\"")
    assert_contains "$story" "deployment $deployment: deploying" "the deployment's first record"
    assert_eq "$(jq '[.[] | select(.AGENTD_STACK != "'"$STACK"'")] | length' <<<"$story")" 0 \
        "every record of the deployment names its stack"
    assert_eq "$(journal_entries '.PRIORITY == "7"' | jq length)" 0 \
        "no debug entries at the default level"
    assert_eq "$(journal_entries '._INVALID' | jq length)" 0 "every datagram follows the protocol"
    # The records went to the journal, not to stderr.
    if grep -qF "$succeeded" "$AGENTD_LOG"; then
        fail "the promotion was written to stderr as well as to the journal"
    fi
fi

say "SIGHUP: reload"
kill -HUP "$AGENTD_PID"
wait_for "RELOADING=1" 10 notified '.RELOADING == "1"'
stop_agentd
wait_for "STOPPING=1" 10 notified '.STOPPING == "1"'
assert_eq "$(jq -s -c 'map(select(.READY == "1")) | length' "$NOTIFY_OUT")" 2 \
    "READY=1 at start and after the reload"

e2e_pass
