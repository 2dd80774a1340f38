#include "agent/sigstore/identity_pattern.h"

#include <catch2/catch.hpp>

namespace unit_sigstore_identity_pattern_test {

using namespace agentd;
using sigstore::IdentityPattern;

namespace {

bool matches(const std::string& pattern, const std::string& value) {
    const auto compiled = IdentityPattern::parse(pattern);
    REQUIRE(compiled.ok());
    return compiled->matches(value);
}

}  // namespace

TEST_CASE("identity pattern: exact strings match only themselves", "[trust][identity]") {
    const auto pattern = IdentityPattern::parse("dev@acme.example");
    REQUIRE(pattern.ok());
    CHECK(pattern->kind() == IdentityPattern::Kind::Exact);
    CHECK(pattern->matches("dev@acme.example"));
    CHECK_FALSE(pattern->matches("Dev@acme.example"));
    CHECK_FALSE(pattern->matches("dev@acme.example.evil"));
    CHECK_FALSE(pattern->matches(""));
}

TEST_CASE("identity pattern: globs, '*' across slashes, '?' one character, '\\' escapes",
          "[trust][identity]") {
    const auto [pattern, value, expected] = GENERATE(table<std::string, std::string, bool>({
        {"https://github.com/acme/*",
         "https://github.com/acme/web/.github/workflows/r.yml@refs/tags/v1", true},
        {"https://github.com/acme/*", "https://github.com/acme/", true},
        {"https://github.com/acme/*", "https://github.com/acmex/web", false},
        {"https://github.com/acme/*", "https://github.com/evil/acme/", false},
        {"https://github.com/*/web/*@refs/tags/*",
         "https://github.com/acme/web/.github/w.yml@refs/tags/v2", true},
        {"https://github.com/*/web/*@refs/tags/*",
         "https://github.com/acme/web/.github/w.yml@refs/heads/main", false},
        {"*@acme.example", "dev@acme.example", true},
        {"*@acme.example", "dev@acme.example.evil", false},
        {"v?", "v1", true},
        {"v?", "v12", false},
        {"a\\*b", "a*b", true},
        {"a\\*b", "axb", false},
        {"**", "", true},
        {"*a*a*a*a*a*a*a*b", std::string(5000, 'a'), false},  // too long: never matched
        {"*a*a*a*a*a*a*a*b", std::string(4000, 'a'), false},  // linear, not exponential
    }));
    INFO(pattern << " vs " << value.substr(0, 80));
    CHECK(matches(pattern, value) == expected);
}

TEST_CASE("identity pattern: regex: matches the whole value", "[trust][identity]") {
    const auto pattern = IdentityPattern::parse(
        R"(regex:https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/tags/v\d+)");
    REQUIRE(pattern.ok());
    CHECK(pattern->kind() == IdentityPattern::Kind::Regex);
    CHECK(pattern->matches(
        "https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v12"));
    CHECK_FALSE(pattern->matches(
        "https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v12x"));
    CHECK_FALSE(pattern->matches(
        "xhttps://github.com/acme/web/.github/workflows/release.yml@refs/tags/v1"));
    // Anchors written as cosign users write them mean the same.
    CHECK(matches("regex:^https://accounts\\.google\\.com$", "https://accounts.google.com"));
    CHECK_FALSE(matches("regex:google", "https://accounts.google.com"));
    CHECK(matches("regex:.*google.*", "https://accounts.google.com"));
}

TEST_CASE("identity pattern: bad patterns are InvalidInput", "[trust][identity]") {
    auto empty = IdentityPattern::parse("");
    REQUIRE_FALSE(empty.ok());
    CHECK_THAT(empty.error().message, Catch::Contains("empty"));
    auto bare = IdentityPattern::parse("regex:");
    REQUIRE_FALSE(bare.ok());
    CHECK_THAT(bare.error().message, Catch::Contains("no regular expression"));
    auto broken = IdentityPattern::parse("regex:https://(acme");
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(broken.error().message,
               Catch::Contains("identity pattern \"regex:https://(acme\"") &&
                   Catch::Contains("missing closing parenthesis"));
}

}  // namespace unit_sigstore_identity_pattern_test
