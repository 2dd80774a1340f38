#include "agent/sys/service_manager.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace unit_sys_service_manager_test {

using namespace agentd::sys;
namespace fs = std::filesystem;

namespace {

/// Sets environment variables for one test and removes them afterwards.
struct EnvGuard {
    std::vector<std::string> names;
    void set(const std::string& name, const std::string& value) {
        ::setenv(name.c_str(), value.c_str(), 1);
        names.push_back(name);
    }
    ~EnvGuard() {
        for (const auto& name : names) {
            ::unsetenv(name.c_str());
        }
    }
};

/// A bound AF_UNIX socket of `type` at `name` (a leading '@' is the abstract namespace).
int bound_socket(int type, const std::string& name) {
    const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') {
        address.sun_path[0] = '\0';
    }
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
    return fd;
}

std::string receive(int fd) {
    char buffer[256] = {};
    const auto n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

/// Puts `fd` at descriptor 3 without FD_CLOEXEC, as socket activation passes it, and restores
/// descriptor 3 afterwards.
struct AtFdThree {
    bool same = false;
    int saved = -1;
    explicit AtFdThree(int fd) : same(fd == 3) {
        if (!same) {
            saved = ::fcntl(3, F_DUPFD_CLOEXEC, 10);  // -1 when 3 was not open
            REQUIRE(::dup2(fd, 3) == 3);
        }
        REQUIRE(::fcntl(3, F_SETFD, 0) == 0);
    }
    ~AtFdThree() {
        if (same) {
            return;
        }
        if (saved >= 0) {
            ::dup2(saved, 3);
            ::close(saved);
        } else {
            ::close(3);
        }
    }
};

}  // namespace

TEST_CASE("service manager: notify sends one datagram to a path or an abstract socket", "[sys]") {
    EnvGuard env;
    const std::string path =
        (fs::temp_directory_path() / ("agentd-sm-" + std::to_string(::getpid()))).string();
    const int by_path = bound_socket(SOCK_DGRAM, path);
    env.set("NOTIFY_SOCKET", path);
    REQUIRE(notify_service_manager("READY=1\nSTATUS=watching 1 stacks").ok());
    CHECK(receive(by_path) == "READY=1\nSTATUS=watching 1 stacks");
    ::close(by_path);
    fs::remove(path);

    const std::string abstract = "@agentd-sm-test-" + std::to_string(::getpid());
    const int by_name = bound_socket(SOCK_DGRAM, abstract);
    env.set("NOTIFY_SOCKET", abstract);
    REQUIRE(notify_service_manager("WATCHDOG=1").ok());
    CHECK(receive(by_name) == "WATCHDOG=1");
    ::close(by_name);
}

TEST_CASE("service manager: notify without NOTIFY_SOCKET does nothing; a bad one is an error",
          "[sys]") {
    EnvGuard env;
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(notify_service_manager("READY=1").ok());
    env.set("NOTIFY_SOCKET", "relative/path");
    CHECK(notify_service_manager("READY=1").error().kind == Error::Kind::InvalidInput);
    env.set("NOTIFY_SOCKET", "/nonexistent/agentd/notify");
    CHECK(notify_service_manager("READY=1").error().kind == Error::Kind::Failed);
}

TEST_CASE("service manager: the watchdog interval applies only to the process it names", "[sys]") {
    EnvGuard env;
    env.set("WATCHDOG_USEC", "30000000");
    CHECK(service_watchdog_interval() == std::chrono::seconds(30));
    env.set("WATCHDOG_PID", std::to_string(::getpid()));
    CHECK(service_watchdog_interval() == std::chrono::seconds(30));
    env.set("WATCHDOG_PID", std::to_string(::getpid() + 1));
    CHECK(service_watchdog_interval() == std::chrono::microseconds::zero());
    ::unsetenv("WATCHDOG_PID");
    env.set("WATCHDOG_USEC", "soon");
    CHECK(service_watchdog_interval() == std::chrono::microseconds::zero());
    ::unsetenv("WATCHDOG_USEC");
    CHECK(service_watchdog_interval() == std::chrono::microseconds::zero());
}

TEST_CASE("service manager: a passed listening unix socket is taken once, close-on-exec", "[sys]") {
    EnvGuard env;
    const std::string path =
        (fs::temp_directory_path() / ("agentd-sm-listen-" + std::to_string(::getpid()))).string();
    const int listening = bound_socket(SOCK_STREAM, path);
    REQUIRE(::listen(listening, 4) == 0);
    AtFdThree passed(listening);
    REQUIRE((::fcntl(3, F_GETFD) & FD_CLOEXEC) == 0);

    env.set("LISTEN_PID", std::to_string(::getpid() + 1));  // meant for another process
    env.set("LISTEN_FDS", "1");
    CHECK_FALSE(take_listening_unix_socket());
    CHECK(std::getenv("LISTEN_FDS") == nullptr);

    env.set("LISTEN_PID", std::to_string(::getpid()));
    env.set("LISTEN_FDS", "1");
    env.set("LISTEN_FDNAMES", "agentd.socket");
    const auto taken = take_listening_unix_socket();
    REQUIRE(taken);
    CHECK(*taken == 3);
    CHECK((::fcntl(3, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(std::getenv("LISTEN_PID") == nullptr);
    CHECK(std::getenv("LISTEN_FDS") == nullptr);
    CHECK(std::getenv("LISTEN_FDNAMES") == nullptr);
    CHECK_FALSE(take_listening_unix_socket());  // the variables are gone
    ::close(listening);
    fs::remove(path);
}

TEST_CASE("service manager: a passed descriptor that is not a listening socket is refused",
          "[sys]") {
    EnvGuard env;
    const int datagram = bound_socket(SOCK_DGRAM, "@agentd-sm-dgram-" + std::to_string(::getpid()));
    AtFdThree passed(datagram);
    env.set("LISTEN_PID", std::to_string(::getpid()));
    env.set("LISTEN_FDS", "1");
    CHECK_FALSE(take_listening_unix_socket());
    ::close(datagram);
}

TEST_CASE("service manager: each state the daemon sends arrives as one datagram, as sent",
          "[sys]") {
    EnvGuard env;
    const std::string path =
        (fs::temp_directory_path() / ("agentd-sm-states-" + std::to_string(::getpid()))).string();
    const int socket = bound_socket(SOCK_DGRAM, path);
    env.set("NOTIFY_SOCKET", path);
    const std::vector<std::string> states = {"READY=1\nSTATUS=watching 2 stacks",
                                             "STATUS=stack shop: polling", "WATCHDOG=1",
                                             "RELOADING=1", "STOPPING=1\nSTATUS=stopping"};
    for (const auto& state : states) {
        REQUIRE(notify_service_manager(state).ok());
        CHECK(receive(socket) == state);
    }
    CHECK(notify_service_manager(std::string("READY=1\0STATUS=x", 16)).error().kind ==
          Error::Kind::InvalidInput);
    CHECK(receive(socket).empty());
    ::close(socket);
    fs::remove(path);
}

}  // namespace unit_sys_service_manager_test
