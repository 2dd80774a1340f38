#include "agent/daemon/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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
