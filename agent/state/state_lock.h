#pragma once
// Only one agentd per state_dir (SPEC section 5): an flock(2) on state_dir/agentd.lock.

#include <filesystem>

#include "agent/sys/result.h"

namespace agentd::state {

/// Held for the daemon's lifetime; the kernel releases it when the process dies, so a crash
/// or SIGKILL never leaves a stale lock behind. Move-only; released on destruction.
class StateLock {
public:
    /// Takes an exclusive lock on `state_dir`/agentd.lock (created 0600, `state_dir` created
    /// 0700 when missing) and writes our pid into it. Failed with "another agentd is running
    /// with state_dir X (pid N)" when another open lock file holds it, also in this process.
    static sys::Result<StateLock> acquire(const std::filesystem::path& state_dir);

    StateLock(StateLock&& other) noexcept;
    StateLock& operator=(StateLock&& other) noexcept;
    StateLock(const StateLock&) = delete;
    StateLock& operator=(const StateLock&) = delete;
    ~StateLock();

    const std::filesystem::path& path() const { return m_path; }

private:
    StateLock(int fd, std::filesystem::path path) : m_fd(fd), m_path(std::move(path)) {}
    void release();

    int m_fd = -1;
    std::filesystem::path m_path;
};

}  // namespace agentd::state
