#pragma once
// Base64 (RFC 4648) over OpenSSL's encoder, for Basic auth, Docker's X-Registry-Auth and the
// Docker client config.

#include <optional>
#include <string>
#include <string_view>

namespace agentd::sys {

/// Standard alphabet with '=' padding.
std::string base64_encode(std::string_view data);
/// URL-safe alphabet ('-' and '_') with '=' padding, as Docker's X-Registry-Auth expects.
std::string base64url_encode(std::string_view data);
/// Decodes standard base64 with padding; nullopt on anything malformed (or empty input).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace agentd::sys
