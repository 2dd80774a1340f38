#pragma once
// Times as state.db keeps them: milliseconds since the Unix epoch (INTEGER columns).

#include <chrono>
#include <cstdint>
#include <optional>

#include "agent/sys/clock.h"

namespace agentd::state {

inline std::int64_t to_ms(sys::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline sys::TimePoint from_ms(std::int64_t ms) {
    return sys::TimePoint(std::chrono::milliseconds(ms));
}

inline std::optional<std::int64_t> to_ms(const std::optional<sys::TimePoint>& t) {
    if (!t) {
        return std::nullopt;
    }
    return to_ms(*t);
}

inline std::optional<sys::TimePoint> from_ms(const std::optional<std::int64_t>& ms) {
    if (!ms) {
        return std::nullopt;
    }
    return from_ms(*ms);
}

}  // namespace agentd::state
