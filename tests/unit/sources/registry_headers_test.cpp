#include "agent/sources/registry_headers.h"

#include <catch2/catch.hpp>

namespace unit_sources_registry_headers_test {

TEST_CASE("registry: WWW-Authenticate parsing handles quotes, commas and several challenges",
          "[sources][registry]") {
    using agentd::sources::parse_www_authenticate;
    auto c = parse_www_authenticate(
        R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
        R"(scope="repository:acme/web:pull,push")");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "bearer");
    CHECK(c[0].params["realm"] == "https://auth.example.com/token");
    CHECK(c[0].params["service"] == "registry.example.com");
    CHECK(c[0].params["scope"] == "repository:acme/web:pull,push");

    c = parse_www_authenticate(R"(Basic realm="a \"quoted\" realm, with comma", charset=UTF-8)");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "basic");
    CHECK(c[0].params["realm"] == R"(a "quoted" realm, with comma)");
    CHECK(c[0].params["charset"] == "UTF-8");

    c = parse_www_authenticate(R"(Basic realm="x", Bearer Realm="y" , service=z)");
    REQUIRE(c.size() == 2);
    CHECK(c[0].params["realm"] == "x");
    CHECK(c[1].scheme == "bearer");
    CHECK(c[1].params["realm"] == "y");
    CHECK(c[1].params["service"] == "z");

    CHECK(parse_www_authenticate("").empty());
    CHECK(parse_www_authenticate(R"(realm="x")").empty());
    c = parse_www_authenticate(R"(Bearer realm="unterminated)");
    REQUIRE(c.size() == 1);
    CHECK(c[0].params.count("realm") == 0);
}

TEST_CASE("registry: Link parsing finds the next page", "[sources][registry]") {
    using agentd::sources::parse_next_link;
    CHECK(parse_next_link(R"(</v2/a/tags/list?last=x&n=2>; rel="next")") ==
          "/v2/a/tags/list?last=x&n=2");
    CHECK(parse_next_link(R"(</p1>; rel="prev", </p3>; rel="next")") == "/p3");
    CHECK(parse_next_link(R"(</p3>; rel="next last")") == "/p3");
    CHECK(parse_next_link(R"(</p1>; rel=prev)") == std::nullopt);
    CHECK(parse_next_link("garbage") == std::nullopt);
}

TEST_CASE("registry: Basic credentials are encoded", "[sources][registry]") {
    using namespace agentd::sources;
    CHECK(basic_authorization("deploy-bot", "s3cret") == "Basic ZGVwbG95LWJvdDpzM2NyZXQ=");
    CHECK(basic_authorization("a", "") == "Basic YTo=");
    CHECK(basic_authorization("ab", "") == "Basic YWI6");
    CHECK(basic_authorization("u", "p\xff") == "Basic dTpw/w==");
    CHECK(ascii_lower("WWW-Authenticate") == "www-authenticate");
}

}  // namespace unit_sources_registry_headers_test
