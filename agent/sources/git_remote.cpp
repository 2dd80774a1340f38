#include "agent/sources/git_remote.h"

#include <git2.h>

#include <fmt/format.h>

#include "agent/sources/credential_file.h"
#include "agent/sources/known_hosts.h"
#include "agent/sys/files.h"
#include "agent/sys/net.h"

namespace agentd::sources {
namespace {

constexpr std::string_view k_default_https_user = "x-access-token";
constexpr std::string_view k_default_ssh_user = "git";
constexpr int k_default_ssh_port = 22;

/// libgit2 must be initialised before any call, even a pure one like a ref name check.
void ensure_libgit2() {
    static const int initialised = git_libgit2_init();
    (void)initialised;
}

/// Splits "[user[:password]@]host[:port]" (host may be "[v6]"). False when malformed.
bool parse_authority(std::string_view authority, RemoteUrl& out) {
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const auto userinfo = authority.substr(0, at);
        const auto colon = userinfo.find(':');
        out.user = std::string(userinfo.substr(0, colon));
        if (colon != std::string_view::npos) {
            out.password = std::string(userinfo.substr(colon + 1));
        }
        authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') {
                return false;
            }
            port = rest.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (!port.empty()) {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
            return false;
        }
        out.port = std::stoi(std::string(port));
        if (out.port < 1 || out.port > 65535) {
            return false;
        }
    }
    return !out.host.empty();
}

std::string replace_all(std::string text, const std::string& secret) {
    if (secret.empty()) {
        return text;
    }
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
    }
    return text;
}

}  // namespace

sys::Result<RemoteUrl> parse_remote_url(const std::string& url) {
    if (url.empty()) {
        return sys::Error::invalid("git url: empty");
    }
    for (const unsigned char c : url) {
        if (c < 0x20 || c == 0x7f) {
            return sys::Error::invalid("git url: contains control characters");
        }
    }
    RemoteUrl out;
    if (const auto scheme_end = url.find("://"); scheme_end != std::string::npos) {
        const auto scheme = url.substr(0, scheme_end);
        if (scheme == "file") {
            return out;
        }
        if (scheme == "https") {
            out.transport = GitTransport::Https;
        } else if (scheme == "http") {
            out.transport = GitTransport::Http;
        } else if (scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git") {
            out.transport = GitTransport::Ssh;
        } else if (scheme == "git") {
            out.transport = GitTransport::Git;
        } else {
            return sys::Error::invalid(
                fmt::format("git url {}: unsupported scheme {:?}", redact_url(url), scheme));
        }
        const auto rest = std::string_view(url).substr(scheme_end + 3);
        if (!parse_authority(rest.substr(0, rest.find('/')), out)) {
            return sys::Error::invalid(fmt::format("git url {}: bad host", redact_url(url)));
        }
        return out;
    }
    // scp-like syntax, as git decides it: a ':' before the first '/'.
    const auto colon = url.find(':');
    if (colon != std::string::npos && colon > 0 && url.find('/') > colon) {
        out.transport = GitTransport::Ssh;
        const auto authority = url.substr(0, colon);
        if (const auto at = authority.rfind('@'); at != std::string::npos) {
            out.user = authority.substr(0, at);
            out.host = authority.substr(at + 1);
        } else {
            out.host = authority;
        }
        if (out.host.empty()) {
            return sys::Error::invalid(fmt::format("git url {}: bad host", url));
        }
    }
    return out;
}

std::string redact_url(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) {
        return url;
    }
    const auto start = scheme_end + 3;
    const auto at = url.find('@', start);
    const auto slash = url.find('/', start);
    if (at == std::string::npos || (slash != std::string::npos && at > slash)) {
        return url;
    }
    const auto colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) {
        return url;
    }
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

bool valid_branch(const std::string& branch) {
    ensure_libgit2();
    int valid = 0;
    return !branch.empty() && branch[0] != '-' &&
           git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) == 0 && valid;
}

