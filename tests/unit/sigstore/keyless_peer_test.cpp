// verify_keyless against real public-good signatures (tests/unit/sigstore/sigstore_vectors.h):
// what Sigstore's own clients accept must verify, and any byte changed must not.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"
#include "agent/sigstore/keyless.h"
#include "agent/sigstore/trusted_root.h"
#include "tests/unit/config/source_root.h"
#include "tests/unit/sigstore/sigstore_vectors.h"

namespace unit_sigstore_keyless_peer_test {

using namespace agentd;
using sigstore::IdentityPattern;

namespace {

std::string b64(const nlohmann::json& text) {
    auto out = sys::base64_decode(text.get<std::string>());
    REQUIRE(out);
    return *out;
}

std::string openssl_sha256(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<const char*>(out), length);
}

sigstore::TrustedRoot public_good() {
    auto root = sigstore::parse_trusted_root(testing::k_public_good_root);
    INFO((root ? "" : root.error().message));
    REQUIRE(root.ok());
    return *root;
}

sigstore::KeylessPolicy conformance_policy() {
    return {*IdentityPattern::parse(testing::k_conformance_identity),
            *IdentityPattern::parse(testing::k_conformance_issuer)};
}

/// The evidence of a Sigstore bundle as the bundle parser hands it over; the tlog entry goes
/// through parse_bundle_tlog_entry.
sigstore::KeylessEvidence evidence_of(std::string_view bundle_text, std::string_view artifact = {}) {
    const auto bundle = nlohmann::json::parse(bundle_text);
    sigstore::KeylessEvidence evidence;
    const auto& material = bundle["verificationMaterial"];
    if (material.contains("certificate")) {
        evidence.certificate = b64(material["certificate"]["rawBytes"]);
    } else {
        const auto& chain = material["x509CertificateChain"]["certificates"];
        evidence.certificate = b64(chain[0]["rawBytes"]);
        for (std::size_t i = 1; i < chain.size(); ++i) {
            evidence.chain.push_back(b64(chain[i]["rawBytes"]));
        }
    }
    if (bundle.contains("messageSignature")) {
        evidence.signature = b64(bundle["messageSignature"]["signature"]);
        evidence.content = sigstore::MessageDigest{sys::Hash::Sha256, openssl_sha256(artifact)};
    } else {
        const auto& envelope = bundle["dsseEnvelope"];
        evidence.signature = b64(envelope["signatures"][0]["sig"]);
        evidence.content = sigstore::DsseEnvelope{envelope["payloadType"].get<std::string>(),
                                               b64(envelope["payload"])};
    }
    for (const auto& entry : bundle["verificationMaterial"]["tlogEntries"]) {
        auto parsed = sigstore::parse_bundle_tlog_entry(entry.dump());
        INFO((parsed ? "" : parsed.error().message));
        REQUIRE(parsed.ok());
        evidence.tlog_entries.push_back(*parsed);
    }
    return evidence;
}

void flip(std::string& bytes, std::size_t at) {
    REQUIRE(at < bytes.size());
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
}

}  // namespace

TEST_CASE("keyless peer: public-good trusted root parses with its CAs and Rekor key",
          "[trust][keyless]") {
    const auto root = public_good();
    CHECK(root.certificate_authorities.size() == 2);
    CHECK(root.certificate_authorities[1].certificates.size() == 2);  // intermediate, root
    CHECK(root.certificate_authorities[1].subject == "O=sigstore.dev, CN=sigstore");
    REQUIRE(root.tlogs.size() == 1);
    CHECK(root.tlogs[0].base_url == "https://rekor.sigstore.dev");
    // The log ID is the SHA-256 of the DER key, c0d23d6a...
    CHECK(root.tlogs[0].log_id == openssl_sha256(root.tlogs[0].public_key));
    CHECK(root.ctlogs.size() == 2);
    CHECK(root.timestamp_authorities.size() == 1);
    CHECK_FALSE(root.certificate_authorities[0].valid_for.contains(
        std::chrono::system_clock::from_time_t(1700000000)));  // the 2021-2022 CA
}

