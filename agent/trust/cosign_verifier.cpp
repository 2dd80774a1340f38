#include "agent/trust/cosign_verifier.h"

#include <fmt/format.h>

#include "agent/trust/cosign.h"
#include "agent/trust/legacy_signatures.h"

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
    auto found = read_legacy_signatures(registry, image, digest);
    if (!found) {
        if (found.error().is_not_found()) {
            return rejected(fmt::format("not signed: {}; expected a cosign signature by {}",
                                        found.error().message, key_names(keys)));
        }
        if (found.error().kind == sys::Error::Kind::InvalidInput) {
            return rejected(found.error().message);
        }
        return found.error();
    }
    const std::string& where = found->where;
    if (found->signatures.empty()) {
        return rejected(fmt::format("not signed: {} has no simple-signing layer", where));
    }

    std::vector<std::string> reasons;
    for (const LegacySignature& signature : found->signatures) {
        const SignatureLayer& layer = signature.layer;
        const std::string& which = signature.which;
        if (layer.signature.empty()) {
            reasons.push_back(
                fmt::format("{} has no {} annotation", which, k_signature_annotation));
            continue;
        }
        if (!signature.payload) {
            reasons.push_back(fmt::format("{}: payload {} is missing", which, layer.payload_digest));
            continue;
        }
        const std::string& payload = *signature.payload;
        const sys::PublicKey* signer = nullptr;
        for (const auto& key : keys) {
            if (key.verifies(payload, layer.signature)) {
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
        auto claims = parse_simple_signing(payload);
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
