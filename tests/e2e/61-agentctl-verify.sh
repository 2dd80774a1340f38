#!/bin/bash
# `agentctl verify` asks agentd whether an image in the real registry carries a cosign
# signature by the given keys (signatures made by openssl and pushed in cosign's layout, never
# by agentd): a signed image verifies naming the key and its algorithm (exit 0); an unsigned
# image, one signed by another key and a signature whose payload names another digest do not
# (exit 1, saying why); a key-signed image is not a keyless signature (exit 1); a bad reference,
# an unknown tag, an unreadable key or trusted root and incomplete keyless flags are usage errors
# (exit 2); an unreachable registry is an error, not a verdict.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_begin "agentctl verify checks an image's cosign signatures through agentd"
# shellcheck source=SCRIPTDIR/cosign.sh
source "$(dirname "$0")/cosign.sh"

cosign_key "$T/cosign" p256
cosign_key "$T/other" ed25519
E2E_PUSH_ONLY=1
push_image_async web web:1 "web v1"
push_image_async web web:2 "web v2"
push_image_async web web:3 "web v3"
push_image_async web web:4 "web v4"
push_images_wait
digest1=$(pushed_digest web:1)
digest4=$(pushed_digest web:4)
cosign_sign web "$digest1" "$T/cosign.key" || fail "signing web:1"
cosign_sign web "$(pushed_digest web:3)" "$T/other.key" || fail "signing web:3"
# Signed by the right key, but the payload is web:1's: a signature moved to another image.
cosign_sign web "$digest4" "$T/cosign.key" "$digest1" || fail "signing web:4"
# No stacks: agentd only answers the API.
cat >"$CONFIG" <<YAML
state_dir: $T/state
api:
  socket: $SOCKET
YAML
start_agentd

say "a signed image verifies, naming the key and its algorithm"
ctl_expect 0 verify "$(image_ref web:1)" --key "$T/cosign.pub"
assert_contains "$CTL_OUT" "image:    $(image_ref web:1)" "the image"
assert_contains "$CTL_OUT" "digest:   $digest1" "the digest the tag resolved to"
assert_contains "$CTL_OUT" "verdict:  verified" "the verdict"
assert_contains "$CTL_OUT" "verified with key $T/cosign.pub (ECDSA P-256)" "what verified it"
doc=$(ctl --json verify "$(image_ref web:1)" --key "$T/cosign.pub")
assert_json "$doc" 'keys | join(" ")' "digest identity image issuer keys message trusted_root verified" \
    "the fields of verify --json"
assert_json "$doc" .verified true "verified"
assert_json "$doc" .image "$(image_ref web:1)" "image"
assert_json "$doc" .digest "$digest1" "digest"
assert_json "$doc" '.keys | tojson' "[{\"algorithm\":\"ECDSA P-256\",\"file\":\"$T/cosign.pub\"}]" \
    "keys"
assert_json "$doc" '[.identity, .issuer, .trusted_root] | tojson' '[null,null,null]' "no keyless identity"
assert_json_true "$doc" ".message | contains(\"sha256-${digest1#sha256:}.sig\")" \
    "the message names the signature"
ctl_expect 0 verify "$AGENTD_TEST_REGISTRY/$STACK/web@$digest1" --key "$T/cosign.pub"
assert_contains "$CTL_OUT" "digest:   $digest1" "verified by digest"

say "not signed, another key, a payload for another digest: exit 1 and why"
ctl_expect 1 verify "$(image_ref web:2)" --key "$T/cosign.pub"
assert_contains "$CTL_OUT" "verdict:  NOT verified" "the unsigned image's verdict"
assert_contains "$CTL_OUT" "not signed" "why the unsigned image is not verified"
assert_eq "" "$CTL_ERR" "stderr of a verdict"
ctl_expect 1 --json verify "$(image_ref web:2)" --key "$T/cosign.pub"
doc=$CTL_OUT
assert_json "$doc" .verified false "the unsigned image in --json"
assert_json "$doc" .digest "$(pushed_digest web:2)" "the unsigned image's digest"
ctl_expect 1 verify "$(image_ref web:3)" --key "$T/cosign.pub"
assert_contains "$CTL_OUT" "does not verify" "why the image signed by another key is not verified"
assert_contains "$CTL_OUT" "expected a signature by $T/cosign.pub" "the key expected"
ctl_expect 1 verify "$(image_ref web:4)" --key "$T/cosign.pub"
assert_contains "$CTL_OUT" "is for digest \"$digest1\", expected $digest4" \
    "why a payload for another digest is not verified"

