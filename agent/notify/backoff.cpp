#include "agent/notify/backoff.h"

#include <algorithm>
#include <vector>

namespace agentd::notify {

sys::Duration retry_delay(const RetryPolicy& policy, int failed_attempts,
                          std::optional<sys::Duration> retry_after) {
    sys::Duration delay = policy.first;
    for (int i = 1; i < failed_attempts && delay < policy.longest; ++i) {
        delay *= 2;
    }
    if (retry_after) {
        delay = std::max(delay, *retry_after);
    }
    return std::min(delay, policy.longest);
}

std::optional<sys::TimePoint> next_attempt(const RetryPolicy& policy, int failed_attempts,
                                           sys::TimePoint created_at, sys::TimePoint now,
                                           std::optional<sys::Duration> retry_after) {
    sys::TimePoint at = now + retry_delay(policy, failed_attempts, retry_after);
    if (at - created_at > policy.give_up_after) {
        return std::nullopt;
    }
    return at;
}

Delivery classify(long status) {
    if (status >= 200 && status < 300) {
        return Delivery::Delivered;
    }
    if (status == 0 || status == 408 || status == 425 || status == 429 || status >= 500) {
        return Delivery::Retry;
    }
    return Delivery::Refused;
}

}  // namespace agentd::notify

namespace agentd::notify {

namespace {

void replace_all(std::string& text, const std::string& what) {
    if (what.empty()) {
        return;
    }
    const std::string with = "<url>";
    for (std::size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + with.size())) {
        text.replace(at, what.size(), with);
    }
}

}  // namespace

std::string redact_url(std::string text, const std::string& url) {
    std::vector<std::string> spellings{url, url.substr(0, url.find('?'))};
    // The path and query alone: "scheme://host" then the rest.
    const std::size_t scheme = url.find("://");
    if (scheme != std::string::npos) {
        const std::size_t path = url.find('/', scheme + 3);
        if (path != std::string::npos && url.size() - path > 1) {
            spellings.push_back(url.substr(path));
            spellings.push_back(url.substr(path, url.find('?', path) - path));
        }
        const std::size_t query = url.find('?', scheme + 3);
        if (query != std::string::npos && url.size() - query > 1) {
            spellings.push_back(url.substr(query + 1));
        }
    }
    // Longest first, so a shorter spelling never splits a longer one.
    std::sort(spellings.begin(), spellings.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& s : spellings) {
        if (s.size() > 1) {
            replace_all(text, s);
        }
    }
    return text;
}

}  // namespace agentd::notify
