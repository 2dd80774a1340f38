#pragma once
// When each stack polls next: every poll_interval plus up to 10% random jitter, so that many
// hosts (and many stacks on one host) do not hit the same git server and registry in step.
// Pure bookkeeping over an injected clock and random source; threads live in WorkQueue.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::daemon {

class Scheduler {
public:
    /// Returns a number in [0, 1); the jitter is that fraction of 10% of the interval.
    using RandomSource = std::function<double()>;

    Scheduler(sys::Clock& clock, RandomSource random);

    /// Sets the stacks and their intervals. A new stack is due at once; a known stack keeps its
    /// due time, capped at now + its new interval; a stack no longer listed is forgotten.
    void set_stacks(const std::vector<std::pair<std::string, sys::Duration>>& stacks);
    /// Stacks whose due time has come, earliest first.
    std::vector<std::string> due() const;
    /// Records that a cycle of `stack` ended now: it is due again after its interval + jitter.
    void cycle_done(const std::string& stack);
    /// The earliest due time of all stacks but those in `skip`; nullopt when there is none.
    std::optional<sys::TimePoint> next_due(const std::set<std::string>& skip = {}) const;
    /// The due time of one stack; nullopt for an unknown stack.
    std::optional<sys::TimePoint> due_at(const std::string& stack) const;

private:
    struct Entry {
        sys::Duration interval;
        sys::TimePoint due;
    };
    sys::Duration jitter(sys::Duration interval) const;

    sys::Clock& m_clock;
    RandomSource m_random;
    std::map<std::string, Entry> m_entries;
};

/// Uniform in [0, 1) from a seeded std::mt19937_64; safe to call from one thread at a time.
Scheduler::RandomSource make_random_source();

}  // namespace agentd::daemon
