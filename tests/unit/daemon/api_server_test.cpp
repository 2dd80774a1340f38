#include "agent/daemon/api_server.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "agent/daemon/event_stream.h"
#include "agent/daemon/progress_hub.h"
#include "agent/sys/http.h"
#include "agent/sys/process.h"
#include "tests/unit/daemon/fake_backend.h"
#include "tests/unit/temp_dir.h"

namespace unit_daemon_api_server_test {

using namespace agentd;
namespace fs = std::filesystem;

namespace {

using agentd::testing::TempDir;

sys::HttpResponse call(const fs::path& socket, const std::string& method, const std::string& path,
                       const std::string& body = "") {
    sys::CurlHttpClient http;
    sys::HttpRequest r;
    r.method = method;
    r.url = "http://localhost" + path;
    r.unix_socket = socket.string();
    r.body = body;
    if (!body.empty()) {
        r.headers.emplace_back("Content-Type", "application/json");
    }
    auto response = http.send(r);
    REQUIRE(response.ok());
    return *response;
}

}  // namespace

TEST_CASE("api server: serves routes as JSON over a unix socket with mode 0660", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    backend.deployments.push_back(daemon::testing::sample_deployment(3, "shop"));
    daemon::ApiServer server(backend);
    const auto socket = dir.path() / "run" / "api.sock";
    REQUIRE(server.start(socket).ok());

    struct stat st {};
    REQUIRE(::stat(socket.c_str(), &st) == 0);
    REQUIRE(S_ISSOCK(st.st_mode));
    REQUIRE((st.st_mode & 0777) == 0660);

    auto status = call(socket, "GET", "/v1/status?stack=shop");
    REQUIRE(status.status == 200);
    auto j = nlohmann::json::parse(status.body);
    REQUIRE(j["stacks"].size() == 1);
    REQUIRE(j["stacks"][0]["name"] == "shop");
    REQUIRE(backend.calls.back() == "status shop");

    auto sync = call(socket, "POST", "/v1/stacks/shop/sync", R"({"wait": true})");
    REQUIRE(sync.status == 200);
    REQUIRE(nlohmann::json::parse(sync.body)["outcome"] == "succeeded");

    auto missing = call(socket, "POST", "/v1/stacks/nope/pause");
    REQUIRE(missing.status == 404);
    REQUIRE(nlohmann::json::parse(missing.body)["error"] == "unknown stack \"nope\"");

    auto history = call(socket, "GET", "/v1/history?limit=3");
    REQUIRE(backend.last_limit == 3);
    REQUIRE(nlohmann::json::parse(history.body)["deployments"][0]["id"] == 3);

    server.stop();
    REQUIRE_FALSE(fs::exists(socket));
}

TEST_CASE("api server: replaces a stale socket but never a regular file", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    const auto socket = dir.path() / "api.sock";
    {
        // A killed agentd leaves its socket file behind: bound, nobody listening.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        ::close(fd);
        REQUIRE(fs::is_socket(socket));
    }
    {
        daemon::ApiServer second(backend);
        REQUIRE(second.start(socket).ok());
        REQUIRE(call(socket, "POST", "/v1/reload").status == 200);
    }
    const auto file = dir.path() / "not-a-socket";
    { std::ofstream(file) << "data"; }
    daemon::ApiServer third(backend);
    auto started = third.start(file);
    REQUIRE_FALSE(started.ok());
    REQUIRE(fs::file_size(file) == 4);
}

namespace {

/// A raw client connection to the API socket, closed at the end.
struct RawClient {
    int fd = -1;
    explicit RawClient(const fs::path& socket) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    ~RawClient() { ::close(fd); }
    void send_text(const std::string& text) {
        REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(text.size()));
    }
    /// Whether the server closed the connection (end of file, or reset) by now.
    bool closed_by_server() {
        char byte = 0;
        const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    /// Waits (polling, up to `limit`) until the server closes the connection.
    bool wait_closed(std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!closed_by_server()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }
    /// What the server sent up to the end of its answer's headers (or until it closed the
    /// connection), waiting up to `limit`.
    std::string read_head(std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::string text;
        while (text.find("\r\n\r\n") == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            char buffer[1024];
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) {
                text.append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                break;
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
        return text;
    }
};

}  // namespace

TEST_CASE("api server: oversized bodies are refused before they are read", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    daemon::ApiServer server(backend);
    const auto socket = dir.path() / "api.sock";
    REQUIRE(server.start(socket).ok());
    // Only the head is sent: the answer comes from the declared length alone. (A client that
    // sends the body meanwhile may see the connection reset before it reads the 413.)
    RawClient client(socket);
    client.send_text(
        "POST /v1/stacks/shop/sync HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(100 * 1024) + "\r\n\r\n");
    const std::string head = client.read_head(std::chrono::seconds(10));
    CHECK(head.starts_with("HTTP/1.1 413"));
    CHECK(backend.calls.empty());
    // Under the limit, the same request is served.
    CHECK(call(socket, "POST", "/v1/stacks/shop/sync", "{}").status == 202);
    CHECK(backend.calls.size() == 1);
}

TEST_CASE("api server: the socket is created with its final mode, never changed after",
          "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(watch >= 0);
    REQUIRE(::inotify_add_watch(watch, dir.path().c_str(), IN_CREATE | IN_ATTRIB) >= 0);
    // With no umask, a socket bound with the default mode would be 0777 until a chmod.
    const mode_t old_umask = ::umask(0);
    daemon::ApiServer server(backend);
    const auto started = server.start(dir.path() / "api.sock");
    ::umask(old_umask);
    REQUIRE(started.ok());
    struct stat st {};
    REQUIRE(::stat((dir.path() / "api.sock").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0660);
    alignas(inotify_event) char buffer[4096];
    bool created = false;
    bool changed = false;
    ssize_t n = 0;
    while ((n = ::read(watch, buffer, sizeof buffer)) > 0) {
        for (char* p = buffer; p < buffer + n;) {
            const auto* event = reinterpret_cast<inotify_event*>(p);
            if (event->len > 0 && std::string(event->name) == "api.sock") {
                created |= (event->mask & IN_CREATE) != 0;
                changed |= (event->mask & IN_ATTRIB) != 0;
            }
            p += sizeof(inotify_event) + event->len;
        }
    }
    ::close(watch);
    CHECK(created);
    CHECK_FALSE(changed);  // no chmod after bind: the mode was final from the start
}

TEST_CASE("api server: a socket someone listens on is never taken over", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    const auto socket = dir.path() / "api.sock";
    daemon::ApiServer first(backend);
    REQUIRE(first.start(socket).ok());
    daemon::ApiServer second(backend);
    const auto refused = second.start(socket);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message,
               Catch::Contains("another process is listening") && Catch::Contains(socket.string()));
    // The first one still has its socket and answers.
    CHECK(call(socket, "POST", "/v1/reload").status == 200);
}

TEST_CASE("api server: idle connections beyond the limit wait, and idle ones are closed",
          "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    const auto socket = dir.path() / "api.sock";
    daemon::ApiServer server(backend, {.connections = 2, .idle_timeout = std::chrono::seconds(1)});
    REQUIRE(server.start(socket).ok());
    // Fill every connection slot with clients that never send anything.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 4; ++i) {
        idle.push_back(std::make_unique<RawClient>(socket));
    }
    // A real request still gets its answer, once idle connections time out...
    CHECK(call(socket, "POST", "/v1/reload").status == 200);
    // ...and not before: at the limit, at least one idle connection had to be closed first.
    CHECK(std::any_of(idle.begin(), idle.end(), [](auto& c) { return c->closed_by_server(); }));
    // Every idle one is closed in the end (those beyond the limit once they get a slot).
    for (auto& client : idle) {
        CHECK(client->wait_closed(std::chrono::seconds(20)));
    }
}

TEST_CASE("api server: a request cut off half way is dropped, the API keeps answering",
          "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    const auto socket = dir.path() / "api.sock";
    daemon::ApiServer server(backend, {.connections = 4, .idle_timeout = std::chrono::seconds(1)});
    REQUIRE(server.start(socket).ok());
    RawClient slow(socket);
    slow.send_text("POST /v1/stacks/shop/sync HTTP/1.1\r\nHost: localhost\r\nContent-Len");
    CHECK(call(socket, "GET", "/v1/status").status == 200);
    CHECK(slow.wait_closed(std::chrono::seconds(20)));
    // A body that stops short of its Content-Length is dropped the same way, unprocessed.
    RawClient short_body(socket);
    short_body.send_text(
        "POST /v1/stacks/shop/sync HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{");
    CHECK(short_body.wait_closed(std::chrono::seconds(20)));
    CHECK(call(socket, "GET", "/v1/status").status == 200);
    for (const auto& c : backend.calls) {
        CHECK(c.rfind("sync", 0) != 0);
    }
}

namespace {

daemon::ApiReply echo_route(const daemon::ApiRequest& r) {
    if (r.path == "/metrics") {
        return {200, nullptr, "text/plain; version=0.0.4", "x_total 1\n"};
    }
    return {404, {{"error", "not found: " + r.method + " " + r.path}}, "", ""};
}

sys::Result<sys::HttpResponse> tcp_call(const std::string& url, const std::string& method = "GET",
                                        const std::string& ca_file = "") {
    sys::CurlHttpClient http;
    sys::HttpRequest r;
    r.method = method;
    r.url = url;
    r.ca_file = ca_file;
    r.timeout = std::chrono::seconds(10);
    return http.send(r);
}

}  // namespace

TEST_CASE("api server: serves a route table on TCP, text as its content type", "[daemon]") {
    daemon::ApiServer server(echo_route);
    REQUIRE(server.start_tcp({"127.0.0.1", 0}).ok());
    REQUIRE(server.port() > 0);
    CHECK(server.where() == "127.0.0.1:" + std::to_string(server.port()));
    const auto base = "http://127.0.0.1:" + std::to_string(server.port());
    auto metrics = tcp_call(base + "/metrics");
    REQUIRE(metrics.ok());
    CHECK(metrics->status == 200);
    CHECK(metrics->body == "x_total 1\n");
    CHECK(metrics->header("content-type") == "text/plain; version=0.0.4");
    auto other = tcp_call(base + "/v1/stacks/shop/sync", "POST");
    REQUIRE(other.ok());
    CHECK(other->status == 404);
    CHECK(nlohmann::json::parse(other->body)["error"] == "not found: POST /v1/stacks/shop/sync");
    server.stop();
    CHECK_FALSE(tcp_call(base + "/metrics").ok());  // nobody listens any more
}

TEST_CASE("api server: a port in use is an error naming the address", "[daemon]") {
    daemon::ApiServer first(echo_route);
    REQUIRE(first.start_tcp({"127.0.0.1", 0}).ok());
    daemon::ApiServer second(echo_route);
    const auto started = second.start_tcp({"127.0.0.1", first.port()});
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().message ==
          "api.listen 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
}

TEST_CASE("api server: serves IPv6 loopback", "[daemon]") {
    daemon::ApiServer server(echo_route);
    REQUIRE(server.start_tcp({"::1", 0}).ok());
    auto metrics = tcp_call("http://[::1]:" + std::to_string(server.port()) + "/metrics");
    REQUIRE(metrics.ok());
    CHECK(metrics->status == 200);
}

TEST_CASE("api server: TLS with a certificate made by openssl, verified by the client",
          "[daemon]") {
    TempDir dir;
    const auto cert = dir.path() / "tls.crt";
    const auto key = dir.path() / "tls.key";
    sys::PosixProcessRunner processes;
    sys::ProcessSpec spec;
    spec.argv = {"openssl",
                 "req",
                 "-x509",
                 "-newkey",
                 "ec",
                 "-pkeyopt",
                 "ec_paramgen_curve:P-256",
                 "-nodes",
                 "-subj",
                 "/CN=agentd test",
                 "-addext",
                 "subjectAltName=IP:127.0.0.1",
                 "-days",
                 "1",
                 "-keyout",
                 key.string(),
                 "-out",
                 cert.string()};
    const auto made = processes.run(spec);
    REQUIRE(made.ok());
    REQUIRE(made->success());

    daemon::ApiServer server(echo_route);
    REQUIRE(server.start_tcp({"127.0.0.1", 0}, daemon::ApiServer::TlsFiles{cert, key}).ok());
    CHECK(server.where() == "https://127.0.0.1:" + std::to_string(server.port()));
    const auto port = std::to_string(server.port());
    auto verified = tcp_call("https://127.0.0.1:" + port + "/metrics", "GET", cert.string());
    REQUIRE(verified.ok());
    CHECK(verified->status == 200);
    CHECK(verified->body == "x_total 1\n");
    // Not trusted without the certificate; plain HTTP gets no answer.
    CHECK_FALSE(tcp_call("https://127.0.0.1:" + port + "/metrics").ok());
    auto plain = tcp_call("http://127.0.0.1:" + port + "/metrics");
    CHECK((!plain.ok() || plain->status != 200));
}

TEST_CASE("api server: TLS files that cannot be read are named", "[daemon]") {
    TempDir dir;
    daemon::ApiServer server(echo_route);
    const auto started =
        server.start_tcp({"127.0.0.1", 0},
                         daemon::ApiServer::TlsFiles{dir.path() / "no.crt", dir.path() / "no.key"});
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().message.rfind("api.cert_file " + (dir.path() / "no.crt").string(), 0) ==
          0);
}

TEST_CASE("api server: a TCP route table gets headers, peer address, and its own body limit",
          "[daemon][webhook]") {
    std::mutex mutex;
    std::vector<daemon::ApiRequest> seen;
    daemon::ApiLimits limits;
    limits.max_body = 1024 * 1024;
    daemon::ApiServer server(
        [&](const daemon::ApiRequest& request) {
            std::lock_guard lock(mutex);
            seen.push_back(request);
            return daemon::ApiReply{202, {{"ok", true}}, "", ""};
        },
        limits);
    REQUIRE(server.start_tcp({"127.0.0.1", 0}).ok());
    const auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/webhooks/github";
    sys::CurlHttpClient http;
    sys::HttpRequest r;
    r.method = "POST";
    r.url = url;
    r.timeout = std::chrono::seconds(10);
    r.headers.emplace_back("X-GitHub-Event", "push");
    r.body = std::string(200 * 1024, ' ');  // over the socket's 64 KiB, under this limit
    auto taken = http.send(r);
    REQUIRE(taken.ok());
    CHECK(taken->status == 202);
    {
        std::lock_guard lock(mutex);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].body.size() == 200 * 1024);
        CHECK(seen[0].peer == "127.0.0.1");
        CHECK(seen[0].headers.at("X-GitHub-Event") == "push");
    }
    r.body = std::string(1024 * 1024 + 1, ' ');
    auto refused = http.send(r);
    REQUIRE(refused.ok());
    CHECK(refused->status == 413);
    std::lock_guard lock(mutex);
    CHECK(seen.size() == 1);  // the handler never saw it
}

