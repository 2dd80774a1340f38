#include "agent/webhook/headers.h"

#include <catch2/catch.hpp>

#include "agent/webhook/provider.h"

namespace unit_webhook_headers_test {

using namespace agentd;
using webhook::Headers;

TEST_CASE("webhook headers: names are looked up case-insensitively", "[webhook][headers]") {
    Headers headers;
    headers.set("x-github-event", "push");
    REQUIRE(headers.find("X-GitHub-Event") != nullptr);
    CHECK(*headers.find("X-GitHub-Event") == "push");
    CHECK(*headers.find("X-GITHUB-EVENT") == "push");
    CHECK(headers.find("X-GitHub-Events") == nullptr);
    CHECK(headers.find("X-GitHub-Even") == nullptr);
    CHECK(headers.find("") == nullptr);
    // Setting another spelling replaces the value.
    headers.set("X-GitHub-Event", "ping");
    CHECK(*headers.find("x-github-event") == "ping");
}

TEST_CASE("webhook headers: the first of several names present is used", "[webhook][headers]") {
    const Headers forgejo = {{"X-Forgejo-Signature", "f"}, {"X-Gitea-Signature", "g"}};
    const auto [name, value] =
        forgejo.first_of(webhook::signature_headers(webhook::Provider::Gitea));
    CHECK(name == "X-Gitea-Signature");
    REQUIRE(value != nullptr);
    CHECK(*value == "g");

    const Headers only_forgejo = {{"x-forgejo-signature", "f"}};
    const auto [name2, value2] =
        only_forgejo.first_of(webhook::signature_headers(webhook::Provider::Gitea));
    CHECK(name2 == "X-Forgejo-Signature");
    REQUIRE(value2 != nullptr);
    CHECK(*value2 == "f");

    const auto [name3, value3] = Headers{}.first_of({"A", "B"});
    CHECK(name3.empty());
    CHECK(value3 == nullptr);
}

}  // namespace unit_webhook_headers_test
