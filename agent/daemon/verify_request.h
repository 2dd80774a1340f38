#pragma once
// `POST /v1/verify` (`agentctl verify`): which image an admin asks about and the signatures it
// must carry, checked before agentd asks any registry. Pure: reading the key files and the
// trusted root is the only I/O.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/sources/image_ref.h"
#include "agent/sys/result.h"

namespace agentd::daemon {

/// Keyless cosign: the signer's certificate identity and its OIDC issuer, as the request gives
/// them (exact strings, globs or "regex:" patterns, as `verify.cosign` in agent.yaml).
struct KeylessIdentity {
    std::string identity;
    std::string issuer;
    std::filesystem::path trusted_root;  ///< absolute; empty: the public-good root agentd ships
};

/// A checked request: an image and exactly one of key files and a keyless identity.
struct VerifyRequest {
    sources::ImageRef image;
    std::vector<std::filesystem::path> key_files;  ///< absolute; empty when keyless
    std::optional<KeylessIdentity> keyless;
};

/// Checks the body {"image": REF, "key": FILE | [FILE, ...]} or
/// {"image": REF, "identity": G, "issuer": U[, "trusted_root": FILE]}. InvalidInput naming the field on anything else:
/// a missing or invalid image reference, relative key paths, key and identity together, an
/// identity without an issuer, unknown fields.
sys::Result<VerifyRequest> parse_verify_request(const nlohmann::json& body);

/// The policy the request's image is verified against, as a stack's `verify:` would say it. Its
/// key files are read here: InvalidInput naming the file when it is unreadable or not a PEM
/// public key of a supported kind. Keyless: the patterns compiled and the trusted root read, as
/// agent.yaml's are (config::CosignKeyless::make); InvalidInput naming the field otherwise.
sys::Result<config::ImageVerify> verify_policy(const VerifyRequest& request);

}  // namespace agentd::daemon
