#pragma once
// The JSON bodies a registry (and its token service) answers with, parsed without I/O so that
// they can be tested and fuzzed alone. Errors say what is wrong without quoting the body: it
// came from the network and may hold a secret.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sources/registry.h"
#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::sources {

/// The tags of one tags/list page: `{"name": ..., "tags": [strings] or null}`; a missing or
/// null "tags" is a repository without tags. Failed, saying what is wrong, for anything else.
sys::Result<std::vector<std::string>> parse_tag_page(std::string_view body);

/// A token service's answer (Docker's token protocol): `token` or `access_token`, and the
/// optional `expires_in` (seconds) and `issued_at` (RFC 3339).
struct TokenAnswer {
    std::string token;  ///< non-empty; a secret
    /// expires_in capped at a day; 60 s (Docker's minimum) when absent or not positive.
    std::chrono::milliseconds lifetime{};
    std::optional<sys::TimePoint> issued_at;  ///< nullopt when absent or unparsable
};
/// Failed with the reason worded to follow "token service X answered ": "with malformed
/// JSON", "without a token", "with a non-numeric expires_in".
sys::Result<TokenAnswer> parse_token_answer(std::string_view body);

/// The descriptors of an OCI image index (`{"schemaVersion": 2, "manifests": [...]}`) as
/// the referrers API answers it and the referrers tag schema stores it, in order. Descriptors
/// that are not objects or have no valid digest are skipped (they name nothing that can be
/// fetched); annotations that are not strings, or larger than 64 KiB, are left out. Failed,
/// saying what is wrong, for anything that is not such an index, or has more than 1024
/// descriptors.
sys::Result<std::vector<Referrer>> parse_referrers_index(std::string_view body);

/// The next step from an image's manifest towards its config, for an image's `created` time:
/// for an image index or Docker manifest list, the digest of the manifest for `os` and
/// `architecture` (`index` true); for an image manifest, the digest of its config blob.
/// Failed, saying what is wrong, for anything else or an index without that platform.
struct ManifestStep {
    bool index = false;
    std::string digest;
};
sys::Result<ManifestStep> parse_manifest_step(std::string_view body, std::string_view os,
                                              std::string_view architecture);

/// An image config blob's `created` (RFC 3339); nullopt when it has none, it does not parse,
/// or it is before 2000-01-01: reproducible builds write the Unix epoch there, which says
/// nothing of when the image was made.
std::optional<sys::TimePoint> parse_image_created(std::string_view config);

}  // namespace agentd::sources
