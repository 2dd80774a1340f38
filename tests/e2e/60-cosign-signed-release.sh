#!/bin/bash
# verify.cosign.key: a release whose image is signed (cosign's legacy layout, pushed here with
# openssl and the registry's HTTP API, never by agentd) deploys and its events name the key; an
# unsigned image and one signed by another key are rejected before anything is pulled, and the
# running release keeps serving.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "cosign keyed signatures: signed deploys, unsigned and wrongly signed are rejected"

# shellcheck source=SCRIPTDIR/cosign.sh
source "$(dirname "$0")/cosign.sh"

cosign_key "$T/cosign" p256
cosign_key "$T/other" p256

make_git_repo
# Pushed, then removed here: whatever runs was pulled by agentd.
E2E_PUSH_ONLY=1
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async web web:3 "web v3"
push_images_wait
digest1=$(pushed_digest web:1)
digest2=$(pushed_digest web:2)
digest3=$(pushed_digest web:3)
cosign_sign web "$digest1" "$T/cosign.key" || fail "signing web:1"
cosign_sign web "$digest3" "$T/other.key" || fail "signing web:3"

say "release 1: signed with the configured key"
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
write_config "    verify:
      cosign: {key: $T/cosign.pub}"
start_agentd
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .status succeeded "the signed release"
id1=$(json_get "$first" .id)
shown=$(show_json "$id1")
assert_json_true "$shown" \
    "[.events[] | select(.phase == \"verify\") | .message] | any(contains(\"verified with key $T/cosign.pub\"))" \
    "a verify event names the key"
assert_runs web "web v1"
containers=$(container_ids)

say "release 2: not signed"
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2 (unsigned)" >/dev/null
sync_expect 1
second=$(latest_deployment)
assert_json "$second" .status rejected "the unsigned release"
assert_json_true "$second" '.reason | contains("not signed")' "the reason says not signed"
assert_json_true "$second" ".reason | contains(\"$digest2\")" "the reason names the digest"
if docker image inspect "$(image_ref web:2)" >/dev/null 2>&1 ||
    docker image inspect "$AGENTD_TEST_REGISTRY/$STACK/web@$digest2" >/dev/null 2>&1; then
    fail "the unsigned image was pulled"
fi
assert_eq "$containers" "$(container_ids)" "containers after the unsigned release"
assert_runs web "web v1"

say "release 3: signed by another key"
commit_compose "$(compose_stack "$(image_ref web:3)")" "release 3 (other key)" >/dev/null
sync_expect 1
third=$(latest_deployment)
assert_json "$third" .status rejected "the release signed by another key"
assert_json_true "$third" '.reason | contains("does not verify")' "the reason says it does not verify"
assert_json_true "$third" ".reason | contains(\"$T/cosign.pub\")" "the reason names the expected key"
assert_eq "$containers" "$(container_ids)" "containers after the wrongly signed release"
assert_runs web "web v1"
assert_json "$(stack_status)" .current.id "$id1" "current after the rejections"

e2e_pass
