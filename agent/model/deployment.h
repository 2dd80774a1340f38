#pragma once
// The domain's values: releases, deployments and their events, per-stack state.
// Plain data shared by state/, deploy/, daemon/ and ctl/; JSON mapping in model/json.h.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"

namespace agentd::model {

enum class Status { Waiting, InProgress, Succeeded, Superseded, RolledBack, Failed, Rejected };
/// What started a deployment. Drift: a poll found the containers differ from the current
/// release, and `drift: heal` re-applies it.
enum class Trigger { Poll, Webhook, Manual, Rollback, Retry, Drift };

/// "waiting", "in_progress", ... as in SPEC section 5.
std::string to_string(Status s);
std::string to_string(Trigger t);
std::optional<Status> parse_status(const std::string& s);
std::optional<Trigger> parse_trigger(const std::string& s);
/// Succeeded, superseded, rolled_back, failed, rejected: the deployment is over.
bool is_final(Status s);

/// What runs: a git revision of the compose files plus an exact digest per service image.
struct Release {
    std::string revision;                       ///< git commit id; empty for `dir:` stacks
    std::string tag;                            ///< git tag when following tags, else empty
    std::map<std::string, std::string> images;  ///< service -> "ref@sha256:..."

    /// A stable identity of the release (revision + images), used to remember bad releases.
    std::string key() const;
    bool operator==(const Release&) const = default;
};

struct Event {
    sys::TimePoint at;
    std::string phase;  ///< observe, plan, verify, pull, apply, gate, promote, rollback, record
    std::string message;
};

struct Deployment {
    std::int64_t id = 0;
    std::string stack;
    Status status = Status::InProgress;
    Release release;
    Trigger trigger = Trigger::Poll;
    sys::TimePoint started_at;
    std::optional<sys::TimePoint> finished_at;
    std::string reason;                    ///< why it ended this way (failure reasons per service)
    std::string phase;                     ///< last phase entered (for recovery after a crash)
    std::optional<std::int64_t> previous;  ///< the deployment it replaced, or restored
    std::vector<Event> events;             ///< filled only when asked for (show)
};

/// The reason of a `waiting` deployment: what it waits for. A release waits for its images
/// (not all pushed yet); for the stack's deployment window to open; until it is min_age old;
/// or, verified and pulled, for `agentctl approve` (approval: manual) or its fleet turn.
inline constexpr const char* k_waits_for_images = "images";
inline constexpr const char* k_waits_for_window = "window";
inline constexpr const char* k_waits_for_min_age = "min_age";
inline constexpr const char* k_waits_for_approval = "approval";
/// With `fleet:`: verified and pulled, for this host's turn (a free rollout slot, the release
/// not halted, its canary wave done).
inline constexpr const char* k_waits_for_fleet = "fleet";
/// `d` is verified and pulled and waits for `agentctl approve`.
bool waits_for_approval(const Deployment& d);
/// `d`'s release passed the health gate: it succeeded (and may since be superseded). A
/// `waiting` deployment that a newer candidate replaced is superseded too, but never ran.
bool passed_gate(const Deployment& d);
/// `d`'s status as a person reads it: "rolled_back", or "superseded before it was deployed"
/// for a waiting deployment a newer candidate replaced.
std::string status_text(const Deployment& d);

struct LastPoll {
    std::optional<sys::TimePoint> at;
    std::string result;  ///< "ok", "error", "" (never polled)
    std::string error;
    /// The git revision the poll saw ("" for `dir:` stacks and failed polls). When it differs
    /// from the current release's and nothing is pending, the commits in between changed
    /// nothing the stack reads: it saw them and stays on its release.
    std::string revision;
    /// How the stack's containers differ from the current release ("" when they match or were
    /// not compared): "web: no container; worker: runs busybox:1, not ...".
    std::string drift;
};

/// A blue-green stack's slots: which one serves, and what the other one holds.
struct Slots {
    std::string active;  ///< "blue" or "green"
    std::int64_t active_deployment = 0;
    /// The deployment whose release the other slot holds (running, or stopped), if any.
    std::optional<std::int64_t> idle_deployment;
    /// While the other slot still runs: when it is stopped (the switch + keep_old_for).
    std::optional<sys::TimePoint> idle_stops_at;
    bool operator==(const Slots&) const = default;
};

/// "green" for "blue" and the other way round.
inline std::string other_slot(const std::string& slot) {
    return slot == "blue" ? "green" : "blue";
}

/// The slot a blue-green stack's next release goes to: the idle one ("blue" before the first).
inline std::string next_slot(const std::optional<Slots>& slots) {
    return slots ? other_slot(slots->active) : "blue";
}

struct StackState {
    std::string stack;
    bool paused = false;
    std::optional<std::int64_t> pinned;  ///< deployment id the stack is held at
    LastPoll last_poll;
    std::string candidate;  ///< what the next cycle would deploy or waits for; empty if none
    /// Of the releases kept for rollback (keep_releases), how many have every image on the host,
    /// as of the last deployment that passed the gate; nullopt before the first one.
    std::optional<int> offline_releases;
    /// How many releases are kept (keep_releases) when offline_releases was counted.
    std::optional<int> kept_releases;
    /// Blue-green stacks after their first switch; nullopt otherwise.
    std::optional<Slots> slots;
};

}  // namespace agentd::model
