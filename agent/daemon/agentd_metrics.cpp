#include "agent/daemon/agentd_metrics.h"

#include <algorithm>
#include <chrono>

#include "agent/sys/url.h"
#include "agent/sys/version.h"

namespace agentd::daemon {
namespace {

// Family names, following Prometheus's conventions (base units, _total for counters) and the
// `<tool>_` prefix of peer tools (Flux's gotk_, Argo CD's argocd_, watchtower_).
constexpr const char* k_build_info = "agentd_build_info";
constexpr const char* k_start_time = "process_start_time_seconds";
constexpr const char* k_polls = "agentd_polls_total";
constexpr const char* k_poll_errors = "agentd_poll_errors_total";
constexpr const char* k_poll_duration = "agentd_poll_duration_seconds";
constexpr const char* k_deployments = "agentd_deployments_total";
constexpr const char* k_deployment_duration = "agentd_deployment_duration_seconds";
constexpr const char* k_gate_duration = "agentd_gate_duration_seconds";
constexpr const char* k_rollbacks = "agentd_rollbacks_total";
constexpr const char* k_registry_requests = "agentd_registry_requests_total";
constexpr const char* k_release_info = "agentd_release_info";
constexpr const char* k_last_success = "agentd_last_successful_deploy_timestamp_seconds";
constexpr const char* k_last_poll = "agentd_last_poll_timestamp_seconds";
constexpr const char* k_stack_paused = "agentd_stack_paused";
constexpr const char* k_stack_drifted = "agentd_stack_drifted";
constexpr const char* k_offline_releases = "agentd_releases_restorable_offline";
constexpr const char* k_fleet_watching = "agentd_fleet_watching";
constexpr const char* k_fleet_lease = "agentd_fleet_lease";
constexpr const char* k_fleet_updating = "agentd_fleet_updating";
constexpr const char* k_fleet_queued = "agentd_fleet_queued";
constexpr const char* k_fleet_halted = "agentd_fleet_halted";
constexpr const char* k_fleet_waiting = "agentd_fleet_waiting";
constexpr const char* k_etcd_requests = "agentd_fleet_etcd_requests_total";

template <typename Rep, typename Period>
double seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

double unix_seconds(sys::TimePoint t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

AgentdMetrics::AgentdMetrics(sys::TimePoint started) {
    using T = MetricType;
    m_metrics.declare({k_build_info, "agentd's version (always 1).", T::Gauge, {"version"}, {}});
    m_metrics.declare(
        {k_start_time, "When agentd started, in seconds since the epoch.", T::Gauge, {}, {}});
    m_metrics.declare({k_polls, "Polls (cycles) run, per stack.", T::Counter, {"stack"}, {}});
    m_metrics.declare({k_poll_errors,
                       "Polls that ended with an error (git, registry, a signature check that "
                       "could not be made, the state store).",
                       T::Counter,
                       {"stack"},
                       {}});
    m_metrics.declare({k_poll_duration,
                       "Time of a poll's observe step: git fetch, compose config, registry "
                       "digests.",
                       T::Histogram,
                       {"stack"},
                       {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}});
    m_metrics.declare({k_deployments,
                       "Deployments ended, per stack and result (succeeded, rolled_back, "
                       "rejected, failed).",
                       T::Counter,
                       {"stack", "result"},
                       {}});
    m_metrics.declare({k_deployment_duration,
                       "Time from a deployment's start to its end (pull, apply, gate, and a "
                       "rollback if any).",
                       T::Histogram,
                       {"stack"},
                       {1, 5, 10, 30, 60, 120, 300, 600, 1800}});
    m_metrics.declare({k_gate_duration,
                       "Time of a health gate, passed or not.",
                       T::Histogram,
                       {"stack"},
                       {1, 5, 10, 15, 30, 60, 120, 180, 300, 600}});
    m_metrics.declare({k_rollbacks,
                       "Releases restored: automatic (a candidate failed its gate) or manual "
                       "(agentctl rollback).",
                       T::Counter,
                       {"stack", "kind"},
                       {}});
    m_metrics.declare({k_registry_requests,
                       "HTTP requests to registries, per host and status code (\"error\": no "
                       "answer).",
                       T::Counter,
                       {"host", "code"},
                       {}});
    m_metrics.declare({k_release_info,
                       "The release each stack runs (always 1): git revision and tag (\"\" when "
                       "following a branch).",
                       T::Gauge,
                       {"stack", "revision", "tag"},
                       {}});
    m_metrics.declare({k_last_success,
                       "When the release a stack runs was deployed, in seconds since the epoch.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_last_poll,
                       "When a stack's last poll ended, in seconds since the epoch.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare(
        {k_stack_paused, "1 when a stack is paused or pinned, else 0.", T::Gauge, {"stack"}, {}});
    m_metrics.declare({k_stack_drifted,
                       "1 when the last poll found a stack's containers differ from its release.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_offline_releases,
                       "Of the releases kept for rollback, how many have every image on the host.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_fleet_watching,
                       "With fleet: 1 while agentd follows its group's keys in etcd (0: etcd "
                       "cannot be reached).",
                       T::Gauge,
                       {},
                       {}});
    m_metrics.declare(
        {k_fleet_lease, "With fleet: 1 while this host holds its etcd lease.", T::Gauge, {}, {}});
    m_metrics.declare({k_fleet_updating,
                       "With fleet: hosts of the group holding a rollout slot of the stack.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_fleet_queued,
                       "With fleet: hosts of the group queued for a rollout slot of the stack.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_fleet_halted,
                       "With fleet: 1 while a release of the stack is halted for the group.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_fleet_waiting,
                       "With fleet: 1 while this host's release of the stack waits for its turn.",
                       T::Gauge,
                       {"stack"},
                       {}});
    m_metrics.declare({k_etcd_requests,
                       "With fleet: HTTP requests to etcd's gateway, per call (kv/range, kv/txn, "
                       "lease/keepalive, watch...) and status code (\"error\": no answer).",
                       T::Counter,
                       {"call", "code"},
                       {}});
    m_metrics.set(k_build_info, {sys::k_version}, 1);
    m_metrics.set(k_start_time, {}, unix_seconds(started));
}

void AgentdMetrics::polled(const std::string& stack, deploy::Outcome outcome) {
    if (outcome == deploy::Outcome::Paused) {
        return;
    }
    m_metrics.add(k_polls, {stack});
    // Declared with zero so that a rate() over it exists before the first error.
    m_metrics.add(k_poll_errors, {stack}, outcome == deploy::Outcome::PollError ? 1 : 0);
}

void AgentdMetrics::registry_request(const std::string& host, long status) {
    m_metrics.add(k_registry_requests,
                  {host, status > 0 ? std::to_string(status) : std::string("error")});
}

void AgentdMetrics::etcd_request(const std::string& call, long status) {
    m_metrics.add(k_etcd_requests,
                  {call, status > 0 ? std::to_string(status) : std::string("error")});
}

void AgentdMetrics::observed(const std::string& stack, sys::Duration took, bool) {
    m_metrics.observe(k_poll_duration, {stack}, seconds(took));
}

void AgentdMetrics::gated(const std::string& stack, const deploy::GateResult&, sys::Duration took) {
    m_metrics.observe(k_gate_duration, {stack}, seconds(took));
}

void AgentdMetrics::finished(const model::Deployment& d) {
    const std::string result = model::to_string(d.status);
    m_metrics.add(k_deployments, {d.stack, result});
    if (d.finished_at && d.started_at <= *d.finished_at) {
        m_metrics.observe(k_deployment_duration, {d.stack}, seconds(*d.finished_at - d.started_at));
    }
    if (d.status == model::Status::RolledBack) {
        m_metrics.add(k_rollbacks, {d.stack, "automatic"});
    } else if (d.trigger == model::Trigger::Rollback && d.status == model::Status::Succeeded) {
        m_metrics.add(k_rollbacks, {d.stack, "manual"});
    }
}

std::string AgentdMetrics::render(const std::vector<StackStatus>& stacks,
                                  const std::optional<fleet::FleetSeen>& fleet) const {
    std::vector<Sample> computed;
    computed.reserve(stacks.size() * 4);
    for (const auto& s : stacks) {
        if (s.current) {
            computed.push_back(
                {k_release_info, {s.name, s.current->release.revision, s.current->release.tag}, 1});
            if (s.current->finished_at) {
                computed.push_back(
                    {k_last_success, {s.name}, unix_seconds(*s.current->finished_at)});
            }
        }
        if (s.stack_state.last_poll.at) {
            computed.push_back({k_last_poll, {s.name}, unix_seconds(*s.stack_state.last_poll.at)});
        }
        const bool held = s.stack_state.paused || s.stack_state.pinned.has_value();
        computed.push_back({k_stack_paused, {s.name}, held ? 1.0 : 0.0});
        computed.push_back(
            {k_stack_drifted, {s.name}, s.stack_state.last_poll.drift.empty() ? 0.0 : 1.0});
        if (s.stack_state.offline_releases) {
            computed.push_back({k_offline_releases,
                                {s.name},
                                static_cast<double>(*s.stack_state.offline_releases)});
        }
    }
    if (fleet) {
        computed.push_back({k_fleet_watching, {}, fleet->watching ? 1.0 : 0.0});
        computed.push_back({k_fleet_lease, {}, fleet->lease ? 1.0 : 0.0});
        const auto max_updating = static_cast<std::size_t>(std::max(fleet->group.max_updating, 0));
        for (const auto& [stack, view] : fleet->group.stacks) {
            if (stack.empty()) {
                continue;
            }
            const auto updating = std::min(view.queue.size(), max_updating);
            computed.push_back({k_fleet_updating, {stack}, static_cast<double>(updating)});
            computed.push_back(
                {k_fleet_queued, {stack}, static_cast<double>(view.queue.size() - updating)});
            computed.push_back({k_fleet_halted, {stack}, view.halt ? 1.0 : 0.0});
        }
        for (const auto& s : stacks) {
            computed.push_back(
                {k_fleet_waiting, {s.name}, fleet->waiting.contains(s.name) ? 1.0 : 0.0});
        }
    }
    return m_metrics.render(computed);
}

sys::Result<sys::HttpResponse> MeteredEtcdHttp::send(const sys::HttpRequest& request) {
    auto response = m_inner->send(request);
    if (m_metrics != nullptr) {
        // "https://10.0.0.1:2379/v3/kv/range" -> "kv/range": a bounded set of calls.
        const auto v3 = request.url.find("/v3/");
        m_metrics->etcd_request(
            v3 == std::string::npos ? std::string("other") : request.url.substr(v3 + 4),
            response ? response->status : 0);
    }
    return response;
}

sys::Result<sys::HttpResponse> MeteredHttpClient::send(const sys::HttpRequest& request) {
    auto response = m_inner.send(request);
    if (m_metrics != nullptr) {
        m_metrics->registry_request(sys::url_host(request.url), response ? response->status : 0);
    }
    return response;
}

std::vector<sys::Result<sys::HttpResponse>> MeteredHttpClient::send_all(
    const std::vector<sys::HttpRequest>& requests, const sys::HostLimit& limit) {
    auto responses = m_inner.send_all(requests, limit);
    if (m_metrics != nullptr) {
        for (std::size_t i = 0; i < requests.size() && i < responses.size(); ++i) {
            m_metrics->registry_request(sys::url_host(requests[i].url),
                                        responses[i] ? responses[i]->status : 0);
        }
    }
    return responses;
}

}  // namespace agentd::daemon
