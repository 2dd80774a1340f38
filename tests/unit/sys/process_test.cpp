#include "agent/sys/process.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <unistd.h>

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
