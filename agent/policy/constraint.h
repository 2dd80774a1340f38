#pragma once
// Constraint: a semver range in the syntax and with the semantics of Masterminds/semver v3 (the
// library behind Flux ImagePolicy and Helm), so ranges users already wrote for those tools mean
// the same here. docs/policies.md describes the syntax for users.
//
//   range       := and-group ( "||" and-group )*
//   and-group   := comparator ( ( whitespace | "," ) comparator )*  |  hyphen ranges in between
//   comparator  := [op] version        op: = != > < >= => <= =< ~ ~> ^
//   hyphen      := version " - " version     (inclusive: >= low, <= high)
//   version     := [v] N[.N[.N]][-pre][+build], where an N may be x, X or * (wildcard)
//
// Pre-releases (Masterminds v3.4 rule): a version with a pre-release satisfies an and-group only
// if some comparator of that group names a pre-release; then each comparator compares by plain
// semver precedence. So `^1.2` never picks 1.3.0-rc.1, while `>=1.2.0-0 <2` does.

#include <string>
#include <string_view>
#include <vector>

#include "agent/policy/version.h"
#include "agent/sys/result.h"

namespace agentd::policy {

class Constraint {
public:
    /// Parses a range. InvalidInput error naming the offending part for anything else, e.g.
    /// `semver range ">=1.2 <<2": unknown operator "<<"`. An empty range is an error.
    static sys::Result<Constraint> parse(std::string_view text);

    /// True when `version` satisfies at least one and-group.
    bool matches(const Version& version) const;

    /// The range as the user wrote it.
    const std::string& text() const { return m_text; }

    enum class Op { Equal, NotEqual, Greater, Less, GreaterEqual, LessEqual, Tilde, Caret };
    /// Which part of a partial version is a wildcard: "*" (Major), "1" or "1.x" (Minor),
    /// "1.2" or "1.2.x" (Patch), "1.2.3" (None). Missing parts count as wildcards.
    enum class Wildcard { None, Major, Minor, Patch };

    /// One `op version` term; missing or wildcard numbers are 0 in `version`.
    struct Comparator {
        Op op = Op::Equal;
        Version version;
        Wildcard wildcard = Wildcard::None;
    };
    struct Group {
        std::vector<Comparator> comparators;
        bool names_prerelease = false;  ///< some comparator's version has a pre-release
    };
    const std::vector<Group>& groups() const { return m_groups; }

private:
    std::string m_text;
    std::vector<Group> m_groups;
};

}  // namespace agentd::policy
