#include "agent/policy/constraint.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace unit_policy_constraint_test {

using agentd::policy::Constraint;
using agentd::policy::Version;

namespace {

// One row: does `version` satisfy `range`?
struct Row {
    const char* range;
    const char* version;
    bool expected;
};

void check_rows(const std::vector<Row>& rows) {
    for (const auto& row : rows) {
        INFO("range \"" << row.range << "\" version " << row.version);
        auto constraint = Constraint::parse(row.range);
        REQUIRE(constraint.ok());
        auto version = Version::parse(row.version);
        REQUIRE(version.ok());
        CHECK(constraint->matches(*version) == row.expected);
    }
}

}  // namespace

TEST_CASE("constraint: exact and = compare by precedence", "[policy]") {
    check_rows({
        {"1.2.3", "1.2.3", true},
        {"1.2.3", "1.2.4", false},
        {"1.2.3", "1.2.2", false},
        {"=1.2.3", "1.2.3", true},
        {"= 1.2.3", "1.2.3", true},
        {"=1.2.3", "1.2.3+build.7", true},  // build metadata ignored
        {"1.2.3+abc", "1.2.3+def", true},
        {"v1.2.3", "1.2.3", true},
        {"=v1.2.3", "1.2.3", true},
        {"=2.0.0", "1.2.3", false},
        {"=2.0.0", "2.0.0", true},
        {"1.2.3-rc.1", "1.2.3-rc.1", true},
        {"1.2.3-rc.1", "1.2.3-rc.2", false},
        {"1.2.3-rc.1", "1.2.3", false},
    });
}

TEST_CASE("constraint: != excludes a version or a wildcard family", "[policy]") {
    check_rows({
        {"!=1.2.3", "1.2.3", false},
        {"!=1.2.3", "1.2.4", true},
        {"!= 1.2.3", "1.2.4", true},
        {"!=4.1.0", "4.1.1", true},
        {"!=4.1", "4.1.0", false},  // != 4.1.x
        {"!=4.1", "4.1.1", false},
        {"!=4.1", "5.1.0", true},
        {"!=4.1", "4.2.0", true},
        {"!=4.x", "4.1.0", false},
        {"!=4.x", "4.9.9", false},
        {"!=4.x", "5.1.0", true},
        {"!=4.1.x", "4.2.0", true},
        {"!=4.2.x", "4.2.3", false},
        {"!=4.1", "5.1.0-alpha.1", false},  // a pre-release is not looked for
        {"!=4.1.0", "5.1.0-alpha.1", false},
        {"!=4.1-alpha", "4.1.0", true},
        {"!=4.1-alpha", "4.1.0-alpha", false},
        {"!=4.1-alpha", "4.1.0-beta", true},
        {"!=1.2.3-rc.1", "1.2.3-rc.2", true},
    });
}

TEST_CASE("constraint: > and >= with full and partial versions", "[policy]") {
    check_rows({
        {">1.2.3", "1.2.4", true},      {">1.2.3", "1.2.3", false},    {">1.2.3", "1.2.3+b", false},
        {"> 1.2.3", "2.0.0", true},     {">1.1", "4.1.0", true},       {">1.1", "1.1.0", false},
        {">1.1", "1.1.9", false},                                  // >1.1 is above every 1.1.x
        {">1.1", "1.2.0", true},        {">11", "11.1.0", false},  // >11 is above every 11.x
        {">11", "12.0.0", true},        {">11.1", "11.1.1", false},    {">11.1", "11.2.1", true},
        {">11.1", "10.9.9", false},     {">1.x", "1.9.9", false},      {">1.x", "2.0.0", true},
        {">1.2.x", "1.2.99", false},    {">1.2.x", "1.3.0", true},     {">0", "0.9.9", false},
        {">0", "1.0.0", true},          {">=1.2.3", "1.2.3", true},    {">=1.2.3", "1.2.2", false},
        {">= 1.2.3", "9.0.0", true},    {"=>1.2.3", "1.2.3", true},  // Masterminds alias
        {"=> 1.2", "1.1.9", false},     {">=1.1", "1.1.0", true},      {">=1.1", "0.0.9", false},
        {">=11", "11.1.2", true},       {">=11.1", "11.0.2", false},   {">=0", "0.0.0", true},
        {">=1.1", "4.1.0-beta", false}, {">=0", "0.0.1-alpha", false},
    });
}

