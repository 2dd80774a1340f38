#include "agent/daemon/progress_hub.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace agentd::daemon {

/// A subscriber's queue, filled by the hub and emptied by the Subscription. Its own mutex, so
/// that publishing to one subscriber never waits for another one's reader.
struct Subscription::Queue {
    std::optional<std::string> stack;
    std::size_t capacity = 0;
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<nlohmann::json> events;
    std::uint64_t dropped = 0;
    bool closed = false;

    void push(const nlohmann::json& event) {
        {
            const std::lock_guard lock(mutex);
            if (closed) {
                return;
            }
            if (events.size() >= capacity) {
                events.pop_front();
                ++dropped;
            }
            events.push_back(event);
        }
        changed.notify_all();
    }

    void close() {
        {
            const std::lock_guard lock(mutex);
            closed = true;
        }
        changed.notify_all();
    }
};

Subscription::Subscription(ProgressHub& hub, std::shared_ptr<Queue> queue)
    : m_hub(hub), m_queue(std::move(queue)) {}

Subscription::~Subscription() {
    m_hub.unsubscribe(m_queue);
}

ProgressBatch Subscription::take(sys::Duration wait) {
    std::unique_lock lock(m_queue->mutex);
    m_queue->changed.wait_for(lock, wait, [&] {
        return !m_queue->events.empty() || m_queue->dropped != 0 || m_queue->closed;
    });
    ProgressBatch batch;
    batch.events.assign(std::make_move_iterator(m_queue->events.begin()),
                        std::make_move_iterator(m_queue->events.end()));
    m_queue->events.clear();
    batch.dropped = std::exchange(m_queue->dropped, 0);
    batch.closed = m_queue->closed && batch.events.empty();
    return batch;
}

ProgressHub::ProgressHub(std::size_t capacity) : m_capacity(std::max<std::size_t>(1, capacity)) {}

ProgressHub::~ProgressHub() {
    close();
}

std::unique_ptr<Subscription> ProgressHub::subscribe(std::optional<std::string> stack) {
    auto queue = std::make_shared<Subscription::Queue>();
    queue->stack = std::move(stack);
    queue->capacity = m_capacity;
    const std::lock_guard lock(m_mutex);
    if (m_closed) {
        queue->closed = true;
    } else {
        m_queues.push_back(queue);
    }
    return std::unique_ptr<Subscription>(new Subscription(*this, std::move(queue)));
}

void ProgressHub::publish(const std::string& stack, const nlohmann::json& event) {
    const std::lock_guard lock(m_mutex);
    for (const auto& queue : m_queues) {
        if (!queue->stack || *queue->stack == stack) {
            queue->push(event);
        }
    }
}

void ProgressHub::close() {
    const std::lock_guard lock(m_mutex);
    m_closed = true;
    for (const auto& queue : m_queues) {
        queue->close();
    }
    m_queues.clear();
}

std::size_t ProgressHub::subscribers() const {
    const std::lock_guard lock(m_mutex);
    return m_queues.size();
}

void ProgressHub::unsubscribe(const std::shared_ptr<Subscription::Queue>& queue) {
    const std::lock_guard lock(m_mutex);
    m_queues.remove(queue);
}

}  // namespace agentd::daemon
