#include "agent/notify/notification.h"

#include <array>
#include <utility>

namespace agentd::notify {

namespace {

constexpr std::array<std::pair<Kind, const char*>, 10> k_names{{
    {Kind::Succeeded, "succeeded"},
    {Kind::RolledBack, "rolled_back"},
    {Kind::Rejected, "rejected"},
    {Kind::Failed, "failed"},
    {Kind::Waiting, "waiting"},
    {Kind::Approval, "approval"},
    {Kind::PollFailing, "poll_failing"},
    {Kind::Drifted, "drifted"},
    {Kind::Started, "started"},
    {Kind::Resolved, "resolved"},
}};

// What happened, as words after the stack's name.
std::string verb(Kind kind) {
    switch (kind) {
        case Kind::Succeeded:
            return "deployed";
        case Kind::RolledBack:
            return "rolled back";
        case Kind::Rejected:
            return "rejected";
        case Kind::Failed:
            return "failed";
        case Kind::Waiting:
            return "waiting for its images";
        case Kind::Approval:
            return "waits for approval";
        case Kind::PollFailing:
            return "polls failing";
        case Kind::Drifted:
            return "drifted from its release";
        case Kind::Started:
            return "started";
        case Kind::Resolved:
            return "resolved";
    }
    return "?";
}

// "v1.4.0 (3f2a9c1)", "3f2a9c1", or "" for a release without revision (dir: stacks).
std::string release_text(const Notification& n) {
    std::string short_revision = n.revision.substr(0, 7);
    if (!n.tag.empty() && !short_revision.empty()) {
        return n.tag + " (" + short_revision + ")";
    }
    return n.tag.empty() ? short_revision : n.tag;
}

}  // namespace

std::string to_string(Kind kind) {
    for (const auto& [k, name] : k_names) {
        if (k == kind) {
            return name;
        }
    }
    return "?";
}

std::optional<Kind> parse_kind(const std::string& text) {
    for (const auto& [k, name] : k_names) {
        if (text == name) {
            return k;
        }
    }
    return std::nullopt;
}

const std::vector<Kind>& all_kinds() {
    static const std::vector<Kind> kinds = [] {
        std::vector<Kind> out;
        for (const auto& [k, name] : k_names) {
            out.push_back(k);
        }
        return out;
    }();
    return kinds;
}

bool is_problem(Kind kind) {
    return kind == Kind::RolledBack || kind == Kind::Rejected || kind == Kind::Failed ||
           kind == Kind::Waiting || kind == Kind::PollFailing || kind == Kind::Drifted;
}

std::string title(const Notification& n) {
    std::string subject = n.stack.empty() ? "agentd" : "agentd: " + n.stack;
    if (n.kind == Kind::Resolved && n.resolves) {
        return subject + " " + verb(*n.resolves) + ": resolved";
    }
    return subject + " " + verb(n.kind);
}

std::string summary(const Notification& n) {
    if (n.kind == Kind::Started) {
        return n.reason.empty() ? "agentd started" : "agentd started: " + n.reason;
    }
    std::string out = n.stack + ": ";
    std::string release = release_text(n);
    if (n.kind == Kind::Resolved) {
        out += n.resolves ? verb(*n.resolves) + " resolved" : "resolved";
        if (!release.empty()) {
            out += ", now on " + release;
        }
    } else if (n.kind == Kind::PollFailing) {
        out += "polls failing";
    } else {
        out += release.empty() ? "release" : release;
        out += " " + verb(n.kind);
    }
    if (n.deployment) {
        out += " (deployment " + std::to_string(*n.deployment) + ")";
    }
    if (n.since) {
        out += " since " + sys::format_rfc3339(*n.since);
    }
    if (n.repeats > 1) {
        out += ", seen " + std::to_string(n.repeats) + " times";
    }
    if (!n.reason.empty()) {
        out += ": " + n.reason;
    }
    return out;
}

}  // namespace agentd::notify
