#pragma once
// Which notifications to send, given what happened: a pure state machine per notification
// target, the time passed in, so that a failure repeated on every poll does not page someone on
// every poll.
//
// - A deployment's outcome (succeeded, rolled back, rejected, failed) is reported as it ends.
// - A problem (rolled back, rejected, failed, waiting, polls failing) is sent the first time,
//   then, while the same problem goes on (same kind and release: a transient failure retried
//   at every poll, the same poll error), at most once per `repeat_interval`, with how many
//   times it was seen since.
// - A waiting release is a problem once it has waited `waiting_after`; polls failing once they
//   have failed without a success for `poll_failing_after`.
// - The next success (a promotion for a deployment's problem, a poll that worked for failing
//   polls) is sent as Resolved, once, when the problem was sent; a promotion is sent as well.
// Deployment problems, poll problems and drift of a stack are tracked apart: a poll that works does
// not resolve a rolled-back release. save() and restore() carry the state across a restart
// (the daemon keeps it in state.db), so an ongoing problem is not sent again and its end is
// still reported.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/notify/notification.h"

namespace agentd::notify {

struct Thresholds {
    sys::Duration repeat_interval = std::chrono::hours(1);
    sys::Duration waiting_after = std::chrono::minutes(10);
    sys::Duration poll_failing_after = std::chrono::minutes(15);
};

class Alerts {
public:
    explicit Alerts(Thresholds thresholds);

    /// A deployment ended, or one is waiting for its images (`n.since`: when it began
    /// waiting; it is a problem only once it has waited long enough). Returns what to send now.
    std::vector<Notification> deployment(Notification n);

    /// A poll of `stack` failed with `error` at `at`. Returns what to send now.
    std::vector<Notification> poll_failed(const std::string& stack, const std::string& error,
                                          sys::TimePoint at);
    /// A poll of `stack` worked at `at`. Returns what to send now.
    std::vector<Notification> poll_ok(const std::string& stack, sys::TimePoint at);

    /// A poll compared `stack`'s containers with its current release (`n`: kind Drifted, the
    /// release, the differences as reason; at `n.at`). A drift is a problem sent at once (then
    /// repeated like the others); a poll that finds none (`drifted` false) resolves it.
    std::vector<Notification> drift(Notification n, bool drifted);

    /// Forgets a stack (removed from the configuration).
    void forget(const std::string& stack);

    /// What it remembers, as JSON text (times in Unix milliseconds).
    std::string save() const;
    /// Replaces what it remembers with `saved` (from save()). False, remembering nothing, when
    /// `saved` is not what save() writes.
    bool restore(const std::string& saved);

private:
    // A problem that was sent, and what has been seen of it since.
    struct Open {
        std::string fingerprint;
        Kind kind = Kind::Failed;
        sys::TimePoint first_sent;
        sys::TimePoint last_sent;
        int seen_since = 0;  // occurrences not sent since last_sent
    };
    struct Track {
        std::optional<Open> open;
        std::optional<sys::TimePoint> failing_since;  // polls only
    };

    std::vector<Notification> problem(Track& track, Notification n);
    std::vector<Notification> resolve(Track& track, Notification success, bool send_success);

    Thresholds m_thresholds;
    std::map<std::string, Track> m_deployments;  // by stack
    std::map<std::string, Track> m_polls;        // by stack
    std::map<std::string, Track> m_drifts;       // by stack
};

}  // namespace agentd::notify
