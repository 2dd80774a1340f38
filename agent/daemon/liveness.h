#pragma once
// Whether the daemon is alive in the sense systemd's watchdog asks: not "the signal thread runs"
// but "every busy worker makes progress". A worker reports each step it starts (a compose call,
// an HTTP request, a git fetch, a wait of the health gate) with the step's own timeout; it is
// stuck when a step outlives that timeout plus a margin (the step's own timeout should have
// ended it). While any worker is stuck the daemon stops sending WATCHDOG=1, and systemd restarts
// it once WatchdogSec passes. The decision (`decide_watchdog`, `WatchdogMonitor`) is pure and
// takes the time as a value; Liveness only keeps the workers' reports, thread-safe.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::daemon {

/// Time allowed beyond a step's own timeout, and between steps (the worker's own computing,
/// SQLite), before the worker counts as stuck.
inline constexpr sys::Duration k_liveness_margin = std::chrono::minutes(1);

/// One busy worker's last report.
struct BusyWorker {
    int worker = 0;
    std::string stack;
    std::string step;         ///< "compose up", "GET https://...", "between steps"
    sys::TimePoint since;     ///< when the step started
    sys::TimePoint deadline;  ///< since + the step's timeout + k_liveness_margin
    bool operator==(const BusyWorker&) const = default;
};

struct WatchdogDecision {
    bool ping = true;                 ///< send WATCHDOG=1
    std::optional<BusyWorker> stuck;  ///< the worker most past its deadline, when ping is false
};

/// Ping unless a busy worker is past its deadline (`now` > deadline); idle workers are not in
/// `busy`.
WatchdogDecision decide_watchdog(const std::vector<BusyWorker>& busy, sys::TimePoint now);

/// decide_watchdog, plus whether to log: a stuck step is reported once, not at every tick, and
/// again only after the workers recovered or another step got stuck.
class WatchdogMonitor {
public:
    struct Check {
        WatchdogDecision decision;
        bool report = false;  ///< log decision.stuck now
    };
    Check check(const std::vector<BusyWorker>& busy, sys::TimePoint now);

private:
    std::optional<BusyWorker> m_reported;
};

/// The workers' reports. Thread-safe: workers write, the signal thread reads.
class Liveness {
public:
    explicit Liveness(sys::Clock& clock) : m_clock(clock) {}

    /// Worker `worker` starts a job for `stack`.
    void begin_job(int worker, const std::string& stack);
    /// It starts `step`, which ends by itself within `timeout` (its own timeout).
    void begin_step(int worker, const std::string& step, sys::Duration timeout);
    /// The step ended; the worker computes until its next step (or goes on with the step this
    /// one ran inside).
    void end_step(int worker);
    /// The job ended: the worker is idle.
    void end_job(int worker);
    /// The busy workers' reports.
    std::vector<BusyWorker> busy() const;

private:
    struct Step {
        std::string name;
        sys::TimePoint since;
        sys::TimePoint deadline;
    };
    struct Job {
        std::string stack;
        std::vector<Step> steps;       ///< running now, innermost last
        sys::TimePoint last_progress;  ///< job start or the end of the last step
    };

    sys::Clock& m_clock;
    mutable std::mutex m_mutex;
    std::map<int, Job> m_jobs;
};

/// One worker's handle on Liveness, given to what it runs (see daemon/progress_reporting.h).
/// A default-constructed one reports nothing (API requests, tests).
class Pulse {
public:
    Pulse() = default;
    Pulse(Liveness& liveness, int worker) : m_liveness(&liveness), m_worker(worker) {}
    void begin_step(const std::string& step, sys::Duration timeout) const {
        if (m_liveness != nullptr) {
            m_liveness->begin_step(m_worker, step, timeout);
        }
    }
    void end_step() const {
        if (m_liveness != nullptr) {
            m_liveness->end_step(m_worker);
        }
    }

    /// begin_step now, end_step when it goes out of scope.
    class Step {
    public:
        Step(const Pulse& pulse, const std::string& step, sys::Duration timeout) : m_pulse(pulse) {
            m_pulse.begin_step(step, timeout);
        }
        ~Step() { m_pulse.end_step(); }
        Step(const Step&) = delete;
        Step& operator=(const Step&) = delete;

    private:
        const Pulse& m_pulse;
    };

private:
    Liveness* m_liveness = nullptr;
    int m_worker = 0;
};

}  // namespace agentd::daemon
