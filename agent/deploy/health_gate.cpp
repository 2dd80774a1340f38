#include "agent/deploy/health_gate.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace agentd::deploy {
namespace {

std::string trim_log(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    const auto nl = text.rfind('\n');
    if (nl != std::string::npos) {
        text = text.substr(nl + 1);
    }
    if (text.size() > 200) {
        text = text.substr(0, 200) + "...";
    }
    return text;
}

void note(std::map<std::string, std::string>& into, const std::string& service,
          const std::string& reason) {
    auto& slot = into[service];
    slot = slot.empty() ? reason : slot + ", " + reason;
}

/// A one-off service (restart "no") that ran to completion with exit code 0 is done, not down.
bool finished_cleanly(const runtime::ContainerState& c) {
    const bool no_restart = c.restart_policy.empty() || c.restart_policy == "no";
    return c.state == "exited" && c.exit_code == 0 && no_restart;
}

}  // namespace

SampleVerdict judge_containers(const GateTarget& target,
                               const std::vector<runtime::ContainerState>& containers,
                               const std::map<std::string, int>& baseline_restarts) {
    SampleVerdict v;
    std::map<std::string, int> seen;
    for (const auto& c : containers) {
        if (c.one_off) {
            continue;  // `compose run` containers (hooks) are not part of the release
        }
        const bool expected = std::find(target.services.begin(), target.services.end(),
                                        c.service) != target.services.end();
        if (!expected) {
            continue;  // an orphan compose is about to remove
        }
        const auto pin = target.pins.find(c.service);
        if (pin != target.pins.end() && c.image != pin->second) {
            note(v.pending, c.service, fmt::format("container {} still runs {}", c.name, c.image));
            continue;
        }
        ++seen[c.service];
        const auto base = baseline_restarts.find(c.id);
        const int restarts_before = base == baseline_restarts.end() ? 0 : base->second;
        if (c.oom_killed) {
            note(v.fatal, c.service, "OOM-killed");
        } else if (c.restart_count > restarts_before || c.state == "restarting") {
            note(
                v.fatal, c.service,
                fmt::format("restarted (exit code {}, {} restarts)", c.exit_code, c.restart_count));
        } else if (c.state == "exited" || c.state == "dead") {
            if (!finished_cleanly(c)) {
                note(v.fatal, c.service, fmt::format("exited with code {}", c.exit_code));
            }
        } else if (c.state != "running") {
            note(v.pending, c.service, c.state);
        } else if (c.health == "unhealthy") {
            const auto log = trim_log(c.health_log);
            note(v.fatal, c.service, log.empty() ? "unhealthy" : "unhealthy: " + log);
        } else if (c.health == "starting") {
            note(v.pending, c.service, "health: starting");
        }
    }
    for (const auto& service : target.services) {
        if (seen[service] == 0 && !v.pending.count(service) && !v.fatal.count(service)) {
            note(v.pending, service, "no container");
        }
    }
    return v;
}

std::optional<std::string> engine_interruption(const GateTarget& target,
                                               const runtime::EngineEvents& events) {
    for (const auto& e : events.events) {
        const bool watched = !e.one_off && std::find(target.services.begin(), target.services.end(),
                                                     e.service) != target.services.end();
        const bool stops =
            e.action == "stop" || (e.action == "kill" && (e.signal == "15" || e.signal == "9"));
        if (watched && stops) {
            return fmt::format(
                "container {} was stopped by the engine ({}{}): dockerd shutting down or a "
                "docker stop, not the release",
                e.name, e.action, e.signal.empty() ? "" : ", signal " + e.signal);
        }
    }
    if (events.ended) {
        return std::string("the event stream ended: dockerd stopped, restarted or crashed");
    }
    return std::nullopt;
}

std::string GateResult::summary() const {
    std::string out;
    for (const auto& [subject, reason] : reasons) {
        if (!out.empty()) {
            out += "; ";
        }
        out += subject + ": " + reason;
    }
    return out;
}

HealthGate::HealthGate(runtime::Engine& engine, sys::HttpClient& http, sys::Clock& clock,
                       const std::atomic<bool>& stop)
    : m_engine(engine), m_http(http), m_clock(clock), m_stop(stop) {}

