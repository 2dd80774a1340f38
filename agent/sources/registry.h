#pragma once
// Container registries (OCI distribution API).

#include <string>
#include <vector>

#include "agent/sources/image_ref.h"
#include "agent/sys/result.h"

namespace agentd::sources {

class Registry {
public:
    virtual ~Registry() = default;
    /// The manifest digest the reference's tag points to now (HEAD with the full Accept list,
    /// Docker-Content-Digest checked). NotFound when the tag does not exist; Unauthorized when
    /// credentials are refused; Failed when the registry is unreachable or answers 5xx.
    virtual sys::Result<std::string> resolve_digest(const ImageRef& ref) = 0;
    /// Every tag of the repository (all pages).
    virtual sys::Result<std::vector<std::string>> list_tags(const ImageRef& ref) = 0;
};

}  // namespace agentd::sources
