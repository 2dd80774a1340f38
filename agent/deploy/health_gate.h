#pragma once
// The health gate of SPEC section 4: a release passes when, within `timeout`, every container is
// running (and healthy where it has a healthcheck) and every HTTP probe answers, without
// interruption for `stable` time and at least k_min_samples consecutive samples.

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/runtime/engine.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::deploy {

/// What one look at the project says.
struct SampleVerdict {
    /// Problems that cannot heal within the gate (a restart, an exit, unhealthy, OOM):
    /// service -> reason. Any entry fails the gate at once.
    std::map<std::string, std::string> fatal;
    /// Problems that may still resolve (starting, no container yet, probe refused).
    std::map<std::string, std::string> pending;
    bool good() const { return fatal.empty() && pending.empty(); }
};

/// What the gate is checking: the services of the release and the image each must run.
struct GateTarget {
    std::string project;
    std::vector<std::string> services;
    std::map<std::string, std::string> pins;  ///< service -> ref@digest it must run
    /// More compose projects whose containers are judged with the project's (a blue-green
    /// stack's shared services beside its slot).
    std::vector<std::string> also;
};

/// Judges one sample of containers. `baseline_restarts` holds each container's restart count
/// when the gate started (id -> count); a container not in it counts from zero.
SampleVerdict judge_containers(const GateTarget& target,
                               const std::vector<runtime::ContainerState>& containers,
                               const std::map<std::string, int>& baseline_restarts);

/// Whether the engine, not the release, ended what the gate watches: a container of the target
/// stopped from outside (a `stop` event, or a `kill` with SIGTERM or SIGKILL: what dockerd
/// sends every container when it shuts down, and what `docker stop` sends), or the engine gone
/// (the event stream ended). Returns why, or nullopt. A `kill` with another signal (a reload
/// by SIGHUP) stops nothing; one-off containers and other services do not count.
std::optional<std::string> engine_interruption(const GateTarget& target,
                                               const runtime::EngineEvents& events);

struct GateResult {
    /// Inconclusive: the engine stopped the containers or went away during the gate (see
    /// engine_interruption), which says nothing about the release.
    enum class Verdict { Passed, Failed, Interrupted, Inconclusive };
    Verdict verdict = Verdict::Failed;
    std::map<std::string, std::string> reasons;  ///< service (or probe URL) -> why
    int samples = 0;
    /// "web: unhealthy: ...; worker: restarted" (empty when passed).
    std::string summary() const;
    bool passed() const { return verdict == Verdict::Passed; }
};

/// One look at the project during a gate, as the gate judged it: what whoever watches a
/// deployment is shown.
struct GateSample {
    int number = 0;  ///< 1 for the gate's first sample
    std::vector<runtime::ContainerState> containers;
    SampleVerdict verdict;
    int good_in_a_row = 0;  ///< consecutive good samples, this one included
};

class HealthGate {
public:
    HealthGate(runtime::Engine& engine, sys::HttpClient& http, sys::Clock& clock,
               const std::atomic<bool>& stop);

    /// Samples every k_pending_interval until the release looks good, then at most
    /// k_interval apart until it is stable (ending right when the stable window does), fails,
    /// or times out.
    GateResult run(const GateTarget& target, const config::Health& health);

    /// `observer` is told of every sample run() takes, once it is judged.
    void on_sample(std::function<void(const GateSample&)> observer) {
        m_on_sample = std::move(observer);
    }

    /// How long to wait before the next sample, given when the current run of good samples
    /// began (none: the release is not good yet).
    static sys::Duration next_wait(std::optional<sys::TimePoint> good_since, sys::TimePoint now,
                                   sys::Duration stable);

    static constexpr int k_min_samples = 3;
    /// The longest time between two samples (SPEC: sampled at least every second).
    static constexpr sys::Duration k_interval = std::chrono::seconds(1);
    /// Between samples while the release is not good yet: readiness is noticed within a quarter
    /// second rather than a second, which was most of the gate's overhead over the containers'
    /// own start (docs/benchmarks.md, reaction). Only while pending, so a long stable window
    /// still costs one Docker listing a second.
    static constexpr sys::Duration k_pending_interval = std::chrono::milliseconds(250);
    /// How long a failing sample waits for the engine's events that may explain it: the
    /// engine logs `stop` just after the container exited, so the stream can be a moment
    /// behind the state a sample read.
    static constexpr sys::Duration k_event_grace = std::chrono::seconds(1);

private:
    SampleVerdict sample(const GateTarget& target, const config::Health& health,
                         std::map<std::string, int>& baseline,
                         std::vector<runtime::ContainerState>& seen);
    void probe_http(const config::Health& health, SampleVerdict& verdict);
    GateResult inconclusive(const GateTarget& target, sys::TimePoint deadline, std::string why,
                            int samples);

    runtime::Engine& m_engine;
    sys::HttpClient& m_http;
    sys::Clock& m_clock;
    const std::atomic<bool>& m_stop;
    std::function<void(const GateSample&)> m_on_sample;
};

}  // namespace agentd::deploy
