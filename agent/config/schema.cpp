#include "agent/config/schema.h"

#include <unistd.h>
#include <algorithm>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "agent/config/checks.h"
#include "agent/config/fleet.h"
#include "agent/policy/tag_policy.h"
#include "agent/sigstore/trusted_root.h"
#include "agent/sys/net.h"
#include "agent/sys/version.h"

namespace agentd::config {

namespace {

// The keys valid at each place; "did you mean" picks from the same lists.
constexpr std::string_view k_defaults_keys[] = {
    "compose_files", "env_file",      "env_files", "poll_interval", "image_wait",
    "health",        "on_failure",    "approval",  "no_downgrade",  "min_age",
    "window",        "keep_releases", "drift"};
constexpr std::string_view k_stack_keys[] = {
    "name",          "git",        "dir",        "compose_files", "env_file", "env_files",
    "poll_interval", "image_wait", "health",     "on_failure",    "approval", "images",
    "no_downgrade",  "verify",     "hooks",      "min_age",       "window",   "keep_releases",
    "drift",         "strategy",   "blue_green", "rollout"};
constexpr std::string_view k_blue_green_keys[] = {"services", "proxy", "keep_old_for", "drain",
                                                  "soak"};
constexpr std::string_view k_proxy_keys[] = {"nginx", "service", "upstream_file",
                                             "test",  "reload",  "pid_file"};
constexpr std::string_view k_policy_keys[] = {"semver", "regex", "order"};
constexpr std::string_view k_image_keys[] = {"semver", "regex", "order", "verify"};
constexpr std::string_view k_verify_keys[] = {"cosign"};
constexpr std::string_view k_cosign_keys[] = {"key", "identity", "issuer", "trusted_root"};
constexpr std::string_view k_health_keys[] = {"timeout", "stable", "http"};
constexpr std::string_view k_hooks_keys[] = {"pre_deploy", "post_deploy", "on_rollback"};
constexpr std::string_view k_hook_keys[] = {"service", "timeout"};
constexpr std::string_view k_window_keys[] = {"days", "from", "to", "tz"};
constexpr std::string_view k_probe_keys[] = {"url", "status"};
constexpr std::string_view k_git_keys[] = {"url",  "path",        "branch",
                                           "tags", "credentials", "verify"};
constexpr std::string_view k_git_verify_keys[] = {"mode", "allowed_signers", "gpg_keyring"};
constexpr std::string_view k_credentials_keys[] = {"username", "password_file", "ssh_key_file",
                                                   "known_hosts_file"};
constexpr std::string_view k_registry_keys[] = {
    "host", "username", "password_file", "ca_file", "insecure_http", "max_concurrent_requests"};

constexpr std::string_view k_not_yet = k_not_supported_yet;
constexpr std::string_view k_per_stack = "is set per stack and cannot be a default";
constexpr RefusedKey k_defaults_refused[] = {
    {"name", k_per_stack},     {"git", k_per_stack},        {"dir", k_per_stack},
    {"images", k_per_stack},   {"verify", k_not_yet},       {"hooks", k_per_stack},
    {"strategy", k_per_stack}, {"blue_green", k_per_stack}, {"rollout", k_per_stack},
};

constexpr const char* k_default_git_username = "x-access-token";

std::optional<HttpProbe> read_probe(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_probe_keys);
    if (!map.is_map()) {
        return std::nullopt;
    }
    HttpProbe probe;
    if (const auto url = map.get("url")) {
        if (const auto text = reader.non_empty(*url)) {
            if (text->starts_with("http://") || text->starts_with("https://")) {
                probe.url = *text;
            } else {
                reader.report(
                    *url, fmt::format("expected an http:// or https:// URL, got \"{}\"", *text));
            }
        }
    } else {
        reader.report(entry, "missing required key \"url\"");
    }
    if (const auto status = map.get("status")) {
        probe.status = reader.integer(*status, 100, 599, "an HTTP status 100-599").value_or(0);
    }
    return probe;
}

void read_health(Reader& reader, const Entry& entry, StackFields& fields) {
    const MapReader map(reader, entry, k_health_keys);
    if (const auto timeout = map.get("timeout")) {
        fields.health_timeout = reader.duration(*timeout);
        fields.timeout_entry = timeout;
    }
    if (const auto stable = map.get("stable")) {
        // Zero is a choice: pass as soon as everything runs, with no window of stability.
        fields.health_stable = reader.duration(*stable, /*allow_zero=*/true);
        fields.stable_entry = stable;
    }
    if (const auto http = map.get("http")) {
        std::vector<HttpProbe> probes;
        for (const Entry& item : reader.list(*http)) {
            if (auto probe = read_probe(reader, item)) {
                probes.push_back(std::move(*probe));
            }
        }
        fields.health_http = std::move(probes);
    }
}

std::vector<std::string> read_compose_files(Reader& reader, const Entry& entry) {
    std::vector<std::string> files;
    for (const Entry& item : reader.list(entry)) {
        const auto text = reader.non_empty(item, "a file name");
        if (text && !is_relative_inside(*text)) {
            reader.report(item, fmt::format("expected a path relative to the stack's directory "
                                            "without \"..\", got \"{}\"",
                                            *text));
        } else if (text) {
            files.push_back(*text);
        }
    }
    return files;
}

// One of two words, as its value: `on_failure: rollback|stop`, `approval: auto|manual`.
template <typename Value>
std::optional<Value> read_choice(Reader& reader, const Entry& entry, std::string_view first,
                                 Value first_value, std::string_view second, Value second_value) {
    const auto expected = fmt::format("{} or {}", first, second);
    const auto text = reader.string(entry, expected);
    if (text == first) {
        return first_value;
    }
    if (text == second) {
        return second_value;
    }
    if (text) {
        reader.report(entry, fmt::format("expected {}, got \"{}\"", expected, *text));
    }
    return std::nullopt;
}

/// One env file: an absolute host path, or a path relative to the stack's directory without
/// "..". One ending in ".age" needs the top-level age_identity_file.
std::optional<std::filesystem::path> read_env_file(Reader& reader, const Entry& entry,
                                                   const std::filesystem::path& age_identity) {
    const auto text = reader.non_empty(entry, "a path");
    if (!text) {
        return std::nullopt;
    }
    if (!text->starts_with('/') && !is_relative_inside(*text)) {
        reader.report(entry, fmt::format("expected an absolute path, or a path relative to the "
                                         "stack's directory without \"..\", got \"{}\"",
                                         *text));
        return std::nullopt;
    }
    if (text->ends_with(".age") && age_identity.empty()) {
        reader.report(entry, fmt::format("\"{}\" is age-encrypted: set the top-level "
                                         "age_identity_file (the key that decrypts it)",
                                         *text));
        return std::nullopt;
    }
    return std::filesystem::path(*text);
}

/// `window: {days: [sat, sun], from: "02:00", to: "04:00", tz: UTC}`: days default to every
/// day and tz to UTC; each part's problem is reported at that part.
std::optional<policy::Window> read_window(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_window_keys);
    if (!map.is_map()) {
        return std::nullopt;
    }
    bool ok = true;  // every part is read, so that each problem is reported
    std::vector<std::string> days;
    if (const auto days_entry = map.get("days")) {
        for (const Entry& item : reader.list(*days_entry)) {
            const auto day = reader.string(item, "a day (mon..sun)");
            if (day && !policy::parse_weekday(*day)) {
                reader.report(item, fmt::format("expected mon, tue, wed, thu, fri, sat or sun, "
                                                "got \"{}\"",
                                                *day));
            }
            ok = ok && day && policy::parse_weekday(*day);
            if (day) {
                days.push_back(*day);
            }
        }
    }
    std::string times[2];
    const char* names[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
        const auto part = map.get(names[i]);
        if (!part) {
            reader.report(entry, fmt::format("missing required key \"{}\"", names[i]));
            ok = false;
            continue;
        }
        const auto text = reader.string(*part, "a time HH:MM");
        if (text && !policy::parse_time_of_day(*text)) {
            reader.report(*part, fmt::format("expected a time HH:MM (00:00-23:59), got \"{}\"",
                                             *text));
        }
        ok = ok && text && policy::parse_time_of_day(*text);
        times[i] = text.value_or("");
    }
    std::string zone = "UTC";
    const auto tz = map.get("tz");
    if (tz) {
        const auto text = reader.non_empty(*tz, "a time zone name");
        ok = ok && text;
        zone = text.value_or("");
    }
    if (tz && !zone.empty()) {
        // Looked up alone, so that an unknown zone is reported with the other parts' problems.
        if (auto known = policy::find_zone(zone); !known) {
            const std::string& message = known.error().message;
            reader.report(*tz, message.substr(message.find(": ") + 2));
            ok = false;
        }
    }
    if (!ok) {
        return std::nullopt;
    }
    auto window = policy::Window::make(days, times[0], times[1], zone);
    if (!window) {
        // All parts are valid alone: `to` equals `from`.
        const std::string& message = window.error().message;
        reader.report(*map.get("to"), message.substr(message.find(": ") + 2));
        return std::nullopt;
    }
    return *window;
}

