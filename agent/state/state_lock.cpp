#include "agent/state/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "agent/state/private_dir.h"

namespace agentd::state {
namespace {

/// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
        pid += buf[i];
    }
    return pid.empty() ? "unknown" : pid;
}

}  // namespace

sys::Result<StateLock> StateLock::acquire(const std::filesystem::path& state_dir) {
    if (auto dir = create_private_dirs(state_dir); !dir) {
        return dir.error();
    }
    std::filesystem::path path = state_dir / "agentd.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return sys::Error::failed(
            fmt::format("cannot open lock file {}: {}", path.string(), std::strerror(errno)));
    }
    // flock locks belong to the open file description: a second open() of the same file,
    // even in this process, conflicts, and the lock goes away with the last descriptor.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        std::string message =
            err == EWOULDBLOCK
                ? fmt::format("another agentd is running with state_dir {} (pid {})",
                              state_dir.string(), holder_pid(fd))
                : fmt::format("cannot lock {}: {}", path.string(), std::strerror(err));
        ::close(fd);
        return sys::Error::failed(std::move(message));
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::close(fd);
        return sys::Error::failed(
            fmt::format("cannot write lock file {}: {}", path.string(), std::strerror(err)));
    }
    return StateLock(fd, std::move(path));
}

StateLock::StateLock(StateLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
    if (this != &other) {
        release();
        m_fd = std::exchange(other.m_fd, -1);
        m_path = std::move(other.m_path);
    }
    return *this;
}

StateLock::~StateLock() {
    release();
}

void StateLock::release() {
    if (m_fd >= 0) {
        // The file stays: unlinking it would let a starting agentd lock a new inode while
        // another still holds the old one.
        ::close(m_fd);
        m_fd = -1;
    }
}

}  // namespace agentd::state