GateResult HealthGate::run(const GateTarget& target, const config::Health& health) {
    GateResult result;
    std::map<std::string, int> baseline;
    const auto deadline = m_clock.now() + health.timeout;
    std::optional<sys::TimePoint> good_since;
    int good_samples = 0;
    // A sample cannot tell a container that failed from one the engine stopped: when dockerd
    // shuts down (a restart, a package upgrade) it stops every container, and a sample on a
    // kept-alive connection sees them exited (code 0 or 143) before the engine is gone. The
    // engine's event stream can: it carries the `kill` the engine logs before it signals, and
    // it ends when the engine goes away, whatever a later engine then restores. So it stays
    // open for the whole gate, and the gate ends inconclusive on either.
    auto watch = m_engine.watch(target.project);
    if (!watch) {
        return inconclusive(target, deadline, watch.error().message, 0);
    }
    std::vector<std::unique_ptr<runtime::EngineWatch>> more_watches;
    for (const auto& project : target.also) {
        auto more = m_engine.watch(project);
        if (!more) {
            return inconclusive(target, deadline, more.error().message, 0);
        }
        more_watches.push_back(std::move(*more));
    }
    while (true) {
        if (m_stop.load()) {
            result.verdict = GateResult::Verdict::Interrupted;
            return result;
        }
        std::vector<runtime::ContainerState> seen;
        const auto verdict = sample(target, health, baseline, seen);
        ++result.samples;
        auto events = (*watch)->read(verdict.fatal.empty() ? sys::Duration::zero() : k_event_grace);
        for (const auto& more : more_watches) {
            auto also = more->read(sys::Duration::zero());
            events.events.insert(events.events.end(), also.events.begin(), also.events.end());
            events.ended = events.ended || also.ended;
        }
        if (auto why = engine_interruption(target, events)) {
            return inconclusive(target, deadline, *why, result.samples);
        }
        const auto now = m_clock.now();
        if (!verdict.fatal.empty()) {
            if (m_on_sample) {
                m_on_sample({result.samples, std::move(seen), verdict, 0});
            }
            result.verdict = GateResult::Verdict::Failed;
            result.reasons = verdict.fatal;
            return result;
        }
        if (verdict.good()) {
            if (!good_since) {
                good_since = now;
            }
            ++good_samples;
            if (now - *good_since >= health.stable && good_samples >= k_min_samples) {
                if (m_on_sample) {
                    m_on_sample({result.samples, std::move(seen), verdict, good_samples});
                }
                result.verdict = GateResult::Verdict::Passed;
                return result;
            }
        } else {
            good_since.reset();
            good_samples = 0;
        }
        if (m_on_sample) {
            m_on_sample({result.samples, std::move(seen), verdict, good_samples});
        }
        if (now >= deadline) {
            result.verdict = GateResult::Verdict::Failed;
            result.reasons = verdict.pending;
            if (result.reasons.empty()) {
                result.reasons["gate"] =
                    fmt::format("not stable for {} within {}", sys::format_duration(health.stable),
                                sys::format_duration(health.timeout));
            } else {
                for (auto& [subject, reason] : result.reasons) {
                    reason = fmt::format("not ready within {} ({})",
                                         sys::format_duration(health.timeout), reason);
                }
            }
            return result;
        }
        m_clock.sleep_for(std::min(
            next_wait(good_since, now, health.stable),
            std::max(std::chrono::duration_cast<sys::Duration>(deadline - now), sys::Duration(1))));
    }
}

/// Ends a gate the engine interrupted once the engine accepts a new event stream again (a
/// restarted dockerd listens only after it has restored its containers), or at the gate's
/// deadline, so that what follows (the rollback) meets the engine that is back.
GateResult HealthGate::inconclusive(const GateTarget& target, sys::TimePoint deadline,
                                    std::string why, int samples) {
    GateResult result;
    result.samples = samples;
    result.verdict = GateResult::Verdict::Inconclusive;
    result.reasons["docker"] = std::move(why);
    while (m_clock.now() < deadline) {
        if (m_stop.load()) {
            result.verdict = GateResult::Verdict::Interrupted;
            return result;
        }
        if (m_engine.watch(target.project)) {
            break;
        }
        m_clock.sleep_for(
            std::clamp(std::chrono::duration_cast<sys::Duration>(deadline - m_clock.now()),
                       sys::Duration(1), k_interval));
    }
    return result;
}

sys::Duration HealthGate::next_wait(std::optional<sys::TimePoint> good_since, sys::TimePoint now,
                                    sys::Duration stable) {
    if (!good_since) {
        return k_pending_interval;
    }
    const auto left = std::chrono::duration_cast<sys::Duration>(*good_since + stable - now);
    if (left <= sys::Duration::zero()) {
        return k_pending_interval;  // the window is over; only samples are missing
    }
    return std::min(k_interval, left);
}

SampleVerdict HealthGate::sample(const GateTarget& target, const config::Health& health,
                                 std::map<std::string, int>& baseline,
                                 std::vector<runtime::ContainerState>& seen) {
    SampleVerdict verdict;
    auto containers = m_engine.project_containers(target.project);
    for (const auto& project : target.also) {
        if (!containers) {
            break;
        }
        auto more = m_engine.project_containers(project);
        if (!more) {
            containers = more.error();
            break;
        }
        containers->insert(containers->end(), more->begin(), more->end());
    }
    if (!containers) {
        verdict.pending["docker"] = containers.error().message;
        return verdict;
    }
    seen = *containers;
    for (const auto& c : *containers) {
        baseline.try_emplace(c.id, c.restart_count);
    }
    verdict = judge_containers(target, *containers, baseline);
    if (verdict.fatal.empty() && verdict.pending.empty()) {
        probe_http(health, verdict);
    }
    return verdict;
}

void HealthGate::probe_http(const config::Health& health, SampleVerdict& verdict) {
    for (const auto& probe : health.http) {
        sys::HttpRequest request;
        request.url = probe.url;
        request.timeout = std::chrono::seconds(5);
        const auto response = m_http.send(request);
        if (!response) {
            verdict.pending[probe.url] = response.error().message;
            continue;
        }
        const bool ok = probe.status == 0 ? (response->status >= 200 && response->status < 300)
                                          : response->status == probe.status;
        if (!ok) {
            verdict.pending[probe.url] = fmt::format("answered {}", response->status);
        }
    }
}

}  // namespace agentd::deploy