// The keys a stack shares with defaults, from either mapping.
StackFields read_stack_fields(Reader& reader, const MapReader& map,
                              const std::filesystem::path& age_identity) {
    StackFields fields;
    if (const auto e = map.get("compose_files")) {
        fields.compose_files = read_compose_files(reader, *e);
    }
    if (const auto e = map.get("env_file")) {
        fields.env_file = read_env_file(reader, *e, age_identity);
    }
    if (const auto e = map.get("env_files")) {
        std::vector<std::filesystem::path> files;
        for (const Entry& item : reader.list(*e)) {
            if (auto file = read_env_file(reader, item, age_identity)) {
                files.push_back(std::move(*file));
            }
        }
        fields.env_files = std::move(files);
    }
    if (const auto e = map.get("poll_interval")) {
        fields.poll_interval = reader.duration(*e);
    }
    if (const auto e = map.get("image_wait")) {
        fields.image_wait = reader.duration(*e);
    }
    if (const auto e = map.get("health")) {
        read_health(reader, *e, fields);
    }
    if (const auto e = map.get("on_failure")) {
        fields.on_failure = read_choice(reader, *e, "rollback", OnFailure::Rollback, "stop",
                                        OnFailure::Stop);
    }
    if (const auto e = map.get("approval")) {
        fields.approval =
            read_choice(reader, *e, "auto", Approval::Auto, "manual", Approval::Manual);
    }
    if (const auto e = map.get("no_downgrade")) {
        fields.no_downgrade = reader.boolean(*e);
    }
    if (const auto e = map.get("min_age")) {
        fields.min_age = reader.duration(*e, /*allow_zero=*/true);
    }
    if (const auto e = map.get("window")) {
        fields.window = read_window(reader, *e);
    }
    if (const auto e = map.get("drift")) {
        fields.drift = read_choice(reader, *e, "warn", Drift::Warn, "heal", Drift::Heal);
    }
    if (const auto e = map.get("keep_releases")) {
        fields.keep_releases = reader.integer(*e, 1, 100, "a number of releases from 1 to 100");
    }
    return fields;
}

