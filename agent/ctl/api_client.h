#pragma once
// agentctl's side of the HTTP API on agentd's unix socket.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/sys/http.h"

namespace agentd::ctl {

struct ApiAnswer {
    long status = 0;
    nlohmann::json body;  ///< the JSON document; errors are {"error": "..."}
    bool ok() const { return status >= 200 && status < 300; }
    /// The "error" field, or a generic text with the status.
    std::string error() const;
};

class ApiClient {
public:
    /// `socket`: path of agentd's API socket.
    ApiClient(sys::HttpClient& http, std::string socket);

    /// An error means agentd did not answer (Failed: connection refused, no such socket,
    /// timeout) or answered something that is not JSON (InvalidInput).
    /// `timeout` bounds waiting for the answer (listing a slow registry's tags takes a while).
    sys::Result<ApiAnswer> get(const std::string& path,
                               sys::Duration timeout = std::chrono::seconds(30));
    /// POSTs `body`; `timeout` bounds waiting for the answer (a gated deployment is slow).
    sys::Result<ApiAnswer> post(const std::string& path, const nlohmann::json& body,
                                sys::Duration timeout);

    /// Follows a streamed answer of JSON lines (GET /v1/events): `on_line` gets each object
    /// with a "type" as it arrives, until the stream ends or `on_line` returns false (then the
    /// answer is a 200 with an empty body). An answer that is not a stream keeps its status
    /// and error document. No timeout: a stream is followed for as long as it lasts, or
    /// until `cancelled` (when given) says so (within about a second; then an error).
    sys::Result<ApiAnswer> stream(const std::string& path,
                                  const std::function<bool(const nlohmann::json&)>& on_line,
                                  std::function<bool()> cancelled = {});

    const std::string& socket() const { return m_socket; }

private:
    sys::Result<ApiAnswer> send(sys::HttpRequest request);

    sys::HttpClient& m_http;
    std::string m_socket;
};

}  // namespace agentd::ctl
