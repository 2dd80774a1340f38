#include "agent/fleet/etcd_gateway.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "agent/fleet/etcd_messages.h"

namespace agentd::fleet {

using sys::Error;
using sys::Result;

namespace {

// A watch message is small (a few keys); a line this long is not etcd's.
constexpr std::size_t k_max_watch_line = 4 * 1024 * 1024;

std::string endpoint_list(const std::vector<std::string>& urls) {
    std::string list;
    for (const auto& url : urls) list += (list.empty() ? "" : ", ") + url;
    return list;
}

}  // namespace

EtcdGateway::EtcdGateway(EtcdEndpoints endpoints, std::unique_ptr<sys::HttpClient> http)
    : m_endpoints(std::move(endpoints)), m_http(std::move(http)) {}

sys::HttpRequest EtcdGateway::request_to(std::size_t endpoint, const std::string& path,
                                         const std::string& body) const {
    sys::HttpRequest request;
    request.method = "POST";
    auto base = m_endpoints.urls[endpoint];
    while (!base.empty() && base.back() == '/') base.pop_back();
    request.url = base + path;
    request.headers = {{"Content-Type", "application/json"}};
    if (!m_token.empty())
        request.headers.emplace_back("Authorization", m_token);
    request.body = body;
    request.ca_file = m_endpoints.ca_file;
    request.cert_file = m_endpoints.cert_file;
    request.key_file = m_endpoints.key_file;
    request.timeout = m_endpoints.timeout;
    return request;
}

Result<void> EtcdGateway::authenticate(std::size_t endpoint) {
    const auto body =
        nlohmann::json{{"name", m_endpoints.username}, {"password", m_endpoints.password}}.dump();
    m_token.clear();
    auto response = m_http->send(request_to(endpoint, "/v3/auth/authenticate", body));
    if (!response)
        return Error::unavailable("etcd " + m_endpoints.urls[endpoint] + ": " +
                                  response.error().message);
    if (response->status != 200)
        return gateway_error(response->status, response->body);
    auto token = parse_auth_token(response->body);
    if (!token)
        return token.error();
    m_token = std::move(*token);
    return {};
}

Result<std::string> EtcdGateway::call(const std::string& path, const std::string& body) {
    const auto count = m_endpoints.urls.size();
    if (count == 0)
        return Error::invalid("etcd: no endpoint configured");
    std::string last = "no answer";
    for (std::size_t attempt = 0; attempt < count; ++attempt) {
        const auto endpoint = (m_current + attempt) % count;
        for (int authenticated = 0; authenticated < 2; ++authenticated) {
            if (!m_endpoints.username.empty() && m_token.empty()) {
                if (auto done = authenticate(endpoint); !done) {
                    if (done.error().kind != Error::Kind::Unavailable)
                        return done.error();
                    last = done.error().message;
                    break;
                }
            }
            auto response = m_http->send(request_to(endpoint, path, body));
            if (!response) {
                last = m_endpoints.urls[endpoint] + ": " + response.error().message;
                break;
            }
            if (response->status == 200) {
                m_current = endpoint;
                return std::move(response->body);
            }
            auto error = gateway_error(response->status, response->body);
            if (error.kind == Error::Kind::Unauthorized && !m_endpoints.username.empty() &&
                authenticated == 0) {
                m_token.clear();  // expired or revoked: one new token, then the same request again
                continue;
            }
            if (error.kind == Error::Kind::Unavailable) {
                last = m_endpoints.urls[endpoint] + ": " + error.message;
                break;
            }
            m_current = endpoint;
            return error;
        }
    }
    return Error::unavailable("etcd cannot be reached (" + endpoint_list(m_endpoints.urls) +
                              "): " + last);
}

Result<Listing> EtcdGateway::list(const std::string& prefix) {
    auto body = call("/v3/kv/range", list_request(prefix));
    if (!body)
        return body.error();
    return parse_listing(*body);
}

Result<TxnResult> EtcdGateway::txn(const Txn& txn) {
    auto body = call("/v3/kv/txn", txn_request(txn));
    if (!body)
        return body.error();
    return parse_txn(*body);
}

Result<std::int64_t> EtcdGateway::grant_lease(sys::Duration ttl) {
    auto body = call("/v3/lease/grant", lease_grant_request(ttl));
    if (!body)
        return body.error();
    return parse_lease_grant(*body);
}

Result<sys::Duration> EtcdGateway::keep_alive(std::int64_t lease) {
    // The gateway answers a stream of keep-alives with one answer per request; one request, one
    // answer, then the stream ends.
    auto body = call("/v3/lease/keepalive", lease_request(lease));
    if (!body)
        return body.error();
    return parse_keep_alive(*body);
}

Result<void> EtcdGateway::revoke_lease(std::int64_t lease) {
    auto body = call("/v3/lease/revoke", lease_request(lease));
    if (!body && !body.error().is_not_found())
        return body.error();
    return {};
}

Result<void> EtcdGateway::watch(const std::string& prefix, std::int64_t from,
                                const std::function<bool(const WatchBatch&)>& on_batch,
                                const std::function<bool()>& cancelled) {
    const auto count = m_endpoints.urls.size();
    if (count == 0)
        return Error::invalid("etcd: no endpoint configured");
    if (!m_endpoints.username.empty() && m_token.empty()) {
        // A short call authenticates (on whichever endpoint answers) before the stream starts.
        if (auto probe = call("/v3/kv/range", list_request(prefix + "\xff")); !probe)
            return probe.error();
    }
    std::string last = "no answer";
    for (std::size_t attempt = 0; attempt < count; ++attempt) {
        const auto endpoint = (m_current + attempt) % count;
        auto request = request_to(endpoint, "/v3/watch", watch_request(prefix, from));
        request.timeout = sys::Duration::zero();
        std::string pending;
        std::optional<Error> failure;
        bool stopped = false;
        bool answered = false;
        request.on_body = [&](std::string_view chunk) {
            answered = true;
            pending.append(chunk);
            std::size_t newline = 0;
            while ((newline = pending.find('\n')) != std::string::npos) {
                const auto line = pending.substr(0, newline);
                pending.erase(0, newline + 1);
                if (line.find_first_not_of(" \r\t") == std::string::npos)
                    continue;
                auto message = parse_watch_message(line);
                if (!message) {
                    failure = message.error();
                    return false;
                }
                if (*message && !on_batch(**message)) {
                    stopped = true;
                    return false;
                }
            }
            if (pending.size() > k_max_watch_line) {
                failure = Error::failed("etcd's watch sent a message longer than 4 MiB");
                return false;
            }
            return true;
        };
        request.cancelled = [&] { return cancelled && cancelled(); };
        auto response = m_http->send(request);
        if (stopped)
            return {};
        if (failure)
            return *failure;
        if (cancelled && cancelled())
            return {};
        if (response && response->status != 200) {
            auto error = gateway_error(response->status, pending + response->body);
            if (error.kind != Error::Kind::Unavailable)
                return error;
            last = m_endpoints.urls[endpoint] + ": " + error.message;
            continue;
        }
        if (answered) {
            // The stream was up and broke (the member went away): the caller watches again.
            m_current = (endpoint + 1) % count;
            return Error::unavailable("etcd's watch on " + m_endpoints.urls[endpoint] + " ended" +
                                      (response ? std::string() : ": " + response.error().message));
        }
        last = m_endpoints.urls[endpoint] + ": " +
               (response ? "the watch ended at once" : response.error().message);
    }
    return Error::unavailable("etcd cannot be reached (" + endpoint_list(m_endpoints.urls) +
                              "): " + last);
}

}  // namespace agentd::fleet
