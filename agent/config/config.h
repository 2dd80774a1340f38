#pragma once
// agent.yaml (SPEC section 2) as values. Pure: loading reads only the given text, except that
// the absolute key files of git.verify are checked to be readable.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/notify/notification.h"
#include "agent/notify/payload.h"
#include "agent/policy/tag_policy.h"
#include "agent/policy/window.h"
#include "agent/sigstore/keyless.h"
#include "agent/sys/clock.h"
#include "agent/sys/public_key.h"
#include "agent/sys/result.h"

namespace agentd::config {

struct HttpProbe {
    std::string url;
    int status = 0;  ///< 0: any 2xx
};

struct Health {
    sys::Duration timeout = std::chrono::seconds(180);
    sys::Duration stable = std::chrono::seconds(10);
    std::vector<HttpProbe> http;
};

struct GitCredentials {
    std::string username;                    ///< for HTTPS (default "x-access-token")
    std::filesystem::path password_file;     ///< HTTPS token/password
    std::filesystem::path ssh_key_file;      ///< SSH private key
    std::filesystem::path known_hosts_file;  ///< SSH; empty: ~/.ssh/known_hosts
};

/// A tag policy as written (SPEC section 3): a semver range, or a regex with an order, and the
/// policy compiled from it once, when the file is read (so users see errors at load time and
/// polls never compile it again).
struct TagPolicySpec {
    std::string semver;                  ///< a range, e.g. "^2.3"; or
    std::string regex;                   ///< a PCRE2 pattern with an optional named group
    std::string order = "alphabetical";  ///< for regex: alphabetical | numerical
    std::optional<policy::TagPolicy> policy;  ///< compiled from the above; set by make()

    /// Compiles a semver range, or a regex with its order ("" = alphabetical). Error: why the
    /// range, pattern or order is invalid.
    static sys::Result<TagPolicySpec> make(std::string semver, std::string regex,
                                           std::string order = "");
};

/// git.verify: which signatures a release of a git stack must carry, and whose (SPEC section 2).
struct GitVerify {
    enum class Mode {
        Head,        ///< the commit deployed carries a good signature
        Tag,         ///< the tag deployed is an annotated tag with a good signature (git.tags)
        TagAndHead,  ///< both
    };
    Mode mode = Mode::Head;
    /// SSH signatures: ssh-keygen's allowed_signers file (principals and their public keys).
    std::filesystem::path allowed_signers;  ///< empty: SSH signatures are not accepted
    /// OpenPGP signatures: a keyring file (exported public keys, binary or armored); only the
    /// keys in it are trusted, never the user's ~/.gnupg.
    std::filesystem::path gpg_keyring;  ///< empty: OpenPGP signatures are not accepted

    bool operator==(const GitVerify&) const = default;
};

struct GitSource {
    std::string url;   ///< https://, ssh://, user@host:path, file://, or a local path
    std::string path;  ///< sub-directory with the compose files; "" = repository root
    std::string branch = "main";
    std::optional<TagPolicySpec> tags;  ///< set: follow the newest allowed tag, not the branch
    GitCredentials credentials;
    std::optional<GitVerify> verify;  ///< set: releases must be signed (trust/git_verifier.h)
};

/// `verify.cosign` with `key:` (SPEC section 2): images must carry a cosign signature by one of
/// these keys. The files are read and parsed when the configuration is read (a bad key is a
/// configuration error with its place), and the keys kept, as tag policies are compiled once.
struct CosignKeys {
    std::vector<std::filesystem::path> files;  ///< as written, absolute
    std::vector<sys::PublicKey> keys;          ///< read from `files`, same order
};

/// `verify.cosign` with `identity:` and `issuer:` (SPEC section 2): images must carry a keyless
/// Sigstore signature (cosign's legacy `.sig` layout or a Sigstore bundle) whose Fulcio
/// certificate names a matching identity and issuer, chaining to `trusted_root`. The patterns
/// are compiled and the root read and parsed when the configuration is read.
struct CosignKeyless {
    sigstore::KeylessPolicy policy;
    std::filesystem::path trusted_root_file;  ///< absolute; default: the shipped public-good one
    std::shared_ptr<const sigstore::TrustedRoot> trusted_root;  ///< read from trusted_root_file

