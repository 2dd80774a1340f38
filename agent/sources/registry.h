#pragma once
// Container registries (OCI distribution API).

#include <cstddef>
#include <cstdint>
#include <map>
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

/// An artifact whose manifest names another manifest as its `subject` (a signature, an SBOM,
/// a Sigstore bundle), as the referrers API and the referrers tag index list it: an OCI
/// descriptor of the artifact's manifest.
struct Referrer {
    std::string digest;      ///< the artifact manifest's digest, valid (valid_digest)
    std::string media_type;  ///< the artifact manifest's media type
    std::string artifact_type;
    std::uint64_t size = 0;
    std::map<std::string, std::string> annotations;
};

class Registry {
public:
    virtual ~Registry() = default;
    /// The manifest digest the reference's tag points to now (HEAD with the full Accept list,
    /// Docker-Content-Digest checked). NotFound when the tag does not exist; Unauthorized when
    /// credentials are refused; Failed when the registry is unreachable or answers 5xx.
    virtual sys::Result<std::string> resolve_digest(const ImageRef& ref) = 0;
    /// resolve_digest of each reference, in their order; a client may ask for several at once.
    virtual std::vector<sys::Result<std::string>> resolve_digests(
        const std::vector<ImageRef>& refs) {
        std::vector<sys::Result<std::string>> digests;
        digests.reserve(refs.size());
        for (const auto& ref : refs) {
            digests.push_back(resolve_digest(ref));
        }
        return digests;
    }
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
    /// The artifacts of ref's repository whose subject is manifest `digest` and whose
    /// artifactType is `artifact_type` (every artifact when empty), in the registry's order.
    /// Asks the referrers API (OCI distribution 1.1, `GET /v2/<name>/referrers/<digest>`,
    /// with the artifactType filter, following Link pages); when the registry answers 404
    /// (it has no such API), reads the referrers tag schema's index at tag "sha256-<hex>".
    /// Each descriptor's artifactType is checked here, whatever filter the registry applied.
    /// An empty list when nothing refers to `digest` (no tag index either). InvalidInput for
    /// an invalid digest or artifact type; Failed for an answer that is not an image index;
    /// other errors as get_manifest.
    virtual sys::Result<std::vector<Referrer>> referrers(const ImageRef& ref,
                                                         const std::string& digest,
                                                         const std::string& artifact_type) = 0;
};

}  // namespace agentd::sources
