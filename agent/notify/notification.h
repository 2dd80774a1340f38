#pragma once
// What a notification is about: one thing that happened to a stack (a deployment's outcome, a
// release waiting for its images or for approval, polls failing, agentd starting, a problem
// resolved), as plain
// data. The payload formats (payload.h) render it; the outbox stores the rendered payload.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::notify {

enum class Kind {
    Succeeded,    ///< a release was promoted
    RolledBack,   ///< a release failed its gate (or its apply) and the previous one was restored
    Rejected,     ///< a release was refused before anything was touched (compose, signatures)
    Failed,       ///< a deployment failed with nothing to restore
    Waiting,      ///< a release has waited for its images longer than the threshold
    Approval,     ///< a verified, pulled release waits for `agentctl approve` (approval: manual)
    PollFailing,  ///< polls have failed for longer than the threshold
    Drifted,      ///< the containers differ from the current release (removed, replaced by hand)
    Started,      ///< agentd started
    Resolved,     ///< a problem notified before is over (a success, a poll that worked)
};

/// "succeeded", "rolled_back", ... "resolved": the names of agent.yaml's `events:`.
std::string to_string(Kind kind);
std::optional<Kind> parse_kind(const std::string& text);
/// Every kind, in the order above.
const std::vector<Kind>& all_kinds();
/// Rolled back, rejected, failed, waiting, poll failing, drifted: a problem a later success
/// resolves.
bool is_problem(Kind kind);

struct Notification {
    std::string stack;  ///< empty for Started (agentd itself)
    Kind kind = Kind::Succeeded;
    std::optional<std::int64_t> deployment;     ///< the deployment it is about, if any
    std::string revision;                       ///< git commit of the release ("" for dir:)
    std::string tag;                            ///< git tag of the release, if it follows tags
    std::map<std::string, std::string> images;  ///< service -> "name:tag@sha256:..."
    std::string reason;                         ///< why (failure reasons, the poll's error)
    sys::TimePoint at;                          ///< when it happened
    std::optional<sys::TimePoint> since;        ///< when the condition began (waiting, polls)
    std::optional<Kind> resolves;               ///< for Resolved: the problem that is over
    int repeats = 0;  ///< for a repeated problem: how many times it was seen since last sent
};

/// One line a person reads: "shop: v1.4.0 (3f2a9c1) rolled back (deployment 12): web unhealthy".
/// Every value from outside (tags, reasons) is shown as it is; formats escape it for their
/// markup.
std::string summary(const Notification& n);
/// A short title without values from outside: "agentd: shop rolled back".
std::string title(const Notification& n);

}  // namespace agentd::notify
