#include "agent/runtime/docker_engine.h"

#include "agent/runtime/docker_events.h"

#include "agent/sys/base64.h"
#include "agent/sys/url.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace agentd::runtime {

namespace {

using nlohmann::json;

// The newest API version this code relies on; newer engines are asked for this one.
constexpr int k_max_api_major = 1;
constexpr int k_max_api_minor = 41;
constexpr auto k_pull_timeout = std::chrono::minutes(30);
constexpr auto k_watch_timeout = std::chrono::seconds(10);

bool parse_version(const std::string& text, int& major, int& minor) {
    char rest = 0;
    return std::sscanf(text.c_str(), "%d.%d%c", &major, &minor, &rest) == 2;
}

/// Image references end up in URL paths: allow only what a reference can contain.
bool valid_reference(const std::string& reference) {
    return !reference.empty() && reference.size() <= 512 &&
           std::all_of(reference.begin(), reference.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':' ||
                      c == '@';
           });
}

/// The engine's explanation of a failed call: {"message": ...}, or the raw body.
std::string engine_message(const sys::HttpResponse& response) {
    auto doc = json::parse(response.body, nullptr, false);
    if (doc.is_object() && doc.contains("message") && doc["message"].is_string()) {
        return doc["message"].get<std::string>();
    }
    std::string body = response.body.substr(0, 300);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) {
        body.pop_back();
    }
    return body.empty() ? fmt::format("HTTP {}", response.status) : body;
}

// Fields of the engine's answers are read by type: a field of another type counts as absent
// (json::value() would throw, and nothing up the stack expects an exception).
std::string string_at(const json& j, const json::json_pointer& p) {
    return j.contains(p) && j[p].is_string() ? j[p].get<std::string>() : std::string();
}

int int_at(const json& j, const json::json_pointer& p) {
    return j.contains(p) && j[p].is_number_integer() ? j[p].get<int>() : 0;
}

/// The output of the newest failed health check (Docker keeps the last five).
std::string last_failed_health_output(const json& inspect) {
    const json::json_pointer log_ptr("/State/Health/Log");
    if (!inspect.contains(log_ptr) || !inspect[log_ptr].is_array()) {
        return {};
    }
    const auto& log = inspect[log_ptr];
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
        if (int_at(*it, json::json_pointer("/ExitCode")) != 0) {
            std::string out = string_at(*it, json::json_pointer("/Output"));
            while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) {
                out.pop_back();
            }
            return out;
        }
    }
    return {};
}

ContainerState container_from_inspect(const json& inspect) {
    ContainerState c;
    c.id = string_at(inspect, json::json_pointer("/Id"));
    c.name = string_at(inspect, json::json_pointer("/Name"));
    if (!c.name.empty() && c.name.front() == '/') {
        c.name.erase(0, 1);
    }
    c.service = string_at(inspect, json::json_pointer("/Config/Labels/com.docker.compose.service"));
    c.one_off = string_at(inspect,
                          json::json_pointer("/Config/Labels/com.docker.compose.oneoff")) == "True";
    c.image = string_at(inspect, json::json_pointer("/Config/Image"));
    c.image_id = string_at(inspect, json::json_pointer("/Image"));
    c.state = string_at(inspect, json::json_pointer("/State/Status"));
    // Engine 20.10 leaves State.Health out for containers without a healthcheck.
    c.health = string_at(inspect, json::json_pointer("/State/Health/Status"));
    c.health_log = last_failed_health_output(inspect);
    c.exit_code = int_at(inspect, json::json_pointer("/State/ExitCode"));
    c.restart_count =
        inspect.contains("RestartCount") && inspect["RestartCount"].is_number_integer()
            ? inspect["RestartCount"].get<int>()
            : 0;
    const json::json_pointer oom("/State/OOMKilled");
    c.oom_killed = inspect.contains(oom) && inspect[oom].is_boolean() && inspect[oom].get<bool>();
    c.restart_policy = string_at(inspect, json::json_pointer("/HostConfig/RestartPolicy/Name"));
    if (c.restart_policy.empty()) {
        c.restart_policy = "no";
    }
    // A never started container reports "0001-01-01T00:00:00Z": leave started_at at its default.
    const auto started = string_at(inspect, json::json_pointer("/State/StartedAt"));
    sys::TimePoint t;
    if (started.rfind("0001-", 0) != 0 && sys::parse_rfc3339(started, t)) {
        c.started_at = t;
    }
    return c;
}

