#pragma once
// When each stack polls next: every poll_interval plus up to 10% random jitter, so that many
// hosts do not hit the same git server and registry in step. Stacks that follow one repository
// at one interval poll in rounds instead: one due time (and one jitter) for them all, so that
// their polls share one check of the remote (GitSource::fetch's `asked`).
// Pure bookkeeping over an injected clock and random source; threads live in WorkQueue.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::daemon {

struct ScheduledStack {
    std::string name;
    sys::Duration interval;
    /// The git repository it follows ("" for none): stacks of one repository and interval
    /// poll in one round.
    std::string repository;
};

class Scheduler {
public:
    /// Returns a number in [0, 1); the jitter is that fraction of 10% of the interval.
    using RandomSource = std::function<double()>;
    using Steady = std::chrono::steady_clock::time_point;

    Scheduler(sys::Clock& clock, RandomSource random);

    /// Sets the stacks and their intervals. A new stack is due at once; a known stack keeps its
    /// due time, capped at now + its new interval; a stack no longer listed is forgotten.
    void set_stacks(const std::vector<ScheduledStack>& stacks);
    /// Stacks whose due time has come, earliest first.
    std::vector<std::string> due() const;
    /// A due poll of `stack` is taken at `now`: when its round was asked for, i.e. when the
    /// round's first poll was taken (`now` for that one, and for a stack without a round).
    Steady taken(const std::string& stack, Steady now);
    /// Records that a cycle of `stack` ended now: it is due again after its interval + jitter,
    /// or at its round's next due time when another stack of the round set that already.
    void cycle_done(const std::string& stack);
    /// The earliest due time of all stacks but those in `skip`; nullopt when there is none.
    std::optional<sys::TimePoint> next_due(const std::set<std::string>& skip = {}) const;
    /// The due time of one stack; nullopt for an unknown stack.
    std::optional<sys::TimePoint> due_at(const std::string& stack) const;

private:
    struct Entry {
        sys::Duration interval;
        sys::TimePoint due;
        std::string round;  ///< its round's key ("": none)
    };
    /// The stacks of one repository and interval.
    struct Round {
        sys::TimePoint next{};        ///< the due time of the next round, once a cycle set it
        sys::TimePoint current{};     ///< the due time of the round whose polls were taken last
        std::optional<Steady> asked;  ///< when that round's first poll was taken
    };
    sys::Duration jitter(sys::Duration interval) const;

    sys::Clock& m_clock;
    RandomSource m_random;
    std::map<std::string, Entry> m_entries;
    std::map<std::string, Round> m_rounds;  ///< by key: repository and interval
};

/// Uniform in [0, 1) from a seeded std::mt19937_64; safe to call from one thread at a time.
Scheduler::RandomSource make_random_source();

}  // namespace agentd::daemon
