// verify_keyless against a private Sigstore made at test time by OpenSSL's API
// (tests/unit/sigstore/sigstore_forge.h): each check of the chain, the identity, the log entry and
// its body fails on its own.

#include "agent/sigstore/keyless.h"

#include <catch2/catch.hpp>

#include "agent/trust/cosign_keyless.h"
#include "agent/sigstore/rekor_entry.h"
#include "agent/sigstore/trusted_root.h"
#include "tests/unit/sigstore/sigstore_forge.h"

namespace unit_sigstore_keyless_test {

using namespace agentd;
using namespace agentd::testing::forge;
using sigstore::IdentityPattern;

namespace {

constexpr std::time_t k_ca_from = 1'700'000'000;  // 2023-11-14
constexpr std::time_t k_ca_to = 1'900'000'000;
constexpr std::time_t k_signed_at = 1'760'000'000;  // 2025-10-09
const std::string k_identity =
    "https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v1";
const std::string k_issuer = "https://token.actions.githubusercontent.com";

sigstore::KeylessPolicy policy(const std::string& identity = k_identity,
                            const std::string& issuer = k_issuer) {
    auto id = IdentityPattern::parse(identity);
    auto is = IdentityPattern::parse(issuer);
    REQUIRE(id.ok());
    REQUIRE(is.ok());
    return {*id, *is};
}

/// A signer with its own private Sigstore; `sign` makes the evidence of one message signature.
struct World {
    Fulcio fulcio{k_ca_from, k_ca_to};
    Log log;
    Key signer = p256_key();
    std::string artifact = R"({"critical":{"image":{"docker-manifest-digest":"sha256:ab"}}})";
    /// ECDSA signatures are randomized: the one signature every entry of the world is about.
    std::string signature = sign(signer.get(), artifact);

    sigstore::TrustedRoot root(bool with_intermediate = true,
                            std::optional<std::time_t> log_from = std::nullopt) const {
        auto parsed = sigstore::parse_trusted_root(
            trusted_root_json(fulcio, log, k_ca_from, with_intermediate, log_from));
        INFO((parsed ? "" : parsed.error().message));
        REQUIRE(parsed.ok());
        return *parsed;
    }

    Cert leaf(std::time_t issued = k_signed_at - 60, const std::string& san = "URI:" + k_identity,
              bool code_signing = true) const {
        return fulcio.leaf(signer.get(), issued, san, k_issuer, code_signing);
    }

    sigstore::KeylessEvidence evidence(const Cert& cert, const std::string& entry_json) const {
        sigstore::KeylessEvidence out;
        out.certificate = der(cert.get());
        out.signature = signature;
        out.content = sigstore::MessageDigest{sys::Hash::Sha256, sha256(artifact)};
        auto entry = sigstore::parse_bundle_tlog_entry(entry_json);
        INFO((entry ? "" : entry.error().message));
        REQUIRE(entry.ok());
        out.tlog_entries.push_back(*entry);
        return out;
    }

    /// The evidence of a signature by `cert`, logged at `logged_at`.
    sigstore::KeylessEvidence signed_by(const Cert& cert, std::time_t logged_at = k_signed_at,
                                     bool with_set = true, bool with_proof = true) {
        const auto body = hashedrekord_body(sha256(artifact), signature, cert.get());
        return evidence(cert, log.entry(body, "hashedrekord", logged_at, with_set, with_proof));
    }
};

void require_rejected(const sys::Result<sigstore::KeylessVerified>& result,
                      const std::string& expected) {
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message, Catch::Contains(expected));
}

}  // namespace

TEST_CASE("keyless: a signature by a Fulcio certificate, logged with SET and proof, verifies",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    const auto verified = sigstore::verify_keyless(world.root(), policy(), world.signed_by(cert));
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->identity == k_identity);
    CHECK(verified->issuer == k_issuer);
    CHECK(verified->ca == "O=agentd test, CN=fulcio-test (https://fulcio.test)");
    CHECK(verified->log == "https://rekor.test");
    CHECK(verified->log_index == 1'000'005);
    CHECK(verified->inclusion_proof);
    CHECK(std::chrono::system_clock::to_time_t(verified->signing_time) == k_signed_at);
}

