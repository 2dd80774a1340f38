#include "agent/trust/cosign_verifier.h"

#include <cstdlib>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "agent/sources/registry_client.h"
#include "agent/sys/http.h"
#include "agent/trust/cosign.h"
#include "agent/trust/image_verifier.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/sources/registry_push.h"

namespace unit_trust_cosign_verifier_test {

using namespace agentd;
using sources::ImageRef;
using sys::PublicKey;
using testing::OpensslKey;
using testing::SignedLayer;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string k_other =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const std::string k_sig_tag =
    "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig";

PublicKey key_of(const OpensslKey& key) {
    auto loaded = PublicKey::load(key.public_pem());
    REQUIRE(loaded.ok());
    return *loaded;
}

/// A FakeRegistry holding `layers` as acme/web's signature of k_digest.
void publish(fakes::FakeRegistry& registry, const std::vector<SignedLayer>& layers) {
    sources::Manifest manifest;
    manifest.body = testing::signature_manifest(layers);
    registry.manifests["acme/web:" + k_sig_tag] = manifest;
    for (const auto& layer : layers) {
        registry.blobs[testing::openssl_digest(layer.payload)] = layer.payload;
    }
}

const ImageRef k_image = *ImageRef::parse("ghcr.io/acme/web:2.4.0");

}  // namespace

TEST_CASE("cosign verify: a signature by the configured key verifies and names the key",
          "[trust][cosign]") {
    const std::string kind = GENERATE("p256", "ed25519", "p384", "rsa2048");
    OpensslKey signer(kind);
    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    fakes::FakeRegistry registry;
    publish(registry, {{payload, signer.sign_base64(payload)}});

    const auto verified = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    INFO((verified.ok() ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->key == signer.public_pem().string());
    CHECK(verified->signature == "ghcr.io/acme/web:" + k_sig_tag);
    CHECK(registry.manifest_gets == 1);
    CHECK(registry.blob_gets == 1);
}

TEST_CASE("cosign verify: with a list of keys, the one that signed is named", "[trust][cosign]") {
    OpensslKey first("p256");
    OpensslKey second("ed25519");
    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    fakes::FakeRegistry registry;
    // An unsigned layer and one by an unknown key before the good one: cosign accepts when
    // any signature verifies.
    OpensslKey stranger("p256");
    publish(registry, {{payload + " ", ""},
                       {payload + "  ", stranger.sign_base64(payload + "  ")},
                       {payload, second.sign_base64(payload)}});
    const auto verified =
        trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(first), key_of(second)});
    REQUIRE(verified.ok());
    CHECK(verified->key == second.public_pem().string());
    CHECK(verified->algorithm == "Ed25519");
}

TEST_CASE("cosign verify: an image without a signature tag is rejected as not signed",
          "[trust][cosign]") {
    OpensslKey signer("p256");
    fakes::FakeRegistry registry;
    const auto result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(
        result.error().message,
        Catch::StartsWith("image ghcr.io/acme/web@" + k_digest) &&
            Catch::Contains("not signed: no signature tag ghcr.io/acme/web:" + k_sig_tag) &&
            Catch::Contains("expected a cosign signature by " + signer.public_pem().string()));
}

TEST_CASE("cosign verify: a signature by another key is rejected naming the expected key",
          "[trust][cosign]") {
    OpensslKey configured("p256");
    OpensslKey attacker("p256");
    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    fakes::FakeRegistry registry;
    publish(registry, {{payload, attacker.sign_base64(payload)}});
    const auto result =
        trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(configured)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message,
               Catch::Contains("the signature does not verify with the key") &&
                   Catch::Contains("expected a signature by " + configured.public_pem().string()));
}

TEST_CASE("cosign verify: a tampered payload is rejected", "[trust][cosign]") {
    OpensslKey signer("ed25519");
    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_other);
    const std::string signature = signer.sign_base64(payload);
    // The attacker rewrites the payload to name the digest being deployed and keeps the
    // signature: the manifest lists the altered payload's digest.
    const std::string tampered = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    fakes::FakeRegistry registry;
    publish(registry, {{tampered, signature}});
    const auto result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message, Catch::Contains("does not verify"));
}

