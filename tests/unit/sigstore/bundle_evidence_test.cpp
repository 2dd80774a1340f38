// Sigstore bundles turned into keyless evidence (agent/sigstore/bundle_evidence) and verified
// (verify_keyless), against the bundles Sigstore's own JavaScript packages made with a mock
// Fulcio and Rekor (tests/sigstore/make-cases.js; scripts/test sets
// AGENTD_TEST_SIGSTORE_CASES). @sigstore/verify is the oracle: for every case agentd's verdict
// must be the oracle's, except that agentd also requires the bundle to be about the image
// (the oracle verifies a bundle against whatever artifact it names).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"
#include "agent/sys/digest.h"
#include "agent/sigstore/bundle_evidence.h"
#include "agent/sigstore/keyless.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "agent/sigstore/trusted_root.h"
#include "tests/unit/sigstore/sigstore_cases.h"

namespace unit_sigstore_bundle_evidence_test {

using namespace agentd;
using Json = nlohmann::json;

namespace {

sigstore::SigstoreBundle bundle_of(const std::filesystem::path& file) {
    auto bundle = sigstore::parse_sigstore_bundle(testing::read_fixture(file));
    INFO(file.string() << ": " << (bundle ? "" : bundle.error().message));
    REQUIRE(bundle.ok());
    return *bundle;
}

}  // namespace

TEST_CASE("bundle evidence: agentd's verdict on every @sigstore/sign case is the oracle's",
          "[trust][sigstore][integration]") {
    const auto dir = testing::sigstore_cases_dir();
    if (!dir) {
        return;
    }
    const auto summary = Json::parse(testing::read_fixture(*dir / "cases.json"));
    const auto root = sigstore::parse_trusted_root(testing::read_fixture(*dir / "trusted_root.json"));
    REQUIRE(root.ok());
    REQUIRE(summary["cases"].size() >= 12);
    const std::string image_digest = summary["digest"];

    int verified = 0;
    int rejected = 0;
    for (const auto& c : summary["cases"]) {
        const std::string name = c["name"];
        INFO("case " << name << ": " << c.dump());
        const sigstore::KeylessPolicy policy{
            *sigstore::IdentityPattern::parse(c["identity"].get<std::string>()),
            *sigstore::IdentityPattern::parse(c["issuer"].get<std::string>())};
        const auto bundle = bundle_of(*dir / c["file"].get<std::string>());
        const bool oracle = c["oracle"]["verified"];
        const bool subject_matches = c["subject_matches"];

        // The caller's digest is the image's, whatever the bundle says it is about.
        const auto evidence = sigstore::bundle_keyless_evidence(bundle, image_digest);
        std::string reason;
        bool agentd = false;
        if (!evidence) {
            reason = evidence.error().message;
            // Only a bundle about another artifact may fail here.
            CHECK_FALSE(subject_matches);
        } else {
            CHECK(subject_matches);
            const auto verdict = sigstore::verify_keyless(*root, policy, *evidence);
            agentd = verdict.ok();
            reason = verdict ? verdict->describe() : verdict.error().message;
            if (verdict) {
                CHECK(verdict->identity == c["identity"].get<std::string>());
            }
            // Where the bundle is about the image, the verdict is the oracle's.
            CHECK(agentd == oracle);
        }
        WARN(fmt::format("{}: oracle {}{}, agentd {}: {}", name, oracle ? "verified" : "rejected",
                         c["oracle"].contains("error")
                             ? " (" + c["oracle"]["error"].get<std::string>() + ")"
                             : std::string(),
                         agentd ? "verified" : "rejected", reason));
        CHECK((agentd ? "verified" : "rejected") == c["expected"].get<std::string>());
        (agentd ? verified : rejected) += 1;
    }
    CHECK(verified == 2);
    CHECK(rejected >= 10);
}

TEST_CASE("bundle evidence: a message signature is over the caller's digest, checked first",
          "[trust][sigstore][integration]") {
    const auto dir = testing::sigstore_cases_dir();
    if (!dir) {
        return;
    }
    const auto summary = Json::parse(testing::read_fixture(*dir / "cases.json"));
    const std::string image_digest = summary["digest"];
    const auto good = bundle_of(*dir / "message-good.sigstore.json");
    const auto evidence = sigstore::bundle_keyless_evidence(good, image_digest);
    REQUIRE(evidence.ok());
    const auto* digest = std::get_if<sigstore::MessageDigest>(&evidence->content);
    REQUIRE(digest != nullptr);
    CHECK(digest->hash == sys::Hash::Sha256);
    CHECK("sha256:" + sys::hex_encode(digest->digest) == image_digest);
    CHECK(evidence->signature == good.message_signature->signature);

    // The same bundle checked for another image: its messageDigest is not that image's.
    const std::string other = "sha256:" + std::string(64, 'a');
    const auto refused = sigstore::bundle_keyless_evidence(good, other);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("message signature is over digest " +
                                                        image_digest + ", expected " + other));

    // A bundle that names another artifact is refused even though it verifies as a bundle.
    const auto elsewhere = bundle_of(*dir / "message-other-digest.sigstore.json");
    CHECK_FALSE(sigstore::bundle_keyless_evidence(elsewhere, image_digest).ok());
}

TEST_CASE("bundle evidence: DSSE content, a root in the chain, a public key bundle",
          "[trust][sigstore][integration]") {
    const auto dir = testing::sigstore_cases_dir();
    if (!dir) {
        return;
    }
    const auto summary = Json::parse(testing::read_fixture(*dir / "cases.json"));
    const std::string image_digest = summary["digest"];
    auto bundle = bundle_of(*dir / "dsse-good.sigstore.json");
    const auto evidence = sigstore::bundle_keyless_evidence(bundle, image_digest);
    REQUIRE(evidence.ok());
    const auto* envelope = std::get_if<sigstore::DsseEnvelope>(&evidence->content);
    REQUIRE(envelope != nullptr);
    CHECK(envelope->payload == bundle.dsse_envelope->payload);
    CHECK(evidence->signature == bundle.dsse_signature.sig);
    CHECK(evidence->certificate == bundle.certificates[0]);
    CHECK(evidence->chain.empty());
    const auto other = sigstore::bundle_keyless_evidence(bundle, "sha256:" + std::string(64, 'a'));
    REQUIRE_FALSE(other.ok());
    CHECK_THAT(other.error().message, Catch::Contains("in-toto statement"));

    // sigstore-conformance's bundle-with-root-cert_fail: the trusted root's own (self-signed)
    // CA certificate offered in the bundle's chain.
    const auto root = Json::parse(testing::read_fixture(*dir / "trusted_root.json"));
    const auto& chain = root["certificateAuthorities"][0]["certChain"]["certificates"];
    const auto ca = sys::base64_decode(chain[chain.size() - 1]["rawBytes"].get<std::string>());
    REQUIRE(ca);
    bundle.certificates.push_back(*ca);
    const auto with_root = sigstore::bundle_keyless_evidence(bundle, image_digest);
    REQUIRE_FALSE(with_root.ok());
    CHECK_THAT(with_root.error().message, Catch::Contains("self-signed (root) certificate"));
    bundle.certificates.pop_back();

    bundle.certificates.clear();
    bundle.public_key_hint = "";
    const auto keyed = sigstore::bundle_keyless_evidence(bundle, image_digest);
    REQUIRE_FALSE(keyed.ok());
    CHECK_THAT(keyed.error().message, Catch::Contains("not keyless"));
}

}  // namespace unit_sigstore_bundle_evidence_test
