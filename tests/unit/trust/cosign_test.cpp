#include "agent/trust/cosign.h"

#include <catch2/catch.hpp>

namespace unit_trust_cosign_test {

using namespace agentd;
using sources::ImageRef;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string k_other =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

std::string payload(const std::string& reference, const std::string& digest,
                    const std::string& type = "cosign container image signature") {
    return R"({"critical":{"identity":{"docker-reference":")" + reference +
           R"("},"image":{"docker-manifest-digest":")" + digest + R"("},"type":")" + type +
           R"("},"optional":{"creator":"ci"}})";
}

}  // namespace

TEST_CASE("cosign: the signature tag is sha256-<hex>.sig", "[trust][cosign]") {
    CHECK(trust::signature_tag(k_digest) ==
          "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig");
    CHECK(sources::valid_tag(trust::signature_tag(k_digest)));
}

TEST_CASE("cosign: a signature manifest yields its simple-signing layers in order",
          "[trust][cosign]") {
    // The layout `cosign sign --key` pushes (cosign 2.x), two signatures, plus a layer of
    // another type that is skipped.
    const std::string body = R"({
      "schemaVersion": 2,
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 233,
                 "digest": ")" +
                             k_other + R"("},
      "layers": [
        {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "size": 245,
         "digest": ")" + k_digest +
                             R"(",
         "annotations": {"dev.cosignproject.cosign/signature": "c2lnbmF0dXJl"}},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": ")" +
                             k_digest + R"("},
        {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "size": 10,
         "digest": ")" + k_other +
                             R"(",
         "annotations": {"dev.cosignproject.cosign/signature": "",
                         "dev.sigstore.cosign/certificate": "-----BEGIN CERTIFICATE-----",
                         "dev.sigstore.cosign/bundle": "{}"}}
      ]})";
    const auto layers = trust::parse_signature_manifest(body);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 2);
    CHECK((*layers)[0].payload_digest == k_digest);
    CHECK((*layers)[0].payload_size == 245);
    CHECK((*layers)[0].signature == "signature");
    CHECK((*layers)[1].payload_digest == k_other);
    CHECK((*layers)[1].signature.empty());
    CHECK((*layers)[1].certificate == "-----BEGIN CERTIFICATE-----");
    CHECK((*layers)[1].bundle == "{}");
}

TEST_CASE("cosign: malformed signature manifests are InvalidInput saying what is wrong",
          "[trust][cosign]") {
    const auto [body, expected] = GENERATE(table<std::string, std::string>({
        {"", "not JSON"},
        {"[]", "not a JSON object"},
        {R"({"schemaVersion":1,"layers":[]})", "schemaVersion is not 2"},
        {R"({"schemaVersion":2})", "no \"layers\" array"},
        {R"({"schemaVersion":2,"layers":[1]})", "layer 0 of the signature manifest is not"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":1,"digest":"sha256:../x"}]})",
         "no valid sha256 digest"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":2000000,"digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]})",
         "one above 1048576 bytes"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":-1,"digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]})",
         "no size"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":1,"digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","annotations":{"dev.cosignproject.cosign/signature":"!!!"}}]})",
         "not base64"},
    }));
    const auto layers = trust::parse_signature_manifest(body);
    REQUIRE_FALSE(layers.ok());
    CHECK(layers.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(layers.error().message, Catch::Contains(expected));
}

TEST_CASE("cosign: more than 64 layers are refused", "[trust][cosign]") {
    std::string body = R"({"schemaVersion":2,"layers":[)";
    for (int i = 0; i < 65; ++i) {
        body += std::string(i == 0 ? "" : ",") + R"({"mediaType":"x"})";
    }
    body += "]}";
    const auto layers = trust::parse_signature_manifest(body);
    REQUIRE_FALSE(layers.ok());
    CHECK_THAT(layers.error().message, Catch::Contains("65 layers"));
}

TEST_CASE("cosign: a simple-signing payload yields its critical claims", "[trust][cosign]") {
    const auto claims = trust::parse_simple_signing(payload("ghcr.io/acme/web", k_digest));
    REQUIRE(claims.ok());
    CHECK(claims->docker_reference == "ghcr.io/acme/web");
    CHECK(claims->manifest_digest == k_digest);
    CHECK(claims->type == "cosign container image signature");

    const auto [body, expected] = GENERATE(table<std::string, std::string>({
        {"{", "not JSON"},
        {"\"x\"", "not a JSON object"},
        {R"({"critical":[]})", "no \"critical\" object"},
        {R"({"critical":{"image":{"docker-manifest-digest":"d"},"type":"t"}})",
         "critical.identity.docker-reference"},
        {R"({"critical":{"identity":{"docker-reference":"r"},"image":{},"type":"t"}})",
         "critical.image.docker-manifest-digest"},
        {R"({"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":1}})",
         "critical.type"},
    }));
    const auto bad = trust::parse_simple_signing(body);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message, Catch::Contains(expected));
}

TEST_CASE("cosign: claims must name the digest, the repository and cosign's type",
          "[trust][cosign]") {
    const auto image = *ImageRef::parse("ghcr.io/acme/web:2.4.0");
    const auto claims = [](const std::string& body) { return *trust::parse_simple_signing(body); };
    CHECK_FALSE(
        trust::check_claims(claims(payload("ghcr.io/acme/web", k_digest)), image, k_digest));
    // cosign may write the reference with a tag (older versions): the repository counts.
    CHECK_FALSE(
        trust::check_claims(claims(payload("ghcr.io/acme/web:2.4.0", k_digest)), image, k_digest));

    const auto other_digest =
        trust::check_claims(claims(payload("ghcr.io/acme/web", k_other)), image, k_digest);
    REQUIRE(other_digest);
    CHECK(*other_digest == "is for digest \"" + k_other + "\", expected " + k_digest);

    const auto other_repo =
        trust::check_claims(claims(payload("ghcr.io/acme/db", k_digest)), image, k_digest);
    REQUIRE(other_repo);
    CHECK(*other_repo == "is for repository \"ghcr.io/acme/db\", expected ghcr.io/acme/web");
    CHECK(trust::check_claims(claims(payload("evil.io/acme/web", k_digest)), image, k_digest));
    CHECK(trust::check_claims(claims(payload("", k_digest)), image, k_digest));

    const auto other_type = trust::check_claims(
        claims(payload("ghcr.io/acme/web", k_digest, "atomic container signature")), image,
        k_digest);
    REQUIRE(other_type);
    CHECK_THAT(*other_type, Catch::Contains("critical.type \"atomic container signature\""));
}

TEST_CASE("cosign: Docker Hub's names in docker-reference are one registry", "[trust][cosign]") {
    const auto image = *ImageRef::parse("nginx:1.25");
    for (const std::string reference :
         {"index.docker.io/library/nginx", "docker.io/library/nginx", "nginx"}) {
        INFO(reference);
        CHECK_FALSE(trust::check_claims(*trust::parse_simple_signing(payload(reference, k_digest)),
                                        image, k_digest));
    }
    CHECK(trust::check_claims(
        *trust::parse_simple_signing(payload("index.docker.io/acme/nginx", k_digest)), image,
        k_digest));
}

}  // namespace unit_trust_cosign_test
