#include "agent/config/checks.h"

#include <algorithm>
#include <cctype>

#include "agent/config/config.h"

namespace agentd::config {

namespace {

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
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

bool valid_project_prefix(const std::string& prefix) {
    // A stack name's alphabet, so that prefix + name is still a compose project name.
    return prefix.empty() || (prefix.size() <= 31 && valid_stack_name(prefix));
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