namespace {

/// A route table serving GET /v1/events from a real ProgressHub, as the daemon's backend does.
daemon::ApiServer::Handler events_route(daemon::ProgressHub& hub) {
    return [&hub](const daemon::ApiRequest& r) {
        daemon::ApiReply reply;
        reply.content_type = "application/x-ndjson";
        reply.stream = std::make_shared<daemon::EventStream>(hub.subscribe("shop"), "shop");
        (void)r;
        return reply;
    };
}

/// Polls `done` until it holds or `deadline` passes.
template <class Done>
bool eventually(Done done, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace

TEST_CASE("api server: a stream is sent as it is published, as chunked JSON lines",
          "[daemon][progress]") {
    TempDir dir;
    daemon::ProgressHub hub;
    daemon::ApiServer server(events_route(hub));
    const auto socket = dir.path() / "api.sock";
    REQUIRE(server.start(socket).ok());

    std::mutex mutex;
    std::string received;
    std::thread client([&] {
        sys::CurlHttpClient http;
        sys::HttpRequest r;
        r.url = "http://localhost/v1/events?stack=shop";
        r.unix_socket = socket.string();
        r.timeout = std::chrono::seconds(60);
        r.on_body = [&](std::string_view chunk) {
            const std::lock_guard lock(mutex);
            received.append(chunk);
            return received.find("\"n\":2") == std::string::npos;  // stop after the second
        };
        (void)http.send(r);
    });
    const auto has = [&](const std::string& text) {
        return [&, text] {
            const std::lock_guard lock(mutex);
            return received.find(text) != std::string::npos;
        };
    };
    // Subscribed once the greeting arrived; what is published afterwards arrives while the
    // response is still open.
    REQUIRE(eventually(has("\"subscribed\"")));
    hub.publish("shop", {{"type", "phase"}, {"n", 1}});
    REQUIRE(eventually(has("\"n\":1")));
    hub.publish("blog", {{"type", "phase"}, {"n", 9}});
    hub.publish("shop", {{"type", "phase"}, {"n", 2}});
    client.join();
    CHECK(received ==
          "{\"stack\":\"shop\",\"type\":\"subscribed\"}\n{\"n\":1,\"type\":\"phase\"}\n"
          "{\"n\":2,\"type\":\"phase\"}\n");
    // The client went away: its subscription ends (seen at the next write, a heartbeat at most).
    CHECK(eventually([&] { return hub.subscribers() == 0; }));
}

TEST_CASE("api server: stopping does not wait for a client following a stream",
          "[daemon][progress]") {
    // A stream with nothing to send, ever (no line, no heartbeat): only the server's own stop
    // can end it. It gives up by itself after a minute, so that a server that waits for it
    // fails the deadline below instead of hanging the test.
    class SilentStream final : public daemon::ApiStream {
    public:
        std::optional<std::string> next(sys::Duration wait) override {
            std::this_thread::sleep_for(wait);
            ++calls;
            if (std::chrono::steady_clock::now() - m_started > std::chrono::seconds(60)) {
                return std::nullopt;
            }
            return std::string();
        }
        std::atomic<int> calls{0};

    private:
        std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
    };
    auto stream = std::make_shared<SilentStream>();
    TempDir dir;
    auto server = std::make_unique<daemon::ApiServer>([stream](const daemon::ApiRequest&) {
        daemon::ApiReply reply;
        reply.content_type = "application/x-ndjson";
        reply.stream = stream;
        return reply;
    });
    const auto socket = dir.path() / "api.sock";
    REQUIRE(server->start(socket).ok());
    std::atomic<bool> ended{false};
    std::thread client([&] {
        sys::CurlHttpClient http;
        sys::HttpRequest r;
        r.url = "http://localhost/v1/events";
        r.unix_socket = socket.string();
        r.timeout = std::chrono::seconds(120);
        r.on_body = [](std::string_view) { return true; };
        (void)http.send(r);
        ended = true;
    });
    REQUIRE(eventually([&] { return stream->calls > 0; }));  // the reader waits on the stream
    // stop() returns (one that waits for the stream fails the deadline)...
    auto stopping = std::async(std::launch::async, [&] { server->stop(); });
    REQUIRE(stopping.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    // ...and the client's stream ended with it.
    CHECK(eventually([&] { return ended.load(); }));
    client.join();
}

}  // namespace unit_daemon_api_server_test