void apply(const StackFields& fields, Stack& stack) {
    if (fields.compose_files) {
        stack.compose_files = *fields.compose_files;
    }
    if (fields.env_file) {
        stack.env_file = *fields.env_file;
    }
    if (fields.env_files) {
        stack.env_files = *fields.env_files;
    }
    stack.poll_interval = fields.poll_interval.value_or(stack.poll_interval);
    stack.image_wait = fields.image_wait.value_or(stack.image_wait);
    stack.health.timeout = fields.health_timeout.value_or(stack.health.timeout);
    stack.health.stable = fields.health_stable.value_or(stack.health.stable);
    if (fields.health_http) {
        stack.health.http = *fields.health_http;
    }
    stack.on_failure = fields.on_failure.value_or(stack.on_failure);
    stack.approval = fields.approval.value_or(stack.approval);
    stack.no_downgrade = fields.no_downgrade.value_or(stack.no_downgrade);
    stack.min_age = fields.min_age.value_or(stack.min_age);
    if (fields.window) {
        stack.window = fields.window;
    }
    stack.drift = fields.drift.value_or(stack.drift);
    stack.keep_releases = fields.keep_releases.value_or(stack.keep_releases);
}

bool valid_service_name(const std::string& name) {
    return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
}

// `{semver: RANGE}` or `{regex: RE, order: alphabetical|numerical}`, compiled here so that a bad
// range or pattern is a configuration error with its place, not a poll error later.
// With `required` false (an image's entry may hold only `verify`), no policy is not an error.
std::optional<TagPolicySpec> read_policy_fields(Reader& reader, const MapReader& map,
                                                bool required) {
    const Entry& entry = map.entry();
    const auto semver = map.get("semver");
    const auto regex = map.get("regex");
    const auto order = map.get("order");
    if (!required && !semver && !regex && !order) {
        return std::nullopt;
    }
    if (semver.has_value() == regex.has_value()) {
        reader.report(entry, "needs exactly one of semver (a range like \"^1.2\") or regex");
        return std::nullopt;
    }
    if (semver) {
        const auto text = reader.non_empty(*semver, "a semver range");
        if (!text) {
            return std::nullopt;
        }
        if (order) {
            reader.report(*order, "order applies to regex policies only");
        }
        auto spec = TagPolicySpec::make(*text, "");
        if (!spec) {
            reader.report(*semver, spec.error().message);
            return std::nullopt;
        }
        return std::move(*spec);
    }
    const auto text = reader.non_empty(*regex, "a regular expression");
    if (!text) {
        return std::nullopt;
    }
    std::string order_text;
    if (order) {
        const auto given = reader.string(*order, "alphabetical or numerical");
        if (!given) {
            return std::nullopt;
        }
        if (auto o = policy::parse_regex_order(*given); !o) {
            reader.report(*order, o.error().message);
            return std::nullopt;
        }
        order_text = *given;
    }
    auto spec = TagPolicySpec::make("", *text, order_text);
    if (!spec) {
        reader.report(*regex, spec.error().message);
        return std::nullopt;
    }
    return std::move(*spec);
}

std::optional<TagPolicySpec> read_policy(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_policy_keys);
    if (!map.is_map()) {
        return std::nullopt;
    }
    return read_policy_fields(reader, map, /*required=*/true);
}

// One key file: absolute, readable, a supported public key (parsed now with OpenSSL).
void read_key_file(Reader& reader, const Entry& entry, CosignKeys& cosign) {
    const auto path = reader.absolute_path(entry);
    if (!path) {
        return;
    }
    auto key = sys::PublicKey::load(*path);
    if (!key) {
        reader.report(entry, key.error().message);
        return;
    }
    cosign.files.emplace_back(*path);
    cosign.keys.push_back(std::move(*key));
}

// `key: FILE | [FILE...]`.
std::optional<CosignKeys> read_keys(Reader& reader, const Entry& key) {
    CosignKeys cosign;
    if (key.value.IsSequence()) {
        const auto items = reader.list(key);
        if (items.empty()) {
            reader.report(key, "expected at least one public key file");
        }
        for (const Entry& item : items) {
            read_key_file(reader, item, cosign);
        }
    } else {
        read_key_file(reader, key, cosign);
    }
    if (cosign.keys.empty()) {
        return std::nullopt;
    }
    return cosign;
}

// An identity or issuer pattern: exact, glob or regex:, compiled now.
std::optional<sigstore::IdentityPattern> read_pattern(Reader& reader, const Entry& entry) {
    const auto text = reader.non_empty(entry);
    if (!text) {
        return std::nullopt;
    }
    auto pattern = sigstore::IdentityPattern::parse(*text);
    if (!pattern) {
        reader.report(entry, pattern.error().message);
        return std::nullopt;
    }
    return std::move(*pattern);
}

