#include "agent/policy/tag_order.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "agent/policy/version.h"

namespace agentd::policy {
namespace {

/// Compares two digit runs as numbers of any length: without leading zeros the longer is larger.
int compare_digits(std::string_view a, std::string_view b) {
    const auto strip = [](std::string_view s) {
        const auto first = s.find_first_not_of('0');
        return first == std::string_view::npos ? std::string_view{} : s.substr(first);
    };
    a = strip(a);
    b = strip(b);
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return sign_of(a.compare(b));
}

}  // namespace

int natural_compare(std::string_view a, std::string_view b) {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            std::size_t i_end = i;
            std::size_t j_end = j;
            while (i_end < a.size() && is_digit(a[i_end])) {
                ++i_end;
            }
            while (j_end < b.size() && is_digit(b[j_end])) {
                ++j_end;
            }
            if (const int c = compare_digits(a.substr(i, i_end - i), b.substr(j, j_end - j));
                c != 0) {
                return c;
            }
            i = i_end;
            j = j_end;
            continue;
        }
        if (a[i] != b[j]) {
            return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
        }
        ++i;
        ++j;
    }
    if (i < a.size() || j < b.size()) {
        return i < a.size() ? 1 : -1;
    }
    return sign_of(a.compare(b));  // "v01" and "v1": still one order
}

std::vector<std::string> listing_order(std::vector<std::string> tags) {
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());

    std::vector<std::pair<Version, std::string>> versions;
    std::vector<std::string> others;
    for (auto& tag : tags) {
        if (auto v = Version::parse(tag)) {
            versions.emplace_back(std::move(*v), std::move(tag));
        } else {
            others.push_back(std::move(tag));
        }
    }
    std::sort(versions.begin(), versions.end(), [](const auto& x, const auto& y) {
        const auto order = x.first <=> y.first;
        return order != 0 ? order < 0 : x.second < y.second;
    });
    std::sort(others.begin(), others.end(),
              [](const std::string& x, const std::string& y) { return natural_compare(x, y) < 0; });

    std::vector<std::string> out;
    out.reserve(versions.size() + others.size());
    for (auto& [version, tag] : versions) {
        out.push_back(std::move(tag));
    }
    for (auto& tag : others) {
        out.push_back(std::move(tag));
    }
    return out;
}

}  // namespace agentd::policy
