#include "agent/sources/auth_cache.h"

#include <catch2/catch.hpp>

using namespace agentd;
using sources::AuthCache;

namespace {

const sys::TimePoint k_now = std::chrono::system_clock::from_time_t(1'800'000'000);
const std::string k_web = "repository:acme/web:pull";

}  // namespace

TEST_CASE("auth cache: a token is found until it expires, then dropped", "[sources][registry]") {
    AuthCache cache;
    CHECK_FALSE(cache.token("ghcr.io", k_web, k_now));
    cache.store_token("ghcr.io", k_web, {"tok", k_now + std::chrono::seconds(60)});
    CHECK(cache.token("ghcr.io", k_web, k_now + std::chrono::seconds(59)) == "tok");
    CHECK_FALSE(cache.token("ghcr.io", k_web, k_now + std::chrono::seconds(60)));
    // Dropped once expired: an earlier time does not bring it back.
    CHECK_FALSE(cache.token("ghcr.io", k_web, k_now));
}

TEST_CASE("auth cache: tokens are per registry and scope, and can be dropped",
          "[sources][registry]") {
    AuthCache cache;
    const auto later = k_now + std::chrono::hours(1);
    cache.store_token("ghcr.io", k_web, {"web", later});
    cache.store_token("ghcr.io", "repository:acme/api:pull", {"api", later});
    CHECK(cache.token("ghcr.io", "repository:acme/api:pull", k_now) == "api");
    CHECK_FALSE(cache.token("quay.io", k_web, k_now));
    cache.drop_token("ghcr.io", k_web);
    CHECK_FALSE(cache.token("ghcr.io", k_web, k_now));
    CHECK(cache.token("ghcr.io", "repository:acme/api:pull", k_now) == "api");
}

TEST_CASE("auth cache: registries that want Basic credentials are remembered",
          "[sources][registry]") {
    AuthCache cache;
    CHECK_FALSE(cache.wants_basic("registry.example.com"));
    cache.set_wants_basic("registry.example.com");
    CHECK(cache.wants_basic("registry.example.com"));
    CHECK_FALSE(cache.wants_basic("ghcr.io"));
}
