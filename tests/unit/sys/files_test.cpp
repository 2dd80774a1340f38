#include "agent/sys/files.h"

#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "agent/sys/clock.h"

namespace unit_sys_files_test {

using namespace agentd;
using namespace std::chrono_literals;

TEST_CASE("files: atomic write then read back; missing file is NotFound", "[sys]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("agentd-files-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "a.txt";
    CHECK(sys::read_file(file).error().is_not_found());
    REQUIRE(sys::write_file_atomic(file, "one").ok());
    REQUIRE(sys::write_file_atomic(file, "two\n").ok());
    CHECK(*sys::read_file(file) == "two\n");
    CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);
    CHECK_FALSE(std::filesystem::exists(dir / "a.txt.tmp"));
    CHECK_FALSE(sys::write_file_atomic(dir / "missing" / "b", "x").ok());
    std::filesystem::remove_all(dir);
}

namespace {

/// A fresh directory for one test, removed afterwards.
struct Sandbox {
    std::filesystem::path dir;
    explicit Sandbox(const std::string& name)
        : dir(std::filesystem::temp_directory_path() /
              ("agentd-files-" + name + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~Sandbox() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    /// Names in the directory other than `except`.
    std::vector<std::string> others(const std::string& except) const {
        std::vector<std::string> out;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            if (entry.path().filename() != except) {
                out.push_back(entry.path().filename().string());
            }
        }
        return out;
    }
};

}  // namespace

TEST_CASE("files: atomic write never follows a symlink planted at a predictable name", "[sys]") {
    Sandbox box("symlink");
    const auto victim = box.dir / "victim";
    REQUIRE(sys::write_file_atomic(victim, "precious").ok());
    const auto file = box.dir / "override.yaml";
    // The names a writer with a fixed temporary name would use.
    for (const auto* name : {"override.yaml.tmp", ".override.yaml.tmp", "override.yaml~"}) {
        std::filesystem::create_symlink(victim, box.dir / name);
    }
    REQUIRE(sys::write_file_atomic(file, "mine").ok());
    CHECK(*sys::read_file(victim) == "precious");
    CHECK(*sys::read_file(file) == "mine");

    // A symlink at the target itself is replaced by the new file, not written through.
    const auto link = box.dir / "services.json";
    std::filesystem::create_symlink(victim, link);
    REQUIRE(sys::write_file_atomic(link, "new").ok());
    CHECK_FALSE(std::filesystem::is_symlink(link));
    CHECK(*sys::read_file(link) == "new");
    CHECK(*sys::read_file(victim) == "precious");
}

TEST_CASE("files: atomic write gives the exact mode and leaves no temporary file", "[sys]") {
    Sandbox box("mode");
    const auto file = box.dir / "secret";
    const mode_t old_umask = ::umask(0);  // a permissive umask must not widen the mode
    const auto written = sys::write_file_atomic(file, "x", std::filesystem::perms::owner_read);
    ::umask(old_umask);
    REQUIRE(written.ok());
    CHECK(std::filesystem::status(file).permissions() == std::filesystem::perms::owner_read);
    CHECK(box.others("secret").empty());
    // A failed write (the directory is gone) leaves nothing either.
    CHECK_FALSE(sys::write_file_atomic(box.dir / "missing" / "b", "x").ok());
    CHECK(box.others("secret").empty());
}

TEST_CASE("files: concurrent atomic writes to one file each land whole", "[sys]") {
    Sandbox box("concurrent");
    const auto file = box.dir / "state.json";
    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            const std::string content(64 * 1024, static_cast<char>('a' + w));
            for (int i = 0; i < 50; ++i) {
                if (!sys::write_file_atomic(file, content).ok()) {
                    ++failures;
                }
            }
        });
    }
    for (auto& t : writers) {
        t.join();
    }
    CHECK(failures == 0);
    const auto content = *sys::read_file(file);
    REQUIRE(content.size() == 64 * 1024);
    CHECK(content.find_first_not_of(content[0]) == std::string::npos);
    CHECK(box.others("state.json").empty());
}

TEST_CASE("files: sha256 of known strings", "[sys]") {
    CHECK(sys::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sys::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("files: env files parse like compose reads them", "[sys]") {
    const auto parsed = sys::parse_env_file(
        "# comment\n\nTOKEN=abc\nexport NAME = x\nQUOTED=\"a b\"\nSINGLE='c'\nEMPTY=\r\n");
    REQUIRE(parsed.ok());
    const std::vector<std::pair<std::string, std::string>> expected{
        {"TOKEN", "abc"}, {"NAME", " x"}, {"QUOTED", "a b"}, {"SINGLE", "c"}, {"EMPTY", ""}};
    CHECK(*parsed == expected);
    const auto bad = sys::parse_env_file("OK=1\nno equals sign\n");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "line 2: expected KEY=VALUE");
    CHECK_FALSE(sys::parse_env_file("BAD NAME=1\n").ok());
}

TEST_CASE("clock: RFC 3339 round trip and durations", "[sys]") {
    sys::TimePoint t;
    REQUIRE(sys::parse_rfc3339("2026-11-22T07:32:23Z", t));
    CHECK(sys::format_rfc3339(t) == "2026-11-22T07:32:23Z");
    sys::TimePoint frac;
    REQUIRE(sys::parse_rfc3339("2026-11-22T07:32:23.250Z", frac));
    CHECK(frac - t == 250ms);
    // The API's times: always three digits, truncated (not rounded) to the millisecond, and read
    // back to the same instant.
    CHECK(sys::format_rfc3339_ms(frac) == "2026-11-22T07:32:23.250Z");
    CHECK(sys::format_rfc3339_ms(t) == "2026-11-22T07:32:23.000Z");
    CHECK(sys::format_rfc3339_ms(t + 7ms + 999us) == "2026-11-22T07:32:23.007Z");
    CHECK(sys::format_rfc3339_ms(t + 59s + 999ms) == "2026-11-22T07:33:22.999Z");
    sys::TimePoint back;
    REQUIRE(sys::parse_rfc3339(sys::format_rfc3339_ms(t + 41ms), back));
    CHECK(back - t == 41ms);
    CHECK(sys::format_rfc3339_ms(sys::TimePoint{} - 1ms) == "1969-12-31T23:59:59.999Z");
    CHECK_FALSE(sys::parse_rfc3339("2026-11-22 07:32:23", t));
    CHECK_FALSE(sys::parse_rfc3339("2026-11-22T07:32:23+01:00", t));
    // Found by tests/fuzz/registry_json (a token's issued_at): years a TimePoint cannot hold
    // overflowed in from_time_t (undefined behaviour); they are refused.
    CHECK_FALSE(sys::parse_rfc3339("9999-01-01T00:00:00Z", t));
    CHECK_FALSE(sys::parse_rfc3339("0001-01-01T00:00:00Z", t));
    CHECK(sys::parse_rfc3339("2200-01-01T00:00:00Z", t));
    CHECK(sys::format_duration(90min) == "1h30m");
    CHECK(sys::format_duration(45s) == "45s");
    CHECK(sys::format_duration(1500ms) == "1500ms");
    CHECK(sys::format_duration(0ms) == "0ms");
}

}  // namespace unit_sys_files_test
