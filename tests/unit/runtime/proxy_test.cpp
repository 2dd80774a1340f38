#include "agent/runtime/proxy.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "agent/runtime/docker_engine.h"
#include "agent/sys/files.h"
#include "agent/sys/http.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/config/source_root.h"
#include "tests/unit/free_port.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_runtime_proxy_test {

using namespace std::chrono_literals;
using namespace agentd;
using namespace agentd::runtime;
using namespace agentd::runtime::testing;
using agentd::testing::free_port;

namespace fs = std::filesystem;

namespace {

ProxyRoutes routes_to(std::string slot, std::vector<std::string> servers,
                      std::int64_t deployment = 12) {
    return ProxyRoutes{.stack = "shop",
                       .slot = std::move(slot),
                       .deployment = deployment,
                       .upstreams = {{"app_web", std::move(servers)}}};
}

/// Records every spec; answers each with the next of `answers` (success when none is left).
class FakeRunner final : public sys::ProcessRunner {
public:
    std::vector<sys::ProcessResult> answers;
    std::vector<sys::ProcessSpec> specs;

    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec& spec) override {
        specs.push_back(spec);
        if (answers.empty()) {
            return sys::ProcessResult{.exit_code = 0};
        }
        auto answer = answers.front();
        answers.erase(answers.begin());
        return answer;
    }
};

std::string file_text(const fs::path& path) {
    auto text = sys::read_file(path);
    REQUIRE(text.ok());
    return *text;
}

// ---- a real nginx of the test's own

constexpr const char* k_nginx = "/usr/sbin/nginx";

bool nginx_installed() {
    return fs::exists(k_nginx);
}

/// Skips the rest of a test (Catch2 2 has no SKIP) when Debian's nginx is not installed.
#define REQUIRE_NGINX_OR_SKIP()                                                \
    do {                                                                       \
        if (!nginx_installed()) {                                              \
            WARN("skipped: /usr/sbin/nginx is not installed (scripts/setup)"); \
            return;                                                            \
        }                                                                      \
    } while (false)

/// A listening socket on a free loopback port, held until destroyed.
class HeldPort {
public:
    HeldPort() {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(m_fd, 1) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        m_port = ntohs(address.sin_port);
    }
    ~HeldPort() { ::close(m_fd); }
    HeldPort(const HeldPort&) = delete;
    HeldPort& operator=(const HeldPort&) = delete;
    int port() const { return m_port; }

private:
    int m_fd = -1;
    int m_port = 0;
};

/// True while `pid` runs (a zombie has ended).
bool running(pid_t pid) {
    auto stat = sys::read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) {
        return false;
    }
    const auto close = stat->rfind(") ");
    return close != std::string::npos && stat->at(close + 2) != 'Z';
}

std::optional<pid_t> pid_in(const fs::path& pid_file) {
    auto text = sys::read_file(pid_file);
    if (!text || text->empty()) {
        return std::nullopt;
    }
    return static_cast<pid_t>(std::stol(*text));
}

/// Stops the nginx master named by `pid_file` at scope exit (SIGTERM, then SIGKILL), and
/// waits until it has ended: also when the test failed half-way.
class MasterStopper {
public:
    explicit MasterStopper(fs::path pid_file) : m_pid_file(std::move(pid_file)) {}
    ~MasterStopper() {
        const auto pid = pid_in(m_pid_file);
        if (!pid || !running(*pid)) {
            return;
        }
        ::kill(*pid, SIGTERM);
        if (!eventually([&] { return !running(*pid); }, 10s)) {
            ::kill(*pid, SIGKILL);
        }
    }
    MasterStopper(const MasterStopper&) = delete;
    MasterStopper& operator=(const MasterStopper&) = delete;

private:
    fs::path m_pid_file;
};

/// nginx with its own configuration, pid file and logs in a temporary directory: backends
/// answering "blue\n" and "green\n" on loopback ports, and a proxy whose `location /` goes to
/// upstream app_web, defined by the upstream file (first to blue). The configuration also
/// defines upstream `admin_only`, which the upstream file must not define again.
class TestNginx {
public:
    TestNginx()
        : m_blue(free_port()),
          m_green(free_port()),
          m_proxy(free_port()),
          m_stopper(m_dir.path() / "nginx.pid") {
        REQUIRE(m_blue != m_green);
        REQUIRE(m_proxy != m_blue);
        REQUIRE(m_proxy != m_green);
        write_conf("");
        REQUIRE(sys::write_file_atomic(upstream_file(),
                                       render_upstreams(routes_to("blue", {blue()}, 11)),
                                       fs::perms(0644))
                    .ok());
        run_ok(command({}));
        REQUIRE(eventually([&] { return get() == "blue\n"; }, 10s));
    }

    fs::path dir() const { return m_dir.path(); }
    fs::path upstream_file() const { return dir() / "upstreams.conf"; }
    fs::path pid_file() const { return dir() / "nginx.pid"; }
    std::string blue() const { return fmt::format("127.0.0.1:{}", m_blue); }
    std::string green() const { return fmt::format("127.0.0.1:{}", m_green); }

