#include "agent/trust/image_verifier.h"

#include <fmt/format.h>

#include "agent/trust/cosign_verifier.h"

namespace agentd::trust {

namespace {

// A bound on the cache: far more digests than a host runs; past it the cache starts afresh.
constexpr std::size_t k_max_cached = 4096;

}  // namespace

sys::Result<std::string> RegistryImageVerifier::verify(const sources::ImageRef& image,
                                                       const std::string& digest,
                                                       const config::ImageVerify& policy) {
    if (!policy.cosign) {
        return std::string("no signature required");
    }
    std::string cache_key = fmt::format("{}/{}@{}", image.registry, image.repository, digest);
    for (const auto& file : policy.cosign->files) {
        cache_key += "\n" + file.string();
    }
    if (const auto it = m_verified.find(cache_key); it != m_verified.end()) {
        return it->second;
    }
    auto verified = verify_cosign_keyed(m_registry, image, digest, policy.cosign->keys);
    if (!verified) {
        return verified.error();
    }
    std::string what =
        fmt::format("{}: cosign signature {} verified with key {} ({})", image.pinned(digest),
                    verified->signature, verified->key, verified->algorithm);
    if (m_verified.size() >= k_max_cached) {
        m_verified.clear();
    }
    m_verified.emplace(std::move(cache_key), what);
    return what;
}

}  // namespace agentd::trust
