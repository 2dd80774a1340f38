#include "agent/runtime/docker_events.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include <fmt/format.h>

#include "agent/runtime/docker_engine.h"
#include "agent/sys/http.h"
#include "agent/sys/url.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_runtime_docker_events_test {

using namespace agentd;
using namespace agentd::runtime;
using namespace agentd::runtime::testing;
using namespace std::chrono_literals;

TEST_CASE("engine events: the path asks for the project's kill and stop events since a time",
          "[runtime][events]") {
    const auto since = std::chrono::system_clock::time_point(1'790'000'000'123'456'789ns);
    const auto path = events_path("shop", since);
    CHECK(path.rfind("/events?since=1790000000.123456789&filters=", 0) == 0);
    const auto filters = path.substr(path.find("filters=") + 8);
    CHECK(filters ==
          sys::url_encode(R"({"event":["kill","stop"],"label":)"
                          R"(["com.docker.compose.project=shop"],"type":["container"]})"));
}

TEST_CASE("engine events: a container event of the engine's stream is read", "[runtime][events]") {
    // as dockerd 20.10 writes it
    const auto e = parse_container_event(
        R"({"status":"kill","id":"66f8","from":"127.0.0.1:5000/web:1","Type":"container",)"
        R"("Action":"kill","Actor":{"ID":"66f8","Attributes":{"com.docker.compose.oneoff":)"
        R"("False","com.docker.compose.project":"shop","com.docker.compose.service":"web",)"
        R"("image":"127.0.0.1:5000/web:1","name":"shop_web_1","signal":"15"}},)"
        R"("scope":"local","time":1790000000,"timeNano":1790000000123456789})");
    REQUIRE(e);
    CHECK(e->action == "kill");
    CHECK(e->name == "shop_web_1");
    CHECK(e->service == "web");
    CHECK_FALSE(e->one_off);
    CHECK(e->signal == "15");
    CHECK_FALSE(parse_container_event(R"({"Type":"network","Action":"connect"})"));
    CHECK_FALSE(parse_container_event(R"({"Type":"container","Action":7})"));
    CHECK_FALSE(parse_container_event("{\"Type\":\"container\""));
    CHECK_FALSE(parse_container_event(""));
}

namespace {

/// A unix-socket server that answers one request with the head of an event stream and one
/// event, then closes the connection when told: an engine going away.
class StreamServer {
public:
    explicit StreamServer(const std::filesystem::path& path) : m_path(path) {
        m_listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        REQUIRE(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(m_listener, 4) == 0);
        m_thread = std::thread([this] { serve(); });
    }
    ~StreamServer() {
        go_away();
        ::shutdown(m_listener, SHUT_RDWR);  // ends an accept() still waiting
        m_thread.join();
        ::close(m_listener);
    }
    void go_away() {
        if (!m_gone) {
            m_gone = true;
            m_close.set_value();
        }
    }

private:
    void serve() {
        const int fd = ::accept(m_listener, nullptr, nullptr);
        if (fd < 0) {
            return;
        }
        char buffer[4096];
        (void)::read(fd, buffer, sizeof buffer);  // the request (one read is enough here)
        const std::string event =
            R"({"Type":"container","Action":"stop","Actor":{"Attributes":{"name":"shop_web_1",)"
            R"("com.docker.compose.service":"web"}}})"
            "\n";
        const std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" +
            fmt::format("{:x}\r\n{}\r\n", event.size(), event);
        (void)::write(fd, answer.data(), answer.size());
        m_close_requested.wait();
        ::close(fd);
    }

    std::filesystem::path m_path;
    int m_listener = -1;
    bool m_gone = false;
    std::promise<void> m_close;
    std::shared_future<void> m_close_requested = m_close.get_future().share();
    std::thread m_thread;
};

}  // namespace

TEST_CASE("engine events: the watch reads events, then sees the engine go away",
          "[runtime][events]") {
    TempDir dir;
    const auto socket = dir.path() / "engine.sock";
    std::optional<StreamServer> server(std::in_place, socket);
    auto watch = DockerEventWatch::open(socket.string(), "http://localhost/v1.41/events", 5s);
    REQUIRE(watch.ok());
    auto first = (*watch)->read(5s);
    REQUIRE(first.events.size() == 1);
    CHECK(first.events[0].action == "stop");
    CHECK(first.events[0].name == "shop_web_1");
    CHECK_FALSE(first.ended);
    CHECK((*watch)->read(0ms).events.empty());
    server->go_away();
    runtime::EngineEvents later;
    REQUIRE(eventually([&] { return (later = (*watch)->read(200ms)).ended; }, 10s));
    CHECK(later.events.empty());
}

TEST_CASE("engine events: no engine listening is an error at once", "[runtime][events]") {
    TempDir dir;
    auto watch = DockerEventWatch::open((dir.path() / "none.sock").string(),
                                        "http://localhost/v1.41/events", 5s);
    REQUIRE_FALSE(watch.ok());
    CHECK(watch.error().message.rfind("events: ", 0) == 0);
}

TEST_CASE("engine events: the real engine reports who stopped a project's container",
          "[runtime][engine][integration][docker]") {
    const auto image = ensure_test_image();
    const auto project = unique_name("agentdev");
    const auto web = project + "-web";
    const auto other = project + "-other";
    Cleanup cleanup([&] { run({"docker", "rm", "-f", web, other}); });
    for (const auto& [name, label] : {std::pair{web, project}, std::pair{other, project + "x"}}) {
        run_ok({"docker", "run", "-d", "--name", name, "--label",
                "com.docker.compose.project=" + label, "--label", "com.docker.compose.service=web",
                image, "sleep", "300"});
    }
    sys::CurlHttpClient http;
    DockerEngine engine(http);
    auto watch = engine.watch(project);
    REQUIRE(watch.ok());
    // a reload signal (PID 1 without a handler ignores it), then a stop of each container
    run_ok({"docker", "kill", "-s", "HUP", web});
    run_ok({"docker", "stop", "-t", "1", other});
    run_ok({"docker", "stop", "-t", "1", web});
    std::vector<ContainerEvent> seen;
    REQUIRE(eventually([&] {
        for (auto& e : (*watch)->read(200ms).events) {
            seen.push_back(e);
        }
        return !seen.empty() && seen.back().action == "stop";
    }));
    for (const auto& e : seen) {
        CHECK(e.name == web);  // never the other project's container
        CHECK(e.service == "web");
    }
    REQUIRE(seen.size() >= 3);
    CHECK(seen[0].action == "kill");
    CHECK(seen[0].signal == "1");
    CHECK(seen[1].action == "kill");
    CHECK(seen[1].signal == "15");
    CHECK_FALSE((*watch)->read(0ms).ended);
}

}  // namespace unit_runtime_docker_events_test
