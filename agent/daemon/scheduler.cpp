#include "agent/daemon/scheduler.h"

#include <algorithm>
#include <memory>
#include <random>

namespace agentd::daemon {

Scheduler::Scheduler(sys::Clock& clock, RandomSource random)
    : m_clock(clock), m_random(std::move(random)) {}

void Scheduler::set_stacks(const std::vector<std::pair<std::string, sys::Duration>>& stacks) {
    const auto now = m_clock.now();
    std::map<std::string, Entry> next;
    for (const auto& [name, interval] : stacks) {
        auto it = m_entries.find(name);
        if (it == m_entries.end()) {
            next[name] = Entry{interval, now};
            continue;
        }
        // A shortened interval takes effect now instead of after the old, longer wait.
        next[name] = Entry{interval, std::min(it->second.due, now + interval)};
    }
    m_entries = std::move(next);
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

void Scheduler::cycle_done(const std::string& stack) {
    auto it = m_entries.find(stack);
    if (it == m_entries.end()) {
        return;
    }
    it->second.due = m_clock.now() + it->second.interval + jitter(it->second.interval);
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
