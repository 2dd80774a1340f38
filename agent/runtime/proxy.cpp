#include "agent/runtime/proxy.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "agent/sys/files.h"
#include "agent/sys/quote.h"

namespace agentd::runtime {

namespace {

namespace fs = std::filesystem;

constexpr auto k_command_timeout = std::chrono::seconds(30);
constexpr auto k_poll_interval = std::chrono::milliseconds(20);
constexpr auto k_file_mode =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;
constexpr std::string_view k_header_prefix = "# agentd:";
constexpr std::string_view k_header_form = "`# agentd: stack=S slot=blue|green deployment=N`";

// ---- values that may go into the file

/// ASCII only, whatever the locale.
bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A decimal number without sign or leading zeros that fits T; nullopt otherwise.
template <class T>
std::optional<T> plain_number(std::string_view text) {
    if (!is_digits(text) || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

/// Four decimal parts 0-255 without leading zeros, as inet_pton(3) reads an IPv4 address.
bool is_ipv4(std::string_view host) {
    int parts = 0;
    std::size_t start = 0;
    while (true) {
        const auto dot = host.find('.', start);
        const auto part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        const auto value = plain_number<int>(part);
        if (!value || *value > 255 || part.size() > 3) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return parts == 4;
}

/// Labels of 1-63 letters, digits and '-' (not first or last), at most 253 characters.
bool is_dns_name(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const auto dot = host.find('.', start);
        const auto label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(),
                         [](char c) { return is_alnum(c) || c == '-'; })) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

std::optional<std::string> stack_problem(const std::string& stack) {
    if (!config::valid_stack_name(stack)) {
        return fmt::format("stack {} is not a valid stack name", sys::quoted(stack));
    }
    return std::nullopt;
}

std::optional<std::string> slot_problem(std::string_view slot) {
    if (slot != "blue" && slot != "green") {
        return fmt::format("slot {} is neither blue nor green", sys::quoted(slot));
    }
    return std::nullopt;
}

std::optional<std::string> upstream_name_problem(std::string_view name) {
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](char c) { return is_alnum(c) || c == '_' || c == '-'; })) {
        return fmt::format("upstream name {} is not letters, digits, '_' and '-'",
                           sys::quoted(name));
    }
    return std::nullopt;
}

std::optional<std::string> server_problem(std::string_view server) {
    const auto colon = server.find(':');
    if (colon == std::string_view::npos || server.find(':', colon + 1) != std::string_view::npos) {
        return fmt::format("server {} is not HOST:PORT", sys::quoted(server));
    }
    const auto host = server.substr(0, colon);
    const auto port = plain_number<int>(server.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) {
        return fmt::format("server {}: the port is not 1-65535", sys::quoted(server));
    }
    const bool numeric = std::all_of(host.begin(), host.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric ? !is_ipv4(host) : !is_dns_name(host)) {
        return fmt::format("server {}: the host is neither an IPv4 address nor a DNS name",
                           sys::quoted(server));
    }
    return std::nullopt;
}

std::optional<std::string> routes_problem(const ProxyRoutes& routes) {
    if (auto problem = stack_problem(routes.stack)) {
        return problem;
    }
    if (auto problem = slot_problem(routes.slot)) {
        return problem;
    }
    if (routes.deployment < 0) {
        return fmt::format("deployment {} is negative", routes.deployment);
    }
    if (routes.upstreams.empty()) {
        return "no upstreams";
    }
    for (const auto& [name, servers] : routes.upstreams) {
        if (auto problem = upstream_name_problem(name)) {
            return problem;
        }
        if (servers.empty()) {
            return fmt::format("upstream {} has no servers", name);
        }
        for (const auto& server : servers) {
            if (auto problem = server_problem(server)) {
                return fmt::format("upstream {}: {}", name, *problem);
            }
        }
    }
    return std::nullopt;
}

// ---- the file's text

std::string_view trimmed(std::string_view text) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::vector<std::string_view> words_of(std::string_view text) {
    std::vector<std::string_view> words;
    while (!(text = trimmed(text)).empty()) {
        const auto end = std::min(text.find(' '), text.find('\t'));
        words.push_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end);
    }
    return words;
}

