#include "agent/trust/cosign_verifier.h"

#include <fmt/format.h>

#include "agent/trust/cosign.h"

namespace agentd::trust {

namespace {

std::string key_names(const std::vector<sys::PublicKey>& keys) {
    std::string out;
    for (const auto& key : keys) {
        out += (out.empty() ? "" : ", ") + key.name();
    }
    return out;
}

}  // namespace

sys::Result<CosignVerified> verify_cosign_keyed(sources::Registry& registry,
                                                const sources::ImageRef& image,
                                                const std::string& digest,
                                                const std::vector<sys::PublicKey>& keys) {
    const std::string subject = image.pinned(digest);
    const auto rejected = [&](const std::string& why) {
        return sys::Error::invalid(
            fmt::format("image {}: cosign verification failed: {}", subject, why));
    };
    if (!sources::valid_digest(digest)) {
        return rejected(fmt::format("{} is not a sha256 digest", digest));
    }
    if (keys.empty()) {
        return rejected("no public key is configured");
    }
    sources::ImageRef signatures = image;
    signatures.tag = signature_tag(digest);
    signatures.digest.clear();
    const std::string where = fmt::format("{}:{}", image.familiar_name(), signatures.tag);

    auto manifest = registry.get_manifest(signatures);
    if (!manifest) {
        if (manifest.error().is_not_found()) {
            return rejected(
                fmt::format("not signed: no signature tag {}; expected a cosign "
                            "signature by {}",
                            where, key_names(keys)));
        }
        return sys::Error{manifest.error().kind == sys::Error::Kind::InvalidInput
                              ? sys::Error::Kind::Failed
                              : manifest.error().kind,
                          fmt::format("image {}: reading signature {}: {}", subject, where,
                                      manifest.error().message)};
    }
    auto layers = parse_signature_manifest(manifest->body);
    if (!layers) {
        return rejected(fmt::format("{}: {}", where, layers.error().message));
    }
    if (layers->empty()) {
        return rejected(fmt::format("not signed: {} has no simple-signing layer", where));
    }

    std::vector<std::string> reasons;
    for (std::size_t i = 0; i < layers->size(); ++i) {
        const SignatureLayer& layer = (*layers)[i];
        const std::string which = layers->size() == 1
                                      ? std::string("the signature")
                                      : fmt::format("signature {} of {}", i + 1, layers->size());
        if (layer.signature.empty()) {
            reasons.push_back(
                fmt::format("{} has no {} annotation", which, k_signature_annotation));
            continue;
        }
        auto payload = registry.get_blob(signatures, layer.payload_digest, k_max_payload_size);
        if (!payload) {
            if (payload.error().is_not_found()) {
                reasons.push_back(
                    fmt::format("{}: payload {} is missing", which, layer.payload_digest));
                continue;
            }
            return sys::Error{payload.error().kind == sys::Error::Kind::InvalidInput
                                  ? sys::Error::Kind::Failed
                                  : payload.error().kind,
                              fmt::format("image {}: reading signature {}: {}", subject, where,
                                          payload.error().message)};
        }
        const sys::PublicKey* signer = nullptr;
        for (const auto& key : keys) {
            if (key.verifies(*payload, layer.signature)) {
                signer = &key;
                break;
            }
        }
        if (signer == nullptr) {
            reasons.push_back(
                fmt::format("{} does not verify with {} (signed by another key, or the payload was "
                            "altered); expected a signature by {}",
                            which, keys.size() == 1 ? "the key" : "any key", key_names(keys)));
            continue;
        }
        auto claims = parse_simple_signing(*payload);
        if (!claims) {
            reasons.push_back(fmt::format("{}: {}", which, claims.error().message));
            continue;
        }
        if (auto wrong = check_claims(*claims, image, digest)) {
            reasons.push_back(
                fmt::format("{} by {}: the signed payload {}", which, signer->name(), *wrong));
            continue;
        }
        return CosignVerified{signer->name(), signer->algorithm(), where};
    }
    std::string joined;
    for (const auto& reason : reasons) {
        joined += (joined.empty() ? "" : "; ") + reason;
    }
    return rejected(fmt::format("{}: {}", where, joined));
}

}  // namespace agentd::trust
