#pragma once
// When and how long to wait before asking a registry again: 429 and transient 5xx answers are
// retried with capped exponential backoff and jitter, honouring Retry-After.

#include <optional>
#include <random>

#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::sources {

struct RetryPolicy {
    int retries = 3;  ///< attempts after the first; 0 disables retrying
    sys::Duration base = std::chrono::milliseconds(500);
    sys::Duration cap = std::chrono::seconds(10);
    /// A longer Retry-After is not waited for: the request fails at once and the next poll
    /// asks again, instead of one image blocking a reconcile cycle for minutes.
    sys::Duration max_retry_after = std::chrono::seconds(60);
};

/// 429, 500, 502, 503 and 504: answers that may change if asked again. 501 and 505 are
/// permanent, and 501 is how registries refuse HEAD.
bool retryable_status(long status);

/// The Retry-After of `response` (delta-seconds or an IMF-fixdate HTTP-date, RFC 9110 10.2.3)
/// as a delay from `now`; a date in the past is zero. nullopt when absent or unparsable.
std::optional<sys::Duration> retry_after(const sys::HttpResponse& response, sys::TimePoint now);

/// The backoff before retry number `attempt` (0 for the first retry): half of
/// min(cap, base * 2^attempt) plus a random part up to the other half ("equal jitter"), so
/// delays grow and clients that failed together do not retry together.
sys::Duration backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937& random);

}  // namespace agentd::sources
