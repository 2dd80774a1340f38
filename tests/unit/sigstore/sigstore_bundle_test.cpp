// The Sigstore bundle parser (agent/sigstore/sigstore_bundle) and the DSSE / in-toto helpers
// (agent/sigstore/in_toto) over three kinds of input: hand-made bundles for each rule, real
// bundles from sigstore-python's test assets (peer vectors), and bundles made by Sigstore's own
// JavaScript packages with a mock Fulcio and Rekor (tests/sigstore/make-cases.js, run by
// scripts/test, which sets AGENTD_TEST_SIGSTORE_CASES). For the last, OpenSSL checks here that
// the parsed bytes are the ones that were signed: the DSSE signature over dsse_pae(), the
// message signature over the message digest, the log's leaf hash over the canonicalized body.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"
#include "agent/sys/files.h"
#include "agent/sigstore/in_toto.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "tests/unit/config/source_root.h"
#include "tests/unit/sigstore/sigstore_cases.h"

namespace unit_sigstore_sigstore_bundle_test {

using namespace agentd;
using sigstore::parse_sigstore_bundle;
using Json = nlohmann::json;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string b64(const std::string& bytes) {
    return sys::base64_encode(bytes);
}

std::filesystem::path peer_vector(const std::string& name) {
    return std::filesystem::path(AGENTD_SOURCE_ROOT) / "tests/unit/sigstore/data/sigstore-python" /
           name;
}

std::string bytes_of_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

std::string repeated(const std::string& bytes, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) {
        out += bytes;
    }
    return out;
}

/// A v0.3 DSSE bundle as sigstore-js writes it, to be varied by each test.
Json dsse_bundle() {
    return Json::parse(R"({
      "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
      "verificationMaterial": {
        "certificate": {"rawBytes": "ZGVyIGJ5dGVz"},
        "tlogEntries": [{
          "logIndex": "4498221",
          "logId": {"keyId": "SwZgW73dK9dMaszgMr+rp8uPsOI8UzAKCyLnWkrN5Bw="},
          "kindVersion": {"kind": "dsse", "version": "0.0.1"},
          "integratedTime": "1796351474",
          "inclusionPromise": {"signedEntryTimestamp": "c2V0"},
          "inclusionProof": {
            "rootHash": "cnJycnJycnJycnJycnJycnJycnJycnJycnJycnJycnI=",
            "treeSize": "1",
            "checkpoint": {"envelope": "rekor.local - 42\n1\ncm9vdA==\n\n— rekor.local c2ln\n"}
          },
          "canonicalizedBody": "eyJraW5kIjoiZHNzZSJ9"
        }],
        "timestampVerificationData": {}
      },
      "dsseEnvelope": {
        "payload": "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==",
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": "c2lnbmF0dXJl", "keyid": ""}]
      }
    })");
}

/// Parses `bundle` and expects InvalidInput containing `expected`.
void expect_refused(const Json& bundle, const std::string& expected) {
    INFO(bundle.dump());
    const auto parsed = parse_sigstore_bundle(bundle.dump());
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(parsed.error().message, Catch::Contains(expected));
}

// -- OpenSSL checks of what the parser returned (the tests' own, independent of agent/) --

struct PublicKeyOf {
    EVP_PKEY* key = nullptr;
    explicit PublicKeyOf(const std::string& der) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
        REQUIRE(cert != nullptr);
        key = X509_get_pubkey(cert);
        X509_free(cert);
        REQUIRE(key != nullptr);
    }
    ~PublicKeyOf() { EVP_PKEY_free(key); }
    PublicKeyOf(const PublicKeyOf&) = delete;
    PublicKeyOf& operator=(const PublicKeyOf&) = delete;
};

/// ECDSA-SHA256 over `message`.
bool verifies(const PublicKeyOf& key, const std::string& message, const std::string& signature) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok =
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.key) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/// ECDSA over an already computed SHA-256 digest.
bool verifies_digest(const PublicKeyOf& key, const std::string& digest,
                     const std::string& signature) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.key, nullptr);
    const bool ok =
        EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
        EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                        signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                        digest.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

}  // namespace