// trusted_root: FILE, read and parsed now; without it, the public-good root agentd ships.
std::shared_ptr<const sigstore::TrustedRoot> read_trusted_root(Reader& reader, const Entry& where,
                                                               const std::filesystem::path& file,
                                                               bool written) {
    auto root = sigstore::load_trusted_root(file);
    if (!root) {
        reader.report(where, written ? root.error().message
                                     : fmt::format("no trusted_root given, and Sigstore's "
                                                   "public-good root installed with agentd "
                                                   "cannot be used: {}; set trusted_root: FILE",
                                                   root.error().message));
        return nullptr;
    }
    return std::make_shared<const sigstore::TrustedRoot>(std::move(*root));
}

// `identity:`, `issuer:` and the optional `trusted_root:` of a keyless policy.
std::optional<CosignKeyless> read_keyless(Reader& reader, const MapReader& map) {
    const auto identity = map.get("identity");
    const auto issuer = map.get("issuer");
    if (!identity || !issuer) {
        reader.report(map.entry(),
                      fmt::format("keyless verification needs both identity and issuer; "
                                  "missing required key \"{}\"",
                                  identity ? "issuer" : "identity"));
        return std::nullopt;
    }
    auto identity_pattern = read_pattern(reader, *identity);
    auto issuer_pattern = read_pattern(reader, *issuer);
    CosignKeyless keyless;
    if (const auto root = map.get("trusted_root")) {
        if (const auto path = reader.absolute_path(*root)) {
            keyless.trusted_root_file = *path;
            keyless.trusted_root = read_trusted_root(reader, *root, *path, /*written=*/true);
        }
    } else {
        keyless.trusted_root_file = sys::k_public_good_trusted_root;
        keyless.trusted_root =
            read_trusted_root(reader, map.entry(), keyless.trusted_root_file, /*written=*/false);
    }
    if (!identity_pattern || !issuer_pattern || !keyless.trusted_root) {
        return std::nullopt;
    }
    keyless.policy = {std::move(*identity_pattern), std::move(*issuer_pattern)};
    return keyless;
}

// `verify: {cosign: {key: FILE | [FILE...]}}` or
// `verify: {cosign: {identity: PATTERN, issuer: PATTERN, trusted_root: FILE}}`.
std::optional<ImageVerify> read_verify(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_verify_keys);
    if (!map.is_map()) {
        return std::nullopt;
    }
    const auto cosign_entry = map.get("cosign");
    if (!cosign_entry) {
        // An unknown key (a typo of cosign) was reported already.
        if (!entry.value.IsMap() || entry.value.size() == 0) {
            reader.report(entry,
                          "needs cosign: {key: FILE} (the public key images are signed with) or "
                          "cosign: {identity: ..., issuer: ...} (keyless)");
        }
        return std::nullopt;
    }
    const MapReader cosign_map(reader, *cosign_entry, k_cosign_keys);
    if (!cosign_map.is_map()) {
        return std::nullopt;
    }
    const auto key = cosign_map.get("key");
    const bool keyless = cosign_map.has("identity") || cosign_map.has("issuer");
    if (key && (keyless || cosign_map.has("trusted_root"))) {
        reader.report(*cosign_entry,
                      "key and keyless (identity, issuer, trusted_root) cannot be combined: "
                      "images are signed either with a key or keyless");
        return std::nullopt;
    }
    ImageVerify verify;
    if (key) {
        verify.cosign = read_keys(reader, *key);
        return verify.cosign ? std::optional(std::move(verify)) : std::nullopt;
    }
    if (!keyless && !cosign_map.has("trusted_root")) {
        reader.report(*cosign_entry,
                      "missing required key \"key\" (a public key file, or a list) or "
                      "\"identity\" and \"issuer\" (keyless)");
        return std::nullopt;
    }
    verify.keyless = read_keyless(reader, cosign_map);
    return verify.keyless ? std::optional(std::move(verify)) : std::nullopt;
}

// health.stable must fit inside health.timeout, or the gate could never pass. Reported where the
// mapping being checked wrote one of them (stable first), so each mistake is reported once.
void check_stable_within_timeout(Reader& reader, const Health& health, const StackFields& own) {
    if (health.stable < health.timeout) {
        return;
    }
    const auto stable = sys::format_duration(health.stable);
    const auto timeout = sys::format_duration(health.timeout);
    if (own.stable_entry && own.health_stable) {
        reader.report(
            *own.stable_entry,
            fmt::format("must be shorter than health.timeout ({}), got {}", timeout, stable));
    } else if (own.timeout_entry && own.health_timeout) {
        reader.report(
            *own.timeout_entry,
            fmt::format("must be longer than health.stable ({}), got {}", stable, timeout));
    }
}

