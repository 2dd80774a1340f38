#include "agent/sources/image_ref.h"

#include <fmt/format.h>

#include "agent/sys/quote.h"

namespace agentd::sources {

namespace {

constexpr std::string_view k_docker_hub_domain = "docker.io";
// Docker's NameTotalLengthMax: the whole name (domain and path) must fit.
constexpr std::size_t k_max_name_length = 255;
constexpr std::size_t k_max_tag_length = 128;
// A valid reference is at most 255 + 1 + 128 + 1 + 71 bytes: show one whole, cap anything else.
constexpr std::size_t k_max_shown_reference = 512;

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
bool is_word(char c) {
    return is_alnum(c) || c == '_';
}
bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool has_upper(std::string_view s) {
    for (char c : s) {
        if (c >= 'A' && c <= 'Z') {
            return true;
        }
    }
    return false;
}

// [a-z0-9]+ ([_.] | "__" | "-"+) [a-z0-9]+ ...
bool valid_path_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
        return false;
    }
    std::size_t i = 0;
    while (i < c.size()) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < c.size() && !is_lower_alnum(c[i])) {
            ++i;
        }
        const std::string_view sep = c.substr(start, i - start);
        const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
            return false;
        }
    }
    return true;
}

// ([a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) joined by '.'
bool valid_host_name(std::string_view host) {
    if (host.empty()) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        const std::string_view label = host.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) {
            return false;
        }
        for (char c : label) {
            if (!is_alnum(c) && c != '-') {
                return false;
            }
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

bool valid_port(std::string_view port) {
    if (port.empty() || port.size() > 5) {
        return false;
    }
    for (char c : port) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return true;
}

// host [":" port] where host may be "[IPv6]".
bool valid_domain(std::string_view domain) {
    std::string_view host = domain;
    std::string_view port;
    bool has_port = false;
    if (!domain.empty() && domain.front() == '[') {
        const std::size_t close = domain.find(']');
        if (close == std::string_view::npos || close < 3) {
            return false;
        }
        for (char c : domain.substr(1, close - 1)) {
            if (!is_hex(c) && !(c >= 'A' && c <= 'F') && c != ':' && c != '.') {
                return false;
            }
        }
        const std::string_view rest = domain.substr(close + 1);
        if (rest.empty()) {
            return true;
        }
        if (rest.front() != ':') {
            return false;
        }
        return valid_port(rest.substr(1));
    }
    if (const std::size_t colon = domain.find(':'); colon != std::string_view::npos) {
        host = domain.substr(0, colon);
        port = domain.substr(colon + 1);
        has_port = true;
    }
    return valid_host_name(host) && (!has_port || valid_port(port));
}

sys::Error invalid(std::string_view text, std::string_view why) {
    return sys::Error::invalid(fmt::format("invalid image reference {}: {}",
                                           sys::quoted(text, k_max_shown_reference), why));
}

}  // namespace

bool valid_digest(std::string_view digest) {
    constexpr std::string_view prefix = "sha256:";
    if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix) {
        return false;
    }
    for (char c : digest.substr(prefix.size())) {
        if (!is_hex(c)) {
            return false;
        }
    }
    return true;
}

bool valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > k_max_tag_length || !is_word(tag.front())) {
        return false;
    }
    for (char c : tag) {
        if (!is_word(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

bool valid_repository(std::string_view repository) {
    if (repository.empty()) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = repository.find('/', start);
        if (!valid_path_component(repository.substr(
                start, slash == std::string_view::npos ? std::string_view::npos : slash - start))) {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

sys::Result<ImageRef> ImageRef::parse(std::string_view text) {
    if (text.empty()) {
        return invalid(text, "empty reference");
    }
    ImageRef ref;
    std::string_view name = text;

    if (const std::size_t at = name.find('@'); at != std::string_view::npos) {
        const std::string_view digest = name.substr(at + 1);
        if (!valid_digest(digest)) {
            return invalid(text, "digest must be \"sha256:\" followed by 64 lower-case hex digits");
        }
        ref.digest = digest;
        name = name.substr(0, at);
    }

    // A ':' after the last '/' starts the tag; one before it belongs to the domain's port.
    const std::size_t last_slash = name.rfind('/');
    const std::size_t colon = name.rfind(':');
    if (colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash)) {
        const std::string_view tag = name.substr(colon + 1);
        if (!valid_tag(tag)) {
            return invalid(text, "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
        }
        ref.tag = tag;
        name = name.substr(0, colon);
    } else if (ref.digest.empty()) {
        ref.tag = "latest";
    }
    if (name.empty()) {
        return invalid(text, "missing repository name");
    }
    if (name.size() > k_max_name_length) {
        return invalid(text, fmt::format("name longer than {} characters", k_max_name_length));
    }

    // Docker's splitDockerDomain: the first component is a registry host only when it cannot be
    // a Hub user name.
    std::string_view domain = k_docker_hub_domain;
    std::string_view remainder = name;
    if (const std::size_t slash = name.find('/'); slash != std::string_view::npos) {
        const std::string_view first = name.substr(0, slash);
        if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
            has_upper(first)) {
            domain = first;
            remainder = name.substr(slash + 1);
        }
    }
    if (!valid_domain(domain)) {
        return invalid(text, fmt::format("invalid registry host {}", sys::quoted(domain)));
    }
    if (has_upper(remainder)) {
        return invalid(text, "repository name must be lower-case");
    }
    if (!valid_repository(remainder)) {
        return invalid(text,
                       "repository components must be lower-case letters and digits separated "
                       "by '.', '_', '__' or '-'");
    }
    if (domain == "index.docker.io" || domain == k_docker_hub_registry) {
        domain = k_docker_hub_domain;
    }
    if (domain == k_docker_hub_domain) {
        // A 64-hex name would be mistaken for an image ID, so Docker refuses it.
        if (remainder.size() == 64 &&
            remainder.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
            return invalid(text, "a repository name cannot be a 64-character hex string");
        }
        ref.registry = k_docker_hub_registry;
        ref.repository = remainder.find('/') == std::string_view::npos
                             ? fmt::format("library/{}", remainder)
                             : std::string(remainder);
    } else {
        ref.registry = domain;
        ref.repository = remainder;
    }
    return ref;
}

bool ImageRef::is_docker_hub() const {
    return registry == k_docker_hub_registry;
}

std::string ImageRef::familiar_name() const {
    if (!is_docker_hub()) {
        return fmt::format("{}/{}", registry, repository);
    }
    constexpr std::string_view library = "library/";
    if (repository.rfind(library, 0) == 0 &&
        repository.find('/', library.size()) == std::string::npos) {
        // A 64-hex short name would be refused as an image ID: keep "library/" then.
        const std::string_view name = std::string_view(repository).substr(library.size());
        const bool hex_id = name.size() == 64 &&
                            name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
        return hex_id ? repository : std::string(name);
    }
    // A first component parse() would read as a host ("evil.com/x", "localhost/x") keeps the
    // domain, so the name (and pinned(), which the Engine pulls) stays on Docker Hub.
    const std::string_view first = std::string_view(repository).substr(0, repository.find('/'));
    if (repository.find('/') != std::string::npos &&
        (first.find_first_of(".:") != std::string_view::npos || first == "localhost")) {
        return fmt::format("{}/{}", k_docker_hub_domain, repository);
    }
    return repository;
}

std::string ImageRef::pinned(const std::string& digest) const {
    return fmt::format("{}@{}", familiar_name(), digest);
}

std::string ImageRef::auth_host() const {
    return is_docker_hub() ? std::string(k_docker_hub_domain) : registry;
}

}  // namespace agentd::sources
