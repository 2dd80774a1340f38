#include "agent/policy/tag_policy.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace unit_policy_tag_policy_test {

using agentd::policy::compare_decimal;
using agentd::policy::Direction;
using agentd::policy::is_artifact_tag;
using agentd::policy::RegexOrder;
using agentd::policy::TagPattern;
using agentd::policy::TagPolicy;
using Tags = std::vector<std::string>;

namespace {

TagPolicy semver(const char* range) {
    auto p = TagPolicy::semver(range);
    REQUIRE(p.ok());
    return *p;
}

TagPolicy regex(const char* pattern, RegexOrder order, Direction d = Direction::Ascending) {
    auto p = TagPolicy::regex(pattern, order, d);
    REQUIRE(p.ok());
    return *p;
}

}  // namespace

TEST_CASE("tag policy: semver picks the highest match and returns tags as written", "[policy]") {
    const Tags tags = {"1.2.3", "v1.4.0", "1.3.9",   "2.0.0",         "1.5.0-rc.1", "latest",
                       "1.4",   "01.4.1", "1.4.1.2", "1.4.2+build.7", "main-123",   "v1.10.0"};
    auto s = semver("^1.2").select(tags, std::nullopt, true);
    CHECK(s.matches == Tags{"v1.10.0", "1.4.2+build.7", "v1.4.0", "1.3.9", "1.2.3"});
    CHECK(s.selected == "v1.10.0");
    CHECK_FALSE(s.kept_current);

    s = semver("~1.4").select(tags, std::nullopt, true);
    CHECK(s.matches == Tags{"1.4.2+build.7", "v1.4.0"});
    CHECK(s.selected == "1.4.2+build.7");

    s = semver(">=1.5.0-0").select(tags, std::nullopt, true);
    CHECK(s.matches == Tags{"2.0.0", "v1.10.0", "1.5.0-rc.1"});

    s = semver(">=3").select(tags, std::nullopt, true);
    CHECK(s.matches.empty());
    CHECK_FALSE(s.selected.has_value());
}

TEST_CASE("tag policy: semver traps in tag lists", "[policy]") {
    // rc.9 < rc.10 numerically; rc9 > rc10 as strings.
    auto s = semver(">=1.0.0-0").select({"1.0.0-rc.9", "1.0.0-rc.10", "1.0.0-rc.2"}, {}, true);
    CHECK(s.matches == Tags{"1.0.0-rc.10", "1.0.0-rc.9", "1.0.0-rc.2"});
    s = semver(">=1.0.0-0").select({"1.0.0-rc9", "1.0.0-rc10"}, {}, true);
    CHECK(s.selected == "1.0.0-rc9");
    // Four-part tags, two-part tags and leading zeros are not versions.
    s = semver("*").select({"1.2.3.4", "1.2", "1.02.3", "v1", "1.0.0"}, {}, true);
    CHECK(s.matches == Tags{"1.0.0"});
    // The release outranks its pre-releases; pre-releases stay out of plain ranges.
    s = semver(">=1.0.0").select({"2.0.0-rc.1", "1.9.0", "2.0.0-beta"}, {}, true);
    CHECK(s.matches == Tags{"1.9.0"});
    // Equal precedence: the tag text breaks the tie, whatever the listing order.
    const Tags a = {"1.0.0+b1", "v1.0.0", "1.0.0", "1.0.0+b2"};
    const Tags b = {"1.0.0+b2", "1.0.0", "v1.0.0", "1.0.0+b1"};
    CHECK(semver("1.0.0").select(a, {}, true).matches ==
          semver("1.0.0").select(b, {}, true).matches);
    CHECK(semver("1.0.0").select(a, {}, true).selected == "v1.0.0");
    // A tag listed twice is reported once.
    CHECK(semver("*").select({"1.0.0", "1.0.0"}, {}, true).matches == Tags{"1.0.0"});
}