    /// Compiles the patterns and reads the trusted root (empty: the shipped public-good one),
    /// as agent.yaml's are (`agentctl verify --identity` builds its policy here). InvalidInput
    /// starting with the field, "identity: ...", for a bad pattern or an unusable root.
    static sys::Result<CosignKeyless> make(std::string_view identity, std::string_view issuer,
                                           std::filesystem::path trusted_root_file);
};

/// What an image must prove before it is pulled: a cosign signature by a key, or a keyless one.
/// Exactly one of the two is set.
struct ImageVerify {
    std::optional<CosignKeys> cosign;
    std::optional<CosignKeyless> keyless;
};

/// One hook: a service of the release's compose files run once (`compose run --rm`).
struct Hook {
    std::string service;
    sys::Duration timeout = std::chrono::minutes(10);
    bool operator==(const Hook&) const = default;
};

/// `hooks:` (SPEC section 1, steps 5 and 8): one-off services run around a deployment.
struct Hooks {
    std::vector<Hook> pre_deploy;   ///< before `up`; a failure rejects the release
    std::vector<Hook> post_deploy;  ///< after the gate passed; a failure rolls back
    std::vector<Hook> on_rollback;  ///< after a rollback restored the previous release
    bool operator==(const Hooks&) const = default;
};

enum class OnFailure { Rollback, Stop };
/// `approval:` auto deploys a verified candidate at once; manual pulls it, then waits for
/// `agentctl approve`.
enum class Approval { Auto, Manual };
/// `drift:` what a poll does when the containers differ from the current release: warn
/// reports it (status, notifications); heal also re-applies the release through the gate.
enum class Drift { Warn, Heal };
/// `strategy:` how a release replaces the running one: recreate (compose up in place) or
/// blue_green (the slot services in the idle one of two compose projects, then a proxy switch).
enum class Strategy { Recreate, BlueGreen };

/// A service deployed in slots, and the container port the proxy sends its traffic to.
struct SlotService {
    std::string name;
    int port = 80;
    bool operator==(const SlotService&) const = default;
};

/// `blue_green.proxy.nginx`: where nginx runs. host: a process of this host, driven by its own
/// commands; service: a service of the stack's shared compose project, whose container
/// bind-mounts the upstream file's directory and is reloaded by SIGHUP through the Engine API.
enum class NginxKind { Host, Service };

/// `blue_green.proxy`: nginx, told about the active slot through an upstream file agentd owns
/// (included by the admin's nginx configuration in its http block).
struct ProxyConfig {
    NginxKind nginx = NginxKind::Host;
    /// With nginx: service, the compose service nginx is (of the shared project).
    std::string service = "nginx";
    /// A host path, also with nginx: service (the container sees it through a bind mount).
    std::filesystem::path upstream_file;
    /// Run on the host, or with nginx: service inside the container.
    std::vector<std::string> test = {"nginx", "-t"};
    /// nginx: host only (a service is sent SIGHUP).
    std::vector<std::string> reload = {"nginx", "-s", "reload"};
    /// nginx: host only: the master's pid file (a service's master is its container's main
    /// process). A reload took when the master has a worker it did not have.
    std::filesystem::path pid_file = "/run/nginx.pid";
    bool operator==(const ProxyConfig&) const = default;
};

/// `blue_green:` (with `strategy: blue_green`).
struct BlueGreen {
    std::vector<SlotService> services;
    ProxyConfig proxy;
    /// The old slot keeps running this long after a switch: a rollback inside it is a switch.
    sys::Duration keep_old_for = std::chrono::minutes(10);
    /// At least this long between a switch and stopping the slot it left (requests in flight).
    sys::Duration drain = std::chrono::seconds(5);
    /// After the switch, the health gate through the proxy (health.http as written) this long.
    sys::Duration soak = std::chrono::seconds(10);
    bool is_slot_service(const std::string& service) const;
};

/// `rollout:` of a stack, with `fleet:`: the canary wave. Hosts whose fleet.labels include
/// every label of `canary` start a release first; the others once `after` hosts are done with
/// it (passed the gate and the soak).
struct Rollout {
    std::map<std::string, std::string> canary;
    int after = 1;
    bool operator==(const Rollout&) const = default;
};

struct Stack {
    std::string name;
    std::optional<GitSource> git;  ///< exactly one of git and dir is set
    std::optional<std::filesystem::path> dir;
    std::vector<std::string> compose_files;  ///< empty: compose's defaults
    /// `env_file` then `env_files`, in that order (a later file's value wins): each an absolute
    /// host path, or a path relative to the stack's directory in the release (git.path in the
    /// checkout, or dir). A name ending in ".age" is an age-encrypted file.
    std::optional<std::filesystem::path> env_file;
    std::vector<std::filesystem::path> env_files;
    /// The top-level age_identity_file, copied to every stack: what decrypts its ".age" env
    /// files (an absolute path, or a name in $CREDENTIALS_DIRECTORY); empty when not set.
    std::filesystem::path age_identity_file;
    /// The top-level project_prefix, copied to every stack ("" when not set).
    std::string project_prefix;
    /// The name of the stack's compose project: project_prefix + name. The one derivation of
    /// every docker and compose name of the stack (blue-green: its slots' and shared projects
    /// and its network are derived from it); state_dir paths, store keys, the API and logs use
    /// `name`.
    std::string project() const { return project_prefix + name; }
    /// env_file and env_files in the order they are read.
    std::vector<std::filesystem::path> all_env_files() const;
    sys::Duration poll_interval = std::chrono::seconds(60);
    sys::Duration image_wait = std::chrono::minutes(30);
    Health health;
    OnFailure on_failure = OnFailure::Rollback;
    Approval approval = Approval::Auto;
    /// `min_age:` a new release deploys by itself only once its newest part (a changed image's
    /// `created`, or the revision's commit time) is this old; zero: at once.
    sys::Duration min_age{0};
    /// `window:` when the stack may deploy by itself; nullopt: at any time. An admin's
    /// `agentctl sync` or `approve` deploys outside it.
    std::optional<policy::Window> window;
    Drift drift = Drift::Warn;
    Strategy strategy = Strategy::Recreate;
    std::optional<BlueGreen> blue_green;  ///< set exactly when strategy is blue_green
    /// `keep_releases:` the images of this many newest releases that passed the gate are kept
    /// locally (rollback needs no registry); older ones agentd pulled are removed.
    int keep_releases = 3;
    Hooks hooks;
    std::map<std::string, TagPolicySpec> images;  ///< service -> tag policy
    std::optional<ImageVerify> verify;  ///< every image of the stack (`verify:`)
    /// Per service (`images: {web: {verify: ...}}`): replaces `verify` for that service.
    std::map<std::string, ImageVerify> image_verify;
    /// What `service`'s image must prove: its own policy, else the stack's; nullptr: nothing.
    const ImageVerify* verify_for(const std::string& service) const;
    bool no_downgrade = true;  ///< never select a lower version than the one running
    std::optional<Rollout> rollout;  ///< with `fleet:`; none: every host starts at once (in slots)
};

/// Requests agentd keeps in flight to one registry when its entry does not say: a 100-image
/// stack's poll takes about 4 round trips, and stays far below the 100 concurrent requests
/// GitHub's API allows one client (registries count requests, and each image costs one at
/// any concurrency). Over HTTP/2 they are streams of one connection.
constexpr std::size_t k_default_concurrent_requests = 32;
/// The most registries[].max_concurrent_requests may say.
constexpr std::size_t k_max_concurrent_requests = 256;

struct Registry {
    std::string host;  ///< "ghcr.io", "127.0.0.1:5000"
    std::string username;
    std::filesystem::path password_file;  ///< relative names resolve in $CREDENTIALS_DIRECTORY
    std::filesystem::path ca_file;
    bool insecure_http = false;  ///< plain HTTP; allowed only for loopback hosts
    std::size_t max_concurrent_requests = k_default_concurrent_requests;