TEST_CASE("sigstore bundle: a v0.3 DSSE bundle yields every field, decoded", "[trust][sigstore]") {
    const auto bundle = parse_sigstore_bundle(dsse_bundle().dump());
    REQUIRE(bundle.ok());
    CHECK(bundle->media_type == "application/vnd.dev.sigstore.bundle.v0.3+json");
    CHECK(bundle->minor_version == 3);
    CHECK(bundle->certificates == std::vector<std::string>{"der bytes"});
    CHECK_FALSE(bundle->certificate_chain);
    CHECK_FALSE(bundle->public_key_hint);
    REQUIRE(bundle->tlog_entries.size() == 1);
    const auto& entry = bundle->tlog_entries[0];
    CHECK(entry.log_index == 4498221);
    CHECK(sys::base64_encode(entry.log_id) == "SwZgW73dK9dMaszgMr+rp8uPsOI8UzAKCyLnWkrN5Bw=");
    CHECK(entry.kind == "dsse");
    CHECK(entry.version == "0.0.1");
    CHECK(entry.integrated_time == 1796351474);
    CHECK(entry.signed_entry_timestamp == "set");
    REQUIRE(entry.inclusion_proof);
    CHECK(entry.inclusion_proof->log_index == 0);  // protobuf's JSON leaves out a zero
    CHECK(entry.inclusion_proof->tree_size == 1);
    CHECK(entry.inclusion_proof->root_hash == std::string(32, 'r'));
    CHECK(entry.inclusion_proof->hashes.empty());
    CHECK(entry.inclusion_proof->checkpoint ==
          "rekor.local - 42\n1\ncm9vdA==\n\n— rekor.local c2ln\n");
    CHECK(entry.body == R"({"kind":"dsse"})");
    CHECK(bundle->rfc3161_timestamps.empty());
    CHECK_FALSE(bundle->message_signature);
    REQUIRE(bundle->dsse_envelope);
    CHECK(bundle->dsse_envelope->payload == R"({"_type":"https://in-toto.io/Statement/v1"})");
    CHECK(bundle->dsse_envelope->payload_type == "application/vnd.in-toto+json");
    CHECK(bundle->dsse_signature.sig == "signature");
    CHECK(bundle->dsse_signature.keyid.empty());
}

TEST_CASE("sigstore bundle: protobuf JSON forms: numbers or strings, URL-safe or unpadded base64",
          "[trust][sigstore]") {
    auto json = dsse_bundle();
    auto& entry = json["verificationMaterial"]["tlogEntries"][0];
    entry["logIndex"] = 7;
    entry["integratedTime"] = nullptr;  // null is absent
    entry["inclusionProof"]["hashes"] = {"-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8",
                                         "AAEAAQABAAEAAQABAAEAAQABAAEAAQABAAEAAQABAAE="};
    json["dsseEnvelope"]["signatures"][0]["sig"] = "c2lnbmF0dXJl-_8";
    const auto bundle = parse_sigstore_bundle(json.dump());
    REQUIRE(bundle.ok());
    CHECK(bundle->tlog_entries[0].log_index == 7);
    CHECK(bundle->tlog_entries[0].integrated_time == 0);
    CHECK(bundle->tlog_entries[0].inclusion_proof->hashes ==
          std::vector<std::string>{repeated("\xfb\xff", 16),
                                   repeated(std::string("\x00\x01", 2), 16)});
    CHECK(bundle->dsse_signature.sig == "signature\xfb\xff");
}

TEST_CASE("sigstore bundle: the media types of v0.1 to v0.3 are read, others refused",
          "[trust][sigstore]") {
    CHECK(sigstore::sigstore_bundle_version("application/vnd.dev.sigstore.bundle+json;version=0.1") ==
          1);
    CHECK(sigstore::sigstore_bundle_version("application/vnd.dev.sigstore.bundle+json;version=0.2") ==
          2);
    CHECK(sigstore::sigstore_bundle_version("application/vnd.dev.sigstore.bundle+json;version=0.3") ==
          3);
    CHECK(sigstore::sigstore_bundle_version("application/vnd.dev.sigstore.bundle.v0.3+json") == 3);
    CHECK(sigstore::sigstore_bundle_version("application/vnd.dev.sigstore.bundle.v0.2+json") == 2);
    for (const std::string other :
         {"", "application/vnd.dev.sigstore.bundle.v0.4+json", "application/json",
          "application/vnd.dev.sigstore.bundle.v0.3+json ",
          "application/vnd.dev.sigstore.bundle+json"}) {
        INFO(other);
        CHECK_FALSE(sigstore::sigstore_bundle_version(other));
    }
    auto json = dsse_bundle();
    json["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json";
    expect_refused(json,
                   "mediaType \"application/vnd.dev.sigstore.bundle.v0.4+json\" is not a "
                   "bundle version agentd reads");
}

TEST_CASE("sigstore bundle: each version's rules on log entries and certificates",
          "[trust][sigstore]") {
    auto json = dsse_bundle();
    auto& material = json["verificationMaterial"];
    material.erase("certificate");
    material["x509CertificateChain"] = {
        {"certificates", {{{"rawBytes", "bGVhZg=="}}, {{"rawBytes", "Y2E="}}}}};
    SECTION("v0.3 may not carry a chain") {
        expect_refused(json, "x509CertificateChain, which a v0.3 bundle may not carry");
    }
    SECTION("v0.2 may, with an inclusion proof and its checkpoint") {
        json["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2";
        const auto bundle = parse_sigstore_bundle(json.dump());
        REQUIRE(bundle.ok());
        CHECK(bundle->certificates == std::vector<std::string>{"leaf", "ca"});
        CHECK(bundle->certificate_chain);
        material["tlogEntries"][0].erase("inclusionProof");
        expect_refused(json,
                       "verificationMaterial.tlogEntries[0] has no inclusionProof (a v0.2 "
                       "bundle needs one)");
        material["tlogEntries"][0]["inclusionProof"] = {
            {"rootHash", "cnJycnJycnJycnJycnJycnJycnJycnJycnJycnJycnI="}, {"treeSize", "1"}};
        expect_refused(json, "tlogEntries[0].inclusionProof.checkpoint is missing");
    }
    SECTION("v0.1 needs a signed entry timestamp, not a proof") {
        json["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1";
        material["tlogEntries"][0].erase("inclusionProof");
        CHECK(parse_sigstore_bundle(json.dump()).ok());
        material["tlogEntries"][0].erase("inclusionPromise");
        expect_refused(json,
                       "tlogEntries[0] has neither an inclusionPromise nor an inclusionProof");
        material["tlogEntries"][0]["inclusionProof"] =
            dsse_bundle()["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
        expect_refused(json, "tlogEntries[0] has no inclusionPromise (a v0.1 bundle needs one)");
    }
    SECTION("no log entry at all is a bundle (the verifier decides whether that is enough)") {
        material["tlogEntries"] = Json::array();
        json["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2";
        const auto bundle = parse_sigstore_bundle(json.dump());
        REQUIRE(bundle.ok());
        CHECK(bundle->tlog_entries.empty());
    }
}

TEST_CASE("sigstore bundle: a public key bundle and a message signature", "[trust][sigstore]") {
    auto json = dsse_bundle();
    json["verificationMaterial"].erase("certificate");
    json["verificationMaterial"]["publicKey"] = {{"hint", "release-key"}};
    json.erase("dsseEnvelope");
    json["messageSignature"] = {
        {"messageDigest",
         {{"algorithm", "SHA2_256"}, {"digest", b64(bytes_of_hex(k_digest.substr(7)))}}},
        {"signature", "c2ln"}};
    const auto bundle = parse_sigstore_bundle(json.dump());
    REQUIRE(bundle.ok());
    CHECK(bundle->certificates.empty());
    CHECK(bundle->public_key_hint == "release-key");
    REQUIRE(bundle->message_signature);
    CHECK(bundle->message_signature->digest_algorithm == "SHA2_256");
    CHECK(bundle->message_signature->signature == "sig");
    CHECK_FALSE(sigstore::check_message_digest(*bundle->message_signature, k_digest));

    const std::string other =
        "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const auto wrong = sigstore::check_message_digest(*bundle->message_signature, other);
    REQUIRE(wrong);
    CHECK(*wrong == "is over digest " + k_digest + ", expected " + other);
    auto sha512 = *bundle->message_signature;
    sha512.digest_algorithm = "SHA2_512";
    const auto algorithm = sigstore::check_message_digest(sha512, k_digest);
    REQUIRE(algorithm);
    CHECK(*algorithm == "has a \"SHA2_512\" digest, expected SHA2_256");

    // The algorithm by its enum number, as protobuf's JSON mapping allows.
    json["messageSignature"]["messageDigest"]["algorithm"] = 1;
    CHECK(parse_sigstore_bundle(json.dump())->message_signature->digest_algorithm == "SHA2_256");
}

TEST_CASE("sigstore bundle: malformed bundles are InvalidInput naming the field",
          "[trust][sigstore]") {
    using Edit = std::function<void(Json&)>;
    const auto [edit, expected] = GENERATE(table<Edit, std::string>({
        {[](Json& j) { j = Json::array(); }, "is not a JSON object"},
        {[](Json& j) { j["mediaType"] = 3; }, "mediaType is not a string"},
        {[](Json& j) { j.erase("verificationMaterial"); }, "verificationMaterial is missing"},
        {[](Json& j) { j["verificationMaterial"] = "x"; }, "verificationMaterial is not an object"},
        {[](Json& j) { j["verificationMaterial"].erase("certificate"); },
         "has none of \"certificate\", \"x509CertificateChain\" and \"publicKey\""},
        {[](Json& j) { j["verificationMaterial"]["publicKey"] = Json::object(); },
         "has more than one of"},
        {[](Json& j) { j["verificationMaterial"]["certificate"]["rawBytes"] = "!!"; },
         "bundle.verificationMaterial.certificate.rawBytes is not base64"},
        {[](Json& j) { j["verificationMaterial"]["certificate"] = Json::object(); },
         "certificate.rawBytes is missing"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"] = Json::object(); },
         "tlogEntries is not an array"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0] = 1; },
         "tlogEntries[0] is not an object"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0].erase("logId"); },
         "tlogEntries[0].logId is missing"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = ""; },
         "tlogEntries[0].logId.keyId is empty"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0].erase("kindVersion"); },
         "tlogEntries[0].kindVersion is missing"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "-1"; },
         "tlogEntries[0].logIndex is not a non-negative integer"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0]["logIndex"] = -1; },
         "logIndex is not a non-negative integer"},
        {[](Json& j) {
             j["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "9223372036854775808";
         },
         "integratedTime is not a non-negative integer"},
        {[](Json& j) { j["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = 1.5; },
         "integratedTime is not a non-negative integer"},
        {[](Json& j) {
             j["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"] = {
                 "cnJycnJycnJycnJycnJycnJycnJycnJycnJycnJycnI=", 1};
         },
         "inclusionProof.hashes[1] is not a base64 SHA-256 hash"},
        {[](Json& j) {
             j["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["rootHash"] = "a b=";
         },
         "inclusionProof.rootHash is not base64"},
        {[](Json& j) {
             j["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"] = Json::object();
         },
         "inclusionPromise.signedEntryTimestamp is missing"},
        {[](Json& j) {
             j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
                 Json::array({Json::object()});  // not {Json::object()}: clang reads a copy
         },
         "rfc3161Timestamps[0].signedTimestamp is missing"},
        {[](Json& j) { j.erase("dsseEnvelope"); },
         "has neither of \"messageSignature\" and \"dsseEnvelope\""},
        {[](Json& j) { j["messageSignature"] = Json::object(); },
         "has both of \"messageSignature\" and \"dsseEnvelope\""},
        {[](Json& j) { j["dsseEnvelope"]["payload"] = ""; }, "dsseEnvelope.payload is empty"},
        {[](Json& j) { j["dsseEnvelope"].erase("payloadType"); },
         "dsseEnvelope.payloadType is missing"},
        {[](Json& j) { j["dsseEnvelope"]["signatures"] = Json::array(); },
         "dsseEnvelope.signatures has 0 signatures; Sigstore signs with exactly one"},
        {[](Json& j) {
             j["dsseEnvelope"]["signatures"].push_back(j["dsseEnvelope"]["signatures"][0]);
         },
         "has 2 signatures"},
        {[](Json& j) { j["dsseEnvelope"]["signatures"][0]["sig"] = "c2ln\n"; },
         "signatures[0].sig is not base64"},
    }));
    auto json = dsse_bundle();
    edit(json);
    expect_refused(json, expected);
}

