#include "agent/daemon/monitoring_routes.h"

#include <chrono>

#include "agent/sys/version.h"

namespace agentd::daemon {

nlohmann::json to_json(const Readiness& r) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r.checks) {
        checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    }
    return {{"status", r.status}, {"checks", checks}};
}

ApiReply handle_monitoring_request(MonitoringBackend& backend, const ApiRequest& request) {
    const bool known =
        request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics";
    if (!known) {
        return {404, {{"error", "not found"}}, "", ""};
    }
    if (request.method != "GET" && request.method != "HEAD") {
        return {405, {{"error", "method not allowed: " + request.method}}, "", ""};
    }
    if (request.path == "/healthz") {
        const auto up = std::chrono::duration_cast<std::chrono::seconds>(backend.uptime());
        return {200,
                {{"status", "ok"}, {"version", sys::k_version}, {"uptime_seconds", up.count()}},
                "",
                ""};
    }
    if (request.path == "/readyz") {
        const auto readiness = backend.readiness();
        return {readiness.http_status(), to_json(readiness), "", ""};
    }
    return {200, nullptr, k_prometheus_text, backend.metrics()};
}

}  // namespace agentd::daemon
