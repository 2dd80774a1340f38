#pragma once
// Container registries (OCI distribution API).

#include <cstddef>
#include <string>
#include <vector>

#include "agent/sources/image_ref.h"
#include "agent/sys/result.h"

namespace agentd::sources {

/// A manifest as the registry served it.
struct Manifest {
    std::string digest;      ///< "sha256:<hex>" of `body`, computed here
    std::string media_type;  ///< the Content-Type answered (may be empty)
    std::string body;        ///< at most 4 MiB
};

class Registry {
public:
    virtual ~Registry() = default;
    /// The manifest digest the reference's tag points to now (HEAD with the full Accept list,
    /// Docker-Content-Digest checked). NotFound when the tag does not exist; Unauthorized when
    /// credentials are refused; Failed when the registry is unreachable or answers 5xx.
    virtual sys::Result<std::string> resolve_digest(const ImageRef& ref) = 0;
    /// Every tag of the repository (all pages).
    virtual sys::Result<std::vector<std::string>> list_tags(const ImageRef& ref) = 0;
    /// The manifest ref's digest (or, without one, its tag) names, fetched with the full Accept
    /// list; its digest is computed and must equal ref's digest and any Docker-Content-Digest.
    /// NotFound when absent; other errors as resolve_digest.
    virtual sys::Result<Manifest> get_manifest(const ImageRef& ref) = 0;
    /// Blob `digest` of ref's repository, at most `max_size` bytes; what arrives must hash to
    /// `digest`. NotFound when absent; Failed when larger, or hashing to another digest.
    virtual sys::Result<std::string> get_blob(const ImageRef& ref, const std::string& digest,
                                              std::size_t max_size) = 0;
};

}  // namespace agentd::sources
