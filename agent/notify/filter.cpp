#include "agent/notify/filter.h"

#include <utility>

namespace agentd::notify {

EventFilter::EventFilter() : m_kinds(all_kinds().begin(), all_kinds().end()) {}

EventFilter::EventFilter(std::set<Kind> kinds) : m_kinds(std::move(kinds)) {}

bool EventFilter::wants(const Notification& n) const {
    if (m_kinds.count(n.kind) > 0) {
        return true;
    }
    return n.kind == Kind::Resolved && n.resolves && m_kinds.count(*n.resolves) > 0;
}

}  // namespace agentd::notify
