#include "agent/sources/docker_config.h"

#include "agent/sys/base64.h"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/sources/registry_headers.h"
#include "agent/sys/files.h"

namespace agentd::sources {
namespace {

namespace fs = std::filesystem;
using Found = std::optional<RegistryCredentials>;

// Where Docker Hub's credentials live in config.json, and what helpers are asked for.
constexpr std::string_view k_docker_hub_server = "https://index.docker.io/v1/";
constexpr std::string_view k_identity_username = "<token>";
constexpr auto k_helper_timeout = std::chrono::seconds(30);

bool valid_helper_name(std::string_view name) {
    if (name.empty() || name.front() == '.' || name.size() > 100) {
        return false;
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// A username goes into "user:password" for Basic auth and into messages.
bool valid_username(std::string_view name) {
    for (char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ':') {
            return false;
        }
    }
    return !name.empty();
}

// The 1-based line of byte `offset`, so a parse error can be located without quoting the text
// (nlohmann's own message quotes what it read, which may be a secret).
std::size_t line_of(const std::string& text, std::size_t offset) {
    std::size_t line = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        line += text[i] == '\n' ? 1 : 0;
    }
    return line;
}

constexpr std::size_t k_complaint_max = 160;
constexpr std::size_t k_token_min = 20;

bool token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '_' || c == '-';
}

/// `line` with every word that looks like a secret replaced by "***": a run of at least 20
/// base64/token characters mixing letters and digits (access tokens, API keys, JWT parts).
/// Human words and paths rarely look like that; a secret that does not is not caught, which
/// is why only stderr, and only one line of it, is ever shown.
std::string mask_tokens(std::string_view line) {
    std::string out;
    std::size_t i = 0;
    while (i < line.size()) {
        if (!token_char(line[i])) {
            out += line[i++];
            continue;
        }
        const std::size_t start = i;
        bool letter = false;
        bool digit = false;
        while (i < line.size() && token_char(line[i])) {
            letter =
                letter || (line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z');
            digit = digit || (line[i] >= '0' && line[i] <= '9');
            ++i;
        }
        const auto word = line.substr(start, i - start);
        out += word.size() >= k_token_min && letter && digit ? std::string_view("***") : word;
    }
    return out;
}

}  // namespace

std::string helper_complaint(std::string_view err) {
    // The last non-empty line: helpers end with the error after any warnings.
    const auto end = err.find_last_not_of(" \t\r\n");
    err = end == std::string_view::npos ? std::string_view() : err.substr(0, end + 1);
    const auto start = err.find_last_of('\n');
    const auto line = start == std::string_view::npos ? err : err.substr(start + 1);
    std::string printable;
    for (const char c : line) {
        const auto byte = static_cast<unsigned char>(c);
        printable += byte >= 0x20 && byte < 0x7f ? c : '?';
    }
    while (!printable.empty() && printable.front() == ' ') {
        printable.erase(0, 1);
    }
    auto masked = mask_tokens(printable);
    if (masked.size() > k_complaint_max) {
        masked = masked.substr(0, k_complaint_max) + "...";
    }
    return masked;
}

namespace {}  // namespace

std::string docker_config_host(const std::string& key) {
    std::string_view host = key;
    for (std::string_view scheme : {"https://", "http://"}) {
        if (ascii_lower(host.substr(0, scheme.size())) == scheme) {
            host.remove_prefix(scheme.size());
            break;
        }
    }
    host = host.substr(0, host.find('/'));
    const std::string lowered = ascii_lower(host);
    if (lowered == "index.docker.io" || lowered == "registry-1.docker.io" ||
        lowered == "docker.io") {
        return "docker.io";
    }
    return lowered;
}

DockerCredentials::DockerCredentials(sys::ProcessRunner& runner, std::filesystem::path config_path,
                                     std::filesystem::path helper_dir)
    : m_runner(runner),
      m_config_path(std::move(config_path)),
      m_helper_dir(std::move(helper_dir)) {}

std::filesystem::path DockerCredentials::config_path() const {
    if (!m_config_path.empty()) {
        return m_config_path;
    }
    if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
        return fs::path(dir) / "config.json";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return fs::path(home) / ".docker" / "config.json";
    }
    return {};
}