TEST_CASE("constraint: < and <= with full and partial versions", "[policy]") {
    check_rows({
        {"<1.2.3", "1.2.2", true},        {"<1.2.3", "1.2.3", false},
        {"< 1.4.1", "1.4.0", true},       {"<11", "0.1.0", true},
        {"<11", "11.0.0", false},         {"<11", "11.1.0", false},
        {"<1.1", "1.0.9", true},          {"<1.1", "1.1.0", false},
        {"<1.1", "1.1.1", false},         {"<1.x", "0.1.1", true},
        {"<1.x", "1.1.1", false},         {"<1.x", "2.0.0", false},
        {"<1.1.x", "1.0.500", true},      {"<1.1.x", "1.1.500", false},
        {"<1.2.x", "1.1.1", true},        {"<=1.2.3", "1.2.3", true},
        {"<=1.2.3", "1.2.4", false},      {"=<1.2.3", "1.2.3", true},  // Masterminds alias
        {"<=11", "1.2.3", true},          {"<=11", "11.2.3", true},    // <=11 is up to every 11.x
        {"<=11", "12.2.3", false},        {"<=1.1", "0.1.0", true},
        {"<=1.1", "1.1.0", true},         {"<=1.1", "1.1.1", true},  // <=1.1 is up to every 1.1.x
        {"<=1.1", "1.2.3", false},        {"<=1.x", "1.1.0", true},
        {"<=2.x", "3.0.0", false},        {"<=1.1.x", "1.1.500", true},
        {"<=1.1.x", "1.2.500", false},    {"<=4.5", "3.7.0", true},
        {"<=4.5", "4.6.3", false},        {"<=1.1", "0.1.0-alpha", false},
        {"<=1.1-a", "0.1.0-alpha", true},
    });
}

TEST_CASE("constraint: tilde keeps major.minor (or major for ~N)", "[policy]") {
    check_rows({
        {"~1.2.3", "1.2.3", true},
        {"~1.2.3", "1.2.4", true},
        {"~1.2.3", "1.2.99", true},
        {"~1.2.3", "1.2.2", false},
        {"~1.2.3", "1.3.0", false},
        {"~1.2", "1.2.0", true},
        {"~1.2", "1.2.4", true},
        {"~1.2", "1.3.0", false},
        {"~1.2", "1.1.9", false},
        {"~1", "1.0.0", true},
        {"~1", "1.9.9", true},
        {"~1", "2.0.0", false},
        {"~1", "0.9.9", false},
        {"~1.x", "1.3.5", true},
        {"~1.x", "2.1.1", false},
        {"~0.2.3", "0.2.5", true},
        {"~0.2.3", "0.3.5", false},
        {"~0", "0.9.0", true},
        {"~0", "1.0.0", false},
        {"~0.0", "0.0.9", true},
        {"~0.0", "0.1.0", false},
        {"~*", "2.1.1", true},
        {"~0.0.0", "1.2.3", true},   // Masterminds: ~0.0.0 takes anything
        {"~>1.2.3", "1.2.9", true},  // Masterminds alias
        {"~> 1.2", "1.3.0", false},
        {"~1.1", "1.1.1-alpha", false},
        {"~1.2.3-beta.2", "1.2.3-beta.4", true},
        {"~1.2.3-beta.2", "1.2.4-beta.2", true},
        {"~1.2.3-beta.2", "1.3.4-beta.2", false},
        {"~1.2.3-beta.2", "1.2.3-beta.1", false},
        {"~1.3.5-alpha", "1.3.5-beta", true},
        {"~1.3.5-beta", "1.3.5-alpha", false},
        {"~1.3.6-alpha", "1.3.5-beta", false},
        {"~1.1.1-beta", "1.1.1", true},
    });
}

