#pragma once
// A token bucket per source (a peer address, a provider): a flood of webhooks from one source
// is refused (429) once its burst is spent, and it regains one request per refill interval.
// Pure bookkeeping: the caller passes the time and serialises calls.
//
// The number of sources remembered is bounded: when a new source arrives and the table is
// full, a bucket that has refilled completely is forgotten (it holds nothing a fresh bucket
// would not), else the one used least recently.

#include <cstddef>
#include <string>
#include <unordered_map>

#include "agent/sys/clock.h"

namespace agentd::webhook {

class RateLimiter {
public:
    struct Limits {
        double burst = 10;                                       ///< requests taken at once
        sys::Duration refill = std::chrono::milliseconds(1000);  ///< one more request per this
        std::size_t max_sources = 1024;                          ///< buckets remembered
    };

    explicit RateLimiter(Limits limits);

    /// Takes one request from `source`'s bucket at `now`: true when it had one, false when the
    /// source must wait. A time earlier than one seen before refills nothing.
    bool allow(const std::string& source, sys::TimePoint now);

    /// The buckets remembered (at most Limits::max_sources).
    std::size_t sources() const { return m_buckets.size(); }

private:
    struct Bucket {
        double tokens = 0;
        sys::TimePoint updated;
    };
    void refill(Bucket& bucket, sys::TimePoint now) const;
    void make_room(sys::TimePoint now);

    Limits m_limits;
    std::unordered_map<std::string, Bucket> m_buckets;
};

}  // namespace agentd::webhook
