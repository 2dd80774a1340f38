#include "agent/sys/http.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include "agent/sys/url.h"

namespace agentd::sys {

namespace {

constexpr std::size_t k_max_body = 64 * 1024 * 1024;
constexpr long k_max_redirects = 5;

/// One transfer: what libcurl's callbacks and options point to while its easy handle runs.
struct Transfer {
    const HttpRequest* request = nullptr;
    std::size_t index = 0;  ///< its place in the batch
    std::string host;       ///< request_host(*request)
    void* easy = nullptr;   ///< CURL*
    curl_slist* headers = nullptr;
    char error_buffer[CURL_ERROR_SIZE] = {0};
    HttpResponse response;
    bool aborted_by_caller = false;
    bool too_large = false;
};

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(first, last - first + 1));
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        // A new response starts (after a redirect or "100 Continue"): keep only its headers.
        transfer->response.headers.clear();
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        transfer->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                                trim(line.substr(colon + 1)));
    }
    return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* transfer = static_cast<Transfer*>(user);
    if (transfer->request->cancelled()) {
        transfer->aborted_by_caller = true;
        return 1;
    }
    return 0;
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::string_view chunk(data, size * count);
    if (transfer->request->on_body) {
        if (!transfer->request->on_body(chunk)) {
            transfer->aborted_by_caller = true;
            return 0;
        }
        return chunk.size();
    }
    const std::size_t limit = transfer->request->max_body != 0
                                  ? std::min(transfer->request->max_body, k_max_body)
                                  : k_max_body;
    if (transfer->response.body.size() + chunk.size() > limit) {
        transfer->too_large = true;
        return 0;
    }
    transfer->response.body.append(chunk);
    return chunk.size();
}

/// The URL without its query string or user info, for messages (neither belongs in a log).
std::string describe_url(const std::string& url) {
    std::string out = url.substr(0, url.find('?'));
    const auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const auto host_start = scheme_end + 3;
        const auto at = out.find('@', host_start);
        const auto slash = out.find('/', host_start);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            out.erase(host_start, at + 1 - host_start);
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key == name) {
            return value;
        }
    }
    return std::nullopt;
}

std::string request_host(const HttpRequest& request) {
    return request.unix_socket.empty() ? url_host(request.url) : request.unix_socket;
}

Duration longest_send_all(const std::vector<HttpRequest>& requests, const HostLimit& limit) {
    std::map<std::string, std::vector<Duration>> by_host;
    for (const auto& request : requests) {
        if (request.timeout == Duration::zero()) {
            return Duration::zero();
        }
        by_host[request_host(request)].push_back(request.timeout);
    }
    Duration longest{};
    for (auto& [host, timeouts] : by_host) {
        const std::size_t wave = std::max<std::size_t>(1, limit ? limit(host) : 1);
        // Longest first: a wave takes as long as its longest request.
        std::sort(timeouts.begin(), timeouts.end(), std::greater<>());
        Duration total{};
        for (std::size_t i = 0; i < timeouts.size(); i += wave) {
            total += timeouts[i];
        }
        longest = std::max(longest, total);
    }
    return longest;
}

std::vector<Result<HttpResponse>> HttpClient::send_all(const std::vector<HttpRequest>& requests,
                                                       const HostLimit&) {
    std::vector<Result<HttpResponse>> results;
    results.reserve(requests.size());
    for (const auto& request : requests) {
        results.push_back(send(request));
    }
    return results;
}

namespace {

// Idle connections kept for later requests: enough for a batch's connections to every host.
constexpr long k_max_cached_connections = 64;

/// Sets every option of `t`'s request on its easy handle (which was reset).
void configure(Transfer& t) {
    auto* curl = static_cast<CURL*>(t.easy);
    const HttpRequest& request = *t.request;
    curl_easy_setopt(curl, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t.error_buffer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, k_max_redirects);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    // Requests of a batch to one HTTP/2 server wait for its first connection and share it as
    // streams, instead of each opening its own.
    curl_easy_setopt(curl, CURLOPT_PIPEWAIT, 1L);
    if (!request.ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
    }
    if (!request.cert_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, request.cert_file.c_str());
        curl_easy_setopt(curl, CURLOPT_SSLKEY, request.key_file.c_str());
    }
    if (!request.unix_socket.empty()) {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
    }
    if (request.cancelled) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }

    if (request.method == "HEAD") {
        // A HEAD answer announces a Content-Length but has no body: do not wait for one.
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET" && request.body.empty()) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
        if (request.method != "POST") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        }
        if (request.method == "POST" || !request.body.empty()) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request.body.size()));
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        }
    }

    for (const auto& [name, value] : request.headers) {
        t.headers = curl_slist_append(t.headers, fmt::format("{}: {}", name, value).c_str());
    }
    // No "Expect: 100-continue" round trip for bodies: every server here answers directly.
    t.headers = curl_slist_append(t.headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t.headers);
}