/// Fills stack, slot and deployment from the header line; the problem otherwise.
std::optional<std::string> parse_header(std::string_view line, ProxyRoutes& routes) {
    if (!line.starts_with(k_header_prefix)) {
        return fmt::format("expected the header {}, found {}", k_header_form, sys::quoted(line));
    }
    std::set<std::string_view> seen;
    for (const auto word : words_of(line.substr(k_header_prefix.size()))) {
        const auto equals = word.find('=');
        const auto key = word.substr(0, equals);
        const auto value =
            equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
        if (equals == std::string_view::npos || !seen.insert(key).second) {
            return fmt::format("the header's {} is not a new KEY=VALUE (expected {})",
                               sys::quoted(word), k_header_form);
        }
        if (key == "stack") {
            routes.stack = std::string(value);
            if (auto problem = stack_problem(routes.stack)) {
                return problem;
            }
        } else if (key == "slot") {
            routes.slot = std::string(value);
            if (auto problem = slot_problem(value)) {
                return problem;
            }
        } else if (key == "deployment") {
            const auto number = plain_number<std::int64_t>(value);
            if (!number) {
                return fmt::format("deployment {} is not a number", sys::quoted(value));
            }
            routes.deployment = *number;
        } else {
            return fmt::format("the header has an unknown key {} (expected {})", sys::quoted(key),
                               k_header_form);
        }
    }
    for (const auto key : {"stack", "slot", "deployment"}) {
        if (!seen.contains(key)) {
            return fmt::format("the header has no {}= (expected {})", key, k_header_form);
        }
    }
    return std::nullopt;
}

// ---- processes in /proc

/// The parent and state of `pid`; nullopt when there is no such process.
struct ProcStat {
    int ppid = 0;
    char state = '?';
};

std::optional<ProcStat> stat_of(int pid) {
    const auto text = sys::read_file(fmt::format("/proc/{}/stat", pid));
    if (!text) {
        return std::nullopt;
    }
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so from the last ')'.
    const auto close = text->rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream rest(text->substr(close + 1));
    ProcStat stat;
    if (!(rest >> stat.state >> stat.ppid)) {
        return std::nullopt;
    }
    return stat;
}

/// A process that runs (a zombie has ended, only its parent has not reaped it yet).
bool running(int pid) {
    const auto stat = stat_of(pid);
    return stat && stat->state != 'Z';
}

/// The process title (nginx overwrites its argv with it: "nginx: worker process").
std::string title_of(int pid) {
    auto text = sys::read_file(fmt::format("/proc/{}/cmdline", pid));
    if (!text) {
        return {};
    }
    std::replace(text->begin(), text->end(), '\0', ' ');
    return std::string(trimmed(*text));
}

/// A worker that accepts connections: not one told to stop by a reload.
bool accepting_worker(const std::string& title) {
    return title.find("worker process") != std::string::npos &&
           title.find("shutting down") == std::string::npos;
}

/// The running children of `parent`, with their titles.
std::map<int, std::string> children_of(int parent) {
    std::map<int, std::string> children;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const auto pid = plain_number<int>(it->path().filename().string());
        if (!pid) {
            continue;
        }
        const auto stat = stat_of(*pid);
        if (stat && stat->ppid == parent && stat->state != 'Z') {
            children.emplace(*pid, title_of(*pid));
        }
    }
    return children;
}

/// `pid`, checked to run and to be an nginx master; `named_by` says where the pid came from
/// ("nginx's pid file /run/nginx.pid", "the main process of nginx's container 0123abcd").
sys::Result<int> check_master(int pid, const std::string& named_by) {
    if (!running(pid)) {
        return sys::Error::failed(fmt::format(
            "{} names process {}, which does not run: is nginx running?", named_by, pid));
    }
    const auto title = title_of(pid);
    if (title.find("master process") == std::string::npos) {
        return sys::Error::failed(
            fmt::format("{} names process {} ({}), which is not an nginx "
                        "master",
                        named_by, pid, sys::quoted(title)));
    }
    return pid;
}

/// The master named by the pid file, checked to be an nginx master.
sys::Result<int> read_master(const fs::path& pid_file) {
    auto text = sys::read_file(pid_file);
    if (!text) {
        return sys::Error::failed(
            fmt::format("cannot read nginx's pid file: {}", text.error().message));
    }
    const auto pid = plain_number<int>(trimmed(*text));
    if (!pid || *pid < 2) {
        return sys::Error::failed(fmt::format("nginx's pid file {} holds no pid but {}",
                                              pid_file.string(), sys::quoted(*text)));
    }
    return check_master(*pid, fmt::format("nginx's pid file {}", pid_file.string()));
}

// ---- what differs between the kinds

/// nginx as the route sees it: how its configuration is tested, where its master is and how
/// it is asked to reload. route() does the rest the same way for both kinds.
class NginxControl {
public:
    virtual ~NginxControl() = default;
    /// Runs config.test: how it ended, as a process's result (exit code and output).
    virtual sys::Result<sys::ProcessResult> test() = 0;
    /// The master's host pid, checked to run and to be an nginx master.
    virtual sys::Result<int> master() = 0;
    /// Asks the master to reload; `sent` is set once the request may have reached it (whatever
    /// happened then).
    virtual sys::Result<void> send_reload(bool& sent) = 0;
};

