// One check of the remote per repository: stacks that follow the same repository and wait for
// its mirror together share the check that begins after they asked (LibGit2Source::fetch and
// tags), against a real `git daemon` whose access hook counts every check of the remote and
// holds the first one until the test lets it go.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <thread>

#include "agent/sources/git_source.h"
#include "agent/sys/files.h"
#include "tests/unit/free_port.h"
#include "tests/unit/runtime/test_support.h"
#include "tests/unit/sources/git_cli.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_git_shared_check_test {

namespace fs = std::filesystem;
using agentd::runtime::testing::eventually;
using agentd::sources::LibGit2Source;
using agentd::testing::GitCliRemote;
using agentd::testing::TempDir;

/// `git daemon` serving `base` on a loopback port. Its access hook (run before each
/// upload-pack, i.e. each check of the remote) appends a line to `checks`, then waits while
/// the file `hold` exists.
class GitDaemon {
public:
    GitDaemon(const fs::path& base, const fs::path& dir)
        : m_checks(dir / "checks"), m_hold(dir / "hold"), m_port(agentd::testing::free_port()) {
        const auto hook = dir / "access-hook";
        std::ofstream(hook) << "#!/bin/sh\necho \"$1 $2\" >> '" << m_checks.string()
                            << "'\nwhile [ -e '" << m_hold.string() << "' ]; do sleep 0.05; done\n";
        fs::permissions(hook, fs::perms::owner_all);
        // git-daemon itself, not `git daemon` (which would run it as a child of its own, left
        // behind when the test ends).
        const auto exec_path = agentd::testing::run_git({"--exec-path"});
        std::vector<std::string> args = {exec_path + "/git-daemon",
                                         "--reuseaddr",
                                         "--export-all",
                                         "--listen=127.0.0.1",
                                         "--port=" + std::to_string(m_port),
                                         "--base-path=" + base.string(),
                                         "--access-hook=" + hook.string(),
                                         base.string()};
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const auto log = dir / "daemon.log";
        m_pid = ::fork();
        if (m_pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            // Its output goes to a file: on the test's stdout it would keep a pipe reading the
            // test's output open after the test ended.
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                ::dup2(fd, STDOUT_FILENO);
                ::dup2(fd, STDERR_FILENO);
                ::close(fd);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        REQUIRE(m_pid > 0);
        REQUIRE(eventually([&] { return answers(); }, std::chrono::seconds(20)));
    }
    ~GitDaemon() {
        ::kill(m_pid, SIGKILL);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
    }
    GitDaemon(const GitDaemon&) = delete;
    GitDaemon& operator=(const GitDaemon&) = delete;

    std::string url(const std::string& repository) const {
        return "git://127.0.0.1:" + std::to_string(m_port) + "/" + repository;
    }
    /// The checks the remote answered (or holds), one line each.
    int checks() const {
        auto text = agentd::sys::read_file(m_checks);
        return text ? static_cast<int>(std::count(text->begin(), text->end(), '\n')) : 0;
    }
    void hold() { std::ofstream(m_hold) << "held\n"; }
    void release() { fs::remove(m_hold); }

private:
    bool answers() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(m_port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        return ok;
    }

    fs::path m_checks;
    fs::path m_hold;
    int m_port;
    pid_t m_pid = -1;
};

struct Fixture {
    TempDir tmp;
    GitCliRemote remote{tmp.path()};
    GitDaemon daemon{tmp.path(), tmp.path()};
    LibGit2Source git{tmp.path() / "state"};
    agentd::config::GitSource source;

    Fixture() {
        source.url = daemon.url("remote.git");
        source.branch = "main";
    }
};

/// Runs `call` on a thread of its own; its answer is there once joined.
template <class T>
struct Caller {
    std::optional<T> answer;
    std::string error;
    std::thread thread;

