// parse_duration: the duration syntax of agent.yaml.

#include <catch2/catch.hpp>

#include "agent/config/config.h"

namespace unit_config_duration_test {

using namespace agentd;
using namespace agentd::config;
using namespace std::chrono_literals;

TEST_CASE("duration: valid and invalid texts", "[config]") {
    SECTION("valid") {
        const std::pair<const char*, sys::Duration> cases[] = {
            {"500ms", 500ms},
            {"30s", 30s},
            {"5m", 5min},
            {"1h", 1h},
            {"1h30m", 90min},
            {"90s", 90s},
            {"0s", 0s},
            {"2h15s", 2h + 15s},
            {"1m30s250ms", 90s + 250ms},
            {"1h2m3s4ms", 1h + 2min + 3s + 4ms},
        };
        for (const auto& [text, expected] : cases) {
            INFO(text);
            REQUIRE(parse_duration(text));
            CHECK(*parse_duration(text) == expected);
        }
    }
    SECTION("invalid") {
        for (const char* text : {"",       "30",
                                 "0",      "fast",
                                 "s",      "ms",
                                 "1.5h",   "-5s",
                                 "+5s",    "5 s",
                                 " 5s",    "5s ",
                                 "5S",     "1d",
                                 "30m1h",  "1h1h",
                                 "1s1m",   "500ms1s",
                                 "1hm",    "h1",
                                 "1h 30m", "99999999999999999999s",
                                 "9000h"}) {
            INFO(text);
            CHECK_FALSE(parse_duration(text));
        }
    }
}

}  // namespace unit_config_duration_test