TEST_CASE("sigstore bundle: a message signature without its parts is refused",
          "[trust][sigstore]") {
    auto json = dsse_bundle();
    json.erase("dsseEnvelope");
    json["messageSignature"] = {{"signature", "c2ln"}};
    expect_refused(json, "messageSignature.messageDigest is missing");
    json["messageSignature"]["messageDigest"] = {{"algorithm", true}, {"digest", "AA=="}};
    expect_refused(json, "messageDigest.algorithm is not a hash algorithm name");
    json["messageSignature"]["messageDigest"] = {{"algorithm", "SHA2_256"}};
    expect_refused(json, "messageDigest.digest is missing");
    json["messageSignature"]["messageDigest"]["digest"] = "AA==";
    json["messageSignature"].erase("signature");
    expect_refused(json, "messageSignature.signature is missing");
}

TEST_CASE("sigstore bundle: size and count bounds", "[trust][sigstore]") {
    const auto big = parse_sigstore_bundle(std::string(sigstore::k_max_bundle_size + 1, ' '));
    REQUIRE_FALSE(big.ok());
    CHECK_THAT(big.error().message, Catch::Contains("at most 4194304 are read"));

    auto json = dsse_bundle();
    auto& entries = json["verificationMaterial"]["tlogEntries"];
    while (entries.size() < 17) {
        entries.push_back(entries[0]);
    }
    expect_refused(json, "tlogEntries has 17 entries; at most 16 are read");

    json = dsse_bundle();
    json["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"] =
        Json(std::vector<std::string>(65, "cnJycnJycnJycnJycnJycnJycnJycnJycnJycnJycnI="));
    expect_refused(json, "inclusionProof.hashes has 65 entries; at most 64 are read");

    CHECK_FALSE(parse_sigstore_bundle("{\"mediaType\": [[[[[[[[").ok());
    CHECK_FALSE(parse_sigstore_bundle(std::string("\xff\xfe", 2)).ok());
}