TEST_CASE("keyless peer: a public-good hashedrekord signature verifies (SET, proof, checkpoint)",
          "[trust][keyless]") {
    const auto root = public_good();
    const auto evidence =
        evidence_of(testing::k_conformance_hashedrekord_bundle, testing::k_conformance_artifact);
    const auto verified = sigstore::verify_keyless(root, conformance_policy(), evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->identity == testing::k_conformance_identity);
    CHECK(verified->issuer == testing::k_conformance_issuer);
    CHECK(verified->log == "https://rekor.sigstore.dev");
    CHECK(verified->inclusion_proof);
    CHECK(verified->ca == "O=sigstore.dev, CN=sigstore (https://fulcio.sigstore.dev)");
    CHECK(sys::format_rfc3339(verified->signing_time) == "2024-03-19T17:26:26Z");
    CHECK_THAT(verified->describe(),
               Catch::Contains("keyless signature by https://github.com/sigstore-conformance/") &&
                   Catch::Contains("logged in https://rekor.sigstore.dev entry"));

    // Globs and regexes of the kind admins write match it too.
    const sigstore::KeylessPolicy loose{
        *IdentityPattern::parse("https://github.com/sigstore-conformance/*@refs/heads/main"),
        *IdentityPattern::parse("regex:https://token\\.actions\\.githubusercontent\\.com")};
    CHECK(sigstore::verify_keyless(root, loose, evidence).ok());
}

TEST_CASE("keyless peer: a public-good dsse signature verifies", "[trust][keyless]") {
    const auto evidence = evidence_of(testing::k_conformance_dsse_bundle);
    const auto verified = sigstore::verify_keyless(public_good(), conformance_policy(), evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->identity == testing::k_conformance_identity);
}

TEST_CASE("keyless peer: a public-good intoto 0.0.2 entry of 2022 with a chain verifies",
          "[trust][keyless]") {
    auto evidence = evidence_of(testing::k_sigstore_go_intoto_bundle);
    CHECK(evidence.chain.size() == 2);
    const sigstore::KeylessPolicy policy{*IdentityPattern::parse("brian@dehamer.com"),
                                      *IdentityPattern::parse("https://github.com/login/oauth")};
    const auto verified = sigstore::verify_keyless(public_good(), policy, evidence);
    INFO((verified ? "" : verified.error().message));
    REQUIRE(verified.ok());
    CHECK(verified->issuer == "https://github.com/login/oauth");
    CHECK_FALSE(verified->inclusion_proof);
    CHECK(sys::format_rfc3339(verified->signing_time).substr(0, 10) == "2022-11-09");

    // The payload changed by one byte is neither what was signed nor what was logged.
    auto& envelope = std::get<sigstore::DsseEnvelope>(evidence.content);
    envelope.payload[envelope.payload.size() / 2] ^= 0x01;
    const auto result = sigstore::verify_keyless(public_good(), policy, evidence);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Catch::Contains("does not verify with the key"));
}

TEST_CASE("keyless peer: one byte changed anywhere fails", "[trust][keyless]") {
    const auto root = public_good();
    const auto good =
        evidence_of(testing::k_conformance_hashedrekord_bundle, testing::k_conformance_artifact);
    REQUIRE(sigstore::verify_keyless(root, conformance_policy(), good).ok());

    const auto [what, expected] = GENERATE(table<std::string, std::string>({
        {"artifact", "does not verify with the key"},
        {"signature", "does not verify with the key"},
        {"certificate", ""},
        {"body", ""},
        {"SET", "signed entry timestamp"},
        {"integrated time", "signed entry timestamp"},
        {"log index", "signed entry timestamp"},
        {"proof hash", "inclusion proof"},
        {"root hash", "inclusion proof"},
        {"checkpoint", "checkpoint"},
    }));
    auto evidence = good;
    auto& entry = evidence.tlog_entries.at(0);
    if (what == "artifact") {
        std::string artifact(testing::k_conformance_artifact);
        flip(artifact, 20);
        evidence.content = sigstore::MessageDigest{sys::Hash::Sha256, openssl_sha256(artifact)};
    } else if (what == "signature") {
        flip(evidence.signature, evidence.signature.size() - 3);
    } else if (what == "certificate") {
        flip(evidence.certificate, evidence.certificate.size() / 2);
    } else if (what == "body") {
        flip(entry.body, 40);
    } else if (what == "SET") {
        flip(entry.signed_entry_timestamp, 12);
    } else if (what == "integrated time") {
        entry.integrated_time += 1;
    } else if (what == "log index") {
        entry.log_index += 1;
    } else if (what == "proof hash") {
        flip(entry.inclusion_proof->hashes.at(0), 5);
    } else if (what == "root hash") {
        flip(entry.inclusion_proof->root_hash, 5);
    } else {
        auto& note = entry.inclusion_proof->checkpoint;
        note[note.size() - 10] = note[note.size() - 10] == 'A' ? 'B' : 'A';
    }
    const auto result = sigstore::verify_keyless(root, conformance_policy(), evidence);
    INFO(what);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(result.error().message, Catch::Contains(expected));
}

