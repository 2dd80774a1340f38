#include "agent/daemon/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/sys/http.h"
#include "tests/unit/daemon/fake_backend.h"

using namespace agentd;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("agentd-api-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

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

/// Sends `request` as raw bytes and returns everything the server wrote before closing.
std::string raw_exchange(const fs::path& socket, const std::string& request) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    std::size_t sent = 0;
    while (sent < request.size()) {
        const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            break;  // the server may answer and close before reading everything
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buffer[4096];
    for (;;) {
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            break;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

/// A backend whose `sync --wait` blocks until the test releases it; everything else answers.
class BlockingBackend final : public daemon::ApiBackend {
public:
    std::promise<void> sync_entered;
    std::promise<void> release;

    daemon::ApiResult<std::vector<daemon::StackStatus>> status(
        const std::optional<std::string>&) override {
        return std::vector<daemon::StackStatus>{};
    }
    daemon::ApiResult<std::vector<model::Deployment>> history(const std::optional<std::string>&,
                                                              int) override {
        return std::vector<model::Deployment>{};
    }
    daemon::ApiResult<model::Deployment> show(std::int64_t) override {
        return daemon::ApiError::not_found("none");
    }
    daemon::ApiResult<std::optional<deploy::CycleResult>> sync(const std::string&, bool) override {
        sync_entered.set_value();
        release.get_future().wait();
        return std::optional<deploy::CycleResult>(
            deploy::CycleResult{deploy::Outcome::Noop, std::nullopt, "nothing new"});
    }
    daemon::ApiResult<deploy::CycleResult> rollback(const std::string&,
                                                    std::optional<std::int64_t>) override {
        return daemon::ApiError::not_found("none");
    }
    daemon::ApiResult<model::StackState> set_paused(const std::string&, bool) override {
        return daemon::ApiError::not_found("none");
    }
    daemon::ApiResult<int> reload() override { return 0; }
};

}  // namespace

TEST_CASE("api server: serves routes as JSON over a unix socket with mode 0660", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    backend.deployments.push_back(daemon::testing::sample_deployment(3, "shop"));
    daemon::ApiServer server(backend);
    const auto socket = dir.path / "run" / "api.sock";
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
    const auto socket = dir.path / "api.sock";
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
    const auto file = dir.path / "not-a-socket";
    { std::ofstream(file) << "data"; }
    daemon::ApiServer third(backend);
    auto started = third.start(file);
    REQUIRE_FALSE(started.ok());
    REQUIRE(fs::file_size(file) == 4);
}

TEST_CASE("api server: oversized bodies are refused", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    daemon::ApiServer server(backend);
    const auto socket = dir.path / "api.sock";
    REQUIRE(server.start(socket).ok());
    auto r = call(socket, "POST", "/v1/stacks/shop/sync", std::string(100 * 1024, ' '));
    REQUIRE(r.status == 413);
    REQUIRE(backend.calls.empty());
}

TEST_CASE("api server: malformed requests get a JSON 400, an endless head a 431", "[daemon]") {
    TempDir dir;
    daemon::testing::FakeBackend backend;
    daemon::ApiServer server(backend);
    const auto socket = dir.path / "api.sock";
    REQUIRE(server.start(socket).ok());

    const auto bad = raw_exchange(socket, "GET /v1/status HTTP/9\r\n\r\n");
    CHECK(bad.rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(bad.find("Content-Type: application/json") != std::string::npos);
    CHECK(bad.find("HTTP/1.0 and HTTP/1.1") != std::string::npos);

    const auto chunked = raw_exchange(
        socket, "POST /v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(chunked.rfind("HTTP/1.1 400 ", 0) == 0);

    const auto endless =
        raw_exchange(socket, "GET /v1/status HTTP/1.1\r\nX-Pad: " + std::string(20000, 'a'));
    CHECK(endless.rfind("HTTP/1.1 431 ", 0) == 0);
    CHECK(backend.calls.empty());

    // Still serving after all that.
    CHECK(call(socket, "GET", "/v1/status").status == 200);
}

TEST_CASE("api server: a request waiting for its cycle does not hold up others", "[daemon]") {
    TempDir dir;
    BlockingBackend backend;
    daemon::ApiServer server(backend);
    const auto socket = dir.path / "api.sock";
    REQUIRE(server.start(socket).ok());

    auto waiting = std::async(std::launch::async, [&] {
        return call(socket, "POST", "/v1/stacks/shop/sync", R"({"wait": true})");
    });
    backend.sync_entered.get_future().wait();
    CHECK(call(socket, "GET", "/v1/status").status == 200);
    backend.release.set_value();
    const auto answer = waiting.get();
    CHECK(answer.status == 200);
    CHECK(nlohmann::json::parse(answer.body)["outcome"] == "noop");
}
