#pragma once
// The monitoring routes' backend in the running daemon: readiness from the API backend's
// status (the store), a ping of the Docker Engine and each stack's last poll; metrics from
// AgentdMetrics with each stack's current release read at scrape time.

#include <functional>
#include <mutex>

#include "agent/daemon/agentd_metrics.h"
#include "agent/daemon/api_backend.h"
#include "agent/daemon/monitoring_routes.h"
#include "agent/daemon/shared_config.h"

namespace agentd::daemon {

class DaemonMonitoring final : public MonitoringBackend {
public:
    /// Whether the engine answers (called under a lock, one check at a time).
    using EnginePing = std::function<sys::Result<void>()>;

    DaemonMonitoring(SharedConfig& config, ApiBackend& api, AgentdMetrics& metrics, EnginePing ping,
                     sys::Clock& clock, sys::TimePoint started);

    sys::Duration uptime() override;
    Readiness readiness() override;
    std::string metrics() override;

private:
    SharedConfig& m_config;
    ApiBackend& m_api;
    AgentdMetrics& m_metrics;
    std::mutex m_ping_mutex;
    EnginePing m_ping;
    sys::Clock& m_clock;
    sys::TimePoint m_started;
};

}  // namespace agentd::daemon
