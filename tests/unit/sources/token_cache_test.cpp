#include "agent/sources/token_cache.h"

#include <chrono>

#include <catch2/catch.hpp>

namespace unit_sources_token_cache_test {

using namespace agentd;
using sources::TokenCache;

namespace {

const sys::TimePoint k_now = std::chrono::system_clock::from_time_t(1'800'000'000);

}  // namespace

TEST_CASE("token cache: a token is found until it expires, then forgotten", "[sources][registry]") {
    TokenCache cache;
    cache.store("ghcr.io", "repository:acme/web:pull", {"tok", k_now + std::chrono::seconds(60)});
    CHECK(cache.find("ghcr.io", "repository:acme/web:pull", k_now) == "tok");
    CHECK(cache.find("ghcr.io", "repository:acme/web:pull", k_now + std::chrono::seconds(59)) ==
          "tok");
    CHECK_FALSE(cache.find("ghcr.io", "repository:acme/api:pull", k_now));
    CHECK_FALSE(cache.find("quay.io", "repository:acme/web:pull", k_now));
    CHECK_FALSE(
        cache.find("ghcr.io", "repository:acme/web:pull", k_now + std::chrono::seconds(60)));
    // Forgotten, not just hidden: an earlier time does not bring it back.
    CHECK_FALSE(cache.find("ghcr.io", "repository:acme/web:pull", k_now));
}

TEST_CASE("token cache: drop forgets only the refused token, not a newer one",
          "[sources][registry]") {
    TokenCache cache;
    const auto later = k_now + std::chrono::seconds(300);
    cache.store("ghcr.io", "repository:acme/web:pull", {"old", later});
    // Another worker replaced the token after this one sent "old" and got a 401.
    cache.store("ghcr.io", "repository:acme/web:pull", {"new", later});
    cache.drop("ghcr.io", "repository:acme/web:pull", "old");
    CHECK(cache.find("ghcr.io", "repository:acme/web:pull", k_now) == "new");
    cache.drop("ghcr.io", "repository:acme/web:pull", "new");
    CHECK_FALSE(cache.find("ghcr.io", "repository:acme/web:pull", k_now));
}

}  // namespace unit_sources_token_cache_test
