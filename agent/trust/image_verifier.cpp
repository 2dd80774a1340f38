#include "agent/trust/image_verifier.h"

#include <fmt/format.h>

#include "agent/trust/cosign_verifier.h"
#include "agent/trust/keyless_verifier.h"

namespace agentd::trust {

namespace {

// A bound on the cache: far more digests than a host runs; past it the cache starts afresh.
constexpr std::size_t k_max_cached = 4096;

// What decides a verdict: the same digest checked against the same keys, or the same identity,
// issuer and trusted root, is the same verdict.
std::string cache_key(const sources::ImageRef& image, const std::string& digest,
                      const config::ImageVerify& policy) {
    std::string key = fmt::format("{}/{}@{}", image.registry, image.repository, digest);
    if (policy.cosign) {
        for (const auto& file : policy.cosign->files) {
            key += "\nkey " + file.string();
        }
    }
    if (policy.keyless) {
        key += fmt::format("\nidentity {}\nissuer {}\nroot {}",
                           policy.keyless->policy.identity.text(),
                           policy.keyless->policy.issuer.text(),
                           policy.keyless->trusted_root_file.string());
    }
    return key;
}

sys::Result<std::string> verify_uncached(sources::Registry& registry,
                                         const sources::ImageRef& image,
                                         const std::string& digest,
                                         const config::ImageVerify& policy) {
    if (policy.keyless) {
        auto found = verify_cosign_keyless(registry, image, digest, *policy.keyless);
        if (!found) {
            return found.error();
        }
        return fmt::format("{}: {} ({})", image.pinned(digest), found->verified.describe(),
                           found->signature);
    }
    auto verified = verify_cosign_keyed(registry, image, digest, policy.cosign->keys);
    if (!verified) {
        return verified.error();
    }
    return fmt::format("{}: cosign signature {} verified with key {} ({})", image.pinned(digest),
                       verified->signature, verified->key, verified->algorithm);
}

}  // namespace

sys::Result<std::string> RegistryImageVerifier::verify(const sources::ImageRef& image,
                                                       const std::string& digest,
                                                       const config::ImageVerify& policy) {
    if (!policy.cosign && !policy.keyless) {
        return std::string("no signature required");
    }
    std::string key = cache_key(image, digest, policy);
    if (const auto it = m_verified.find(key); it != m_verified.end()) {
        return it->second;
    }
    auto what = verify_uncached(m_registry, image, digest, policy);
    if (!what) {
        return what.error();
    }
    if (m_verified.size() >= k_max_cached) {
        m_verified.clear();
    }
    m_verified.emplace(std::move(key), *what);
    return what;
}

}  // namespace agentd::trust