bool valid_tag_name(std::string_view name) {
    if (name.empty() || name.size() > k_max_tag_name || name.front() == '-') {
        return false;
    }
    for (const char c : name) {
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    ensure_libgit2();
    int valid = 0;
    const std::string ref = "refs/tags/" + std::string(name);
    return git_reference_name_is_valid(&valid, ref.c_str()) == 0 && valid != 0;
}

std::string libgit2_error() {
    const git_error* error = git_error_last();
    return error != nullptr && error->message != nullptr ? error->message : "unknown libgit2 error";
}

sys::Result<RemoteAuth> RemoteAuth::load(const RemoteUrl& url,
                                         const config::GitCredentials& creds) {
    RemoteAuth auth;
    auth.m_url = url;
    const bool http = url.transport == GitTransport::Https || url.transport == GitTransport::Http;
    if (http && !creds.password_file.empty()) {
        if (url.transport == GitTransport::Http && !sys::is_loopback_host(url.host)) {
            return sys::Error::invalid(fmt::format(
                "git credentials for {}: refusing to send a password over plain http", url.host));
        }
        auto text = read_credential_file(creds.password_file, "git.credentials.password_file");
        if (!text) {
            return sys::Error::failed(text.error().message);
        }
        auto& password = *text;
        auth.m_password = std::move(password);
        auth.m_has_password = true;
        auth.m_username =
            creds.username.empty() ? std::string(k_default_https_user) : creds.username;
    }
    if (url.transport == GitTransport::Ssh) {
        if (!creds.ssh_key_file.empty()) {
            // libgit2 reads the key itself, and says little when it cannot: check it here.
            auto key = check_credential_file(creds.ssh_key_file, "git.credentials.ssh_key_file");
            if (!key) {
                return sys::Error::failed(key.error().message);
            }
            auth.m_ssh_key = std::move(*key);
        }
        auth.m_known_hosts = creds.known_hosts_file;
    }
    return auth;
}

void RemoteAuth::install(git_remote_callbacks& callbacks) {
    callbacks.credentials = &RemoteAuth::credentials_cb;
    callbacks.certificate_check = &RemoteAuth::certificate_cb;
    callbacks.payload = this;
}

std::string RemoteAuth::redact(std::string text) const {
    return replace_all(replace_all(std::move(text), m_password), m_url.password);
}

sys::Error RemoteAuth::error(int rc, const std::string& what) const {
    if (!m_host_key_problem.empty()) {
        return sys::Error::failed(fmt::format("{}: {}", what, m_host_key_problem));
    }
    const auto cause = redact(libgit2_error());
    if (m_refused || rc == GIT_EAUTH) {
        return sys::Error::unauthorized(fmt::format("{}: authentication failed: {}", what, cause));
    }
    return sys::Error::failed(fmt::format("{}: {}", what, cause));
}

int RemoteAuth::credentials_cb(git_credential** out, const char* /*url*/,
                               const char* username_from_url, unsigned int allowed_types,
                               void* payload) {
    auto& self = *static_cast<RemoteAuth*>(payload);
    const std::string ssh_user = username_from_url != nullptr && *username_from_url != '\0'
                                     ? username_from_url
                                     : std::string(k_default_ssh_user);
    // SSH asks for the user name alone before it can list the server's methods.
    if (allowed_types == GIT_CREDENTIAL_USERNAME) {
        return git_credential_username_new(out, ssh_user.c_str());
    }
    // libgit2 asks again for as long as the server refuses: give up after one try.
    if (self.m_attempts++ > 0) {
        self.m_refused = true;
        git_error_set_str(GIT_ERROR_NET, "the remote refused the configured credentials");
        return GIT_EAUTH;
    }
    if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0 && self.m_has_password) {
        return git_credential_userpass_plaintext_new(out, self.m_username.c_str(),
                                                     self.m_password.c_str());
    }
    if ((allowed_types & GIT_CREDENTIAL_SSH_KEY) != 0 && !self.m_ssh_key.empty()) {
        const auto public_key = self.m_ssh_key.string() + ".pub";
        std::error_code ec;
        const bool has_public = std::filesystem::exists(public_key, ec);
        return git_credential_ssh_key_new(out, ssh_user.c_str(),
                                          has_public ? public_key.c_str() : nullptr,
                                          self.m_ssh_key.c_str(), nullptr);
    }
    // Nothing configured for what the server wants: libgit2 reports GIT_EAUTH itself.
    self.m_refused = true;
    return GIT_PASSTHROUGH;
}

int RemoteAuth::certificate_cb(git_cert* cert, int /*valid*/, const char* /*host*/, void* payload) {
    auto& self = *static_cast<RemoteAuth*>(payload);
    // TLS, and SSH without a configured file: libgit2's own decision (system CAs; for SSH,
    // libgit2 >= 1.5.1 checks ~/.ssh/known_hosts, which is what known_hosts_file "" means).
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2 || self.m_known_hosts.empty()) {
        return GIT_PASSTHROUGH;
    }
    const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
    const int port = self.m_url.port == 0 ? k_default_ssh_port : self.m_url.port;
    const auto file = self.m_known_hosts.string();
    if ((key->type & GIT_CERT_SSH_RAW) == 0) {
        self.m_host_key_problem = "the SSH server's host key is not available for checking";
    } else if (auto text = sys::read_file(self.m_known_hosts); !text) {
        self.m_host_key_problem = fmt::format("cannot read known_hosts file {}", file);
    } else {
        switch (check_known_host(*text, self.m_url.host, port,
                                 std::string_view(key->hostkey, key->hostkey_len))) {
            case HostKeyStatus::Match:
                return 0;
            case HostKeyStatus::Unknown:
                self.m_host_key_problem =
                    fmt::format("host {} is not in known_hosts file {}", self.m_url.host, file);
                break;
            case HostKeyStatus::Mismatch:
                self.m_host_key_problem = fmt::format(
                    "host key of {} does not match known_hosts file {}", self.m_url.host, file);
                break;
        }
    }
    git_error_set_str(GIT_ERROR_SSH, self.m_host_key_problem.c_str());
    return GIT_ECERTIFICATE;
}

}  // namespace agentd::sources
