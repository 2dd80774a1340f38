#include "agent/sys/log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "agent/sys/log_context.h"

namespace unit_sys_log_test {

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

/// Sets an environment variable for one test and restores it afterwards.
struct EnvGuard {
    std::string name;
    std::optional<std::string> saved;
    explicit EnvGuard(std::string n) : name(std::move(n)) {
        if (const char* value = std::getenv(name.c_str())) {
            saved = value;
        }
    }
    void set(const std::string& value) const { ::setenv(name.c_str(), value.c_str(), 1); }
    ~EnvGuard() {
        if (saved) {
            ::setenv(name.c_str(), saved->c_str(), 1);
        } else {
            ::unsetenv(name.c_str());
        }
    }
};

/// One journal entry as journald's native protocol carries it in a datagram
/// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): "KEY=VALUE\n" for a value without a newline,
/// "KEY\n" + its length as 64-bit little-endian + the value + "\n" for any value.
/// nullopt when the datagram does not follow the protocol.
std::optional<std::multimap<std::string, std::string>> parse_native_entry(std::string_view data) {
    std::multimap<std::string, std::string> fields;
    while (!data.empty()) {
        const auto newline = data.find('\n');
        if (newline == std::string_view::npos) {
            return std::nullopt;
        }
        const std::string_view line = data.substr(0, newline);
        if (const auto equals = line.find('='); equals != std::string_view::npos) {
            fields.emplace(std::string(line.substr(0, equals)),
                           std::string(line.substr(equals + 1)));
            data.remove_prefix(newline + 1);
            continue;
        }
        data.remove_prefix(newline + 1);
        if (data.size() < 8) {
            return std::nullopt;
        }
        std::uint64_t length = 0;
        for (int i = 7; i >= 0; --i) {
            length = (length << 8) | static_cast<unsigned char>(data[static_cast<std::size_t>(i)]);
        }
        data.remove_prefix(8);
        if (data.size() < length + 1 || data[length] != '\n') {
            return std::nullopt;
        }
        fields.emplace(std::string(line), std::string(data.substr(0, length)));
        data.remove_prefix(length + 1);
    }
    return fields;
}

/// journald's socket, bound by the test when nothing else holds it (systemd-journald does not
/// run on the test machines). bound() is false, with a warning, when a journald or another test
/// has it: the tests that need it then check nothing.
class JournalSocket {
public:
    static constexpr const char* k_path = "/run/systemd/journal/socket";

    JournalSocket() {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, k_path, sizeof address.sun_path - 1);
        const auto* raw = reinterpret_cast<const sockaddr*>(&address);
        const int probe = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(probe >= 0);
        const bool held = ::connect(probe, raw, sizeof address) == 0;
        const int probe_error = errno;
        ::close(probe);
        if (held) {
            WARN(k_path << " is held by a running journald or another test: not checked");
            return;
        }
        if (probe_error == ECONNREFUSED) {
            std::filesystem::remove(k_path);  // a socket file nobody listens on any more
        }
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(k_path).parent_path(), ec);
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        if (::bind(m_fd, raw, sizeof address) != 0) {
            WARN("cannot bind " << k_path << ": " << std::strerror(errno) << ": not checked");
            ::close(m_fd);
            m_fd = -1;
            return;
        }
        m_bound = true;
    }
    ~JournalSocket() {
        if (m_bound) {
            close();
            std::filesystem::remove(k_path);
        }
    }
    JournalSocket(const JournalSocket&) = delete;
    JournalSocket& operator=(const JournalSocket&) = delete;

    bool bound() const { return m_bound; }

    /// Stops receiving; the socket file stays, and sending to it is refused (ECONNREFUSED), as
    /// after journald stopped.
    void close() {
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }

    /// The entries received until `count` of them have a MESSAGE containing `marker` (entries
    /// from other processes are skipped), or five seconds have passed.
    std::vector<std::multimap<std::string, std::string>> entries_with(const std::string& marker,
                                                                      std::size_t count) {
        std::vector<std::multimap<std::string, std::string>> found;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        std::vector<char> buffer(1 << 16);
        while (found.size() < count && std::chrono::steady_clock::now() < deadline) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            const auto n = ::recv(m_fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                continue;
            }
            const auto entry =
                parse_native_entry(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            REQUIRE(entry);
            const auto message = entry->find("MESSAGE");
            if (message != entry->end() && message->second.find(marker) != std::string::npos) {
                found.push_back(*entry);
            }
        }
        return found;
    }