    bool operator==(const Registry&) const = default;
};

/// api.listen: the optional TCP listener (health, readiness, metrics; never a control route).
struct Listen {
    std::string host;  ///< an IP literal as written, IPv6 without its brackets
    int port = 0;
    bool operator==(const Listen&) const = default;
};

/// Parses "ADDR:PORT": an IPv4 literal or a bracketed IPv6 literal, and a port 1-65535.
/// nullopt with `why` set when it is not one.
std::optional<Listen> parse_listen(std::string_view text, std::string& why);

/// One receiver of `notifications:` (SPEC section 2).
struct Notification {
    /// The receiver's URL: `url` as written, or read from `url_file` when agentd starts or
    /// reloads (a relative name resolves in $CREDENTIALS_DIRECTORY). It carries a token:
    /// never logged, never stored, shown only as `label`.
    std::string url;
    std::filesystem::path url_file;
    notify::Format format = notify::Format::Generic;
    std::optional<std::set<notify::Kind>> events;  ///< nullopt: every kind
    sys::Duration repeat_interval = std::chrono::hours(1);
    sys::Duration waiting_after = std::chrono::minutes(10);
    sys::Duration poll_failing_after = std::chrono::minutes(15);
    std::string label;  ///< "slack #1": its format and place in the list, for logs
};

struct Api {
    std::filesystem::path socket = "/run/agentd/api.sock";
    std::optional<Listen> listen;  ///< off unless configured
    /// TLS on the listener: both or neither (PEM files, read when agentd starts).
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
    /// The webhooks' shared secret (absolute, or a name in $CREDENTIALS_DIRECTORY); empty: no
    /// webhook routes.
    std::filesystem::path webhook_secret_file;
    bool operator==(const Api&) const = default;
};

/// `fleet.etcd`: how to reach the etcd cluster that coordinates the fleet.
struct EtcdClient {
    std::vector<std::string> endpoints;  ///< http(s)://host:port; plain http only on loopback
    std::filesystem::path ca_file;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
    std::string username;
    std::filesystem::path password_file;  ///< relative names resolve in $CREDENTIALS_DIRECTORY
    bool operator==(const EtcdClient&) const = default;
};

/// `fleet:`: hosts that follow the same stacks take turns through etcd (docs/fleet.md).
struct Fleet {
    EtcdClient etcd;
    std::string host;  ///< this host's name in the fleet; "": the system's host name
    std::string group = "default";
    std::map<std::string, std::string> labels;
    int max_updating = 1;   ///< hosts of the group updating one stack at a time
    sys::Duration soak{0};  ///< healthy this long after the gate before the slot is freed
    sys::Duration lease_ttl = std::chrono::seconds(15);  ///< a dead host's slot frees after this
    bool operator==(const Fleet&) const = default;
};

struct Config {
    std::filesystem::path source;  ///< the file it was read from
    std::filesystem::path state_dir = "/var/lib/agentd";
    Api api;
    std::vector<Registry> registries;
    std::vector<Notification> notifications;
    std::optional<Fleet> fleet;
    /// age_identity_file: the age identities (X25519 secret keys) that decrypt ".age" env
    /// files; a relative name resolves in $CREDENTIALS_DIRECTORY. Empty when not set.
    std::filesystem::path age_identity_file;
    /// project_prefix: put before every stack's name to make its compose project's name, so
    /// that several agentd on one Docker engine can follow stacks of the same name. Empty when
    /// not set. Every stack's Stack::project_prefix holds a copy.
    std::string project_prefix;
    std::vector<Stack> stacks;  ///< defaults already applied