/// The engine relays registry authentication failures as 401/403 or, more often, as a 500 or a
/// stream error whose text is the registry's: recognise both so callers can tell "credentials
/// wrong or missing" from other failures.
bool is_auth_failure(long status, const std::string& message) {
    return status == 401 || status == 403 || message.find("unauthorized") != std::string::npos ||
           message.find("no basic auth credentials") != std::string::npos ||
           message.find("authentication required") != std::string::npos ||
           message.find("denied: requested access") != std::string::npos;
}

}  // namespace

std::pair<std::string, std::string> split_pull_reference(const std::string& reference) {
    std::string name = reference;
    std::string digest;
    if (const auto at = name.find('@'); at != std::string::npos) {
        digest = name.substr(at + 1);
        name.erase(at);
    }
    std::string tag;
    // A ':' after the last '/' separates the tag (before it, it is a registry port).
    const auto slash = name.rfind('/');
    const auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        tag = name.substr(colon + 1);
        name.erase(colon);
    }
    if (!digest.empty()) {
        return {name, digest};
    }
    return {name, tag.empty() ? "latest" : tag};
}

DockerEngine::DockerEngine(sys::HttpClient& http, std::string socket_path)
    : m_http(http), m_socket_path(std::move(socket_path)) {}

sys::Result<std::string> DockerEngine::api_version() {
    if (!m_api_version.empty()) {
        return m_api_version;
    }
    auto ping = m_http.send({.url = "http://localhost/_ping", .unix_socket = m_socket_path});
    if (!ping) {
        return sys::Error::failed(
            fmt::format("docker engine at {}: {}", m_socket_path, ping.error().message));
    }
    if (ping->status != 200) {
        return sys::Error::failed(
            fmt::format("docker engine at {}: ping: {}", m_socket_path, engine_message(*ping)));
    }
    const auto header = ping->header("api-version");
    int major = 0;
    int minor = 0;
    if (!header || !parse_version(*header, major, minor)) {
        return sys::Error::failed(
            fmt::format("docker engine at {}: ping answered no usable Api-Version", m_socket_path));
    }
    if (major > k_max_api_major || (major == k_max_api_major && minor > k_max_api_minor)) {
        major = k_max_api_major;
        minor = k_max_api_minor;
    }
    m_api_version = fmt::format("{}.{}", major, minor);
    return m_api_version;
}

sys::Result<void> DockerEngine::ping(sys::Duration timeout) {
    auto ping = m_http.send(
        {.url = "http://localhost/_ping", .unix_socket = m_socket_path, .timeout = timeout});
    if (!ping) {
        return sys::Error::unavailable(
            fmt::format("docker engine at {}: {}", m_socket_path, ping.error().message));
    }
    if (ping->status != 200) {
        return sys::Error::unavailable(
            fmt::format("docker engine at {}: ping: {}", m_socket_path, engine_message(*ping)));
    }
    return {};
}

sys::Result<sys::HttpResponse> DockerEngine::call(const std::string& method,
                                                  const std::string& path, sys::HttpRequest extra) {
    auto version = api_version();
    if (!version) {
        return version.error();
    }
    extra.method = method;
    extra.url = fmt::format("http://localhost/v{}{}", *version, path);
    extra.unix_socket = m_socket_path;
    return m_http.send(extra);
}

