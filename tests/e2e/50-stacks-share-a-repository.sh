#!/bin/bash
# Two stacks in one deploy repository, one directory each: a commit deploys only the stack whose
# inputs it changes. The other records that it saw the revision and keeps its release, history
# and containers. A file outside both directories that a stack pulls in (env_file, a
# bind-mounted file) deploys that stack when it changes.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "a commit deploys only the stacks whose inputs it changes"

A=$STACK
B=${STACK}b
E2E_EXTRA_PROJECTS+=("$B")
STACK_PATH=a
make_git_repo
push_image web web:1 "web v1" >/dev/null
web=$(image_ref web:1)

# Stack A: a web service. Stack B: a web service reading ../common/b.env and bind-mounting
# ../common/page.txt, both outside its directory.
commit_file a/compose.yaml "$(compose_stack "$web")" "stack a" >/dev/null
commit_file common/b.env "GREETING=hello" "b's environment" >/dev/null
commit_file common/page.txt "page 1" "b's page" >/dev/null
rev1=$(commit_file b/compose.yaml "$(compose_stack "$web")
    env_file: [../common/b.env]
    volumes: [\"../common/page.txt:/www/page.txt:ro\"]" "stack b")

cat >"$CONFIG" <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
defaults:
  poll_interval: 1h
  health: {timeout: 20s, stable: 2s}
stacks:
  - name: $A
    git: {url: "file://$BARE", path: a, branch: main}
  - name: $B
    git: {url: "file://$BARE", path: b, branch: main}
YAML
start_agentd

# stack_of NAME: the stack's entry of `status --json`.
stack_of() { ctl --json status "$1" | jq -c --arg s "$1" '.stacks[] | select(.name == $s)'; }
deployments_of() { ctl --json history "$1" | jq '.deployments | length'; }
sync_stack() {
    say "agentctl sync $1 --wait"
    ctl sync "$1" --wait
}

say "both stacks deploy the first revision"
sync_stack "$A" >/dev/null
sync_stack "$B" >/dev/null
assert_json "$(stack_of "$A")" .current.revision "$rev1" "A's first release"
assert_json "$(stack_of "$B")" .current.revision "$rev1" "B's first release"
assert_eq "page 1" "$(project_file "$B" web /www/page.txt)" "B's mounted page"
b_containers=$(container_starts "$B")
[[ -n "$b_containers" ]] || fail "stack B has no containers"

say "a commit to A's directory deploys A and not B"
rev2=$(commit_file a/compose.yaml "$(compose_stack "$web")
    environment: {RELEASE: \"2\"}" "change a")
out=$(sync_stack "$A")
assert_contains "$out" "succeeded" "sync of A after a change to A"
assert_json "$(stack_of "$A")" .current.revision "$rev2" "A's release after a change to A"
out=$(sync_stack "$B")
assert_contains "$out" "changes nothing this stack reads" "sync of B after a change to A"
assert_eq 1 "$(deployments_of "$B")" "B's history after a change to A"
status=$(stack_of "$B")
assert_json "$status" .current.revision "$rev1" "B stays on its release"
assert_json "$status" .last_poll.revision "$rev2" "B saw the new revision"
assert_json "$status" .candidate null "B has no candidate"
assert_eq "$b_containers" "$(container_starts "$B")" "B's containers (ids and start times)"
human=$(ctl status "$B")
assert_contains "$human" "seen ${rev2:0:12}: no change to this stack" "status of B"

say "a commit to a file outside both directories that B reads as env_file deploys B only"
rev3=$(commit_file common/b.env "GREETING=bonjour" "b's environment, again")
out=$(sync_stack "$A")
assert_contains "$out" "changes nothing this stack reads" "sync of A after a change to b.env"
assert_eq 2 "$(deployments_of "$A")" "A's history after a change to b.env"
out=$(sync_stack "$B")
assert_contains "$out" "succeeded" "sync of B after a change to b.env"
assert_json "$(stack_of "$B")" .current.revision "$rev3" "B's release after a change to b.env"
id=$(docker ps -q --filter "label=com.docker.compose.project=$B" \
    --filter "label=com.docker.compose.service=web")
assert_contains "$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id")" \
    "GREETING=bonjour" "B's environment"

say "a commit to the page B bind-mounts deploys B and recreates its web container"
b_containers=$(container_starts "$B")
rev4=$(commit_file common/page.txt "page 2" "b's page, again")
out=$(sync_stack "$B")
assert_contains "$out" "succeeded" "sync of B after a change to its page"
assert_json "$(stack_of "$B")" .current.revision "$rev4" "B's release after a change to its page"
assert_eq "page 2" "$(project_file "$B" web /www/page.txt)" "B's mounted page after the change"
assert_ne "$b_containers" "$(container_starts "$B")" "B's web container after the change"
show=$(ctl --json show "$(ctl --json history "$B" | jq -r '.deployments[0].id')")
assert_json_true "$show" \
    '[.events[] | select(.phase == "apply") | .message] | any(test("recreate web"))' \
    "B's apply event names the recreated service"
out=$(sync_stack "$A")
assert_contains "$out" "changes nothing this stack reads" "sync of A after a change to b's page"
assert_json "$(stack_of "$A")" .last_poll.revision "$rev4" "A saw the newest revision"
assert_json "$(stack_of "$A")" .current.revision "$rev2" "A stays on its release"

e2e_pass