    const Stack* find_stack(const std::string& name) const;
    const Registry* find_registry(const std::string& host) const;
};

/// One problem in a configuration file: "agent.yaml:14:7: stacks[0].health.timeout: expected a
/// duration like \"30s\", got \"fast\"".
struct Issue {
    std::string file;
    int line = 0;     ///< 1-based; 0 when unknown
    int column = 0;   ///< 1-based
    std::string key;  ///< "stacks[0].health.timeout"
    std::string message;
    std::string to_string() const;
};

/// Thrown by load_config with every problem found, not just the first.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<Issue> issues);
    const std::vector<Issue>& issues() const { return m_issues; }

private:
    std::vector<Issue> m_issues;
};

/// Parses and validates `text` (named `file` in messages). Throws ConfigError.
Config parse_config(const std::string& text, const std::string& file);
/// Reads `path` and parses it. Throws ConfigError (an unreadable file is an issue too).
Config load_config(const std::filesystem::path& path);

/// "500ms", "30s", "5m", "1h", "1h30m"; nullopt on anything else.
std::optional<sys::Duration> parse_duration(const std::string& text);
/// Stack names: [a-z0-9][a-z0-9_-]{0,62}.
bool valid_stack_name(const std::string& name);
/// project_prefix: empty, or [a-z0-9][a-z0-9_-]{0,30}.
bool valid_project_prefix(const std::string& prefix);
/// The longest compose project name agentd makes (prefix and stack name together).
inline constexpr std::size_t k_max_project_name = 63;

}  // namespace agentd::config
