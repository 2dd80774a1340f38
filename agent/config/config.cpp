// agent.yaml: the top level, loading, and the error type. The sections below the top level are
// in schema.cpp, the YAML walking with issue collection in yaml_reader.cpp.

#include "agent/config/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include "agent/config/checks.h"
#include "agent/config/fleet.h"
#include "agent/config/notifications.h"
#include "agent/config/schema.h"
#include "agent/config/yaml_reader.h"
#include "agent/sys/version.h"

namespace agentd::config {

namespace {

constexpr std::string_view k_top_keys[] = {"state_dir",         "api",        "project_prefix",
                                           "defaults",          "registries", "notifications",
                                           "age_identity_file", "fleet",      "stacks"};
constexpr std::string_view k_api_keys[] = {"socket", "listen", "cert_file", "key_file",
                                           "webhook_secret_file"};

bool is_ipv4(std::string_view text) {
    int parts = 0;
    std::size_t i = 0;
    while (i <= text.size()) {
        const std::size_t end = std::min(text.find('.', i), text.size());
        const auto part = text.substr(i, end - i);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0') ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(part)) > 255) {
            return false;
        }
        ++parts;
        i = end + 1;
    }
    return parts == 4;
}

bool is_ipv6(std::string_view text) {
    if (text.empty() || text.size() > 45) {
        return false;
    }
    int colons = 0;
    for (const char c : text) {
        if (c == ':') {
            ++colons;
        } else if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.') {
            return false;
        }
    }
    return colons >= 2 && colons <= 7;
}

std::string join_issues(const std::vector<Issue>& issues) {
    std::string text;
    for (const Issue& issue : issues) {
        if (!text.empty()) {
            text += '\n';
        }
        text += issue.to_string();
    }
    return text;
}

}  // namespace

std::optional<Listen> parse_listen(std::string_view text, std::string& why) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        why = "expected ADDR:PORT";
        return std::nullopt;
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    Listen listen;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        if (!is_ipv6(host)) {
            why = fmt::format("\"{}\" is not an IPv6 address", host);
            return std::nullopt;
        }
    } else if (!is_ipv4(host)) {
        why = host.empty() ? "the address is missing (0.0.0.0 listens on every interface)"
              : host.find(':') != std::string_view::npos
                  ? "write an IPv6 address in brackets"
                  : fmt::format("\"{}\" is not an IP address", host);
        return std::nullopt;
    }
    listen.host = std::string(host);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
        why = fmt::format("\"{}\" is not a port (1-65535)", port);
        return std::nullopt;
    }
    listen.port = std::stoi(std::string(port));
    return listen;
}

