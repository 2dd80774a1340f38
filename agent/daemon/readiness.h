#pragma once
// /readyz's verdict, a pure function of what the listener saw: the state store, the Docker
// Engine and each stack's last poll. Ready ("ok", 200) only when all of them are; otherwise
// "degraded" (agentd works, some stacks do not poll well) or "error" (the store or the engine
// fails, so no stack can be served), both 503.

#include <optional>
#include <string>
#include <vector>

#include "agent/model/deployment.h"
#include "agent/sys/clock.h"

namespace agentd::daemon {

struct StackPoll {
    std::string name;
    bool held = false;  ///< paused: it does not poll, and that is not a fault (pinned polls)
    model::LastPoll last_poll;
    sys::Duration poll_interval{};
    sys::Duration health_timeout{};
};

struct ReadinessInput {
    std::string store_error;   ///< "" when the store answered
    std::string docker_error;  ///< "" when the engine answered /_ping
    std::vector<StackPoll> stacks;
    sys::TimePoint started;  ///< when agentd started: polls before it do not count as recent
    sys::TimePoint now;
};

struct ReadinessCheck {
    std::string name;  ///< "state_store", "docker", "stack shop"
    bool ok = false;
    std::string detail;  ///< what was found: the error, or when the stack last polled
};

struct Readiness {
    std::string status;  ///< "ok", "degraded", "error"
    std::vector<ReadinessCheck> checks;
    int http_status() const { return status == "ok" ? 200 : 503; }
};

/// How long after its last poll (or agentd's start) a stack's next poll is overdue: two poll
/// intervals (one may be skipped by the 10% jitter and a busy worker) plus twice its health
/// timeout (a cycle that deploys gates its candidate, and a rollback gates again, before it
/// records the poll), plus a minute of slack.
sys::Duration poll_overdue_after(sys::Duration poll_interval, sys::Duration health_timeout);

Readiness judge_readiness(const ReadinessInput& input);

}  // namespace agentd::daemon
