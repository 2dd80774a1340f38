#!/bin/bash
# Helpers for the cosign scenarios (60, 61): keys made with openssl and signatures pushed in the
# layout `cosign sign --key` writes (tests/tools/cosign-sign: openssl signs, never agentd).
# Source after lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/cosign.sh"
#   cosign_key "$T/cosign" p256          # $T/cosign.key (private), $T/cosign.pub (public)
#   cosign_sign web "$(pushed_digest web:1)" "$T/cosign.key"

# cosign_key PREFIX p256|ed25519: a key pair PREFIX.key (private) and PREFIX.pub (public PEM).
cosign_key() {
    local prefix=$1 kind=$2
    case $kind in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$prefix.key" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$prefix.key" ;;
    *) fail "cosign_key: unknown key kind $kind" ;;
    esac 2>/dev/null || fail "cosign_key: openssl genpkey $kind"
    openssl pkey -in "$prefix.key" -pubout -out "$prefix.pub" || fail "cosign_key: openssl pkey"
}

# cosign_sign NAME DIGEST PRIVATE_KEY [PAYLOAD_DIGEST]: what `cosign sign --key` pushes for
# $STACK/NAME@DIGEST, the payload naming PAYLOAD_DIGEST (default DIGEST; another one makes a
# signature that does not belong to the image).
cosign_sign() {
    local repo=$STACK/$1 digest=$2 key=$3 payload_for=${4:-$2}
    "$E2E_ROOT/tests/tools/cosign-sign" --claim-digest "$payload_for" "$AGENTD_TEST_REGISTRY" \
        "$repo" "$digest" "$key" >/dev/null
}