/// nginx on the host: config.test and config.reload are commands, config.pid_file names the
/// master.
class HostNginx final : public NginxControl {
public:
    HostNginx(sys::ProcessRunner& runner, const config::ProxyConfig& config)
        : m_runner(runner), m_config(config) {}

    sys::Result<sys::ProcessResult> test() override {
        return m_runner.run({.argv = m_config.test, .timeout = k_command_timeout});
    }
    sys::Result<int> master() override { return read_master(m_config.pid_file); }
    sys::Result<void> send_reload(bool& sent) override {
        auto result = m_runner.run({.argv = m_config.reload, .timeout = k_command_timeout});
        if (!result) {
            return sys::Error::failed(
                fmt::format("nginx reload could not run: {}", result.error().message));
        }
        sent = true;
        if (!result->success()) {
            return sys::Error::failed(fmt::format("nginx reload {}", sys::describe_exit(*result)));
        }
        return {};
    }

private:
    sys::ProcessRunner& m_runner;
    const config::ProxyConfig& m_config;
};

/// nginx as a compose service: config.test runs inside its container, the reload is SIGHUP
/// to the container's main process, which is the master.
class ServiceNginx final : public NginxControl {
public:
    ServiceNginx(Engine& engine, const config::ProxyConfig& config, std::string container)
        : m_engine(engine), m_config(config), m_container(std::move(container)) {}

    sys::Result<sys::ProcessResult> test() override {
        auto ran = m_engine.exec(m_container, m_config.test, k_command_timeout);
        if (!ran) {
            return ran.error();
        }
        // 126/127: the engine could not start the command (not found, not executable).
        if (ran->exit_code == 126 || ran->exit_code == 127) {
            return sys::Error::failed(fmt::format("in container {} of service {}: {}", short_id(),
                                                  m_config.service, sys::output_tail(ran->output)));
        }
        return sys::ProcessResult{.exit_code = ran->exit_code, .out = std::move(ran->output)};
    }
    sys::Result<int> master() override {
        auto pid = m_engine.main_pid(m_container);
        if (!pid) {
            return pid.error();
        }
        const auto named_by = fmt::format("the main process of nginx's container {} (service {})",
                                          short_id(), m_config.service);
        if (!fs::exists(fmt::format("/proc/{}", *pid))) {
            return sys::Error::failed(fmt::format(
                "{} is host process {}, which /proc does not show: agentd must run in the "
                "host's pid namespace, and see other users' processes",
                named_by, *pid));
        }
        return check_master(*pid, named_by);
    }
    sys::Result<void> send_reload(bool& sent) override {
        sent = true;  // a request that failed half way may still have been delivered
        if (auto signalled = m_engine.signal(m_container, "HUP"); !signalled) {
            return sys::Error::failed(
                fmt::format("nginx reload (SIGHUP): {}", signalled.error().message));
        }
        return {};
    }

private:
    std::string short_id() const { return m_container.substr(0, 12); }

    Engine& m_engine;
    const config::ProxyConfig& m_config;
    std::string m_container;
};

/// The id of the one running container of config.service in `project`.
sys::Result<std::string> service_container(Engine& engine, const config::ProxyConfig& config,
                                           const std::string& project) {
    if (project.empty()) {
        return sys::Error::invalid("nginx: service needs the project it runs in");
    }
    auto containers = engine.list_containers(project);
    if (!containers) {
        return sys::Error::failed(
            fmt::format("the proxy's service {}: {}", config.service, containers.error().message));
    }
    std::vector<std::string> ids;
    for (const auto& c : *containers) {
        if (c.service == config.service && !c.one_off && c.state == "running") {
            ids.push_back(c.id);
        }
    }
    if (ids.empty()) {
        return sys::Error::failed(
            fmt::format("the proxy's service {} has no running container in project {}: is it up?",
                        config.service, project));
    }
    if (ids.size() > 1) {
        return sys::Error::failed(fmt::format(
            "the proxy's service {} has {} running containers in project {}: agentd reloads "
            "one nginx (do not scale it)",
            config.service, ids.size(), project));
    }
    return ids.front();
}

