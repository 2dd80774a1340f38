#include "agent/sys/process.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace unit_sys_process_test {

using namespace agentd::sys;

namespace {

ProcessResult run_ok(const ProcessSpec& spec) {
    PosixProcessRunner runner;
    auto result = runner.run(spec);
    REQUIRE(result.ok());
    return std::move(result).value();
}

}  // namespace

TEST_CASE("process: stdout of echo is captured and exit code is 0", "[sys][process]") {
    const auto r = run_ok({.argv = {"echo", "hello", "world"}});
    CHECK(r.exit_code == 0);
    CHECK(r.success());
    CHECK_FALSE(r.timed_out);
    CHECK(r.out == "hello world\n");
    CHECK(r.err.empty());
}

TEST_CASE("process: arguments are passed verbatim, without a shell", "[sys][process]") {
    const auto r = run_ok({.argv = {"echo", "$HOME", "a;b", "*", "`x`"}});
    CHECK(r.out == "$HOME a;b * `x`\n");
}

TEST_CASE("process: non-zero exit is a result, not an error", "[sys][process]") {
    const auto r = run_ok({.argv = {"false"}});
    CHECK(r.exit_code == 1);
    CHECK_FALSE(r.success());
}

TEST_CASE("process: stderr is captured apart from stdout", "[sys][process]") {
    const auto r = run_ok({.argv = {"cat", "/nonexistent/agentd-test-file"}});
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK(r.err.find("/nonexistent/agentd-test-file") != std::string::npos);
}

TEST_CASE("process: stdin data reaches the program", "[sys][process]") {
    const auto r = run_ok({.argv = {"cat"}, .stdin_data = std::string("line1\nline2\n")});
    CHECK(r.out == "line1\nline2\n");
}

TEST_CASE("process: large stdin and stdout do not deadlock", "[sys][process]") {
    std::string big(1 << 20, 'x');
    const auto r = run_ok({.argv = {"cat"}, .stdin_data = big});
    CHECK(r.exit_code == 0);
    CHECK(r.out.size() == big.size());
    CHECK(r.out == big);
}

TEST_CASE("process: without stdin data, stdin is /dev/null", "[sys][process]") {
    const auto r = run_ok({.argv = {"cat"}, .timeout = std::chrono::seconds(10)});
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
}

TEST_CASE("process: a program that ignores its stdin does not kill the caller", "[sys][process]") {
    const auto r = run_ok({.argv = {"true"}, .stdin_data = std::string(1 << 20, 'y')});
    CHECK(r.exit_code == 0);
}

TEST_CASE("process: extra env is merged over the inherited environment", "[sys][process]") {
    ::setenv("AGENTD_TEST_INHERITED", "from-parent", 1);
    ::setenv("AGENTD_TEST_OVERRIDDEN", "old", 1);
    const auto r =
        run_ok({.argv = {"env"},
                .env = {{"AGENTD_TEST_OVERRIDDEN", "new"}, {"AGENTD_TEST_ADDED", "a=b c"}}});
    ::unsetenv("AGENTD_TEST_INHERITED");
    ::unsetenv("AGENTD_TEST_OVERRIDDEN");
    CHECK(r.out.find("AGENTD_TEST_INHERITED=from-parent\n") != std::string::npos);
    CHECK(r.out.find("AGENTD_TEST_OVERRIDDEN=new\n") != std::string::npos);
    CHECK(r.out.find("AGENTD_TEST_OVERRIDDEN=old") == std::string::npos);
    CHECK(r.out.find("AGENTD_TEST_ADDED=a=b c\n") != std::string::npos);
}

TEST_CASE("process: a malformed env name is invalid input", "[sys][process]") {
    PosixProcessRunner runner;
    auto r = runner.run({.argv = {"true"}, .env = {{"A=B", "secret-value"}}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Error::Kind::InvalidInput);
    CHECK(r.error().message.find("secret-value") == std::string::npos);
}

TEST_CASE("process: cwd sets the working directory", "[sys][process]") {
    const auto dir = std::filesystem::canonical(std::filesystem::temp_directory_path());
    const auto r = run_ok({.argv = {"pwd"}, .cwd = dir});
    CHECK(r.out == dir.string() + "\n");
}

TEST_CASE("process: a missing working directory is an error", "[sys][process]") {
    PosixProcessRunner runner;
    auto r = runner.run({.argv = {"true"}, .cwd = "/nonexistent/agentd-dir"});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Error::Kind::Failed);
}

TEST_CASE("process: timeout kills the program and reports timed_out", "[sys][process]") {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_ok({.argv = {"sleep", "30"}, .timeout = std::chrono::milliseconds(300)});
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(r.timed_out);
    CHECK(r.exit_code == -1);
    CHECK_FALSE(r.success());
    CHECK(elapsed < std::chrono::seconds(20));
}

TEST_CASE("process: a missing program is NotFound", "[sys][process]") {
    PosixProcessRunner runner;
    auto r = runner.run({.argv = {"agentd-no-such-program-xyz"}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().is_not_found());
    CHECK(r.error().message.find("agentd-no-such-program-xyz") != std::string::npos);
}

TEST_CASE("process: an empty argv is invalid input", "[sys][process]") {
    PosixProcessRunner runner;
    auto r = runner.run({});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Error::Kind::InvalidInput);
}

