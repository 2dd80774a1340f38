#!/bin/bash
# Tags are moved and revisions vanish. A release tag moved to another commit is a new release:
# the tag's current commit is the truth (as Flux and Argo CD have it), deployed through the
# gate like any other. When the running release's commit disappears from the remote and from
# agentd's own mirror as well, a rollback to it fails with a clear error while the current
# release keeps serving and the store keeps everything; the next tag is deployed by itself.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/git_faults.sh
source "$(dirname "$0")/git_faults.sh"
e2e_begin "a moved tag is a new release; a vanished revision fails clearly, nothing breaks"

make_git_repo
WEB_PORT=$(closed_port)
push_image web web:1 "web 1" >/dev/null
push_image web web:1b "web 1 moved" >/dev/null
push_image web web:2 "web 2" >/dev/null
rev1=$(commit_compose "$(served_stack "$(image_ref web:1)")" "release 1")
push_git_tag v1.0.0
E2E_GIT_FOLLOW='tags: {semver: "^1"}' write_config
start_agentd
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .tag v1.0.0 "the first release"
assert_json "$first" .revision "$rev1" "the first release's commit"
assert_serves "web 1"

say "v1.0.0 is moved to a new commit (git tag -f and a forced push of the tag)"
# On a history of its own, so that the first commit can vanish later while the tag stays.
git -C "$WORK" checkout -q --orphan fixed
served_stack "$(image_ref web:1b)" >"$WORK/$STACK_PATH/compose.yaml"
git -C "$WORK" add -A
git -C "$WORK" commit -q -m "release 1, fixed"
rev1b=$(git -C "$WORK" rev-parse HEAD)
git -C "$WORK" tag -f -a -m "release v1.0.0 again" v1.0.0 >/dev/null
git -C "$WORK" push -q --force origin v1.0.0
store_snapshot
sync_expect 0
moved=$(latest_deployment)
assert_json "$moved" .tag v1.0.0 "the moved tag"
assert_json "$moved" .revision "$rev1b" "the moved tag's new commit is deployed"
assert_json "$moved" .status succeeded "the moved tag's release"
assert_json "$(show_json "$(json_get "$first" .id)")" .status superseded "the release before the move"
assert_serves "web 1 moved"
assert_store_kept "after the moved tag"

say "the first commit vanishes from the remote (history rewritten, gc) and from agentd's mirror"
git -C "$WORK" checkout -q --orphan rewritten
git -C "$WORK" commit -q -m "rewritten history"
git -C "$WORK" push -q --force origin rewritten:main
git -C "$BARE" reflog expire --expire=now --all
git -C "$BARE" gc -q --prune=now
git -C "$BARE" cat-file -e "$rev1b^{commit}" # the moved tag still reaches its commit
if git -C "$BARE" cat-file -e "$rev1^{commit}" 2>/dev/null; then
    fail "the first commit is still in the remote"
fi
# A mirror that lost objects (a restored backup, a cleaned disk): every mirror is rebuilt from
# the remote, which no longer has the first commit.
stop_agentd
rm -rf "$T/state/git"
start_agentd
store_snapshot
ctl_expect 1 rollback "$STACK" --to "$(json_get "$first" .id)"
assert_contains "$CTL_OUT $CTL_ERR" "$rev1" "the failed rollback names the vanished revision"
assert_contains "$CTL_OUT $CTL_ERR" "not found" "the failed rollback says what is wrong"
status=$(stack_status)
assert_json "$status" .current.revision "$rev1b" "the current release after the failed rollback"
assert_serves "web 1 moved"
assert_store_kept "after the failed rollback"
ctl_run unpin "$STACK"

say "v1.1.0 is released: deployed by the next poll"
git -C "$WORK" checkout -q main
served_stack "$(image_ref web:2)" >"$WORK/$STACK_PATH/compose.yaml"
git -C "$WORK" commit -q -am "release 1.1.0"
push_git_tag v1.1.0
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .tag v1.1.0 "the next release"
assert_json "$d" .status succeeded "the next release"
assert_serves "web 2"
assert_store_kept "after the next release"

e2e_pass
