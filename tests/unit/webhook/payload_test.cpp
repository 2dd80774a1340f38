#include "agent/webhook/payload.h"

#include <catch2/catch.hpp>

namespace unit_webhook_payload_test {

using namespace agentd;

namespace {

std::string nested_arrays(int depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

// An object at the top holding `depth` levels of arrays.
std::string object_with_depth(int depth) {
    return "{\"a\":" + nested_arrays(depth) + "}";
}

std::string error_of(std::string_view body) {
    auto parsed = webhook::parse_payload(body);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
    return parsed.error().message;
}

}  // namespace

TEST_CASE("webhook payload: nesting is bounded, and a deep body is refused without recursion",
          "[webhook][payload]") {
    // The top object is level 0; its member's arrays are levels 1.. depth.
    CHECK(webhook::parse_payload(object_with_depth(webhook::k_max_depth)).ok());
    CHECK(error_of(object_with_depth(webhook::k_max_depth + 1)) ==
          "body nests deeper than 64 levels");
    // Far deeper than any stack would survive if the parser recursed per level.
    CHECK(error_of(object_with_depth(400000)) == "body nests deeper than 64 levels");
}

TEST_CASE("webhook payload: size is bounded at 1 MiB", "[webhook][payload]") {
    const std::string filler = "{\"a\":\"";
    std::string at_limit =
        filler + std::string(webhook::k_max_body - filler.size() - 2, 'x') + "\"}";
    REQUIRE(at_limit.size() == webhook::k_max_body);
    CHECK(webhook::parse_payload(at_limit).ok());
    at_limit.insert(filler.size(), "x");
    CHECK(error_of(at_limit) == "body is larger than 1 MiB");
}

TEST_CASE("webhook payload: errors say where, never what the body held", "[webhook][payload]") {
    CHECK(error_of("{\"ref\": \"\x1b[31m") == "body is not valid JSON (at byte 10)");
    CHECK(error_of("\"just a string\"") == "body is not a JSON object");
    CHECK(error_of("null") == "body is not a JSON object");
    CHECK(error_of("{} {}") == "body is not valid JSON (at byte 4)");
    CHECK(error_of("{\"a\": 1,}") == "body is not valid JSON (at byte 9)");
}

TEST_CASE("webhook payload: fields are read by path; absent and null are the same",
          "[webhook][payload]") {
    auto body = webhook::parse_payload(
        R"({"repository": {"clone_url": "https://x/y.git", "mirror_url": null,
            "owner": {"login": "acme"}}, "deleted": true, "list": [1]})");
    REQUIRE(body.ok());

    auto url = webhook::optional_string(*body, "repository.clone_url", 100);
    REQUIRE(url.ok());
    CHECK(*url == std::optional<std::string>("https://x/y.git"));
    auto login = webhook::optional_string(*body, "repository.owner.login", 100);
    REQUIRE(login.ok());
    CHECK(*login == std::optional<std::string>("acme"));
    for (const char* absent : {"repository.mirror_url", "repository.ssh_url", "sender.login",
                               "repository.mirror_url.x"}) {
        INFO(absent);
        auto value = webhook::optional_string(*body, absent, 100);
        REQUIRE(value.ok());
        CHECK_FALSE(value->has_value());
    }
    auto deleted = webhook::optional_bool(*body, "deleted");
    REQUIRE(deleted.ok());
    CHECK(*deleted);
    auto forced = webhook::optional_bool(*body, "forced");
    REQUIRE(forced.ok());
    CHECK_FALSE(*forced);

    auto through_string = webhook::optional_string(*body, "repository.clone_url.host", 100);
    REQUIRE_FALSE(through_string.ok());
    CHECK(through_string.error().message == "repository.clone_url is not an object");
    auto through_array = webhook::optional_string(*body, "list.x", 100);
    REQUIRE_FALSE(through_array.ok());
    CHECK(through_array.error().message == "list is not an object");
    auto too_long = webhook::optional_string(*body, "repository.clone_url", 5);
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().message == "repository.clone_url is longer than 5 bytes");
    auto not_bool = webhook::optional_bool(*body, "list");
    REQUIRE_FALSE(not_bool.ok());
    CHECK(not_bool.error().message == "list is not a boolean");
}

TEST_CASE("webhook payload: strings with control characters are refused, UTF-8 is kept",
          "[webhook][payload]") {
    auto body = webhook::parse_payload(
        R"({"a": "x\u0000y", "b": "tab\there", "c": "del\u007f", "d": "caf\u00e9/br\u00fccke"})");
    REQUIRE(body.ok());
    for (const char* field : {"a", "b", "c"}) {
        auto value = webhook::optional_string(*body, field, 100);
        REQUIRE_FALSE(value.ok());
        CHECK(value.error().message == std::string(field) + " contains control characters");
    }
    auto utf8 = webhook::optional_string(*body, "d", 100);
    REQUIRE(utf8.ok());
    CHECK(**utf8 ==
          "caf\xc3\xa9/br\xc3\xbc"
          "cke");
}

}  // namespace unit_webhook_payload_test
