#include "agent/daemon/event_stream.h"

#include <nlohmann/json.hpp>

namespace agentd::daemon {
namespace {

std::string to_line(const nlohmann::json& event) {
    // Names and messages come from outside (git, registries, compose): never throw on them.
    return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

EventStream::EventStream(std::unique_ptr<Subscription> subscription,
                         std::optional<std::string> stack)
    : m_subscription(std::move(subscription)), m_stack(std::move(stack)) {}

std::optional<std::string> EventStream::next(sys::Duration wait) {
    if (!m_greeted) {
        m_greeted = true;
        return to_line({{"type", "subscribed"},
                        {"stack", m_stack ? nlohmann::json(*m_stack) : nlohmann::json(nullptr)}});
    }
    auto batch = m_subscription->take(wait);
    if (batch.closed) {
        return std::nullopt;
    }
    std::string out;
    if (batch.dropped != 0) {
        out += to_line({{"type", "dropped"}, {"count", batch.dropped}});
    }
    for (const auto& event : batch.events) {
        out += to_line(event);
    }
    if (!out.empty()) {
        m_idle = sys::Duration::zero();
        return out;
    }
    m_idle += wait;
    if (m_idle >= k_heartbeat) {
        m_idle = sys::Duration::zero();
        return to_line({{"type", "heartbeat"}});
    }
    return std::string();
}

}  // namespace agentd::daemon
