// Deployment windows (policy/window): the week's openings in a time zone of the system's tz
// database, across midnight and across daylight saving changes.

#include <catch2/catch.hpp>

#include "agent/policy/window.h"

namespace unit_policy_window_test {

using namespace agentd;
using namespace std::chrono_literals;

namespace {

sys::TimePoint utc(const std::string& text) {
    sys::TimePoint t;
    REQUIRE(sys::parse_rfc3339(text, t));
    return t;
}

policy::Window window(std::vector<std::string> days, std::string from, std::string to,
                      std::string zone = "UTC") {
    auto w = policy::Window::make(days, from, to, zone);
    REQUIRE(w.ok());
    return *w;
}

}  // namespace

TEST_CASE("window: days and times are read as written, and refused with the part named",
          "[window]") {
    CHECK(policy::parse_time_of_day("00:00") == 0min);
    CHECK(policy::parse_time_of_day("23:59") == 23h + 59min);
    CHECK(policy::parse_time_of_day("09:05") == 9h + 5min);
    for (const char* bad : {"24:00", "12:60", "9:05", "09:5", "0905", "09-05", " 09:05", ""}) {
        CAPTURE(bad);
        CHECK_FALSE(policy::parse_time_of_day(bad));
    }
    CHECK(policy::parse_weekday("sun") == 0u);
    CHECK(policy::parse_weekday("sat") == 6u);
    CHECK_FALSE(policy::parse_weekday("Sat"));
    CHECK_FALSE(policy::parse_weekday("saturday"));

    const auto unknown = policy::Window::make({}, "02:00", "04:00", "Mars/Olympus_Mons");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message.starts_with("tz: unknown time zone \"Mars/Olympus_Mons\""));
    const auto empty = policy::Window::make({}, "02:00", "02:00", "UTC");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message.starts_with("to: the window opens and closes at 02:00"));
    const auto day = policy::Window::make({"sat", "funday"}, "02:00", "04:00", "UTC");
    REQUIRE_FALSE(day.ok());
    CHECK(day.error().message.find("\"funday\"") != std::string::npos);

    CHECK(window({"sun", "sat"}, "02:00", "04:00").describe() == "sat,sun 02:00-04:00 UTC");
    CHECK(
        window({"mon", "tue", "wed", "thu", "fri"}, "22:00", "02:00", "Europe/Berlin").describe() ==
        "mon,tue,wed,thu,fri 22:00-02:00 Europe/Berlin");
    CHECK(window({}, "02:00", "04:00").describe() == "daily 02:00-04:00 UTC");
}

TEST_CASE("window: open from `from` to `to` on the days named, and when it opens next",
          "[window]") {
    // 2026-12-05 is a Saturday.
    const auto w = window({"sat", "sun"}, "02:00", "04:00");
    CHECK_FALSE(w.contains(utc("2026-12-05T01:59:59Z")));
    CHECK(w.contains(utc("2026-12-05T02:00:00Z")));
    CHECK(w.contains(utc("2026-12-05T03:59:59Z")));
    CHECK_FALSE(w.contains(utc("2026-12-05T04:00:00Z")));  // `to` is not inside
    CHECK(w.contains(utc("2026-12-06T03:00:00Z")));        // Sunday
    CHECK_FALSE(w.contains(utc("2026-12-07T03:00:00Z")));  // Monday

    CHECK(w.next_open(utc("2026-12-03T20:00:00Z")) == utc("2026-12-05T02:00:00Z"));
    CHECK(w.next_open(utc("2026-12-05T02:00:00Z")) == utc("2026-12-06T02:00:00Z"));  // after
    CHECK(w.next_open(utc("2026-12-06T05:00:00Z")) == utc("2026-12-12T02:00:00Z"));
    CHECK(w.local_text(utc("2026-12-05T02:00:00Z")) == "Sat 02:00 UTC");
}

TEST_CASE("window: one that crosses midnight belongs to the day it opens", "[window]") {
    // Friday 22:00 to Saturday 02:00, Berlin time (CET, UTC+1, in December).
    const auto w = window({"fri"}, "22:00", "02:00", "Europe/Berlin");
    CHECK_FALSE(w.contains(utc("2026-12-04T20:59:00Z")));
    CHECK(w.contains(utc("2026-12-04T21:00:00Z")));        // Fri 22:00 CET
    CHECK(w.contains(utc("2026-12-05T00:30:00Z")));        // Sat 01:30 CET
    CHECK_FALSE(w.contains(utc("2026-12-05T01:00:00Z")));  // Sat 02:00 CET: closed
    // Saturday 22:00 is not an opening: only Friday's.
    CHECK_FALSE(w.contains(utc("2026-12-05T21:30:00Z")));
    CHECK(w.next_open(utc("2026-12-05T01:00:00Z")) == utc("2026-12-11T21:00:00Z"));
    CHECK(w.local_text(utc("2026-12-11T21:00:00Z")) == "Fri 22:00 CET");
}

TEST_CASE("window: daylight saving changes lengthen or shorten the night's opening", "[window]") {
    // Europe/Berlin springs forward on 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST:
    // a window of 01:00-04:00 local time lasts two hours that night.
    const auto spring = window({"sun"}, "01:00", "04:00", "Europe/Berlin");
    CHECK_FALSE(spring.contains(utc("2026-03-28T23:59:00Z")));
    CHECK(spring.contains(utc("2026-03-29T00:00:00Z")));        // 01:00 CET
    CHECK(spring.contains(utc("2026-03-29T01:59:00Z")));        // 03:59 CEST
    CHECK_FALSE(spring.contains(utc("2026-03-29T02:00:00Z")));  // 04:00 CEST
    // An opening at a local time that does not exist that night opens when the clocks jump.
    const auto gap = window({"sun"}, "02:30", "05:00", "Europe/Berlin");
    CHECK(gap.next_open(utc("2026-03-28T12:00:00Z")) == utc("2026-03-29T01:00:00Z"));
    CHECK(gap.contains(utc("2026-03-29T01:00:00Z")));

    // It falls back on 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET: 01:00-04:00 lasts
    // four hours, and an opening at 02:30 (twice that night) is its first occurrence.
    const auto autumn = window({"sun"}, "01:00", "04:00", "Europe/Berlin");
    CHECK(autumn.contains(utc("2026-10-24T23:00:00Z")));        // 01:00 CEST
    CHECK(autumn.contains(utc("2026-10-25T02:59:00Z")));        // 03:59 CET
    CHECK_FALSE(autumn.contains(utc("2026-10-25T03:00:00Z")));  // 04:00 CET
    const auto twice = window({"sun"}, "02:30", "05:00", "Europe/Berlin");
    CHECK(twice.next_open(utc("2026-10-24T12:00:00Z")) == utc("2026-10-25T00:30:00Z"));
}

}  // namespace unit_policy_window_test
