#pragma once
// TagPolicy: which image tag to follow (SPEC section 3). Either a semver range, where the highest
// matching version wins, or a regex with an order over a key taken from each matching tag.
// Pure: given the registry's tag list and the deployed tag, select() says what to run.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/policy/constraint.h"
#include "agent/policy/tag_pattern.h"
#include "agent/sys/result.h"

namespace agentd::policy {

/// How regex keys compare: as bytes (alphabetical) or as decimal numbers (numerical).
enum class RegexOrder { Alphabetical, Numerical };
/// Ascending (the default) prefers the highest key; descending prefers the lowest.
enum class Direction { Ascending, Descending };

/// "alphabetical" / "numerical"; InvalidInput error naming the accepted values otherwise.
sys::Result<RegexOrder> parse_regex_order(std::string_view text);
/// "asc" / "desc"; InvalidInput error otherwise.
sys::Result<Direction> parse_direction(std::string_view text);

/// Tags that are signatures, attestations or SBOMs stored next to an image by cosign
/// (`*.sig`, `*.att`, `*.sbom`, `sha256-*`): never candidates under any policy.
bool is_artifact_tag(std::string_view tag);

/// What select() found. Tags are returned exactly as the registry lists them.
struct Selection {
    /// Every candidate tag, most preferred first (for semver: highest precedence first).
    std::vector<std::string> matches;
    /// The tag to run: the most preferred match, or `current` when no_downgrade keeps it;
    /// nullopt when nothing matches (then the caller keeps whatever runs).
    std::optional<std::string> selected;
    /// True when no_downgrade kept `current` over a different, not higher-ranked best match.
    bool kept_current = false;
};

class TagPolicy {
public:
    /// A semver range (Constraint syntax). Error: the range's parse error.
    static sys::Result<TagPolicy> semver(std::string_view range);
    /// A PCRE2 pattern, ordered by its key (see TagPattern::key). Error: the compile error.
    static sys::Result<TagPolicy> regex(std::string_view pattern, RegexOrder order,
                                        Direction direction = Direction::Ascending);

    /// Candidates among `tags` and the one to run.
    /// semver: tags that are strict semver (optional `v`) and satisfy the range.
    /// regex: tags the pattern matches; for numerical order the key must be a decimal number
    /// (`-?[0-9]+(\.[0-9]+)?`), other tags are skipped.
    /// Artifact tags are never candidates. Ties in rank are broken by the tag text (byte order,
    /// higher preferred) so the result does not depend on the registry's listing order.
    /// `no_downgrade`: when there are matches, `current` can be ranked under this policy (a
    /// version for semver, a key for regex) and no match ranks strictly above it, `current`
    /// stays selected, even when it no longer satisfies the policy. An unrankable `current`
    /// (e.g. "latest") gives no protection.
    Selection select(const std::vector<std::string>& tags,
                     const std::optional<std::string>& current, bool no_downgrade = true) const;

    /// For logs: `semver "^1.2"`, `regex "^main-(?P<ts>\d+)$" numerical`.
    std::string describe() const;

private:
    struct Regex {
        TagPattern pattern;
        RegexOrder order = RegexOrder::Alphabetical;
        Direction direction = Direction::Ascending;
    };
    explicit TagPolicy(std::variant<Constraint, Regex> rule) : m_rule(std::move(rule)) {}

    std::variant<Constraint, Regex> m_rule;
};

/// Compares two decimal numbers written as `-?[0-9]+(\.[0-9]+)?` exactly (no floating point,
/// so 20240101120000123 and ...124 stay apart). nullopt if either is not such a number.
std::optional<int> compare_decimal(std::string_view a, std::string_view b);

}  // namespace agentd::policy
