#pragma once
// Errors of cycles the state store could not record (a full disk, a read-only or broken file
// system): the store's last_poll would otherwise keep saying "ok" while every poll fails. The
// workers note them here, the API's status shows them in place of the store's last_poll, and a
// cycle that ends normally again clears its stack's entry. Thread-safe.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "agent/model/deployment.h"
#include "agent/sys/clock.h"

namespace agentd::daemon {

class UnrecordedErrors {
public:
    /// A cycle of `stack` ended with `error` thrown by the store (or another layer) at `at`.
    void note(const std::string& stack, sys::TimePoint at, const std::string& error) {
        std::lock_guard lock(m_mutex);
        m_errors[stack] = model::LastPoll{at, "error", error};
    }
    /// A cycle of `stack` ended normally: the store has its outcome.
    void clear(const std::string& stack) {
        std::lock_guard lock(m_mutex);
        m_errors.erase(stack);
    }
    /// Whether the last job of `stack` ended with an error.
    bool has(const std::string& stack) const {
        std::lock_guard lock(m_mutex);
        return m_errors.contains(stack);
    }
    /// The last poll to show for `stack`: the unrecorded error when there is one, else `stored`.
    model::LastPoll last_poll(const std::string& stack, const model::LastPoll& stored) const {
        std::lock_guard lock(m_mutex);
        const auto it = m_errors.find(stack);
        return it == m_errors.end() ? stored : it->second;
    }

private:
    mutable std::mutex m_mutex;
    std::map<std::string, model::LastPoll> m_errors;
};

}  // namespace agentd::daemon
