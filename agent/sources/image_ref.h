#pragma once
// Image references as Docker understands them, with docker.io normalisation.

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
    /// InvalidInput on anything Docker would refuse.
    static sys::Result<ImageRef> parse(std::string_view text);

    /// The name as Docker shows it, without tag or digest: "nginx", "ghcr.io/acme/web".
    std::string familiar_name() const;
    /// familiar_name() + "@" + digest.
    std::string pinned(const std::string& digest) const;
    /// The host used in the Docker client config and for credentials ("docker.io" for Hub).
    std::string auth_host() const;
};

/// "sha256:" followed by 64 lower-case hex digits.
bool valid_digest(std::string_view digest);

}  // namespace agentd::sources
