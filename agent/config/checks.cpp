#include "agent/config/checks.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "agent/config/config.h"

namespace agentd::config {

namespace {

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// An optional ":port" after a host; true when `rest` is empty or ":<1-65535>".
bool is_port_suffix(std::string_view rest) {
    if (rest.empty()) {
        return true;
    }
    if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) {
        return false;
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), port);
    return ec == std::errc() && end == rest.data() + rest.size() && port >= 1 && port <= 65535;
}

// "127.a.b.c" with every part a decimal 0-255.
bool is_loopback_ipv4(std::string_view ip) {
    int parts = 0;
    std::size_t pos = 0;
    while (pos <= ip.size()) {
        const std::size_t dot = std::min(ip.find('.', pos), ip.size());
        const auto part = ip.substr(pos, dot - pos);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || part.size() > 3 || ec != std::errc() ||
            end != part.data() + part.size() || value > 255 || (parts == 0 && value != 127)) {
            return false;
        }
        ++parts;
        pos = dot + 1;
    }
    return parts == 4;
}

}  // namespace

bool valid_stack_name(const std::string& name) {
    if (name.empty() || name.size() > 63) {
        return false;
    }
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_or_digit(name[0])) {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(),
                       [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

std::optional<std::string> branch_name_problem(std::string_view name) {
    if (name.empty()) {
        return "it is empty";
    }
    if (name == "@") {
        return "\"@\" is reserved";
    }
    if (name[0] == '-') {
        return "it starts with \"-\"";
    }
    if (name[0] == '/' || name.back() == '/') {
        return "it starts or ends with \"/\"";
    }
    if (name.back() == '.') {
        return "it ends with \".\"";
    }
    for (const unsigned char c : name) {
        if (is_control(c)) {
            return "it contains a control character";
        }
        if (c == ' ') {
            return "it contains a space";
        }
        if (std::string_view("~^:?*[\\").find(static_cast<char>(c)) != std::string_view::npos) {
            return std::string("it contains \"") + static_cast<char>(c) + "\"";
        }
    }
    for (const std::string_view bad : {"..", "@{", "//"}) {
        if (name.find(bad) != std::string_view::npos) {
            return "it contains \"" + std::string(bad) + "\"";
        }
    }
    std::size_t pos = 0;
    while (pos < name.size()) {
        const std::size_t slash = std::min(name.find('/', pos), name.size());
        const auto component = name.substr(pos, slash - pos);
        if (component.starts_with('.')) {
            return "a component starts with \".\"";
        }
        if (component.ends_with(".lock")) {
            return "a component ends with \".lock\"";
        }
        pos = slash + 1;
    }
    return std::nullopt;
}

bool is_relative_inside(std::string_view path) {
    if (path.starts_with('/')) {
        return false;
    }
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t slash = std::min(path.find('/', pos), path.size());
        if (path.substr(pos, slash - pos) == "..") {
            return false;
        }
        pos = slash + 1;
    }
    return true;
}

bool is_loopback_host(std::string_view host) {
    if (host.starts_with("[::1]")) {
        return is_port_suffix(host.substr(5));
    }
    const std::size_t colon = host.find(':');
    const auto name = host.substr(0, colon);
    const auto port = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
    if (!is_port_suffix(port)) {
        return false;
    }
    std::string lowered(name);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lowered == "localhost" || is_loopback_ipv4(lowered);
}

std::optional<std::string> registry_host_problem(std::string_view host) {
    if (host.empty()) {
        return "it is empty";
    }
    if (host.find("://") != std::string_view::npos) {
        return "it has a scheme; write only the host, like \"ghcr.io\" or \"127.0.0.1:5000\"";
    }
    if (host.find('/') != std::string_view::npos) {
        return "it has a path; write only the host, like \"ghcr.io\" or \"127.0.0.1:5000\"";
    }
    for (const unsigned char c : host) {
        if (is_control(c) || c == ' ' || c == '@') {
            return "it contains a space, \"@\" or a control character";
        }
    }
    return std::nullopt;
}

bool same_host(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace agentd::config
