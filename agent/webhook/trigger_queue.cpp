#include "agent/webhook/trigger_queue.h"

namespace agentd::webhook {

TriggerQueue::TriggerQueue(std::size_t capacity) : m_capacity(capacity) {}

TriggerQueue::Offer TriggerQueue::offer(const std::string& stack) {
    if (pending(stack)) {
        return Offer::AlreadyPending;
    }
    if (m_order.size() >= m_capacity) {
        return Offer::Full;
    }
    m_order.push_back(stack);
    m_pending.insert(stack);
    return Offer::Queued;
}

std::optional<std::string> TriggerQueue::take() {
    if (m_order.empty()) {
        return std::nullopt;
    }
    std::string stack = std::move(m_order.front());
    m_order.pop_front();
    m_pending.erase(stack);
    return stack;
}

}  // namespace agentd::webhook