TEST_CASE("cosign verify: a payload signed for another digest or repository is rejected",
          "[trust][cosign]") {
    OpensslKey signer("p256");
    const auto [reference, digest, expected] =
        GENERATE(table<std::string, std::string, std::string>({
            {"ghcr.io/acme/web", k_other,
             "the signed payload is for digest \"" + k_other + "\", expected " + k_digest},
            {"ghcr.io/acme/db", k_digest,
             "the signed payload is for repository \"ghcr.io/acme/db\", expected ghcr.io/acme/web"},
        }));
    const std::string payload = testing::simple_signing_payload(reference, digest);
    fakes::FakeRegistry registry;
    publish(registry, {{payload, signer.sign_base64(payload)}});
    const auto result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message,
               Catch::Contains("the signature by " + signer.public_pem().string()) &&
                   Catch::Contains(expected));
}

TEST_CASE("cosign verify: a registry failure is not a verdict", "[trust][cosign]") {
    OpensslKey signer("p256");
    fakes::FakeRegistry registry;
    registry.fail = "registry ghcr.io: connection refused";
    const auto result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::Failed);
    CHECK_THAT(result.error().message,
               Catch::Contains("reading signature") && Catch::Contains("connection refused"));
}

TEST_CASE("cosign verify: a malformed signature manifest or a missing payload is rejected",
          "[trust][cosign]") {
    OpensslKey signer("p256");
    fakes::FakeRegistry registry;
    sources::Manifest garbage;
    garbage.body = "<html>";
    registry.manifests["acme/web:" + k_sig_tag] = garbage;
    auto result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message, Catch::Contains("the signature manifest is not JSON"));

    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    publish(registry, {{payload, signer.sign_base64(payload)}});
    registry.blobs.clear();
    result = trust::verify_cosign_keyed(registry, k_image, k_digest, {key_of(signer)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message, Catch::Contains("is missing"));
}

TEST_CASE("image verifier: a verified digest is cached; a rejection is asked again",
          "[trust][cosign]") {
    OpensslKey signer("p256");
    const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", k_digest);
    fakes::FakeRegistry registry;
    publish(registry, {{payload, signer.sign_base64(payload)}});
    config::ImageVerify policy;
    policy.cosign = config::CosignKeys{{signer.public_pem()}, {key_of(signer)}};

    trust::RegistryImageVerifier verifier(registry);
    const auto first = verifier.verify(k_image, k_digest, policy);
    REQUIRE(first.ok());
    CHECK_THAT(*first, Catch::Contains("verified with key " + signer.public_pem().string() +
                                       " (ECDSA P-256)"));
    const auto second = verifier.verify(k_image, k_digest, policy);
    REQUIRE(second.ok());
    CHECK(*second == *first);
    CHECK(registry.manifest_gets == 1);
    CHECK(registry.blob_gets == 1);

    // Another key list is another question.
    OpensslKey other("ed25519");
    config::ImageVerify other_policy;
    other_policy.cosign = config::CosignKeys{{other.public_pem()}, {key_of(other)}};
    CHECK_FALSE(verifier.verify(k_image, k_digest, other_policy).ok());
    CHECK_FALSE(verifier.verify(k_image, k_digest, other_policy).ok());
    CHECK(registry.manifest_gets == 3);
}

