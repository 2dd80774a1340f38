#include "agent/sources/mirror_lock.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agent/sources/git_source.h"
#include "tests/unit/sources/git_cli.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_mirror_lock_test {

namespace fs = std::filesystem;
using agentd::config::GitSource;
using agentd::sources::LibGit2Source;
using agentd::sources::MirrorLock;
using agentd::testing::GitCliRemote;
using agentd::testing::run_git;

namespace {

using agentd::testing::TempDir;

/// In a child process (so that no descriptor or lock of this one is involved): 0 when an
/// exclusive flock on `path` is refused because someone holds the lock, 1 when it is granted,
/// 2 on another error. Only async-signal-safe calls run in the child.
/// Ends the forked child at once. A raw exit_group: under TSan, _exit would report the
/// parent's threads as leaked and turn the child's status into TSan's exit code.
[[noreturn]] void exit_child(int code) {
    ::syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

int probe_lock_in_child(const fs::path& path) {
    const std::string file = path.string();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            exit_child(2);
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            exit_child(1);
        }
        exit_child(errno == EWOULDBLOCK ? 0 : 2);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/// A TCP server on 127.0.0.1 that takes one connection, reads the request's headers and then
/// holds the connection until release(): a git fetch stays inside its transport meanwhile.
class HoldingServer {
public:
    HoldingServer() {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_fd, 8) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this] { serve(); });
    }
    ~HoldingServer() {
        release();
        m_thread.join();
        ::close(m_fd);
    }
    int port() const { return m_port; }
    /// Waits up to 30 s for a request to arrive; false if none did.
    bool wait_for_request() {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, std::chrono::seconds(30), [this] { return m_holding; });
    }
    void release() {
        std::lock_guard lock(m_mutex);
        m_released = true;
        m_changed.notify_all();
    }

private:
    void serve() {
        pollfd pfd{m_fd, POLLIN, 0};
        while (::poll(&pfd, 1, 50) <= 0) {
            std::lock_guard lock(m_mutex);
            if (m_released) {
                return;
            }
        }
        const int client = ::accept(m_fd, nullptr, nullptr);
        std::string request;
        char buffer[4096];
        while (client >= 0 && request.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::read(client, buffer, sizeof buffer);
            if (n <= 0) {
                break;
            }
            request.append(buffer, static_cast<std::size_t>(n));
        }
        std::unique_lock lock(m_mutex);
        m_holding = true;
        m_changed.notify_all();
        m_changed.wait(lock, [this] { return m_released; });
        if (client >= 0) {
            ::close(client);  // the fetch fails; what matters is what happened meanwhile
        }
    }

    int m_fd = -1;
    int m_port = 0;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_holding = false;
    bool m_released = false;
    std::thread m_thread;
};

GitSource source_for(const std::string& url) {
    GitSource source;
    source.url = url;
    source.branch = "main";
    return source;
}

}  // namespace

TEST_CASE("mirror lock: the lock file sits beside the mirror", "[sources][git]") {
    CHECK(MirrorLock::lock_path("/var/lib/agentd/git/0123456789abcdef") ==
          "/var/lib/agentd/git/0123456789abcdef.lock");
}

TEST_CASE("mirror lock: exclusive excludes other descriptors and processes, shared shares",
          "[sources][git]") {
    TempDir tmp;
    const auto mirror = tmp.path() / "git" / "m";
    {
        auto exclusive = MirrorLock::acquire(mirror, MirrorLock::Mode::Exclusive);
        REQUIRE(exclusive.ok());
        CHECK(fs::exists(MirrorLock::lock_path(mirror)));
        CHECK(probe_lock_in_child(MirrorLock::lock_path(mirror)) == 0);
        // Another descriptor in this very process is excluded too: that is what makes the lock
        // hold between two LibGit2Source instances of one agentd.
        const int fd = ::open(MirrorLock::lock_path(mirror).c_str(), O_RDWR | O_CLOEXEC);
        REQUIRE(fd >= 0);
        CHECK(::flock(fd, LOCK_SH | LOCK_NB) != 0);
        ::close(fd);
    }
    CHECK(probe_lock_in_child(MirrorLock::lock_path(mirror)) == 1);  // released with its holder
    {
        auto a = MirrorLock::acquire(mirror, MirrorLock::Mode::Shared);
        auto b = MirrorLock::acquire(mirror, MirrorLock::Mode::Shared);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        CHECK(probe_lock_in_child(MirrorLock::lock_path(mirror)) == 0);
    }
}