GitCredentials read_credentials(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_credentials_keys);
    GitCredentials credentials;
    if (const auto e = map.get("username")) {
        credentials.username = reader.non_empty(*e).value_or("");
    }
    // Secrets may be relative names: they resolve in $CREDENTIALS_DIRECTORY at run time.
    if (const auto e = map.get("password_file")) {
        credentials.password_file = reader.non_empty(*e, "a path").value_or("");
    }
    if (const auto e = map.get("ssh_key_file")) {
        credentials.ssh_key_file = reader.non_empty(*e, "a path").value_or("");
    }
    if (const auto e = map.get("known_hosts_file")) {
        credentials.known_hosts_file = reader.absolute_path(*e).value_or("");
    }
    if (credentials.username.empty() && !credentials.password_file.empty()) {
        credentials.username = k_default_git_username;  // what GitHub and GitLab accept for tokens
    }
    return credentials;
}

// A key file of git.verify: a path; an absolute one must be readable now (a relative name
// resolves in $CREDENTIALS_DIRECTORY when it is used, as credential files do).
std::filesystem::path read_key_file(Reader& reader, const Entry& entry) {
    const auto text = reader.non_empty(entry, "a path");
    if (!text) {
        return {};
    }
    if (text->starts_with('/') && ::access(text->c_str(), R_OK) != 0) {
        reader.report(entry, fmt::format("cannot read \"{}\": {}", *text, std::strerror(errno)));
        return {};
    }
    if (!text->starts_with('/') && !is_relative_inside(*text)) {
        reader.report(entry, fmt::format("expected an absolute path, or a name in "
                                         "$CREDENTIALS_DIRECTORY without \"..\", got \"{}\"",
                                         *text));
        return {};
    }
    return *text;
}

// git.verify: {mode: head | tag | tag_and_head, allowed_signers: FILE, gpg_keyring: FILE}.
// `follows_tags`: the stack has git.tags, which tag modes need.
std::optional<GitVerify> read_git_verify(Reader& reader, const Entry& entry, bool follows_tags) {
    const MapReader map(reader, entry, k_git_verify_keys);
    if (!map.is_map()) {
        return std::nullopt;
    }
    GitVerify verify;
    bool complete = true;
    if (const auto e = map.get("mode")) {
        const auto text = reader.string(*e, "head, tag or tag_and_head");
        if (text == "head") {
            verify.mode = GitVerify::Mode::Head;
        } else if (text == "tag" || text == "tag_and_head") {
            verify.mode = *text == "tag" ? GitVerify::Mode::Tag : GitVerify::Mode::TagAndHead;
            if (!follows_tags) {
                reader.report(*e, fmt::format("mode {} needs git.tags (the stack follows a "
                                              "branch, whose head has no tag): use mode head",
                                              *text));
                complete = false;
            }
        } else if (text) {
            reader.report(*e, fmt::format("expected head, tag or tag_and_head, got \"{}\"", *text));
            complete = false;
        } else {
            complete = false;
        }
    } else {
        // What a stack follows is what is signed: its tags, else its branch's head.
        verify.mode = follows_tags ? GitVerify::Mode::Tag : GitVerify::Mode::Head;
    }
    const auto signers = map.get("allowed_signers");
    const auto keyring = map.get("gpg_keyring");
    if (signers) {
        verify.allowed_signers = read_key_file(reader, *signers);
        complete = complete && !verify.allowed_signers.empty();
    }
    if (keyring) {
        verify.gpg_keyring = read_key_file(reader, *keyring);
        complete = complete && !verify.gpg_keyring.empty();
    }
    if (!signers && !keyring) {
        reader.report(entry,
                      "needs the keys to trust: allowed_signers (SSH signatures, "
                      "ssh-keygen's format) and/or gpg_keyring (OpenPGP public keys)");
        complete = false;
    }
    return complete ? std::optional(verify) : std::nullopt;
}

GitSource read_git(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_git_keys);
    GitSource git;
    if (const auto e = map.get("url")) {
        git.url = reader.non_empty(*e, "a URL").value_or("");
    } else if (map.is_map()) {
        reader.report(entry, "missing required key \"url\"");
    }
    if (const auto e = map.get("path")) {
        const auto text = reader.string(*e, "a path");
        if (text && !is_relative_inside(*text)) {
            reader.report(*e, fmt::format("expected a path relative to the repository root "
                                          "without \"..\", got \"{}\"",
                                          *text));
        } else if (text) {
            git.path = *text;
        }
    }
    if (const auto e = map.get("branch")) {
        if (const auto text = reader.string(*e, "a branch name")) {
            if (const auto problem = branch_name_problem(*text)) {
                reader.report(
                    *e, fmt::format("\"{}\" is not a valid branch name: {}", *text, *problem));
            } else {
                git.branch = *text;
            }
        }
    }
    if (const auto e = map.get("tags")) {
        if (map.has("branch")) {
            reader.report(*e,
                          "set either branch (follow its head) or tags (follow the newest "
                          "allowed tag), not both");
        } else {
            git.tags = read_policy(reader, *e);
        }
    }
    if (const auto e = map.get("credentials")) {
        git.credentials = read_credentials(reader, *e);
    }
    if (const auto e = map.get("verify")) {
        git.verify = read_git_verify(reader, *e, map.has("tags"));
    }
    return git;
}

