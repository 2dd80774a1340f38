#include "agent/deploy/approval.h"

#include <fmt/format.h>

#include "agent/deploy/release_text.h"

namespace agentd::deploy {

std::optional<sys::Error> approval_refused(const std::string& stack, const model::StackState& state,
                                           const std::optional<model::Deployment>& latest,
                                           std::optional<std::int64_t> which) {
    if (state.paused) {
        return sys::Error::conflict(
            fmt::format("stack {} is paused: `agentctl resume {}` first", stack, stack));
    }
    if (state.pinned) {
        return sys::Error::conflict(
            fmt::format("stack {} is pinned at deployment {}: `agentctl unpin {}` first", stack,
                        *state.pinned, stack));
    }
    if (!latest || !model::waits_for_approval(*latest)) {
        return sys::Error::conflict(
            fmt::format("no release of stack {} waits for approval", stack));
    }
    if (which && *which != latest->id) {
        // Exactly the release the approver saw, or nothing: a newer candidate replaced it.
        return sys::Error::conflict(
            fmt::format("deployment {} no longer waits for approval: deployment {} ({}) does "
                        "now; approve it with `agentctl approve {} {}`",
                        *which, latest->id, release_name(latest->release), stack, latest->id));
    }
    return std::nullopt;
}

}  // namespace agentd::deploy
