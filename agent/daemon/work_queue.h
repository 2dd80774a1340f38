#pragma once
// The one queue through which all work reaches the worker threads: due polls (from the
// Scheduler), triggers from the API (sync, rollback) and recovery at start. At most one job
// per stack runs at a time; triggered jobs go before due polls.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/daemon/scheduler.h"
#include "agent/deploy/reconciler.h"
#include "agent/model/deployment.h"
#include "agent/sources/git.h"

namespace agentd::daemon {

struct Job {
    enum class Kind { Cycle, Rollback, Pin, Approve, Recover };
    Kind kind = Kind::Cycle;
    std::string stack;
    model::Trigger trigger = model::Trigger::Poll;
    /// Rollback: the target; Pin: the deployment; Approve: the one approved (none: whichever
    /// waits).
    std::optional<std::int64_t> rollback_to;
    /// Set when the requester waits for the result (`sync --wait`, rollback, pin, approve,
    /// retry).
    std::shared_ptr<std::promise<deploy::CycleResult>> reply;
    /// The waiting requester's id for this job (`sync --wait`'s), named in the cycle's end line
    /// of the live progress so that it knows its own end; "" when none was given.
    std::string request;
    /// Cycle: an admin asked to deploy now (`agentctl sync`), outside the deployment window
    /// or before min_age if need be.
    deploy::Urgency urgency = deploy::Urgency::Scheduled;
    /// When it was asked for (a due poll: its round's start; otherwise its making): a git check
    /// begun since answers its poll (GitSource::fetch).
    sources::AskedAt asked = std::chrono::steady_clock::now();
};

class WorkQueue {
public:
    WorkQueue(sys::Clock& clock, Scheduler::RandomSource random);

    /// The stacks to poll and their intervals (see Scheduler::set_stacks).
    void set_stacks(const std::vector<ScheduledStack>& stacks);
    /// Queues a triggered job. False when the queue is stopping (the job is dropped). A
    /// `Cycle` job without a reply for a stack that already has one pending is merged into it
    /// (which then asks git for a check as fresh as the newer one's).
    bool push(Job job);
    /// Blocks until a job may run, and marks its stack busy; nullopt once stop() was called.
    std::optional<Job> next();
    /// next() without blocking: nullopt when no job may run now.
    std::optional<Job> try_next();
    /// Ends a job taken with next(): frees its stack and, after a cycle, schedules its next
    /// poll.
    void finish(const Job& job);
    /// Wakes every waiting worker; pending jobs with a reply get an `Interrupted` result.
    void stop();

    /// Number of jobs queued and not yet taken (for tests and STATUS=).
    std::size_t pending() const;

private:
    std::optional<Job> take_locked();

    sys::Clock& m_clock;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    Scheduler m_scheduler;
    std::deque<Job> m_pending;
    std::set<std::string> m_busy;
    bool m_stopping = false;
};

}  // namespace agentd::daemon
