#include "agent/webhook/rate_limiter.h"

#include <catch2/catch.hpp>

namespace unit_webhook_rate_limiter_test {

using namespace agentd;
using namespace std::chrono_literals;
using webhook::RateLimiter;

namespace {

const sys::TimePoint k_start = sys::TimePoint(std::chrono::hours(24 * 365 * 50));

RateLimiter::Limits limits(double burst, sys::Duration refill, std::size_t max_sources = 1024) {
    RateLimiter::Limits l;
    l.burst = burst;
    l.refill = refill;
    l.max_sources = max_sources;
    return l;
}

// How many requests of `source` are allowed at `at`, asking until one is refused.
int drain(RateLimiter& limiter, const std::string& source, sys::TimePoint at) {
    int allowed = 0;
    while (limiter.allow(source, at)) {
        ++allowed;
        REQUIRE(allowed < 10000);
    }
    return allowed;
}

}  // namespace

TEST_CASE("webhook rate limiter: a burst is allowed at once, then one per refill interval",
          "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(5, 1s));
    CHECK(drain(limiter, "10.0.0.1", k_start) == 5);
    CHECK_FALSE(limiter.allow("10.0.0.1", k_start + 999ms));
    CHECK(limiter.allow("10.0.0.1", k_start + 1000ms));
    CHECK_FALSE(limiter.allow("10.0.0.1", k_start + 1000ms));
    // Partial intervals add up: 500 ms + 500 ms is one request.
    CHECK_FALSE(limiter.allow("10.0.0.1", k_start + 1500ms));
    CHECK(limiter.allow("10.0.0.1", k_start + 2000ms));
    // A long quiet spell refills up to the burst, never more.
    CHECK(drain(limiter, "10.0.0.1", k_start + 1h) == 5);
}

TEST_CASE("webhook rate limiter: a flood at a steady rate gets the refill rate through",
          "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(10, 100ms));
    int allowed = 0;
    // 1000 requests in 10 seconds, one every 10 ms.
    for (int i = 0; i < 1000; ++i) {
        allowed += limiter.allow("flood", k_start + i * 10ms) ? 1 : 0;
    }
    // The burst, then one per 100 ms over 9.99 s.
    CHECK(allowed == 10 + 99);
}

TEST_CASE("webhook rate limiter: sources have their own buckets", "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(2, 1s));
    CHECK(drain(limiter, "a", k_start) == 2);
    CHECK(limiter.allow("b", k_start));
    CHECK(limiter.allow("b", k_start));
    CHECK_FALSE(limiter.allow("b", k_start));
    CHECK_FALSE(limiter.allow("a", k_start));
    CHECK(limiter.sources() == 2);
}

TEST_CASE("webhook rate limiter: a clock going back regains nothing", "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(1, 1s));
    CHECK(limiter.allow("a", k_start + 10s));
    CHECK_FALSE(limiter.allow("a", k_start));
    CHECK_FALSE(limiter.allow("a", k_start + 10s));
    CHECK(limiter.allow("a", k_start + 11s));
}

TEST_CASE("webhook rate limiter: the sources remembered are bounded, refilled buckets go first",
          "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(2, 1s, 3));
    CHECK(drain(limiter, "busy", k_start) == 2);
    CHECK(limiter.allow("idle1", k_start));
    CHECK(limiter.allow("idle2", k_start + 100ms));
    REQUIRE(limiter.sources() == 3);
    // At +1.5 s idle1 has refilled (one taken at 0, one regained per second) and is forgotten;
    // busy, which spent its burst, is kept and still has only what it regained.
    CHECK(limiter.allow("new", k_start + 1500ms));
    CHECK(limiter.sources() == 3);
    CHECK(limiter.allow("busy", k_start + 1500ms));
    CHECK_FALSE(limiter.allow("busy", k_start + 1500ms));

    // With no refilled bucket, the one used least recently goes.
    RateLimiter full(limits(5, 1h, 2));
    CHECK(full.allow("first", k_start));
    CHECK(full.allow("second", k_start + 1s));
    CHECK(full.allow("third", k_start + 2s));
    CHECK(full.sources() == 2);
    // "first" was forgotten: "second" still has what it had left.
    CHECK(drain(full, "second", k_start + 3s) == 4);
    // "first" comes back with a fresh bucket, and "third", now the least recently used, goes.
    CHECK(drain(full, "first", k_start + 4s) == 5);
    CHECK(drain(full, "second", k_start + 5s) == 0);
    CHECK(full.sources() == 2);
}

TEST_CASE("webhook rate limiter: many sources cannot grow the table", "[webhook][rate_limiter]") {
    RateLimiter limiter(limits(1, 1min, 100));
    for (int i = 0; i < 10000; ++i) {
        limiter.allow("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                      k_start + i * 1ms);
    }
    CHECK(limiter.sources() == 100);
}

}  // namespace unit_webhook_rate_limiter_test
