#include "agent/trust/keyless_verifier.h"

#include <fmt/format.h>

#include "agent/sigstore/bundle_evidence.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "agent/sys/quote.h"
#include "agent/trust/cosign.h"
#include "agent/trust/cosign_keyless.h"
#include "agent/trust/legacy_signatures.h"

namespace agentd::trust {

namespace {

// Referrers looked at: an image signed again and again keeps every bundle; far more than real.
constexpr std::size_t k_max_bundles = 16;

std::string expected(const config::CosignKeyless& keyless) {
    return fmt::format("a keyless signature by {} (issuer {})",
                       sys::quoted(keyless.policy.identity.text(), 256),
                       sys::quoted(keyless.policy.issuer.text(), 256));
}

// The evidence a signature gave, checked against the policy; or why there was none.
sys::Result<sigstore::KeylessVerified> verify(const sys::Result<sigstore::KeylessEvidence>& evidence,
                                              const config::CosignKeyless& keyless) {
    if (!evidence) {
        return evidence.error();
    }
    return sigstore::verify_keyless(*keyless.trusted_root, keyless.policy, *evidence);
}

// The outcome of looking at one place: a verified signature, the reasons each signature there
// failed (empty: there was none), or an error that leaves the verdict undecided.
struct Looked {
    std::optional<KeylessFound> found;
    std::vector<std::string> reasons;
};

sys::Result<Looked> look_at_bundles(sources::Registry& registry, const sources::ImageRef& image,
                                    const std::string& digest,
                                    const config::CosignKeyless& keyless) {
    const std::string subject = image.pinned(digest);
    const std::string where = fmt::format("the referrers of {}", subject);
    auto referrers = registry.referrers(image, digest, std::string(k_bundle_artifact_type));
    if (!referrers) {
        return undecided(subject, where, referrers.error());
    }
    Looked out;
    for (std::size_t i = 0; i < referrers->size() && i < k_max_bundles; ++i) {
        const sources::Referrer& referrer = (*referrers)[i];
        sources::ImageRef artifact = image;
        artifact.tag.clear();
        artifact.digest = referrer.digest;
        const std::string which = fmt::format("Sigstore bundle {}", artifact.familiar_name() + "@" +
                                                                       referrer.digest);
        auto manifest = registry.get_manifest(artifact);
        if (!manifest) {
            if (manifest.error().is_not_found()) {
                out.reasons.push_back(which + ": its manifest is missing");
                continue;
            }
            return undecided(subject, which, manifest.error());
        }
        auto blob = parse_bundle_manifest(manifest->body);
        if (!blob) {
            out.reasons.push_back(fmt::format("{}: {}", which, blob.error().message));
            continue;
        }
        auto body = registry.get_blob(artifact, blob->digest, k_max_bundle_size);
        if (!body) {
            if (body.error().is_not_found()) {
                out.reasons.push_back(fmt::format("{}: blob {} is missing", which, blob->digest));
                continue;
            }
            return undecided(subject, which, body.error());
        }
        auto bundle = sigstore::parse_sigstore_bundle(*body);
        if (!bundle) {
            out.reasons.push_back(fmt::format("{}: {}", which, bundle.error().message));
            continue;
        }
        auto verified = verify(sigstore::bundle_keyless_evidence(*bundle, digest), keyless);
        if (!verified) {
            out.reasons.push_back(fmt::format("{}: {}", which, verified.error().message));
            continue;
        }
        out.found = KeylessFound{std::move(*verified), which};
        return out;
    }
    return out;
}

sys::Result<Looked> look_at_legacy_tag(sources::Registry& registry,
                                       const sources::ImageRef& image, const std::string& digest,
                                       const config::CosignKeyless& keyless) {
    Looked out;
    auto found = read_legacy_signatures(registry, image, digest);
    if (!found) {
        if (found.error().is_not_found()) {
            return out;
        }
        if (found.error().kind == sys::Error::Kind::InvalidInput) {
            out.reasons.push_back(found.error().message);
            return out;
        }
        return found.error();
    }
    for (const LegacySignature& signature : found->signatures) {
        const std::string which = fmt::format("{}, {}", found->where, signature.which);
        if (signature.layer.signature.empty() || !signature.payload) {
            out.reasons.push_back(fmt::format(
                "{}: {}", which,
                signature.layer.signature.empty()
                    ? fmt::format("no {} annotation", k_signature_annotation)
                    : fmt::format("payload {} is missing", signature.layer.payload_digest)));
            continue;
        }
        auto verified = verify(cosign_keyless_evidence(signature.layer, *signature.payload), keyless);
        if (!verified) {
            out.reasons.push_back(fmt::format("{}: {}", which, verified.error().message));
            continue;
        }
        // The signature holds; now it must be about this image.
        auto claims = parse_simple_signing(*signature.payload);
        if (!claims) {
            out.reasons.push_back(fmt::format("{}: {}", which, claims.error().message));
            continue;
        }
        if (auto wrong = check_claims(*claims, image, digest)) {
            out.reasons.push_back(fmt::format("{}: the signed payload {}", which, *wrong));
            continue;
        }
        out.found = KeylessFound{std::move(*verified), found->where};
        return out;
    }
    if (found->signatures.empty()) {
        out.reasons.push_back(found->where + " has no simple-signing layer");
    }
    return out;
}

}  // namespace

sys::Result<KeylessFound> verify_cosign_keyless(sources::Registry& registry,
                                                const sources::ImageRef& image,
                                                const std::string& digest,
                                                const config::CosignKeyless& keyless) {
    const std::string subject = image.pinned(digest);
    const auto rejected = [&](const std::string& why) {
        return sys::Error::invalid(
            fmt::format("image {}: keyless verification failed: {}", subject, why));
    };
    if (!sources::valid_digest(digest)) {
        return rejected(fmt::format("{} is not a sha256 digest", digest));
    }
    if (!keyless.trusted_root) {
        return rejected("no trusted root is configured");
    }
    std::vector<std::string> reasons;
    for (const auto look : {look_at_bundles, look_at_legacy_tag}) {
        auto looked = look(registry, image, digest, keyless);
        if (!looked) {
            return looked.error();
        }
        if (looked->found) {
            return std::move(*looked->found);
        }
        reasons.insert(reasons.end(), looked->reasons.begin(), looked->reasons.end());
    }
    if (reasons.empty()) {
        return rejected(fmt::format("not signed: no Sigstore bundle refers to it and there is no "
                                    "signature tag {}:{}; expected {}",
                                    image.familiar_name(), signature_tag(digest),
                                    expected(keyless)));
    }
    std::string joined;
    for (const auto& reason : reasons) {
        joined += (joined.empty() ? "" : "; ") + reason;
    }
    return rejected(fmt::format("{}; expected {}", joined, expected(keyless)));
}

}  // namespace agentd::trust
