#pragma once
// The lock that serialises writers of one git mirror across threads, LibGit2Source instances
// and processes.
//
// Stacks of one deploy repository share its mirror (state_dir/git/<hash>/) and every daemon
// worker has its own LibGit2Source, so an in-memory mutex would not do: two fetches updating
// the same refs at once make one fail on libgit2's ref locks, and a pack written while
// another fetch negotiates can leave refs pointing at objects the other did not see. The lock
// is flock(2) on state_dir/git/<hash>.lock, beside the mirror (not in it, so that creating the
// mirror is already covered). flock locks belong to an open file description: two open()s of
// the file conflict even inside one process, so the same lock excludes threads, instances and
// other processes (a second agentd started by mistake, a test tool) alike, and it goes away
// with its holder, even one killed by SIGKILL.
//
// Writers (fetch, tag fetch and listing) take it exclusive; checkouts read the mirror's
// objects through alternates and take it shared, so a fetch never runs under a checkout.
// Working trees need no lock of their own: each belongs to one stack, the daemon runs at most
// one cycle per stack at a time, and only one agentd runs per state_dir (agentd.lock).

#include <filesystem>

#include "agent/sys/result.h"

namespace agentd::sources {

class MirrorLock {
public:
    enum class Mode { Shared, Exclusive };

    /// Waits until the lock on `mirror` is granted (creating the lock file and its directory
    /// if needed). Failed when the lock file cannot be created or locked. Never take a second
    /// lock on the same mirror while holding one: it would wait for itself.
    static sys::Result<MirrorLock> acquire(const std::filesystem::path& mirror, Mode mode);
    /// The lock file of `mirror`: the mirror's path with ".lock" appended.
    static std::filesystem::path lock_path(const std::filesystem::path& mirror);

    MirrorLock(MirrorLock&& other) noexcept;
    MirrorLock& operator=(MirrorLock&& other) noexcept;
    MirrorLock(const MirrorLock&) = delete;
    MirrorLock& operator=(const MirrorLock&) = delete;
    ~MirrorLock();

private:
    explicit MirrorLock(int fd) : m_fd(fd) {}
    int m_fd = -1;
};

}  // namespace agentd::sources
