#pragma once
// Image references as Docker understands them, with docker.io normalisation.
//
// Grammar (github.com/distribution/reference, as `docker pull` applies it):
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] path-component ["/" path-component]*
//   domain    := host [":" port]; host is a DNS name, an IPv4 address or "[" IPv6 "]"
//   path-component := [a-z0-9]+ (separator [a-z0-9]+)*,  separator := [_.] | "__" | "-"+
//   tag       := [\w][\w.-]{0,127}
// The first component is a domain only when it contains '.' or ':', is "localhost", or has an
// upper-case letter; otherwise the name is on Docker Hub ("nginx" is docker.io/library/nginx).

#include <string>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::sources {

struct ImageRef {
    std::string registry;    ///< "registry-1.docker.io" for Docker Hub, "ghcr.io", "127.0.0.1:5000"
    std::string repository;  ///< "library/nginx", "acme/web"
    std::string tag;         ///< "latest" when neither tag nor digest was written
    std::string digest;      ///< "sha256:<64 hex>" or empty

    /// Parses "nginx", "nginx:1.25", "ghcr.io/acme/web:2.4.0", "host:5000/a/b@sha256:...".
    /// InvalidInput on anything Docker would refuse, with a message naming the reference.
    /// A reference with only a digest has an empty tag.
    static sys::Result<ImageRef> parse(std::string_view text);

    /// The name as Docker shows it, without tag or digest: "nginx", "ghcr.io/acme/web".
    std::string familiar_name() const;
    /// familiar_name() + "@" + digest.
    std::string pinned(const std::string& digest) const;
    /// The host used in the Docker client config and for credentials ("docker.io" for Hub).
    std::string auth_host() const;
    /// True for Docker Hub references.
    bool is_docker_hub() const;
};

/// "sha256:" followed by 64 lower-case hex digits.
bool valid_digest(std::string_view digest);
/// A tag as Docker accepts it: [\w][\w.-]{0,127}.
bool valid_tag(std::string_view tag);
/// A repository path as Docker accepts it: lower-case components joined by '/'.
bool valid_repository(std::string_view repository);

/// The registry host Docker Hub's images are served from.
inline constexpr std::string_view k_docker_hub_registry = "registry-1.docker.io";

}  // namespace agentd::sources
