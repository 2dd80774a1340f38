#!/bin/bash
# A container that crash-loops (exits 1 with restart: always) fails the health gate.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "a crash-looping container fails the gate and is rolled back"

make_git_repo
web1=$(push_image web web:1 "web v1")
rev1=$(commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
assert_runs web "web v1"

say "release 2: web exits 1 at once, again and again"
push_image crash web:2 "web v2 crashing" >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2" >/dev/null
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .status rolled_back "the crash-looping release"
assert_contains "$(json_get "$bad" .reason)" web "the reason names the service"
assert_runs web "web v1"
assert_runs_digest web "$(image_ref web)" "$web1"
status=$(stack_status)
assert_json "$status" .current.revision "$rev1" "current revision after the rollback"
assert_json "$status" .current.images.web "$(image_ref web:1)@$web1" "current image after the rollback"

e2e_pass
