#!/bin/bash
# The followed branch is force-pushed (its history rewritten): agentd follows the new head.
# The rewritten head's release fails its gate, so the release before it, whose commit no
# branch of the remote reaches any more, is restored from agentd's mirror and keeps serving;
# the store keeps every deployment and event; the next force-pushed head that is good is
# deployed by the next poll.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/git_faults.sh
source "$(dirname "$0")/git_faults.sh"
E2E_HEALTH_TIMEOUT=8s
e2e_begin "force-pushed branch: new head followed, old release restored from the mirror"

# force_push_compose CONTENT MESSAGE: rewrites main as release 1 plus one commit with the
# stack's compose.yaml = CONTENT, force-pushes it, prints the new head.
force_push_compose() {
    git -C "$WORK" reset -q --hard "$rev1"
    printf '%s\n' "$1" >"$WORK/$STACK_PATH/compose.yaml"
    git -C "$WORK" commit -q -am "$2"
    git -C "$WORK" push -q --force origin main
    git -C "$WORK" rev-parse HEAD
}

make_git_repo
WEB_PORT=$(closed_port)
push_image web web:1 "web 1" >/dev/null
push_image web web:2 "web 2" >/dev/null
push_image unhealthy web:3 "web 3 (unhealthy)" >/dev/null
push_image web web:4 "web 4" >/dev/null
rev1=$(commit_compose "$(served_stack "$(image_ref web:1)")" "release 1")
write_config
start_agentd
sync_expect 0
rev2=$(commit_compose "$(served_stack "$(image_ref web:2)")" "release 2")
sync_expect 0
good=$(latest_deployment)
assert_json "$good" .revision "$rev2" "release 2 deployed"
assert_serves "web 2"

say "main is force-pushed: release 2 is dropped from its history, release 3 (unhealthy) replaces it"
rev3=$(force_push_compose "$(served_stack "$(image_ref web:3)")" "release 3")
# The old head is gone from the remote: no ref reaches it, and gc drops it.
git -C "$BARE" reflog expire --expire=now --all
git -C "$BARE" gc -q --prune=now
if git -C "$BARE" cat-file -e "$rev2^{commit}" 2>/dev/null; then
    fail "release 2's commit is still in the remote after the force push and gc"
fi
store_snapshot
sync_expect 1
bad=$(latest_deployment)
assert_json "$bad" .revision "$rev3" "the rewritten head was followed"
assert_json "$bad" .status rolled_back "the unhealthy rewritten head"
status=$(stack_status)
assert_json "$status" .current.revision "$rev2" "release 2 restored from the mirror"
assert_serves "web 2"
assert_store_kept "after the rollback"

say "main is force-pushed again with a good release 4: deployed by the next poll"
rev4=$(force_push_compose "$(served_stack "$(image_ref web:4)")" "release 4")
sync_expect 0
d=$(latest_deployment)
assert_json "$d" .revision "$rev4" "the second rewritten head"
assert_json "$d" .status succeeded "release 4"
assert_serves "web 4"
assert_store_kept "after release 4"

say "agentctl rollback to release 2, whose commit the remote no longer has: from the mirror"
store_snapshot
ctl rollback "$STACK" --to "$(json_get "$good" .id)" >/dev/null
assert_json "$(stack_status)" .current.revision "$rev2" "release 2 restored by agentctl rollback"
assert_serves "web 2"
assert_store_kept "after the rollback to a vanished revision"

e2e_pass
