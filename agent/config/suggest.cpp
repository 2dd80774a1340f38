#include "agent/config/suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace agentd::config {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

constexpr std::size_t k_max_distance = 2;
constexpr std::size_t k_min_prefix = 3;

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // d[i][j]: distance between the first i characters of a and the first j of b.
    const std::size_t rows = a.size() + 1;
    const std::size_t cols = b.size() + 1;
    std::vector<std::size_t> d(rows * cols);
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * cols + j]; };
    for (std::size_t i = 0; i < rows; ++i) {
        at(i, 0) = i;
    }
    for (std::size_t j = 0; j < cols; ++j) {
        at(0, j) = j;
    }
    for (std::size_t i = 1; i < rows; ++i) {
        for (std::size_t j = 1; j < cols; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(rows - 1, cols - 1);
}

std::optional<std::string> suggest(std::string_view key,
                                   std::span<const std::string_view> candidates) {
    const std::string wanted = lower(key);
    std::optional<std::string> best;
    // Short keys allow fewer edits: "a" is not a typo of "api".
    const std::size_t max_distance =
        std::min(k_max_distance, std::max<std::size_t>(1, wanted.size() / 2));
    std::size_t best_distance = max_distance + 1;
    for (const auto candidate : candidates) {
        const std::size_t distance = edit_distance(wanted, lower(candidate));
        if (distance < best_distance) {
            best_distance = distance;
            best = std::string(candidate);
        }
    }
    if (best || wanted.size() < k_min_prefix) {
        return best;
    }
    for (const auto candidate : candidates) {
        const std::string other = lower(candidate);
        if (other.starts_with(wanted) || wanted.starts_with(other)) {
            return std::string(candidate);
        }
    }
    return std::nullopt;
}

}  // namespace agentd::config
