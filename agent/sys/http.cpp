#include "agent/sys/http.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace agentd::sys {

namespace {

constexpr std::size_t k_max_body = 64 * 1024 * 1024;
constexpr long k_max_redirects = 5;

/// State shared with libcurl's callbacks during one transfer.
struct Transfer {
    const HttpRequest* request;
    HttpResponse* response;
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
        transfer->response->headers.clear();
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        transfer->response->headers.emplace_back(lower(trim(line.substr(0, colon))),
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
    if (transfer->response->body.size() + chunk.size() > limit) {
        transfer->too_large = true;
        return 0;
    }
    transfer->response->body.append(chunk);
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

CurlHttpClient::CurlHttpClient() {
    static std::once_flag global_init;
    std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    m_curl = curl_easy_init();
}

CurlHttpClient::~CurlHttpClient() {
    curl_easy_cleanup(static_cast<CURL*>(m_curl));
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
    auto* curl = static_cast<CURL*>(m_curl);
    const std::string what = fmt::format("{} {}", request.method, describe_url(request.url));
    if (curl == nullptr) {
        return Error::failed(fmt::format("{}: libcurl could not be initialised", what));
    }
    // reset() clears the options of the previous request but keeps the connection cache.
    curl_easy_reset(curl);

    HttpResponse response;
    Transfer transfer{&request, &response};
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, k_max_redirects);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
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
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
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

    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
        headers = curl_slist_append(headers, fmt::format("{}: {}", name, value).c_str());
    }
    // No "Expect: 100-continue" round trip for bodies: every server here answers directly.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    // The options point into `request` and this frame: drop them before returning.
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);

    if (code != CURLE_OK) {
        if (transfer.aborted_by_caller) {
            return Error::failed(fmt::format("{}: transfer aborted", what));
        }
        if (transfer.too_large) {
            return Error::failed(fmt::format(
                "{}: response body larger than {} bytes", what,
                request.max_body != 0 ? std::min(request.max_body, k_max_body) : k_max_body));
        }
        const std::string detail =
            error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        return Error::failed(fmt::format("{}: {}", what, detail));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

}  // namespace agentd::sys
