#include "agent/webhook/event.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "agent/sources/image_ref.h"
#include "agent/sys/quote.h"
#include "agent/webhook/git_url.h"
#include "agent/webhook/payload.h"
#include "agent/webhook/text.h"

namespace agentd::webhook {

namespace {

constexpr std::size_t k_max_event_name = 64;
constexpr std::size_t k_max_ref = 1024;
constexpr std::size_t k_max_name = 256;

using Json = nlohmann::json;

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// Letters, digits and " _.-": every event name the forges send ("push", "Tag Push Hook").
bool valid_event_name(std::string_view name) {
    if (name.empty() || name.size() > k_max_event_name) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ' ' || c == '_' || c == '.' || c == '-';
    });
}

bool valid_delivery_id(std::string_view id) {
    if (id.empty() || id.size() > k_max_delivery_id) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == '_' || c == ':';
    });
}

// Adds each string found at `paths` to `urls`, once.
sys::Result<void> collect_urls(const Json& body, std::initializer_list<std::string_view> paths,
                               std::vector<std::string>& urls) {
    for (const std::string_view path : paths) {
        auto url = optional_string(body, path, k_max_url);
        if (!url) {
            return url.error();
        }
        if (*url && !(*url)->empty() && std::find(urls.begin(), urls.end(), **url) == urls.end()) {
            urls.push_back(std::move(**url));
        }
    }
    return {};
}

sys::Result<std::string> required_string(const Json& body, std::string_view path,
                                         std::size_t max_size) {
    auto value = optional_string(body, path, max_size);
    if (!value) {
        return value.error();
    }
    if (!*value || (*value)->empty()) {
        return sys::Error::invalid(fmt::format("{} is missing", path));
    }
    return std::move(**value);
}

// A push's ref, and whether it deleted it.
sys::Result<void> read_push(const Json& body, Event& event) {
    auto ref = required_string(body, "ref", k_max_ref);
    if (!ref) {
        return ref.error();
    }
    event.ref = std::move(*ref);
    event.kind = starts_with(event.ref, k_tags) ? EventKind::TagPush : EventKind::Push;
    auto deleted = optional_bool(body, "deleted");
    if (!deleted) {
        return deleted.error();
    }
    // GitLab says a deletion by an all-zero "after" commit id.
    auto after = optional_string(body, "after", k_max_name);
    if (!after) {
        return after.error();
    }
    const bool zero_after =
        *after && !(*after)->empty() && (*after)->find_first_not_of('0') == std::string::npos;
    event.deleted = *deleted || zero_after;
    return {};
}

// GitHub's and Gitea's create event: a short ref name and its type.
sys::Result<void> read_create(const Json& body, Event& event) {
    auto ref = required_string(body, "ref", k_max_ref);
    if (!ref) {
        return ref.error();
    }
    auto type = required_string(body, "ref_type", k_max_name);
    if (!type) {
        return type.error();
    }
    if (*type == "tag") {
        event.ref = std::string(k_tags) + *ref;
    } else if (*type == "branch") {
        event.ref = std::string(k_heads) + *ref;
    } else {
        return sys::Error::invalid("ref_type is neither \"branch\" nor \"tag\"");
    }
    event.kind = EventKind::Create;
    return {};
}

// "ghcr.io/Acme/Web:1.0" -> "ghcr.io/acme/web" when it is an image name Docker accepts. The tag
// or digest is dropped first, whatever it is (GitHub writes "ghcr.io/acme/web:" for an untagged
// version).
std::optional<std::string> image_repository(std::string_view text) {
    text = text.substr(0, text.find('@'));
    const std::size_t slash = text.rfind('/');
    if (const std::size_t colon = text.rfind(':');
        colon != std::string_view::npos && slash != std::string_view::npos && colon > slash) {
        text = text.substr(0, colon);
    }
    auto ref = sources::ImageRef::parse(ascii_lower(text));
    if (!ref) {
        return std::nullopt;
    }
    return ref->familiar_name();
}

void add_image(std::vector<std::string>& images, std::optional<std::string> image) {
    if (image && std::find(images.begin(), images.end(), *image) == images.end()) {
        images.push_back(std::move(*image));
    }
}

bool names_container(const std::optional<std::string>& type) {
    if (!type) {
        return false;
    }
    const std::string lower = ascii_lower(*type);
    return lower == "container" || lower == "docker";
}

// GitHub's package and registry_package events, under the key named like the event.
sys::Result<void> read_github_package(const Json& body, const std::string& key, Event& event) {
    event.kind = EventKind::Package;
    auto package = member(body, key);
    if (!package) {
        return package.error();
    }
    if (*package == nullptr) {
        return sys::Error::invalid(fmt::format("{} is missing", key));
    }
    if (!(*package)->is_object()) {
        return sys::Error::invalid(fmt::format("{} is not an object", key));
    }
    const auto field = [&](std::string_view path, std::size_t max_size) {
        return optional_string(body, fmt::format("{}.{}", key, path), max_size);
    };
    auto package_type = field("package_type", k_max_name);
    auto ecosystem = field("ecosystem", k_max_name);
    auto registry_type = field("registry.type", k_max_name);
    auto name = field("name", k_max_name);
    auto owner = field("owner.login", k_max_name);
    auto space = field("namespace", k_max_name);
    auto package_url = field("package_version.package_url", k_max_url);
    for (const auto* read :
         {&package_type, &ecosystem, &registry_type, &name, &owner, &space, &package_url}) {
        if (!*read) {
            return read->error();
        }
    }
    if (!names_container(*package_type) && !names_container(*ecosystem) &&
        !names_container(*registry_type)) {
        return {};  // an npm, Maven, ... package: no image
    }
    // package_url names the registry host too (GitHub Enterprise Server's is not ghcr.io); the
    // owner's and namespace's spellings are for payloads that leave it out.
    if (*package_url) {
        add_image(event.images, image_repository(**package_url));
    }
    if (*name) {
        if (*owner) {
            add_image(event.images,
                      image_repository(fmt::format("ghcr.io/{}/{}", **owner, **name)));
        }
        if (*space) {
            add_image(event.images,
                      image_repository(fmt::format("ghcr.io/{}/{}", **space, **name)));
        }
    }
    return {};
}

