#include "agent/daemon/scheduler.h"

#include <algorithm>
#include <memory>
#include <random>

namespace agentd::daemon {

Scheduler::Scheduler(sys::Clock& clock, RandomSource random)
    : m_clock(clock), m_random(std::move(random)) {}

void Scheduler::set_stacks(const std::vector<ScheduledStack>& stacks) {
    const auto now = m_clock.now();
    std::map<std::string, Entry> next;
    std::map<std::string, Round> rounds;
    for (const auto& stack : stacks) {
        const auto round = stack.repository.empty()
                               ? std::string()
                               : stack.repository + "\n" + std::to_string(stack.interval.count());
        if (!round.empty()) {
            rounds[round] = m_rounds[round];
        }
        auto it = m_entries.find(stack.name);
        if (it == m_entries.end()) {
            next[stack.name] = Entry{stack.interval, now, round};
            continue;
        }
        // A shortened interval takes effect now instead of after the old, longer wait.
        next[stack.name] =
            Entry{stack.interval, std::min(it->second.due, now + stack.interval), round};
    }
    m_entries = std::move(next);
    m_rounds = std::move(rounds);
}

std::vector<std::string> Scheduler::due() const {
    const auto now = m_clock.now();
    std::vector<std::pair<sys::TimePoint, std::string>> due;
    for (const auto& [name, entry] : m_entries) {
        if (entry.due <= now) {
            due.emplace_back(entry.due, name);
        }
    }
    std::sort(due.begin(), due.end());
    std::vector<std::string> names;
    names.reserve(due.size());
    for (auto& [at, name] : due) {
        names.push_back(std::move(name));
    }
    return names;
}

Scheduler::Steady Scheduler::taken(const std::string& stack, Steady now) {
    const auto it = m_entries.find(stack);
    if (it == m_entries.end() || it->second.round.empty()) {
        return now;
    }
    auto& round = m_rounds[it->second.round];
    if (!round.asked || round.current != it->second.due) {
        round.current = it->second.due;
        round.asked = now;
    }
    return *round.asked;
}

void Scheduler::cycle_done(const std::string& stack) {
    auto it = m_entries.find(stack);
    if (it == m_entries.end()) {
        return;
    }
    auto& entry = it->second;
    const auto now = m_clock.now();
    if (entry.round.empty()) {
        entry.due = now + entry.interval + jitter(entry.interval);
        return;
    }
    // The first cycle of the round to end sets the next round's time; the others join it.
    auto& round = m_rounds[entry.round];
    if (round.next <= now) {
        round.next = now + entry.interval + jitter(entry.interval);
    }
    entry.due = round.next;
}

std::optional<sys::TimePoint> Scheduler::next_due(const std::set<std::string>& skip) const {
    std::optional<sys::TimePoint> earliest;
    for (const auto& [name, entry] : m_entries) {
        if (skip.count(name) != 0) {
            continue;
        }
        if (!earliest || entry.due < *earliest) {
            earliest = entry.due;
        }
    }
    return earliest;
}

std::optional<sys::TimePoint> Scheduler::due_at(const std::string& stack) const {
    auto it = m_entries.find(stack);
    if (it == m_entries.end()) {
        return std::nullopt;
    }
    return it->second.due;
}

sys::Duration Scheduler::jitter(sys::Duration interval) const {
    double r = m_random ? m_random() : 0.0;
    r = std::clamp(r, 0.0, 1.0);
    return sys::Duration(
        static_cast<sys::Duration::rep>(static_cast<double>(interval.count()) * 0.1 * r));
}

Scheduler::RandomSource make_random_source() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace agentd::daemon