namespace {

Api read_api(Reader& reader, const Entry& entry) {
    const MapReader map(reader, entry, k_api_keys);
    Api api;
    if (const auto e = map.get("socket")) {
        api.socket = reader.absolute_path(*e).value_or(api.socket);
    }
    if (const auto e = map.get("listen")) {
        if (const auto text = reader.non_empty(*e, "ADDR:PORT")) {
            std::string why;
            api.listen = parse_listen(*text, why);
            if (!api.listen) {
                reader.report(*e, fmt::format("{} (e.g. 127.0.0.1:9465 or [::1]:9465)", why));
            }
        }
    }
    const auto cert = map.get("cert_file");
    const auto key = map.get("key_file");
    if (cert) {
        api.cert_file = reader.absolute_path(*cert).value_or("");
    }
    if (key) {
        api.key_file = reader.absolute_path(*key).value_or("");
    }
    if (cert.has_value() != key.has_value()) {
        const Entry& given = cert ? *cert : *key;
        reader.report(given, "TLS needs both api.cert_file and api.key_file");
    } else if (cert && !api.listen) {
        reader.report(*cert, "TLS is for api.listen, which is not set");
    }
    // A relative name resolves in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) when a
    // webhook arrives, so a rotated secret is used without a reload.
    if (const auto e = map.get("webhook_secret_file")) {
        if (const auto text = reader.non_empty(*e, "a path")) {
            if (!text->starts_with('/') && !is_relative_inside(*text)) {
                reader.report(*e, fmt::format("expected an absolute path, or a name in "
                                              "$CREDENTIALS_DIRECTORY without \"..\", got \"{}\"",
                                              *text));
            } else {
                api.webhook_secret_file = *text;
            }
        }
        if (!api.listen) {
            reader.report(*e, "webhooks are served on api.listen, which is not set");
        }
    }
    return api;
}

Config read_document(Reader& reader, const YAML::Node& document, const std::string& file) {
    Config config;
    config.source = file;
    const MapReader top(reader, Entry{"", document, document}, k_top_keys);
    if (const auto e = top.get("state_dir")) {
        config.state_dir = reader.absolute_path(*e).value_or(config.state_dir);
    }
    if (const auto e = top.get("api")) {
        config.api = read_api(reader, *e);
    }
    // Read before the stacks: a stack with an ".age" env file needs it.
    if (const auto e = top.get("age_identity_file")) {
        if (const auto text = reader.non_empty(*e, "a path")) {
            if (!text->starts_with('/') && !is_relative_inside(*text)) {
                reader.report(*e, fmt::format("expected an absolute path, or a name in "
                                              "$CREDENTIALS_DIRECTORY without \"..\", got \"{}\"",
                                              *text));
            } else {
                config.age_identity_file = *text;
            }
        }
    }
    const auto prefix = top.get("project_prefix");
    if (prefix) {
        if (const auto text = reader.string(*prefix, "a project name prefix")) {
            if (valid_project_prefix(*text)) {
                config.project_prefix = *text;
            } else {
                reader.report(*prefix, fmt::format("\"{}\" is not a valid project prefix: use at "
                                                   "most 31 lower-case letters, digits, \"_\" "
                                                   "and \"-\", starting with a letter or digit",
                                                   *text));
            }
        }
    }
    StackFields defaults;
    if (const auto e = top.get("defaults")) {
        defaults = read_defaults(reader, *e, config.age_identity_file);
    }
    if (const auto e = top.get("registries")) {
        config.registries = read_registries(reader, *e);
    }
    if (const auto e = top.get("notifications")) {
        config.notifications = read_notifications(reader, *e);
    }
    if (const auto e = top.get("fleet")) {
        config.fleet = read_fleet(reader, *e);
    }
    if (const auto e = top.get("stacks")) {
        config.stacks = read_stacks(reader, *e, defaults, config.age_identity_file);
        for (std::size_t i = 0; i < config.stacks.size(); ++i) {
            auto& stack = config.stacks[i];
            stack.project_prefix = config.project_prefix;
            // A blue-green stack's projects are <project>-blue, -green and -shared.
            const auto longest = stack.project() + (stack.blue_green ? "-shared" : "");
            if (longest.size() <= k_max_project_name) {
                continue;
            }
            const auto message = fmt::format(
                "with stack \"{}\", the compose project \"{}\" has {} characters, more than "
                "{}: shorten {}the stack's name",
                stack.name, longest, longest.size(), k_max_project_name,
                prefix ? "the prefix or " : "");
            if (prefix) {
                reader.report(*prefix, message);
            } else {
                reader.report(e->value[i]["name"].Mark(), fmt::format("stacks[{}].name", i),
                              message);
            }
        }
        for (std::size_t i = 0; i < config.stacks.size() && !config.fleet; ++i) {
            if (config.stacks[i].rollout) {
                const auto rollout = e->value[i]["rollout"];
                reader.report(rollout.Mark(), fmt::format("stacks[{}].rollout", i),
                              "a rollout is for hosts that coordinate through etcd: it needs "
                              "`fleet:` at the top level");
            }
        }
    }
    return config;
}

/// Records where each document starts; the events inside are not needed.
class DocumentStarts final : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

/// The first document of agent.yaml; anything after it is reported. Not YAML::LoadAll: in
/// yaml-cpp 0.7 it never returns (it allocates empty documents until memory runs out) when a
/// token that no rule consumes stands where a node should start, as in ",a" or "!t\n?\ns"
/// (yaml-cpp issue 1040, fixed in 0.8; found by tests/fuzz/agent_yaml). YAML::Load parses one
/// document; a second pass with yaml-cpp's own parser looks for the start of a second one and
/// stops there. A "second document" that does not open with "---" or a directive is where the
/// parser stopped on something it could not read.
YAML::Node load_one_document(const std::string& text, Reader& reader) {
    YAML::Node document = YAML::Load(text);
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentStarts documents;
    if (parser.HandleNextDocument(documents) && parser.HandleNextDocument(documents) &&
        documents.starts.size() == 2) {
        const YAML::Mark at = documents.starts[1];
        const std::string_view rest = std::string_view(text).substr(
            std::min(text.size(), static_cast<std::size_t>(std::max(at.pos, 0))));
        if (rest.starts_with("---") || rest.starts_with('%')) {
            reader.report(at, "", "expected one YAML document, found a second one");
        } else {
            const unsigned char c = rest.empty() ? 0 : static_cast<unsigned char>(rest[0]);
            reader.report(at, "",
                          std::isprint(c) != 0
                              ? fmt::format("unexpected '{}': not valid YAML here", char(c))
                              : fmt::format("unexpected byte 0x{:02x}: not valid YAML here", c));
            throw ConfigError(reader.take_issues());
        }
    }
    return document;
}

}  // namespace

