#include "agent/webhook/rate_limiter.h"

#include <algorithm>

namespace agentd::webhook {

RateLimiter::RateLimiter(Limits limits) : m_limits(limits) {
    m_limits.burst = std::max(m_limits.burst, 1.0);
    m_limits.refill = std::max(m_limits.refill, sys::Duration(1));
    m_limits.max_sources = std::max<std::size_t>(m_limits.max_sources, 1);
}

void RateLimiter::refill(Bucket& bucket, sys::TimePoint now) const {
    if (now <= bucket.updated) {
        return;  // the clock went back, or no time passed: nothing regained
    }
    const double elapsed = std::chrono::duration<double, std::milli>(now - bucket.updated).count();
    const double per = std::chrono::duration<double, std::milli>(m_limits.refill).count();
    bucket.tokens = std::min(m_limits.burst, bucket.tokens + elapsed / per);
    bucket.updated = now;
}

void RateLimiter::make_room(sys::TimePoint now) {
    auto oldest = m_buckets.end();
    for (auto it = m_buckets.begin(); it != m_buckets.end(); ++it) {
        Bucket copy = it->second;
        refill(copy, now);
        if (copy.tokens >= m_limits.burst) {
            m_buckets.erase(it);
            return;
        }
        if (oldest == m_buckets.end() || it->second.updated < oldest->second.updated) {
            oldest = it;
        }
    }
    if (oldest != m_buckets.end()) {
        m_buckets.erase(oldest);
    }
}

bool RateLimiter::allow(const std::string& source, sys::TimePoint now) {
    auto it = m_buckets.find(source);
    if (it == m_buckets.end()) {
        if (m_buckets.size() >= m_limits.max_sources) {
            make_room(now);
        }
        it = m_buckets.emplace(source, Bucket{m_limits.burst, now}).first;
    }
    Bucket& bucket = it->second;
    refill(bucket, now);
    if (bucket.tokens < 1) {
        return false;
    }
    bucket.tokens -= 1;
    return true;
}

}  // namespace agentd::webhook
