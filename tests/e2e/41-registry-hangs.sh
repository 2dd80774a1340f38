#!/bin/bash
# The fault matrix, a registry that accepts the connection and never answers: while agentd's
# poll waits on it, the API keeps answering (`agentctl status` and each request on the socket
# within 100 ms, as issue 9 asks); the poll ends as a poll error naming the registry once its
# request times out, with release 1 serving in the same containers; SIGKILL of agentd during
# such an observe step and a restart leave state.db whole and nothing touched; once the
# registry answers again, agentd's own polling deploys a new release.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/proxy.sh
source "$(dirname "$0")/proxy.sh"
E2E_POLL_INTERVAL=2s
e2e_begin "a registry that never answers: the API answers meanwhile, polls recover"

proxied_release_1
count=$(history_count)

say "the registry accepts manifest requests and never answers; release 2 is committed"
proxy_reset
proxy_fault -1 "^(HEAD|GET) /v2/$STACK/web/manifests/" hang
commit_compose "$(compose_stack "$(proxy_image_ref web:2)")" "release 2" >/dev/null
wait_for "a poll to hang on the registry" 30 proxy_hanging manifest_head "$STACK/web"

# Each API request must be answered within 100 ms, the bound issue 9 sets, while the poll
# hangs: curl's time_total per request on the socket (agentctl status sends the same
# GET /v1/status). On this loaded 2-core machine a request now and then waits for a CPU longer
# than that, so one over the bound is repeated at once, and the repeat must be within it: a
# scheduling hiccup passes, an API that waits for the hung poll (for up to 30 s) does not.
# agentctl itself must answer with the stack too, but its wall time is not bounded: its
# start-up alone takes 0.3 to 0.6 s here.
readonly bound_ms=100
slowest_ms=0
repeats=0
api_ms() {
    local total_s
    total_s=$(curl -sS -o /dev/null -w '%{time_total}' --max-time 5 --unix-socket "$SOCKET" \
        "http://localhost$1") || fail "GET $1 on the API socket failed during the hang"
    awk -v s="$total_s" 'BEGIN { printf "%d", s * 1000 }'
}
measure_api() {
    local ms first out
    for path in /v1/status "/v1/status?stack=$STACK" "/v1/history?stack=$STACK"; do
        ms=$(api_ms "$path")
        if ((ms > bound_ms)); then
            first=$ms
            repeats=$((repeats + 1))
            ms=$(api_ms "$path")
            ((ms <= bound_ms)) ||
                fail "GET $path took ${first} ms, then ${ms} ms again, while a poll hangs (bound: ${bound_ms} ms)"
        fi
        ((ms <= slowest_ms)) || slowest_ms=$ms
    done
    out=$("$AGENTCTL" --socket "$SOCKET" status) || fail "agentctl status failed during the hang"
    assert_contains "$out" "$STACK" "agentctl status during the hang"
}
say "the API while the poll hangs"
rounds=0
while proxy_hanging manifest_head "$STACK/web"; do
    measure_api
    rounds=$((rounds + 1))
    ((rounds < 200)) || fail "the hanging poll never gave up"
    sleep 0.2
done
((rounds >= 3)) || fail "only $rounds rounds of API requests during the hang"
say "$rounds rounds of API requests during the hang, slowest ${slowest_ms} ms, $repeats repeated"

poll_timed_out() {
    [[ "$("$AGENTCTL" --socket "$SOCKET" --json status "$STACK" |
        jq -r --arg s "$STACK" '.stacks[] | select(.name == $s) | .last_poll.result')" == error ]]
}
wait_for "the hanging poll to be recorded as a poll error" 30 poll_timed_out
status=$(stack_status)
say "last poll error: $(json_get "$status" .last_poll.error)"
assert_contains "$(json_get "$status" .last_poll.error)" "$PROXY" "the poll error names the registry"
assert_eq "$count" "$(history_count)" "history length after the hang"
fault_survived same-containers

say "SIGKILL agentd while a poll hangs in observe, then start it again"
wait_for "a poll to hang again" 30 proxy_hanging manifest_head "$STACK/web"
kill_agentd
start_agentd
assert_eq "$count" "$(history_count)" "history length after the kill in observe"
fault_survived same-containers

say "the registry answers again"
proxy_clear_rules
wait_for "release 2 deployed by a scheduled poll" 90 serves "web 2"
wait_for "release 2 recorded as succeeded" 30 newest_is succeeded
fault_recovers "$(proxy_image_ref web:3)" "web 3"

e2e_pass
