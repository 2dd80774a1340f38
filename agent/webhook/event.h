#pragma once
// A webhook delivery as one typed value: which forge, what happened, to which repository or
// image. Parsed from the event and delivery headers and the JSON body, without I/O, after the
// signature was checked (signature.h).
//
// What is read, per provider and event header value:
// - GitHub "push": Push (TagPush for a refs/tags/ ref), `ref`, `deleted`, and the repository's
//   clone_url, ssh_url, git_url, html_url and svn_url. "create": Create, the ref made full
//   (refs/heads/ or refs/tags/ by ref_type), the same URLs. "ping": Ping, the URLs if any.
//   "package" and "registry_package": Package; for a container package (package_type,
//   ecosystem or registry.type "container" or "docker", any case), the repository of
//   package_version.package_url (which names GitHub Enterprise's own registry host) and
//   ghcr.io/OWNER/NAME by owner.login and by namespace.
// - Gitea and Forgejo: "push", "create" as GitHub (URLs: clone_url, ssh_url, html_url);
//   "package" of type "container": HOST/OWNER/NAME, HOST taken from package.html_url (Gitea
//   serves its container registry at the root of its own host).
// - GitLab "Push Hook", "Tag Push Hook" ("System Hook": by the body's event_name): Push or
//   TagPush, `ref`, deleted when `after` is all zeros; URLs: project.git_http_url,
//   git_ssh_url, web_url, http_url, ssh_url and repository.url, git_http_url, git_ssh_url,
//   homepage.
// Any other event is `Other` and names nothing. Image repositories are lower case.

#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"
#include "agent/webhook/headers.h"
#include "agent/webhook/provider.h"

namespace agentd::webhook {

enum class EventKind { Push, TagPush, Create, Package, Ping, Other };

/// "push", "tag_push", "create", "package", "ping", "other".
std::string_view to_string(EventKind kind);

struct Event {
    Provider provider = Provider::GitHub;
    EventKind kind = EventKind::Other;
    std::string name;      ///< the event header's value as sent ("push", "Tag Push Hook")
    std::string delivery;  ///< the delivery id; empty when the request has none
    /// Every spelling of the repository the body gives, as written (git_url.h compares them).
    std::vector<std::string> repository_urls;
    /// "refs/heads/X" or "refs/tags/Y" (or another ref a push named); empty for events about
    /// no ref.
    std::string ref;
    bool deleted = false;  ///< a push that deleted `ref`
    /// Container image repositories a package event names, "ghcr.io/acme/web" (registry host
    /// and repository, lower case).
    std::vector<std::string> images;
};

/// One line for the log: provider, event, delivery id and what it names, every name from the
/// body quoted (sys::quoted), e.g. `github push delivery 72d3162e ref "refs/heads/main"
/// repository "https://github.com/acme/deploy.git"`. The first repository URL stands for all.
std::string summary(const Event& event);

/// The longest delivery id taken; ids are UUIDs (36 bytes) at every forge.
inline constexpr std::size_t k_max_delivery_id = 128;

/// Reads the event `provider` sent. InvalidInput naming the header or the field: the event
/// header missing or not a token; a delivery id longer than 128 bytes or with other characters
/// than letters, digits and ".-_:"; the body not a JSON object (payload.h); a field the event
/// needs missing (a push's `ref`), or any field read of the wrong type, too long or with control
/// characters. An event agentd does not act on is no error: kind `Other`.
sys::Result<Event> parse_event(Provider provider, const Headers& headers, std::string_view body);

}  // namespace agentd::webhook
