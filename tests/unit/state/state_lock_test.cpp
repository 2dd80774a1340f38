#include "agent/state/state_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "tests/unit/temp_dir.h"

namespace agentd::state::unit_state_state_lock_test {
namespace {

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("state lock: acquire creates a 0600 lock file holding our pid", "[state]") {
    testing::TempDir tmp;
    const auto dir = tmp.path() / "var" / "lib" / "agentd";
    auto lock = StateLock::acquire(dir);
    REQUIRE(lock.ok());
    CHECK(lock->path() == dir / "agentd.lock");
    CHECK(read_all(dir / "agentd.lock") == std::to_string(::getpid()) + "\n");
    struct stat st {};
    REQUIRE(::stat((dir / "agentd.lock").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("state lock: a second acquire fails naming the state_dir and the holder's pid",
          "[state]") {
    testing::TempDir tmp;
    auto first = StateLock::acquire(tmp.path());
    REQUIRE(first.ok());

    // A new open file description conflicts even within one process.
    auto second = StateLock::acquire(tmp.path());
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().kind == sys::Error::Kind::Failed);
    CHECK(second.error().message == "another agentd is running with state_dir " +
                                        tmp.path().string() + " (pid " +
                                        std::to_string(::getpid()) + ")");
}

TEST_CASE("state lock: released on destruction and follows a move", "[state]") {
    testing::TempDir tmp;
    {
        auto first = StateLock::acquire(tmp.path());
        REQUIRE(first.ok());
        StateLock moved = std::move(first.value());
        CHECK_FALSE(StateLock::acquire(tmp.path()).ok());  // the moved-to lock still holds it
    }
    auto again = StateLock::acquire(tmp.path());
    CHECK(again.ok());
}

TEST_CASE("state lock: a state_dir that is a file is an error, not a lock", "[state]") {
    testing::TempDir tmp;
    const auto file = tmp.path() / "not-a-dir";
    std::ofstream(file) << "x";
    auto lock = StateLock::acquire(file);
    REQUIRE_FALSE(lock.ok());
    CHECK(lock.error().message.find("not a directory") != std::string::npos);
}

}  // namespace agentd::state::unit_state_state_lock_test