sys::Result<void> DockerEngine::pull(const std::string& reference,
                                     const std::optional<RegistryCredentials>& credentials,
                                     const PullObserver& progress) {
    if (!valid_reference(reference)) {
        return sys::Error::invalid(fmt::format("pull: invalid image reference \"{}\"", reference));
    }
    const auto [name, tag] = split_pull_reference(reference);
    sys::HttpRequest request;
    request.timeout = k_pull_timeout;
    if (credentials) {
        const json auth = {{"username", credentials->username},
                           {"password", credentials->password},
                           {"serveraddress", credentials->server}};
        request.headers.emplace_back("X-Registry-Auth", sys::base64url_encode(auth.dump()));
    }
    // The progress stream is one JSON object per line; failures arrive as {"error": ...,
    // "errorDetail": {...}} inside the 200.
    std::string pending;
    std::string stream_error;
    std::string raw;  // the body of a non-200 answer
    PullTracker tracker(reference);
    auto take_line = [&](std::string_view line) {
        if (tracker.take(line) && progress) {
            progress(tracker.progress());
        }
        const auto doc = json::parse(line, nullptr, false);
        if (!doc.is_object() || !stream_error.empty()) {
            return;
        }
        const json::json_pointer detail("/errorDetail/message");
        if (doc.contains(detail) && doc[detail].is_string()) {
            stream_error = doc[detail].get<std::string>();
        } else if (doc.contains("error")) {
            stream_error =
                doc["error"].is_string() ? doc["error"].get<std::string>() : doc["error"].dump();
        }
    };
    request.on_body = [&](std::string_view chunk) {
        if (raw.size() < 4096) {
            raw.append(chunk.substr(0, 4096 - raw.size()));
        }
        pending.append(chunk);
        std::size_t newline;
        while ((newline = pending.find('\n')) != std::string::npos) {
            take_line(std::string_view(pending).substr(0, newline));
            pending.erase(0, newline + 1);
        }
        return true;
    };
    const std::string path = fmt::format("/images/create?fromImage={}&tag={}",
                                         sys::url_encode(name), sys::url_encode(tag));
    auto response = call("POST", path, std::move(request));
    if (!response) {
        return sys::Error::failed(fmt::format("pull {}: {}", reference, response.error().message));
    }
    if (response->status != 200) {
        sys::HttpResponse answer = *response;
        answer.body = raw;
        const auto message = fmt::format("pull {}: {}", reference, engine_message(answer));
        if (response->status == 404) {
            return sys::Error::not_found(message);
        }
        if (is_auth_failure(response->status, message)) {
            return sys::Error::unauthorized(message);
        }
        return sys::Error::failed(message);
    }
    if (!pending.empty()) {
        take_line(pending);
    }
    if (!stream_error.empty()) {
        const auto message = fmt::format("pull {}: {}", reference, stream_error);
        if (is_auth_failure(0, stream_error)) {
            return sys::Error::unauthorized(message);
        }
        return sys::Error::failed(message);
    }
    tracker.finish();
    if (progress) {
        progress(tracker.progress());
    }
    return {};
}

sys::Result<std::string> DockerEngine::image_id(const std::string& reference) {
    if (!valid_reference(reference)) {
        return sys::Error::invalid(fmt::format("image: invalid reference \"{}\"", reference));
    }
    auto response = call("GET", fmt::format("/images/{}/json", reference));
    if (!response) {
        return sys::Error::failed(
            fmt::format("inspect image {}: {}", reference, response.error().message));
    }
    if (response->status == 404) {
        return std::string();
    }
    if (response->status != 200) {
        return sys::Error::failed(
            fmt::format("inspect image {}: {}", reference, engine_message(*response)));
    }
    auto id = string_at(json::parse(response->body, nullptr, false), json::json_pointer("/Id"));
    if (id.empty()) {
        return sys::Error::failed(
            fmt::format("inspect image {}: the engine's answer has no image id", reference));
    }
    return id;
}

sys::Result<bool> DockerEngine::has_image(const std::string& reference) {
    auto id = image_id(reference);
    if (!id) {
        return id.error();
    }
    return !id->empty();
}