// `hooks: {pre_deploy: [{service, timeout}], post_deploy: [...], on_rollback: [...]}`.
Hooks read_hooks(Reader& reader, const Entry& entry) {
    Hooks hooks;
    const MapReader map(reader, entry, k_hooks_keys);
    if (!map.is_map()) {
        return hooks;
    }
    const auto read_list = [&](const char* key, std::vector<Hook>& out) {
        const auto list = map.get(key);
        if (!list) {
            return;
        }
        for (const Entry& item : reader.list(*list)) {
            const MapReader hook_map(reader, item, k_hook_keys);
            if (!hook_map.is_map()) {
                continue;
            }
            Hook hook;
            if (const auto e = hook_map.get("service")) {
                const auto name = reader.non_empty(*e, "a compose service name");
                if (name && !valid_service_name(*name)) {
                    reader.report(*e, fmt::format("\"{}\" is not a compose service name "
                                                  "(letters, digits, ._-)",
                                                  *name));
                } else if (name) {
                    hook.service = *name;
                }
            } else {
                reader.report(item, "missing required key \"service\"");
            }
            if (const auto e = hook_map.get("timeout")) {
                hook.timeout = reader.duration(*e).value_or(hook.timeout);
            }
            out.push_back(std::move(hook));
        }
    };
    read_list("pre_deploy", hooks.pre_deploy);
    read_list("post_deploy", hooks.post_deploy);
    read_list("on_rollback", hooks.on_rollback);
    return hooks;
}

// A command as an argument vector: a non-empty list of non-empty strings (never a shell line).
std::optional<std::vector<std::string>> read_argv(Reader& reader, const Entry& entry) {
    if (!entry.value.IsSequence() || entry.value.size() == 0) {
        reader.report(entry, "expected a command as a list of arguments, e.g. [nginx, -t]");
        return std::nullopt;
    }
    std::vector<std::string> argv;
    for (const Entry& item : reader.list(entry)) {
        if (auto arg = reader.non_empty(item, "an argument")) {
            argv.push_back(std::move(*arg));
        }
    }
    return argv.size() == entry.value.size() ? std::optional(argv) : std::nullopt;
}

// `proxy: {nginx: host, upstream_file, test, reload, pid_file}` or
// `proxy: {nginx: service, service, upstream_file, test}`.
ProxyConfig read_proxy(Reader& reader, const Entry& entry) {
    ProxyConfig proxy;
    const MapReader map(reader, entry, k_proxy_keys);
    if (!map.is_map()) {
        return proxy;
    }
    if (const auto e = map.get("nginx")) {
        proxy.nginx =
            read_choice(reader, *e, "host", NginxKind::Host, "service", NginxKind::Service)
                .value_or(proxy.nginx);
    } else {
        reader.report(entry, "missing required key \"nginx\" (nginx: host or nginx: service)");
    }
    if (const auto e = map.get("service")) {
        const auto name = reader.non_empty(*e, "a compose service name");
        if (proxy.nginx != NginxKind::Service) {
            reader.report(*e,
                          "service is read only with nginx: service (nginx as a service of "
                          "the shared compose project)");
        } else if (name && !valid_service_name(*name)) {
            reader.report(*e, fmt::format("\"{}\" is not a compose service name (letters, "
                                          "digits, ._-)",
                                          *name));
        } else if (name) {
            proxy.service = *name;
        }
    }
    if (const auto e = map.get("upstream_file")) {
        if (const auto path = reader.absolute_path(*e)) {
            proxy.upstream_file = *path;
        }
    } else {
        reader.report(entry,
                      "missing required key \"upstream_file\" (the file agentd writes, "
                      "included by nginx's http block)");
    }
    if (const auto e = map.get("test")) {
        proxy.test = read_argv(reader, *e).value_or(proxy.test);
    }
    // A service's master is its container's main process, reloaded by SIGHUP through the
    // Engine API: no command or pid file of the host's is involved.
    if (const auto e = map.get("reload")) {
        if (proxy.nginx == NginxKind::Service) {
            reader.report(*e,
                          "reload is read only with nginx: host (with nginx: service agentd "
                          "sends the container SIGHUP through the Engine API)");
        } else {
            proxy.reload = read_argv(reader, *e).value_or(proxy.reload);
        }
    }
    if (const auto e = map.get("pid_file")) {
        if (proxy.nginx == NginxKind::Service) {
            reader.report(*e,
                          "pid_file is read only with nginx: host (with nginx: service the "
                          "master is the container's main process)");
        } else if (const auto path = reader.absolute_path(*e)) {
            proxy.pid_file = *path;
        }
    }
    return proxy;
}

// `services: [web, "api:8080"]`: a compose service, and the container port the proxy uses
// (80 when not given).
std::optional<SlotService> read_slot_service(Reader& reader, const Entry& entry) {
    const auto text = reader.non_empty(entry, "a service name, or NAME:PORT");
    if (!text) {
        return std::nullopt;
    }
    SlotService service;
    const auto colon = text->find(':');
    service.name = text->substr(0, colon);
    // The name is part of nginx's upstream name, which has no ".".
    if (!valid_service_name(service.name) || service.name.find('.') != std::string::npos) {
        reader.report(entry, fmt::format("\"{}\" is not a slot service name (letters, "
                                         "digits, _ and -)",
                                         service.name));
        return std::nullopt;
    }
    if (colon != std::string::npos) {
        const auto port = text->substr(colon + 1);
        int value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535) {
            reader.report(entry, fmt::format("\"{}\": the port must be a number from 1 to "
                                             "65535",
                                             *text));
            return std::nullopt;
        }
        service.port = value;
    }
    return service;
}