TEST_CASE("constraint: caret keeps the leftmost non-zero part", "[policy]") {
    check_rows({
        {"^1.2.3", "1.2.3", true},
        {"^1.2.3", "1.8.9", true},
        {"^1.2.3", "1.99.99", true},
        {"^1.2.3", "2.0.0", false},
        {"^1.2.3", "1.2.1", false},
        {"^1.2", "1.2.0", true},
        {"^1.2", "1.8.9", true},
        {"^1.2", "2.8.9", false},
        {"^1.2", "1.1.9", false},
        {"^1", "1.0.0", true},
        {"^1", "1.8.9", true},
        {"^1", "2.0.0", false},
        {"^1.x", "1.1.1", true},
        {"^1.x", "2.1.1", false},
        {"^2.x", "1.1.1", false},
        {"^0.2.3", "0.2.3", true},
        {"^0.2.3", "0.2.5", true},
        {"^0.2.3", "0.3.0", false},
        {"^0.2.3", "0.2.2", false},
        {"^0.2.3", "1.0.0", false},
        {"^0.2", "0.2.0", true},
        {"^0.2", "0.2.9", true},
        {"^0.2", "0.3.0", false},
        {"^0.0.3", "0.0.3", true},
        {"^0.0.3", "0.0.4", false},
        {"^0.0.3", "0.0.2", false},
        {"^0.0.3", "0.1.3", false},
        {"^0.0", "0.0.0", true},
        {"^0.0", "0.0.3", true},
        {"^0.0", "0.1.0", false},
        {"^0.0", "1.0.4", false},
        {"^0.0.x", "0.0.9", true},
        {"^0.0.x", "0.1.0", false},
        {"^0", "0.0.0", true},
        {"^0", "0.2.3", true},
        {"^0", "1.0.0", false},
        {"^0.x", "0.9.9", true},
        {"^0.x", "1.0.0", false},
        {"^0.0.0", "0.0.0", true},
        {"^0.0.0", "0.0.1", false},
        {"^0.0.0", "1.2.3", false},
        {"^*", "0.0.1", true},
        {"^*", "7.1.0", true},
        {"^1.2.0", "1.2.1-alpha.1", false},
        {"^1.2.0-alpha.0", "1.2.1-alpha.1", true},
        {"^1.2.0-alpha.0", "1.2.0-alpha.0", true},
        {"^1.2.0-alpha.2", "1.2.0-alpha.1", false},
        {"^1.1.2-alpha", "1.2.1-beta1", true},
        {"^1.2.x-alpha", "1.1.1-beta1", false},
        {"^0.2.3-beta.2", "0.2.4-beta.2", true},
        {"^0.2.3-beta.2", "0.3.4-beta.2", false},
        {"^1.x", "1.1.1-beta1", false},
    });
}

TEST_CASE("constraint: wildcards and partial versions", "[policy]") {
    check_rows({
        {"*", "0.0.0", true},          {"*", "1.2.3", true},           {"*", "99.0.0", true},
        {"x", "4.5.6", true},          {"X", "4.5.6", true},           {"x.x.x", "4.5.6", true},
        {"*", "1.2.3-alpha.1", false}, {"*-0", "1.2.3-alpha.1", true}, {"2.*", "1.0.0", false},
        {"2.*", "2.1.1", true},        {"2.*", "3.4.5", false},        {"2.x.x", "2.9.9", true},
        {"2.1.*", "2.1.1", true},      {"2.1.*", "2.2.1", false},      {"2.1.X", "2.1.0", true},
        {"2", "1.0.0", false},         {"2", "2.1.1", true},           {"2", "3.4.5", false},
        {"2.1", "2.1.1", true},  // "2.1" means 2.1.x
        {"2.1", "2.2.1", false},       {"=2.0", "2.0.0", true},        {"=2.0", "2.0.1", true},
        {"= 2.0", "1.2.3", false},     {"4.1", "4.1.0", true},         {"4.1.x", "4.1.3", true},
        {"0.x.x", "1.2.3", false},     {"0.0.x", "1.2.3", false},      {"0.0.0", "1.2.3", false},
        {"=0", "1.0.0", false},        {"v1.x", "1.5.0", true},
    });
}