TEST_CASE("tag policy: cosign artefacts are never candidates", "[policy]") {
    CHECK(is_artifact_tag("sha256-0123abcd.sig"));
    CHECK(is_artifact_tag("sha256-0123abcd.att"));
    CHECK(is_artifact_tag("sha256-0123abcd.sbom"));
    CHECK(is_artifact_tag("sha256-0123abcd"));
    CHECK(is_artifact_tag("1.2.3.sig"));
    CHECK(is_artifact_tag("v9.9.9.att"));
    CHECK(is_artifact_tag("anything.sbom"));
    CHECK_FALSE(is_artifact_tag("1.2.3"));
    CHECK_FALSE(is_artifact_tag("signature"));
    CHECK_FALSE(is_artifact_tag("sha256"));
    CHECK_FALSE(is_artifact_tag("my-sha256-tag"));
    CHECK_FALSE(is_artifact_tag("1.2.3-sig"));

    const Tags tags = {"sha256-ffff.sig", "sha256-ffff.att", "sha256-ffff.sbom", "1.0.0", "zzz.sig",
                       "sha256-9999999",  "9.sbom"};
    CHECK(semver("*").select(tags, {}, true).matches == Tags{"1.0.0"});
    CHECK(regex(".*", RegexOrder::Alphabetical).select(tags, {}, true).matches == Tags{"1.0.0"});
    CHECK(regex("^(?P<n>[0-9a-z.]+)", RegexOrder::Numerical).select(tags, {}, true).matches ==
          Tags{});
    CHECK(regex("^sha256-(?P<n>\\d+)$", RegexOrder::Numerical).select(tags, {}, true).matches ==
          Tags{});
}

TEST_CASE("tag policy: regex alphabetical on the whole tag", "[policy]") {
    const Tags tags = {"main-b", "main-a", "main-c", "dev-z", "main-", "xmain-d"};
    // Like Go's MatchString the pattern may match anywhere in the tag.
    auto s = regex("main-", RegexOrder::Alphabetical).select(tags, {}, true);
    CHECK(s.matches == Tags{"xmain-d", "main-c", "main-b", "main-a", "main-"});
    s = regex("^main-[a-z]$", RegexOrder::Alphabetical).select(tags, {}, true);
    CHECK(s.matches == Tags{"main-c", "main-b", "main-a"});
    CHECK(s.selected == "main-c");
    // Byte order: uppercase before lowercase, "10" before "9".
    s = regex("^r", RegexOrder::Alphabetical).select({"r9", "r10", "rA", "ra"}, {}, true);
    CHECK(s.matches == Tags{"ra", "rA", "r9", "r10"});
    // Descending prefers the lowest.
    s = regex("^main-[a-z]$", RegexOrder::Alphabetical, Direction::Descending)
            .select(tags, {}, true);
    CHECK(s.matches == Tags{"main-a", "main-b", "main-c"});
}

