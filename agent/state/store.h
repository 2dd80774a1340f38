#pragma once
// The state store (SPEC section 5): deployments, their events, per-stack state, bad releases.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/model/deployment.h"
#include "agent/sys/result.h"

namespace agentd::state {

/// An image agentd pulled for a stack (image retention removes only these).
struct PulledImage {
    std::string stack;
    std::string reference;  ///< "name@sha256:...", as pulled
};

/// Every method is a committed transaction. Failures to read or write the database throw
/// StoreError: the store is local, and a daemon that cannot record must not deploy.
class Store {
public:
    virtual ~Store() = default;

    /// Inserts `d` (id ignored) and returns its new id.
    virtual std::int64_t create_deployment(const model::Deployment& d) = 0;
    /// Writes every field of deployment `d.id` (status, phase, release, reason, trigger, times,
    /// previous) but its id and stack.
    virtual void update_deployment(const model::Deployment& d) = 0;
    virtual void add_event(std::int64_t deployment, const model::Event& e) = 0;
    /// update_deployment(d) and add_event(d.id, e) as one transaction: a phase or an outcome is
    /// never recorded without the event that says why.
    virtual void record(const model::Deployment& d, const model::Event& e) = 0;
    /// A promotion as one transaction: record(d, e) for `d` (now succeeded), and every other
    /// succeeded deployment of its stack becomes superseded, with the event `superseded`. No
    /// crash can leave a stack with two current releases, or with none.
    virtual void promote(const model::Deployment& d, const model::Event& e,
                         const model::Event& superseded) = 0;

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

    /// Image retention: agentd pulled `reference` ("name@sha256:...") for `stack`.
    virtual void remember_pull(const std::string& stack, const std::string& reference) = 0;
    /// Every image agentd pulled and has not removed, oldest first.
    virtual std::vector<PulledImage> pulled_images() = 0;
    /// `reference` is no longer on the host (removed, or gone): forgotten for every stack.
    virtual void forget_pull(const std::string& reference) = 0;
    /// Writes only the retention columns of the stack's state: of the `kept` releases kept for
    /// rollback, `offline` have every image on the host.
    virtual void record_retention(const std::string& stack, int kept, int offline) = 0;
    /// Writes only the blue-green columns of the stack's state.
    virtual void record_slots(const std::string& stack, const model::Slots& slots) = 0;
};

/// The store's failure (a full disk, a locked or damaged file), thrown: every method is one
/// transaction on a local file, and a job that cannot record must not go on, so it is caught
/// once at the job's edge (Daemon::run_job, the API server) instead of at every call. error() is
/// the sys::Error the rest of agentd speaks.
class StoreError : public std::runtime_error {
public:
    explicit StoreError(const std::string& message)
        : std::runtime_error(message), m_error(sys::Error::failed(message)) {}

    const sys::Error& error() const { return m_error; }

private:
    sys::Error m_error;
};

}  // namespace agentd::state