// "https://git.example.com:3000/acme/-/packages/..." -> "git.example.com:3000".
std::optional<std::string_view> url_host(std::string_view url) {
    const std::size_t sep = url.find("://");
    if (sep == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view authority = url.substr(sep + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    if (authority.empty()) {
        return std::nullopt;
    }
    return authority;
}

// Gitea's package event: its container registry is served at the root of the instance's host.
sys::Result<void> read_gitea_package(const Json& body, Event& event) {
    event.kind = EventKind::Package;
    auto type = optional_string(body, "package.type", k_max_name);
    auto name = optional_string(body, "package.name", k_max_name);
    auto owner = optional_string(body, "package.owner.login", k_max_name);
    auto html_url = optional_string(body, "package.html_url", k_max_url);
    for (const auto* read : {&type, &name, &owner, &html_url}) {
        if (!*read) {
            return read->error();
        }
    }
    if (!names_container(*type) || !*name || !*owner || !*html_url) {
        return {};
    }
    if (const auto host = url_host(**html_url)) {
        add_image(event.images, image_repository(fmt::format("{}/{}/{}", *host, **owner, **name)));
    }
    return {};
}

sys::Result<void> read_github_like(Provider provider, const Json& body, Event& event) {
    const auto& name = event.name;
    const auto repository_urls = [&]() -> sys::Result<void> {
        if (provider == Provider::GitHub) {
            return collect_urls(body,
                                {"repository.clone_url", "repository.ssh_url", "repository.git_url",
                                 "repository.html_url", "repository.svn_url"},
                                event.repository_urls);
        }
        return collect_urls(body,
                            {"repository.clone_url", "repository.ssh_url", "repository.html_url"},
                            event.repository_urls);
    };
    if (name == "push" || name == "create" || name == "ping") {
        auto read = name == "push"     ? read_push(body, event)
                    : name == "create" ? read_create(body, event)
                                       : sys::Result<void>();
        if (!read) {
            return read;
        }
        if (name == "ping") {
            event.kind = EventKind::Ping;
        }
        return repository_urls();
    }
    if (provider == Provider::GitHub && (name == "package" || name == "registry_package")) {
        return read_github_package(body, name, event);
    }
    if (provider == Provider::Gitea && name == "package") {
        return read_gitea_package(body, event);
    }
    return {};
}

sys::Result<void> read_gitlab(const Json& body, Event& event) {
    std::string kind = event.name;
    if (kind == "System Hook") {
        // A system hook says what happened in the body.
        auto event_name = optional_string(body, "event_name", k_max_event_name);
        if (!event_name) {
            return event_name.error();
        }
        kind = event_name->value_or("");
        kind = kind == "push" ? "Push Hook" : kind == "tag_push" ? "Tag Push Hook" : kind;
    }
    if (kind != "Push Hook" && kind != "Tag Push Hook") {
        return {};
    }
    if (auto read = read_push(body, event); !read) {
        return read;
    }
    return collect_urls(
        body,
        {"project.git_http_url", "project.git_ssh_url", "project.web_url", "project.http_url",
         "project.ssh_url", "repository.url", "repository.git_http_url", "repository.git_ssh_url",
         "repository.homepage"},
        event.repository_urls);
}

}  // namespace

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::Push:
            return "push";
        case EventKind::TagPush:
            return "tag_push";
        case EventKind::Create:
            return "create";
        case EventKind::Package:
            return "package";
        case EventKind::Ping:
            return "ping";
        case EventKind::Other:
            break;
    }
    return "other";
}

std::string summary(const Event& event) {
    std::string text = fmt::format("{} {} delivery {}", to_string(event.provider), event.name,
                                   event.delivery.empty() ? "-" : event.delivery);
    if (!event.ref.empty()) {
        text += fmt::format(" ref {}{}", sys::quoted(event.ref), event.deleted ? " deleted" : "");
    }
    if (!event.repository_urls.empty()) {
        text += fmt::format(" repository {}", sys::quoted(event.repository_urls.front()));
    }
    for (const std::string& image : event.images) {
        text += fmt::format(" image {}", sys::quoted(image));
    }
    return text;
}

sys::Result<Event> parse_event(Provider provider, const Headers& headers, std::string_view body) {
    Event event;
    event.provider = provider;
    const auto [event_header, name] = headers.first_of(event_headers(provider));
    if (name == nullptr) {
        return sys::Error::invalid(fmt::format("{} is missing", event_headers(provider).front()));
    }
    if (!valid_event_name(*name)) {
        return sys::Error::invalid(fmt::format("{} is not an event name", event_header));
    }
    event.name = *name;
    const auto [delivery_header, delivery] = headers.first_of(delivery_headers(provider));
    if (delivery != nullptr) {
        if (!valid_delivery_id(*delivery)) {
            return sys::Error::invalid(fmt::format("{} is not a delivery id", delivery_header));
        }
        event.delivery = *delivery;
    }
    auto body_json = parse_payload(body);
    if (!body_json) {
        return body_json.error();
    }
    auto read = provider == Provider::GitLab ? read_gitlab(*body_json, event)
                                             : read_github_like(provider, *body_json, event);
    if (!read) {
        return read.error();
    }
    return event;
}

}  // namespace agentd::webhook
