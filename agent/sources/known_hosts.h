#pragma once
// OpenSSH known_hosts matching, for SSH git remotes with a configured known_hosts_file.
// Pure: the caller reads the file and gets the server's key blob from libgit2.

#include <string>
#include <string_view>

namespace agentd::sources {

enum class HostKeyStatus {
    Match,     ///< a line names this host with exactly this key
    Mismatch,  ///< the host is known with other keys only, or this key is @revoked
    Unknown,   ///< no line names this host
};

/// Looks `host` (and `port`: names other than 22 are written "[host]:port") up in
/// `known_hosts` (the file's text) and compares `key_blob`, the raw SSH wire-format public key
/// the server presented. Understands comma-separated patterns with `*`, `?` and `!`
/// negation, hashed names (`|1|salt|hmac`) and the @revoked marker; @cert-authority lines are
/// ignored (host certificates are not supported). Malformed lines are skipped.
HostKeyStatus check_known_host(std::string_view known_hosts, const std::string& host, int port,
                               std::string_view key_blob);

}  // namespace agentd::sources
