#define CATCH_CONFIG_RUNNER
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    // Logs are for people running agentd; tests assert on values. AGENTD_TEST_LOG=1 shows them.
    if (std::getenv("AGENTD_TEST_LOG") == nullptr) {
        spdlog::set_level(spdlog::level::off);
    }
    return Catch::Session().run(argc, argv);
}