TEST_CASE("constraint: hyphen ranges are inclusive", "[policy]") {
    check_rows({
        {"1.2 - 1.4.5", "1.2.0", true},
        {"1.2 - 1.4.5", "1.4.5", true},
        {"1.2 - 1.4.5", "1.4.6", false},
        {"1.2 - 1.4.5", "1.1.9", false},
        {"1.2.3 - 2.3", "1.2.3", true},
        {"1.2.3 - 2.3", "2.3.9", true},  // partial upper bound: <2.4.0
        {"1.2.3 - 2.3", "2.4.0", false},
        {"1.2.3 - 2.3", "1.2.2", false},
        {"1.1 - 2", "1.1.1", true},
        {"1.1 - 2", "2.9.9", true},
        {"1.1 - 2", "3.0.0", false},
        {"1.5.0 - 4.5", "3.7.0", true},
        {"1.1 - 3", "4.3.2", false},
        {"1.1-3", "4.3.2", false},  // no spaces: version 1.1 with pre-release "3"
        {"1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true},
        {"1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true},
        {"1.0.0 - 2.0.0 !=1.5.0", "1.5.0", false},
        {"v1.0.0 - v2.0.0", "2.0.0", true},
        {"1.0.0 - 2.0.0 || 3.0.0 - 3.1.0", "3.0.5", true},
        {"1.0.0 - 2.0.0 || 3.0.0 - 3.1.0", "2.5.0", false},
        {"1.0.0-rc.1 - 1.0.0", "1.0.0-rc.2", true},
    });
}

TEST_CASE("constraint: AND with commas or spaces, OR with ||", "[policy]") {
    check_rows({
        {">1.1, <2", "1.1.1", false},
        {">1.1, <2", "1.2.1", true},
        {">1.1, <3", "4.3.2", false},
        {">1.1 <2", "1.2.1", true},
        {">1.1    <3", "4.3.2", false},
        {"> 1.1 , < 2", "1.5.0", true},
        {">= 1.1,<2", "1.5.0", true},
        {"\t>=1.1\t<2\t", "1.5.0", true},
        {">=1.1, <2, !=1.2.3", "1.2.3", false},
        {">=1.1 <2 !=1.2.3", "1.2.4", true},
        {">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true},
        {">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false},
        {">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true},
        {">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false},
        {">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false},
        {">= 1.2.3 < 2.0 || => 3.0 < 4", "3.5.0", true},
        {">= 1.2.3 < 2.0 || => 3.0 < 4", "2.5.0", false},
        {"1.2.3||2.0.0", "2.0.0", true},
        {"^1.0 || ^3.0", "2.0.0", false},
        {"^1.0 || ^3.0", "3.4.0", true},
        {"12.3.34 ~1.2.3", "12.3.34", false},  // both must hold
        {">=1.0.0 <1.0.0", "1.0.0", false},
    });
}

TEST_CASE("constraint: pre-releases only when the and-group names one", "[policy]") {
    check_rows({
        {">1.2.3", "1.2.4-beta.1", false},
        {"^1.2", "1.3.0-rc.1", false},
        {"~1.2", "1.2.5-rc.1", false},
        {">=1.2.0-0", "1.3.0-rc.1", true},
        {">=1.2.0-0 <2", "1.5.0-rc.1", true},  // the group names one: all comparators see it
        {">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true},
        {">= 1.0.0  <= 2.0.0-beta", "1.0.1", true},
        {">= 1.0.0  <= 2.0.0-beta", "3.0.0", false},
        {">= 1.0.0  <= 2.0.0-beta || > 3", "1.0.1-beta", true},
        {">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false},  // other group names none
        {">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3", "1.0.1-beta", true},
        {">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3", "1.0.1-beta", false},
        {">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true},
        {">1.2.3-alpha.1", "1.2.3-alpha.2", true},
        {">1.2.3-alpha.1", "1.3.3-alpha.2", true},
        {">1.2.3-alpha.1", "1.2.3-alpha.1", false},
        {">1.2.3-alpha.1", "1.2.3", true},
        {">0.0.0-0", "0.0.0-alpha", true},
        {">0", "0.0.1-alpha", false},
        {">0-0", "0.0.1-alpha", false},    // >0 is above every 0.x
        {">0.0-0", "0.0.1-alpha", false},  // >0.0 is above every 0.0.x
        {">=0-0", "0.0.1-alpha", true},
        {">=0.0-0", "0.0.1-alpha", true},
        {">=0-0", "0.0.0-alpha", true},
        {">=0.0.0-0", "3.4.5-beta.1", true},
        {">=0.0.0-0", "1.2.3", true},
        {"<0", "0.0.0-alpha", false},
        {"<0-z", "0.0.0-alpha", true},
        {"1.0.0-rc.9 - 1.0.0", "1.0.0-rc.10", true},  // rc.9 < rc.10 numerically
        {">=1.0.0-rc9", "1.0.0-rc10", false},         // rc9 > rc10 as strings
        {">=1.0.0-rc.1", "1.0.0-rc.1+b2", true},
    });
}

TEST_CASE("constraint: invalid ranges are errors naming the offending part", "[policy]") {
    struct Bad {
        const char* range;
        const char* mentions;
    };
    const std::vector<Bad> bad = {
        {"", "empty"},
        {"   ", "empty"},
        {"foo", "\"foo\""},
        {">= bar", "\"bar\""},
        {"BAR >= 1.2.3", "\"BAR\""},
        {">=1.2 <<2", "\"<<\""},
        {"=!1.2", "\"=!\""},
        {">>1", "\">>\""},
        {"~^1", "\"~^\""},
        {">=", "needs a version"},
        {"1.2.3 >=", "needs a version"},
        {"12.3.4.1234", "more than three"},
        {"1.2.3.4 - 2", "more than three"},
        {"12.3.34~ 1.2.3", "missing space or comma"},
        {">1.2.3<2", "missing space or comma"},
        {"01.2.3", "\"01\""},
        {">=1.02", "\"02\""},
        {"1.2.3-01", "leading zero"},
        {"1.2.3-", "empty pre-release"},
        {"1.2.3+", "empty build"},
        {"1.x.3", "after a wildcard"},
        {"*.2", "after a wildcard"},
        {"1.2.3 ||", "empty alternative"},
        {"|| 1.2.3", "empty alternative"},
        {"1.2.3 || || 2.0.0", "empty alternative"},
        {"1.2.3 | 2.0.0", "\"|\""},
        {", 1.2.3", "\",\""},
        {"1.2.3 ,, 2.0.0", "\",\""},
        {"1.2.3,", "trailing"},
        {"1.2 -", "\"-\""},
        {"1.2 - ", "upper bound"},
        {">1.2 - 1.4", "hyphen range"},
        {"1.2 -1.4", "hyphen range"},
        {"18446744073709551616", "64 bits"},
        {"1.2.3 @", "\"@\""},
        {"v", "\"v\""},
        {"1.2.3-rc_1", "unexpected \"_\" at position 8"},
    };
    for (const auto& b : bad) {
        INFO("range \"" << b.range << "\"");
        auto parsed = Constraint::parse(b.range);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().kind == agentd::sys::Error::Kind::InvalidInput);
        CHECK_THAT(parsed.error().message, Catch::Contains(b.mentions));
        CHECK_THAT(parsed.error().message,
                   Catch::StartsWith(std::string("semver range \"") + b.range + "\""));
    }
}

TEST_CASE("constraint: the structure of a parsed range", "[policy]") {
    auto c = Constraint::parse(">= 1.2.3, < 2.0 || 3 - 4 || ~1.2.3-rc.1");
    REQUIRE(c.ok());
    REQUIRE(c->groups().size() == 3);
    CHECK(c->groups()[0].comparators.size() == 2);
    CHECK(c->groups()[0].comparators[1].op == Constraint::Op::Less);
    CHECK(c->groups()[0].comparators[1].wildcard == Constraint::Wildcard::Patch);
    CHECK(c->groups()[1].comparators.size() == 2);
    CHECK(c->groups()[1].comparators[0].op == Constraint::Op::GreaterEqual);
    CHECK(c->groups()[1].comparators[1].op == Constraint::Op::LessEqual);
    CHECK(c->groups()[1].comparators[1].wildcard == Constraint::Wildcard::Minor);
    CHECK_FALSE(c->groups()[0].names_prerelease);
    CHECK(c->groups()[2].names_prerelease);
    CHECK(c->text() == ">= 1.2.3, < 2.0 || 3 - 4 || ~1.2.3-rc.1");
}

}  // namespace unit_policy_constraint_test
