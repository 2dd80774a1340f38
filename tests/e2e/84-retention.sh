#!/bin/bash
# Image retention (keep_releases: 2): after four releases, the images agentd pulled for
# releases no longer kept are removed, while an image pulled by hand is never touched even
# once no kept release names it; with the scenario's own registry stopped, `agentctl rollback`
# restores each kept release, and a release whose image was removed cannot be restored.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/registries.sh
source "$(dirname "$0")/registries.sh"
e2e_begin "image retention: keep_releases, offline rollback, hand-pulled images untouched"
registries_begin

make_git_repo
start_registry open http
own=$REG_ADDR
digests=()
for version in 1 2 3 4; do
    digests[version]=$(push_image_via "$own" web "web:$version" "web v$version")
done
repo=$own/$STACK/web
present() { docker image inspect "$repo@$1" >/dev/null 2>&1; }

say "release 1's image is pulled by hand before agentd sees it"
docker pull -q "$repo:1" >/dev/null
present "${digests[1]}" || fail "the hand pull of $repo:1 did not leave its digest on the host"

E2E_HEALTH_STABLE=1s write_config "    keep_releases: 2"
start_agentd
ids=()
for version in 1 2 3 4; do
    commit_compose "$(compose_stack "$repo:$version")" "release $version" >/dev/null
    sync_expect 0
    ids[version]=$(json_get "$(latest_deployment)" .id)
    assert_runs web "web v$version"
done

say "kept: releases 4 and 3; release 2's image (pulled by agentd) is gone, release 1's stays"
present "${digests[4]}" || fail "release 4's image was removed"
present "${digests[3]}" || fail "release 3's image was removed"
! present "${digests[2]}" || fail "release 2's image is still on the host (keep_releases: 2)"
present "${digests[1]}" || fail "release 1's image, pulled by hand, was removed"
d4=$(show_json "${ids[4]}")
assert_json_true "$d4" \
    "any(.events[]; .phase == \"retention\" and (.message | contains(\"$repo@${digests[2]}\")))" \
    "release 4's retention event names release 2's image"
status=$(stack_status)
assert_json "$status" .releases.kept 2 "status: kept releases"
assert_json "$status" .releases.offline 2 "status: releases restorable offline"
ctl status "$STACK" >/dev/null
assert_contains "$CTL_OUT" "2 of 2 kept releases restorable offline" "status (table)"

say "the registry stops: every kept release is restored from the host alone"
registry_pid=${reg_pids[0]}
kill -TERM "$registry_pid"
wait "$registry_pid" 2>/dev/null || true
reg_answers "http://$own" && fail "the scenario's registry still answers"
ctl rollback "$STACK" >/dev/null
assert_runs web "web v3"
ctl rollback "$STACK" --to "${ids[4]}" >/dev/null
assert_runs web "web v4"

say "release 2, whose image was removed, cannot be restored without the registry"
ctl_expect 1 rollback "$STACK" --to "${ids[2]}"
assert_runs web "web v4"
present "${digests[1]}" || fail "release 1's image, pulled by hand, was removed"
e2e_pass