// `blue_green: {services, proxy, keep_old_for, drain, soak}`.
BlueGreen read_blue_green(Reader& reader, const Entry& entry) {
    BlueGreen blue_green;
    const MapReader map(reader, entry, k_blue_green_keys);
    if (!map.is_map()) {
        return blue_green;
    }
    if (const auto e = map.get("services")) {
        for (const Entry& item : reader.list(*e)) {
            if (auto service = read_slot_service(reader, item)) {
                if (blue_green.is_slot_service(service->name)) {
                    reader.report(item, fmt::format("service {} is listed twice", service->name));
                } else {
                    blue_green.services.push_back(std::move(*service));
                }
            }
        }
        if (e->value.IsSequence() && e->value.size() == 0) {
            reader.report(*e, "needs at least one service to deploy in slots");
        }
    } else {
        reader.report(entry,
                      "missing required key \"services\" (the services deployed in "
                      "blue and green slots)");
    }
    if (const auto e = map.get("proxy")) {
        blue_green.proxy = read_proxy(reader, *e);
        if (blue_green.proxy.nginx == NginxKind::Service &&
            blue_green.is_slot_service(blue_green.proxy.service)) {
            reader.report(*e, fmt::format("the proxy's service {} is a slot service: nginx runs "
                                          "once, in the shared project",
                                          blue_green.proxy.service));
        }
    } else {
        reader.report(entry, "missing required key \"proxy\"");
    }
    if (const auto e = map.get("keep_old_for")) {
        blue_green.keep_old_for =
            reader.duration(*e, /*allow_zero=*/true).value_or(blue_green.keep_old_for);
    }
    if (const auto e = map.get("drain")) {
        blue_green.drain = reader.duration(*e, /*allow_zero=*/true).value_or(blue_green.drain);
    }
    if (const auto e = map.get("soak")) {
        blue_green.soak = reader.duration(*e).value_or(blue_green.soak);
    }
    return blue_green;
}

// `strategy: recreate|blue_green` with its `blue_green:` settings, which go together.
void read_strategy(Reader& reader, const MapReader& map, Stack& stack) {
    const auto strategy = map.get("strategy");
    if (strategy) {
        stack.strategy = read_choice(reader, *strategy, "recreate", Strategy::Recreate,
                                     "blue_green", Strategy::BlueGreen)
                             .value_or(stack.strategy);
    }
    const auto settings = map.get("blue_green");
    if (stack.strategy == Strategy::BlueGreen && !settings && strategy) {
        reader.report(*strategy, "strategy blue_green needs blue_green: {services, proxy}");
    }
    if (settings) {
        if (stack.strategy != Strategy::BlueGreen) {
            reader.report(*settings, "blue_green is read only with strategy: blue_green");
        }
        stack.blue_green = read_blue_green(reader, *settings);
    }
    if (stack.strategy != Strategy::BlueGreen) {
        stack.blue_green.reset();
    }
}

Stack read_stack(Reader& reader, const Entry& entry, const StackFields& defaults,
                 const std::filesystem::path& age_identity) {
    if (entry.value.IsNull()) {
        reader.report(entry, "expected a map, got nothing");  // an empty "-" item
        return {};
    }
    const MapReader map(reader, entry, k_stack_keys);
    Stack stack;
    if (!map.is_map()) {
        return stack;
    }
    if (const auto e = map.get("name")) {
        if (const auto name = reader.string(*e, "a stack name")) {
            if (valid_stack_name(*name)) {
                stack.name = *name;
            } else {
                reader.report(*e, fmt::format("\"{}\" is not a valid stack name: use 1-63 "
                                              "lower-case letters, digits, \"_\" and \"-\", "
                                              "starting with a letter or digit",
                                              *name));
            }
        }
    } else {
        reader.report(entry, "missing required key \"name\"");
    }
    const auto git = map.get("git");
    const auto dir = map.get("dir");
    if (git && dir) {
        reader.report(*dir, "set either git or dir, not both");
    } else if (!git && !dir) {
        reader.report(entry,
                      "needs a source: git (a repository) or dir (a directory on this host)");
    }
    if (git) {
        stack.git = read_git(reader, *git);
    }
    if (dir) {
        if (const auto path = reader.absolute_path(*dir)) {
            stack.dir = *path;
        }
    }
    if (const auto e = map.get("images")) {
        // Keys are the compose file's service names, so any valid name is accepted here.
        if (e->value.IsMap()) {
            for (const auto& item : e->value) {
                const auto service = item.first.Scalar();
                const Entry policy_entry{e->path + "." + service, item.first, item.second};
                if (!valid_service_name(service)) {
                    reader.report(policy_entry, fmt::format("\"{}\" is not a compose service "
                                                            "name (letters, digits, ._-)",
                                                            service));
                    continue;
                }
                const MapReader image(reader, policy_entry, k_image_keys);
                if (!image.is_map()) {
                    continue;
                }
                if (auto spec = read_policy_fields(reader, image, /*required=*/false)) {
                    stack.images[service] = std::move(*spec);
                } else if (!image.has("verify") && !image.has("semver") && !image.has("regex") &&
                           !image.has("order")) {
                    reader.report(policy_entry,
                                  "needs a tag policy (semver or regex), verify, or both");
                }
                if (const auto verify = image.get("verify")) {
                    if (auto v = read_verify(reader, *verify)) {
                        stack.image_verify[service] = std::move(*v);
                    }
                }
            }
        } else if (!e->value.IsNull()) {
            reader.report(*e, "expected a map of service names to tag policies");
        }
    }
    if (const auto e = map.get("verify")) {
        stack.verify = read_verify(reader, *e);
    }
    if (const auto e = map.get("hooks")) {
        stack.hooks = read_hooks(reader, *e);
    }
    if (const auto e = map.get("rollout")) {
        stack.rollout = read_rollout(reader, *e);
    }
    read_strategy(reader, map, stack);
    const StackFields own = read_stack_fields(reader, map, age_identity);
    stack.age_identity_file = age_identity;
    apply(defaults, stack);
    apply(own, stack);
    check_stable_within_timeout(reader, stack.health, own);
    return stack;
}

