#include "agent/sys/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace agentd::sys {

namespace {

/// "1"-"65535" in plain decimal (no sign, no leading zero).
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || text.front() == '0' ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (const char c : text) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

}  // namespace

std::optional<HostPort> split_host_port(std::string_view authority) {
    if (authority.find_first_of("@/?#") != std::string_view::npos) {
        return std::nullopt;
    }
    HostPort out;
    std::string_view port;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos || close == 1) {
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return std::nullopt;
            }
            port = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos) {
            return std::nullopt;  // an IPv6 literal must be bracketed to carry a port
        }
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            has_port = true;
        }
    }
    if (out.host.empty()) {
        return std::nullopt;
    }
    if (has_port) {
        out.port = parse_port(port);
        if (!out.port) {
            return std::nullopt;
        }
    }
    return out;
}

bool is_loopback_host(std::string_view host) {
    if (iequals(host, "localhost")) {
        return true;
    }
    // inet_pton needs a terminated string; an embedded NUL must not cut a name short.
    if (host.empty() || host.size() > 64 || host.find('\0') != std::string_view::npos) {
        return false;
    }
    const std::string text(host);
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
    }
    return false;
}

bool is_loopback_authority(std::string_view authority) {
    const auto parts = split_host_port(authority);
    return parts && is_loopback_host(parts->host);
}

}  // namespace agentd::sys
