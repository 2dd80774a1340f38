#pragma once
// agent.yaml's `events:` of a notification target: the kinds it is sent.

#include <set>

#include "agent/notify/notification.h"

namespace agentd::notify {

class EventFilter {
public:
    /// Every kind (no `events:`).
    EventFilter();
    explicit EventFilter(std::set<Kind> kinds);

    /// True when the target wants `n`: its kind is listed; a Resolved is also sent to targets
    /// that were sent the problem it resolves (whoever was told of a failure hears it is over).
    bool wants(const Notification& n) const;

private:
    std::set<Kind> m_kinds;
};

}  // namespace agentd::notify