TEST_CASE("tag policy: regex with one named group orders by the group", "[policy]") {
    const Tags tags = {"main-abc1234-1700000300", "main-fff0000-1700000100",
                       "main-0000000-1700000200", "feature-x-1800000000", "main-junk"};
    // Go/Flux syntax (?P<name>...) and PCRE syntax (?<name>...) both work.
    for (const char* pattern :
         {"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "^main-[a-f0-9]+-(?<ts>[0-9]+)$"}) {
        INFO(pattern);
        auto s = regex(pattern, RegexOrder::Numerical).select(tags, {}, true);
        CHECK(s.matches == Tags{"main-abc1234-1700000300", "main-0000000-1700000200",
                                "main-fff0000-1700000100"});
        CHECK(s.selected == "main-abc1234-1700000300");
    }
    // Alphabetical on the group, not the tag: the tag order would pick "main-fff...".
    auto s =
        regex("^main-[a-f0-9]+-(?P<ts>[0-9]+)$", RegexOrder::Alphabetical).select(tags, {}, true);
    CHECK(s.selected == "main-abc1234-1700000300");

    auto pattern = TagPattern::compile("^v(?P<n>\\d+)(-(?P<suffix>x))?$");
    REQUIRE(pattern.ok());
    CHECK(pattern->key_group().empty());  // two named groups: the whole tag is the key
    CHECK(pattern->key("v12-x") == "v12-x");
    auto one = TagPattern::compile("^v(?P<n>\\d+)|^w(\\d+)$");
    REQUIRE(one.ok());
    CHECK(one->key_group() == "n");
    CHECK(one->key("v42") == "42");
    CHECK_FALSE(one->key("w42").has_value());  // the named group took no part in the match
    CHECK_FALSE(one->key("x42").has_value());
}

TEST_CASE("tag policy: numerical compares keys as numbers and skips the rest", "[policy]") {
    const Tags tags = {"build-9", "build-10",  "build-100", "build-2", "build-x",
                       "build-",  "build-1.5", "build-007", "build--3"};
    auto s = regex("^build-(?P<n>.*)$", RegexOrder::Numerical).select(tags, {}, true);
    CHECK(s.matches == Tags{"build-100", "build-10", "build-9", "build-007", "build-2", "build-1.5",
                            "build--3"});
    s = regex("^build-(?P<n>.*)$", RegexOrder::Numerical, Direction::Descending)
            .select(tags, {}, true);
    CHECK(s.selected == "build--3");
    // Timestamps beyond double precision stay apart.
    s = regex("^t(?P<n>\\d+)$", RegexOrder::Numerical)
            .select({"t20240101120000123456789", "t20240101120000123456788"}, {}, true);
    CHECK(s.selected == "t20240101120000123456789");
}

TEST_CASE("tag policy: exact decimal comparison", "[policy]") {
    struct Case {
        const char* a;
        const char* b;
        int expected;
    };
    const std::vector<Case> cases = {
        {"1", "2", -1},
        {"10", "9", 1},
        {"007", "7", 0},
        {"1.5", "1.50", 0},
        {"1.5", "1.49", 1},
        {"-1", "1", -1},
        {"-2", "-10", 1},
        {"-0", "0", 0},
        {"0.0", "0", 0},
        {"1.05", "1.5", -1},
        {"123456789012345678901", "123456789012345678900", 1},
        {"2", "1.999", 1},
        {"-1.5", "-1.25", -1},
    };
    for (const auto& c : cases) {
        INFO(c.a << " vs " << c.b);
        CHECK(compare_decimal(c.a, c.b) == c.expected);
        CHECK(compare_decimal(c.b, c.a) == -c.expected);
    }
    for (const char* bad : {"", "-", "1.", ".5", "1e3", "0x10", "1.2.3", "+1", " 1", "abc", "1-"}) {
        INFO(bad);
        CHECK_FALSE(compare_decimal(bad, "1").has_value());
    }
}

TEST_CASE("tag policy: no_downgrade never selects below the current tag", "[policy]") {
    const Tags tags = {"1.0.0", "1.1.0", "1.2.0", "2.0.0"};
    // The range moved below what runs: keep what runs.
    auto s = semver("<2.0.0").select(tags, std::string("2.0.0"), true);
    CHECK(s.selected == "2.0.0");
    CHECK(s.kept_current);
    CHECK(s.matches == Tags{"1.2.0", "1.1.0", "1.0.0"});
    // Without no_downgrade the range wins.
    s = semver("<2.0.0").select(tags, std::string("2.0.0"), false);
    CHECK(s.selected == "1.2.0");
    CHECK_FALSE(s.kept_current);
    // A higher match still upgrades.
    s = semver("*").select(tags, std::string("v1.1.0"), true);
    CHECK(s.selected == "2.0.0");
    CHECK_FALSE(s.kept_current);
    // The current tag is itself the best: selected, nothing kept.
    s = semver("*").select(tags, std::string("2.0.0"), true);
    CHECK(s.selected == "2.0.0");
    CHECK_FALSE(s.kept_current);
    // Same precedence under another spelling: keep the running tag, no churn.
    s = semver("*").select(tags, std::string("v2.0.0"), true);
    CHECK(s.selected == "v2.0.0");
    CHECK(s.kept_current);
    // A running pre-release above every release that matches is kept.
    s = semver("^1").select(tags, std::string("1.3.0-rc.1"), true);
    CHECK(s.selected == "1.3.0-rc.1");
    // An unrankable current tag gives no protection.
    s = semver("<2.0.0").select(tags, std::string("latest"), true);
    CHECK(s.selected == "1.2.0");
    s = semver("<2.0.0").select(tags, std::string("sha256-abc.sig"), true);
    CHECK(s.selected == "1.2.0");
    // Nothing matches: nothing selected, whatever runs.
    s = semver(">=5").select(tags, std::string("2.0.0"), true);
    CHECK_FALSE(s.selected.has_value());

    // Regex: the key decides, in the policy's direction.
    const Tags builds = {"build-5", "build-7", "build-6"};
    auto r = regex("^build-(?P<n>\\d+)$", RegexOrder::Numerical);
    CHECK(r.select(builds, std::string("build-9"), true).selected == "build-9");
    CHECK(r.select(builds, std::string("build-9"), false).selected == "build-7");
    CHECK(r.select(builds, std::string("build-6"), true).selected == "build-7");
    CHECK(r.select(builds, std::string("build-07"), true).selected == "build-07");
    CHECK(r.select(builds, std::string("other"), true).selected == "build-7");
    auto d = regex("^build-(?P<n>\\d+)$", RegexOrder::Numerical, Direction::Descending);
    CHECK(d.select(builds, std::string("build-2"), true).selected == "build-2");
    CHECK(d.select(builds, std::string("build-6"), true).selected == "build-5");
}

TEST_CASE("tag policy: select over a realistic mixed tag list", "[policy]") {
    const Tags tags = {"latest",          "1.25",
                       "1.25.3",          "1.25.3-alpine",
                       "v1.26.0",         "1.26.0-rc.1",
                       "1.26.1",          "mainline",
                       "sha256-1a2b.sig", "1.26.1.sig",
                       "1.27.0-beta.2",   "stable-20240101",
                       "stable-20240301", "stable-20231231",
                       "1.24.9",          "2.0.0-rc.1"};
    auto s = semver("~1.26").select(tags, std::string("1.26.0-rc.1"), true);
    CHECK(s.matches == Tags{"1.26.1", "v1.26.0"});
    CHECK(s.selected == "1.26.1");
    s = semver(">=1.26.0-0 <2.0.0").select(tags, std::nullopt, true);
    // 2.0.0-rc.1 precedes 2.0.0, so it is below the bound.
    CHECK(s.matches == Tags{"2.0.0-rc.1", "1.27.0-beta.2", "1.26.1", "v1.26.0", "1.26.0-rc.1"});
    s = semver("1.24.x || 1.25.x").select(tags, std::string("1.25.3"), true);
    CHECK(s.matches == Tags{"1.25.3", "1.24.9"});
    CHECK(s.selected == "1.25.3");
    CHECK_FALSE(s.kept_current);
    auto r = regex("^stable-(?P<date>\\d{8})$", RegexOrder::Numerical)
                 .select(tags, std::string("stable-20240101"), true);
    CHECK(r.matches == Tags{"stable-20240301", "stable-20240101", "stable-20231231"});
    CHECK(r.selected == "stable-20240301");
}

TEST_CASE("tag policy: invalid regex and order are errors naming the problem", "[policy]") {
    auto p = TagPolicy::regex("^v(\\d+", RegexOrder::Alphabetical);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind == agentd::sys::Error::Kind::InvalidInput);
    CHECK_THAT(p.error().message, Catch::StartsWith("regex \"^v(\\d+\": "));
    CHECK_THAT(p.error().message, Catch::Contains("missing closing parenthesis"));
    CHECK_THAT(p.error().message, Catch::Contains("at offset 6"));
    for (const char* bad : {"[a-", "(?P<n>a", "*x", "a{2,1}", "(?P<1n>x)", "\\"}) {
        INFO(bad);
        auto q = TagPolicy::regex(bad, RegexOrder::Numerical);
        REQUIRE_FALSE(q.ok());
        CHECK_THAT(q.error().message, Catch::Contains("at offset"));
    }
    auto semver_error = TagPolicy::semver(">=1.2 <<2");
    REQUIRE_FALSE(semver_error.ok());
    CHECK_THAT(semver_error.error().message, Catch::Contains("\"<<\""));

    CHECK(agentd::policy::parse_regex_order("alphabetical").value() == RegexOrder::Alphabetical);
    CHECK(agentd::policy::parse_regex_order("numerical").value() == RegexOrder::Numerical);
    CHECK_THAT(agentd::policy::parse_regex_order("natural").error().message,
               Catch::Contains("alphabetical or numerical"));
    CHECK(agentd::policy::parse_direction("asc").value() == Direction::Ascending);
    CHECK(agentd::policy::parse_direction("desc").value() == Direction::Descending);
    CHECK_FALSE(agentd::policy::parse_direction("up").ok());
}

TEST_CASE("tag policy: describe names the rule for logs", "[policy]") {
    CHECK(semver("^1.2").describe() == "semver \"^1.2\"");
    CHECK(regex("^b-(?P<n>\\d+)$", RegexOrder::Numerical).describe() ==
          "regex \"^b-(?P<n>\\d+)$\" numerical");
    CHECK(regex("x", RegexOrder::Alphabetical, Direction::Descending).describe() ==
          "regex \"x\" alphabetical desc");
}

}  // namespace unit_policy_tag_policy_test
