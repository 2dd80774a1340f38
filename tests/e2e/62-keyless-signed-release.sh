#!/bin/bash
# verify.cosign keyless ({identity, issuer, trusted_root}): images signed keyless by Sigstore's
# own JavaScript packages (a mock Fulcio and Rekor of this scenario, tests/sigstore/sign-image.js,
# never agentd) deploy, as a Sigstore bundle found through the referrers tag index and in
# cosign's legacy sha256-<hex>.sig layout, with the identity in the deployment's events; images
# signed by another identity, by the right identity of another issuer, or not at all are
# rejected before anything is pulled, the running release keeps serving. Each verdict agrees
# with @sigstore/verify's on the same signature (the oracle), and `agentctl verify` gives the
# same verdicts.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "cosign keyless signatures: bundle and legacy signed deploy, wrong identity, issuer or none rejected"

# shellcheck source=SCRIPTDIR/sigstore.sh
source "$(dirname "$0")/sigstore.sh"

readonly mallory=https://github.com/mallory/web/.github/workflows/release.yml@refs/heads/main
readonly other_issuer=https://accounts.example.com

make_git_repo
# Pushed, then removed here: whatever runs was pulled by agentd.
E2E_PUSH_ONLY=1
for n in 1 2 3 4 5 6; do push_image_async web "web:$n" "web v$n"; done
push_images_wait
digest1=$(pushed_digest web:1)
digest2=$(pushed_digest web:2)
digest3=$(pushed_digest web:3)
digest4=$(pushed_digest web:4)
digest5=$(pushed_digest web:5)
digest6=$(pushed_digest web:6)
sigstore_sign bundle web "$digest1" bundle
sigstore_sign legacy web "$digest2" legacy
sigstore_sign mallory web "$digest3" bundle --identity "$mallory"
sigstore_sign other-issuer web "$digest4" legacy --issuer "$other_issuer"
sigstore_sign untrusted web "$digest6" bundle --untrusted
[[ -s "$SIGSTORE_ROOT" ]] || fail "no trusted root at $SIGSTORE_ROOT"

# keyless_config IDENTITY: the stack verifies its images keyless against the scenario's root.
keyless_config() {
    write_config "    verify:
      cosign:
        identity: $1
        issuer: $SIGSTORE_ISSUER
        trusted_root: $SIGSTORE_ROOT"
}

# verify_messages DEPLOYMENT_ID: the messages of the deployment's verify events, one a line.
verify_messages() {
    show_json "$1" | jq -r '.events[] | select(.phase == "verify") | .message'
}

# assert_not_pulled DIGEST N: the engine has no image web:N nor any of that digest.
assert_not_pulled() {
    local digest=$1 tag=$2
    if docker image inspect "$(image_ref "web:$tag")" >/dev/null 2>&1 ||
        docker image inspect "$AGENTD_TEST_REGISTRY/$STACK/web@$digest" >/dev/null 2>&1; then
        fail "web:$tag ($digest) was pulled"
    fi
}

say "release 1: a Sigstore bundle (referrer) by the configured identity"
commit_compose "$(compose_stack "$(image_ref web:1)")" "release 1" >/dev/null
keyless_config "$SIGSTORE_IDENTITY"
start_agentd
sync_expect 0
first=$(latest_deployment)
assert_json "$first" .status succeeded "the release signed with a bundle"
sigstore_agrees bundle "$(release_verdict "$first")"
id1=$(json_get "$first" .id)
events=$(verify_messages "$id1")
assert_contains "$events" "$SIGSTORE_IDENTITY" "a verify event names the identity"
assert_contains "$events" "$SIGSTORE_ISSUER" "a verify event names the issuer"
assert_runs web "web v1"
assert_runs_digest web "$AGENTD_TEST_REGISTRY/$STACK/web" "$digest1"

say "release 2: cosign's legacy layout, the policy a glob"
keyless_config "https://github.com/acme/*"
ctl reload >/dev/null
commit_compose "$(compose_stack "$(image_ref web:2)")" "release 2 (legacy layout)" >/dev/null
sync_expect 0
second=$(latest_deployment)
assert_json "$second" .status succeeded "the release signed in the legacy layout"
sigstore_agrees legacy "$(release_verdict "$second")"
id2=$(json_get "$second" .id)
assert_ne "$id1" "$id2" "release 2 is a deployment of its own"
assert_contains "$(verify_messages "$id2")" "$SIGSTORE_IDENTITY" \
    "a verify event names the identity the glob matched"
