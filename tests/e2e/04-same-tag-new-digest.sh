#!/bin/bash
# The same tag re-pushed with new content (a new digest) is deployed without any git change.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "a tag re-pushed with a new digest is deployed"

make_git_repo
web1=$(push_image web web:stable "web build 1")
rev=$(commit_compose "$(compose_stack "$(image_ref web:stable)")" "track web:stable")
write_config
start_agentd
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .images.web "$(image_ref web:stable)@$web1" "first deployment's image"
assert_runs web "web build 1"

say "web:stable re-pushed with new content"
web2=$(push_image web web:stable "web build 2")
assert_ne "$web1" "$web2" "the re-pushed digest"
sync_expect 0
second=$(latest_deployment)
assert_ne "$(json_get "$first" .id)" "$(json_get "$second" .id)" "a new deployment"
assert_json "$second" .status succeeded "the re-pushed tag's deployment"
assert_json "$second" .revision "$rev" "same git revision"
assert_json "$second" .images.web "$(image_ref web:stable)@$web2" "the new digest is recorded"
assert_eq superseded "$(deployment_status "$(json_get "$first" .id)")" "the first deployment"
assert_runs web "web build 2"
assert_runs_digest web "$(image_ref web)" "$web2"

e2e_pass
