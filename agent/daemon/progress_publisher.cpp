#include "agent/daemon/progress_publisher.h"

namespace agentd::daemon {
namespace {

using nlohmann::json;

json line(const std::string& stack, std::optional<std::int64_t> deployment, const char* type,
          sys::TimePoint at) {
    return {{"at", sys::format_rfc3339_ms(at)},
            {"stack", stack},
            {"deployment", deployment ? json(*deployment) : json(nullptr)},
            {"type", type}};
}

}  // namespace

json phase_line(const model::Deployment& d, const model::Event& event) {
    auto out = line(d.stack, d.id, "phase", event.at);
    out["phase"] = event.phase;
    out["message"] = event.message;
    return out;
}

json pull_line(const model::Deployment& d, const runtime::PullProgress& pull, sys::TimePoint at) {
    auto out = line(d.stack, d.id, "pull", at);
    out["image"] = pull.reference;
    out["current"] = pull.current;
    out["total"] = pull.total;
    out["layers"] = pull.layers;
    out["layers_done"] = pull.layers_done;
    out["done"] = pull.done;
    return out;
}

json gate_line(const model::Deployment& d, const deploy::GateSample& sample, sys::TimePoint at) {
    auto out = line(d.stack, d.id, "gate", at);
    out["sample"] = sample.number;
    out["good"] = sample.verdict.good();
    out["good_in_a_row"] = sample.good_in_a_row;
    json containers = json::array();
    for (const auto& c : sample.containers) {
        if (c.one_off) {
            continue;
        }
        containers.push_back({{"service", c.service},
                              {"state", c.state},
                              {"health", c.health},
                              {"exit_code", c.exit_code},
                              {"restarts", c.restart_count}});
    }
    out["containers"] = std::move(containers);
    out["fatal"] = sample.verdict.fatal;
    out["pending"] = sample.verdict.pending;
    return out;
}

json end_line(const std::string& stack, const deploy::CycleResult& result,
              const std::string& request, sys::TimePoint at) {
    auto out = line(stack, result.deployment, "end", at);
    out["status"] = deploy::to_string(result.outcome);
    out["message"] = result.message;
    if (!request.empty()) {
        out["request"] = request;
    }
    return out;
}

ProgressPublisher::ProgressPublisher(ProgressHub& hub, sys::Clock& clock,
                                     deploy::CycleObserver* next)
    : m_hub(hub), m_clock(clock), m_next(next) {}

void ProgressPublisher::observed(const std::string& stack, sys::Duration took, bool ok) {
    if (m_next != nullptr) {
        m_next->observed(stack, took, ok);
    }
}

void ProgressPublisher::gated(const std::string& stack, const deploy::GateResult& result,
                              sys::Duration took) {
    if (m_next != nullptr) {
        m_next->gated(stack, result, took);
    }
}

void ProgressPublisher::finished(const model::Deployment& deployment) {
    m_last_pull.clear();
    if (m_next != nullptr) {
        m_next->finished(deployment);
    }
}

void ProgressPublisher::recorded(const model::Deployment& deployment, const model::Event& event) {
    m_hub.publish(deployment.stack, phase_line(deployment, event));
    if (m_next != nullptr) {
        m_next->recorded(deployment, event);
    }
}

void ProgressPublisher::pulling(const model::Deployment& deployment,
                                const runtime::PullProgress& pull) {
    const auto now = m_clock.now();
    const auto last = m_last_pull.find(pull.reference);
    const bool due = last == m_last_pull.end() || pull.done ||
                     pull.layers_done != last->second.layers_done ||
                     now - last->second.at >= k_pull_interval;
    if (due) {
        m_last_pull[pull.reference] = {now, pull.layers_done};
        m_hub.publish(deployment.stack, pull_line(deployment, pull, now));
    }
    if (pull.done) {
        m_last_pull.erase(pull.reference);
    }
    if (m_next != nullptr) {
        m_next->pulling(deployment, pull);
    }
}

void ProgressPublisher::gate_sample(const model::Deployment& deployment,
                                    const deploy::GateSample& sample) {
    m_hub.publish(deployment.stack, gate_line(deployment, sample, m_clock.now()));
    if (m_next != nullptr) {
        m_next->gate_sample(deployment, sample);
    }
}

}  // namespace agentd::daemon