// -- Peer vectors: real bundles from sigstore-python's test assets --

TEST_CASE("sigstore bundle: real v0.1 and v0.3 message signature bundles (sigstore-python)",
          "[trust][sigstore]") {
    for (const auto& [name, minor, chain] : std::vector<std::tuple<std::string, int, bool>>{
             {"bundle.txt", 1, true}, {"bundle_v3.txt", 3, false}}) {
        INFO(name);
        const auto bundle = parse_sigstore_bundle(testing::read_fixture(peer_vector(name + ".sigstore")));
        REQUIRE(bundle.ok());
        CHECK(bundle->minor_version == minor);
        CHECK(bundle->certificate_chain == chain);
        REQUIRE_FALSE(bundle->certificates.empty());
        REQUIRE(bundle->message_signature);
        // The message digest is the artifact's SHA-256, and the signature holds over it with
        // the leaf certificate's key.
        const std::string artifact = testing::read_fixture(peer_vector(name));
        const std::string digest = "sha256:" + sys::sha256_hex(artifact);
        CHECK_FALSE(sigstore::check_message_digest(*bundle->message_signature, digest));
        const PublicKeyOf key(bundle->certificates.front());
        CHECK(verifies(key, artifact, bundle->message_signature->signature));
        REQUIRE(bundle->tlog_entries.size() == 1);
        const auto& entry = bundle->tlog_entries[0];
        CHECK(entry.kind == "hashedrekord");
        CHECK(entry.log_id.size() == 32);
        CHECK(entry.integrated_time > 1'600'000'000);
        CHECK_FALSE(entry.signed_entry_timestamp.empty());
        REQUIRE(entry.inclusion_proof);
        CHECK(entry.inclusion_proof->root_hash.size() == 32);
        CHECK_FALSE(entry.inclusion_proof->hashes.empty());
        CHECK_THAT(entry.inclusion_proof->checkpoint,
                   Catch::StartsWith("rekor.sigstage.dev - "));  // staging
        CHECK(Json::parse(entry.body)["kind"] == "hashedrekord");
    }
    const auto alt = parse_sigstore_bundle(testing::read_fixture(peer_vector("bundle_v3_alt.txt.sigstore")));
    REQUIRE(alt.ok());
    CHECK(alt->media_type == "application/vnd.dev.sigstore.bundle+json;version=0.3");
    CHECK(alt->minor_version == 3);
}

TEST_CASE("sigstore bundle: a real DSSE bundle with a Rekor v2 entry and a timestamp",
          "[trust][sigstore]") {
    const auto bundle =
        parse_sigstore_bundle(testing::read_fixture(peer_vector("a.dsse.staging-rekor-v2.txt.sigstore.json")));
    REQUIRE(bundle.ok());
    REQUIRE(bundle->dsse_envelope);
    REQUIRE(bundle->tlog_entries.size() == 1);
    CHECK(bundle->tlog_entries[0].version == "0.0.2");
    CHECK(bundle->tlog_entries[0].integrated_time == 0);  // Rekor v2 has none: a TSA dates it
    CHECK(bundle->tlog_entries[0].signed_entry_timestamp.empty());
    REQUIRE(bundle->rfc3161_timestamps.size() == 1);
    CHECK(bundle->rfc3161_timestamps[0].front() == 0x30);  // DER SEQUENCE
    const PublicKeyOf key(bundle->certificates.front());
    CHECK(verifies(
        key, sigstore::dsse_pae(bundle->dsse_envelope->payload_type, bundle->dsse_envelope->payload),
        bundle->dsse_signature.sig));
    const auto statement = sigstore::parse_in_toto_statement(bundle->dsse_envelope->payload);
    REQUIRE(statement.ok());
    CHECK(statement->type == sigstore::k_in_toto_statement_v1);
    REQUIRE_FALSE(statement->subjects.empty());
    CHECK(statement->subjects[0].name == "a.txt");
}

TEST_CASE("sigstore bundle: real bundles sigstore-python refuses are refused",
          "[trust][sigstore]") {
    const auto [name, expected] = GENERATE(table<std::string, std::string>({
        {"bundle_invalid_version.txt.sigstore",
         "mediaType \"this is completely wrong\" is not a bundle version"},
        {"bundle_no_cert_v1.txt.sigstore", "x509CertificateChain.certificates is empty"},
        {"bundle_no_checkpoint.txt.sigstore",
         "tlogEntries[0].inclusionProof.checkpoint is missing"},
    }));
    INFO(name);
    const auto bundle = parse_sigstore_bundle(testing::read_fixture(peer_vector(name)));
    REQUIRE_FALSE(bundle.ok());
    CHECK(bundle.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bundle.error().message, Catch::Contains(expected));
}

// -- Bundles made by @sigstore/sign with a mock Fulcio and Rekor (tests/sigstore) --

TEST_CASE("sigstore bundle: the bundles @sigstore/sign made parse to what was signed",
          "[trust][sigstore][integration]") {
    const auto dir = testing::sigstore_cases_dir();
    if (!dir) {
        return;
    }
    const std::filesystem::path cases_dir = *dir;
    const auto summary = Json::parse(testing::read_fixture(cases_dir / "cases.json"));
    const auto root = Json::parse(testing::read_fixture(cases_dir / "trusted_root.json"));
    const auto log_key_id =
        sys::base64_decode(root["tlogs"][0]["logId"]["keyId"].get<std::string>());
    REQUIRE(log_key_id);
    REQUIRE(summary["cases"].size() >= 12);
    // The image the good bundles are about: its manifest's SHA-256 is the digest.
    const std::string manifest = testing::read_fixture(cases_dir / "image-manifest.json");
    REQUIRE("sha256:" + sys::sha256_hex(manifest) == summary["digest"].get<std::string>());

    int dsse_cases = 0;
    int message_cases = 0;
    for (const auto& c : summary["cases"]) {
        const std::string name = c["name"];
        INFO("case " << name << ": " << c.dump());
        const auto bundle =
            parse_sigstore_bundle(testing::read_fixture(cases_dir / c["file"].get<std::string>()));
        REQUIRE(bundle.ok());  // each bad case is well formed: its fault is in what it says
        // @sigstore/sign writes DSSE bundles as v0.3, message signatures as v0.2, both with the
        // leaf certificate alone.
        CHECK(bundle->minor_version == (c["content"] == "dsse" ? 3 : 2));
        REQUIRE(bundle->certificates.size() == 1);
        REQUIRE(bundle->tlog_entries.size() == 1);
        const auto& entry = bundle->tlog_entries[0];
        CHECK(entry.log_id == *log_key_id);
        CHECK_FALSE(entry.signed_entry_timestamp.empty());
        REQUIRE(entry.inclusion_proof);
        const PublicKeyOf key(bundle->certificates[0]);
        const std::string digest = c["digest"];
        const bool subject_matches = c["subject_matches"];

        if (c["content"] == "dsse") {
            ++dsse_cases;
            REQUIRE(bundle->dsse_envelope);
            CHECK(entry.kind == "dsse");
            // The signature is over DSSE's PAE of exactly these bytes; only the tampered case
            // changed the payload after signing.
            CHECK(verifies(key,
                           sigstore::dsse_pae(bundle->dsse_envelope->payload_type,
                                           bundle->dsse_envelope->payload),
                           bundle->dsse_signature.sig) == (name != "tampered-payload"));
            CHECK(bundle->dsse_envelope->payload_type == sigstore::k_in_toto_payload_type);
            const auto statement = sigstore::parse_in_toto_statement(bundle->dsse_envelope->payload);
            REQUIRE(statement.ok());
            CHECK(statement->type == sigstore::k_in_toto_statement_v1);
            CHECK(sigstore::check_subject_digest(*statement, digest).has_value() != subject_matches);
        } else {
            ++message_cases;
            REQUIRE(bundle->message_signature);
            CHECK(entry.kind == "hashedrekord");
            CHECK(verifies_digest(key, bundle->message_signature->digest,
                                  bundle->message_signature->signature));
            // The message is the image manifest itself for the case about this image.
            CHECK(verifies(key, manifest, bundle->message_signature->signature) == subject_matches);
            CHECK(sigstore::check_message_digest(*bundle->message_signature, digest).has_value() !=
                  subject_matches);
        }
        // The mock log holds one entry: its root is the leaf hash of the canonicalized body
        // (RFC 6962), unless the case broke the proof on purpose.
        if (name != "broken-inclusion-proof" && name != "broken-checkpoint") {
            CHECK(entry.inclusion_proof->tree_size == 1);
            CHECK(entry.inclusion_proof->root_hash ==
                  bytes_of_hex(sys::sha256_hex(std::string(1, '\0') + entry.body)));
        }
    }
    CHECK(dsse_cases >= 10);
    CHECK(message_cases == 2);
}

}  // namespace unit_sigstore_sigstore_bundle_test
