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
