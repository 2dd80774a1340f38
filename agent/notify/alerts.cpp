#include "agent/notify/alerts.h"

#include <utility>

namespace agentd::notify {

namespace {

// The same problem: same kind, same release. Not the deployment id (a transient failure
// retried at the next poll is a new deployment of the same release) nor the reason (a poll's
// error text may vary from one failure to the next).
std::string fingerprint(const Notification& n) {
    std::string out = to_string(n.kind) + '\n' + n.revision + '\n' + n.tag;
    for (const auto& [service, image] : n.images) {
        out += '\n' + service + '=' + image;
    }
    return out;
}

}  // namespace

Alerts::Alerts(Thresholds thresholds) : m_thresholds(thresholds) {}

std::vector<Notification> Alerts::deployment(Notification n) {
    Track& track = m_deployments[n.stack];
    switch (n.kind) {
        case Kind::Succeeded:
            return resolve(track, std::move(n), true);
        case Kind::Waiting:
            if (!n.since || n.at - *n.since < m_thresholds.waiting_after) {
                return {};
            }
            return problem(track, std::move(n));
        case Kind::RolledBack:
        case Kind::Rejected:
        case Kind::Failed:
            return problem(track, std::move(n));
        default:
            return {std::move(n)};
    }
}

std::vector<Notification> Alerts::poll_failed(const std::string& stack, const std::string& error,
                                              sys::TimePoint at) {
    Track& track = m_polls[stack];
    if (!track.failing_since || at < *track.failing_since) {
        track.failing_since = at;
    }
    if (at - *track.failing_since < m_thresholds.poll_failing_after) {
        return {};
    }
    Notification n;
    n.stack = stack;
    n.kind = Kind::PollFailing;
    n.reason = error;
    n.at = at;
    n.since = track.failing_since;
    return problem(track, std::move(n));
}

std::vector<Notification> Alerts::poll_ok(const std::string& stack, sys::TimePoint at) {
    auto it = m_polls.find(stack);
    if (it == m_polls.end()) {
        return {};
    }
    it->second.failing_since.reset();
    Notification n;
    n.stack = stack;
    n.at = at;
    std::vector<Notification> out = resolve(it->second, std::move(n), false);
    m_polls.erase(it);
    return out;
}

void Alerts::forget(const std::string& stack) {
    m_deployments.erase(stack);
    m_polls.erase(stack);
}

std::vector<Notification> Alerts::problem(Track& track, Notification n) {
    std::string print = fingerprint(n);
    if (track.open && track.open->fingerprint == print) {
        Open& open = *track.open;
        ++open.seen_since;
        if (n.at - open.last_sent < m_thresholds.repeat_interval) {
            return {};
        }
        n.repeats = open.seen_since;
        if (!n.since) {
            n.since = open.first_sent;
        }
        open.last_sent = n.at;
        open.seen_since = 0;
        return {std::move(n)};
    }
    // A first problem, or another one (a different release failing, a rollback after waiting):
    // sent at once, and the one it follows is no longer tracked.
    track.open = Open{print, n.kind, n.at, n.at, 0};
    return {std::move(n)};
}

std::vector<Notification> Alerts::resolve(Track& track, Notification success, bool send_success) {
    std::vector<Notification> out;
    if (track.open) {
        Notification resolved;
        resolved.stack = success.stack;
        resolved.kind = Kind::Resolved;
        resolved.deployment = success.deployment;
        resolved.revision = success.revision;
        resolved.tag = success.tag;
        resolved.images = success.images;
        resolved.at = success.at;
        resolved.since = track.open->first_sent;
        resolved.resolves = track.open->kind;
        track.open.reset();
        if (send_success) {
            out.push_back(std::move(success));
        }
        out.push_back(std::move(resolved));
        return out;
    }
    if (send_success) {
        out.push_back(std::move(success));
    }
    return out;
}

}  // namespace agentd::notify
