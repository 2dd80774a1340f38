#!/bin/bash
# Helpers for the keyless scenarios (62): images in the test registry signed keyless, in the
# layouts cosign writes, by Sigstore's own JavaScript packages (tests/sigstore/sign-image.js: a
# mock Fulcio and Rekor of the scenario's own on 127.0.0.1, @sigstore/sign, @sigstore/oci;
# never agentd's code), and @sigstore/verify's verdict on each signature (the oracle agentd must
# agree with). Source after lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/sigstore.sh"
#   sigstore_sign good web "$(pushed_digest web:1)" bundle   # as $SIGSTORE_IDENTITY
#   sigstore_sign mallory web "$digest" legacy --identity https://github.com/mallory/x
#   write_config "... trusted_root: $SIGSTORE_ROOT"           # the scenario's trusted root
#   sigstore_agrees good verified                             # agentd's verdict is the oracle's
#
# Needs tests/sigstore's npm packages (scripts/setup runs `npm ci` there): without them the
# scenario fails, saying so; it never skips.

# The identity the scenario's policy names (a GitHub Actions release workflow) and its issuer.
readonly SIGSTORE_IDENTITY=https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v1.0.0
readonly SIGSTORE_ISSUER=https://token.actions.githubusercontent.com
# The scenario's Sigstore (keys kept between signatures) and each signature's verdict.
readonly SIGSTORE_DIR=$T/sigstore
# shellcheck disable=SC2034  # the scenarios configure it
readonly SIGSTORE_ROOT=$SIGSTORE_DIR/trusted_root.json
readonly sigstore_tools=$E2E_ROOT/tests/sigstore

command -v node >/dev/null || fail "node is not installed: run scripts/setup"
[[ -f "$sigstore_tools/node_modules/@sigstore/sign/package.json" &&
    -f "$sigstore_tools/node_modules/@sigstore/oci/package.json" ]] ||
    fail "tests/sigstore/node_modules is missing: run scripts/setup (npm ci in tests/sigstore)"
mkdir -p "$SIGSTORE_DIR"

# sigstore_sign LABEL NAME DIGEST bundle|legacy [OPTIONS...]: signs $STACK/NAME@DIGEST keyless,
# as $SIGSTORE_IDENTITY of $SIGSTORE_ISSUER, as a Sigstore bundle attached as a referrer or in
# cosign's legacy sha256-<hex>.sig layout; OPTIONS go to sign-image.js and win over those
# (--identity SAN, --issuer URL: who signs; --claim-digest D: the signature names D;
# --untrusted: a CA outside the trusted root). The oracle checks the signature against
# $SIGSTORE_ROOT and the policy $SIGSTORE_IDENTITY / $SIGSTORE_ISSUER; its verdict is kept as
# $SIGSTORE_DIR/LABEL.json for sigstore_agrees.
sigstore_sign() {
    local label=$1 name=$2 digest=$3 format=$4
    shift 4
    local out=$SIGSTORE_DIR/$label.json
    timeout 60 node "$sigstore_tools/sign-image.js" --state "$SIGSTORE_DIR" \
        --image "$AGENTD_TEST_REGISTRY/$STACK/$name@$digest" --format "$format" \
        --identity "$SIGSTORE_IDENTITY" --issuer "$SIGSTORE_ISSUER" \
        --expect-identity "$SIGSTORE_IDENTITY" --expect-issuer "$SIGSTORE_ISSUER" "$@" \
        >"$out" 2>"$SIGSTORE_DIR/$label.log" ||
        fail "signing $name@$digest ($label): $(cat "$SIGSTORE_DIR/$label.log")"
    say "signed $name@$digest ($label, $format): oracle $(jq -c '{expected, oracle}' "$out")"
}

# sigstore_expected LABEL: what the oracle expects of LABEL's signature, verified or rejected
# (verified: @sigstore/verify accepts it and it names the image digest).
sigstore_expected() { jq -r .expected "$SIGSTORE_DIR/$1.json"; }

# sigstore_agrees LABEL VERDICT: agentd's VERDICT (verified or rejected) on LABEL's signature is
# the oracle's.
sigstore_agrees() {
    local label=$1 verdict=$2 expected
    expected=$(sigstore_expected "$label")
    [[ "$expected" == "$verdict" ]] ||
        fail "agentd says $verdict for signature $label, the oracle (@sigstore/verify) says $expected: $(cat "$SIGSTORE_DIR/$label.json")"
}

# release_verdict DEPLOYMENT_JSON: verified for a succeeded deployment, rejected for a rejected
# one, the status otherwise.
release_verdict() {
    jq -r '{succeeded: "verified", rejected: "rejected"}[.status] // .status' <<<"$1"
}
