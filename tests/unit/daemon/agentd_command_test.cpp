#include "agent/daemon/agentd_command.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace unit_daemon_agentd_command_test {

namespace fs = std::filesystem;

namespace {

int run_agentd_with(std::vector<std::string> args) {
    args.insert(args.begin(), "agentd");
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    return agentd::daemon::run_agentd(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("agentd: --check-config exits 0 on a valid file and 2 on errors", "[daemon]") {
    const auto dir = fs::temp_directory_path() / ("agentd-check-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto good = dir / "good.yaml";
    std::ofstream(good) << "state_dir: " << dir.string()
                        << "\nstacks:\n  - name: shop\n    dir: " << dir.string() << "\n";
    const auto bad = dir / "bad.yaml";
    std::ofstream(bad) << "state_dir: " << dir.string() << "\nbogus: 1\n";
    REQUIRE(run_agentd_with({"--config", good.string(), "--check-config"}) == 0);
    REQUIRE(run_agentd_with({"--config", bad.string(), "--check-config"}) == 2);
    REQUIRE(run_agentd_with({"--config", (dir / "missing.yaml").string(), "--check-config"}) == 2);
    REQUIRE(run_agentd_with({"--no-such-flag"}) == 2);
    REQUIRE(run_agentd_with({"--log-level", "loud", "--check-config"}) == 2);
    // The state directory is not created by a check.
    REQUIRE_FALSE(fs::exists(dir / "state.db"));
    fs::remove_all(dir);
}

}  // namespace unit_daemon_agentd_command_test
