#pragma once
// Verifies an image digest against cosign's legacy keyed signatures (the "sha256-<hex>.sig"
// tag, see cosign.h) with configured public keys. Keyless signatures, Sigstore bundles and
// the referrers API are other verifiers beside this one.

#include <string>
#include <vector>

#include "agent/sources/image_ref.h"
#include "agent/sources/registry.h"
#include "agent/sys/public_key.h"
#include "agent/sys/result.h"

namespace agentd::trust {

/// What a successful verification found.
struct CosignVerified {
    std::string key;        ///< the key file that verified a signature
    std::string algorithm;  ///< its algorithm, "ECDSA P-256"
    std::string signature;  ///< where the signature is: "registry/repository:sha256-<hex>.sig"
};

/// Verifies that `digest` of `image`'s repository has a cosign signature by one of `keys`
/// whose payload names `digest` and the repository. Reads the signature manifest and its
/// payload blobs through `registry`; accepts at the first signature that verifies.
///
/// The error's kind tells a verdict from a failure to decide:
/// - InvalidInput: rejected. The message names the image, the check that failed and what was
///   expected (not signed; signed by another key; payload for another digest or repository;
///   malformed signature manifest or payload).
/// - any other kind: the registry could not be read (unreachable, refused credentials, a blob
///   hashing to another digest); nothing is known, try again later.
sys::Result<CosignVerified> verify_cosign_keyed(sources::Registry& registry,
                                                const sources::ImageRef& image,
                                                const std::string& digest,
                                                const std::vector<sys::PublicKey>& keys);

}  // namespace agentd::trust