    /// `nginx -c CONF -p DIR -e LOG ARGS...`: this nginx, never the system's.
    std::vector<std::string> command(std::vector<std::string> args) const {
        std::vector<std::string> argv = {
            "nginx",        "-c", (dir() / "nginx.conf").string(), "-p",
            dir().string(), "-e", (dir() / "error.log").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    config::ProxyConfig config() const {
        return {.upstream_file = upstream_file(),
                .test = command({"-t"}),
                .reload = command({"-s", "reload"}),
                .pid_file = pid_file()};
    }

    /// The proxy's answer to GET / over a new connection; "" when there is none.
    std::string get() const {
        sys::CurlHttpClient client;  // one per request: a new connection each time
        auto response =
            client.send({.url = fmt::format("http://127.0.0.1:{}/", m_proxy), .timeout = 5s});
        return response && response->status == 200 ? response->body : "";
    }

    /// Rewrites nginx.conf with `extra` inside its http block (the master reads it at reload).
    void write_conf(const std::string& extra) const {
        const auto d = dir().string();
        const auto text = fmt::format(
            R"(daemon on;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream admin_only {{ server 127.0.0.1:{blue}; }}
    include {d}/upstreams.conf;
    server {{ listen 127.0.0.1:{blue}; return 200 "blue\n"; }}
    server {{ listen 127.0.0.1:{green}; return 200 "green\n"; }}
    server {{ listen 127.0.0.1:{proxy}; location / {{ proxy_pass http://app_web; }} }}
{extra}}}
)",
            fmt::arg("d", d), fmt::arg("blue", m_blue), fmt::arg("green", m_green),
            fmt::arg("proxy", m_proxy), fmt::arg("extra", extra));
        REQUIRE(sys::write_file_atomic(dir() / "nginx.conf", text, fs::perms(0644)).ok());
    }

private:
    TempDir m_dir;
    int m_blue;
    int m_green;
    int m_proxy;
    MasterStopper m_stopper;  // after m_dir: stops nginx before its directory goes
};

// ---- nginx as a compose service

constexpr const char* k_nginx_id =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ProxySite k_site{.project = "shop-shared"};

/// Adds a container of service nginx to the fake engine's listing (of any project).
void add_nginx(fakes::FakeEngine& engine, const std::string& id = k_nginx_id,
               const std::string& state = "running") {
    runtime::ContainerState c;
    c.id = id;
    c.name = "shop-shared_nginx_" + std::to_string(engine.extra_containers.size() + 1);
    c.service = "nginx";
    c.state = state;
    engine.extra_containers.push_back(c);
}

config::ProxyConfig service_config(const fs::path& upstream_file) {
    return {.nginx = config::NginxKind::Service,
            .service = "nginx",
            .upstream_file = upstream_file,
            .test = {"nginx", "-t"}};
}

/// A process of the test's own with no children (`sleep`), killed at scope exit.
class Sleeper {
public:
    Sleeper() {
        char sleep[] = "sleep";
        char seconds[] = "300";
        char* argv[] = {sleep, seconds, nullptr};
        REQUIRE(::posix_spawnp(&m_pid, "sleep", nullptr, nullptr, argv, environ) == 0);
    }
    ~Sleeper() {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
    }
    Sleeper(const Sleeper&) = delete;
    Sleeper& operator=(const Sleeper&) = delete;
    pid_t pid() const { return m_pid; }

private:
    pid_t m_pid = -1;
};

}  // namespace

// ---- the upstream file, pure

TEST_CASE("proxy: render writes the header, then one block per upstream", "[runtime][proxy]") {
    ProxyRoutes routes{.stack = "shop",
                       .slot = "green",
                       .deployment = 42,
                       .upstreams = {{"shop_web", {"172.18.0.5:8080", "172.18.0.6:8080"}},
                                     {"shop_api", {"api-1.internal:9000"}}}};
    CHECK(render_upstreams(routes) ==
          "# agentd: stack=shop slot=green deployment=42\n"
          "upstream shop_api {\n"
          "    server api-1.internal:9000;\n"
          "}\n"
          "upstream shop_web {\n"
          "    server 172.18.0.5:8080;\n"
          "    server 172.18.0.6:8080;\n"
          "}\n");
}

TEST_CASE("proxy: parse reads back what render writes", "[runtime][proxy]") {
    ProxyRoutes routes{.stack = "shop-eu_2",
                       .slot = "blue",
                       .deployment = 9007199254740993,
                       .upstreams = {{"shop_web", {"10.0.0.2:80", "10.0.0.1:80", "web:65535"}},
                                     {"Shop-API", {"localhost:1"}}}};
    REQUIRE(check_routes(routes).ok());
    const auto parsed = parse_upstreams(render_upstreams(routes));
    REQUIRE(parsed.ok());
    CHECK(*parsed == routes);  // servers in their order

    // Indentation and blank lines are not significant, keys may come in any order.
    const auto loose = parse_upstreams(
        "# agentd:  deployment=3 stack=shop slot=green  \n\n"
        "upstream app_web {\n\tserver 127.0.0.1:81;\n}\n\n");
    REQUIRE(loose.ok());
    CHECK(*loose == routes_to("green", {"127.0.0.1:81"}, 3));
}

TEST_CASE("proxy: parse refuses a missing or malformed header, naming the line",
          "[runtime][proxy]") {
    const std::string body = "upstream app_web {\n    server 127.0.0.1:81;\n}\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "line 1: expected the header"},
        {body, "line 1: expected the header"},
        {"\n# agentd: stack=shop slot=blue deployment=1\n" + body, "line 1: expected the header"},
        {"# agentd stack=shop slot=blue deployment=1\n" + body, "line 1: expected the header"},
        {"# agentd: stack=shop slot=purple deployment=1\n" + body,
         "line 1: slot \"purple\" is neither blue nor green"},
        {"# agentd: stack=shop slot=Blue deployment=1\n" + body, "neither blue nor green"},
        {"# agentd: stack=shop slot=blue\n" + body, "line 1: the header has no deployment="},
        {"# agentd: stack=shop deployment=1\n" + body, "line 1: the header has no slot="},
        {"# agentd: slot=blue deployment=1\n" + body, "line 1: the header has no stack="},
        {"# agentd: stack=shop slot=blue deployment=-1\n" + body, "deployment \"-1\" is not a"},
        {"# agentd: stack=shop slot=blue deployment=12x\n" + body, "deployment \"12x\" is not a"},
        {"# agentd: stack=shop slot=blue deployment=99999999999999999999\n" + body,
         "is not a number"},
        {"# agentd: stack=Shop slot=blue deployment=1\n" + body, "not a valid stack name"},
        {"# agentd: stack=shop slot=blue deployment=1 slot=green\n" + body,
         "\"slot=green\" is not a new KEY=VALUE"},
        {"# agentd: stack=shop slot=blue deployment=1 release\n" + body,
         "\"release\" is not a new KEY=VALUE"},
        {"# agentd: stack=shop slot=blue deployment=1 release=v2\n" + body,
         "unknown key \"release\""},
    };
    for (const auto& [text, message] : cases) {
        INFO(text);
        const auto parsed = parse_upstreams(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(parsed.error().message, Catch::Contains(message));
    }
}

TEST_CASE("proxy: parse refuses lines that are not the upstream blocks render writes",
          "[runtime][proxy]") {
    const std::string header = "# agentd: stack=shop slot=blue deployment=1\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {header, "line 1: no upstream after the header"},
        {header + "upstream app_web {\n    server 127.0.0.1:81;\n    keepalive 4;\n}\n",
         "line 4: expected `server HOST:PORT;` or `}`, found \"keepalive 4;\""},
        {header + "include /etc/nginx/evil.conf;\n", "line 2: expected `upstream NAME {`"},
        {header + "upstream app_web {\n    server 127.0.0.1:81;\n",
         "line 2: upstream app_web is "
         "not closed"},
        {header + "upstream app_web {\n}\n", "line 3: upstream app_web has no servers"},
        {header + "upstream app_web {\n    server 127.0.0.1:81;\n}\n"
                  "upstream app_web {\n    server 127.0.0.1:82;\n}\n",
         "line 5: upstream app_web is defined twice"},
        {header + "upstream app.web {\n    server 127.0.0.1:81;\n}\n",
         "line 2: upstream name \"app.web\""},
        {header + "upstream app_web {\n    server 127.0.0.1:81 backup;\n}\n",
         "line 3: expected `server HOST:PORT;`"},
        {header + "upstream app_web {\n    server 127.0.0.1:0;\n}\n",
         "line 3: server \"127.0.0.1:0\": the port is not 1-65535"},
        {header + "upstream app_web {\n    server unix:/run/app.sock;\n}\n",
         "line 3: server \"unix:/run/app.sock\""},
        {header + "upstream app_web {\n    server 127.0.0.1:81;\n}\n}\n",
         "line 5: expected `upstream NAME {`"},
    };
    for (const auto& [text, message] : cases) {
        INFO(text);
        const auto parsed = parse_upstreams(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(parsed.error().message, Catch::Contains(message));
    }
}

TEST_CASE("proxy: check_routes accepts IPv4 literals and DNS names with a port",
          "[runtime][proxy]") {
    for (const auto* server :
         {"10.0.0.5:8080", "0.0.0.0:1", "255.255.255.255:65535", "web:80", "web-1.shop.internal:80",
          "localhost:8080", "1.2.3.4a:80", "x1:80"}) {
        INFO(server);
        CHECK(check_routes(routes_to("blue", {server})).ok());
    }
}

TEST_CASE("proxy: check_routes refuses what could change nginx's configuration",
          "[runtime][proxy]") {
    SECTION("servers") {
        for (const auto* server : {"",
                                   "127.0.0.1",
                                   "127.0.0.1:",
                                   ":80",
                                   "127.0.0.1:0",
                                   "127.0.0.1:65536",
                                   "127.0.0.1:080",
                                   "127.0.0.1:+80",
                                   "127.0.0.1:8o",
                                   "256.0.0.1:80",
                                   "1.2.3:80",
                                   "1.2.3.4.5:80",
                                   "01.2.3.4:80",
                                   "1..2.3:80",
                                   "[::1]:80",
                                   "::1:80",
                                   "a b:80",
                                   "web;include /etc/passwd:80",
                                   "web:80;",
                                   "web:80 backup",
                                   "-web:80",
                                   "web-:80",
                                   "web..internal:80",
                                   ".web:80",
                                   "web.:80",
                                   "we_b:80",
                                   "unix:/run/app.sock",
                                   "web:80\nserver evil:80",
                                   "w\xc3\xa9"
                                   "b:80"}) {
            INFO(server);
            const auto checked = check_routes(routes_to("blue", {server}));
            REQUIRE_FALSE(checked.ok());
            CHECK(checked.error().kind == sys::Error::Kind::InvalidInput);
            CHECK_THAT(checked.error().message, Catch::Contains("upstream app_web: server"));
        }
        const std::string long_label(64, 'a');
        CHECK_FALSE(check_routes(routes_to("blue", {long_label + ".internal:80"})).ok());
        CHECK(check_routes(routes_to("blue", {long_label.substr(1) + ".internal:80"})).ok());
    }
    SECTION("upstream names") {
        for (const auto* name : {"", "app web", "app{", "app;", "app.web", "app\n", "app$x"}) {
            INFO(name);
            ProxyRoutes routes = routes_to("blue", {"127.0.0.1:80"});
            routes.upstreams = {{name, {"127.0.0.1:80"}}};
            const auto checked = check_routes(routes);
            REQUIRE_FALSE(checked.ok());
            CHECK(checked.error().kind == sys::Error::Kind::InvalidInput);
            CHECK_THAT(checked.error().message, Catch::Contains("upstream name"));
        }
    }
    SECTION("the header's values, and empty routes") {
        auto routes = routes_to("Blue", {"127.0.0.1:80"});
        CHECK_THAT(check_routes(routes).error().message, Catch::Contains("neither blue nor green"));
        routes = routes_to("blue", {"127.0.0.1:80"});
        routes.stack = "shop slot=green";
        CHECK_THAT(check_routes(routes).error().message, Catch::Contains("not a valid stack"));
        routes = routes_to("blue", {"127.0.0.1:80"}, -1);
        CHECK_THAT(check_routes(routes).error().message, Catch::Contains("negative"));
        routes = routes_to("blue", {});
        CHECK_THAT(check_routes(routes).error().message, Catch::Contains("has no servers"));
        routes.upstreams.clear();
        CHECK_THAT(check_routes(routes).error().message, Catch::Contains("no upstreams"));
    }
}

// ---- NginxProxy around its commands (no nginx)

TEST_CASE("proxy: refused routes are never written and start no command", "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const config::ProxyConfig config{.upstream_file = dir.path() / "upstreams.conf",
                                     .pid_file = dir.path() / "nginx.pid"};
    const auto routed = proxy.route(config, {}, routes_to("green", {"evil;include /x:80"}));
    REQUIRE_FALSE(routed.ok());
    CHECK(routed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_FALSE(fs::exists(config.upstream_file));
    CHECK(runner.specs.empty());
}

TEST_CASE("proxy: a failed test puts the previous file back, its mode too", "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const config::ProxyConfig config{.upstream_file = dir.path() / "upstreams.conf",
                                     .test = {"nginx", "-t"},
                                     .reload = {"nginx", "-s", "reload"},
                                     .pid_file = dir.path() / "nginx.pid"};
    const std::string before = "# hand-written, not even agentd's\n";
    REQUIRE(sys::write_file_atomic(config.upstream_file, before, fs::perms(0640)).ok());
    runner.answers = {{.exit_code = 1,
                       .err = "nginx: [emerg] first\nnginx: [emerg] duplicate upstream\n"
                              "nginx: configuration file /etc/nginx/nginx.conf test failed\n"}};

    const auto routed = proxy.route(config, {}, routes_to("green", {"127.0.0.1:81"}));
    REQUIRE_FALSE(routed.ok());
    CHECK(routed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(routed.error().message ==
          "nginx -t refused the upstreams: nginx: [emerg] first\n"
          "nginx: [emerg] duplicate upstream\n"
          "nginx: configuration file /etc/nginx/nginx.conf test failed");
    CHECK(file_text(config.upstream_file) == before);
    CHECK(fs::status(config.upstream_file).permissions() == fs::perms(0640));
    REQUIRE(runner.specs.size() == 1);  // no reload
    CHECK(runner.specs[0].argv == config.test);
    CHECK(runner.specs[0].timeout == 30s);

    SECTION("no file before: none after") {
        fs::remove(config.upstream_file);
        runner.answers = {{.exit_code = 1, .err = "nginx: [emerg] no\n"}};
        const auto again = proxy.route(config, {}, routes_to("green", {"127.0.0.1:81"}));
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().message == "nginx -t refused the upstreams: nginx: [emerg] no");
        CHECK_FALSE(fs::exists(config.upstream_file));
    }
    SECTION("a test that cannot run or is killed fails, not refuses") {
        runner.answers = {{.exit_code = -1, .timed_out = true}};
        const auto again = proxy.route(config, {}, routes_to("green", {"127.0.0.1:81"}));
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().kind == sys::Error::Kind::Failed);
        CHECK(again.error().message == "nginx -t timed out");
        CHECK(file_text(config.upstream_file) == before);
    }
}

