#include "agent/sigstore/trusted_root.h"

#include <catch2/catch.hpp>

#include "tests/unit/sigstore/sigstore_forge.h"
#include "tests/unit/sigstore/sigstore_vectors.h"

namespace unit_sigstore_trusted_root_test {

using namespace agentd;
using namespace agentd::testing::forge;

namespace {

/// The public-good root with `from` replaced by `to` (once).
std::string edited(std::string_view from, std::string_view to) {
    std::string text(testing::k_public_good_root);
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
}

}  // namespace

TEST_CASE("trusted root: a forged root parses; a log without logId gets its key's SHA-256",
          "[trust][trusted_root]") {
    const Fulcio fulcio(1'700'000'000, 1'900'000'000);
    const Log log;
    std::string json = trusted_root_json(fulcio, log, 1'700'000'000);
    const auto root = sigstore::parse_trusted_root(json);
    REQUIRE(root.ok());
    REQUIRE(root->tlogs.size() == 1);
    CHECK(root->tlogs[0].log_id == log.log_id());
    CHECK(root->find_tlog(log.log_id()) == &root->tlogs[0]);
    CHECK(root->find_tlog("other") == nullptr);
    CHECK(root->certificate_authorities[0].certificates[1] == der(fulcio.root.get()));
    CHECK_FALSE(root->certificate_authorities[0].valid_for.end.has_value());

    const auto log_id = json.find(R"(,"logId":)");
    json.erase(log_id, json.find("}}]", log_id) + 1 - log_id);
    const auto without = sigstore::parse_trusted_root(json);
    INFO((without ? "" : without.error().message));
    REQUIRE(without.ok());
    CHECK(without->tlogs[0].log_id == sha256(spki_der(log.key.get())));
}

TEST_CASE("trusted root: bad roots are InvalidInput naming the field", "[trust][trusted_root]") {
    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"", "trusted root is not JSON"},
        {"[]", "trusted root is not a JSON object"},
        {"{}", "trusted root: mediaType is missing"},
        {R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.2"})",
         "mediaType is \"application/vnd.dev.sigstore.trustedroot+json;version=0.2\", expected"},
        {R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":{}})",
         "trusted root: tlogs is not an array"},
        {R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[1]})",
         "tlogs[0] is not an object"},
        {R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"certChain":{"certificates":[]}}]})",
         "certificateAuthorities[0].certChain.certificates is empty"},
        {R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]})",
         "certificateAuthorities[0].certChain.certificates[0].rawBytes is not a DER X.509 "
         "certificate"},
        {edited("\"SHA2_256\"", "\"SHA2_384\""),
         "tlogs[0].hashAlgorithm is \"SHA2_384\"; supported: SHA2_256"},
        {edited("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y", "!!!"),
         "tlogs[0].publicKey.rawBytes is not base64"},
        {edited(
             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+"
             "2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==",
             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
         "tlogs[0].publicKey.rawBytes: is not a DER SubjectPublicKeyInfo"},
        {edited("\"start\": \"2021-01-12T11:53:27.000Z\"", "\"start\": \"yesterday\""),
         "tlogs[0].publicKey.validFor.start is not an RFC 3339 UTC time: \"yesterday\""},
        {edited("\"validFor\": {\n          \"start\": \"2021-01-12T11:53:27.000Z\"\n        }",
                "\"x\": 1"),
         "tlogs[0].publicKey.validFor is missing"},
        {edited("\"end\": \"2022-12-31T23:59:59.999Z\"", "\"end\": \"2020-12-31T23:59:59.999Z\""),
         "certificateAuthorities[0].validFor ends before it starts"},
        {std::string(2 * 1024 * 1024, ' '), "trusted root has 2097152 bytes; at most 1048576"},
        {std::string(100, '[') + std::string(100, ']'), "nests deeper than 32 levels"},
    }));
    const auto root = sigstore::parse_trusted_root(text);
    REQUIRE_FALSE(root.ok());
    CHECK(root.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(root.error().message, Catch::Contains(expected));
}

TEST_CASE("trusted root: more than 64 logs are refused", "[trust][trusted_root]") {
    std::string text =
        R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","ctlogs":[)";
    for (int i = 0; i < 65; ++i) {
        text += i == 0 ? "{}" : ",{}";
    }
    const auto root = sigstore::parse_trusted_root(text + "]}");
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(root.error().message, Catch::Contains("ctlogs has 65 entries; at most 64"));
}

}  // namespace unit_sigstore_trusted_root_test
