#pragma once
// The stacks webhooks asked to run, waiting for a worker: first come, first served, each stack
// at most once (a webhook for a stack already waiting adds nothing: its cycle will see the
// newest state anyway), and at most `capacity` stacks, so a flood of webhooks holds a bounded
// amount of memory and cannot queue more work than there are stacks. Pure bookkeeping: the
// caller serialises calls.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>

namespace agentd::webhook {

class TriggerQueue {
public:
    enum class Offer {
        Queued,          ///< the stack waits at the end of the queue
        AlreadyPending,  ///< the stack was waiting already; nothing changed
        Full,            ///< the queue holds `capacity` stacks; nothing changed
    };

    explicit TriggerQueue(std::size_t capacity);

    /// Asks for a cycle of `stack`.
    Offer offer(const std::string& stack);
    /// The stack waiting longest, removed from the queue; nullopt when none waits. Take it when
    /// its cycle starts: a webhook arriving while the cycle runs queues it again, so one more
    /// cycle follows (the running one may have fetched before that push).
    std::optional<std::string> take();
    /// Whether `stack` is waiting.
    bool pending(const std::string& stack) const { return m_pending.count(stack) != 0; }
    std::size_t size() const { return m_order.size(); }
    std::size_t capacity() const { return m_capacity; }

private:
    std::size_t m_capacity;
    std::deque<std::string> m_order;
    std::unordered_set<std::string> m_pending;
};

}  // namespace agentd::webhook
