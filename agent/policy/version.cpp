#include "agent/policy/version.h"

#include <algorithm>
#include <limits>

namespace agentd::policy {

namespace {

bool is_identifier_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) {
            out += '.';
        }
        out += p;
    }
    return out;
}

// Numeric identifiers have no leading zeros, so a longer one is larger; this also works for
// identifiers beyond 64 bits, which semver does not forbid in pre-releases.
int compare_numeric(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

int compare_identifier(std::string_view a, std::string_view b) {
    const bool a_num = all_digits(a);
    const bool b_num = all_digits(b);
    if (a_num && b_num) {
        return compare_numeric(a, b);
    }
    if (a_num != b_num) {
        return a_num ? -1 : 1;  // numeric identifiers rank below alphanumeric ones
    }
    const int c = a.compare(b);  // ASCII order
    return c < 0 ? -1 : (c == 0 ? 0 : 1);
}

int compare_numbers(std::uint64_t a, std::uint64_t b) {
    return a < b ? -1 : (a == b ? 0 : 1);
}

}  // namespace

std::optional<std::uint64_t> parse_number(std::string_view digits) {
    if (!all_digits(digits) || (digits.size() > 1 && digits[0] == '0')) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    constexpr auto k_max = std::numeric_limits<std::uint64_t>::max();
    for (char c : digits) {
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (value > (k_max - d) / 10) {
            return std::nullopt;
        }
        value = value * 10 + d;
    }
    return value;
}

sys::Result<std::vector<std::string>> parse_identifiers(std::string_view text, bool is_prerelease) {
    const char* what = is_prerelease ? "pre-release" : "build metadata";
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = text.find('.', start);
        const std::string_view id = text.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (id.empty()) {
            return sys::Error::invalid(std::string("empty ") + what + " identifier in \"" +
                                       std::string(text) + "\"");
        }
        if (!std::all_of(id.begin(), id.end(), is_identifier_char)) {
            return sys::Error::invalid(std::string(what) + " identifier \"" + std::string(id) +
                                       "\" has a character outside [0-9A-Za-z-]");
        }
        if (is_prerelease && all_digits(id) && id.size() > 1 && id[0] == '0') {
            return sys::Error::invalid("numeric pre-release identifier \"" + std::string(id) +
                                       "\" has a leading zero");
        }
        out.emplace_back(id);
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return out;
}

Version::Version(std::uint64_t major, std::uint64_t minor, std::uint64_t patch,
                 std::vector<std::string> prerelease, std::vector<std::string> build)
    : m_major(major),
      m_minor(minor),
      m_patch(patch),
      m_prerelease(std::move(prerelease)),
      m_build(std::move(build)) {}

sys::Result<VersionParts> split_version(std::string_view text) {
    VersionParts parts;
    std::string_view rest = text;
    if (!rest.empty() && rest[0] == 'v') {
        rest.remove_prefix(1);
    }
    if (const auto plus = rest.find('+'); plus != std::string_view::npos) {
        auto ids = parse_identifiers(rest.substr(plus + 1), false);
        if (!ids) {
            return ids.error();
        }
        parts.build = std::move(*ids);
        rest = rest.substr(0, plus);
    }
    // The core has only digits, dots (and wildcards), so the first '-' starts the pre-release
    // (which may itself contain '-').
    if (const auto dash = rest.find('-'); dash != std::string_view::npos) {
        auto ids = parse_identifiers(rest.substr(dash + 1), true);
        if (!ids) {
            return ids.error();
        }
        parts.prerelease = std::move(*ids);
        rest = rest.substr(0, dash);
    }
    parts.core = rest;
    return parts;
}

sys::Result<Version> Version::parse(std::string_view text) {
    const std::string quoted = "\"" + std::string(text) + "\"";
    auto parts = split_version(text);
    if (!parts) {
        return sys::Error::invalid("version " + quoted + ": " + parts.error().message);
    }
    std::string_view rest = parts->core;
    std::vector<std::string> build = std::move(parts->build);
    std::vector<std::string> pre = std::move(parts->prerelease);
    std::uint64_t numbers[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        const std::size_t dot = rest.find('.');
        if (i < 2 && dot == std::string_view::npos) {
            return sys::Error::invalid("version " + quoted + ": needs exactly MAJOR.MINOR.PATCH");
        }
        const std::string_view part = i < 2 ? rest.substr(0, dot) : rest;
        if (i == 2 && part.find('.') != std::string_view::npos) {
            return sys::Error::invalid("version " + quoted + ": needs exactly MAJOR.MINOR.PATCH");
        }
        const auto n = parse_number(part);
        if (!n) {
            return sys::Error::invalid("version " + quoted + ": \"" + std::string(part) +
                                       "\" is not a number without leading zeros that fits in "
                                       "64 bits");
        }
        numbers[i] = *n;
        if (i < 2) {
            rest.remove_prefix(dot + 1);
        }
    }
    return Version(numbers[0], numbers[1], numbers[2], std::move(pre), std::move(build));
}

std::string Version::str() const {
    std::string out =
        std::to_string(m_major) + "." + std::to_string(m_minor) + "." + std::to_string(m_patch);
    if (!m_prerelease.empty()) {
        out += "-" + join(m_prerelease);
    }
    if (!m_build.empty()) {
        out += "+" + join(m_build);
    }
    return out;
}

int compare_prerelease(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (a.empty() || b.empty()) {
        // A release ranks above its pre-releases.
        return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
    }
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (const int c = compare_identifier(a[i], b[i]); c != 0) {
            return c;
        }
    }
    // All shared fields equal: the larger set of fields ranks higher.
    return compare_numbers(a.size(), b.size());
}

std::weak_ordering operator<=>(const Version& a, const Version& b) {
    int c = compare_numbers(a.m_major, b.m_major);
    if (c == 0) {
        c = compare_numbers(a.m_minor, b.m_minor);
    }
    if (c == 0) {
        c = compare_numbers(a.m_patch, b.m_patch);
    }
    if (c == 0) {
        c = compare_prerelease(a.m_prerelease, b.m_prerelease);
    }
    return c < 0 ? std::weak_ordering::less
                 : (c == 0 ? std::weak_ordering::equivalent : std::weak_ordering::greater);
}

bool Version::identical(const Version& other) const {
    return m_major == other.m_major && m_minor == other.m_minor && m_patch == other.m_patch &&
           m_prerelease == other.m_prerelease && m_build == other.m_build;
}

}  // namespace agentd::policy