say "any of several keys: the one that signed is named"
ctl_expect 0 verify "$(image_ref web:3)" --key "$T/cosign.pub" --key "$T/other.pub"
assert_contains "$CTL_OUT" "verified with key $T/other.pub (Ed25519)" "the Ed25519 key named"
assert_contains "$CTL_OUT" "keys:     $T/cosign.pub (ECDSA P-256), $T/other.pub (Ed25519)" \
    "the keys asked for"

say "keyless: a signature made with a key is not a keyless signature"
ctl_expect 1 verify "$(image_ref web:1)" --identity ci@acme.example --issuer https://x.example \
    --trusted-root "$E2E_ROOT/config/sigstore/trusted_root.json"
assert_contains "$CTL_OUT" "keyless verification failed" "the key-signed image, keyless"
assert_contains "$CTL_OUT" "trusted root:  $E2E_ROOT/config/sigstore/trusted_root.json" \
    "the trusted root named"

say "usage errors exit 2"
ctl_expect 2 verify "$AGENTD_TEST_REGISTRY/Web" --key "$T/cosign.pub"
assert_contains "$CTL_ERR" "agentctl verify: " "a bad image reference"
ctl_expect 2 verify "$(image_ref web:1)"
assert_contains "$CTL_ERR" "give the signatures to check" "no key"
ctl_expect 2 verify "$(image_ref web:9)" --key "$T/cosign.pub"
assert_contains "$CTL_ERR" "agentctl: tag 9 not found" "an unknown tag"
ctl_expect 2 verify "$(image_ref web:1)" --key "$T/cosign.key.missing"
assert_contains "$CTL_ERR" "agentctl: key: public key $T/cosign.key.missing: cannot be read" \
    "an unreadable key file"
ctl_expect 2 verify "$(image_ref web:1)" --key "$T/cosign.key"
assert_contains "$CTL_ERR" "agentctl: key: public key $T/cosign.key" "a private key file"
ctl_expect 2 verify "$(image_ref web:1)" --identity ci@acme.example
assert_contains "$CTL_ERR" "--identity needs --issuer" "an identity without its issuer"
ctl_expect 2 verify "$(image_ref web:1)" --key "$T/cosign.pub" --trusted-root "$T/root.json"
assert_contains "$CTL_ERR" "--trusted-root is for keyless signatures" "a trusted root with a key"
ctl_expect 2 verify "$(image_ref web:1)" --identity ci@acme.example --issuer https://x.example \
    --trusted-root "$T/root.json"
assert_contains "$CTL_ERR" "agentctl: trusted_root: cannot read trusted root $T/root.json" \
    "an unreadable trusted root"
api=$(curl -s --unix-socket "$SOCKET" -w ' %{http_code}' -X POST \
    -d "{\"image\":\"$AGENTD_TEST_REGISTRY/Web\",\"key\":\"$T/cosign.pub\"}" \
    "http://localhost/v1/verify")
assert_contains "$api" '"error":"image: ' "the API's answer to a bad reference"
assert_eq 400 "${api##* }" "the API's status for a bad reference"

say "an unreachable registry is an error, not a verdict"
port=$(closed_port)
ctl_expect 1 verify "127.0.0.1:$port/acme/web:1" --key "$T/cosign.pub"
assert_contains "$CTL_ERR" "agentctl: registry 127.0.0.1:$port" "the registry named"
assert_eq "" "$CTL_OUT" "stdout without a verdict"

e2e_pass
