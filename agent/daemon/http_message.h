#pragma once
// The little of HTTP/1.1 the API server speaks: one request per connection, a body only with
// Content-Length, and a JSON answer after which the connection closes. Pure functions, so that
// what reaches the routes from a socket is tested without one.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::daemon {

struct HttpRequestHead {
    std::string method;                        ///< "GET", "POST", ...
    std::string path;                          ///< percent-decoded, without the query
    std::map<std::string, std::string> query;  ///< percent-decoded; a later key wins
    std::size_t content_length = 0;            ///< 0 without a Content-Length header
};

/// Parses the request line and headers (`head` is everything before the blank line).
/// InvalidInput, with a message for the client, for anything malformed, for a chunked or
/// otherwise encoded body, and for a protocol other than HTTP/1.0 or HTTP/1.1.
sys::Result<HttpRequestHead> parse_request_head(std::string_view head);

/// %XX sequences decoded; nullopt for a malformed one or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

/// A complete response with `body` as application/json and "Connection: close".
std::string format_response(int status, std::string_view body);

}  // namespace agentd::daemon
