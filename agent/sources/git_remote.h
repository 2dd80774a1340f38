#pragma once
// Talking to a git remote through libgit2: which transport a URL means, the credentials and
// host-key callbacks for it, and turning libgit2's failures into sys::Error without secrets.

#include <filesystem>
#include <string>
#include <string_view>

#include <git2/remote.h>

#include "agent/config/config.h"
#include "agent/sys/result.h"

namespace agentd::sources {

enum class GitTransport { Https, Http, Ssh, Git, Local };

struct RemoteUrl {
    GitTransport transport = GitTransport::Local;
    std::string user;      ///< from the URL ("git" in git@github.com:acme/deploy.git); may be empty
    std::string host;      ///< empty for Local
    int port = 0;          ///< 0 when the URL names none
    std::string password;  ///< written into the URL's user info (discouraged); a secret
};

/// Classifies a URL as git does: scheme://... (https, http, ssh, git+ssh, ssh+git, git, file),
/// scp-like [user@]host:path (a ':' before any '/'), anything else a local path.
/// InvalidInput for an empty URL, control characters or another scheme.
sys::Result<RemoteUrl> parse_remote_url(const std::string& url);

/// The URL with the password of its user info replaced: "https://u:***@host/x.git".
std::string redact_url(const std::string& url);

/// A branch name git accepts as refs/heads/<name>.
bool valid_branch(const std::string& branch);

/// The longest tag name agentd takes from a remote.
inline constexpr std::size_t k_max_tag_name = 255;

/// A tag name (without "refs/tags/") agentd takes from a remote: one git accepts as
/// refs/tags/<name> (so no "..", "@{", "//", control characters, spaces or ~^:?*[\), at most
/// 255 bytes of printable ASCII, not starting with '-'. '/' may separate components
/// ("shop/v1.2.0"): a tag name is never used as a path or an argument, only matched by a tag
/// policy, recorded, and given to compose as AGENTD_TAG.
bool valid_tag_name(std::string_view name);

/// git_error_last()'s message, or a generic one.
std::string libgit2_error();

/// Credentials and host-key checking for one fetch. Install into git_remote_callbacks; the
/// object must outlive the connection and not move (it is the callbacks' payload).
class RemoteAuth {
public:
    /// Reads the password file for http(s) URLs and checks that the SSH key file of ssh URLs
    /// can be read (relative names in $CREDENTIALS_DIRECTORY, see credential_file.h). Failed,
    /// naming the key and the path, when a configured file cannot be read; InvalidInput when
    /// credentials would go over plain http to a host that is not loopback
    /// (sys::is_loopback_host), checked before any file is read.
    static sys::Result<RemoteAuth> load(const RemoteUrl& url, const config::GitCredentials& creds);

    void install(git_remote_callbacks& callbacks);
    /// `text` with the password (and any URL password) replaced by "***".
    std::string redact(std::string text) const;
    /// The error for libgit2 return code `rc` from `what` ("fetch https://..."): Unauthorized
    /// when credentials were missing or refused, Failed otherwise (host key problems included).
    sys::Error error(int rc, const std::string& what) const;

private:
    static int credentials_cb(git_credential** out, const char* url, const char* username_from_url,
                              unsigned int allowed_types, void* payload);
    static int certificate_cb(git_cert* cert, int valid, const char* host, void* payload);

    RemoteUrl m_url;
    std::string m_username;
    std::string m_password;
    bool m_has_password = false;
    std::filesystem::path m_ssh_key;
    std::filesystem::path m_known_hosts;
    int m_attempts = 0;
    bool m_refused = false;
    std::string m_host_key_problem;
};

}  // namespace agentd::sources
