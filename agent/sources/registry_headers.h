#pragma once
// The HTTP header grammar the registry protocol needs: WWW-Authenticate challenges (RFC 7235),
// Link pagination (RFC 8288), and Basic credentials.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::sources {

/// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="..."`.
struct AuthChallenge {
    std::string scheme;                         ///< lower-cased: "basic", "bearer"
    std::map<std::string, std::string> params;  ///< names lower-cased, values unquoted
};

/// Parses a WWW-Authenticate value: several challenges, token or quoted-string parameters
/// (commas and escaped quotes inside quotes). Malformed trailing parts are ignored; an empty
/// result means there is no challenge to answer.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view value);

/// The URL of the `rel="next"` entry of a Link header as written (often a path), or nullopt.
std::optional<std::string> parse_next_link(std::string_view value);

/// "Basic " + base64(username ":" password), the Authorization value for Basic auth.
std::string basic_authorization(std::string_view username, std::string_view password);

/// ASCII lower case.
std::string ascii_lower(std::string_view text);

}  // namespace agentd::sources
