#pragma once
// Whether `agentctl approve` can deploy now (pure): asked by the API before it queues the job,
// so that a refusal is a 409, and by Reconciler::approve when the job runs.

#include <cstdint>
#include <optional>
#include <string>

#include "agent/model/deployment.h"
#include "agent/sys/result.h"

namespace agentd::deploy {

/// Why approving `which` (nullopt: whatever waits) of `stack` is refused, as a Conflict, or
/// nullopt when it can go ahead: the stack is paused or pinned, its newest deployment
/// (`latest`) does not wait for approval, or `which` is not that one (a newer candidate
/// replaced it; the message names the one to approve instead).
std::optional<sys::Error> approval_refused(const std::string& stack, const model::StackState& state,
                                           const std::optional<model::Deployment>& latest,
                                           std::optional<std::int64_t> which);

}  // namespace agentd::deploy
