#pragma once
// Percent-encoding (RFC 3986), for query values in URLs agentd builds: registry token requests,
// Docker Engine API queries, agentctl's requests to agentd.

#include <string>
#include <string_view>

namespace agentd::sys {

/// Every byte but the RFC 3986 unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~")
/// as "%XX" with upper-case hex digits, so the result is safe as a query value or a path
/// segment ('/', '&', '=', '+', '%', space and non-ASCII bytes are all encoded).
std::string url_encode(std::string_view text);

/// The "host[:port]" of a URL with a scheme ("" when it has none), without any user info.
std::string url_host(std::string_view url);

}  // namespace agentd::sys