TEST_CASE("keyless: an entry with a SET and no inclusion proof verifies (cosign's bundle)",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    auto evidence = world.signed_by(cert, k_signed_at, true, false);
    // The same entry as cosign's dev.sigstore.cosign/bundle annotation carries it.
    const auto& entry = evidence.tlog_entries[0];
    const std::string annotation =
        fmt::format(R"({{"SignedEntryTimestamp":"{}","Payload":{{"body":"{}","integratedTime":{},)"
                    R"("logIndex":{},"logID":"{}"}}}})",
                    b64(entry.signed_entry_timestamp), b64(entry.body), entry.integrated_time,
                    entry.log_index, hex(entry.log_id));
    auto parsed = sigstore::parse_cosign_bundle(annotation);
    REQUIRE(parsed.ok());
    evidence.tlog_entries = {*parsed};
    const auto verified = sigstore::verify_keyless(world.root(), policy(), evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK_FALSE(verified->inclusion_proof);
}

TEST_CASE("keyless: a DSSE envelope's signature verifies against a dsse entry",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    const std::string type = "application/vnd.in-toto+json";
    const std::string payload = R"({"_type":"https://in-toto.io/Statement/v1","subject":[]})";
    // DSSE's PAE, written out by hand.
    const std::string pae =
        fmt::format("DSSEv1 {} {} {} {}", type.size(), type, payload.size(), payload);
    const auto signature = sign(world.signer.get(), pae);
    const auto body = dsse_body(payload, signature, cert.get());
    sigstore::KeylessEvidence evidence;
    evidence.certificate = der(cert.get());
    evidence.signature = signature;
    evidence.content = sigstore::DsseEnvelope{type, payload};
    evidence.tlog_entries.push_back(
        *sigstore::parse_bundle_tlog_entry(world.log.entry(body, "dsse", k_signed_at)));
    const auto verified = sigstore::verify_keyless(world.root(), policy(), evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());

    // The same envelope with another payload is not what the log recorded.
    evidence.content = sigstore::DsseEnvelope{type, payload + " "};
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "does not verify with the key");
}

TEST_CASE("keyless: intermediates may come with the signature instead of the trusted root",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    auto evidence = world.signed_by(cert);
    require_rejected(sigstore::verify_keyless(world.root(false), policy(), evidence),
                     "does not chain to the trusted root");
    evidence.chain = {der(world.fulcio.intermediate.get())};
    CHECK(sigstore::verify_keyless(world.root(false), policy(), evidence).ok());
}

TEST_CASE("keyless: a certificate expired at the logged time is rejected", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf(k_signed_at - 3600);  // valid for ten minutes, an hour ago
    require_rejected(sigstore::verify_keyless(world.root(), policy(), world.signed_by(cert)),
                     "a certificate of the chain had expired");
    const auto later = world.leaf(k_signed_at + 60);  // not valid yet when logged
    require_rejected(sigstore::verify_keyless(world.root(), policy(), world.signed_by(later)),
                     "not valid yet");
}

TEST_CASE("keyless: a certificate from a CA outside the trusted root is rejected",
          "[trust][keyless]") {
    World world;
    const Fulcio stranger(k_ca_from, k_ca_to, "fulcio-test");  // same names, other keys
    const auto cert =
        stranger.leaf(world.signer.get(), k_signed_at - 60, "URI:" + k_identity, k_issuer);
    auto evidence = world.signed_by(cert);
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "does not chain to the trusted root at the signing time");
    // Offering the stranger's intermediate does not help: it does not chain either.
    evidence.chain = {der(stranger.intermediate.get()), der(stranger.root.get())};
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "does not chain to the trusted root");
}

TEST_CASE("keyless: a CA and a log key are only trusted within their validFor",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf(k_ca_from - 3600);
    const auto evidence = world.signed_by(cert, k_ca_from - 3540);
    require_rejected(sigstore::verify_keyless(world.root(true, k_ca_from - 86400), policy(), evidence),
                     "O=agentd test, CN=fulcio-test (https://fulcio.test): not trusted at the "
                     "signing time");
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "the key of https://rekor.test was not valid at the entry's integrated time "
                     "2023-11-14T21:14:20Z");
}

TEST_CASE("keyless: a certificate without code signing usage is rejected", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf(k_signed_at - 60, "URI:" + k_identity, false);
    require_rejected(sigstore::verify_keyless(world.root(), policy(), world.signed_by(cert)),
                     "does not allow code signing");
}

