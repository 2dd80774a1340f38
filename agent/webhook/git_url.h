#pragma once
// One key for every spelling of a git repository's URL, so that a webhook naming
// "git@github.com:acme/deploy.git" finds the stack configured with
// "https://github.com/Acme/Deploy".
//
// The rule, kept simple on purpose: the key is the host and the path, lower-cased, as
// "host/path" (a local repository: "/path"). What is dropped:
// - the scheme (https, http, ssh, git+ssh, ssh+git, git, file): one repository is served over
//   several transports;
// - user info ("git@", "user:token@") and the port: a forge serves SSH and HTTPS on different
//   ports for the same repository (Gitea's SSH on 2222, HTTPS on 443);
// - a query or fragment, trailing slashes, one trailing ".git", repeated slashes.
// Lower-casing the path is right for GitHub (owner and repository names are case-insensitive)
// and, for the others, can only make two repositories differing in case share a key: their
// stacks get an extra poll, which is harmless, where a missed push would not be.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace agentd::webhook {

/// The longest URL a delivery may name (a repository's, a package's); longer ones are refused.
inline constexpr std::size_t k_max_url = 2048;

/// The key of `url` as above. scp-like URLs ("[user@]host:path", a ':' before any '/') and
/// absolute local paths are keyed as git reads them. nullopt for what names no repository: an
/// empty or relative path, another scheme, a non-numeric port, control characters or spaces,
/// more than 2048 bytes.
std::optional<std::string> git_url_key(std::string_view url);

/// Both URLs have a key and it is the same.
bool same_repository(std::string_view a, std::string_view b);

}  // namespace agentd::webhook