sys::Result<std::optional<RegistryCredentials>> DockerCredentials::lookup(
    const std::string& registry_host) const {
    const fs::path path = config_path();
    if (path.empty()) {
        return Found{};
    }
    auto text = sys::read_file(path);
    if (!text) {
        if (text.error().is_not_found()) {
            return Found{};
        }
        return sys::Error::failed(
            fmt::format("docker config {}: {}", path.string(), text.error().message));
    }
    const auto malformed = [&](std::string_view why) {
        return sys::Error::failed(fmt::format("docker config {}: {}", path.string(), why));
    };
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        return malformed(fmt::format("malformed JSON near line {}", line_of(*text, e.byte)));
    } catch (const nlohmann::json::out_of_range&) {
        return malformed("a number in it is out of range");  // 1e400: valid JSON, not a double
    }
    if (!json.is_object()) {
        return malformed("expected a JSON object");
    }
    const std::string host = docker_config_host(registry_host);

    // 1. A helper named for this host.
    if (const auto helpers = json.find("credHelpers"); helpers != json.end()) {
        if (!helpers->is_object()) {
            return malformed("credHelpers is not an object");
        }
        for (const auto& [key, helper] : helpers->items()) {
            if (docker_config_host(key) != host) {
                continue;
            }
            if (!helper.is_string() || !valid_helper_name(helper.get<std::string>())) {
                return malformed(fmt::format("credHelpers entry for {} is not a helper name", key));
            }
            return run_helper(helper.get<std::string>(), registry_host);
        }
    }

    // 2. Credentials stored in the file itself.
    if (const auto auths = json.find("auths"); auths != json.end()) {
        if (!auths->is_object()) {
            return malformed("auths is not an object");
        }
        for (const auto& [key, entry] : auths->items()) {
            if (docker_config_host(key) != host) {
                continue;
            }
            if (!entry.is_object()) {
                return malformed(fmt::format("auths entry for {} is not an object", key));
            }
            // Captured by name: clang before 16 cannot capture a structured binding.
            const auto field = [&entry = entry](const char* name) -> std::optional<std::string> {
                const auto it = entry.find(name);
                if (it == entry.end() || !it->is_string()) {
                    return std::nullopt;
                }
                return it->get<std::string>();
            };
            RegistryCredentials creds;
            if (const auto token = field("identitytoken"); token && !token->empty()) {
                creds = {std::string(k_identity_username), *token, true};
            } else if (const auto auth = field("auth"); auth && !auth->empty()) {
                const auto decoded = sys::base64_decode(*auth);
                const auto colon = decoded ? decoded->find(':') : std::string::npos;
                if (colon == std::string::npos) {
                    return malformed(fmt::format(
                        "auths entry for {}: \"auth\" is not base64 of user:password", key));
                }
                creds.username = decoded->substr(0, colon);
                creds.password = decoded->substr(colon + 1);
            } else if (const auto user = field("username"); user && !user->empty()) {
                creds.username = *user;
                creds.password = field("password").value_or("");
            } else {
                continue;  // an empty entry: `docker login` with a credsStore leaves these
            }
            if (!valid_username(creds.username)) {
                return malformed(fmt::format("auths entry for {}: invalid username", key));
            }
            return Found{std::move(creds)};
        }
    }

    // 3. The default helper.
    if (const auto store = json.find("credsStore"); store != json.end()) {
        if (!store->is_string() ||
            (!store->get<std::string>().empty() && !valid_helper_name(store->get<std::string>()))) {
            return malformed("credsStore is not a helper name");
        }
        if (!store->get<std::string>().empty()) {
            return run_helper(store->get<std::string>(), registry_host);
        }
    }
    return Found{};
}

sys::Result<std::optional<RegistryCredentials>> DockerCredentials::run_helper(
    const std::string& helper, const std::string& registry_host) const {
    const std::string program = "docker-credential-" + helper;
    sys::ProcessSpec spec;
    spec.argv = {m_helper_dir.empty() ? program : (m_helper_dir / program).string(), "get"};
    // Helpers are keyed by what `docker login` stored: Hub under its v1 URL, others by host.
    spec.stdin_data = docker_config_host(registry_host) == "docker.io"
                          ? std::string(k_docker_hub_server)
                          : registry_host;
    spec.timeout = k_helper_timeout;
    auto result = m_runner.run(spec);
    if (!result) {
        return sys::Error::failed(fmt::format("credential helper {} for {}: {}", program,
                                              registry_host, result.error().message));
    }
    if (!result->success()) {
        // docker-credential-helpers' ErrCredentialsNotFound: anonymous, not a failure.
        if (result->out.find("credentials not found") != std::string::npos ||
            result->err.find("credentials not found") != std::string::npos) {
            spdlog::debug("credential helper {} has no credentials for {}", program, registry_host);
            return Found{};
        }
        // Only stderr, reduced by helper_complaint: stdout is where a helper writes
        // credentials, and one that fails halfway may have written some.
        std::string why = result->timed_out ? std::string("timed out")
                                            : fmt::format("exit {}", result->exit_code);
        if (const auto complaint = helper_complaint(result->err); !complaint.empty()) {
            why = result->timed_out ? why + ": " + complaint : complaint;
        }
        return sys::Error::failed(
            fmt::format("credential helper {} for {} failed: {}", program, registry_host, why));
    }
    const auto json = nlohmann::json::parse(result->out, nullptr, false);
    const auto username = json.is_object() ? json.find("Username") : json.end();
    const auto secret = json.is_object() ? json.find("Secret") : json.end();
    if (!json.is_object() || username == json.end() || !username->is_string() ||
        secret == json.end() || !secret->is_string()) {
        return sys::Error::failed(
            fmt::format("credential helper {} for {} answered without Username and Secret", program,
                        registry_host));
    }
    RegistryCredentials creds{username->get<std::string>(), secret->get<std::string>(), false};
    if (creds.username.empty() && creds.password.empty()) {
        return Found{};
    }
    if (!valid_username(creds.username)) {
        return sys::Error::failed(fmt::format(
            "credential helper {} for {} answered an invalid username", program, registry_host));
    }
    creds.identity_token = creds.username == k_identity_username;
    return Found{std::move(creds)};
}

}  // namespace agentd::sources
