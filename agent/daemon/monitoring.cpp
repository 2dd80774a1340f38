#include "agent/daemon/monitoring.h"

#include <spdlog/spdlog.h>

namespace agentd::daemon {

DaemonMonitoring::DaemonMonitoring(SharedConfig& config, ApiBackend& api, AgentdMetrics& metrics,
                                   EnginePing ping, sys::Clock& clock, sys::TimePoint started)
    : m_config(config),
      m_api(api),
      m_metrics(metrics),
      m_ping(std::move(ping)),
      m_clock(clock),
      m_started(started) {}

sys::Duration DaemonMonitoring::uptime() {
    return std::chrono::duration_cast<sys::Duration>(m_clock.now() - m_started);
}

Readiness DaemonMonitoring::readiness() {
    ReadinessInput input;
    input.started = m_started;
    const auto config = m_config.get();
    try {
        auto stacks = m_api.status(std::nullopt);
        if (!stacks) {
            input.store_error = stacks.error().message;
        } else {
            for (const auto& s : *stacks) {
                const auto* stack = config->find_stack(s.name);
                if (stack == nullptr) {
                    continue;  // removed by a reload meanwhile
                }
                // Held only when paused: a pinned stack still polls.
                input.stacks.push_back({s.name, s.stack_state.paused, s.stack_state.last_poll,
                                        stack->poll_interval, stack->health.timeout});
            }
        }
    } catch (const std::exception& e) {  // state::StoreError: the store cannot be read
        input.store_error = e.what();
    }
    {
        std::lock_guard lock(m_ping_mutex);
        if (auto pinged = m_ping(); !pinged) {
            input.docker_error = pinged.error().message;
        }
    }
    input.now = m_clock.now();
    auto readiness = judge_readiness(input);
    if (readiness.status != "ok") {
        spdlog::debug("readyz: {}", readiness.status);
    }
    return readiness;
}

std::string DaemonMonitoring::metrics() {
    std::vector<StackStatus> stacks;
    try {
        if (auto status = m_api.status(std::nullopt)) {
            stacks = std::move(*status);
        }
    } catch (const std::exception& e) {
        // The counters are still worth scraping; readyz says what is wrong with the store.
        spdlog::warn("metrics: state store: {}", e.what());
    }
    std::optional<fleet::FleetSeen> fleet;
    if (auto* admin = m_api.fleet()) {
        fleet = admin->seen();
    }
    return m_metrics.render(stacks, fleet);
}

}  // namespace agentd::daemon
