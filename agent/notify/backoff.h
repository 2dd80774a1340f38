#pragma once
// When a notification that could not be delivered is tried again, and when it is given up:
// pure, the time passed in.

#include <optional>
#include <string>

#include "agent/sys/clock.h"

namespace agentd::notify {

struct RetryPolicy {
    sys::Duration first = std::chrono::seconds(5);         ///< after the first failed attempt
    sys::Duration longest = std::chrono::minutes(30);      ///< the delay doubles up to this
    sys::Duration give_up_after = std::chrono::hours(24);  ///< age past which it is dropped
};

/// The delay after `failed_attempts` (>= 1) failed attempts: first, doubled per attempt, at most
/// `longest`; at least `retry_after` (a 429's or 503's Retry-After) when given, within
/// `longest` too.
sys::Duration retry_delay(const RetryPolicy& policy, int failed_attempts,
                          std::optional<sys::Duration> retry_after = std::nullopt);

/// When to try again a notification created at `created_at` that failed `failed_attempts`
/// times, the last at `now`; nullopt when it is to be given up (that attempt would come after
/// `give_up_after`).
std::optional<sys::TimePoint> next_attempt(const RetryPolicy& policy, int failed_attempts,
                                           sys::TimePoint created_at, sys::TimePoint now,
                                           std::optional<sys::Duration> retry_after = std::nullopt);

enum class Delivery {
    Delivered,  ///< 2xx
    Retry,      ///< no answer, 408, 425, 429, 5xx: the receiver may take it later
    Refused,    ///< any other status (a deleted webhook's 404, a 400): retrying changes nothing
};

/// What an HTTP status says of an attempt (0: no answer).
Delivery classify(long status);

}  // namespace agentd::notify

namespace agentd::notify {

/// `text` (an HTTP client's error) with every spelling of `url` in it (whole, without its
/// query, its path) replaced by "<url>": a receiver's URL carries its token and is never
/// logged or stored.
std::string redact_url(std::string text, const std::string& url);

}  // namespace agentd::notify
