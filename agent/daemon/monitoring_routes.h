#pragma once
// The routes of the TCP listener (api.listen, SPEC section 7): /healthz, /readyz, /metrics, as
// a pure function from request to answer like api_routes.h. Nothing else is reachable there:
// every other path is a 404, control routes included; a route that is added (webhooks) is
// added here, never borrowed from the socket API.

#include <string>

#include <nlohmann/json.hpp>

#include "agent/daemon/api_routes.h"
#include "agent/daemon/readiness.h"
#include "agent/sys/clock.h"

namespace agentd::daemon {

/// What the monitoring routes ask of the daemon.
class MonitoringBackend {
public:
    virtual ~MonitoringBackend() = default;
    /// How long agentd has been running.
    virtual sys::Duration uptime() = 0;
    /// Checks the store, the engine and every stack's last poll now.
    virtual Readiness readiness() = 0;
    /// The Prometheus text exposition.
    virtual std::string metrics() = 0;
};

/// The content type of the Prometheus text format.
inline constexpr const char* k_prometheus_text = "text/plain; version=0.0.4; charset=utf-8";

/// GET (or HEAD) /healthz: 200 {"status":"ok","version","uptime_seconds"}; /readyz: 200 or
/// 503 {"status","checks":[{"name","ok","detail"}]}; /metrics: the exposition. Another method
/// on these paths is a 405, any other path a 404.
ApiReply handle_monitoring_request(MonitoringBackend& backend, const ApiRequest& request);

nlohmann::json to_json(const Readiness& r);

}  // namespace agentd::daemon