/// Sends the reload and waits until `master` took it: a worker the master did not have, and
/// none of the old ones still accepting; `sent` as NginxControl::send_reload.
sys::Result<void> reload_and_confirm(NginxControl& nginx, int master, sys::Duration deadline_after,
                                     bool& sent) {
    const auto before = children_of(master);
    if (auto sent_ok = nginx.send_reload(sent); !sent_ok) {
        return sent_ok;
    }
    const auto deadline = std::chrono::steady_clock::now() + deadline_after;
    while (true) {
        if (!running(master)) {
            return sys::Error::failed(
                fmt::format("the nginx master (pid {}) ended during the reload", master));
        }
        bool started = false;
        bool old_accepting = false;
        for (const auto& [pid, title] : children_of(master)) {
            if (!accepting_worker(title)) {
                continue;
            }
            if (before.contains(pid)) {
                old_accepting = true;
            } else {
                started = true;
            }
        }
        if (started && !old_accepting) {
            return {};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return sys::Error::failed(fmt::format(
                "nginx did not take the reload within {}: {}", sys::format_duration(deadline_after),
                started ? "its old workers still accept connections"
                        : fmt::format("the master (pid {}) started no new worker (its error log "
                                      "says why)",
                                      master)));
        }
        std::this_thread::sleep_for(k_poll_interval);
    }
}

// ---- the file as it was

struct PreviousFile {
    std::string content;
    fs::perms mode = k_file_mode;
};

/// The upstream file before this route; nullopt when there was none.
sys::Result<std::optional<PreviousFile>> read_previous(const fs::path& path) {
    auto content = sys::read_file(path);
    if (!content) {
        if (content.error().is_not_found()) {
            return std::optional<PreviousFile>();
        }
        return sys::Error::failed(
            fmt::format("cannot read the upstream file: {}", content.error().message));
    }
    std::error_code ec;
    const auto status = fs::status(path, ec);
    return std::optional<PreviousFile>(PreviousFile{
        .content = std::move(content).value(),
        .mode = ec ? k_file_mode : status.permissions() & fs::perms::mask,
    });
}

/// Puts the previous file back (removes the file when there was none).
sys::Result<void> put_back(const fs::path& path, const std::optional<PreviousFile>& previous) {
    if (previous) {
        return sys::write_file_atomic(path, previous->content, previous->mode);
    }
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) {
        return sys::Error::failed(fmt::format("{}: {}", path.string(), ec.message()));
    }
    return {};
}

}  // namespace

sys::Result<void> check_routes(const ProxyRoutes& routes) {
    if (auto problem = routes_problem(routes)) {
        return sys::Error::invalid(*problem);
    }
    return {};
}

std::string render_upstreams(const ProxyRoutes& routes) {
    auto text = fmt::format("{} stack={} slot={} deployment={}\n", k_header_prefix, routes.stack,
                            routes.slot, routes.deployment);
    for (const auto& [name, servers] : routes.upstreams) {
        text += fmt::format("upstream {} {{\n", name);
        for (const auto& server : servers) {
            text += fmt::format("    server {};\n", server);
        }
        text += "}\n";
    }
    return text;
}

