#!/bin/bash
# More stacks deploying than the host runs at once (4): six stacks of one deploy repository get
# their first release together. Four deploy side by side; the other two record that they wait
# for their turn and deploy as places free. From the deployments' own event times: never more
# than four are between their pull and their verdict at one moment, and four are at one moment
# (side by side, not one after another). Every stack ends promoted.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "six stacks deploying at once: four at a time, the others wait their turn"

readonly count=6 most=4
stacks=()
for ((i = 1; i <= count; i++)); do
    stacks+=("${STACK}s$i")
    E2E_EXTRA_PROJECTS+=("${STACK}s$i")
done
STACK_PATH=s1
make_git_repo
push_image web web:1 "web v1" >/dev/null
web=$(image_ref web:1)
for ((i = 1; i <= count; i++)); do
    revision=$(commit_file "s$i/compose.yaml" "$(compose_stack "$web")" "stack s$i")
done

# Each deployment holds its place through a gate of 6 s at least: longer than the six syncs
# take to start, so the fifth and sixth must wait.
{
    cat <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
defaults:
  poll_interval: 1h
  health: {timeout: 60s, stable: 6s}
stacks:
YAML
    for ((i = 1; i <= count; i++)); do
        printf '  - name: %s\n    git: {url: "file://%s", path: s%d, branch: main}\n' \
            "${stacks[i - 1]}" "$BARE" "$i"
    done
} >"$CONFIG"
start_agentd

say "agentctl sync --wait of the $count stacks at once"
pids=()
for s in "${stacks[@]}"; do
    ctl sync "$s" --wait >"$T/sync-$s.out" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || fail "a sync failed: $(cat "$T"/sync-*.out)"
done

waited=0
for s in "${stacks[@]}"; do
    status=$(ctl --json status "$s" | jq -c --arg s "$s" '.stacks[] | select(.name == $s)')
    assert_json "$status" .current.revision "$revision" "$s's release"
    assert_eq 1 "$(ctl --json history "$s" | jq '.deployments | length')" "$s's deployments"
    id=$(ctl --json history "$s" | jq -r '.deployments[0].id')
    show_json "$id" >"$T/deployment-$s.json"
    assert_json "$(cat "$T/deployment-$s.json")" .status succeeded "$s's deployment"
    if jq -e '[.events[].message] | any(startswith("waits for its turn on this host"))' \
        "$T/deployment-$s.json" >/dev/null; then
        assert_json_true "$(cat "$T/deployment-$s.json")" \
            "[.events[].message] | any(. == \"waits for its turn on this host: $most other deployments run (the most at once)\")" \
            "$s's wait event"
        waited=$((waited + 1))
    fi
done
assert_eq $((count - most)) "$waited" "deployments that waited for their turn"

# The most deployments between their pull (entered once a place is held) and their last event
# (the verdict; the place is given back after it) at any moment.
at_once=$(python3 - "$T"/deployment-*.json <<'PY'
import datetime
import json
import sys

def at(event):
    return datetime.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))

edges = []
for path in sys.argv[1:]:
    with open(path) as f:
        events = json.load(f)["events"]
    edges.append((min(at(e) for e in events if e["phase"] == "pull"), 1))
    edges.append((max(at(e) for e in events), -1))
running = most = 0
for _, step in sorted(edges):  # an end before a start at the same millisecond
    running += step
    most = max(most, running)
print(most)
PY
)
assert_eq "$most" "$at_once" "deployments between pull and verdict at one moment"
say "$waited deployments waited for their turn; at most $at_once were between pull and verdict at once"

e2e_pass