TEST_CASE("cosign verify: a signature made by cosign itself verifies", "[trust][cosign]") {
    // A peer vector: what `cosign sign --key ... --tlog-upload=false` (cosign v3.0.4, classic
    // attached format) pushed for localhost:15381/tobby/fixture, byte for byte, with its
    // cosign.pub; captured in the public repository tobby-fetch/tobby-fetch (its
    // internal/sigverify tests), where it was checked with `cosign verify --key`.
    const std::string pub =
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA9oFvTJJuu0cszKBsiuqfFYN3NLV\n"
        "meleaASYW5l+nqDxoUg4f8177owlgVD89pZQ9jUxP8dbibmDJpvcjBo9RQ==\n"
        "-----END PUBLIC KEY-----\n";
    const std::string subject =
        "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";
    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"sha256:2122b6ad0794d3fdae43a4b477cf1d95d4a38d3c5f10631e199676039b876e37"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":245,"digest":"sha256:3a29d26a2fc848d25ccf9c2288194ca90599e70ef69087644f186e5e7331f28b","annotations":{"dev.cosignproject.cosign/signature":"MEUCIEB+pz4s+9yxG+Om/bukeAfwloKFEISUhxLvIYlP02P8AiEAz1oNkilC+cprxcrEHqN0vxM+zvP34ikHFzi8e7Sevls="}}]})";
    const std::string payload =
        R"({"critical":{"identity":{"docker-reference":"localhost:15381/tobby/fixture"},"image":{"docker-manifest-digest":"sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268"},"type":"cosign container image signature"},"optional":null})";
    REQUIRE(testing::openssl_digest(payload) ==
            "sha256:3a29d26a2fc848d25ccf9c2288194ca90599e70ef69087644f186e5e7331f28b");

    auto key = PublicKey::parse(pub, "cosign.pub");
    REQUIRE(key.ok());
    fakes::FakeRegistry registry;
    sources::Manifest signature;
    signature.body = manifest;
    registry.manifests["tobby/fixture:" + trust::signature_tag(subject)] = signature;
    registry.blobs[testing::openssl_digest(payload)] = payload;

    const auto image = *ImageRef::parse("localhost:15381/tobby/fixture:latest");
    const auto verified = trust::verify_cosign_keyed(registry, image, subject, {*key});
    INFO((verified.ok() ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->key == "cosign.pub");

    // The same signature does not vouch for another repository or another digest.
    const auto moved = *ImageRef::parse("localhost:15381/tobby/other:latest");
    registry.manifests["tobby/other:" + trust::signature_tag(subject)] = signature;
    const auto other_repo = trust::verify_cosign_keyed(registry, moved, subject, {*key});
    REQUIRE_FALSE(other_repo.ok());
    CHECK_THAT(other_repo.error().message, Catch::Contains("is for repository"));
}

// ---------------------------------------------------------------------------------------------
// Integration: a signature pushed in cosign's exact layout to the real test registry.

TEST_CASE("cosign verify: signatures pushed in cosign's layout to a real registry",
          "[integration][registry][trust]") {
    const char* host_env = std::getenv("AGENTD_TEST_REGISTRY");
    INFO("AGENTD_TEST_REGISTRY (host:port of a plain-HTTP test registry) must be set");
    REQUIRE(host_env != nullptr);
    const std::string host = host_env;
    const std::string repository = "agentd-it/cosign";
    const std::string tag = fmt::format(
        "it-{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
    testing::RegistryPusher pusher(host);
    const std::string digest = pusher.push_image(repository, tag, "image " + tag);
    const std::string unsigned_digest = pusher.push_image(repository, tag + "-u", "other " + tag);
    const std::string reference = fmt::format("{}/{}", host, repository);

    OpensslKey signer("p256");
    OpensslKey attacker("ed25519");
    const auto push_signature = [&](const std::string& signed_digest,
                                    const std::vector<SignedLayer>& layers) {
        pusher.push_blob(repository, "{}");
        for (const auto& layer : layers) {
            pusher.push_blob(repository, layer.payload);
        }
        pusher.push_manifest(repository, trust::signature_tag(signed_digest),
                             "application/vnd.oci.image.manifest.v1+json",
                             testing::signature_manifest(layers));
    };
    const std::string payload = testing::simple_signing_payload(reference, digest);
    push_signature(digest, {{payload, signer.sign_base64(payload)}});

    sys::CurlHttpClient http;
    sources::RegistryClient client(http, {});
    const ImageRef image = *ImageRef::parse(reference + ":" + tag);

    const auto verified = trust::verify_cosign_keyed(client, image, digest, {key_of(signer)});
    INFO((verified.ok() ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->key == signer.public_pem().string());

    const auto wrong_key = trust::verify_cosign_keyed(client, image, digest, {key_of(attacker)});
    REQUIRE_FALSE(wrong_key.ok());
    CHECK(wrong_key.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(wrong_key.error().message, Catch::Contains("does not verify"));

    const auto not_signed =
        trust::verify_cosign_keyed(client, image, unsigned_digest, {key_of(signer)});
    REQUIRE_FALSE(not_signed.ok());
    CHECK(not_signed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(not_signed.error().message, Catch::Contains("not signed"));

    // The signature of one image copied to another's signature tag: the payload names the
    // first digest.
    const std::string copied_digest = pusher.push_image(repository, tag + "-c", "copy " + tag);
    push_signature(copied_digest, {{payload, signer.sign_base64(payload)}});
    const auto copied = trust::verify_cosign_keyed(client, image, copied_digest, {key_of(signer)});
    REQUIRE_FALSE(copied.ok());
    CHECK(copied.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(copied.error().message, Catch::Contains("is for digest \"" + digest + "\""));

    // A registry nobody listens on: a failure to read, not a verdict.
    const ImageRef unreachable = *ImageRef::parse("127.0.0.1:9/acme/web:1");
    const auto down = trust::verify_cosign_keyed(client, unreachable, digest, {key_of(signer)});
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().kind != sys::Error::Kind::InvalidInput);
}

}  // namespace unit_trust_cosign_verifier_test