TEST_CASE("keyless: identity and issuer must match the policy", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    const auto evidence = world.signed_by(cert);
    const auto root = world.root();
    CHECK(sigstore::verify_keyless(root, policy("https://github.com/acme/*"), evidence).ok());
    CHECK(sigstore::verify_keyless(
              root, policy("regex:https://github\\.com/acme/web/.*@refs/tags/v[0-9]+"), evidence)
              .ok());
    require_rejected(sigstore::verify_keyless(root, policy("https://github.com/evil/*"), evidence),
                     "the certificate's identity is \"" + k_identity +
                         "\", expected \"https://github.com/evil/*\"");
    // A regex matches the whole identity, not a part of it.
    require_rejected(
        sigstore::verify_keyless(root, policy("regex:https://github\\.com/acme"), evidence),
        "expected \"regex:https://github\\\\.com/acme\"");
    require_rejected(
        sigstore::verify_keyless(root, policy(k_identity, "https://accounts.google.com"), evidence),
        "the certificate's OIDC issuer is \"" + k_issuer +
            "\", expected \"https://accounts.google.com\"");
}

TEST_CASE("keyless: email SANs and the legacy issuer extension are read", "[trust][keyless]") {
    World world;
    const auto cert =
        world.fulcio.leaf(world.signer.get(), k_signed_at - 60, "email:dev@acme.example",
                          std::nullopt, true, "https://accounts.google.com");
    const auto verified = sigstore::verify_keyless(
        world.root(), policy("dev@acme.example", "https://accounts.google.com"),
        world.signed_by(cert));
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->identity == "dev@acme.example");
    CHECK(verified->issuer == "https://accounts.google.com");
}

TEST_CASE("keyless: a SET not signed by the log's key is rejected", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    const auto other = p256_key();
    const auto& signature = world.signature;
    const auto body = hashedrekord_body(sha256(world.artifact), signature, cert.get());
    const auto evidence = world.evidence(
        cert, world.log.entry(body, "hashedrekord", k_signed_at, true, false, other.get()));
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "the signed entry timestamp of log entry 1000005 does not verify with the "
                     "key of https://rekor.test");
}

TEST_CASE("keyless: a bad inclusion proof or checkpoint is rejected", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    auto evidence = world.signed_by(cert);
    auto& proof = *evidence.tlog_entries[0].inclusion_proof;

    auto bad_hash = evidence;
    bad_hash.tlog_entries[0].inclusion_proof->hashes[0][3] ^= 0x10;
    require_rejected(sigstore::verify_keyless(world.root(), policy(), bad_hash),
                     "the inclusion proof of log entry 1000005 does not lead to its root hash");

    auto bad_index = evidence;
    bad_index.tlog_entries[0].inclusion_proof->log_index = proof.log_index - 1;
    require_rejected(sigstore::verify_keyless(world.root(), policy(), bad_index),
                     "does not lead to its root hash");

    // A checkpoint signed by another key.
    World other_world;
    const auto other_key = p256_key();
    const auto& signature = world.signature;
    const auto body = hashedrekord_body(sha256(world.artifact), signature, cert.get());
    const auto forged = world.evidence(cert, world.log.entry(body, "hashedrekord", k_signed_at,
                                                             true, true, nullptr, other_key.get()));
    require_rejected(sigstore::verify_keyless(world.root(), policy(), forged),
                     "the checkpoint of the inclusion proof is not signed by the key of "
                     "https://rekor.test");
}

TEST_CASE("keyless: a log entry about another signature is rejected", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    const auto& signature = world.signature;
    const auto root = world.root();

    SECTION("another artifact's digest (a valid entry, swapped in)") {
        const auto body = hashedrekord_body(sha256("another artifact"), signature, cert.get());
        require_rejected(
            sigstore::verify_keyless(
                root, policy(),
                world.evidence(cert, world.log.entry(body, "hashedrekord", k_signed_at))),
            "is not about this signature: the log entry records digest " +
                hex(sha256("another artifact")));
    }
    SECTION("another signature") {
        const auto body = hashedrekord_body(sha256(world.artifact),
                                            sign(world.signer.get(), world.artifact), cert.get());
        require_rejected(
            sigstore::verify_keyless(
                root, policy(),
                world.evidence(cert, world.log.entry(body, "hashedrekord", k_signed_at))),
            "the log entry records another signature");
    }
    SECTION("another certificate") {
        const auto other = world.leaf(k_signed_at - 30);
        const auto body = hashedrekord_body(sha256(world.artifact), signature, other.get());
        require_rejected(
            sigstore::verify_keyless(
                root, policy(),
                world.evidence(cert, world.log.entry(body, "hashedrekord", k_signed_at))),
            "the log entry records the signature with another certificate");
    }
    SECTION("a body changed after logging") {
        auto evidence = world.signed_by(cert);
        auto& body = evidence.tlog_entries[0].body;
        body.replace(body.find("\"sha256\""), 8, "\"sha256\" ");
        require_rejected(sigstore::verify_keyless(root, policy(), evidence), "signed entry timestamp");
    }
    SECTION("an entry kind agentd does not check fails closed") {
        const std::string body = R"({"apiVersion":"0.0.1","kind":"rekord","spec":{"data":{}}})";
        require_rejected(
            sigstore::verify_keyless(
                root, policy(), world.evidence(cert, world.log.entry(body, "rekord", k_signed_at))),
            "kind \"rekord\" \"0.0.1\" is not supported");
    }
}

