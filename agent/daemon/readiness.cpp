#include "agent/daemon/readiness.h"

#include <fmt/format.h>

namespace agentd::daemon {
namespace {

std::string ago(sys::TimePoint then, sys::TimePoint now) {
    return sys::format_duration(std::chrono::duration_cast<std::chrono::seconds>(
        now > then ? now - then : sys::Duration{}));
}

ReadinessCheck judge_stack(const StackPoll& s, sys::TimePoint started, sys::TimePoint now) {
    ReadinessCheck check{"stack " + s.name, false, ""};
    if (s.held) {
        check.ok = true;
        check.detail = "paused: not polling";
        return check;
    }
    const auto overdue = poll_overdue_after(s.poll_interval, s.health_timeout);
    const auto& poll = s.last_poll;
    // A poll recorded before this agentd started says nothing of this one's; the clock of a
    // stack that has not polled since starts with agentd.
    const bool polled_since_start = poll.at && *poll.at >= started;
    const sys::TimePoint since = polled_since_start ? *poll.at : started;
    if (now - since > overdue) {
        check.detail = polled_since_start
                           ? fmt::format("last poll {} ago, overdue after {}", ago(since, now),
                                         sys::format_duration(overdue))
                           : fmt::format("no poll since agentd started {} ago", ago(since, now));
        return check;
    }
    if (!polled_since_start) {
        check.ok = true;
        check.detail = "first poll pending";
        return check;
    }
    if (poll.result == "error") {
        check.detail = fmt::format("last poll {} ago failed: {}", ago(since, now), poll.error);
        return check;
    }
    check.ok = true;
    check.detail = fmt::format("last poll {} ago", ago(since, now));
    return check;
}

}  // namespace

sys::Duration poll_overdue_after(sys::Duration poll_interval, sys::Duration health_timeout) {
    return 2 * poll_interval + 2 * health_timeout + std::chrono::minutes(1);
}

Readiness judge_readiness(const ReadinessInput& input) {
    Readiness r;
    r.checks.push_back({"state_store", input.store_error.empty(),
                        input.store_error.empty() ? "open" : input.store_error});
    r.checks.push_back({"docker", input.docker_error.empty(),
                        input.docker_error.empty() ? "reachable" : input.docker_error});
    const bool agent_ok = input.store_error.empty() && input.docker_error.empty();
    bool stacks_ok = true;
    for (const auto& s : input.stacks) {
        r.checks.push_back(judge_stack(s, input.started, input.now));
        stacks_ok = stacks_ok && r.checks.back().ok;
    }
    r.status = !agent_ok ? "error" : stacks_ok ? "ok" : "degraded";
    return r;
}

}  // namespace agentd::daemon
