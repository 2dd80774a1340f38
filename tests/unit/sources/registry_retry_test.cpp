#include "agent/sources/registry_retry.h"

#include <catch2/catch.hpp>

namespace unit_sources_registry_retry_test {

using namespace agentd;
using namespace std::chrono_literals;
using sources::RetryPolicy;

namespace {

sys::HttpResponse with_retry_after(const std::string& value) {
    sys::HttpResponse response;
    response.status = 429;
    response.headers.emplace_back("Retry-After", value);
    return response;
}

}  // namespace

TEST_CASE("retry: 429 and transient 5xx are retried, 501 and 4xx are not", "[sources][registry]") {
    for (long status : {429L, 500L, 502L, 503L, 504L}) {
        CHECK(sources::retryable_status(status));
    }
    for (long status : {200L, 401L, 403L, 404L, 405L, 501L, 505L}) {
        CHECK_FALSE(sources::retryable_status(status));
    }
}

TEST_CASE("retry: Retry-After in seconds or as an HTTP-date", "[sources][registry]") {
    // 1994-11-06T08:49:30Z
    const auto now = std::chrono::system_clock::from_time_t(784111770);
    CHECK(sources::retry_after(with_retry_after("2"), now) == sys::Duration(2s));
    CHECK(sources::retry_after(with_retry_after(" 120 "), now) == sys::Duration(120s));
    CHECK(sources::retry_after(with_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), now) ==
          sys::Duration(7s));
    // A date in the past means now.
    CHECK(sources::retry_after(with_retry_after("Sun, 06 Nov 1994 08:00:00 GMT"), now) ==
          sys::Duration::zero());
    // Huge values saturate instead of overflowing.
    CHECK(*sources::retry_after(with_retry_after("99999999999999999999"), now) > 24h);
    // Found by tests/fuzz/www_authenticate: a far date overflowed the TimePoint (undefined
    // behaviour); far dates saturate like huge seconds, long-past ones are now.
    CHECK(*sources::retry_after(with_retry_after("Sun, 06 Nov 9194 08:49:37 GMT"), now) > 24h);
    CHECK(sources::retry_after(with_retry_after("Sun, 06 Nov 0001 08:49:37 GMT"), now) ==
          sys::Duration::zero());
    CHECK_FALSE(sources::retry_after(with_retry_after("soon"), now));
    CHECK_FALSE(sources::retry_after(with_retry_after("-3"), now));
    CHECK_FALSE(sources::retry_after(with_retry_after(""), now));
    CHECK_FALSE(sources::retry_after(sys::HttpResponse{}, now));
}

TEST_CASE("retry: backoff doubles from the base up to the cap, with jitter in the upper half",
          "[sources][registry]") {
    RetryPolicy policy;  // 500ms base, 10s cap
    std::mt19937 random(42);
    for (int round = 0; round < 50; ++round) {
        const sys::Duration expected[] = {500ms, 1s, 2s, 4s, 8s, 10s, 10s, 10s};
        for (int attempt = 0; attempt < 8; ++attempt) {
            const auto delay = sources::backoff_delay(policy, attempt, random);
            CHECK(delay >= expected[attempt] / 2);
            CHECK(delay <= expected[attempt]);
        }
    }
    // Far attempts neither overflow nor pass the cap.
    CHECK(sources::backoff_delay(policy, 1000, random) <= sys::Duration(10s));
}

}  // namespace unit_sources_registry_retry_test