TEST_CASE("keyless: without a SET the signing time is not proven", "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    require_rejected(sigstore::verify_keyless(world.root(), policy(),
                                           world.signed_by(cert, k_signed_at, false, true)),
                     "no transparency log entry has a signed entry timestamp");
}

TEST_CASE("keyless: entries of logs outside the trusted root prove nothing", "[trust][keyless]") {
    World world;
    World elsewhere;
    const auto cert = world.leaf();
    const auto& signature = world.signature;
    const auto body = hashedrekord_body(sha256(world.artifact), signature, cert.get());
    auto evidence = world.evidence(cert, elsewhere.log.entry(body, "hashedrekord", k_signed_at));
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "no transparency log entry from a log of the trusted root (1 entries given)");
    // Next to a good entry it is skipped.
    evidence.tlog_entries.push_back(world.signed_by(cert).tlog_entries[0]);
    CHECK(sigstore::verify_keyless(world.root(), policy(), evidence).ok());
}

TEST_CASE("keyless: a signature by another key than the certificate's is rejected",
          "[trust][keyless]") {
    World world;
    const auto cert = world.leaf();
    auto evidence = world.signed_by(cert);
    evidence.signature = sign(p256_key().get(), world.artifact);
    require_rejected(sigstore::verify_keyless(world.root(), policy(), evidence),
                     "the signature does not verify with the key of the certificate issued to");
}

TEST_CASE("keyless: cosign's legacy layer annotations become evidence that verifies",
          "[trust][keyless][cosign]") {
    World world;
    world.artifact = R"({"critical":{"identity":{"docker-reference":"ghcr.io/acme/web"},)"
                     R"("image":{"docker-manifest-digest":"sha256:0123"},)"
                     R"("type":"cosign container image signature"},"optional":null})";
    world.signature = sign(world.signer.get(), world.artifact);
    const auto cert = world.leaf();
    const auto logged = world.signed_by(cert, k_signed_at, true, false).tlog_entries[0];

    trust::SignatureLayer layer;
    layer.signature = world.signature;
    layer.certificate = pem(cert.get());
    layer.chain = pem(world.fulcio.intermediate.get()) + pem(world.fulcio.root.get());
    layer.bundle =
        fmt::format(R"({{"SignedEntryTimestamp":"{}","Payload":{{"body":"{}","integratedTime":{},)"
                    R"("logIndex":{},"logID":"{}"}}}})",
                    b64(logged.signed_entry_timestamp), b64(logged.body), logged.integrated_time,
                    logged.log_index, hex(logged.log_id));
    auto evidence = trust::cosign_keyless_evidence(layer, world.artifact);
    INFO((evidence ? "" : evidence.error().message));
    REQUIRE(evidence.ok());
    CHECK(evidence->chain.size() == 2);
    // The chain annotation supplies the intermediate the trusted root lacks.
    const auto verified = sigstore::verify_keyless(world.root(false), policy(), *evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->identity == k_identity);

    // A tampered payload is not what was signed.
    auto tampered = trust::cosign_keyless_evidence(layer, world.artifact + " ");
    REQUIRE(tampered.ok());
    require_rejected(sigstore::verify_keyless(world.root(false), policy(), *tampered),
                     "does not verify with the key");

    const auto [field, expected] = GENERATE(table<std::string, std::string>({
        {"certificate", "dev.sigstore.cosign/certificate annotation is missing: not a keyless"},
        {"bundle", "dev.sigstore.cosign/bundle annotation is missing"},
        {"chain-garbage", "dev.sigstore.cosign/chain annotation is not PEM certificates"},
        {"bundle-garbage", "the cosign bundle annotation is not JSON"},
    }));
    auto broken = layer;
    if (field == "certificate") {
        broken.certificate.clear();
    } else if (field == "bundle") {
        broken.bundle.clear();
    } else if (field == "chain-garbage") {
        broken.chain = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    } else {
        broken.bundle = "{";
    }
    const auto refused = trust::cosign_keyless_evidence(broken, world.artifact);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(refused.error().message, Catch::Contains(expected));
}

}  // namespace unit_sigstore_keyless_test
