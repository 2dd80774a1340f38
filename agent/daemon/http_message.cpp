#include "agent/daemon/http_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace agentd::daemon {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

sys::Error bad(std::string message) {
    return sys::Error::invalid(std::move(message));
}

/// "a=1&b=2" into `query`.
sys::Result<void> parse_query(std::string_view text, std::map<std::string, std::string>& query) {
    while (!text.empty()) {
        const auto amp = text.find('&');
        const auto pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq));
        auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        if (!key || !value) {
            return bad("malformed query string");
        }
        query[*key] = std::move(*value);
    }
    return {};
}

/// Applies one "Name: value" header line to `out`.
sys::Result<void> apply_header(std::string_view line, HttpRequestHead& out) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        return bad("malformed header line");
    }
    const std::string name = lower(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
        std::size_t length = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
            return bad("malformed Content-Length");
        }
        out.content_length = length;
    } else if (name == "transfer-encoding" || name == "content-encoding") {
        return bad(fmt::format("{} is not supported: send the body with Content-Length", name));
    }
    return {};
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const int high = hex_digit(text[i + 1]);
        const int low = hex_digit(text[i + 2]);
        if (high < 0 || low < 0 || (high == 0 && low == 0)) {
            return std::nullopt;
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

sys::Result<HttpRequestHead> parse_request_head(std::string_view head) {
    HttpRequestHead out;
    auto line_end = head.find("\r\n");
    const std::string_view request_line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);

    // METHOD SP request-target SP HTTP-version
    const auto first_space = request_line.find(' ');
    const auto last_space = request_line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space) {
        return bad("malformed request line");
    }
    out.method = std::string(request_line.substr(0, first_space));
    const auto target = request_line.substr(first_space + 1, last_space - first_space - 1);
    const auto version = request_line.substr(last_space + 1);
    if (!is_token(out.method)) {
        return bad("malformed method");
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        return bad("only HTTP/1.0 and HTTP/1.1 are spoken here");
    }
    if (target.empty() || target.front() != '/' || target.find(' ') != std::string_view::npos) {
        return bad("malformed request target");
    }
    const auto question = target.find('?');
    auto path = percent_decode(target.substr(0, question));
    if (!path) {
        return bad("malformed request path");
    }
    out.path = std::move(*path);
    if (question != std::string_view::npos) {
        if (auto parsed = parse_query(target.substr(question + 1), out.query); !parsed) {
            return parsed.error();
        }
    }

    while (!head.empty()) {
        line_end = head.find("\r\n");
        const auto line = head.substr(0, line_end);
        head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
        if (line.empty()) {
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            return bad("folded header lines are not supported");
        }
        if (auto applied = apply_header(line, out); !applied) {
            return applied.error();
        }
    }
    return out;
}

std::string format_response(int status, std::string_view body) {
    const char* reason = "";
    switch (status) {
        case 200:
            reason = "OK";
            break;
        case 202:
            reason = "Accepted";
            break;
        case 400:
            reason = "Bad Request";
            break;
        case 404:
            reason = "Not Found";
            break;
        case 405:
            reason = "Method Not Allowed";
            break;
        case 408:
            reason = "Request Timeout";
            break;
        case 409:
            reason = "Conflict";
            break;
        case 413:
            reason = "Content Too Large";
            break;
        case 431:
            reason = "Request Header Fields Too Large";
            break;
        case 500:
            reason = "Internal Server Error";
            break;
        case 503:
            reason = "Service Unavailable";
            break;
        default:
            reason = "Status";
            break;
    }
    return fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        status, reason, body.size(), body);
}

}  // namespace agentd::daemon
