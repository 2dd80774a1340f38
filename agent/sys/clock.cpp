#include "agent/sys/clock.h"

#include <ctime>
#include <thread>

#include <fmt/format.h>

namespace agentd::sys {

TimePoint SystemClock::now() {
    return std::chrono::system_clock::now();
}

void SystemClock::sleep_for(Duration d) {
    std::this_thread::sleep_for(d);
}

std::string format_rfc3339(TimePoint t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_rfc3339_ms(TimePoint t) {
    const auto since_epoch = t.time_since_epoch();
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    auto whole = std::chrono::floor<std::chrono::seconds>(t);
    if (millis < 0) {
        millis += 1000;  // before 1970: the second below, plus a positive fraction
    }
    auto text = format_rfc3339(whole);
    text.insert(text.size() - 1, fmt::format(".{:03}", millis));
    return text;
}

bool parse_rfc3339(const std::string& text, TimePoint& out) {
    std::tm tm{};
    const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr) {
        return false;
    }
    long long millis = 0;
    if (*rest == '.') {
        ++rest;
        long long scale = 100;
        while (*rest >= '0' && *rest <= '9') {
            millis += (*rest - '0') * scale;
            scale /= 10;
            ++rest;
        }
    }
    if (*rest != 'Z' || rest[1] != '\0') {
        return false;
    }
    // TimePoint counts nanoseconds in 64 bits, about the years 1678 to 2262: a date outside
    // would overflow in from_time_t. Such a date is not one any peer means.
    const std::time_t seconds = timegm(&tm);
    constexpr std::time_t k_limit = 9'000'000'000;  // about 285 years either side of 1970
    if (seconds < -k_limit || seconds > k_limit) {
        return false;
    }
    out = std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
    return true;
}

std::string format_duration(Duration d) {
    using namespace std::chrono;
    auto ms = d.count();
    if (ms % 1000 != 0 || ms == 0) {
        return fmt::format("{}ms", ms);
    }
    auto s = ms / 1000;
    std::string out;
    if (s >= 3600) {
        out += fmt::format("{}h", s / 3600);
        s %= 3600;
    }
    if (s >= 60) {
        out += fmt::format("{}m", s / 60);
        s %= 60;
    }
    if (s > 0) {
        out += fmt::format("{}s", s);
    }
    return out;
}

}  // namespace agentd::sys
