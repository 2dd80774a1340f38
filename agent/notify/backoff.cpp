#include "agent/notify/backoff.h"

#include <algorithm>

namespace agentd::notify {

sys::Duration retry_delay(const RetryPolicy& policy, int failed_attempts,
                          std::optional<sys::Duration> retry_after) {
    sys::Duration delay = policy.first;
    for (int i = 1; i < failed_attempts && delay < policy.longest; ++i) {
        delay *= 2;
    }
    if (retry_after) {
        delay = std::max(delay, *retry_after);
    }
    return std::min(delay, policy.longest);
}

std::optional<sys::TimePoint> next_attempt(const RetryPolicy& policy, int failed_attempts,
                                           sys::TimePoint created_at, sys::TimePoint now,
                                           std::optional<sys::Duration> retry_after) {
    sys::TimePoint at = now + retry_delay(policy, failed_attempts, retry_after);
    if (at - created_at > policy.give_up_after) {
        return std::nullopt;
    }
    return at;
}

Delivery classify(long status) {
    if (status >= 200 && status < 300) {
        return Delivery::Delivered;
    }
    if (status == 0 || status == 408 || status == 425 || status == 429 || status >= 500) {
        return Delivery::Retry;
    }
    return Delivery::Refused;
}

}  // namespace agentd::notify
