#pragma once
// Reading fields of untrusted JSON documents (trusted roots, Rekor entries, Sigstore bundles)
// with errors that name the field by its path ("tlogs[0].publicKey.rawBytes is not base64").
// Byte strings are base64 and 64-bit integers may be JSON strings, as protobuf's JSON mapping
// writes them; a null member is an absent one.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::sigstore::json_fields {

/// Parses `text` as a JSON object of at most `max_size` bytes; `what` names it in errors.
sys::Result<nlohmann::json> parse_object(std::string_view text, std::string_view what,
                                         std::size_t max_size);

/// "parent.key", or "key" at the top.
std::string path_of(std::string_view parent, std::string_view key);

/// The member `key` of `object`, nullptr when absent (or null).
const nlohmann::json* find(const nlohmann::json& object, std::string_view key);

/// The object at `key`; InvalidInput "PATH is missing" / "PATH is not an object".
sys::Result<const nlohmann::json*> object(const nlohmann::json& parent, std::string_view path,
                                          std::string_view key);
/// The array at `key`, at most `max_items` long; absent is an empty array when `optional`.
sys::Result<const nlohmann::json*> array(const nlohmann::json& parent, std::string_view path,
                                         std::string_view key, std::size_t max_items,
                                         bool optional = false);
/// The non-empty string at `key`.
sys::Result<std::string> string(const nlohmann::json& parent, std::string_view path,
                                std::string_view key);
/// The string at `key`, possibly empty; "" when absent.
sys::Result<std::string> optional_string(const nlohmann::json& parent, std::string_view path,
                                         std::string_view key);
/// The bytes of the base64 (standard or URL alphabet, padding optional) string at `key`;
/// never empty.
sys::Result<std::string> base64(const nlohmann::json& parent, std::string_view path,
                                std::string_view key);
/// The integer (a JSON number or a string of digits) at `key`, in [0, 2^63).
sys::Result<std::int64_t> integer(const nlohmann::json& parent, std::string_view path,
                                  std::string_view key);
/// The same, 0 when absent (protobuf's JSON mapping leaves out a field equal to 0).
sys::Result<std::int64_t> integer_or_zero(const nlohmann::json& parent, std::string_view path,
                                          std::string_view key);
/// The RFC 3339 time at `key`.
sys::Result<sys::TimePoint> time(const nlohmann::json& parent, std::string_view path,
                                 std::string_view key);

/// Decodes base64 in the standard or URL alphabet, with or without padding; nullopt otherwise.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace agentd::sigstore::json_fields