assert_runs web "web v2"
assert_runs_digest web "$AGENTD_TEST_REGISTRY/$STACK/web" "$digest2"
containers=$(container_ids)

# expect_rejected N DIGEST WHAT REASON [LABEL]: release N (web:N at DIGEST) is rejected with a
# reason containing REASON and the digest, nothing is pulled, the containers are the same and
# release 2 is still the current one; LABEL's oracle verdict agrees.
expect_rejected() {
    local n=$1 digest=$2 what=$3 reason=$4 label=${5:-} latest
    say "release $n: $what"
    commit_compose "$(compose_stack "$(image_ref "web:$n")")" "release $n ($what)" >/dev/null
    sync_expect 1
    latest=$(latest_deployment)
    assert_json "$latest" .status rejected "the release $what"
    assert_json_true "$latest" ".reason | contains(\"$reason\")" "the reason says $reason"
    assert_json_true "$latest" ".reason | contains(\"$digest\")" "the reason names the digest"
    [[ -z "$label" ]] || sigstore_agrees "$label" "$(release_verdict "$latest")"
    assert_not_pulled "$digest" "$n"
    assert_eq "$containers" "$(container_ids)" "containers after the release $what"
    assert_runs web "web v2"
    assert_json "$(stack_status)" .current.id "$id2" "current after the release $what"
}

expect_rejected 3 "$digest3" "signed by another identity" identity mallory
expect_rejected 4 "$digest4" "signed by the identity of another issuer" issuer other-issuer
expect_rejected 5 "$digest5" "not signed" "not signed"

say "agentctl verify: the same verdicts through agentd"
# verify_verdict JSON: verified or rejected, from `agentctl --json verify`'s answer.
verify_verdict() { jq -r 'if .verified == true then "verified" else "rejected" end' <<<"$1"; }
# keyless_verify RC LABEL DIGEST [IDENTITY]: `agentctl --json verify` of web@DIGEST against the
# scenario's root and IDENTITY (default the configured one) exits RC and agrees with the oracle
# on LABEL's signature; CTL_OUT holds its answer.
keyless_verify() {
    local rc=$1 label=$2 digest=$3 identity=${4:-$SIGSTORE_IDENTITY}
    ctl_expect "$rc" --json verify "$AGENTD_TEST_REGISTRY/$STACK/web@$digest" \
        --identity "$identity" --issuer "$SIGSTORE_ISSUER" --trusted-root "$SIGSTORE_ROOT"
    assert_json "$CTL_OUT" .digest "$digest" "the digest agentctl verify checked"
    sigstore_agrees "$label" "$(verify_verdict "$CTL_OUT")"
}
keyless_verify 0 bundle "$digest1"
assert_json "$CTL_OUT" .identity "$SIGSTORE_IDENTITY" "the identity verify --json names"
keyless_verify 0 legacy "$digest2" 'regex:^https://github\.com/acme/.*$'
keyless_verify 1 mallory "$digest3"
keyless_verify 1 other-issuer "$digest4"
assert_json_true "$CTL_OUT" '.message | contains("issuer")' "why the other issuer's signature is not verified"
keyless_verify 1 untrusted "$digest6"
# The right identity, but the payload names release 1's digest: a signature moved to another
# image (the oracle verifies the signature itself; the claim is what is wrong).
sigstore_sign moved web "$digest5" legacy --claim-digest "$digest1"
keyless_verify 1 moved "$digest5"
ctl_expect 0 verify "$AGENTD_TEST_REGISTRY/$STACK/web@$digest1" --identity "$SIGSTORE_IDENTITY" \
    --issuer "$SIGSTORE_ISSUER" --trusted-root "$SIGSTORE_ROOT"
assert_contains "$CTL_OUT" "verdict:       verified" "the verdict in text"
assert_contains "$CTL_OUT" "$SIGSTORE_IDENTITY" "the identity in text"

e2e_pass