private:
    int m_fd = -1;
    bool m_bound = false;
};

std::string field(const std::multimap<std::string, std::string>& entry, const std::string& key) {
    REQUIRE(entry.count(key) == 1);
    return entry.find(key)->second;
}

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

TEST_CASE("log: native protocol entries parse in both forms; broken ones do not", "[sys][log]") {
    const std::string binary =
        std::string("MESSAGE\n") + std::string("\x05\0\0\0\0\0\0\0", 8) + "a\nb=c\nPRIORITY=4\n";
    const auto entry = parse_native_entry(binary);
    REQUIRE(entry);
    CHECK(field(*entry, "MESSAGE") == "a\nb=c");
    CHECK(field(*entry, "PRIORITY") == "4");
    CHECK_FALSE(parse_native_entry("MESSAGE\n\x05"));
    CHECK_FALSE(parse_native_entry("PRIORITY=4"));
}

TEST_CASE("log: the journal target is chosen only when JOURNAL_STREAM names stderr",
          "[sys][log][journal]") {
    EnvGuard env("JOURNAL_STREAM");
    ::unsetenv("JOURNAL_STREAM");
    CHECK(detect_log_target() == LogTarget::Stderr);
    struct stat st {};
    REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
    env.set(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
    CHECK(detect_log_target() == LogTarget::Journal);
    // Another file: agentd's stderr was redirected after systemd connected it to journald.
    env.set(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1));
    CHECK(detect_log_target() == LogTarget::Stderr);
    for (const char* malformed : {"", "12", ":", "1:x", "x:1", "1:2:3", "-1:5"}) {
        env.set(malformed);
        CHECK(detect_log_target() == LogTarget::Stderr);
    }
}

TEST_CASE("log: the journal gets one entry per record with its priority, stack and deployment",
          "[sys][log][journal]") {
    JournalSocket journal;
    if (!journal.bound()) {
        return;
    }
    DefaultLoggerGuard guard;
    const std::string marker = "log-test-" + std::to_string(::getpid());
    const auto out = capture_stderr([&] {
        init_logging(LogTarget::Journal, "info");
        spdlog::debug("{} below the level", marker);
        {
            const LogScope stack("shop");
            spdlog::info("{} stack shop: polling", marker);
            {
                const LogScope deployment("shop", 42);
                spdlog::warn("{} stack shop: deployment 42 failed:\ngate: web unhealthy", marker);
            }
            spdlog::error("{} stack shop: after the deployment", marker);
        }
        spdlog::info("{} reload: no stack", marker);
        spdlog::default_logger()->flush();
    });
    CHECK(out.empty());  // nothing on stderr while journald takes the entries
    const auto entries = journal.entries_with(marker, 4);
    REQUIRE(entries.size() == 4);

    CHECK(field(entries[0], "MESSAGE") == marker + " stack shop: polling");
    CHECK(field(entries[0], "PRIORITY") == "6");
    CHECK(field(entries[0], "SYSLOG_IDENTIFIER") == "agentd");
    CHECK(field(entries[0], "AGENTD_STACK") == "shop");
    CHECK(entries[0].count("AGENTD_DEPLOYMENT") == 0);

    // Several lines stay one entry (the binary form of the protocol carries the newline).
    CHECK(field(entries[1], "MESSAGE") ==
          marker + " stack shop: deployment 42 failed:\ngate: web unhealthy");
    CHECK(field(entries[1], "PRIORITY") == "4");
    CHECK(field(entries[1], "AGENTD_STACK") == "shop");
    CHECK(field(entries[1], "AGENTD_DEPLOYMENT") == "42");

    CHECK(field(entries[2], "PRIORITY") == "3");
    CHECK(field(entries[2], "AGENTD_STACK") == "shop");
    CHECK(entries[2].count("AGENTD_DEPLOYMENT") == 0);  // the inner scope ended

    CHECK(field(entries[3], "MESSAGE") == marker + " reload: no stack");
    CHECK(entries[3].count("AGENTD_STACK") == 0);
    CHECK(entries[3].count("AGENTD_DEPLOYMENT") == 0);
}

TEST_CASE("log: when journald refuses entries, journal records go to stderr with their priority",
          "[sys][log][journal]") {
    JournalSocket journal;
    if (!journal.bound()) {
        return;
    }
    journal.close();  // journald stopped; stderr still leads to its stream
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

}  // namespace unit_sys_log_test
