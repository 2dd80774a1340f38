#pragma once
// Helpers for the runtime layer's integration tests: a busybox image made locally, the test
// registry's address, temporary directories, and running the docker CLI.

#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/sys/process.h"
#include "tests/unit/temp_dir.h"

namespace agentd::runtime::testing {

inline constexpr const char* k_test_image = "agentd-runtime-test/busybox:1";

/// Runs a program, requiring that it could be started; returns its result.
inline sys::ProcessResult run(std::vector<std::string> argv,
                              std::optional<std::string> input = {}) {
    sys::PosixProcessRunner runner;
    auto r = runner.run({.argv = std::move(argv), .stdin_data = std::move(input)});
    REQUIRE(r.ok());
    return std::move(r).value();
}

/// Runs a program that must succeed; returns its stdout without the trailing newline.
inline std::string run_ok(std::vector<std::string> argv, std::optional<std::string> input = {}) {
    const std::string what = argv.empty() ? "" : argv[0] + " " + (argv.size() > 1 ? argv[1] : "");
    auto r = run(std::move(argv), std::move(input));
    INFO(what << ": " << r.err);
    REQUIRE(r.success());
    while (!r.out.empty() && r.out.back() == '\n') {
        r.out.pop_back();
    }
    return r.out;
}

using ::agentd::testing::TempDir;

/// Imports a busybox-static root filesystem as k_test_image, once (reused when present).
inline std::string ensure_test_image() {
    if (run({"docker", "image", "inspect", k_test_image}).success()) {
        return k_test_image;
    }
    TempDir root;
    const auto bin = root.path() / "bin";
    std::filesystem::create_directories(bin);
    std::filesystem::copy_file("/bin/busybox", bin / "busybox");
    for (const char* applet : {"sh", "httpd", "wget", "sleep", "cat", "echo", "true", "false"}) {
        std::filesystem::create_symlink("busybox", bin / applet);
    }
    const auto tar = run({"tar", "-C", root.path().string(), "-c", "."});
    REQUIRE(tar.success());
    run_ok({"docker", "import", "-c", "CMD [\"/bin/sh\"]", "-", k_test_image}, tar.out);
    return k_test_image;
}

/// host:port of the test registry (plain HTTP on 127.0.0.1), from AGENTD_TEST_REGISTRY.
inline std::string test_registry() {
    const char* address = std::getenv("AGENTD_TEST_REGISTRY");
    if (address == nullptr || *address == '\0') {
        FAIL("AGENTD_TEST_REGISTRY is not set (host:port of the test registry)");
    }
    return address;
}

/// Removes every local image of repository `repo` by digest (`docker rmi REPO@DIGEST`), as a
/// test that pushed and pulled it leaves them.
inline void remove_digests_of(const std::string& repo) {
    const auto refs = run(
        {"docker", "image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}}", repo});
    std::istringstream lines(refs.out);
    for (std::string ref; std::getline(lines, ref);) {
        run({"docker", "rmi", ref});
    }
}

/// A name unique to this test process, for containers, projects and repositories.
inline std::string unique_name(const std::string& prefix) {
    static int counter = 0;
    return prefix + std::to_string(::getpid()) + "x" + std::to_string(++counter);
}

/// Polls `condition` every 200ms until it holds or `limit` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return condition();
}

/// Runs `cleanup` at scope exit (containers, compose projects, images).
class Cleanup {
public:
    explicit Cleanup(std::function<void()> f) : m_f(std::move(f)) {}
    ~Cleanup() { m_f(); }
    Cleanup(const Cleanup&) = delete;
    Cleanup& operator=(const Cleanup&) = delete;

private:
    std::function<void()> m_f;
};

}  // namespace agentd::runtime::testing
