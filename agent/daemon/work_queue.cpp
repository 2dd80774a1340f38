#include "agent/daemon/work_queue.h"

#include <algorithm>
#include <chrono>

namespace agentd::daemon {
namespace {

// Upper bound on one wait, so that a jump of the wall clock delays a poll by at most this.
constexpr auto k_max_wait = std::chrono::seconds(30);

}  // namespace

WorkQueue::WorkQueue(sys::Clock& clock, Scheduler::RandomSource random)
    : m_clock(clock), m_scheduler(clock, std::move(random)) {}

void WorkQueue::set_stacks(const std::vector<ScheduledStack>& stacks) {
    {
        std::lock_guard lock(m_mutex);
        m_scheduler.set_stacks(stacks);
    }
    m_wake.notify_all();
}

bool WorkQueue::push(Job job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) {
            return false;
        }
        const auto pending =
            job.kind == Job::Kind::Cycle && !job.reply
                ? std::find_if(m_pending.begin(), m_pending.end(),
                               [&](const Job& j) {
                                   return j.kind == Job::Kind::Cycle && j.stack == job.stack;
                               })
                : m_pending.end();
        if (pending == m_pending.end()) {
            m_pending.push_back(std::move(job));
        } else {
            pending->asked = std::max(pending->asked, job.asked);
        }
    }
    m_wake.notify_all();
    return true;
}

std::optional<Job> WorkQueue::take_locked() {
    for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
        if (m_busy.count(it->stack) == 0) {
            Job job = std::move(*it);
            m_pending.erase(it);
            m_busy.insert(job.stack);
            return job;
        }
    }
    for (const auto& stack : m_scheduler.due()) {
        // A stack with a queued job gets that job first; it counts as the poll.
        const bool queued = std::any_of(m_pending.begin(), m_pending.end(),
                                        [&](const Job& j) { return j.stack == stack; });
        if (m_busy.count(stack) == 0 && !queued) {
            m_busy.insert(stack);
            Job job{Job::Kind::Cycle, stack, model::Trigger::Poll, std::nullopt, nullptr};
            job.asked = m_scheduler.taken(stack, job.asked);
            return job;
        }
    }
    return std::nullopt;
}

std::optional<Job> WorkQueue::next() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        if (auto job = take_locked()) {
            return job;
        }
        // Busy stacks and stacks with a queued job are picked up when a job finishes
        // (finish() notifies), not by their due time.
        std::set<std::string> skip = m_busy;
        for (const auto& j : m_pending) {
            skip.insert(j.stack);
        }
        const auto due = m_scheduler.next_due(skip);
        if (!due) {
            m_wake.wait(lock);
            continue;
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*due - m_clock.now());
        wait =
            std::clamp<std::chrono::milliseconds>(wait, std::chrono::milliseconds(1), k_max_wait);
        m_wake.wait_for(lock, wait);
    }
    return std::nullopt;
}

std::optional<Job> WorkQueue::try_next() {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
        return std::nullopt;
    }
    return take_locked();
}

void WorkQueue::finish(const Job& job) {
    {
        std::lock_guard lock(m_mutex);
        m_busy.erase(job.stack);
        if (job.kind == Job::Kind::Cycle) {
            m_scheduler.cycle_done(job.stack);
        }
    }
    m_wake.notify_all();
}

void WorkQueue::stop() {
    std::deque<Job> dropped;
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        dropped.swap(m_pending);
    }
    m_wake.notify_all();
    for (auto& job : dropped) {
        if (job.reply) {
            job.reply->set_value(deploy::CycleResult{deploy::Outcome::Interrupted, std::nullopt,
                                                     "agentd is stopping"});
        }
    }
}

std::size_t WorkQueue::pending() const {
    std::lock_guard lock(m_mutex);
    return m_pending.size();
}

}  // namespace agentd::daemon