namespace {

bool valid_container_id(const std::string& id) {
    return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

sys::Result<void> DockerEngine::stop_container(const std::string& id, sys::Duration grace) {
    if (!valid_container_id(id)) {
        return sys::Error::invalid(fmt::format("container: invalid id \"{}\"", id));
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(grace).count();
    sys::HttpRequest request;
    request.timeout = grace + std::chrono::seconds(30);
    auto response = call("POST", fmt::format("/containers/{}/stop?t={}", id, seconds), request);
    if (!response) {
        return sys::Error::failed(
            fmt::format("stop container {}: {}", id.substr(0, 12), response.error().message));
    }
    // 304: already stopped; 404: gone.
    if (response->status != 204 && response->status != 304 && response->status != 404) {
        return sys::Error::failed(
            fmt::format("stop container {}: {}", id.substr(0, 12), engine_message(*response)));
    }
    return {};
}

sys::Result<void> DockerEngine::ensure_network(const std::string& name) {
    if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        })) {
        return sys::Error::invalid(fmt::format("network: invalid name \"{}\"", name));
    }
    auto found = call("GET", "/networks/" + name);
    if (!found) {
        return sys::Error::failed(fmt::format("network {}: {}", name, found.error().message));
    }
    if (found->status == 200) {
        return {};
    }
    sys::HttpRequest request;
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = json{{"Name", name},
                        {"Driver", "bridge"},
                        {"CheckDuplicate", true},
                        {"Labels", {{"io.agentd.network", "blue-green"}}}}
                       .dump();
    auto created = call("POST", "/networks/create", request);
    if (!created) {
        return sys::Error::failed(
            fmt::format("create network {}: {}", name, created.error().message));
    }
    // 409: created meanwhile by someone else, which is as good.
    if (created->status != 201 && created->status != 409) {
        return sys::Error::failed(
            fmt::format("create network {}: {}", name, engine_message(*created)));
    }
    return {};
}

sys::Result<void> DockerEngine::remove_container(const std::string& id) {
    if (!valid_container_id(id)) {
        return sys::Error::invalid(fmt::format("container: invalid id \"{}\"", id));
    }
    auto response = call("DELETE", fmt::format("/containers/{}?force=true", id));
    if (!response) {
        return sys::Error::failed(
            fmt::format("remove container {}: {}", id.substr(0, 12), response.error().message));
    }
    if (response->status != 204 && response->status != 404) {
        return sys::Error::failed(fmt::format("remove container {}: {}", id.substr(0, 12),
                                              engine_message(*response)));
    }
    return {};
}

namespace {

constexpr std::size_t k_exec_output_limit = 64 * 1024;
constexpr auto k_exec_exit_wait = std::chrono::seconds(5);

/// "HUP", "SIGHUP", "1": what goes into kill's query string.
bool valid_signal(const std::string& signal) {
    return !signal.empty() && signal.size() <= 16 &&
           std::all_of(signal.begin(), signal.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

/// The output of an attached exec without a TTY: frames of an 8-byte header (the stream: 1
/// stdout, 2 stderr; three zero bytes; the payload's size, big-endian) and the payload. Fed
/// chunk by chunk; keeps the payloads of both streams, in order, up to the limit.
class ExecOutput {
public:
    void take(std::string_view chunk) {
        while (!chunk.empty()) {
            if (m_remaining == 0) {
                const auto n = std::min(chunk.size(), 8 - m_header.size());
                m_header.append(chunk.substr(0, n));
                chunk.remove_prefix(n);
                if (m_header.size() == 8) {
                    m_remaining = 0;
                    for (std::size_t i = 4; i < 8; ++i) {
                        m_remaining = (m_remaining << 8) | static_cast<unsigned char>(m_header[i]);
                    }
                    m_header.clear();
                }
                continue;
            }
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), m_remaining));
            if (m_output.size() < k_exec_output_limit) {
                m_output.append(
                    chunk.substr(0, std::min(n, k_exec_output_limit - m_output.size())));
            }
            m_remaining -= n;
            chunk.remove_prefix(n);
        }
    }
    std::string take_output() { return std::move(m_output); }

private:
    std::string m_header;           // of the frame being read, until it has its 8 bytes
    std::uint64_t m_remaining = 0;  // payload bytes of the current frame still to come
    std::string m_output;
};

}  // namespace

