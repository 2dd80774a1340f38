#pragma once
// Time, injected: poll intervals, timeouts and stable windows are tested with a fake clock.

#include <chrono>
#include <string>

namespace agentd::sys {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

class Clock {
public:
    virtual ~Clock() = default;
    /// Wall-clock now (recorded in the state store, shown to users).
    virtual TimePoint now() = 0;
    /// Blocks for `d` (a fake clock advances its time instead).
    virtual void sleep_for(Duration d) = 0;
};

class SystemClock final : public Clock {
public:
    TimePoint now() override;
    void sleep_for(Duration d) override;
};

/// RFC 3339 UTC with seconds, e.g. "2026-11-22T07:32:23Z".
std::string format_rfc3339(TimePoint t);
/// RFC 3339 UTC with milliseconds, e.g. "2026-11-22T07:32:23.041Z": the times of the API and
/// of the fleet's keys, precise enough to read a deployment's phase durations.
std::string format_rfc3339_ms(TimePoint t);
/// Parses what format_rfc3339 and format_rfc3339_ms write (any fractional seconds, read to the
/// millisecond); false on anything else.
bool parse_rfc3339(const std::string& text, TimePoint& out);
/// "1h30m", "45s", "500ms".
std::string format_duration(Duration d);

}  // namespace agentd::sys
