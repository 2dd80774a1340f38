#pragma once
// An in-memory state::Store for daemon tests.

#include <algorithm>
#include <map>
#include <mutex>

#include "agent/state/store.h"

namespace agentd::daemon::testing {

class FakeStore final : public state::Store {
public:
    std::int64_t create_deployment(const model::Deployment& d) override {
        std::lock_guard lock(m_mutex);
        auto copy = d;
        copy.id = static_cast<std::int64_t>(m_deployments.size()) + 1;
        m_deployments.push_back(copy);
        return copy.id;
    }
    void update_deployment(const model::Deployment& d) override {
        std::lock_guard lock(m_mutex);
        m_deployments.at(static_cast<std::size_t>(d.id - 1)) = d;
    }
    void add_event(std::int64_t id, const model::Event& e) override {
        std::lock_guard lock(m_mutex);
        m_deployments.at(static_cast<std::size_t>(id - 1)).events.push_back(e);
    }
    std::optional<model::Deployment> deployment(std::int64_t id, bool) override {
        std::lock_guard lock(m_mutex);
        if (id < 1 || id > static_cast<std::int64_t>(m_deployments.size())) {
            return std::nullopt;
        }
        return m_deployments[static_cast<std::size_t>(id - 1)];
    }
    std::vector<model::Deployment> history(const std::string& stack, int limit) override {
        std::lock_guard lock(m_mutex);
        std::vector<model::Deployment> out;
        for (auto it = m_deployments.rbegin(); it != m_deployments.rend(); ++it) {
            if ((stack.empty() || it->stack == stack) && static_cast<int>(out.size()) < limit) {
                out.push_back(*it);
            }
        }
        return out;
    }
    std::optional<model::Deployment> current(const std::string& stack) override {
        for (const auto& d : history(stack, 1000)) {
            if (d.status == model::Status::Succeeded) {
                return d;
            }
        }
        return std::nullopt;
    }
    std::vector<model::Deployment> unfinished(const std::string&) override { return {}; }
    std::optional<model::Deployment> latest(const std::string& stack) override {
        auto h = history(stack, 1);
        return h.empty() ? std::nullopt : std::optional(h.front());
    }
    model::StackState stack_state(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        auto it = m_states.find(stack);
        if (it == m_states.end()) {
            model::StackState s;
            s.stack = stack;
            return s;
        }
        return it->second;
    }
    void save_stack_state(const model::StackState& s) override {
        std::lock_guard lock(m_mutex);
        m_states[s.stack] = s;
    }
    void mark_bad(const std::string&, const std::string&, const std::string&) override {}
    bool is_bad(const std::string&, const std::string&) override { return false; }
    void clear_bad(const std::string&) override {}

private:
    std::mutex m_mutex;
    std::vector<model::Deployment> m_deployments;
    std::map<std::string, model::StackState> m_states;
};

/// A store handle sharing one FakeStore, since the daemon opens one per thread.
class SharedStoreHandle final : public state::Store {
public:
    explicit SharedStoreHandle(FakeStore& s) : m_s(s) {}
    std::int64_t create_deployment(const model::Deployment& d) override {
        return m_s.create_deployment(d);
    }
    void update_deployment(const model::Deployment& d) override { m_s.update_deployment(d); }
    void add_event(std::int64_t id, const model::Event& e) override { m_s.add_event(id, e); }
    std::optional<model::Deployment> deployment(std::int64_t id, bool e) override {
        return m_s.deployment(id, e);
    }
    std::vector<model::Deployment> history(const std::string& s, int l) override {
        return m_s.history(s, l);
    }
    std::optional<model::Deployment> current(const std::string& s) override {
        return m_s.current(s);
    }
    std::vector<model::Deployment> unfinished(const std::string& s) override {
        return m_s.unfinished(s);
    }
    std::optional<model::Deployment> latest(const std::string& s) override { return m_s.latest(s); }
    model::StackState stack_state(const std::string& s) override { return m_s.stack_state(s); }
    void save_stack_state(const model::StackState& s) override { m_s.save_stack_state(s); }
    void mark_bad(const std::string& a, const std::string& b, const std::string& c) override {
        m_s.mark_bad(a, b, c);
    }
    bool is_bad(const std::string& a, const std::string& b) override { return m_s.is_bad(a, b); }
    void clear_bad(const std::string& s) override { m_s.clear_bad(s); }

private:
    FakeStore& m_s;
};

}  // namespace agentd::daemon::testing
