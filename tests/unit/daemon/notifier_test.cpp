#include "agent/daemon/notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace unit_daemon_notifier_test {

using namespace agentd;
namespace fs = std::filesystem;

TEST_CASE("notifier: sends the state to NOTIFY_SOCKET and reads the watchdog interval",
          "[daemon]") {
    const auto path = fs::temp_directory_path() / ("agentd-notify-" + std::to_string(::getpid()));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "4000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);

    daemon::SystemdNotifier notifier;
    notifier.notify("READY=1\nSTATUS=watching 2 stacks");
    char buffer[256] = {};
    const auto n = ::recv(fd, buffer, sizeof buffer - 1, 0);
    REQUIRE(n > 0);
    REQUIRE(std::string(buffer, static_cast<std::size_t>(n)) ==
            "READY=1\nSTATUS=watching 2 stacks");
    REQUIRE(notifier.watchdog_interval() == std::chrono::seconds(4));

    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    REQUIRE(notifier.watchdog_interval() == sys::Duration::zero());
    ::close(fd);
    fs::remove(path);
}

}  // namespace unit_daemon_notifier_test
