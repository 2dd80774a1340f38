#include "agent/sys/service_manager.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace agentd::sys {
namespace {

// The first descriptor socket activation passes (SD_LISTEN_FDS_START).
constexpr int k_first_passed_fd = 3;

/// The decimal value of environment variable `name`; nullopt when unset or not a number.
std::optional<unsigned long long> env_number(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') {
        return std::nullopt;
    }
    unsigned long long value = 0;
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, value);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

bool env_names_this_process(const char* name) {
    const auto pid = env_number(name);
    return pid && *pid == static_cast<unsigned long long>(::getpid());
}

bool is_listening_unix_stream(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return false;
    }
    int type = 0;
    int listening = 0;
    socklen_t length = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) {
        return false;
    }
    length = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0) {
        return false;
    }
    sockaddr_storage address{};
    length = sizeof address;
    return ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
           address.ss_family == AF_UNIX;
}

}  // namespace

Result<void> notify_service_manager(std::string_view state) {
    const char* socket_name = std::getenv("NOTIFY_SOCKET");
    if (socket_name == nullptr || *socket_name == '\0') {
        return {};
    }
    const std::string name = socket_name;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if ((name[0] != '/' && name[0] != '@') || name.size() >= sizeof address.sun_path) {
        return Error::invalid(fmt::format("NOTIFY_SOCKET {}: not a socket path", name));
    }
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') {
        address.sun_path[0] = '\0';  // the abstract namespace
    }
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return Error::failed(fmt::format("NOTIFY_SOCKET {}: {}", name, std::strerror(errno)));
    }
    const auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&address), length);
    const int error = errno;
    ::close(fd);
    if (sent < 0) {
        return Error::failed(fmt::format("NOTIFY_SOCKET {}: {}", name, std::strerror(error)));
    }
    return {};
}

std::chrono::microseconds service_watchdog_interval() {
    if (std::getenv("WATCHDOG_PID") != nullptr && !env_names_this_process("WATCHDOG_PID")) {
        return std::chrono::microseconds::zero();
    }
    const auto usec = env_number("WATCHDOG_USEC");
    if (!usec || *usec == 0 ||
        *usec > static_cast<unsigned long long>(std::chrono::microseconds::max().count())) {
        return std::chrono::microseconds::zero();
    }
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(*usec));
}

std::optional<int> take_listening_unix_socket() {
    const bool ours = env_names_this_process("LISTEN_PID");
    const auto count = env_number("LISTEN_FDS");
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (!ours || !count || *count < 1) {
        return std::nullopt;
    }
    // systemd passes descriptors without FD_CLOEXEC; compose must not inherit the API socket.
    for (unsigned long long i = 0; i < *count && i < 1024; ++i) {
        const int fd = k_first_passed_fd + static_cast<int>(i);
        const int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) {
            ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
    if (!is_listening_unix_stream(k_first_passed_fd)) {
        return std::nullopt;
    }
    return k_first_passed_fd;
}

}  // namespace agentd::sys