TEST_CASE("git: a fetch holds its mirror's lock, visible to other processes, while it runs",
          "[sources][git]") {
    TempDir tmp;
    HoldingServer server;
    const auto source = source_for(fmt::format("http://127.0.0.1:{}/deploy.git", server.port()));
    LibGit2Source first(tmp.path() / "state");
    const auto lock_file = MirrorLock::lock_path(first.mirror_path(source.url));

    std::thread fetching([&] { (void)first.fetch(source); });
    const bool arrived = server.wait_for_request();
    // The fetch is inside its transport now: another process must find the mirror locked.
    const int probe = arrived ? probe_lock_in_child(lock_file) : -1;
    server.release();
    fetching.join();
    REQUIRE(arrived);
    CHECK(probe == 0);
    CHECK(probe_lock_in_child(lock_file) == 1);
}

TEST_CASE("git: two instances and two processes fetching one mirror at once all succeed",
          "[sources][git]") {
    // Stacks of one deploy repository share its mirror while every daemon worker has its own
    // LibGit2Source: their fetches must not collide on the mirror's ref locks.
    TempDir tmp;
    GitCliRemote remote(tmp.path());
    remote.release(0, "v0.0.0");
    const auto state = tmp.path() / "state";
    const auto source = source_for(remote.dir().string());
    constexpr int k_rounds = 25;
    // One fetch and one tag listing per round; returns how many failed.
    const auto hammer = [&](LibGit2Source& git, std::vector<std::string>* errors) {
        int failures = 0;
        for (int i = 0; i < k_rounds; ++i) {
            auto head = git.fetch(source);
            auto tags = git.tags(source);
            for (const auto* error : {head.ok() ? nullptr : &head.error().message,
                                      tags.ok() ? nullptr : &tags.error().message}) {
                if (error != nullptr) {
                    ++failures;
                    if (errors != nullptr) {
                        errors->push_back(*error);
                    }
                }
            }
        }
        return failures;
    };

    // Children first, while this process has no other thread (fork copies only the caller).
    std::vector<pid_t> children;
    for (int c = 0; c < 2; ++c) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            LibGit2Source git(state);
            ::_exit(std::min(hammer(git, nullptr), 100));
        }
        children.push_back(pid);
    }
    LibGit2Source a(state);
    LibGit2Source b(state);
    std::vector<std::string> errors_a;
    std::vector<std::string> errors_b;
    std::atomic<int> failures{0};
    std::thread ta([&] { failures += hammer(a, &errors_a); });
    std::thread tb([&] { failures += hammer(b, &errors_b); });
    // Meanwhile the remote moves on, so fetches have refs to update.
    std::string head;
    for (int n = 1; n <= 5; ++n) {
        head = remote.release(n, fmt::format("v0.0.{}", n));
    }
    ta.join();
    tb.join();
    int child_failures = 0;
    for (const pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        child_failures += WEXITSTATUS(status);
    }
    INFO(fmt::format("errors: {}", fmt::join(errors_a, "; ")));
    INFO(fmt::format("errors: {}", fmt::join(errors_b, "; ")));
    CHECK(failures == 0);
    CHECK(child_failures == 0);

    // The mirror is whole and ends where the remote is.
    auto last = a.fetch(source);
    REQUIRE(last.ok());
    CHECK(*last == head);
    auto tags = b.tags(source);
    REQUIRE(tags.ok());
    CHECK(tags->size() == 6);
    run_git({"--git-dir", a.mirror_path(source.url).string(), "fsck", "--no-dangling"});
}

}  // namespace unit_sources_mirror_lock_test