    template <class F>
    explicit Caller(F call)
        : thread([this, call] {
              auto r = call();
              if (r) {
                  answer = *r;
              } else {
                  error = r.error().message;
              }
          }) {}
    void join() { thread.join(); }
};

TEST_CASE(
    "git: stacks waiting for one repository's mirror share the check that began after "
    "they asked",
    "[sources][git][integration]") {
    Fixture f;
    f.remote.release(1);
    // The first stack's check begins, and the remote holds it.
    f.daemon.hold();
    Caller<std::string> first([&] { return f.git.fetch(f.source); });
    REQUIRE(eventually([&] { return f.daemon.checks() == 1; }));
    const auto second_release = f.remote.release(2);
    // Two more stacks of the repository ask now: they wait for the mirror.
    Caller<std::string> b([&] { return f.git.fetch(f.source); });
    Caller<std::string> c([&] { return f.git.fetch(f.source); });
    REQUIRE(eventually([&] { return f.git.waiting(f.source.url) == 2; }));
    f.daemon.release();
    first.join();
    b.join();
    c.join();
    INFO(first.error << b.error << c.error);
    REQUIRE(first.answer);
    REQUIRE(b.answer);
    REQUIRE(c.answer);
    // The first check began before they asked: one of them checks again, the other takes that
    // check's answer. Without sharing there would be three checks.
    CHECK(f.daemon.checks() == 2);
    CHECK(*b.answer == second_release);
    CHECK(*c.answer == second_release);
    CHECK(f.git.waiting(f.source.url) == 0);

    // Alone, every fetch checks the remote: nothing is answered from an older check.
    const auto third_release = f.remote.release(3);
    const auto alone = f.git.fetch(f.source);
    REQUIRE(alone);
    CHECK(*alone == third_release);
    CHECK(f.daemon.checks() == 3);
}

TEST_CASE(
    "git: tag lists waiting together share one check; a branch fetch does not stand in "
    "for it",
    "[sources][git][integration]") {
    Fixture f;
    f.remote.release(1, "v1.0.0");
    // A branch fetch brings tags but does not prune deleted ones: a tag list waiting on it
    // checks the remote itself.
    f.daemon.hold();
    Caller<std::string> fetching([&] { return f.git.fetch(f.source); });
    REQUIRE(eventually([&] { return f.daemon.checks() == 1; }));
    f.remote.release(2, "v1.1.0");
    Caller<std::vector<agentd::sources::GitTag>> a([&] { return f.git.tags(f.source); });
    Caller<std::vector<agentd::sources::GitTag>> b([&] { return f.git.tags(f.source); });
    REQUIRE(eventually([&] { return f.git.waiting(f.source.url) == 2; }));
    f.daemon.release();
    fetching.join();
    a.join();
    b.join();
    INFO(fetching.error << a.error << b.error);
    REQUIRE(a.answer);
    REQUIRE(b.answer);
    CHECK(f.daemon.checks() == 2);  // the fetch's, and one tags check for both lists
    for (const auto* tags : {&*a.answer, &*b.answer}) {
        REQUIRE(tags->size() == 2);
        CHECK((*tags)[1].name == "v1.1.0");
    }
}

TEST_CASE(
    "git: the polls of one round take the answer of a check begun since the round was asked "
    "for, even after it ended",
    "[sources][git][integration]") {
    Fixture f;
    const auto first_release = f.remote.release(1);
    agentd::testing::run_git(
        {"--git-dir", f.remote.dir().string(), "branch", "staging", first_release});
    const auto round = std::chrono::steady_clock::now();
    const auto a = f.git.fetch(f.source, round);
    REQUIRE(a);
    CHECK(*a == first_release);
    REQUIRE(f.daemon.checks() == 1);
    // The remote moves on; another stack of the round polls after the check ended: the
    // round's answer is its answer, with no second check.
    const auto second_release = f.remote.release(2);
    const auto b = f.git.fetch(f.source, round);
    REQUIRE(b);
    CHECK(*b == first_release);
    CHECK(f.daemon.checks() == 1);
    // A branch that check did not bring to the mirror is checked for, round or not.
    auto staging = f.source;
    staging.branch = "staging";
    const auto c = f.git.fetch(staging, round);
    REQUIRE(c);
    CHECK(*c == first_release);
    CHECK(f.daemon.checks() == 2);
    // A poll asked for after the last check began checks again, and sees the new release.
    const auto d = f.git.fetch(f.source);
    REQUIRE(d);
    CHECK(*d == second_release);
    CHECK(f.daemon.checks() == 3);
    // Tag lists likewise: one tags check for the round, none for a poll of it after that.
    const auto tags_round = std::chrono::steady_clock::now();
    f.remote.release(3, "v3.0.0");
    REQUIRE(f.git.tags(f.source, tags_round));
    CHECK(f.daemon.checks() == 4);
    f.remote.release(4, "v4.0.0");
    const auto listed = f.git.tags(f.source, tags_round);
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().name == "v3.0.0");
    CHECK(f.daemon.checks() == 4);
}

}  // namespace unit_sources_git_shared_check_test