TEST_CASE("process: find_program searches PATH", "[sys][process]") {
    const auto echo = find_program("echo");
    REQUIRE(echo);
    CHECK(echo->is_absolute());
    CHECK(std::filesystem::exists(*echo));
    CHECK_FALSE(find_program("agentd-no-such-program-xyz"));
    CHECK(find_program("/bin/sh").has_value());
    CHECK_FALSE(find_program("/nonexistent/prog").has_value());
}

// The two cases below need a program that starts another one; sh is the simplest such
// program (the runner itself never uses a shell).
TEST_CASE("process: a background descendant holding the pipes does not block the result",
          "[sys][process]") {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_ok(
        {.argv = {"sh", "-c", "sleep 20 & echo started"}, .timeout = std::chrono::seconds(15)});
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "started\n");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("process: timeout kills the program's descendants too", "[sys][process]") {
    const auto marker = std::filesystem::temp_directory_path() /
                        ("agentd-process-test-" + std::to_string(::getpid()));
    std::filesystem::remove(marker);
    // The descendant would create the marker after 2s, unless it is killed with its parent.
    const auto r = run_ok({.argv = {"sh", "-c", "(sleep 2; touch " + marker.string() + ") & wait"},
                           .timeout = std::chrono::milliseconds(300)});
    CHECK(r.timed_out);
    std::this_thread::sleep_for(std::chrono::seconds(3));  // waits for an absence: no state to poll
    CHECK_FALSE(std::filesystem::exists(marker));
    std::filesystem::remove(marker);
}

TEST_CASE("process: timeout applies to a program that closed its output early", "[sys][process]") {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_ok({.argv = {"sh", "-c", "exec >&- 2>&-; sleep 20"},
                           .timeout = std::chrono::milliseconds(300)});
    CHECK(r.timed_out);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

namespace {

/// Polls `done` every 10 ms until it holds or `limit` passes.
template <class F>
bool wait_until(F done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// The pid of the one process group recorded in `dir`, once there is one.
pid_t recorded_leader(const std::filesystem::path& dir) {
    pid_t leader = 0;
    wait_until([&] {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            if (auto record = parse_record_name(entry.path().filename().string())) {
                leader = record->pgid;
            }
        }
        return leader != 0;
    });
    return leader;
}

}  // namespace

TEST_CASE("process: a child dies when the process that ran it dies", "[sys][process]") {
    // This test process -> `agent` (plays agentd, SIGKILLed) -> `sleep 600` (its child). The
    // middle process is a subreaper, so the orphaned child is reparented to it and its death can
    // be observed with waitpid (PID 1 of a container may never reap it).
    const auto dir =
        std::filesystem::temp_directory_path() / ("agentd-pdeathsig-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const pid_t reaper = ::fork();
    REQUIRE(reaper >= 0);
    if (reaper == 0) {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        const pid_t agent = ::fork();
        if (agent == 0) {
            PosixProcessRunner runner(std::make_shared<ProcessGroups>(dir));
            (void)runner.run({.argv = {"sleep", "600"}});
            ::_exit(0);
        }
        const pid_t child = recorded_leader(dir);
        ::kill(agent, SIGKILL);
        ::waitpid(agent, nullptr, 0);
        if (child == 0) {
            ::_exit(2);  // never started
        }
        // The orphaned child is ours now: it must die of SIGKILL without anyone killing it.
        int status = 0;
        const bool reaped = wait_until([&] { return ::waitpid(child, &status, WNOHANG) == child; });
        if (!reaped) {
            ::kill(child, SIGKILL);
            ::_exit(3);
        }
        ::_exit(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 4);
    }
    int status = 0;
    REQUIRE(::waitpid(reaper, &status, 0) == reaper);
    std::filesystem::remove_all(dir);
    REQUIRE(WIFEXITED(status));
    // 2: the child never started; 3: it outlived its parent; 4: it died of something else.
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("process: the child leads its own process group, recorded while it runs",
          "[sys][process]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("agentd-groups-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto groups = std::make_shared<ProcessGroups>(dir);
    PosixProcessRunner runner(groups);
    // The child reports its own pid and group from /proc/self/stat.
    auto result = runner.run({.argv = {"cat", "/proc/self/stat"}});
    REQUIRE(result.ok());
    const auto stat = parse_proc_stat(result->out);
    REQUIRE(stat);
    CHECK(stat->pgid == stat->pid);
    CHECK(stat->pgid != ::getpgrp());
    CHECK(stat->session == ::getsid(0));
    // Reaped: its record is gone.
    CHECK(std::filesystem::is_empty(dir));
    std::filesystem::remove_all(dir);
}

TEST_CASE("process: a program that exec cannot start is an error, not a child", "[sys][process]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("agentd-noexec-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto script = dir / "bad-interpreter";
    { std::ofstream(script) << "#!/nonexistent/interpreter\n"; }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    PosixProcessRunner runner;
    auto result = runner.run({.argv = {script.string()}});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().is_not_found());
    std::filesystem::remove_all(dir);
}

}  // namespace unit_sys_process_test