TEST_CASE("proxy: without a running nginx master nothing is reloaded and the file is put back",
          "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const config::ProxyConfig config{.upstream_file = dir.path() / "upstreams.conf",
                                     .pid_file = dir.path() / "nginx.pid"};
    const auto before = render_upstreams(routes_to("blue", {"127.0.0.1:80"}));
    REQUIRE(sys::write_file_atomic(config.upstream_file, before, fs::perms(0644)).ok());

    SECTION("no pid file") {
        const auto routed = proxy.route(config, {}, routes_to("green", {"127.0.0.1:81"}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(routed.error().message, Catch::Contains("cannot read nginx's pid file"));
    }
    SECTION("a pid file naming a process that is not an nginx master") {
        Sleeper sleeper;
        REQUIRE(sys::write_file_atomic(config.pid_file, fmt::format("{}\n", sleeper.pid())).ok());
        const auto routed = proxy.route(config, {}, routes_to("green", {"127.0.0.1:81"}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(routed.error().message, Catch::Contains("\"sleep 300\"") &&
                                               Catch::Contains("which is not an nginx master"));
    }
    CHECK(file_text(config.upstream_file) == before);
    REQUIRE(runner.specs.size() == 1);  // the test only
    CHECK(runner.specs[0].argv == config.test);
}

TEST_CASE("proxy: current reads the file route writes", "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const config::ProxyConfig config{.upstream_file = dir.path() / "upstreams.conf"};
    const auto none = proxy.current(config);
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());

    const auto routes = routes_to("green", {"127.0.0.1:81", "127.0.0.1:82"});
    REQUIRE(sys::write_file_atomic(config.upstream_file, render_upstreams(routes)).ok());
    const auto some = proxy.current(config);
    REQUIRE(some.ok());
    CHECK(*some == routes);

    REQUIRE(sys::write_file_atomic(config.upstream_file, "upstream x {\n}\n").ok());
    const auto bad = proxy.current(config);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message,
               Catch::StartsWith(config.upstream_file.string() + ": line 1: expected the header"));
}

// ---- NginxProxy with nginx: service, through a fake engine

TEST_CASE("proxy: nginx as a service: a refused test puts the file back byte for byte",
          "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    add_nginx(engine);
    NginxProxy proxy(runner, engine);
    const auto config = service_config(dir.path() / "upstreams.conf");
    const std::string before = "# hand-written\r\n\tnot even agentd's \xff\n";
    REQUIRE(sys::write_file_atomic(config.upstream_file, before, fs::perms(0640)).ok());
    engine.exec_answers = {ExecResult{
        .exit_code = 1,
        .output = "nginx: [emerg] duplicate upstream \"shop_web\" in /etc/nginx/agentd/u.conf:2\n"
                  "nginx: configuration file /etc/nginx/nginx.conf test failed\n"}};

    const auto routed = proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
    REQUIRE_FALSE(routed.ok());
    CHECK(routed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(routed.error().message ==
          "nginx -t refused the upstreams: nginx: [emerg] duplicate upstream \"shop_web\" in "
          "/etc/nginx/agentd/u.conf:2\n"
          "nginx: configuration file /etc/nginx/nginx.conf test failed");
    CHECK(file_text(config.upstream_file) == before);
    CHECK(fs::status(config.upstream_file).permissions() == fs::perms(0640));
    REQUIRE(engine.execs.size() == 1);  // inside the container, as written
    CHECK(engine.execs[0].id == k_nginx_id);
    CHECK(engine.execs[0].argv == config.test);
    CHECK(engine.execs[0].timeout == 30s);
    CHECK(engine.signals.empty());  // never reloaded
    CHECK(runner.specs.empty());    // nothing runs on the host

    SECTION("a test the engine cannot start fails, not refuses") {
        engine.exec_answers = {ExecResult{
            .exit_code = 126,
            .output = "OCI runtime exec failed: exec failed: unable to start container process: "
                      "exec: \"nginx\": executable file not found in $PATH: unknown\r\n"}};
        const auto again = proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(again.error().message,
                   Catch::StartsWith("nginx -t could not run: in container 0123456789ab of "
                                     "service nginx: OCI runtime exec failed") &&
                       Catch::Contains("executable file not found"));
        CHECK(file_text(config.upstream_file) == before);
    }
    SECTION("an engine that does not answer fails") {
        engine.exec_answers = {
            sys::Error::failed("exec nginx in container 0123456789ab: "
                               "Timeout was reached (within 30s)")};
        const auto again = proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(again.error().message, Catch::StartsWith("nginx -t could not run: exec nginx"));
        CHECK(file_text(config.upstream_file) == before);
    }
}

TEST_CASE("proxy: nginx as a service: without its one running container nothing is written",
          "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const auto config = service_config(dir.path() / "upstreams.conf");
    const auto route = [&] {
        return proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
    };

    SECTION("none") {
        add_nginx(engine, k_nginx_id, "exited");
        const auto routed = route();
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK(routed.error().message ==
              "the proxy's service nginx has no running container in project shop-shared: is it "
              "up?");
    }
    SECTION("two") {
        add_nginx(engine);
        add_nginx(engine, std::string(64, 'f'));
        const auto routed = route();
        REQUIRE_FALSE(routed.ok());
        CHECK_THAT(routed.error().message,
                   Catch::Contains("has 2 running containers in project shop-shared"));
    }
    SECTION("no project") {
        add_nginx(engine);
        const auto routed = proxy.route(config, {}, routes_to("green", {"172.18.0.5:80"}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::InvalidInput);
    }
    CHECK_FALSE(fs::exists(config.upstream_file));
    CHECK(engine.execs.empty());
    CHECK(engine.signals.empty());
}

TEST_CASE(
    "proxy: nginx as a service: a main process that is not an nginx master is never "
    "signalled",
    "[runtime][proxy]") {
    TempDir dir;
    FakeRunner runner;
    fakes::FakeEngine engine;
    add_nginx(engine);
    NginxProxy proxy(runner, engine);
    const auto config = service_config(dir.path() / "upstreams.conf");
    const auto before = render_upstreams(routes_to("blue", {"172.18.0.4:80"}));
    REQUIRE(sys::write_file_atomic(config.upstream_file, before, fs::perms(0644)).ok());

    SECTION("a process of another program") {
        Sleeper sleeper;
        engine.pids[k_nginx_id] = sleeper.pid();
        const auto routed = proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK(routed.error().message ==
              fmt::format("the main process of nginx's container 0123456789ab (service nginx) "
                          "names process {} (\"sleep 300\"), which is not an nginx master",
                          sleeper.pid()));
    }
    SECTION("a container the engine no longer knows") {
        const auto routed = proxy.route(config, k_site, routes_to("green", {"172.18.0.5:80"}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::NotFound);
    }
    CHECK(file_text(config.upstream_file) == before);
    CHECK(engine.signals.empty());
}

TEST_CASE("proxy: nginx as a service: a SIGHUP that is not taken fails and restores the file",
          "[runtime][proxy][nginx]") {
    REQUIRE_NGINX_OR_SKIP();
    // The test's own nginx stands for the container's: the fake engine names its master as
    // the container's main process, and delivers SIGHUP to it, or loses it.
    TestNginx nginx;
    FakeRunner runner;
    fakes::FakeEngine engine;
    add_nginx(engine);
    const auto master = pid_in(nginx.pid_file());
    REQUIRE(master);
    engine.pids[k_nginx_id] = *master;
    NginxProxy proxy(runner, engine, 1s);
    const auto config = service_config(nginx.upstream_file());
    const auto before = file_text(config.upstream_file);

    SECTION("lost: the master starts no worker") {
        const auto routed = proxy.route(config, k_site, routes_to("green", {nginx.green()}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(routed.error().message,
                   Catch::StartsWith(fmt::format("nginx did not take the reload within 1s: the "
                                                 "master (pid {}) started no new worker",
                                                 *master)) &&
                       Catch::Contains("reloading with the previous upstreams failed too"));
        CHECK(file_text(config.upstream_file) == before);
        CHECK(nginx.get() == "blue\n");
        // The reload, then the reload with the old file back.
        CHECK(engine.signals == std::vector<std::pair<std::string, std::string>>{
                                    {k_nginx_id, "HUP"}, {k_nginx_id, "HUP"}});
    }
    SECTION("delivered: the master takes it") {
        engine.on_signal = [&](const std::string&, const std::string& signal) {
            REQUIRE(signal == "HUP");
            REQUIRE(::kill(*master, SIGHUP) == 0);
            return sys::Result<void>();
        };
        for (int i = 0; i < 4; ++i) {
            const auto slot = i % 2 == 0 ? "green" : "blue";
            INFO("switch " << i << " to " << slot);
            const auto routes =
                routes_to(slot, {i % 2 == 0 ? nginx.green() : nginx.blue()}, 100 + i);
            REQUIRE(proxy.route(config, k_site, routes).ok());
            CHECK(nginx.get() == std::string(slot) + "\n");
            CHECK(file_text(config.upstream_file) == render_upstreams(routes));
        }
        CHECK(engine.signals.size() == 4);
        CHECK(engine.execs.size() == 4);
    }
    CHECK(runner.specs.empty());
}

// ---- against a real nginx

TEST_CASE("proxy: route switches a real nginx between blue and green", "[runtime][proxy][nginx]") {
    REQUIRE_NGINX_OR_SKIP();
    TestNginx nginx;
    sys::PosixProcessRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const auto config = nginx.config();

    // Each answer is asked for right after route returns, on a new connection: the old
    // workers must no longer take it (they do for about 100 ms after the new ones start).
    for (int i = 0; i < 6; ++i) {
        const auto slot = i % 2 == 0 ? "green" : "blue";
        const auto routes = routes_to(slot, {i % 2 == 0 ? nginx.green() : nginx.blue()}, 100 + i);
        const auto switched = proxy.route(config, {}, routes);
        INFO("switch " << i << " to " << slot);
        REQUIRE(switched.ok());
        CHECK(nginx.get() == std::string(slot) + "\n");
        CHECK(switched->took > 0ms);
        CHECK(switched->took < 10s);
        const auto current = proxy.current(config);
        REQUIRE(current.ok());
        CHECK(*current == routes);
        CHECK(fs::status(config.upstream_file).permissions() == fs::perms(0644));
    }
}

TEST_CASE("proxy: upstreams nginx -t refuses leave the previous file and traffic",
          "[runtime][proxy][nginx]") {
    REQUIRE_NGINX_OR_SKIP();
    TestNginx nginx;
    sys::PosixProcessRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    const auto config = nginx.config();
    const auto before = file_text(config.upstream_file);

    // nginx.conf defines upstream admin_only already: well-formed, and still refused.
    auto routes = routes_to("green", {nginx.green()});
    routes.upstreams["admin_only"] = {nginx.green()};
    const auto routed = proxy.route(config, {}, routes);
    REQUIRE_FALSE(routed.ok());
    CHECK(routed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(routed.error().message, Catch::StartsWith("nginx -t refused the upstreams: ") &&
                                           Catch::Contains("duplicate upstream \"admin_only\"") &&
                                           Catch::Contains("test failed"));
    CHECK(file_text(config.upstream_file) == before);
    CHECK(nginx.get() == "blue\n");
    const auto current = proxy.current(config);
    REQUIRE(current.ok());
    CHECK(*current == routes_to("blue", {nginx.blue()}, 11));
}

TEST_CASE("proxy: a pid file naming no nginx master fails the switch and restores the file",
          "[runtime][proxy][nginx]") {
    REQUIRE_NGINX_OR_SKIP();
    TestNginx nginx;
    sys::PosixProcessRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine);
    Sleeper sleeper;  // a process with no children
    auto config = nginx.config();
    config.pid_file = nginx.dir() / "other.pid";
    REQUIRE(sys::write_file_atomic(config.pid_file, fmt::format("{}\n", sleeper.pid())).ok());
    const auto before = file_text(config.upstream_file);

    const auto routed = proxy.route(config, {}, routes_to("green", {nginx.green()}));
    REQUIRE_FALSE(routed.ok());
    CHECK(routed.error().kind == sys::Error::Kind::Failed);
    CHECK_THAT(routed.error().message, Catch::Contains("not an nginx master"));
    CHECK(file_text(config.upstream_file) == before);
    CHECK(nginx.get() == "blue\n");
}

TEST_CASE("proxy: a reload the master cannot take fails, and nginx gets the old file back",
          "[runtime][proxy][nginx]") {
    REQUIRE_NGINX_OR_SKIP();
    TestNginx nginx;
    sys::PosixProcessRunner runner;
    fakes::FakeEngine engine;
    NginxProxy proxy(runner, engine, 3s);
    const auto config = nginx.config();
    const auto before = file_text(config.upstream_file);

    // A listen address another socket holds: `nginx -t` lets that pass (it ignores
    // EADDRINUSE), `nginx -s reload` exits 0 (it only signals), and the master, unable to
    // bind, keeps its old workers and configuration.
    {
        HeldPort held;
        nginx.write_conf(
            fmt::format("    server {{ listen 127.0.0.1:{}; return 204; }}\n", held.port()));
        const auto routed = proxy.route(config, {}, routes_to("green", {nginx.green()}));
        REQUIRE_FALSE(routed.ok());
        CHECK(routed.error().kind == sys::Error::Kind::Failed);
        CHECK_THAT(routed.error().message,
                   Catch::StartsWith("nginx did not take the reload within 3s: the master") &&
                       Catch::Contains("started no new worker"));
        CHECK(file_text(config.upstream_file) == before);
        CHECK(nginx.get() == "blue\n");
        CHECK_THAT(file_text(nginx.dir() / "error.log"), Catch::Contains("still could not bind()"));
    }

    // The master runs on, and takes the next switch once its configuration loads.
    nginx.write_conf("");
    REQUIRE(proxy.route(config, {}, routes_to("green", {nginx.green()})).ok());
    CHECK(nginx.get() == "green\n");
}

// ---- against nginx in a container of the real engine

namespace {

/// agentd-test/nginx:latest, made by tests/images/build from the host's nginx (once).
std::string ensure_nginx_image() {
    if (!run({"docker", "image", "inspect", "agentd-test/nginx:latest"}).success()) {
        run_ok({fmt::format("{}/tests/images/build", AGENTD_SOURCE_ROOT), "nginx-base"});
    }
    return "agentd-test/nginx:latest";
}

/// nginx in a container labelled as service nginx of a compose project of its own: the
/// image's nginx.conf includes conf.d/site.conf (a directory of the test's, bind-mounted),
/// which includes the upstream file from another bind-mounted directory and answers "blue\n"
/// and "green\n" on ports 8081 and 8082 of the container, and proxies port 80 to upstream
/// app_web (first to blue).
class ContainerNginx {
public:
    ContainerNginx()
        : m_project(unique_name("agentdng")),
          m_name(m_project + "-nginx"),
          m_cleanup([name = m_name] {
              run({"docker", "rm", "-f", name});
          }) {
        fs::create_directories(conf_dir());
        fs::create_directories(upstream_dir());
        write_site("");
        REQUIRE(sys::write_file_atomic(upstream_file(),
                                       render_upstreams(routes_to("blue", {blue()}, 11)),
                                       fs::perms(0644))
                    .ok());
        m_id = run_ok({"docker", "run", "-d", "--name", m_name, "--label",
                       "com.docker.compose.project=" + m_project, "--label",
                       "com.docker.compose.service=nginx", "-v",
                       conf_dir().string() + ":/etc/nginx/conf.d:ro", "-v",
                       upstream_dir().string() + ":/etc/nginx/agentd:ro", ensure_nginx_image()});
        m_address = run_ok({"docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", m_id});
        REQUIRE_FALSE(m_address.empty());
        REQUIRE(eventually([&] { return get() == "blue\n"; }, 20s));
    }

    std::string project() const { return m_project; }
    std::string id() const { return m_id; }
    fs::path conf_dir() const { return m_dir.path() / "conf.d"; }
    fs::path upstream_dir() const { return m_dir.path() / "agentd"; }
    fs::path upstream_file() const { return upstream_dir() / "upstreams.conf"; }
    /// The backends, as nginx in the container reaches them.
    static std::string blue() { return "127.0.0.1:8081"; }
    static std::string green() { return "127.0.0.1:8082"; }

    /// The proxy's answer to GET / over a new connection; "" when there is none.
    std::string get() const {
        sys::CurlHttpClient client;
        auto response =
            client.send({.url = fmt::format("http://{}:80/", m_address), .timeout = 5s});
        return response && response->status == 200 ? response->body : "";
    }

    /// Rewrites site.conf with `extra` at its end (read at the next test or reload).
    void write_site(const std::string& extra) const {
        const auto text = fmt::format(
            R"(upstream admin_only {{ server 127.0.0.1:8081; }}
include /etc/nginx/agentd/upstreams.conf;
server {{ listen 8081; return 200 "blue\n"; }}
server {{ listen 8082; return 200 "green\n"; }}
server {{ listen 80; location / {{ proxy_pass http://app_web; }} }}
{}
)",
            extra);
        REQUIRE(sys::write_file_atomic(conf_dir() / "site.conf", text, fs::perms(0644)).ok());
    }

private:
    TempDir m_dir;
    std::string m_project;
    std::string m_name;
    Cleanup m_cleanup;  // after m_dir: the container goes before its directories
    std::string m_id;
    std::string m_address;
};

}  // namespace

TEST_CASE("proxy: route switches nginx in a container, and restores what its test refuses",
          "[runtime][proxy][nginx][integration][docker]") {
    ContainerNginx nginx;
    FakeRunner runner;  // nothing may run on the host
    sys::CurlHttpClient http;
    DockerEngine engine(http);
    NginxProxy proxy(runner, engine);
    const auto config = service_config(nginx.upstream_file());
    const ProxySite site{.project = nginx.project()};

    // Each answer is asked for right after route returns, on a new connection.
    for (int i = 0; i < 4; ++i) {
        const auto slot = i % 2 == 0 ? "green" : "blue";
        INFO("switch " << i << " to " << slot);
        const auto routes = routes_to(slot, {i % 2 == 0 ? nginx.green() : nginx.blue()}, 100 + i);
        const auto switched = proxy.route(config, site, routes);
        REQUIRE(switched.ok());
        CHECK(nginx.get() == std::string(slot) + "\n");
        CHECK(switched->took < 10s);
        CHECK(proxy.current(config).value() == routes);
    }
    CHECK(runner.specs.empty());

    // site.conf defines upstream admin_only already: nginx -t inside the container refuses.
    const auto before = file_text(config.upstream_file);
    auto twice = routes_to("green", {nginx.green()}, 200);
    twice.upstreams["admin_only"] = {nginx.green()};
    const auto refused = proxy.route(config, site, twice);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(refused.error().message, Catch::StartsWith("nginx -t refused the upstreams: ") &&
                                            Catch::Contains("duplicate upstream \"admin_only\"") &&
                                            Catch::Contains("test failed"));
    CHECK(file_text(config.upstream_file) == before);
    CHECK(nginx.get() == "blue\n");

    // A test that is not there inside the container fails the switch, not the release.
    auto missing = config;
    missing.test = {"/usr/sbin/no-such-nginx", "-t"};
    const auto absent = proxy.route(missing, site, routes_to("green", {nginx.green()}, 201));
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().kind == sys::Error::Kind::Failed);
    CHECK_THAT(absent.error().message, Catch::StartsWith("nginx -t could not run: in container"));
    CHECK(file_text(config.upstream_file) == before);
    CHECK(nginx.get() == "blue\n");
}

}  // namespace unit_runtime_proxy_test
