#include "agent/notify/backoff.h"

#include <catch2/catch.hpp>

namespace unit_notify_backoff_test {

using namespace agentd;
using namespace std::chrono_literals;
using notify::Delivery;
using notify::RetryPolicy;

namespace {
const sys::TimePoint k_start = sys::TimePoint(std::chrono::hours(24 * 365 * 50));
}

TEST_CASE("notify backoff: the delay doubles from the first up to the longest",
          "[notify][backoff]") {
    RetryPolicy policy;  // 5s, 30min
    CHECK(notify::retry_delay(policy, 1) == 5s);
    CHECK(notify::retry_delay(policy, 2) == 10s);
    CHECK(notify::retry_delay(policy, 3) == 20s);
    CHECK(notify::retry_delay(policy, 4) == 40s);
    CHECK(notify::retry_delay(policy, 9) == 1280s);
    CHECK(notify::retry_delay(policy, 10) == 30min);
    CHECK(notify::retry_delay(policy, 11) == 30min);
    // No overflow however many attempts.
    CHECK(notify::retry_delay(policy, 1000000) == 30min);
    // Attempts below one count as the first.
    CHECK(notify::retry_delay(policy, 0) == 5s);
}

TEST_CASE("notify backoff: Retry-After lengthens the delay, never beyond the longest",
          "[notify][backoff]") {
    RetryPolicy policy;
    CHECK(notify::retry_delay(policy, 1, 2s) == 5s);
    CHECK(notify::retry_delay(policy, 1, 120s) == 120s);
    CHECK(notify::retry_delay(policy, 1, 24h) == 30min);
}

TEST_CASE("notify backoff: a notification is given up once its next attempt would be too old",
          "[notify][backoff]") {
    RetryPolicy policy;
    policy.give_up_after = 1h;
    CHECK(notify::next_attempt(policy, 1, k_start, k_start) == k_start + 5s);
    CHECK(notify::next_attempt(policy, 3, k_start, k_start + 10min) == k_start + 10min + 20s);
    CHECK(notify::next_attempt(policy, 10, k_start, k_start + 30min) == k_start + 1h);
    CHECK_FALSE(notify::next_attempt(policy, 10, k_start, k_start + 30min + 1s));
    CHECK_FALSE(notify::next_attempt(policy, 1, k_start, k_start + 2h));
}

TEST_CASE("notify backoff: statuses that may succeed later are retried, others refused",
          "[notify][backoff]") {
    CHECK(notify::classify(200) == Delivery::Delivered);
    CHECK(notify::classify(204) == Delivery::Delivered);
    CHECK(notify::classify(299) == Delivery::Delivered);
    CHECK(notify::classify(0) == Delivery::Retry);
    CHECK(notify::classify(408) == Delivery::Retry);
    CHECK(notify::classify(429) == Delivery::Retry);
    CHECK(notify::classify(500) == Delivery::Retry);
    CHECK(notify::classify(503) == Delivery::Retry);
    CHECK(notify::classify(400) == Delivery::Refused);
    CHECK(notify::classify(401) == Delivery::Refused);
    CHECK(notify::classify(404) == Delivery::Refused);
    CHECK(notify::classify(301) == Delivery::Refused);
}

TEST_CASE("notify redact: no spelling of a receiver's URL survives in an error",
          "[notify][backoff]") {
    const std::string url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET?token=abc123";
    CHECK(notify::redact_url("POST " + url + ": timed out", url) == "POST <url>: timed out");
    CHECK(notify::redact_url("POST https://hooks.slack.com/services/T000/B000/XXXXSECRET: refused",
                             url) == "POST <url>: refused");
    const std::string redacted =
        notify::redact_url("GET /services/T000/B000/XXXXSECRET?token=abc123 and token=abc123", url);
    CHECK(redacted.find("XXXXSECRET") == std::string::npos);
    CHECK(redacted.find("abc123") == std::string::npos);
    CHECK(notify::redact_url("Could not connect to hooks.slack.com port 443", url) ==
          "Could not connect to hooks.slack.com port 443");
    // A URL without a path has nothing secret but its host: left as is apart from the URL.
    CHECK(notify::redact_url("x http://127.0.0.1:9 y", "http://127.0.0.1:9") == "x <url> y");
}

}  // namespace unit_notify_backoff_test
