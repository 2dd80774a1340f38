#pragma once
// The state store (SPEC section 5): deployments, their events, per-stack state, bad releases.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/model/deployment.h"

namespace agentd::state {

/// Every method is a committed transaction. Failures to read or write the database throw
/// StoreError: the store is local, and a daemon that cannot record must not deploy.
class Store {
public:
    virtual ~Store() = default;

    /// Inserts `d` (id ignored) and returns its new id.
    virtual std::int64_t create_deployment(const model::Deployment& d) = 0;
    /// Writes status, phase, release, reason, finished_at and previous of deployment `d.id`.
    virtual void update_deployment(const model::Deployment& d) = 0;
    virtual void add_event(std::int64_t deployment, const model::Event& e) = 0;

    /// With its events when `with_events`.
    virtual std::optional<model::Deployment> deployment(std::int64_t id, bool with_events) = 0;
    /// Newest first; all stacks when `stack` is empty.
    virtual std::vector<model::Deployment> history(const std::string& stack, int limit) = 0;
    /// The stack's newest `succeeded` deployment: what runs now.
    virtual std::optional<model::Deployment> current(const std::string& stack) = 0;
    /// Deployments left `in_progress` (by a crash), oldest first.
    virtual std::vector<model::Deployment> unfinished(const std::string& stack) = 0;
    /// The stack's newest deployment of any status.
    virtual std::optional<model::Deployment> latest(const std::string& stack) = 0;

    /// Per-stack state; a default StackState for a stack never seen.
    virtual model::StackState stack_state(const std::string& stack) = 0;
    virtual void save_stack_state(const model::StackState& s) = 0;
    /// Writes only the poll columns (last poll, candidate) of the stack's state.
    virtual void record_poll(const std::string& stack, const model::LastPoll& poll,
                             const std::string& candidate) = 0;
    /// Writes only the admin's controls (paused, pinned) of the stack's state.
    virtual void set_control(const std::string& stack, bool paused,
                             std::optional<std::int64_t> pinned) = 0;

    /// Bad releases (failed the gate or were rejected) are not retried automatically.
    virtual void mark_bad(const std::string& stack, const std::string& release_key,
                          const std::string& reason) = 0;
    virtual bool is_bad(const std::string& stack, const std::string& release_key) = 0;
    virtual void clear_bad(const std::string& stack) = 0;
};

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace agentd::state
