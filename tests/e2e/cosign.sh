#!/bin/bash
# Helpers for the cosign scenarios (60, 61): keys made with openssl and signatures pushed in the
# layout `cosign sign --key` writes, through the registry's HTTP API, never by agentd. Source
# after lib.sh and call after e2e_begin:
#
#   source "$(dirname "$0")/cosign.sh"
#   cosign_key "$T/cosign" p256          # $T/cosign.key (private), $T/cosign.pub (public)
#   cosign_sign web "$(pushed_digest web:1)" "$T/cosign.key"

COSIGN_REGISTRY_API="http://$AGENTD_TEST_REGISTRY/v2"

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

# push_blob REPO FILE: monolithic upload; prints the digest.
push_blob() {
    local repo=$1 file=$2 digest location
    digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
    location=$(curl -fsS -X POST -D - -o /dev/null "$COSIGN_REGISTRY_API/$repo/blobs/uploads/" |
        tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [[ $location == /* ]] && location="http://$AGENTD_TEST_REGISTRY$location"
    [[ $location == *\?* ]] && location+="&" || location+="?"
    curl -fsS -X PUT -H "Content-Type: application/octet-stream" --data-binary "@$file" \
        "${location}digest=$digest" >/dev/null || return 1
    echo "$digest"
}

# cosign_sign NAME DIGEST PRIVATE_KEY [PAYLOAD_DIGEST]: what `cosign sign --key` pushes for
# $STACK/NAME@DIGEST: a simple-signing payload blob naming PAYLOAD_DIGEST (default DIGEST; another
# one makes a signature that does not belong to the image), its signature made by openssl
# (ECDSA over SHA-256, Ed25519 over the payload itself) base64 in the layer's annotation, an
# OCI manifest at the tag sha256-<hex>.sig.
cosign_sign() {
    local repo=$STACK/$1 digest=$2 key=$3 payload_for=${4:-$2}
    local dir payload_digest config_digest signature
    dir=$(mktemp -d "$T/sign.XXXXXX")
    printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
        "$AGENTD_TEST_REGISTRY/$repo" "$payload_for" >"$dir/payload"
    printf '{}' >"$dir/config"
    payload_digest=$(push_blob "$repo" "$dir/payload") || return 1
    config_digest=$(push_blob "$repo" "$dir/config") || return 1
    if openssl pkey -in "$key" -noout -text 2>/dev/null | head -1 | grep -q ED25519; then
        openssl pkeyutl -sign -inkey "$key" -rawin -in "$dir/payload" -out "$dir/signature" ||
            return 1
    else
        openssl dgst -sha256 -sign "$key" -out "$dir/signature" "$dir/payload" || return 1
    fi
    signature=$(openssl base64 -A -in "$dir/signature")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"%s"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":%s,"digest":"%s","annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}' \
        "$config_digest" "$(stat -c %s "$dir/payload")" "$payload_digest" "$signature" \
        >"$dir/manifest"
    curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
        --data-binary "@$dir/manifest" \
        "$COSIGN_REGISTRY_API/$repo/manifests/sha256-${digest#sha256:}.sig" >/dev/null
}