Registry read_registry(Reader& reader, const Entry& entry) {
    if (entry.value.IsNull()) {
        reader.report(entry, "expected a map, got nothing");  // an empty "-" item
        return {};
    }
    const MapReader map(reader, entry, k_registry_keys);
    Registry registry;
    if (!map.is_map()) {
        return registry;
    }
    if (const auto e = map.get("host")) {
        if (const auto host = reader.string(*e, "a host name")) {
            if (const auto problem = registry_host_problem(*host)) {
                reader.report(*e,
                              fmt::format("\"{}\" is not a registry host: {}", *host, *problem));
            } else {
                registry.host = *host;
            }
        }
    } else {
        reader.report(entry, "missing required key \"host\"");
    }
    if (const auto e = map.get("username")) {
        registry.username = reader.non_empty(*e).value_or("");
    }
    if (const auto e = map.get("password_file")) {
        // A relative name resolves in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
        registry.password_file = reader.non_empty(*e, "a path").value_or("");
    }
    if (const auto e = map.get("ca_file")) {
        registry.ca_file = reader.absolute_path(*e).value_or("");
    }
    if (const auto e = map.get("insecure_http")) {
        registry.insecure_http = reader.boolean(*e).value_or(false);
        if (registry.insecure_http && !registry.host.empty() &&
            !sys::is_loopback_authority(registry.host)) {
            reader.report(
                *e, fmt::format("plain HTTP is allowed only for loopback hosts (localhost, "
                                "127.0.0.0/8, [::1]): to \"{}\" it would send credentials and "
                                "images readable and changeable on the network; use HTTPS "
                                "(with ca_file for a private CA)",
                                registry.host));
        }
    }
    if (const auto e = map.get("max_concurrent_requests")) {
        if (const auto n = reader.integer(*e, 1, static_cast<int>(k_max_concurrent_requests),
                                          "a number of requests from 1 to 256")) {
            registry.max_concurrent_requests = static_cast<std::size_t>(*n);
        }
    }
    const bool has_user = map.has("username");
    const bool has_password = map.has("password_file");
    if (has_user != has_password) {
        reader.report(entry,
                      has_user ? "username needs password_file" : "password_file needs username");
    }
    return registry;
}

}  // namespace

StackFields read_defaults(Reader& reader, const Entry& entry,
                          const std::filesystem::path& age_identity_file) {
    const MapReader map(reader, entry, k_defaults_keys, k_defaults_refused);
    StackFields fields = read_stack_fields(reader, map, age_identity_file);
    Stack builtin;
    apply(fields, builtin);
    check_stable_within_timeout(reader, builtin.health, fields);
    return fields;
}

std::vector<Stack> read_stacks(Reader& reader, const Entry& entry, const StackFields& defaults,
                               const std::filesystem::path& age_identity_file) {
    std::vector<Stack> stacks;
    std::vector<int> lines;  // where each stack's name was written, for duplicates
    for (const Entry& item : reader.list(entry)) {
        Stack stack = read_stack(reader, item, defaults, age_identity_file);
        const YAML::Node name = item.value.IsMap() ? item.value["name"] : YAML::Node();
        const int line = name.IsDefined() ? name.Mark().line + 1 : 0;
        for (std::size_t i = 0; i < stacks.size() && !stack.name.empty(); ++i) {
            if (stacks[i].name == stack.name) {
                reader.report(name.Mark(), item.path + ".name",
                              fmt::format("duplicate stack name \"{}\" (first at line {})",
                                          stack.name, lines[i]));
                break;
            }
        }
        stacks.push_back(std::move(stack));
        lines.push_back(line);
    }
    return stacks;
}

std::vector<Registry> read_registries(Reader& reader, const Entry& entry) {
    std::vector<Registry> registries;
    std::vector<int> lines;
    for (const Entry& item : reader.list(entry)) {
        Registry registry = read_registry(reader, item);
        const YAML::Node host = item.value.IsMap() ? item.value["host"] : YAML::Node();
        const int line = host.IsDefined() ? host.Mark().line + 1 : 0;
        for (std::size_t i = 0; i < registries.size() && !registry.host.empty(); ++i) {
            if (same_host(registries[i].host, registry.host)) {
                reader.report(host.Mark(), item.path + ".host",
                              fmt::format("duplicate registry host \"{}\" (first at line {})",
                                          registry.host, lines[i]));
                break;
            }
        }
        registries.push_back(std::move(registry));
        lines.push_back(line);
    }
    return registries;
}

}  // namespace agentd::config