sys::Result<ExecResult> DockerEngine::exec(const std::string& id,
                                           const std::vector<std::string>& argv,
                                           sys::Duration timeout) {
    if (!valid_container_id(id)) {
        return sys::Error::invalid(fmt::format("container: invalid id \"{}\"", id));
    }
    if (argv.empty() || argv.front().empty()) {
        return sys::Error::invalid(
            fmt::format("exec in container {}: no command", id.substr(0, 12)));
    }
    const auto what = fmt::format("exec {} in container {}", argv.front(), id.substr(0, 12));
    sys::HttpRequest create;
    create.headers.emplace_back("Content-Type", "application/json");
    create.body = json{
        {"AttachStdin", false},
        {"AttachStdout", true},
        {"AttachStderr", true},
        {"Tty", false},
        {"Cmd", argv}}.dump();
    auto created = call("POST", fmt::format("/containers/{}/exec", id), create);
    if (!created) {
        return sys::Error::failed(fmt::format("{}: {}", what, created.error().message));
    }
    if (created->status == 404) {
        return sys::Error::not_found(fmt::format("{}: {}", what, engine_message(*created)));
    }
    if (created->status != 201) {
        return sys::Error::failed(fmt::format("{}: {}", what, engine_message(*created)));
    }
    const auto exec_id =
        string_at(json::parse(created->body, nullptr, false), json::json_pointer("/Id"));
    if (!valid_container_id(exec_id)) {  // an exec id has a container id's form
        return sys::Error::failed(fmt::format("{}: the engine answered no usable exec id", what));
    }
    // Attached: the answer's body is the command's output until it ends.
    ExecOutput output;
    std::string raw;  // the body of an answer other than 200
    sys::HttpRequest start;
    start.headers.emplace_back("Content-Type", "application/json");
    start.body = json{{"Detach", false}, {"Tty", false}}.dump();
    start.timeout = timeout;
    start.on_body = [&](std::string_view chunk) {
        if (raw.size() < 4096) {
            raw.append(chunk.substr(0, 4096 - raw.size()));
        }
        output.take(chunk);
        return true;
    };
    auto started = call("POST", fmt::format("/exec/{}/start", exec_id), start);
    if (!started) {
        return sys::Error::failed(fmt::format("{}: {} (within {})", what, started.error().message,
                                              sys::format_duration(timeout)));
    }
    if (started->status != 200) {
        sys::HttpResponse answer = *started;
        answer.body = raw;
        return sys::Error::failed(fmt::format("{}: {}", what, engine_message(answer)));
    }
    // The stream ends when the command has; the engine records its exit code right after.
    const auto deadline = std::chrono::steady_clock::now() + k_exec_exit_wait;
    while (true) {
        auto inspected = call("GET", fmt::format("/exec/{}/json", exec_id));
        if (!inspected) {
            return sys::Error::failed(fmt::format("{}: {}", what, inspected.error().message));
        }
        if (inspected->status != 200) {
            return sys::Error::failed(fmt::format("{}: {}", what, engine_message(*inspected)));
        }
        const auto doc = json::parse(inspected->body, nullptr, false);
        const json::json_pointer running("/Running");
        const json::json_pointer code("/ExitCode");
        const bool still =
            doc.contains(running) && doc[running].is_boolean() && doc[running].get<bool>();
        if (!still && doc.contains(code) && doc[code].is_number_integer()) {
            return ExecResult{.exit_code = doc[code].get<int>(), .output = output.take_output()};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return sys::Error::failed(
                fmt::format("{}: the engine reported no exit code after its output ended", what));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

sys::Result<void> DockerEngine::signal(const std::string& id, const std::string& signal) {
    if (!valid_container_id(id)) {
        return sys::Error::invalid(fmt::format("container: invalid id \"{}\"", id));
    }
    if (!valid_signal(signal)) {
        return sys::Error::invalid(fmt::format("signal: invalid name \"{}\"", signal));
    }
    auto response = call("POST", fmt::format("/containers/{}/kill?signal={}", id, signal));
    if (!response) {
        return sys::Error::failed(fmt::format("signal {} to container {}: {}", signal,
                                              id.substr(0, 12), response.error().message));
    }
    if (response->status == 404) {
        return sys::Error::not_found(fmt::format("signal {} to container {}: {}", signal,
                                                 id.substr(0, 12), engine_message(*response)));
    }
    if (response->status != 204) {
        return sys::Error::failed(fmt::format("signal {} to container {}: {}", signal,
                                              id.substr(0, 12), engine_message(*response)));
    }
    return {};
}

sys::Result<int> DockerEngine::main_pid(const std::string& id) {
    if (!valid_container_id(id)) {
        return sys::Error::invalid(fmt::format("container: invalid id \"{}\"", id));
    }
    auto response = call("GET", fmt::format("/containers/{}/json", id));
    if (!response) {
        return sys::Error::failed(
            fmt::format("inspect container {}: {}", id.substr(0, 12), response.error().message));
    }
    if (response->status == 404) {
        return sys::Error::not_found(
            fmt::format("inspect container {}: {}", id.substr(0, 12), engine_message(*response)));
    }
    if (response->status != 200) {
        return sys::Error::failed(
            fmt::format("inspect container {}: {}", id.substr(0, 12), engine_message(*response)));
    }
    const auto doc = json::parse(response->body, nullptr, false);
    const auto pid = int_at(doc, json::json_pointer("/State/Pid"));
    const auto state = string_at(doc, json::json_pointer("/State/Status"));
    if (state != "running" || pid <= 0) {
        return sys::Error::failed(fmt::format("container {} does not run (state {})",
                                              id.substr(0, 12), state.empty() ? "unknown" : state));
    }
    return pid;
}

sys::Result<json> DockerEngine::listing(const std::string& project) {
    if (project.empty()) {
        return sys::Error::invalid("list containers: empty project name");
    }
    const json filters = {{"label", {"com.docker.compose.project=" + project}}};
    auto list = call("GET", "/containers/json?all=1&filters=" + sys::url_encode(filters.dump()));
    if (!list) {
        return sys::Error::failed(
            fmt::format("list containers of {}: {}", project, list.error().message));
    }
    if (list->status != 200) {
        return sys::Error::failed(
            fmt::format("list containers of {}: {}", project, engine_message(*list)));
    }
    auto entries = json::parse(list->body, nullptr, false);
    if (!entries.is_array()) {
        return sys::Error::failed(
            fmt::format("list containers of {}: the engine answered malformed JSON", project));
    }
    return entries;
}

sys::Result<std::vector<ContainerSummary>> DockerEngine::list_containers(
    const std::string& project) {
    const auto entries = listing(project);
    if (!entries) {
        return entries.error();
    }
    std::vector<ContainerSummary> out;
    for (const auto& entry : *entries) {
        ContainerSummary c;
        c.id = string_at(entry, json::json_pointer("/Id"));
        const auto names = entry.find("Names");
        if (names != entry.end() && names->is_array() && !names->empty() &&
            names->front().is_string()) {
            c.name = names->front().get<std::string>();
        }
        if (!c.name.empty() && c.name.front() == '/') {
            c.name.erase(0, 1);
        }
        c.image = string_at(entry, json::json_pointer("/Image"));
        c.state = string_at(entry, json::json_pointer("/State"));
        c.service = string_at(entry, json::json_pointer("/Labels/com.docker.compose.service"));
        c.config_hash =
            string_at(entry, json::json_pointer("/Labels/com.docker.compose.config-hash"));
        c.one_off =
            string_at(entry, json::json_pointer("/Labels/com.docker.compose.oneoff")) == "True";
        // The listing says the exit status only in its text: "Exited (137) 5 seconds ago".
        const auto status = string_at(entry, json::json_pointer("/Status"));
        if (c.state == "exited") {
            std::sscanf(status.c_str(), "Exited (%d)", &c.exit_code);
        }
        const auto networks = entry.find("NetworkSettings");
        if (networks != entry.end() && networks->is_object()) {
            const auto list = networks->find("Networks");
            if (list != networks->end() && list->is_object()) {
                for (const auto& [network, settings] : list->items()) {
                    const auto ip = string_at(settings, json::json_pointer("/IPAddress"));
                    if (!ip.empty()) {
                        c.addresses[network] = ip;
                    }
                }
            }
        }
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const ContainerSummary& a, const ContainerSummary& b) {
        return std::tie(a.service, a.name) < std::tie(b.service, b.name);
    });
    return out;
}

sys::Result<ImageRemoval> DockerEngine::remove_image(const std::string& reference) {
    // The engine untags a reference even when a container uses its image (only the image's
    // last name is protected), so the containers are asked first: those created from the
    // image, by its id.
    const auto id = image_id(reference);
    if (!id) {
        return id.error();
    }
    if (id->empty()) {
        return ImageRemoval::Gone;
    }
    const json filters = {{"ancestor", {*id}}};
    auto users =
        call("GET", "/containers/json?all=1&limit=1&filters=" + sys::url_encode(filters.dump()));
    if (!users || users->status != 200) {
        return sys::Error::failed(
            fmt::format("list containers of image {}: {}", reference,
                        users ? engine_message(*users) : users.error().message));
    }
    const auto listed = json::parse(users->body, nullptr, false);
    if (!listed.is_array() || !listed.empty()) {
        return ImageRemoval::InUse;  // or an answer that cannot say it is unused
    }
    auto response = call("DELETE", fmt::format("/images/{}", reference));
    if (!response) {
        return sys::Error::failed(
            fmt::format("remove image {}: {}", reference, response.error().message));
    }
    switch (response->status) {
        case 200:
            return ImageRemoval::Removed;
        case 404:
            return ImageRemoval::Gone;
        case 409:
            return ImageRemoval::InUse;
        default:
            return sys::Error::failed(
                fmt::format("remove image {}: {}", reference, engine_message(*response)));
    }
}

sys::Result<std::vector<ContainerState>> DockerEngine::project_containers(
    const std::string& project) {
    const auto entries = listing(project);
    if (!entries) {
        return entries.error();
    }
    std::vector<ContainerState> out;
    for (const auto& entry : *entries) {
        const std::string id = string_at(entry, json::json_pointer("/Id"));
        if (id.empty() || !std::all_of(id.begin(), id.end(),
                                       [](unsigned char c) { return std::isxdigit(c) != 0; })) {
            continue;
        }
        auto inspect = call("GET", fmt::format("/containers/{}/json", id));
        if (!inspect) {
            return sys::Error::failed(
                fmt::format("inspect container {}: {}", id.substr(0, 12), inspect.error().message));
        }
        if (inspect->status == 404) {
            continue;  // removed since the listing
        }
        if (inspect->status != 200) {
            return sys::Error::failed(fmt::format("inspect container {}: {}", id.substr(0, 12),
                                                  engine_message(*inspect)));
        }
        const auto doc = json::parse(inspect->body, nullptr, false);
        if (!doc.is_object()) {
            return sys::Error::failed(fmt::format(
                "inspect container {}: the engine answered malformed JSON", id.substr(0, 12)));
        }
        out.push_back(container_from_inspect(doc));
    }
    std::sort(out.begin(), out.end(), [](const ContainerState& a, const ContainerState& b) {
        return std::tie(a.service, a.name) < std::tie(b.service, b.name);
    });
    return out;
}

sys::Result<std::unique_ptr<EngineWatch>> DockerEngine::watch(const std::string& project) {
    if (project.empty()) {
        return sys::Error::invalid("watch events: empty project name");
    }
    auto version = api_version();
    if (!version) {
        return version.error();
    }
    const auto url = fmt::format("http://localhost/v{}{}", *version,
                                 events_path(project, std::chrono::system_clock::now()));
    auto opened = DockerEventWatch::open(m_socket_path, url, k_watch_timeout);
    if (!opened) {
        return sys::Error::failed(
            fmt::format("docker engine at {}: {}", m_socket_path, opened.error().message));
    }
    return opened;
}

}  // namespace agentd::runtime
