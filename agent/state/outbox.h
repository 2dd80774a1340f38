#pragma once
// The notification outbox (SPEC section 5: state.db's `outbox` table): notifications are put
// here when they happen (a database insert, nothing more, so no receiver can delay a deployment
// or a poll) and a sender delivers them later, retrying with backoff, across restarts.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::state {

/// A rendered notification for one receiver.
struct OutboxMessage {
    /// The receiver's stable key (config: a hash of its URL; the URL itself carries a token and
    /// is never stored).
    std::string target;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string payload;
};

struct OutboxItem {
    std::int64_t id = 0;
    OutboxMessage message;
    int attempts = 0;  ///< failed attempts so far
    sys::TimePoint created_at;
    std::optional<sys::TimePoint> next_attempt_at;  ///< nullopt once delivered or given up
    std::optional<sys::TimePoint> delivered_at;
    std::string last_error;  ///< of the last failed attempt ("" if none)
};

/// Like Store, every method is a committed transaction and throws StoreError when the database
/// cannot be read or written.
class Outbox {
public:
    virtual ~Outbox() = default;

    struct Enqueued {
        std::int64_t id = 0;
        int dropped = 0;  ///< undelivered notifications deleted to stay within the capacity
    };
    /// Adds `message`, due at `now`. Beyond the outbox's capacity, the oldest rows are deleted:
    /// delivered and given-up ones first, then the oldest undelivered (counted in `dropped`).
    virtual Enqueued enqueue(const OutboxMessage& message, sys::TimePoint now) = 0;

    /// Undelivered rows due at `now`, soonest first (then oldest), at most `limit`.
    virtual std::vector<OutboxItem> due(sys::TimePoint now, int limit) = 0;
    /// When the next undelivered row is due; nullopt when there is none.
    virtual std::optional<sys::TimePoint> next_due() = 0;

    virtual void delivered(std::int64_t id, sys::TimePoint at) = 0;
    /// An attempt failed with `error`: one more attempt counted, tried again at `retry_at`, or
    /// given up (kept with its error, never tried again) when nullopt.
    virtual void failed(std::int64_t id, const std::string& error,
                        std::optional<sys::TimePoint> retry_at) = 0;

    /// Makes every undelivered row due at `now` at the latest (agentd started: whatever kept
    /// them from their receivers may be fixed); returns how many there are.
    virtual int retry_now(sys::TimePoint now) = 0;

    /// A row by id, whatever its state (for tests and diagnostics).
    virtual std::optional<OutboxItem> item(std::int64_t id) = 0;

    /// What receiver `target`'s alerts remember (notify::Alerts::save), kept across restarts;
    /// nullopt when nothing was saved for it.
    virtual std::optional<std::string> memory(const std::string& target) = 0;
    /// Replaces what is kept for `target`.
    virtual void remember(const std::string& target, const std::string& memory,
                          sys::TimePoint now) = 0;
};

}  // namespace agentd::state
