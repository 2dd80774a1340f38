#pragma once
// Live progress (`agentctl watch`, `agentctl sync --wait`): an in-process publish/subscribe hub.
// The workers' pipelines publish what happens to a stack (daemon/progress_publisher.h); each
// API client following the stream holds a Subscription. A subscriber's queue is bounded: a
// client that reads slower than events come loses the oldest ones and is told how many, so a
// slow client never holds up a deployment (publish never waits for a reader).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/sys/clock.h"

namespace agentd::daemon {

class ProgressHub;

/// What a subscriber takes from its queue at once.
struct ProgressBatch {
    std::vector<nlohmann::json> events;  ///< oldest first
    /// Events lost since the last take because the queue was full (0: none).
    std::uint64_t dropped = 0;
    /// The hub closed (agentd stopping) and the queue is empty: nothing more will come.
    bool closed = false;
};

/// One follower of the stream; unsubscribes when destroyed.
class Subscription {
public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    /// What arrived since the last take; when nothing has, waits up to `wait` for something
    /// (or for the hub to close).
    ProgressBatch take(sys::Duration wait);

    struct Queue;

private:
    friend class ProgressHub;
    Subscription(ProgressHub& hub, std::shared_ptr<Queue> queue);

    ProgressHub& m_hub;
    std::shared_ptr<Queue> m_queue;
};

class ProgressHub {
public:
    /// `capacity`: events a subscriber's queue holds at most before the oldest are dropped.
    explicit ProgressHub(std::size_t capacity = 1024);
    ~ProgressHub();
    ProgressHub(const ProgressHub&) = delete;
    ProgressHub& operator=(const ProgressHub&) = delete;

    /// Follows `stack` only, or every stack (nullopt); sees what is published after it
    /// returns. After close(), the subscription is closed from the start.
    std::unique_ptr<Subscription> subscribe(std::optional<std::string> stack);
    /// Hands `event` to every subscriber following `stack`; never waits for a reader.
    void publish(const std::string& stack, const nlohmann::json& event);
    /// Ends every subscription (their take() returns closed once emptied), now and later.
    void close();
    /// How many subscriptions are open.
    std::size_t subscribers() const;

private:
    friend class Subscription;
    void unsubscribe(const std::shared_ptr<Subscription::Queue>& queue);

    const std::size_t m_capacity;
    mutable std::mutex m_mutex;  // guards m_queues and m_closed
    std::list<std::shared_ptr<Subscription::Queue>> m_queues;
    bool m_closed = false;
};

}  // namespace agentd::daemon
