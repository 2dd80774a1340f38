#pragma once
// A small HTTP client over libcurl: TCP (TLS verified by default) or a unix socket.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::sys {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string unix_socket;  ///< non-empty: connect to this AF_UNIX socket instead of TCP
    std::string ca_file;      ///< extra CA bundle for TLS verification
    std::string cert_file;    ///< client certificate (PEM) for mutual TLS
    std::string key_file;     ///< its private key (PEM)
    Duration timeout = std::chrono::seconds(30);  ///< zero: none (a stream followed until it ends)
    /// A collected body larger than this many bytes is an error (0: the client's own bound).
    std::size_t max_body = 0;
    /// When set, the body is streamed here chunk by chunk instead of collected; return false
    /// to abort the transfer.
    std::function<bool(std::string_view)> on_body;
    /// When set, asked while the transfer runs (at least about once a second, also while
    /// nothing arrives): true aborts it, as an error.
    std::function<bool()> cancelled;
};

struct HttpResponse {
    long status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;
    /// First header with this (lower-case) name.
    std::optional<std::string> header(std::string_view name) const;
};

/// How many requests of one send_all may be in flight to `host` at a time ("host[:port]" of
/// the URL, or the unix socket's path); at least 1.
using HostLimit = std::function<std::size_t(std::string_view host)>;

/// The host a request goes to, as HostLimit names it.
std::string request_host(const HttpRequest& request);

/// The longest send_all of `requests` may take: each host's requests in waves of limit(host),
/// each wave as long as its longest timeout, the hosts side by side. Zero when a request has
/// no timeout.
Duration longest_send_all(const std::vector<HttpRequest>& requests, const HostLimit& limit);

class HttpClient {
public:
    virtual ~HttpClient() = default;
    /// Performs the request. An error means no HTTP answer (connection, TLS, timeout);
    /// any HTTP status, 4xx and 5xx included, is a response.
    virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
    /// Performs every request, several at a time where the client can (never more than
    /// `limit(host)` in flight to one host), and returns their results in the order of
    /// `requests`, each as send would. This default sends them one after another.
    virtual std::vector<Result<HttpResponse>> send_all(const std::vector<HttpRequest>& requests,
                                                       const HostLimit& limit);
};

/// libcurl's multi interface: one connection cache for every request of the client
/// (connections are kept alive, HTTP/2 streams multiplexed on one connection where the server
/// speaks it), and send_all's requests run concurrently; one client per thread. TLS peer and
/// host verification are always on; redirects are followed (at most 5, http and https only;
/// curl drops Authorization when the host changes). A collected body larger than 64 MiB is an
/// error: stream big bodies with on_body.
class CurlHttpClient final : public HttpClient {
public:
    CurlHttpClient();
    ~CurlHttpClient() override;
    CurlHttpClient(const CurlHttpClient&) = delete;
    CurlHttpClient& operator=(const CurlHttpClient&) = delete;
    Result<HttpResponse> send(const HttpRequest& request) override;
    std::vector<Result<HttpResponse>> send_all(const std::vector<HttpRequest>& requests,
                                               const HostLimit& limit) override;

private:
    void* m_multi;              // CURLM*, whose connection cache outlives each call
    std::vector<void*> m_idle;  // CURL* handles of finished transfers, reused
};

}  // namespace agentd::sys
