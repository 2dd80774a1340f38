#pragma once
// Registry credentials from the Docker client's config, for hosts the agent's own config does
// not name: what `docker login` stored is what agentd uses, as `docker pull` would.
//
// The file is $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json. For a host, in order:
//   credHelpers[host]   run `docker-credential-<name> get` with the server URL on stdin
//   auths[host]         "auth" (base64 "user:password"), "username"/"password", or an
//                       "identitytoken"; keys may be "host", "https://host", "host/v2/", and
//                       "https://index.docker.io/v1/" for Docker Hub
//   credsStore          the default helper, asked last
// Docker itself ignores auths when credsStore is set; reading them first only adds credentials
// for files written by hand or by older clients, and never hides a helper's answer, because
// with a credsStore `docker login` leaves the auths entry empty.
//
// Identity tokens (helper Username "<token>", or "identitytoken") are OAuth2 refresh tokens in
// Docker's protocol; here they are sent as the password of Basic auth to the token realm with
// username "<token>", which registries accepting refresh tokens as passwords (Azure ACR) take.
// `identity_token` marks them so an OAuth2 exchange can be added without changing callers.
//
// The file is read on every lookup, so a new `docker login` applies without a restart.
// Helpers run through sys::ProcessRunner with an argument vector, never a shell. Secrets never
// appear in errors or logs.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/sys/process.h"
#include "agent/sys/result.h"

namespace agentd::sources {

struct RegistryCredentials {
    std::string username;
    std::string password;         ///< a secret
    bool identity_token = false;  ///< password is an identity (refresh) token
};

class DockerCredentials {
public:
    /// `config_path` empty: $DOCKER_CONFIG/config.json or $HOME/.docker/config.json, looked up
    /// on each call. `helper_dir` empty: helpers are found in PATH; otherwise they are run from
    /// that directory only (tests, or a deliberately restricted set of helpers).
    explicit DockerCredentials(sys::ProcessRunner& runner, std::filesystem::path config_path = {},
                               std::filesystem::path helper_dir = {});

    /// Credentials for `registry_host` as ImageRef::auth_host() writes it ("docker.io" for
    /// Docker Hub, "ghcr.io", "127.0.0.1:5000"). nullopt when neither the file (absent is fine)
    /// nor a helper has any: anonymous access. Failed for malformed JSON or entries (naming the
    /// file), or a helper that cannot be run or fails for another reason than "not found".
    sys::Result<std::optional<RegistryCredentials>> lookup(const std::string& registry_host) const;

    /// The config file a lookup reads now.
    std::filesystem::path config_path() const;

private:
    sys::Result<std::optional<RegistryCredentials>> run_helper(
        const std::string& helper, const std::string& registry_host) const;

    sys::ProcessRunner& m_runner;
    std::filesystem::path m_config_path;
    std::filesystem::path m_helper_dir;
};

/// What a failed credential helper said, fit for an error message: the last non-empty line of
/// its stderr (stdout is never shown: it is where helpers write credentials), non-printable
/// bytes as '?', words that look like tokens (20+ letters, digits and +/=_- mixing letters
/// and digits) as "***", capped at 160 characters. Even stderr may echo a secret; this keeps
/// what is shown to the one line a person needs. Empty when stderr says nothing.
std::string helper_complaint(std::string_view err);

/// The key forms of config.json reduced to a host: "https://host/v2/" -> "host", and every
/// Docker Hub spelling ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io")
/// -> "docker.io".
std::string docker_config_host(const std::string& key);

}  // namespace agentd::sources
