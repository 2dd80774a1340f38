#include "agent/sys/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace agentd::sys;

namespace {

/// Runs `body` with stderr redirected to a temporary file; returns what was written.
template <class F>
std::string capture_stderr(F body) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("agentd-log-test-" + std::to_string(::getpid()) + ".txt");
    const int saved = ::dup(STDERR_FILENO);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    body();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(path);
    return ss.str();
}

/// Restores spdlog's previous default logger when a test ends.
struct DefaultLoggerGuard {
    std::shared_ptr<spdlog::logger> saved = spdlog::default_logger();
    ~DefaultLoggerGuard() { spdlog::set_default_logger(saved); }
};

}  // namespace

TEST_CASE("log: levels parse, anything else is rejected", "[sys][log]") {
    CHECK(parse_log_level("debug") == spdlog::level::debug);
    CHECK(parse_log_level("info") == spdlog::level::info);
    CHECK(parse_log_level("warn") == spdlog::level::warn);
    CHECK(parse_log_level("warning") == spdlog::level::warn);
    CHECK(parse_log_level("error") == spdlog::level::err);
    CHECK_FALSE(parse_log_level("verbose"));
    CHECK_FALSE(parse_log_level(""));
}

TEST_CASE("log: stderr that is not a tty gets plain lines at the chosen level", "[sys][log]") {
    DefaultLoggerGuard guard;
    const auto out = capture_stderr([] {
        init_logging(LogTarget::Stderr, "warn");
        spdlog::info("stack shop: hidden");
        spdlog::warn("stack shop: shown {}", 42);
        spdlog::default_logger()->flush();
    });
    CHECK(out.find("stack shop: shown 42") != std::string::npos);
    CHECK(out.find("warning") != std::string::npos);
    CHECK(out.find("hidden") == std::string::npos);
    CHECK(out.find('\x1b') == std::string::npos);
}

TEST_CASE("log: an unknown level logs at info and says so", "[sys][log]") {
    DefaultLoggerGuard guard;
    const auto out = capture_stderr([] {
        init_logging(LogTarget::Stderr, "loud");
        spdlog::default_logger()->flush();
    });
    CHECK(spdlog::default_logger()->level() == spdlog::level::info);
    CHECK(out.find("\"loud\"") != std::string::npos);
}

TEST_CASE("log: the journal target prefixes every line with its syslog priority", "[sys][log]") {
    DefaultLoggerGuard guard;
    const auto out = capture_stderr([] {
        init_logging(LogTarget::Journal, "debug");
        spdlog::debug("stack shop: polling");
        spdlog::info("stack shop: deployed");
        spdlog::warn("stack shop: slow");
        spdlog::error("reload: two problems:\nfirst\nsecond");
        spdlog::default_logger()->flush();
    });
    CHECK(spdlog::default_logger()->level() == spdlog::level::debug);
    // No timestamp or level word: journald records both from the stream and the prefix.
    CHECK(out ==
          "<7>stack shop: polling\n<6>stack shop: deployed\n<4>stack shop: slow\n"
          "<3>reload: two problems:\n<3>first\n<3>second\n");
}
