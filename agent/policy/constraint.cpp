#include "agent/policy/constraint.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace agentd::policy {

namespace {

using Op = Constraint::Op;
using Wildcard = Constraint::Wildcard;
using Comparator = Constraint::Comparator;

struct OpName {
    std::string_view text;
    Op op;
};

// `=>` and `=<` are Masterminds' aliases of `>=` and `<=`; `~>` is its alias of `~`.
constexpr std::array<OpName, 11> k_ops = {{
    {"=", Op::Equal},
    {"!=", Op::NotEqual},
    {">", Op::Greater},
    {"<", Op::Less},
    {">=", Op::GreaterEqual},
    {"=>", Op::GreaterEqual},
    {"<=", Op::LessEqual},
    {"=<", Op::LessEqual},
    {"~", Op::Tilde},
    {"~>", Op::Tilde},
    {"^", Op::Caret},
}};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_op_char(char c) {
    return c == '=' || c == '!' || c == '>' || c == '<' || c == '~' || c == '^';
}
bool is_token_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '+' || c == '*';
}
bool is_wildcard(std::string_view s) {
    return s == "x" || s == "X" || s == "*";
}

std::string quote(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

// A version as written in a range: partial ("1.2"), with wildcards ("1.x", "*"), with an
// optional `v`, pre-release and build metadata.
sys::Result<Comparator> parse_partial(Op op, std::string_view token) {
    auto parts = split_version(token);
    if (!parts) {
        return sys::Error::invalid(quote(token) + ": " + parts.error().message);
    }
    std::string_view rest = parts->core;
    std::vector<std::string> build = std::move(parts->build);
    std::vector<std::string> pre = std::move(parts->prerelease);
    std::uint64_t numbers[3] = {0, 0, 0};
    std::optional<int> first_wildcard;
    int count = 0;
    while (true) {
        const std::size_t dot = rest.find('.');
        const std::string_view part = rest.substr(0, dot);
        if (count == 3) {
            return sys::Error::invalid(quote(token) + ": more than three version parts");
        }
        if (is_wildcard(part)) {
            if (!first_wildcard) {
                first_wildcard = count;
            }
        } else if (first_wildcard) {
            return sys::Error::invalid(quote(token) + ": a number after a wildcard");
        } else if (const auto n = parse_number(part)) {
            numbers[count] = *n;
        } else {
            return sys::Error::invalid(quote(token) + ": " + quote(part) +
                                       " is not a number (no leading zeros, at most 64 bits), "
                                       "x, X or *");
        }
        ++count;
        if (dot == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(dot + 1);
    }
    const int fixed = first_wildcard ? *first_wildcard : count;
    const Wildcard wildcard = fixed == 0   ? Wildcard::Major
                              : fixed == 1 ? Wildcard::Minor
                              : fixed == 2 ? Wildcard::Patch
                                           : Wildcard::None;
    return Comparator{op,
                      Version(numbers[0], numbers[1], numbers[2], std::move(pre), std::move(build)),
                      wildcard};
}

// One and-group: comparators separated by whitespace or one comma, and hyphen ranges.
sys::Result<Constraint::Group> parse_group(std::string_view text) {
    Constraint::Group group;
    std::size_t pos = 0;
    bool separated = true;  // whitespace or a comma since the last comparator
    bool pending_comma = false;
    auto skip_space = [&] {
        const std::size_t start = pos;
        while (pos < text.size() && is_space(text[pos])) {
            ++pos;
        }
        return pos > start;
    };
    auto read_token = [&] {
        const std::size_t start = pos;
        while (pos < text.size() && is_token_char(text[pos])) {
            ++pos;
        }
        return text.substr(start, pos - start);
    };
    while (true) {
        if (skip_space()) {
            separated = true;
        }
        if (pos == text.size()) {
            break;
        }
        if (text[pos] == ',') {
            if (group.comparators.empty() || pending_comma) {
                return sys::Error::invalid("unexpected \",\" at position " + std::to_string(pos));
            }
            pending_comma = true;
            separated = true;
            ++pos;
            continue;
        }
        const std::size_t start = pos;
        if (!separated && !is_op_char(text[pos])) {
            return sys::Error::invalid("unexpected " + quote(text.substr(pos, 1)) +
                                       " at position " + std::to_string(pos));
        }
        if (!separated) {
            return sys::Error::invalid("missing space or comma before " +
                                       quote(text.substr(start)));
        }
        while (pos < text.size() && is_op_char(text[pos])) {
            ++pos;
        }
        const std::string_view op_text = text.substr(start, pos - start);
        Op op = Op::Equal;
        if (!op_text.empty()) {
            const auto* found = std::find_if(k_ops.begin(), k_ops.end(),
                                             [&](const OpName& o) { return o.text == op_text; });
            if (found == k_ops.end()) {
                return sys::Error::invalid("unknown operator " + quote(op_text));
            }
            op = found->op;
            skip_space();
        }
        const std::string_view token = read_token();
        if (token.empty()) {
            if (pos < text.size()) {
                return sys::Error::invalid("unexpected " + quote(text.substr(pos, 1)) +
                                           " at position " + std::to_string(pos));
            }
            return sys::Error::invalid("operator " + quote(op_text) + " needs a version");
        }
        if (token[0] == '-') {
            return sys::Error::invalid("unexpected " + quote(token) +
                                       " (a hyphen range is written LOW - HIGH, with spaces and "
                                       "no operator)");
        }
        auto comparator = parse_partial(op, token);
        if (!comparator) {
            return comparator.error();
        }
        // A hyphen range: an operator-less version, " - ", another version.
        const std::size_t after = pos;
        bool hyphen = false;
        if (op_text.empty() && skip_space() && pos + 1 < text.size() && text[pos] == '-' &&
            is_space(text[pos + 1])) {
            ++pos;
            skip_space();
            const std::string_view high = read_token();
            if (high.empty()) {
                return sys::Error::invalid("hyphen range " + quote(text.substr(start)) +
                                           " needs an upper bound");
            }
            auto upper = parse_partial(Op::LessEqual, high);
            if (!upper) {
                return upper.error();
            }
            comparator->op = Op::GreaterEqual;
            group.comparators.push_back(std::move(*comparator));
            group.comparators.push_back(std::move(*upper));
            hyphen = true;
        }
        if (!hyphen) {
            pos = after;
            group.comparators.push_back(std::move(*comparator));
        }
        separated = false;
        pending_comma = false;
    }
    if (pending_comma) {
        return sys::Error::invalid("trailing \",\"");
    }
    if (group.comparators.empty()) {
        return sys::Error::invalid("empty alternative");
    }
    for (const auto& c : group.comparators) {
        group.names_prerelease = group.names_prerelease || c.version.is_prerelease();
    }
    return group;
}

// ~1.2.3 and 1.2.x style: at least the constraint, and the same major (and minor unless the
// minor is a wildcard). ~0.0.0 and ~* take anything.
bool tilde(const Comparator& c, const Version& v) {
    const Version& con = c.version;
    if (v < con) {
        return false;
    }
    if (con.major() == 0 && con.minor() == 0 && con.patch() == 0 && c.wildcard != Wildcard::Minor &&
        c.wildcard != Wildcard::Patch) {
        return true;
    }
    if (v.major() != con.major()) {
        return false;
    }
    return v.minor() == con.minor() || c.wildcard == Wildcard::Minor;
}

// ^: the leftmost non-zero part of the constraint stays fixed (with 0.0 and 0 treating the
// missing part as the fixed one, as Masterminds does: ^0 := <1.0.0, ^0.0 := <0.1.0).
bool caret(const Comparator& c, const Version& v) {
    const Version& con = c.version;
    if (c.wildcard == Wildcard::Major) {
        return true;  // ^* is "any" (Masterminds documents it so)
    }
    if (v < con) {
        return false;
    }
    if (con.major() > 0 || c.wildcard == Wildcard::Minor) {
        return v.major() == con.major();
    }
    if (v.major() > 0) {
        return false;
    }
    if (con.minor() > 0 || c.wildcard == Wildcard::Patch) {
        return v.minor() == con.minor();
    }
    if (v.minor() > 0) {
        return false;
    }
    return v.patch() == con.patch();
}

bool not_equal(const Comparator& c, const Version& v) {
    const Version& con = c.version;
    if (c.wildcard != Wildcard::None) {
        if (v.major() != con.major()) {
            return true;
        }
        if (c.wildcard == Wildcard::Minor) {
            return false;
        }
        if (v.minor() != con.minor()) {
            return true;
        }
        if (c.wildcard == Wildcard::Patch) {
            // Same major.minor as "!=1.2.x": only a different pre-release differs.
            return compare_prerelease(v.prerelease(), con.prerelease()) != 0;
        }
        if (v.patch() != con.patch()) {
            return true;
        }
    }
    return v != con;
}

// >1.2 means above every 1.2.x, i.e. >=1.3.0; >1 means >=2.0.0.
bool greater(const Comparator& c, const Version& v) {
    const Version& con = c.version;
    if (c.wildcard == Wildcard::None || c.wildcard == Wildcard::Major) {
        return v > con;
    }
    if (v.major() != con.major()) {
        return v.major() > con.major();
    }
    if (c.wildcard == Wildcard::Minor) {
        return false;
    }
    return v.minor() > con.minor();
}

// <=1.2 means up to every 1.2.x, i.e. <1.3.0; <=1 means <2.0.0.
bool less_equal(const Comparator& c, const Version& v) {
    const Version& con = c.version;
    if (c.wildcard == Wildcard::None) {
        return v <= con;
    }
    if (v.major() > con.major()) {
        return false;
    }
    return !(v.major() == con.major() && v.minor() > con.minor() && c.wildcard != Wildcard::Minor);
}

bool satisfies(const Comparator& c, const Version& v) {
    switch (c.op) {
        case Op::Equal:
            return c.wildcard == Wildcard::None ? v == c.version : tilde(c, v);
        case Op::NotEqual:
            return not_equal(c, v);
        case Op::Greater:
            return greater(c, v);
        case Op::Less:
            return v < c.version;
        case Op::GreaterEqual:
            return v >= c.version;
        case Op::LessEqual:
            return less_equal(c, v);
        case Op::Tilde:
            return tilde(c, v);
        case Op::Caret:
            return caret(c, v);
    }
    return false;
}

}  // namespace

sys::Result<Constraint> Constraint::parse(std::string_view text) {
    Constraint constraint;
    constraint.m_text = std::string(text);
    auto fail = [&](const std::string& why) {
        return sys::Error::invalid("semver range " + quote(text) + ": " + why);
    };
    std::size_t start = 0;
    while (true) {
        const std::size_t bar = text.find("||", start);
        const std::string_view part = text.substr(
            start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
        auto group = parse_group(part);
        if (!group) {
            const bool several = bar != std::string_view::npos || start > 0;
            return fail(group.error().message + (several ? " in " + quote(part) : ""));
        }
        constraint.m_groups.push_back(std::move(*group));
        if (bar == std::string_view::npos) {
            break;
        }
        start = bar + 2;
    }
    return constraint;
}

bool Constraint::matches(const Version& version) const {
    for (const auto& group : m_groups) {
        // A pre-release is only a candidate for a group that asks for pre-releases.
        if (version.is_prerelease() && !group.names_prerelease) {
            continue;
        }
        bool all = true;
        for (const auto& c : group.comparators) {
            if (!satisfies(c, version)) {
                all = false;
                break;
            }
        }
        if (all) {
            return true;
        }
    }
    return false;
}

}  // namespace agentd::policy
