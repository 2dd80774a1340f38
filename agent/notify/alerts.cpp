#include "agent/notify/alerts.h"

#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

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

using nlohmann::json;

std::int64_t to_ms(sys::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

sys::TimePoint from_ms(const json& ms) {
    return sys::TimePoint(std::chrono::milliseconds(ms.get<std::int64_t>()));
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
        case Kind::Approval:  // sent at once, then as a reminder every repeat_interval
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

std::vector<Notification> Alerts::drift(Notification n, bool drifted) {
    if (drifted) {
        Track& track = m_drifts[n.stack];  // before `n` is moved from
        return problem(track, std::move(n));
    }
    auto it = m_drifts.find(n.stack);
    if (it == m_drifts.end()) {
        return {};
    }
    std::vector<Notification> out = resolve(it->second, std::move(n), false);
    m_drifts.erase(it);
    return out;
}

void Alerts::forget(const std::string& stack) {
    m_deployments.erase(stack);
    m_polls.erase(stack);
    m_drifts.erase(stack);
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
    if (track.open && !is_problem(track.open->kind)) {
        track.open.reset();  // an approval given: the success says it all
    }
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

std::string Alerts::save() const {
    const auto tracks = [](const std::map<std::string, Track>& by_stack) {
        json out = json::object();
        for (const auto& [stack, track] : by_stack) {
            json t = json::object();
            if (track.open) {
                t["open"] = json{{"fingerprint", track.open->fingerprint},
                                 {"kind", to_string(track.open->kind)},
                                 {"first_sent", to_ms(track.open->first_sent)},
                                 {"last_sent", to_ms(track.open->last_sent)},
                                 {"seen_since", track.open->seen_since}};
            }
            if (track.failing_since) {
                t["failing_since"] = to_ms(*track.failing_since);
            }
            if (!t.empty()) {
                out[stack] = std::move(t);
            }
        }
        return out;
    };
    const json saved{{"deployments", tracks(m_deployments)},
                     {"polls", tracks(m_polls)},
                     {"drifts", tracks(m_drifts)}};
    return saved.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Alerts::restore(const std::string& saved) {
    m_deployments.clear();
    m_polls.clear();
    const auto tracks = [](const json& by_stack) {
        std::map<std::string, Track> out;
        if (!by_stack.is_object()) {
            throw std::invalid_argument("not an object");
        }
        for (const auto& [stack, t] : by_stack.items()) {
            if (!t.is_object()) {
                throw std::invalid_argument("not an object");
            }
            Track track;
            if (t.contains("open")) {
                const json& o = t.at("open");
                const auto kind = parse_kind(o.at("kind").get<std::string>());
                if (!kind) {
                    throw std::invalid_argument("unknown kind");
                }
                track.open = Open{o.at("fingerprint").get<std::string>(), *kind,
                                  from_ms(o.at("first_sent")), from_ms(o.at("last_sent")),
                                  o.at("seen_since").get<int>()};
            }
            if (t.contains("failing_since")) {
                track.failing_since = from_ms(t.at("failing_since"));
            }
            out[stack] = std::move(track);
        }
        return out;
    };
    try {
        const json j = json::parse(saved);
        auto deployments = tracks(j.at("deployments"));
        auto polls = tracks(j.at("polls"));
        // Saved before drift was watched: nothing to remember of it.
        auto drifts =
            j.contains("drifts") ? tracks(j.at("drifts")) : std::map<std::string, Track>{};
        m_deployments = std::move(deployments);
        m_polls = std::move(polls);
        m_drifts = std::move(drifts);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace agentd::notify
