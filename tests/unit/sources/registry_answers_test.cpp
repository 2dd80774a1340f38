#include "agent/sources/registry_answers.h"

#include <catch2/catch.hpp>

namespace unit_sources_registry_answers_test {

using namespace agentd::sources;

TEST_CASE("registry answers: a tag page lists its tags; null or missing tags is none",
          "[sources][registry]") {
    // As registry 2.8 answers (tests/fuzz/corpus/registry_json/tags-list-registry-2.8.json).
    auto tags = parse_tag_page(R"({"name":"shop/web","tags":["1.1","1.0"]})");
    REQUIRE(tags);
    CHECK(*tags == std::vector<std::string>{"1.1", "1.0"});
    tags = parse_tag_page(R"({"name":"shop/web","tags":null})");
    REQUIRE(tags);
    CHECK(tags->empty());
    tags = parse_tag_page(R"({"name":"shop/web"})");
    REQUIRE(tags);
    CHECK(tags->empty());
}

TEST_CASE("registry answers: a malformed tag page says what is wrong without quoting it",
          "[sources][registry]") {
    auto tags = parse_tag_page(R"({"tags":["secret-1",)");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message.find("not JSON") != std::string::npos);
    CHECK(tags.error().message.find("secret") == std::string::npos);
    tags = parse_tag_page(R"(["a"])");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message == "expected a JSON object, got an array");
    tags = parse_tag_page(R"({"tags":"a"})");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message == "\"tags\" is a string, not a list");
    tags = parse_tag_page(R"({"tags":["a",1]})");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message == "\"tags\" holds a number, not only strings");
}

TEST_CASE("registry answers: a number too large for a double is an error, not an exception",
          "[sources][registry]") {
    // Found by tests/fuzz/registry_json: nlohmann throws out_of_range, not parse_error, for
    // 1e400, and the exception left parse_tag_page (a registry could end a worker with it).
    const auto tags = parse_tag_page(R"({"name":"x","tags":["1.0"],"n":1e400})");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message == "not JSON agentd can read (a number out of range)");
    const auto token = parse_token_answer(R"({"token":"t","expires_in":1e400})");
    REQUIRE_FALSE(token);
    CHECK(token.error().message == "with malformed JSON");
}

TEST_CASE("registry answers: a token answer gives the token, its lifetime and issue time",
          "[sources][registry]") {
    auto answer = parse_token_answer(
        R"({"token":"t1","access_token":"t2","expires_in":300,"issued_at":"2026-12-03T19:49:01Z"})");
    REQUIRE(answer);
    CHECK(answer->token == "t1");
    CHECK(answer->lifetime == std::chrono::seconds(300));
    REQUIRE(answer->issued_at);
    CHECK(std::chrono::system_clock::to_time_t(*answer->issued_at) == 1'796'327'341);

    // An empty token falls back to access_token; no expires_in is Docker's 60 s minimum.
    answer = parse_token_answer(R"({"token":"","access_token":"t2","issued_at":"yesterday"})");
    REQUIRE(answer);
    CHECK(answer->token == "t2");
    CHECK(answer->lifetime == std::chrono::seconds(60));
    CHECK_FALSE(answer->issued_at);
}

TEST_CASE("registry answers: a wild expires_in is capped at a day, a negative one ignored",
          "[sources][registry]") {
    auto answer = parse_token_answer(R"({"token":"t","expires_in":1e300})");
    REQUIRE(answer);
    CHECK(answer->lifetime == std::chrono::hours(24));
    answer = parse_token_answer(R"({"token":"t","expires_in":-5})");
    REQUIRE(answer);
    CHECK(answer->lifetime == std::chrono::seconds(60));
}

TEST_CASE("registry answers: a token answer without a token or with a bad expires_in fails",
          "[sources][registry]") {
    auto answer = parse_token_answer("<html>");
    REQUIRE_FALSE(answer);
    CHECK(answer.error().message == "with malformed JSON");
    answer = parse_token_answer(R"({"token":"","access_token":7})");
    REQUIRE_FALSE(answer);
    CHECK(answer.error().message == "without a token");
    answer = parse_token_answer(R"({"token":"t","expires_in":"300"})");
    REQUIRE_FALSE(answer);
    CHECK(answer.error().message == "with a non-numeric expires_in");
}

TEST_CASE("registry answers: a manifest read towards its config, for min_age",
          "[registry][timing]") {
    const std::string amd64 = "sha256:" + std::string(64, 'a');
    const std::string arm64 = "sha256:" + std::string(64, 'b');
    const std::string attestation = "sha256:" + std::string(64, 'c');
    const std::string config = "sha256:" + std::string(64, 'd');
    // An OCI index as buildx pushes it: platforms, then an attestation manifest whose platform
    // is unknown/unknown.
    const std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + arm64 +
                              R"(","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + amd64 +
                              R"(","size":1,"platform":{"architecture":"amd64","os":"linux"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + attestation +
                              R"(","size":1,"platform":{"architecture":"unknown","os":"unknown"}}]})";
    auto step = parse_manifest_step(index, "linux", "amd64");
    REQUIRE(step.ok());
    CHECK(step->index);
    CHECK(step->digest == amd64);
    step = parse_manifest_step(index, "linux", "arm64");
    REQUIRE(step.ok());
    CHECK(step->digest == arm64);
    const auto none = parse_manifest_step(index, "linux", "s390x");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message == "the image index has no manifest for linux/s390x");

    // A Docker schema 2 image manifest: its config blob.
    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,
            "digest":")" + config + R"("},"layers":[]})";
    step = parse_manifest_step(manifest, "linux", "amd64");
    REQUIRE(step.ok());
    CHECK_FALSE(step->index);
    CHECK(step->digest == config);

    for (const char* bad : {"[]", "{}", R"({"config":{"digest":"sha256:nope"}})", "not json"}) {
        CAPTURE(bad);
        const auto refused = parse_manifest_step(bad, "linux", "amd64");
        REQUIRE_FALSE(refused.ok());
        CHECK_FALSE(refused.error().message.empty());
    }
}

TEST_CASE("registry answers: an image config's created time", "[registry][timing]") {
    const auto created = parse_image_created(
        R"({"architecture":"amd64","created":"2026-11-30T09:15:02.123456789Z","os":"linux"})");
    REQUIRE(created);
    CHECK(agentd::sys::format_rfc3339(*created) == "2026-11-30T09:15:02Z");
    // Reproducible builds (ko, Nix, Bazel) write the epoch: no age at all.
    CHECK_FALSE(parse_image_created(R"({"created":"1970-01-01T00:00:00Z"})"));
    CHECK_FALSE(parse_image_created(R"({"created":"1980-01-01T00:00:01Z"})"));
    CHECK_FALSE(parse_image_created(R"({"os":"linux"})"));
    CHECK_FALSE(parse_image_created(R"({"created":12})"));
    CHECK_FALSE(parse_image_created(R"({"created":"yesterday"})"));
    CHECK_FALSE(parse_image_created("[]"));
}

}  // namespace unit_sources_registry_answers_test
