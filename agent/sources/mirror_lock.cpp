#include "agent/sources/mirror_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace agentd::sources {

std::filesystem::path MirrorLock::lock_path(const std::filesystem::path& mirror) {
    auto path = mirror;
    path += ".lock";
    return path;
}

sys::Result<MirrorLock> MirrorLock::acquire(const std::filesystem::path& mirror, Mode mode) {
    const auto path = lock_path(mirror);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
        return sys::Error::failed(
            fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return sys::Error::failed(
            fmt::format("cannot open lock file {}: {}", path.string(), std::strerror(errno)));
    }
    MirrorLock lock(fd);
    const int operation = mode == Mode::Exclusive ? LOCK_EX : LOCK_SH;
    if (::flock(fd, operation | LOCK_NB) == 0) {
        return lock;
    }
    if (errno != EWOULDBLOCK) {
        return sys::Error::failed(
            fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno)));
    }
    spdlog::debug("git: waiting for {}", path.string());
    while (::flock(fd, operation) != 0) {
        if (errno != EINTR) {
            return sys::Error::failed(
                fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno)));
        }
    }
    return lock;
}

MirrorLock::MirrorLock(MirrorLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

MirrorLock& MirrorLock::operator=(MirrorLock&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
}

MirrorLock::~MirrorLock() {
    // Closing the only descriptor of the open file description releases the lock. The file
    // stays: unlinking it would let the next locker lock a new inode while a waiter still
    // holds the old one.
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

}  // namespace agentd::sources
