#!/bin/bash
# Live progress over the socket API: `agentctl --json watch STACK` streams a deployment's phases
# in order, the pull of its new image (bytes growing to the total), its health gate samples and
# the cycle's end; `agentctl --json sync STACK --wait` streams the cycle's lines and ends with
# its outcome; a watch killed mid-stream disturbs neither the deployment nor the API.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "watch and sync --wait stream phases, pulls and gate samples as they happen"

E2E_HEALTH_STABLE=1s
make_git_repo
push_image web web:1 "web v1" >/dev/null
push_image worker worker:1 "worker v1" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:1)" "$(image_ref worker:1)")" "release 1" >/dev/null
write_config
start_agentd
sync_expect 0

# start_watch FILE: `agentctl --json watch STACK` in the background, writing to FILE; sets
# WATCH_PID once agentd confirmed the subscription.
start_watch() {
    "$AGENTCTL" --socket "$SOCKET" --json watch "$STACK" >"$1" 2>>"$T/watch.err" &
    WATCH_PID=$!
    wait_for "agentctl watch to be subscribed" 30 grep -q '"type":"subscribed"' "$1"
}
# lines FILE JQ_FILTER: the stream's objects selected by JQ_FILTER, one per line.
lines() { jq -c "select($2)" "$1"; }

say "agentctl --json watch follows a release being deployed"
watch_out=$T/watch.jsonl
start_watch "$watch_out"
web2=$(push_image_only web web:2 "web v2")  # not on the host: the engine pulls it
commit_compose "$(compose_stack "$(image_ref web:2)" "$(image_ref worker:1)")" "release 2" >/dev/null
ctl sync "$STACK" >/dev/null  # queued; watch shows the cycle
wait_for "the cycle's end line" 120 grep -q '"type":"end"' "$watch_out"
kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true

end=$(lines "$watch_out" '.type == "end"' | tail -n 1)
assert_json "$end" .status succeeded "the end line's status"
assert_json "$end" .stack "$STACK" "the end line's stack"
id=$(json_get "$end" .deployment)
assert_eq succeeded "$(deployment_status "$id")" "the deployment the end line names"
# Every line of the deployment names it, its stack and a time.
assert_eq 0 "$(lines "$watch_out" ".type != \"subscribed\" and .type != \"heartbeat\" and
    (.stack != \"$STACK\" or .deployment != $id or (.at | type) != \"string\")" | wc -l)" \
    "lines not naming the deployment, its stack and a time"

phases=$(lines "$watch_out" '.type == "phase"' | jq -r .phase | uniq | paste -sd ' ')
say "phases: $phases"
assert_match "$phases" '^(.* )?pull apply gate record$' "the phases in the order of the pipeline"
# Each phase line is an event the deployment recorded, in the same order.
recorded=$(show_json "$id" | jq -r '.events[].phase' | uniq | paste -sd ' ')
assert_eq "$recorded" "$phases" "streamed phases against the deployment's events"

pulls=$(lines "$watch_out" ".type == \"pull\" and (.image | endswith(\"@$web2\"))")
assert_ne "" "$pulls" "pull lines for the new web image"
last=$(tail -n 1 <<<"$pulls")
# The first figure is the layers named before any size is known; then the bytes' total.
assert_ne "" "$(jq -c 'select(.total > 0 and .layers > 0)' <<<"$pulls")" \
    "a pull line with the image's total"
assert_json_true "$last" '.done and .current == .total and .total > 0 and .layers_done == .layers' \
    "the last pull line is the whole image"
assert_eq "" "$(jq -s -c '[.[].current] as $c | [range(1; $c | length) | select($c[.] < $c[. - 1])]
    | select(length > 0)' <<<"$pulls")" "pulled bytes never go back"

samples=$(lines "$watch_out" '.type == "gate"')
assert_ne "" "$samples" "gate samples"
assert_json_true "$(tail -n 1 <<<"$samples")" \
    '.good and ([.containers[].service] | sort) == ["web", "worker"] and
     all(.containers[]; .state == "running")' "the last gate sample: every service running"
# Samples come while the gate phase runs: after its phase line, before the record.
order=$(jq -r 'select(.type == "phase" or .type == "gate") |
    if .type == "gate" then "sample" else .phase end' "$watch_out" | uniq | paste -sd ' ')
assert_match "$order" ' gate sample record$' "gate samples between the gate and record phases"

say "agentctl --json sync STACK --wait streams the cycle's lines, then its outcome"
push_image web web:3 "web v3" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:3)" "$(image_ref worker:1)")" "release 3" >/dev/null
ctl_run --json sync "$STACK" --wait
assert_eq 0 "$CTL_RC" "sync --wait --json exit code ($CTL_ERR)"
printf '%s\n' "$CTL_OUT" >"$T/sync.jsonl"
assert_json "$(head -n 1 "$T/sync.jsonl")" .type subscribed "the first line"
outcome=$(tail -n 1 "$T/sync.jsonl")
assert_json "$outcome" .outcome succeeded "the last line: the cycle's outcome"
id3=$(json_get "$outcome" .deployment)
assert_json "$(lines "$T/sync.jsonl" '.type == "end"' | tail -n 1)" .deployment "$id3" \
    "the end line of the cycle"
assert_match "$(lines "$T/sync.jsonl" ".type == \"phase\" and .deployment == $id3" |
    jq -r .phase | uniq | paste -sd ' ')" 'apply gate record$' "the cycle's phases"
assert_ne "" "$(lines "$T/sync.jsonl" ".type == \"gate\" and .deployment == $id3")" \
    "the cycle's gate samples"
assert_runs web "web v3"

say "a watch killed mid-stream disturbs neither the deployment nor the API"
start_watch "$T/killed.jsonl"
push_image web web:4 "web v4" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:4)" "$(image_ref worker:1)")" "release 4" >/dev/null
ctl sync "$STACK" >/dev/null
wait_for "the release to reach its gate" 60 grep -q '"phase":"gate"' "$T/killed.jsonl"
kill -9 "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
assert_json "$(stack_status)" .name "$STACK" "status answers after the watch was killed"
wait_for "release 4 to be promoted" 60 newest_is succeeded
assert_runs web "web v4"
# A new watch still subscribes and sees the next cycle.
start_watch "$T/after.jsonl"
ctl sync "$STACK" >/dev/null
wait_for "the next cycle's end line" 60 grep -q '"type":"end"' "$T/after.jsonl"
assert_json "$(lines "$T/after.jsonl" '.type == "end"' | tail -n 1)" .status noop \
    "a cycle with nothing new"
kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true

e2e_pass
