#include "agent/daemon/shared_config.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace unit_daemon_shared_config_test {

using namespace agentd;

namespace {

/// A configuration that names the generation it is set as (in `source`, read back below).
config::Config config_number(std::uint64_t n) {
    config::Config c;
    c.source = std::to_string(n);
    return c;
}

}  // namespace

TEST_CASE("shared config: a snapshot pairs the configuration with its own generation", "[daemon]") {
    daemon::SharedConfig shared(config_number(0));
    auto first = shared.snapshot();
    CHECK(first.generation == 0);
    CHECK(first.config->source == "0");
    shared.set(config_number(1));
    auto second = shared.snapshot();
    CHECK(second.generation == 1);
    CHECK(second.config->source == "1");
    // The old snapshot keeps its configuration alive and unchanged.
    CHECK(first.config->source == "0");
}

TEST_CASE("shared config: a snapshot taken during reloads is never torn", "[daemon]") {
    daemon::SharedConfig shared(config_number(0));
    std::atomic<bool> done{false};
    std::thread reloader([&] {
        for (std::uint64_t n = 1; n <= 20000; ++n) {
            shared.set(config_number(n));
        }
        done = true;
    });
    std::size_t torn = 0;
    std::size_t reads = 0;
    while (!done) {
        const auto [config, generation] = shared.snapshot();
        torn += config->source != std::to_string(generation) ? 1 : 0;
        ++reads;
    }
    reloader.join();
    CHECK(reads > 0);
    CHECK(torn == 0);
    CHECK(shared.snapshot().generation == 20000);
}

}  // namespace unit_daemon_shared_config_test
