#pragma once
// Reads cosign's legacy signature tag of an image digest ("sha256-<hex>.sig", cosign.h) through
// a registry client: the signature manifest's simple-signing layers, each with its payload.
// Shared by the keyed and the keyless verifiers, which differ only in how a layer is checked.

#include <optional>
#include <string>
#include <vector>

#include "agent/sources/image_ref.h"
#include "agent/sources/registry.h"
#include "agent/sys/result.h"
#include "agent/trust/cosign.h"

namespace agentd::trust {

/// One simple-signing layer and its payload blob.
struct LegacySignature {
    SignatureLayer layer;
    std::string which;  ///< "the signature", or "signature 2 of 3": for messages
    /// The payload's bytes (their digest checked by the registry client); nullopt when the
    /// layer has no signature annotation (nothing to check) or the blob is missing.
    std::optional<std::string> payload;
};

struct LegacySignatures {
    std::string where;  ///< "registry/repository:sha256-<hex>.sig"
    std::vector<LegacySignature> signatures;  ///< empty: the manifest has no simple-signing layer
};

/// The signatures of `digest` (valid) of `image`'s repository. NotFound when there is no
/// signature tag; InvalidInput (a verdict) naming `where` when its manifest is malformed; any
/// other kind when the registry could not be read, the message naming `subject`.
sys::Result<LegacySignatures> read_legacy_signatures(sources::Registry& registry,
                                                     const sources::ImageRef& image,
                                                     const std::string& digest);

/// A registry error met while reading a signature of `subject`, as "could not be decided":
/// never InvalidInput, which would read as a verdict.
sys::Error undecided(const std::string& subject, const std::string& where,
                     const sys::Error& error);

}  // namespace agentd::trust
