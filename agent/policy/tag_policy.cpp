#include "agent/policy/tag_policy.h"

#include <algorithm>

#include "agent/policy/version.h"

namespace agentd::policy {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct Decimal {
    bool negative = false;
    std::string_view integer;   ///< without leading zeros
    std::string_view fraction;  ///< without trailing zeros
};

std::optional<Decimal> parse_decimal(std::string_view s) {
    Decimal d;
    if (!s.empty() && s[0] == '-') {
        d.negative = true;
        s.remove_prefix(1);
    }
    const std::size_t dot = s.find('.');
    std::string_view integer = s.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
    if (integer.empty() || !std::all_of(integer.begin(), integer.end(), is_digit) ||
        (dot != std::string_view::npos &&
         (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), is_digit)))) {
        return std::nullopt;
    }
    while (!integer.empty() && integer[0] == '0') {
        integer.remove_prefix(1);
    }
    while (!fraction.empty() && fraction.back() == '0') {
        fraction.remove_suffix(1);
    }
    d.integer = integer;
    d.fraction = fraction;
    if (integer.empty() && fraction.empty()) {
        d.negative = false;  // -0 is 0
    }
    return d;
}

// A candidate tag and what it is ranked by.
struct Candidate {
    std::string tag;
    std::variant<Version, std::string> key;
};

}  // namespace

std::optional<int> compare_decimal(std::string_view a, std::string_view b) {
    const auto x = parse_decimal(a);
    const auto y = parse_decimal(b);
    if (!x || !y) {
        return std::nullopt;
    }
    if (x->negative != y->negative) {
        return x->negative ? -1 : 1;
    }
    int magnitude = 0;
    if (x->integer.size() != y->integer.size()) {
        magnitude = x->integer.size() < y->integer.size() ? -1 : 1;
    } else if (const int c = x->integer.compare(y->integer); c != 0) {
        magnitude = sign_of(c);
    } else {
        // Trailing zeros are gone, so the shorter of two fractions sharing a prefix is smaller.
        magnitude = sign_of(x->fraction.compare(y->fraction));
    }
    return x->negative ? -magnitude : magnitude;
}

sys::Result<RegexOrder> parse_regex_order(std::string_view text) {
    if (text == "alphabetical") {
        return RegexOrder::Alphabetical;
    }
    if (text == "numerical") {
        return RegexOrder::Numerical;
    }
    return sys::Error::invalid("order \"" + std::string(text) +
                               "\": expected alphabetical or numerical");
}

sys::Result<Direction> parse_direction(std::string_view text) {
    if (text == "asc") {
        return Direction::Ascending;
    }
    if (text == "desc") {
        return Direction::Descending;
    }
    return sys::Error::invalid("direction \"" + std::string(text) + "\": expected asc or desc");
}

bool is_artifact_tag(std::string_view tag) {
    return tag.substr(0, 7) == "sha256-" || ends_with(tag, ".sig") || ends_with(tag, ".att") ||
           ends_with(tag, ".sbom");
}

sys::Result<TagPolicy> TagPolicy::semver(std::string_view range) {
    auto constraint = Constraint::parse(range);
    if (!constraint) {
        return constraint.error();
    }
    return TagPolicy(std::move(*constraint));
}

sys::Result<TagPolicy> TagPolicy::regex(std::string_view pattern, RegexOrder order,
                                        Direction direction) {
    auto compiled = TagPattern::compile(pattern);
    if (!compiled) {
        return compiled.error();
    }
    return TagPolicy(Regex{std::move(*compiled), order, direction});
}

std::string TagPolicy::describe() const {
    if (const auto* c = std::get_if<Constraint>(&m_rule)) {
        return "semver \"" + c->text() + "\"";
    }
    const auto& r = std::get<Regex>(m_rule);
    return "regex \"" + r.pattern.pattern() + "\" " +
           (r.order == RegexOrder::Numerical ? "numerical" : "alphabetical") +
           (r.direction == Direction::Descending ? " desc" : "");
}

Selection TagPolicy::select(const std::vector<std::string>& tags,
                            const std::optional<std::string>& current, bool no_downgrade) const {
    const auto* constraint = std::get_if<Constraint>(&m_rule);
    const auto* regex = std::get_if<Regex>(&m_rule);

    // The rank key of a tag under this policy, whether or not the tag satisfies the policy
    // (no_downgrade ranks the current tag even when the range has moved past it).
    auto rank_key =
        [&](const std::string& tag) -> std::optional<std::variant<Version, std::string>> {
        if (is_artifact_tag(tag)) {
            return std::nullopt;
        }
        if (constraint) {
            auto v = Version::parse(tag);
            if (!v) {
                return std::nullopt;
            }
            return std::variant<Version, std::string>(std::move(*v));
        }
        auto key = regex->pattern.key(tag);
        if (!key || (regex->order == RegexOrder::Numerical && !compare_decimal(*key, *key))) {
            return std::nullopt;
        }
        return std::variant<Version, std::string>(std::move(*key));
    };
    // <0, 0, >0 as `a` ranks below, equal to or above `b` (most preferred is highest).
    auto compare_keys = [&](const std::variant<Version, std::string>& a,
                            const std::variant<Version, std::string>& b) {
        if (constraint) {
            const auto order = std::get<Version>(a) <=> std::get<Version>(b);
            return order < 0 ? -1 : (order > 0 ? 1 : 0);
        }
        const auto& x = std::get<std::string>(a);
        const auto& y = std::get<std::string>(b);
        const int c = regex->order == RegexOrder::Numerical ? compare_decimal(x, y).value_or(0)
                                                            : sign_of(x.compare(y));
        return regex->direction == Direction::Descending ? -c : c;
    };

    std::vector<Candidate> candidates;
    for (const auto& tag : tags) {
        auto key = rank_key(tag);
        if (!key) {
            continue;
        }
        if (constraint && !constraint->matches(std::get<Version>(*key))) {
            continue;
        }
        candidates.push_back({tag, std::move(*key)});
    }
    std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
        const int c = compare_keys(a.key, b.key);
        return c != 0 ? c > 0 : a.tag > b.tag;
    });
    // A registry may list a tag twice; report it once.
    candidates.erase(
        std::unique(candidates.begin(), candidates.end(),
                    [](const Candidate& a, const Candidate& b) { return a.tag == b.tag; }),
        candidates.end());

    Selection selection;
    for (const auto& c : candidates) {
        selection.matches.push_back(c.tag);
    }
    if (!candidates.empty()) {
        selection.selected = candidates.front().tag;
    }
    if (no_downgrade && current && !candidates.empty()) {
        if (const auto current_key = rank_key(*current)) {
            // Equal rank also keeps the current tag: v1.2.3 and 1.2.3 (or 1.2.3+b1 and 1.2.3+b2)
            // are the same version, and switching between them would only churn.
            if (compare_keys(candidates.front().key, *current_key) <= 0) {
                selection.kept_current = candidates.front().tag != *current;
                selection.selected = *current;
            }
        }
    }
    return selection;
}

}  // namespace agentd::policy
