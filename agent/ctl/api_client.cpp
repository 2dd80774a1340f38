#include "agent/ctl/api_client.h"

#include <fmt/format.h>

namespace agentd::ctl {

std::string ApiAnswer::error() const {
    if (body.is_object() && body.contains("error") && body["error"].is_string()) {
        return body["error"].get<std::string>();
    }
    return fmt::format("agentd answered HTTP {}", status);
}

ApiClient::ApiClient(sys::HttpClient& http, std::string socket)
    : m_http(http), m_socket(std::move(socket)) {}

sys::Result<ApiAnswer> ApiClient::get(const std::string& path, sys::Duration timeout) {
    sys::HttpRequest request;
    request.method = "GET";
    request.url = "http://localhost" + path;
    request.timeout = timeout;
    return send(std::move(request));
}

sys::Result<ApiAnswer> ApiClient::post(const std::string& path, const nlohmann::json& body,
                                       sys::Duration timeout) {
    sys::HttpRequest request;
    request.method = "POST";
    request.url = "http://localhost" + path;
    request.body = body.dump();
    request.headers.emplace_back("Content-Type", "application/json");
    request.timeout = timeout;
    return send(std::move(request));
}

sys::Result<ApiAnswer> ApiClient::stream(const std::string& path,
                                         const std::function<bool(const nlohmann::json&)>& on_line,
                                         std::function<bool()> cancelled) {
    sys::HttpRequest request;
    request.method = "GET";
    request.url = "http://localhost" + path;
    request.unix_socket = m_socket;
    request.timeout = sys::Duration::zero();  // none: curl waits for as long as it lasts
    request.cancelled = std::move(cancelled);
    std::string pending;
    nlohmann::json other = nlohmann::json::object();  // an answer that is not a stream
    bool stopped = false;
    request.on_body = [&](std::string_view chunk) {
        pending.append(chunk);
        std::size_t newline;
        while ((newline = pending.find('\n')) != std::string::npos) {
            auto doc = nlohmann::json::parse(pending.substr(0, newline), nullptr, false);
            pending.erase(0, newline + 1);
            if (!doc.is_object()) {
                continue;
            }
            if (!doc.contains("type")) {
                other = std::move(doc);
                continue;
            }
            if (!on_line(doc)) {
                stopped = true;
                return false;
            }
        }
        return pending.size() < 1024 * 1024;  // a line that never ends is not our API
    };
    auto response = m_http.send(request);
    if (stopped) {
        return ApiAnswer{200, nlohmann::json::object()};
    }
    if (!response) {
        return sys::Error::failed(response.error().message);
    }
    return ApiAnswer{response->status, std::move(other)};
}

sys::Result<ApiAnswer> ApiClient::send(sys::HttpRequest request) {
    request.unix_socket = m_socket;
    auto response = m_http.send(request);
    if (!response) {
        return sys::Error::failed(response.error().message);
    }
    ApiAnswer answer;
    answer.status = response->status;
    answer.body = nlohmann::json::parse(response->body, nullptr, false);
    if (answer.body.is_discarded()) {
        return sys::Error::invalid(
            fmt::format("agentd answered HTTP {} without a JSON document", answer.status));
    }
    return answer;
}

}  // namespace agentd::ctl
