#pragma once
// Deployment windows (`window: {days, from, to, tz}`): when a stack may deploy by itself.
// Pure: the time zone rules come from the system tz database through Howard Hinnant's date
// library, read once when the zone is looked up.

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace date {
class time_zone;
}

namespace agentd::policy {

/// The week's days in date's encoding: 0 is Sunday. "mon".."sun".
std::optional<unsigned> parse_weekday(std::string_view text);
/// "HH:MM" (00:00-23:59) as minutes after local midnight.
std::optional<std::chrono::minutes> parse_time_of_day(std::string_view text);

/// The zone `name` of the system's tz database; InvalidInput "tz: unknown time zone ..." when
/// it has none.
sys::Result<const date::time_zone*> find_zone(const std::string& name);

/// A weekly window in a time zone. It opens on each of `days` at `from` local time and closes
/// at `to`, the same day or, when `to` is not after `from` (22:00-02:00), the next day: the day
/// named is the day it opens. A local time that does not exist (a spring-forward gap) is the
/// moment the clocks jump; one that exists twice (fall back) is its first occurrence.
struct Window {
    std::array<bool, 7> days{};  ///< by date's weekday encoding (0 = Sunday)
    std::chrono::minutes from{0};
    std::chrono::minutes to{0};
    const date::time_zone* zone = nullptr;
    std::string zone_name;  ///< as written: "UTC", "Europe/Berlin"

    /// A window from its written parts; InvalidInput naming the part that is wrong (an unknown
    /// time zone, from equal to to). Every day when `days` is empty.
    static sys::Result<Window> make(const std::vector<std::string>& days, std::string_view from,
                                    std::string_view to, const std::string& zone_name);

    /// Whether `t` lies inside an opening of the window.
    bool contains(sys::TimePoint t) const;
    /// The first opening strictly after `t`.
    sys::TimePoint next_open(sys::TimePoint t) const;
    /// "sat,sun 02:00-04:00 UTC".
    std::string describe() const;
    /// `t` in the window's zone, as a person reads it: "Sat 02:00 UTC", "Mon 22:00 CET".
    std::string local_text(sys::TimePoint t) const;

    bool operator==(const Window& other) const {
        return days == other.days && from == other.from && to == other.to &&
               zone_name == other.zone_name;
    }
};

}  // namespace agentd::policy