sys::Result<ProxyRoutes> parse_upstreams(std::string_view text) {
    ProxyRoutes routes;
    int number = 0;
    bool header = false;
    std::vector<std::string>* servers = nullptr;  // of the upstream whose block is open
    std::string open_name;
    int open_line = 0;
    const auto refused = [&](int line, const std::string& what) {
        return sys::Error::invalid(fmt::format("line {}: {}", line, what));
    };
    std::string_view rest = text;
    while (!rest.empty() || number == 0) {
        const auto end = rest.find('\n');
        const auto line = trimmed(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        ++number;
        if (!header) {
            if (auto problem = parse_header(line, routes)) {
                return refused(number, *problem);
            }
            header = true;
            continue;
        }
        if (line.empty()) {
            continue;
        }
        const auto words = words_of(line);
        if (servers == nullptr) {
            if (words.size() != 3 || words[0] != "upstream" || words[2] != "{") {
                return refused(number, fmt::format("expected `upstream NAME {{`, found {}",
                                                   sys::quoted(line)));
            }
            if (auto problem = upstream_name_problem(words[1])) {
                return refused(number, *problem);
            }
            open_name = std::string(words[1]);
            const auto [it, added] = routes.upstreams.try_emplace(open_name);
            if (!added) {
                return refused(number, fmt::format("upstream {} is defined twice", open_name));
            }
            servers = &it->second;
            open_line = number;
        } else if (words.size() == 1 && words[0] == "}") {
            if (servers->empty()) {
                return refused(number, fmt::format("upstream {} has no servers", open_name));
            }
            servers = nullptr;
        } else if (words.size() == 2 && words[0] == "server" && words[1].ends_with(';')) {
            const auto server = words[1].substr(0, words[1].size() - 1);
            if (auto problem = server_problem(server)) {
                return refused(number, *problem);
            }
            servers->emplace_back(server);
        } else {
            return refused(number, fmt::format("expected `server HOST:PORT;` or `}}`, found {}",
                                               sys::quoted(line)));
        }
    }
    if (servers != nullptr) {
        return refused(open_line, fmt::format("upstream {} is not closed", open_name));
    }
    if (routes.upstreams.empty()) {
        return refused(number, "no upstream after the header");
    }
    return routes;
}

NginxProxy::NginxProxy(sys::ProcessRunner& runner, Engine& engine, sys::Duration reload_deadline)
    : m_runner(runner), m_engine(engine), m_reload_deadline(reload_deadline) {}

sys::Result<std::optional<ProxyRoutes>> NginxProxy::current(const config::ProxyConfig& config) {
    auto text = sys::read_file(config.upstream_file);
    if (!text) {
        if (text.error().is_not_found()) {
            return std::optional<ProxyRoutes>();
        }
        return text.error();
    }
    auto routes = parse_upstreams(*text);
    if (!routes) {
        return sys::Error::invalid(
            fmt::format("{}: {}", config.upstream_file.string(), routes.error().message));
    }
    return std::optional<ProxyRoutes>(std::move(routes).value());
}

sys::Result<Switched> NginxProxy::route(const config::ProxyConfig& config, const ProxySite& site,
                                        const ProxyRoutes& routes) {
    const std::lock_guard lock(m_mutex);
    const auto started = std::chrono::steady_clock::now();
    // check: nothing goes into nginx's configuration but well-formed upstreams
    if (auto checked = check_routes(routes); !checked) {
        return checked.error();
    }
    if (config.upstream_file.empty() || config.test.empty() ||
        (config.nginx == config::NginxKind::Host && config.reload.empty())) {
        return sys::Error::invalid("the proxy needs an upstream file, a test and a reload command");
    }
    // find: which nginx, before anything is written
    std::unique_ptr<NginxControl> nginx;
    if (config.nginx == config::NginxKind::Service) {
        auto container = service_container(m_engine, config, site.project);
        if (!container) {
            return container.error();
        }
        nginx = std::make_unique<ServiceNginx>(m_engine, config, std::move(container).value());
    } else {
        nginx = std::make_unique<HostNginx>(m_runner, config);
    }
    // remember: the file as it is, put back on any failure below
    auto previous = read_previous(config.upstream_file);
    if (!previous) {
        return previous.error();
    }
    std::optional<int> signalled;  // the master, once a reload may have reached it
    const auto undo = [&](sys::Error error) {
        if (auto put = put_back(config.upstream_file, *previous); !put) {
            error.message +=
                "; putting the previous upstream file back failed too: " + put.error().message;
            return error;
        }
        if (signalled) {
            bool sent = false;
            if (auto again = reload_and_confirm(*nginx, *signalled, m_reload_deadline, sent);
                !again) {
                error.message +=
                    "; reloading with the previous upstreams failed too: " + again.error().message;
            }
        }
        return error;
    };
    // write
    if (auto written =
            sys::write_file_atomic(config.upstream_file, render_upstreams(routes), k_file_mode);
        !written) {
        return written.error();
    }
    // test: nginx reads the whole configuration with the new file
    auto tested = nginx->test();
    if (!tested) {
        return undo(
            sys::Error::failed(fmt::format("nginx -t could not run: {}", tested.error().message)));
    }
    if (!sys::exited(*tested)) {
        return undo(sys::Error::failed(fmt::format("nginx -t {}", sys::describe_exit(*tested))));
    }
    if (tested->exit_code != 0) {
        auto said = sys::output_tail(tested->err);
        if (said.empty()) {
            said = sys::output_tail(tested->out);
        }
        return undo(sys::Error::invalid(
            fmt::format("nginx -t refused the upstreams: {}",
                        said.empty() ? fmt::format("exit {}", tested->exit_code) : said)));
    }
    // reload: the master loads it and replaces its workers
    const auto master = nginx->master();
    if (!master) {
        return undo(master.error());
    }
    bool sent = false;
    auto reloaded = reload_and_confirm(*nginx, *master, m_reload_deadline, sent);
    if (sent) {
        signalled = *master;
    }
    if (!reloaded) {
        return undo(reloaded.error());
    }
    return Switched{.took = std::chrono::duration_cast<sys::Duration>(
                        std::chrono::steady_clock::now() - started)};
}

}  // namespace agentd::runtime
