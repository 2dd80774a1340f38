#include "agent/policy/window.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>

namespace agentd::policy {
namespace {

constexpr std::array<std::string_view, 7> k_days = {"sun", "mon", "tue", "wed",
                                                    "thu", "fri", "sat"};
constexpr std::array<std::string_view, 7> k_day_names = {"Sun", "Mon", "Tue", "Wed",
                                                         "Thu", "Fri", "Sat"};

std::string hh_mm(std::chrono::minutes m) {
    return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
}

}  // namespace

std::optional<unsigned> parse_weekday(std::string_view text) {
    for (unsigned i = 0; i < k_days.size(); ++i) {
        if (text == k_days[i]) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::chrono::minutes> parse_time_of_day(std::string_view text) {
    const auto digit = [&](std::size_t i) {
        return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -1;
    };
    if (text.size() != 5 || text[2] != ':' || digit(0) < 0 || digit(1) < 0 || digit(3) < 0 ||
        digit(4) < 0) {
        return std::nullopt;
    }
    const int hours = digit(0) * 10 + digit(1);
    const int minutes = digit(3) * 10 + digit(4);
    if (hours > 23 || minutes > 59) {
        return std::nullopt;
    }
    return std::chrono::minutes(hours * 60 + minutes);
}

sys::Result<const date::time_zone*> find_zone(const std::string& name) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return sys::Error::invalid(fmt::format(
            "tz: unknown time zone \"{}\" (expected a name of the system's tz database, "
            "/usr/share/zoneinfo, such as UTC or Europe/Berlin)",
            name));
    }
}

sys::Result<Window> Window::make(const std::vector<std::string>& days, std::string_view from,
                                 std::string_view to, const std::string& zone_name) {
    Window w;
    for (const auto& day : days) {
        const auto index = parse_weekday(day);
        if (!index) {
            return sys::Error::invalid(
                fmt::format("days: expected mon, tue, wed, thu, fri, sat or sun, got \"{}\"", day));
        }
        w.days[*index] = true;
    }
    if (days.empty()) {
        w.days.fill(true);
    }
    const auto opens = parse_time_of_day(from);
    if (!opens) {
        return sys::Error::invalid(fmt::format("from: expected a time HH:MM, got \"{}\"", from));
    }
    const auto closes = parse_time_of_day(to);
    if (!closes) {
        return sys::Error::invalid(fmt::format("to: expected a time HH:MM, got \"{}\"", to));
    }
    if (*opens == *closes) {
        return sys::Error::invalid(fmt::format(
            "to: the window opens and closes at {}: it would never be open", hh_mm(*opens)));
    }
    w.from = *opens;
    w.to = *closes;
    auto zone = find_zone(zone_name);
    if (!zone) {
        return zone.error();
    }
    w.zone = *zone;
    w.zone_name = zone_name;
    return w;
}

namespace {

/// The openings of `w` that start on local day `day`, as system times [open, close).
struct Opening {
    sys::TimePoint open;
    sys::TimePoint close;
};

Opening opening_on(const Window& w, date::local_days day) {
    const auto close_day = w.to > w.from ? day : day + date::days(1);
    const auto at = [&](date::local_days d, std::chrono::minutes m) {
        return std::chrono::time_point_cast<sys::Duration>(
            w.zone->to_sys(d + m, date::choose::earliest));
    };
    return {at(day, w.from), at(close_day, w.to)};
}

date::local_days local_day(const Window& w, sys::TimePoint t) {
    return date::floor<date::days>(
        w.zone->to_local(std::chrono::time_point_cast<std::chrono::seconds>(t)));
}

bool opens_on(const Window& w, date::local_days day) {
    return w.days[date::weekday(day).c_encoding()];
}

}  // namespace

bool Window::contains(sys::TimePoint t) const {
    const auto today = local_day(*this, t);
    // An opening that started yesterday may still run (22:00-02:00).
    for (const auto day : {today - date::days(1), today}) {
        if (opens_on(*this, day)) {
            const auto o = opening_on(*this, day);
            if (o.open <= t && t < o.close) {
                return true;
            }
        }
    }
    return false;
}

sys::TimePoint Window::next_open(sys::TimePoint t) const {
    const auto today = local_day(*this, t);
    for (int i = 0; i <= 8; ++i) {
        const auto day = today + date::days(i);
        if (opens_on(*this, day)) {
            const auto o = opening_on(*this, day);
            if (o.open > t) {
                return o.open;
            }
        }
    }
    return t;  // unreachable: make() leaves at least one day
}

std::string Window::describe() const {
    std::string days_text;
    if (std::find(days.begin(), days.end(), false) == days.end()) {
        days_text = "daily";
    } else {
        // Monday first, as people write weeks.
        for (unsigned i = 1; i <= 7; ++i) {
            if (days[i % 7]) {
                days_text += (days_text.empty() ? "" : ",") + std::string(k_days[i % 7]);
            }
        }
    }
    return fmt::format("{} {}-{} {}", days_text, hh_mm(from), hh_mm(to), zone_name);
}

std::string Window::local_text(sys::TimePoint t) const {
    const auto local = zone->to_local(std::chrono::time_point_cast<std::chrono::seconds>(t));
    const auto day = date::floor<date::days>(local);
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day);
    const auto info = zone->get_info(std::chrono::time_point_cast<std::chrono::seconds>(t));
    return fmt::format("{} {} {}", k_day_names[date::weekday(day).c_encoding()], hh_mm(minutes),
                       info.abbrev);
}

}  // namespace agentd::policy
