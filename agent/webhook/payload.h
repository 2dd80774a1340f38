#pragma once
// Reading a webhook's JSON body, which is untrusted even when signed (the forge's users choose
// branch names and package names): bounded in size and depth, and every error names the field
// by its path ("repository.clone_url is not a string"), for the caller's 400 answer. No error
// message repeats the body's bytes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/sys/result.h"

namespace agentd::webhook {

/// The largest body taken (the caller answers 413 before reading more).
inline constexpr std::size_t k_max_body = 1024 * 1024;
/// The deepest nesting taken; GitHub's deepest payloads (package events) nest about ten levels.
inline constexpr int k_max_depth = 64;

/// Parses `body` as a JSON object. InvalidInput "body is larger than 1 MiB", "body is not
/// valid JSON (at byte N)", "body nests deeper than 64 levels", "body is not a JSON object".
sys::Result<nlohmann::json> parse_payload(std::string_view body);

/// The value at the dotted `path` ("repository.clone_url") of `root`; nullptr when a member
/// on the way is absent or null. InvalidInput "PATH-SO-FAR is not an object" when one is
/// something else.
sys::Result<const nlohmann::json*> member(const nlohmann::json& root, std::string_view path);

/// The string at `path`; nullopt when absent or null. InvalidInput "PATH is not a string",
/// "PATH is longer than N bytes", "PATH contains control characters".
sys::Result<std::optional<std::string>> optional_string(const nlohmann::json& root,
                                                        std::string_view path,
                                                        std::size_t max_size);

/// The boolean at `path`; false when absent or null. InvalidInput "PATH is not a boolean".
sys::Result<bool> optional_bool(const nlohmann::json& root, std::string_view path);

}  // namespace agentd::webhook
