// Keyless verification of an image as agentd does it: where the signatures are looked for (the
// referrers, then the legacy tag), what ties them to the digest being deployed, and which
// failures are verdicts. The bundles are made by Sigstore's own JavaScript packages
// (tests/sigstore/make-cases.js, run by scripts/test, which sets AGENTD_TEST_SIGSTORE_CASES);
// the last test reads the one make-cases.js attached to an image in the real test registry.

#include "agent/trust/keyless_verifier.h"

#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <catch2/catch.hpp>

#include "agent/sources/registry_client.h"
#include "agent/sys/http.h"
#include "agent/trust/cosign.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/sigstore/sigstore_cases.h"

namespace unit_trust_keyless_verifier_test {

using namespace agentd;
using Json = nlohmann::json;
using sources::ImageRef;

namespace {

/// make-cases.js's output, or nullopt (with a warning) when scripts/test did not make it.
struct Cases {
    std::filesystem::path dir;
    Json summary;
    std::string digest;  ///< the image every case signs (but other-digest)

    std::string bundle(const std::string& name) const {
        for (const auto& c : summary["cases"]) {
            if (c["name"] == name) {
                return testing::read_fixture(dir / c["file"].get<std::string>());
            }
        }
        FAIL("no case " << name);
        return {};
    }
    /// The policy of the cases: the identity and issuer the good bundles were signed as.
    config::CosignKeyless policy(const std::string& identity = {}) const {
        const auto& first = summary["cases"][0];
        auto keyless = config::CosignKeyless::make(
            identity.empty() ? first["identity"].get<std::string>() : identity,
            first["issuer"].get<std::string>(), dir / "trusted_root.json");
        INFO((keyless ? "" : keyless.error().message));
        REQUIRE(keyless.ok());
        return *keyless;
    }
};

std::optional<Cases> cases() {
    const auto dir = testing::sigstore_cases_dir();
    if (!dir) {
        return std::nullopt;
    }
    Cases out{*dir, Json::parse(testing::read_fixture(*dir / "cases.json")), ""};
    out.digest = out.summary["digest"];
    return out;
}

const ImageRef k_image = *ImageRef::parse("ghcr.io/acme/web:1.0.0");

/// Attaches `bundle` to `subject` of acme/web in `registry` as @sigstore/oci does: an OCI
/// artifact manifest with the bundle as its one layer; returns the artifact's digest.
std::string attach(fakes::FakeRegistry& registry, const std::string& subject,
                   const std::string& bundle) {
    const std::string blob = testing::openssl_digest(bundle);
    const Json manifest = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"artifactType", trust::k_bundle_artifact_type},
        {"config",
         {{"mediaType", "application/vnd.oci.empty.v1+json"},
          {"digest", testing::openssl_digest("{}")},
          {"size", 2}}},
        {"layers", Json::array({Json{{"mediaType", trust::k_bundle_artifact_type},
                                     {"digest", blob},
                                     {"size", bundle.size()}}})},
        {"subject", {{"digest", subject}}}};
    const std::string body = manifest.dump();
    const std::string digest = testing::openssl_digest(body);
    registry.blobs[blob] = bundle;
    sources::Manifest stored;
    stored.body = body;
    registry.manifests["acme/web@" + digest] = stored;
    sources::Referrer referrer;
    referrer.digest = digest;
    referrer.media_type = "application/vnd.oci.image.manifest.v1+json";
    referrer.artifact_type = std::string(trust::k_bundle_artifact_type);
    referrer.size = body.size();
    registry.referrers_of["acme/web@" + subject].push_back(referrer);
    return digest;
}

}  // namespace

TEST_CASE("keyless verify: a bundle attached to the image verifies and names the signer",
          "[trust][keyless][integration]") {
    const auto c = cases();
    if (!c) {
        return;
    }
    fakes::FakeRegistry registry;
    const std::string artifact = attach(registry, c->digest, c->bundle("dsse-good"));

    const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
    INFO((found ? "" : found.error().message));
    REQUIRE(found.ok());
    CHECK(found->verified.identity == c->summary["cases"][0]["identity"].get<std::string>());
    CHECK(found->signature == "Sigstore bundle ghcr.io/acme/web@" + artifact);
    // Found through the referrers: the legacy tag is not asked for.
    CHECK(registry.manifests.count("acme/web:" + trust::signature_tag(c->digest)) == 0);
    CHECK(registry.referrer_lookups == 1);
    CHECK(registry.manifest_gets == 1);
}