/// What the finished transfer `t` amounts to.
Result<HttpResponse> outcome(Transfer& t, CURLcode code) {
    const HttpRequest& request = *t.request;
    const std::string what = fmt::format("{} {}", request.method, describe_url(request.url));
    if (code != CURLE_OK) {
        if (t.aborted_by_caller) {
            return Error::failed(fmt::format("{}: transfer aborted", what));
        }
        if (t.too_large) {
            return Error::failed(fmt::format(
                "{}: response body larger than {} bytes", what,
                request.max_body != 0 ? std::min(request.max_body, k_max_body) : k_max_body));
        }
        const std::string detail =
            t.error_buffer[0] != '\0' ? t.error_buffer : curl_easy_strerror(code);
        return Error::failed(fmt::format("{}: {}", what, detail));
    }
    curl_easy_getinfo(static_cast<CURL*>(t.easy), CURLINFO_RESPONSE_CODE, &t.response.status);
    return std::move(t.response);
}

}  // namespace

CurlHttpClient::CurlHttpClient() {
    static std::once_flag global_init;
    std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    CURLM* multi = curl_multi_init();
    if (multi != nullptr) {
        curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, k_max_cached_connections);
    }
    m_multi = multi;
}

CurlHttpClient::~CurlHttpClient() {
    for (void* easy : m_idle) {
        curl_easy_cleanup(static_cast<CURL*>(easy));
    }
    curl_multi_cleanup(static_cast<CURLM*>(m_multi));
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
    return std::move(send_all({request}, [](std::string_view) { return std::size_t{1}; }).front());
}

std::vector<Result<HttpResponse>> CurlHttpClient::send_all(const std::vector<HttpRequest>& requests,
                                                           const HostLimit& limit) {
    auto* multi = static_cast<CURLM*>(m_multi);
    std::vector<std::optional<Result<HttpResponse>>> results(requests.size());
    std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
    std::map<std::string, std::deque<std::size_t>> waiting;  // by host, in request order
    std::map<std::string, std::size_t> in_flight;
    std::size_t active = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        waiting[request_host(requests[i])].push_back(i);
    }
    const auto fail = [&](std::size_t i, std::string_view why) {
        results[i] = Error::failed(
            fmt::format("{} {}: {}", requests[i].method, describe_url(requests[i].url), why));
    };
    // Starts the host's next requests while it has fewer than its limit in flight.
    const auto start = [&](const std::string& host) {
        auto& queue = waiting[host];
        const std::size_t bound = std::max<std::size_t>(1, limit ? limit(host) : 1);
        while (!queue.empty() && in_flight[host] < bound) {
            const std::size_t i = queue.front();
            queue.pop_front();
            CURL* easy = nullptr;
            if (!m_idle.empty()) {
                easy = static_cast<CURL*>(m_idle.back());
                m_idle.pop_back();
                curl_easy_reset(easy);  // the options of its last request, not the connections
            } else {
                easy = curl_easy_init();
            }
            if (multi == nullptr || easy == nullptr) {
                curl_easy_cleanup(easy);
                fail(i, "libcurl could not be initialised");
                continue;
            }
            auto t = std::make_unique<Transfer>();
            t->request = &requests[i];
            t->index = i;
            t->host = host;
            t->easy = easy;
            configure(*t);
            if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
                curl_slist_free_all(t->headers);
                curl_easy_cleanup(easy);
                fail(i, "libcurl could not start the transfer");
                continue;
            }
            ++in_flight[host];
            ++active;
            transfers[i] = std::move(t);
        }
    };
    // Takes a transfer's handle out of the multi handle for the next request; the options that
    // point into the request and the transfer go with it.
    const auto release = [&](Transfer& t) {
        auto* easy = static_cast<CURL*>(t.easy);
        curl_multi_remove_handle(multi, easy);
        curl_slist_free_all(t.headers);
        t.headers = nullptr;
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
        m_idle.push_back(easy);
    };
    for (const auto& [host, queue] : waiting) {
        start(host);
    }
    while (active > 0) {
        int running = 0;
        if (const CURLMcode code = curl_multi_perform(multi, &running); code != CURLM_OK) {
            for (auto& t : transfers) {
                if (t && !results[t->index]) {
                    release(*t);
                    fail(t->index, curl_multi_strerror(code));
                }
            }
            break;
        }
        int left = 0;
        while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
            if (message->msg != CURLMSG_DONE) {
                continue;
            }
            const CURLcode code = message->data.result;
            CURL* easy = message->easy_handle;
            Transfer* t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
            results[t->index] = outcome(*t, code);
            release(*t);
            --in_flight[t->host];
            --active;
            start(t->host);
        }
        if (active > 0) {
            curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
        }
    }
    std::vector<Result<HttpResponse>> out;
    out.reserve(results.size());
    for (auto& result : results) {
        out.push_back(result ? std::move(*result) : Error::failed("request not sent"));
    }
    return out;
}

}  // namespace agentd::sys
