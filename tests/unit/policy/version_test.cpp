#include "agent/policy/version.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace unit_policy_version_test {

using agentd::policy::Version;

namespace {

struct ParsedCase {
    const char* text;
    std::uint64_t major, minor, patch;
    const char* canonical;  // str() of the parsed version
};

struct CompareCase {
    const char* lower;
    const char* higher;
};

Version v(const char* text) {
    auto parsed = Version::parse(text);
    INFO(text);
    REQUIRE(parsed.ok());
    return *parsed;
}

}  // namespace

TEST_CASE("version: strict semver with an optional v parses", "[policy]") {
    const std::vector<ParsedCase> cases = {
        {"0.0.0", 0, 0, 0, "0.0.0"},
        {"1.2.3", 1, 2, 3, "1.2.3"},
        {"v1.2.3", 1, 2, 3, "1.2.3"},
        {"10.20.30", 10, 20, 30, "10.20.30"},
        {"1.0.0-alpha", 1, 0, 0, "1.0.0-alpha"},
        {"1.0.0-alpha.1", 1, 0, 0, "1.0.0-alpha.1"},
        {"1.0.0-0.3.7", 1, 0, 0, "1.0.0-0.3.7"},
        {"1.0.0-x.7.z.92", 1, 0, 0, "1.0.0-x.7.z.92"},
        {"1.0.0-x-y-z.--", 1, 0, 0, "1.0.0-x-y-z.--"},
        {"1.0.0-alpha+001", 1, 0, 0, "1.0.0-alpha+001"},
        {"1.0.0+20130313144700", 1, 0, 0, "1.0.0+20130313144700"},
        {"1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "1.0.0-beta+exp.sha.5114f85"},
        {"1.0.0+21AF26D3----117B344092BD", 1, 0, 0, "1.0.0+21AF26D3----117B344092BD"},
        {"v2.3.5-20161202202307-sha.e8fc5e5", 2, 3, 5, "2.3.5-20161202202307-sha.e8fc5e5"},
        {"1.2.3-rc9", 1, 2, 3, "1.2.3-rc9"},
        {"1.2.3-0a", 1, 2, 3, "1.2.3-0a"},  // alphanumeric: leading zero allowed
        {"1.2.3-a.0", 1, 2, 3, "1.2.3-a.0"},
        {"1.2.3+0001", 1, 2, 3, "1.2.3+0001"},  // build metadata may have leading zeros
        {"18446744073709551615.0.0", 18446744073709551615ull, 0, 0, "18446744073709551615.0.0"},
        {"0.18446744073709551615.1", 0, 18446744073709551615ull, 1, "0.18446744073709551615.1"},
        {"1.1.2-prerelease+meta", 1, 1, 2, "1.1.2-prerelease+meta"},
        {"1.0.0-alpha.beta.1", 1, 0, 0, "1.0.0-alpha.beta.1"},
        {"1.0.0-rc.1+build.1", 1, 0, 0, "1.0.0-rc.1+build.1"},
        {"2.0.0-rc.1+build.123", 2, 0, 0, "2.0.0-rc.1+build.123"},
        {"1.2.3-SNAPSHOT-123", 1, 2, 3, "1.2.3-SNAPSHOT-123"},
        {"1.0.0-99999999999999999999999", 1, 0, 0, "1.0.0-99999999999999999999999"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto parsed = Version::parse(c.text);
        REQUIRE(parsed.ok());
        CHECK(parsed->major() == c.major);
        CHECK(parsed->minor() == c.minor);
        CHECK(parsed->patch() == c.patch);
        CHECK(parsed->str() == c.canonical);
    }
}

TEST_CASE("version: anything but strict semver is rejected", "[policy]") {
    const std::vector<const char*> invalid = {
        "",
        "v",
        "1",
        "1.2",
        "v1.2",
        "1.2.3.4",  // four-part tags
        "1.2.3.4-rc.1",
        "01.2.3",  // leading zeros
        "1.02.3",
        "1.2.03",
        "v01.2.3",
        "1.2.3-01",  // numeric pre-release with a leading zero
        "1.2.3-rc.01",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-rc..1",
        "1.2.3-rc.",
        "1.2.3+build..1",
        "1.2.3-rc_1",
        "1.2.3+build!",
        "1.2.3-é",
        "V1.2.3",
        "vv1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "1.2.-3",
        "-1.2.3",
        "+1.2.3",
        "1..3",
        ".1.2",
        "1.2.",
        "a.b.c",
        "1.2.x",
        "latest",
        "main-20240101",
        "sha256-abcdef.sig",
        "18446744073709551616.0.0",  // one above uint64
        "1.99999999999999999999.0",
        "1.2.3-rc.1+build.1+2",
        "1.2.3.",
    };
    for (const char* text : invalid) {
        INFO(text);
        auto parsed = Version::parse(text);
        CHECK_FALSE(parsed.ok());
        if (!parsed.ok()) {
            CHECK(parsed.error().kind == agentd::sys::Error::Kind::InvalidInput);
            CHECK(parsed.error().message.find(std::string("\"") + text + "\"") !=
                  std::string::npos);
        }
    }
}

TEST_CASE("version: semver.org precedence chain", "[policy]") {
    const std::vector<const char*> chain = {
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
        "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
        "1.0.0-rc.1",  "1.0.0",         "2.0.0",
        "2.1.0",       "2.1.1",
    };
    for (std::size_t i = 0; i < chain.size(); ++i) {
        for (std::size_t j = 0; j < chain.size(); ++j) {
            INFO(chain[i] << " vs " << chain[j]);
            CHECK((v(chain[i]) < v(chain[j])) == (i < j));
            CHECK((v(chain[i]) == v(chain[j])) == (i == j));
        }
    }
}

TEST_CASE("version: precedence table", "[policy]") {
    const std::vector<CompareCase> cases = {
        {"1.2.3", "1.2.4"},
        {"1.2.3", "1.3.0"},
        {"1.2.3", "2.0.0"},
        {"1.9.0", "1.10.0"},  // numeric, not textual
        {"1.2.9", "1.2.10"},
        {"9.0.0", "10.0.0"},
        {"1.0.0-rc.9", "1.0.0-rc.10"},  // numeric identifiers compare numerically
        {"1.0.0-rc10", "1.0.0-rc9"},    // ...but rc9/rc10 are strings
        {"1.0.0-1", "1.0.0-a"},         // numeric ranks below alphanumeric
        {"1.0.0-999", "1.0.0-a"},
        {"1.0.0-A", "1.0.0-a"},  // ASCII order
        {"1.0.0-Z", "1.0.0-a"},
        {"1.0.0-a", "1.0.0-a.1"},  // more fields rank higher
        {"1.0.0-a.1", "1.0.0-a.1.1"},
        {"1.0.0-a.b", "1.0.0-a.b.0"},
        {"1.0.0-alpha", "1.0.0"},
        {"1.0.0-99999999999999999999", "1.0.0-100000000000000000000"},
        {"1.0.0-x-y", "1.0.0-x-z"},
        {"0.0.0-0", "0.0.0"},
        {"0.0.0", "0.0.1-0"},
        {"1.0.0", "1.0.1-alpha"},
        {"1.2.3-rc.1", "1.2.3-rc.1.0"},
        {"18446744073709551614.0.0", "18446744073709551615.0.0"},
        {"v1.2.3", "1.2.4"},
        {"1.2.3+zzz", "1.2.4+aaa"},
    };
    for (const auto& c : cases) {
        INFO(c.lower << " < " << c.higher);
        CHECK(v(c.lower) < v(c.higher));
        CHECK(v(c.higher) > v(c.lower));
        CHECK_FALSE(v(c.lower) == v(c.higher));
    }
}

TEST_CASE("version: build metadata and the v prefix do not change precedence", "[policy]") {
    const std::vector<std::pair<const char*, const char*>> equal = {
        {"1.0.0+a", "1.0.0+b"},
        {"1.0.0", "1.0.0+build.5"},
        {"v1.0.0", "1.0.0"},
        {"v1.0.0-rc.1+x", "1.0.0-rc.1+y"},
        {"1.0.0-rc.1", "1.0.0-rc.1+001"},
    };
    for (const auto& [a, b] : equal) {
        INFO(a << " == " << b);
        CHECK(v(a) == v(b));
        CHECK_FALSE(v(a) < v(b));
        CHECK_FALSE(v(b) < v(a));
    }
    CHECK_FALSE(v("1.0.0+a").identical(v("1.0.0+b")));
    CHECK(v("v1.0.0+a").identical(v("1.0.0+a")));
}

TEST_CASE("version: errors say what is wrong", "[policy]") {
    CHECK(Version::parse("1.2").error().message.find("MAJOR.MINOR.PATCH") != std::string::npos);
    CHECK(Version::parse("01.2.3").error().message.find("leading zeros") != std::string::npos);
    CHECK(Version::parse("1.2.3-rc.01").error().message.find("\"01\" has a leading zero") !=
          std::string::npos);
    CHECK(Version::parse("1.2.3-rc_1").error().message.find("\"rc_1\"") != std::string::npos);
    CHECK(Version::parse("18446744073709551616.0.0").error().message.find("64 bits") !=
          std::string::npos);
}

}  // namespace unit_policy_version_test
