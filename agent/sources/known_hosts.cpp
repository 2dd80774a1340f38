#include "agent/sources/known_hosts.h"

#include "agent/sys/base64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include <fmt/format.h>

namespace agentd::sources {
namespace {

bool decode(std::string_view text, std::string& out) {
    auto decoded = sys::base64_decode(text);
    if (decoded) {
        out = std::move(*decoded);
    }
    return decoded.has_value();
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto end = text.find(sep, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

/// Whitespace-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const auto start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

/// OpenSSH's wildcard match: `*` any run, `?` one character; host names compare
/// case-insensitively.
bool wildcard_match(std::string_view pattern, std::string_view name) {
    if (pattern.empty()) {
        return name.empty();
    }
    if (pattern[0] == '*') {
        for (std::size_t i = 0; i <= name.size(); ++i) {
            if (wildcard_match(pattern.substr(1), name.substr(i))) {
                return true;
            }
        }
        return false;
    }
    if (name.empty()) {
        return false;
    }
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (pattern[0] != '?' && lower(pattern[0]) != lower(name[0])) {
        return false;
    }
    return wildcard_match(pattern.substr(1), name.substr(1));
}

/// "|1|base64(salt)|base64(hmac_sha1(salt, name))", as written by `ssh-keygen -H`.
bool hashed_match(std::string_view pattern, const std::string& name) {
    const auto parts = split(pattern.substr(3), '|');
    std::string salt;
    std::string expected;
    if (parts.size() != 2 || !decode(parts[0], salt) || !decode(parts[1], expected)) {
        return false;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest, &length);
    return expected == std::string_view(reinterpret_cast<const char*>(digest), length);
}

enum class HostMatch { No, Yes, Negated };

HostMatch match_hosts(std::string_view patterns, const std::string& name) {
    if (patterns.rfind("|1|", 0) == 0) {
        return hashed_match(patterns, name) ? HostMatch::Yes : HostMatch::No;
    }
    HostMatch result = HostMatch::No;
    for (auto pattern : split(patterns, ',')) {
        const bool negated = !pattern.empty() && pattern[0] == '!';
        if (negated) {
            pattern.remove_prefix(1);
        }
        if (wildcard_match(pattern, name)) {
            if (negated) {
                return HostMatch::Negated;  // a negated match wins over the whole line
            }
            result = HostMatch::Yes;
        }
    }
    return result;
}

}  // namespace

HostKeyStatus check_known_host(std::string_view known_hosts, const std::string& host, int port,
                               std::string_view key_blob) {
    const std::string name = port == 22 ? host : fmt::format("[{}]:{}", host, port);
    bool host_known = false;
    bool key_matched = false;
    for (auto line : split(known_hosts, '\n')) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        auto f = fields(line);
        if (f.empty() || f[0][0] == '#') {
            continue;
        }
        bool revoked = false;
        if (f[0][0] == '@') {
            if (f[0] != "@revoked") {
                continue;  // @cert-authority: host certificates are not supported
            }
            revoked = true;
            f.erase(f.begin());
        }
        if (f.size() < 3 || match_hosts(f[0], name) != HostMatch::Yes) {
            continue;
        }
        std::string key;
        if (!decode(f[2], key)) {
            continue;
        }
        if (revoked) {
            if (key == key_blob) {
                return HostKeyStatus::Mismatch;
            }
            continue;
        }
        host_known = true;
        key_matched = key_matched || key == key_blob;
    }
    if (key_matched) {
        return HostKeyStatus::Match;
    }
    return host_known ? HostKeyStatus::Mismatch : HostKeyStatus::Unknown;
}

}  // namespace agentd::sources
