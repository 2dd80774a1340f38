// cosign's legacy signature format (agent/trust/cosign): the signature manifest and the
// simple-signing payload, both from the registry (anyone who can push to the repository).
// The input is split at "\n--\n": the first part is the manifest, the second the payload.
// Invariants: a parsed layer has a valid digest and a size within the bound; claims that
// check out name exactly the digest given and cosign's type; errors are never empty.

#include "agent/sources/image_ref.h"
#include "agent/trust/cosign.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));

    const auto layers = trust::parse_signature_manifest(parts[0]);
    if (layers) {
        FUZZ_CHECK(layers->size() <= 64);
        for (const auto& layer : *layers) {
            FUZZ_CHECK(sources::valid_digest(layer.payload_digest));
            FUZZ_CHECK(layer.payload_size <= trust::k_max_payload_size);
        }
    } else {
        FUZZ_CHECK(!layers.error().message.empty());
        FUZZ_CHECK(layers.error().kind == sys::Error::Kind::InvalidInput);
    }

    const std::string_view payload = parts.size() > 1 ? parts[1] : parts[0];
    const auto claims = trust::parse_simple_signing(payload);
    if (!claims) {
        FUZZ_CHECK(!claims.error().message.empty());
        FUZZ_CHECK(claims.error().kind == sys::Error::Kind::InvalidInput);
        return 0;
    }
    static const auto image = *sources::ImageRef::parse("ghcr.io/acme/web:1.0");
    const std::string digest =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const auto wrong = trust::check_claims(*claims, image, digest);
    if (!wrong) {
        FUZZ_CHECK(claims->manifest_digest == digest);
        FUZZ_CHECK(claims->type == trust::k_cosign_signature_type);
    } else {
        FUZZ_CHECK(!wrong->empty());
    }
    return 0;
}