TEST_CASE("keyless peer: the wrong identity or issuer is rejected naming both",
          "[trust][keyless]") {
    const auto root = public_good();
    const auto evidence =
        evidence_of(testing::k_conformance_hashedrekord_bundle, testing::k_conformance_artifact);
    const sigstore::KeylessPolicy other_repo{*IdentityPattern::parse("https://github.com/acme/*"),
                                          *IdentityPattern::parse(testing::k_conformance_issuer)};
    auto result = sigstore::verify_keyless(root, other_repo, evidence);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message,
               Catch::Contains("the certificate's identity is \"https://github.com/sigstore-") &&
                   Catch::Contains("expected \"https://github.com/acme/*\""));

    const sigstore::KeylessPolicy other_issuer{
        *IdentityPattern::parse(testing::k_conformance_identity),
        *IdentityPattern::parse("https://accounts.google.com")};
    result = sigstore::verify_keyless(root, other_issuer, evidence);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message,
               Catch::Contains("OIDC issuer is \"https://token.actions.githubusercontent.com\"") &&
                   Catch::Contains("expected \"https://accounts.google.com\""));
}

TEST_CASE("keyless peer: sigstore-conformance's bundles are judged as the suite expects",
          "[trust][keyless]") {
    const auto [name, expected] = GENERATE(table<std::string, std::string>({
        {"happy-path-v0.1", ""},
        {"checkpoint-wrong-roothash_fail", "is not the tree of the inclusion proof"},
        {"inclusion-proof-corrupted-hash_fail", "does not lead to its root hash"},
        {"invalid-checkpoint-signature_fail", "checkpoint of the inclusion proof is not signed"},
        {"checkpoint-bad-keyhint_fail", "checkpoint of the inclusion proof is not signed"},
        {"incorrect-public-key_fail", "records the signature with another certificate"},
        {"dsse-mismatch-sig_fail", "records another signature"},
        {"dsse-mismatch-envelope_fail", "the log entry records payload hash"},
        {"dsse-invalid-sig_fail", "the signature does not verify with the key"},
        // An old proof without a checkpoint: refused as sigstore-go does.
        {"invalid-inclusion-proof_fail", "inclusionProof.checkpoint is missing"},
    }));
    INFO(name);
    const auto file = std::filesystem::path(AGENTD_SOURCE_ROOT) /
                      "tests/unit/sigstore/data/sigstore-conformance" / (name + ".json");
    std::ifstream in(file);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    const auto bundle = nlohmann::json::parse(text.str());
    std::vector<std::string> entries;
    for (const auto& entry : bundle["verificationMaterial"]["tlogEntries"]) {
        const auto parsed = sigstore::parse_bundle_tlog_entry(entry.dump());
        if (!parsed) {
            CHECK_THAT(parsed.error().message, Catch::Contains(expected));
            CHECK_FALSE(expected.empty());
            return;
        }
    }
    const sigstore::KeylessPolicy any{*IdentityPattern::parse("*"), *IdentityPattern::parse("*")};
    const auto result = sigstore::verify_keyless(
        public_good(), any, evidence_of(text.str(), testing::k_conformance_artifact));
    if (expected.empty()) {
        INFO((result ? "" : result.error().message));
        CHECK(result.ok());
    } else {
        REQUIRE_FALSE(result.ok());
        CHECK_THAT(result.error().message, Catch::Contains(expected));
    }
}

}  // namespace unit_sigstore_keyless_peer_test
