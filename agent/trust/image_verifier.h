#pragma once
// The verify step's one side effect: does an image digest carry the signatures its policy
// (config::ImageVerify) asks for? One interface so the pipeline is tested with a fake
// (tests/fakes/fakes.h); RegistryImageVerifier is the real one.

#include <map>
#include <string>

#include "agent/config/config.h"
#include "agent/sources/image_ref.h"
#include "agent/sources/registry.h"
#include "agent/sys/result.h"

namespace agentd::trust {

class ImageVerifier {
public:
    virtual ~ImageVerifier() = default;
    /// Verifies `digest` of `image`'s repository against `policy`. Ok: one line saying what
    /// verified it, for the deployment's events ("cosign signature ... by key FILE (ECDSA
    /// P-256)"). InvalidInput: rejected, the message naming the image, the check and what was
    /// expected. Any other error: it could not be decided now (registry unreachable): retry.
    virtual sys::Result<std::string> verify(const sources::ImageRef& image,
                                            const std::string& digest,
                                            const config::ImageVerify& policy) = 0;
};

/// Reads signatures through a registry client. Successes are cached per repository, digest and
/// policy (the key files; or the identity, issuer and trusted root file),
/// so verifying a digest again costs no request (a digest's content never changes;
/// a signature once verified stays a valid signature). Rejections are not cached: the pipeline
/// remembers the release as bad instead.
class RegistryImageVerifier final : public ImageVerifier {
public:
    explicit RegistryImageVerifier(sources::Registry& registry) : m_registry(registry) {}
    sys::Result<std::string> verify(const sources::ImageRef& image, const std::string& digest,
                                    const config::ImageVerify& policy) override;

private:
    sources::Registry& m_registry;
    std::map<std::string, std::string> m_verified;  ///< cache key -> what verified it
};

}  // namespace agentd::trust