std::string Issue::to_string() const {
    std::string text = file;
    if (line > 0) {
        text += fmt::format(":{}:{}", line, column);
    }
    if (!key.empty()) {
        text += ": " + key;
    }
    return text + ": " + message;
}

ConfigError::ConfigError(std::vector<Issue> issues)
    : std::runtime_error(join_issues(issues)), m_issues(std::move(issues)) {}

sys::Result<TagPolicySpec> TagPolicySpec::make(std::string semver, std::string regex,
                                               std::string order) {
    TagPolicySpec spec;
    if (!semver.empty()) {
        auto compiled = policy::TagPolicy::semver(semver);
        if (!compiled) {
            return compiled.error();
        }
        spec.semver = std::move(semver);
        spec.policy = std::move(*compiled);
        return spec;
    }
    auto parsed_order = policy::parse_regex_order(order.empty() ? spec.order : order);
    if (!parsed_order) {
        return parsed_order.error();
    }
    auto compiled = policy::TagPolicy::regex(regex, *parsed_order);
    if (!compiled) {
        return compiled.error();
    }
    spec.regex = std::move(regex);
    if (!order.empty()) {
        spec.order = std::move(order);
    }
    spec.policy = std::move(*compiled);
    return spec;
}

sys::Result<CosignKeyless> CosignKeyless::make(std::string_view identity, std::string_view issuer,
                                               std::filesystem::path trusted_root_file) {
    auto identity_pattern = sigstore::IdentityPattern::parse(identity);
    if (!identity_pattern) {
        return sys::Error::invalid("identity: " + identity_pattern.error().message);
    }
    auto issuer_pattern = sigstore::IdentityPattern::parse(issuer);
    if (!issuer_pattern) {
        return sys::Error::invalid("issuer: " + issuer_pattern.error().message);
    }
    if (trusted_root_file.empty()) {
        trusted_root_file = sys::k_public_good_trusted_root;
    }
    auto root = sigstore::load_trusted_root(trusted_root_file);
    if (!root) {
        return sys::Error::invalid("trusted_root: " + root.error().message);
    }
    CosignKeyless out;
    out.policy = {std::move(*identity_pattern), std::move(*issuer_pattern)};
    out.trusted_root_file = std::move(trusted_root_file);
    out.trusted_root = std::make_shared<const sigstore::TrustedRoot>(std::move(*root));
    return out;
}

bool BlueGreen::is_slot_service(const std::string& service) const {
    return std::any_of(services.begin(), services.end(),
                       [&](const SlotService& s) { return s.name == service; });
}

const ImageVerify* Stack::verify_for(const std::string& service) const {
    if (const auto it = image_verify.find(service); it != image_verify.end()) {
        return &it->second;
    }
    return verify ? &*verify : nullptr;
}

std::vector<std::filesystem::path> Stack::all_env_files() const {
    std::vector<std::filesystem::path> files;
    if (env_file) {
        files.push_back(*env_file);
    }
    files.insert(files.end(), env_files.begin(), env_files.end());
    return files;
}

const Stack* Config::find_stack(const std::string& name) const {
    const auto it =
        std::find_if(stacks.begin(), stacks.end(), [&](const Stack& s) { return s.name == name; });
    return it == stacks.end() ? nullptr : &*it;
}

const Registry* Config::find_registry(const std::string& host) const {
    const auto it = std::find_if(registries.begin(), registries.end(),
                                 [&](const Registry& r) { return same_host(r.host, host); });
    return it == registries.end() ? nullptr : &*it;
}

Config parse_config(const std::string& text, const std::string& file) {
    Reader reader(file);
    YAML::Node document;
    try {
        document = load_one_document(text, reader);
    } catch (const YAML::Exception& e) {
        reader.report(e.mark, "", e.msg);
        throw ConfigError(reader.take_issues());
    }
    Config config = read_document(reader, document, file);
    std::vector<Issue> issues = reader.take_issues();
    if (!issues.empty()) {
        // In file order, as an editor shows them; checks made after reading a section (such as
        // duplicates) would otherwise come late.
        std::stable_sort(issues.begin(), issues.end(), [](const Issue& a, const Issue& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        throw ConfigError(std::move(issues));
    }
    return config;
}

Config load_config(const std::filesystem::path& path) {
    auto unreadable = [&](int error) {
        return ConfigError(
            {Issue{path.string(), 0, 0, "", fmt::format("cannot read: {}", std::strerror(error))}});
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw unreadable(EISDIR);  // opening a directory for reading succeeds; reading does not
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
        throw unreadable(errno != 0 ? errno : EIO);
    }
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        throw unreadable(errno != 0 ? errno : EIO);
    }
    Config config = parse_config(text, path.string());
    config.source = path;
    return config;
}

}  // namespace agentd::config
