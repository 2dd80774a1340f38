#pragma once
// What the fuzz targets share: an invariant check that stops the run with a message whatever
// NDEBUG says (libFuzzer then saves the input as a crash), and the input split into parts.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(condition)                                                                   \
    do {                                                                                        \
        if (!(condition)) {                                                                     \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,           \
                         #condition);                                                           \
            std::abort();                                                                       \
        }                                                                                       \
    } while (false)

namespace agentd::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// The input cut at every "\n--\n" (a separator a seed file can be written with by hand):
/// always at least one part.
inline std::vector<std::string> split_parts(std::string_view text) {
    constexpr std::string_view k_separator = "\n--\n";
    std::vector<std::string> parts;
    for (;;) {
        const auto at = text.find(k_separator);
        if (at == std::string_view::npos) {
            parts.emplace_back(text);
            return parts;
        }
        parts.emplace_back(text.substr(0, at));
        text.remove_prefix(at + k_separator.size());
    }
}

/// Lines of `text` without their "\n".
inline std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.emplace_back(text.substr(0, end));
        if (end == std::string_view::npos) {
            break;
        }
        text.remove_prefix(end + 1);
    }
    return lines;
}

}  // namespace agentd::fuzz
