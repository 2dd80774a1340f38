#include "agent/webhook/git_url.h"

#include <array>

#include "agent/webhook/text.h"

namespace agentd::webhook {

namespace {

constexpr std::array<std::string_view, 7> k_schemes = {"https",   "http", "ssh", "git+ssh",
                                                       "ssh+git", "git",  "file"};

bool all_digits(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// "user:pass@host:port" -> "host"; nullopt for an empty host or a port that is not a number.
std::optional<std::string_view> host_of(std::string_view authority) {
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = authority.substr(0, close + 1);
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return std::nullopt;
            }
            port = rest.substr(1);
            if (!all_digits(port)) {
                return std::nullopt;
            }
        }
    } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (!all_digits(port)) {
            return std::nullopt;
        }
    }
    if (host.empty()) {
        return std::nullopt;
    }
    return host;
}

// The path without repeated, leading or trailing slashes and without one trailing ".git";
// empty when nothing is left.
std::string clean_path(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (const char c : path) {
        if (c == '/' && (out.empty() || out.back() == '/')) {
            continue;
        }
        out.push_back(c);
    }
    while (!out.empty() && out.back() == '/') {
        out.pop_back();
    }
    constexpr std::string_view suffix = ".git";
    if (out.size() >= suffix.size() &&
        ascii_lower(std::string_view(out).substr(out.size() - suffix.size())) == suffix) {
        out.resize(out.size() - suffix.size());
        while (!out.empty() && out.back() == '/') {
            out.pop_back();
        }
    }
    return out;
}

std::optional<std::string> key_of(std::string_view host, std::string_view path) {
    const std::string cleaned = clean_path(path);
    if (cleaned.empty()) {
        return std::nullopt;
    }
    return ascii_lower(host) + "/" + ascii_lower(cleaned);
}

std::optional<std::string> url_with_scheme(std::string_view scheme, std::string_view rest) {
    const std::string lower_scheme = ascii_lower(scheme);
    bool known = false;
    for (const std::string_view s : k_schemes) {
        known = known || s == lower_scheme;
    }
    if (!known) {
        return std::nullopt;
    }
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (lower_scheme != "file") {
        path = path.substr(0, path.find_first_of("?#"));
    }
    if (lower_scheme == "file" && authority.empty()) {
        return key_of("", path);  // file:///srv/git/x.git is the local path /srv/git/x.git
    }
    const auto host = host_of(authority);
    if (!host) {
        return std::nullopt;
    }
    if (lower_scheme == "file" && ascii_lower(*host) == "localhost") {
        return key_of("", path);
    }
    return key_of(*host, path);
}

}  // namespace

std::optional<std::string> git_url_key(std::string_view url) {
    if (url.empty() || url.size() > k_max_url) {
        return std::nullopt;
    }
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return std::nullopt;
        }
    }
    if (const std::size_t sep = url.find("://"); sep != std::string_view::npos) {
        return url_with_scheme(url.substr(0, sep), url.substr(sep + 3));
    }
    if (url.front() == '/') {
        return key_of("", url);
    }
    // scp-like: [user@]host:path, the ':' before any '/' (git's own rule).
    const std::size_t colon = url.find(':');
    const std::size_t slash = url.find('/');
    if (colon != std::string_view::npos && colon > 0 &&
        (slash == std::string_view::npos || colon < slash)) {
        std::string_view host = url.substr(0, colon);
        if (const std::size_t at = host.rfind('@'); at != std::string_view::npos) {
            host = host.substr(at + 1);
        }
        if (host.empty()) {
            return std::nullopt;
        }
        return key_of(host, url.substr(colon + 1));
    }
    return std::nullopt;
}

bool same_repository(std::string_view a, std::string_view b) {
    const auto key_a = git_url_key(a);
    return key_a && key_a == git_url_key(b);
}

}  // namespace agentd::webhook
