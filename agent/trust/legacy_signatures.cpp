#include "agent/trust/legacy_signatures.h"

#include <fmt/format.h>

namespace agentd::trust {

sys::Error undecided(const std::string& subject, const std::string& where,
                     const sys::Error& error) {
    return sys::Error{
        error.kind == sys::Error::Kind::InvalidInput ? sys::Error::Kind::Failed : error.kind,
        fmt::format("image {}: reading signature {}: {}", subject, where, error.message)};
}

sys::Result<LegacySignatures> read_legacy_signatures(sources::Registry& registry,
                                                     const sources::ImageRef& image,
                                                     const std::string& digest) {
    const std::string subject = image.pinned(digest);
    sources::ImageRef signatures = image;
    signatures.tag = signature_tag(digest);
    signatures.digest.clear();
    LegacySignatures out;
    out.where = fmt::format("{}:{}", image.familiar_name(), signatures.tag);

    auto manifest = registry.get_manifest(signatures);
    if (!manifest) {
        if (manifest.error().is_not_found()) {
            return sys::Error::not_found(fmt::format("no signature tag {}", out.where));
        }
        return undecided(subject, out.where, manifest.error());
    }
    auto layers = parse_signature_manifest(manifest->body);
    if (!layers) {
        return sys::Error::invalid(fmt::format("{}: {}", out.where, layers.error().message));
    }
    for (std::size_t i = 0; i < layers->size(); ++i) {
        LegacySignature signature;
        signature.layer = std::move((*layers)[i]);
        signature.which = layers->size() == 1
                              ? std::string("the signature")
                              : fmt::format("signature {} of {}", i + 1, layers->size());
        if (!signature.layer.signature.empty()) {
            auto payload = registry.get_blob(signatures, signature.layer.payload_digest,
                                             k_max_payload_size);
            if (payload) {
                signature.payload = std::move(*payload);
            } else if (!payload.error().is_not_found()) {
                return undecided(subject, out.where, payload.error());
            }
        }
        out.signatures.push_back(std::move(signature));
    }
    return out;
}

}  // namespace agentd::trust
