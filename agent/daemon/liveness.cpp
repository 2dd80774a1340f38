#include "agent/daemon/liveness.h"

namespace agentd::daemon {

WatchdogDecision decide_watchdog(const std::vector<BusyWorker>& busy, sys::TimePoint now) {
    WatchdogDecision decision;
    for (const auto& worker : busy) {
        if (now > worker.deadline &&
            (!decision.stuck || worker.deadline < decision.stuck->deadline)) {
            decision.stuck = worker;
        }
    }
    decision.ping = !decision.stuck;
    return decision;
}

WatchdogMonitor::Check WatchdogMonitor::check(const std::vector<BusyWorker>& busy,
                                              sys::TimePoint now) {
    Check out{decide_watchdog(busy, now), false};
    if (!out.decision.stuck) {
        m_reported.reset();
        return out;
    }
    const auto& stuck = *out.decision.stuck;
    // The same step of the same worker stays reported; a new one (another worker, or the same
    // worker stuck again in a later step) is logged.
    if (!m_reported || m_reported->worker != stuck.worker || m_reported->since != stuck.since ||
        m_reported->step != stuck.step) {
        out.report = true;
        m_reported = stuck;
    }
    return out;
}

void Liveness::begin_job(int worker, const std::string& stack) {
    const auto now = m_clock.now();
    std::lock_guard lock(m_mutex);
    m_jobs[worker] = Job{stack, {}, now};
}

void Liveness::begin_step(int worker, const std::string& step, sys::Duration timeout) {
    const auto now = m_clock.now();
    std::lock_guard lock(m_mutex);
    auto it = m_jobs.find(worker);
    if (it == m_jobs.end()) {
        return;  // not in a job (a runner used outside one): nothing to watch
    }
    it->second.steps.push_back({step, now, now + timeout + k_liveness_margin});
}

void Liveness::end_step(int worker) {
    const auto now = m_clock.now();
    std::lock_guard lock(m_mutex);
    auto it = m_jobs.find(worker);
    if (it == m_jobs.end() || it->second.steps.empty()) {
        return;
    }
    it->second.steps.pop_back();
    it->second.last_progress = now;
}

void Liveness::end_job(int worker) {
    std::lock_guard lock(m_mutex);
    m_jobs.erase(worker);
}

std::vector<BusyWorker> Liveness::busy() const {
    std::lock_guard lock(m_mutex);
    std::vector<BusyWorker> out;
    for (const auto& [worker, job] : m_jobs) {
        if (job.steps.empty()) {
            out.push_back({worker, job.stack, "between steps", job.last_progress,
                           job.last_progress + k_liveness_margin});
        } else {
            // A step inside another (a credential helper during a request) is what runs now.
            const auto& step = job.steps.back();
            out.push_back({worker, job.stack, step.name, step.since, step.deadline});
        }
    }
    return out;
}

}  // namespace agentd::daemon
