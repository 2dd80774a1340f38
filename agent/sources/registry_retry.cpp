#include "agent/sources/registry_retry.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "agent/sources/registry_headers.h"

namespace agentd::sources {

bool retryable_status(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<sys::Duration> retry_after(const sys::HttpResponse& response, sys::TimePoint now) {
    std::optional<std::string> value;
    for (const auto& [key, text] : response.headers) {
        if (ascii_lower(key) == "retry-after") {
            value = text;
            break;
        }
    }
    if (!value) {
        return std::nullopt;
    }
    std::string_view text = *value;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    if (std::all_of(text.begin(), text.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
        // More than ten digits is more than any cap: saturate instead of overflowing.
        if (text.size() > 10) {
            return std::chrono::duration_cast<sys::Duration>(std::chrono::hours(24 * 365));
        }
        return std::chrono::seconds(std::stoll(std::string(text)));
    }
    // IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; the obsolete forms are not worth guessing.
    std::tm tm{};
    const std::string copy(text);
    const char* end = ::strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    // Compared in seconds first: a far date (year 9194) overflows a TimePoint.
    const std::time_t at_seconds = ::timegm(&tm);
    const std::time_t now_seconds = std::chrono::system_clock::to_time_t(now);
    if (at_seconds <= now_seconds) {
        return sys::Duration::zero();
    }
    if (at_seconds - now_seconds > 365 * 24 * 3600) {
        return std::chrono::duration_cast<sys::Duration>(std::chrono::hours(24 * 365));
    }
    const auto at = std::chrono::system_clock::from_time_t(at_seconds);
    return at <= now ? sys::Duration::zero() : std::chrono::duration_cast<sys::Duration>(at - now);
}

sys::Duration backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937& random) {
    sys::Duration full = policy.base;
    for (int i = 0; i < attempt && full < policy.cap; ++i) {
        full *= 2;
    }
    full = std::min(full, policy.cap);
    const auto half = full.count() / 2;
    std::uniform_int_distribution<sys::Duration::rep> jitter(0, full.count() - half);
    return sys::Duration(half + jitter(random));
}

}  // namespace agentd::sources
