#include "agent/sys/service_manager.h"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace agentd::sys {

Result<void> notify_service_manager(std::string_view state) {
    const char* socket_name = std::getenv("NOTIFY_SOCKET");
    if (socket_name == nullptr || *socket_name == '\0') {
        return {};
    }
    // sd_notify takes a C string; a state with a NUL in it could only be cut short.
    if (state.find('\0') != std::string_view::npos) {
        return Error::invalid("sd_notify: the state contains a NUL byte");
    }
    const std::string text(state);
    const int sent = ::sd_notify(0, text.c_str());
    if (sent < 0) {
        const auto message = fmt::format("NOTIFY_SOCKET {}: {}", socket_name, std::strerror(-sent));
        // -EINVAL: neither a path nor "@name" (nor a form this libsystemd knows).
        return sent == -EINVAL ? Error::invalid(message) : Error::failed(message);
    }
    return {};
}

std::chrono::microseconds service_watchdog_interval() {
    std::uint64_t usec = 0;
    // > 0: enabled for this process; 0: off or meant for another process; < 0: malformed.
    if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0 ||
        usec > static_cast<std::uint64_t>(std::chrono::microseconds::max().count())) {
        return std::chrono::microseconds::zero();
    }
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

std::optional<int> take_listening_unix_socket() {
    // unset_environment = 1: LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES go whatever the answer,
    // so that no child (compose) takes the socket for its own. sd_listen_fds also makes every
    // passed descriptor close-on-exec (systemd passes them without FD_CLOEXEC).
    const int count = ::sd_listen_fds(1);
    if (count < 1) {
        return std::nullopt;
    }
    // A unix stream socket in the listening state, at any path.
    if (::sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, nullptr, 0) <= 0) {
        return std::nullopt;
    }
    return SD_LISTEN_FDS_START;
}

}  // namespace agentd::sys
