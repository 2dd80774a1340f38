// Single-value checks of agent.yaml.

#include <catch2/catch.hpp>

#include "agent/config/checks.h"

namespace unit_config_checks_test {

using namespace agentd::config;

TEST_CASE("checks: branch names follow git check-ref-format", "[config]") {
    for (const char* name : {"main", "release/v2", "feature-x", "v1.2", "a@b", "user/a_b"}) {
        INFO(name);
        CHECK_FALSE(branch_name_problem(name));
    }
    for (const char* name :
         {"",      "@",     "-x",   "/a",      "a/",   "a.",        "a..b",    "a b",
          "a\x01", "a\x7f", "a~1",  "a^",      "a:b",  "a?",        "a*",      "a[b",
          "a\\b",  "a@{1}", "a//b", ".hidden", "a/.b", "main.lock", "a.lock/b"}) {
        INFO(name);
        CHECK(branch_name_problem(name));
    }
}

TEST_CASE("checks: relative paths stay inside", "[config]") {
    for (const char* path : {"", ".", "shop", "a/b", "./a", "a..b", "..a", "a/..b"}) {
        INFO(path);
        CHECK(is_relative_inside(path));
    }
    for (const char* path : {"/", "/a", "..", "../a", "a/..", "a/../b", "a//../b"}) {
        INFO(path);
        CHECK_FALSE(is_relative_inside(path));
    }
}

TEST_CASE("checks: registry hosts are host[:port] only", "[config]") {
    CHECK_FALSE(registry_host_problem("ghcr.io"));
    CHECK_FALSE(registry_host_problem("127.0.0.1:5000"));
    CHECK(registry_host_problem(""));
    CHECK(registry_host_problem("https://ghcr.io"));
    CHECK(registry_host_problem("ghcr.io/acme"));
    CHECK(registry_host_problem("user@ghcr.io"));
}

}  // namespace unit_config_checks_test
