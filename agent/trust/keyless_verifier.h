#pragma once
// Verifies an image digest against keyless (Sigstore) signatures, wherever cosign and
// Sigstore's clients put them:
// - Sigstore bundles attached to the image as OCI artifacts (cosign v3, @sigstore/oci), found
//   through the referrers API or its fallback tag index (sources::Registry::referrers);
// - cosign's legacy "sha256-<hex>.sig" tag, whose layers carry the certificate, chain and
//   Rekor bundle annotations (cosign v2's keyless `cosign sign`).
// The reading is here; every check is sigstore::verify_keyless's, after the evidence is tied to
// the digest being deployed (a bundle's subject or message digest, a payload's claims).

#include <string>

#include "agent/config/config.h"
#include "agent/sigstore/keyless.h"
#include "agent/sources/image_ref.h"
#include "agent/sources/registry.h"
#include "agent/sys/result.h"

namespace agentd::trust {

/// What a successful keyless verification found.
struct KeylessFound {
    sigstore::KeylessVerified verified;
    std::string signature;  ///< where it is: "Sigstore bundle REPO@sha256:..." or "REPO:sha256-<hex>.sig"
};

/// Verifies that `digest` of `image`'s repository carries a keyless signature that `keyless`
/// accepts. Bundles are tried first, then the legacy tag; the first signature that verifies
/// wins. The error's kind tells a verdict from a failure to decide, as verify_cosign_keyed's:
/// InvalidInput is a rejection naming the image, each signature looked at and why it failed
/// (or that there is none, and what was expected); any other kind: the registry could not be
/// read.
sys::Result<KeylessFound> verify_cosign_keyless(sources::Registry& registry,
                                                const sources::ImageRef& image,
                                                const std::string& digest,
                                                const config::CosignKeyless& keyless);

}  // namespace agentd::trust