TEST_CASE("keyless verify: rejections name every signature looked at and what was expected",
          "[trust][keyless][integration]") {
    const auto c = cases();
    if (!c) {
        return;
    }
    const std::string expected = "expected a keyless signature by \"https://github.com/acme/ops/*\"";

    SECTION("a signature by another identity") {
        fakes::FakeRegistry registry;
        attach(registry, c->digest, c->bundle("dsse-good"));
        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest,
                                                        c->policy("https://github.com/acme/ops/*"));
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(found.error().message,
                   Catch::StartsWith("image ghcr.io/acme/web@" + c->digest +
                                     ": keyless verification failed: Sigstore bundle ") &&
                       Catch::Contains("the certificate's identity is") &&
                       Catch::EndsWith(expected +
                                       " (issuer \"https://token.actions.githubusercontent.com\")"));
    }
    SECTION("a bundle about another image, attached to this one") {
        fakes::FakeRegistry registry;
        attach(registry, c->digest, c->bundle("other-digest"));
        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(found.error().message, Catch::Contains(c->digest));
    }
    SECTION("each failing bundle is named; a later good one still verifies") {
        fakes::FakeRegistry registry;
        const std::string tampered = attach(registry, c->digest, c->bundle("tampered-payload"));
        const std::string untrusted = attach(registry, c->digest, c->bundle("untrusted-ca"));
        const auto rejected = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        REQUIRE_FALSE(rejected.ok());
        CHECK_THAT(rejected.error().message,
                   Catch::Contains("Sigstore bundle ghcr.io/acme/web@" + tampered + ": ") &&
                       Catch::Contains("; Sigstore bundle ghcr.io/acme/web@" + untrusted + ": "));

        attach(registry, c->digest, c->bundle("dsse-good"));
        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        INFO((found ? "" : found.error().message));
        CHECK(found.ok());
    }
    SECTION("a referrer whose manifest is gone, or is no bundle, is a reason, not an error") {
        fakes::FakeRegistry registry;
        const std::string gone = attach(registry, c->digest, c->bundle("dsse-good"));
        registry.manifests.erase("acme/web@" + gone);
        const std::string image_manifest = testing::read_fixture(c->dir / "image-manifest.json");
        sources::Referrer other = registry.referrers_of["acme/web@" + c->digest][0];
        other.digest = testing::openssl_digest(image_manifest);
        registry.manifests["acme/web@" + other.digest].body = image_manifest;
        registry.referrers_of["acme/web@" + c->digest].push_back(other);

        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(found.error().message,
                   Catch::Contains(gone + ": its manifest is missing") &&
                       Catch::Contains(other.digest + ": the Sigstore bundle's manifest has no "
                                                      "layer of a Sigstore bundle media type"));
    }
    SECTION("nothing refers to the image and there is no signature tag") {
        fakes::FakeRegistry registry;
        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(found.error().message,
                   Catch::Contains("not signed: no Sigstore bundle refers to it and there is no "
                                   "signature tag ghcr.io/acme/web:" +
                                   trust::signature_tag(c->digest)));
    }
    SECTION("a legacy signature made with a key is not a keyless signature") {
        fakes::FakeRegistry registry;
        testing::OpensslKey signer("p256");
        const std::string payload = testing::simple_signing_payload("ghcr.io/acme/web", c->digest);
        const std::vector<testing::SignedLayer> layers{{payload, signer.sign_base64(payload)}};
        registry.manifests["acme/web:" + trust::signature_tag(c->digest)].body =
            testing::signature_manifest(layers);
        registry.blobs[testing::openssl_digest(payload)] = payload;
        const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().kind == sys::Error::Kind::InvalidInput);
        CHECK_THAT(found.error().message,
                   Catch::Contains("ghcr.io/acme/web:" + trust::signature_tag(c->digest)) &&
                       Catch::Contains("certificate"));
    }
}

TEST_CASE("keyless verify: a registry that cannot be read is no verdict",
          "[trust][keyless][integration]") {
    const auto c = cases();
    if (!c) {
        return;
    }
    fakes::FakeRegistry registry;
    attach(registry, c->digest, c->bundle("dsse-good"));
    registry.fail = "connection refused";
    const auto found = trust::verify_cosign_keyless(registry, k_image, c->digest, c->policy());
    REQUIRE_FALSE(found.ok());
    CHECK(found.error().kind != sys::Error::Kind::InvalidInput);
    CHECK_THAT(found.error().message, Catch::Contains("connection refused"));

    const auto bad_digest = trust::verify_cosign_keyless(registry, k_image, "sha256:abc", c->policy());
    REQUIRE_FALSE(bad_digest.ok());
    CHECK(bad_digest.error().kind == sys::Error::Kind::InvalidInput);
}

TEST_CASE("keyless verify: the bundle @sigstore/oci attached in the real registry verifies",
          "[trust][keyless][integration][registry]") {
    const auto c = cases();
    if (!c) {
        return;
    }
    const auto& pushed = c->summary["pushed"];
    REQUIRE(pushed.is_object());
    sys::CurlHttpClient http;
    sources::RegistryClient client(http, {});
    const ImageRef image = *ImageRef::parse(pushed["repository"].get<std::string>() + ":signed");
    const std::string subject = pushed["subject"];

    const auto found = trust::verify_cosign_keyless(client, image, subject, c->policy());
    INFO((found ? "" : found.error().message));
    REQUIRE(found.ok());
    CHECK_THAT(found->signature,
               Catch::EndsWith("@" + pushed["artifact"].get<std::string>()));

    const auto other = trust::verify_cosign_keyless(client, image, subject,
                                                    c->policy("https://github.com/mallory/*"));
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(other.error().message, Catch::Contains("the certificate's identity is"));
}

}  // namespace unit_trust_keyless_verifier_test
