#pragma once
// Version: a strict semantic version (semver.org 2.0.0) with an optional leading `v`, and its
// precedence order. Image tags are parsed with it; anything that is not strict semver is not a
// version (a tag policy skips it).

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"

namespace agentd::policy {

/// '0' to '9' only, whatever the locale: the digits of versions and tags.
constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// -1, 0 or 1: the sign of a three-way comparison's result (std::string::compare's, say).
constexpr int sign_of(int c) {
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

class Version {
public:
    Version() = default;
    Version(std::uint64_t major, std::uint64_t minor, std::uint64_t patch,
            std::vector<std::string> prerelease = {}, std::vector<std::string> build = {});

    /// Parses `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, optionally prefixed by one `v`.
    /// Exactly three numeric parts, no leading zeros in numbers or in numeric pre-release
    /// identifiers, numbers fit in 64 bits, identifiers are non-empty [0-9A-Za-z-].
    /// InvalidInput error (saying what is wrong) for anything else: "1.2", "1.2.3.4", "01.2.3".
    static sys::Result<Version> parse(std::string_view text);

    std::uint64_t major() const { return m_major; }
    std::uint64_t minor() const { return m_minor; }
    std::uint64_t patch() const { return m_patch; }
    const std::vector<std::string>& prerelease() const { return m_prerelease; }
    const std::vector<std::string>& build() const { return m_build; }
    bool is_prerelease() const { return !m_prerelease.empty(); }

    /// Canonical text without the `v`: "1.2.3-rc.1+b5".
    std::string str() const;

    /// Semver precedence: build metadata is ignored, so 1.0.0+a and 1.0.0+b are equivalent
    /// (hence a weak ordering) while not identical (see `identical`).
    friend std::weak_ordering operator<=>(const Version& a, const Version& b);
    friend bool operator==(const Version& a, const Version& b) {
        return (a <=> b) == std::weak_ordering::equivalent;
    }
    /// Same numbers, pre-release and build metadata.
    bool identical(const Version& other) const;

private:
    std::uint64_t m_major = 0;
    std::uint64_t m_minor = 0;
    std::uint64_t m_patch = 0;
    std::vector<std::string> m_prerelease;
    std::vector<std::string> m_build;
};

/// Compares two pre-release identifier lists by semver precedence (an empty list, a release,
/// ranks above any pre-release). Returns <0, 0 or >0.
int compare_prerelease(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Building blocks shared with the constraint parser.

/// A decimal number without leading zeros ("0" is fine) that fits in 64 bits; nullopt otherwise.
std::optional<std::uint64_t> parse_number(std::string_view digits);

/// Splits dot-separated identifiers and validates them: non-empty, [0-9A-Za-z-]; when
/// `is_prerelease`, numeric identifiers must not have leading zeros. The error names the
/// offending identifier.
sys::Result<std::vector<std::string>> parse_identifiers(std::string_view text, bool is_prerelease);

/// A version as written, split: the numeric core ("1.2.3", or a partial "1.x" in a range), the
/// pre-release and the build identifiers; an optional leading `v` is dropped. Error: malformed
/// identifiers (the core is left to the caller, whose rules differ).
struct VersionParts {
    std::string_view core;
    std::vector<std::string> prerelease;
    std::vector<std::string> build;
};
sys::Result<VersionParts> split_version(std::string_view text);

}  // namespace agentd::policy
