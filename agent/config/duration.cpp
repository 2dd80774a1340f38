// parse_duration: the duration syntax of agent.yaml (SPEC section 2).

#include <cstdint>
#include <optional>
#include <string>

#include "agent/config/config.h"

namespace agentd::config {

namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t millis;
};

// Largest first: a duration names its units in this order, each at most once ("1h30m", not
// "30m1h"), so that one text has one reading.
constexpr Unit k_units[] = {
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
};

// A year is far beyond any sensible interval or timeout; the cap keeps the arithmetic exact.
constexpr std::int64_t k_max_millis = 366LL * 24 * 3'600'000;

}  // namespace

std::optional<sys::Duration> parse_duration(const std::string& text) {
    std::int64_t total = 0;
    std::size_t pos = 0;
    std::size_t next_unit = 0;  // index into k_units: units must come in descending order
    if (text.empty()) {
        return std::nullopt;
    }
    while (pos < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            number = number * 10 + (text[pos] - '0');
            if (number > k_max_millis) {
                return std::nullopt;
            }
            ++pos;
        }
        if (pos == digits_start) {
            return std::nullopt;  // a unit without a number, a sign, a decimal point, ...
        }
        // "ms" before "m": after a unit comes a digit or the end, so the longer match is right.
        std::size_t unit = next_unit;
        while (unit < std::size(k_units)) {
            const auto suffix = k_units[unit].suffix;
            const bool longer_follows = suffix == "m" && text.compare(pos, 2, "ms") == 0;
            if (!longer_follows && text.compare(pos, suffix.size(), suffix) == 0) {
                break;
            }
            ++unit;
        }
        if (unit == std::size(k_units)) {
            return std::nullopt;  // no unit (a bare number), an unknown one, or out of order
        }
        pos += k_units[unit].suffix.size();
        total += number * k_units[unit].millis;
        if (total > k_max_millis) {
            return std::nullopt;
        }
        next_unit = unit + 1;
    }
    return sys::Duration(total);
}

}  // namespace agentd::config
