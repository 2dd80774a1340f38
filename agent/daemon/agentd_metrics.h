#pragma once
// agentd's Prometheus metrics (docs/operations.md lists them): fed by the workers through the
// pipeline's CycleObserver, by the daemon for each poll's outcome, by the registry clients'
// HTTP decorator; the current release and last poll of each stack are read from the store
// when /metrics is scraped. Labels are bounded: stack, result, registry host and status code;
// revisions and tags appear only in agentd_release_info.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon/api_backend.h"
#include "agent/daemon/metrics.h"
#include "agent/deploy/cycle_observer.h"
#include "agent/deploy/reconciler.h"
#include "agent/fleet/admin.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::daemon {

class AgentdMetrics final : public deploy::CycleObserver {
public:
    /// `started`: when agentd started (process_start_time_seconds).
    explicit AgentdMetrics(sys::TimePoint started);

    /// A cycle of `stack` ended with `outcome` (paused stacks do not poll and are not counted).
    void polled(const std::string& stack, deploy::Outcome outcome);
    /// A registry answered a request to `host` with `status` (0: no answer at all).
    void registry_request(const std::string& host, long status);
    /// etcd answered a request to the gateway path /v3/`call` ("kv/range", "lease/keepalive",
    /// "watch"...) with `status` (0: no answer at all).
    void etcd_request(const std::string& call, long status);

    void observed(const std::string& stack, sys::Duration took, bool ok) override;
    void gated(const std::string& stack, const deploy::GateResult& result,
               sys::Duration took) override;
    void finished(const model::Deployment& deployment) override;

    /// The exposition, with each stack's current release and last poll from `stacks`, and with
    /// `fleet:` the rollouts as this host's watch sees them.
    std::string render(const std::vector<StackStatus>& stacks,
                       const std::optional<fleet::FleetSeen>& fleet = std::nullopt) const;

    const Metrics& metrics() const { return m_metrics; }

private:
    Metrics m_metrics;
};

/// Counts the requests of an etcd client by gateway call and status code (decorator).
class MeteredEtcdHttp final : public sys::HttpClient {
public:
    MeteredEtcdHttp(std::unique_ptr<sys::HttpClient> inner, AgentdMetrics* metrics)
        : m_inner(std::move(inner)), m_metrics(metrics) {}
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override;

private:
    std::unique_ptr<sys::HttpClient> m_inner;
    AgentdMetrics* m_metrics;  // null: not counted
};

/// Counts the requests of a registry client by host and status code (decorator).
class MeteredHttpClient final : public sys::HttpClient {
public:
    MeteredHttpClient(sys::HttpClient& inner, AgentdMetrics* metrics)
        : m_inner(inner), m_metrics(metrics) {}
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override;
    std::vector<sys::Result<sys::HttpResponse>> send_all(
        const std::vector<sys::HttpRequest>& requests, const sys::HostLimit& limit) override;

private:
    sys::HttpClient& m_inner;
    AgentdMetrics* m_metrics;  // null: not counted
};

}  // namespace agentd::daemon
