// The Rekor entry parsers, RFC 6962 inclusion proofs and checkpoints, each alone.

#include "agent/sigstore/rekor_entry.h"

#include <catch2/catch.hpp>

#include "agent/sigstore/checkpoint.h"
#include "agent/sigstore/merkle.h"
#include "agent/sigstore/rekor.h"
#include "agent/sigstore/rekor_body.h"
#include "tests/unit/sigstore/sigstore_forge.h"

namespace unit_sigstore_rekor_entry_test {

using namespace agentd;
using namespace agentd::testing::forge;

TEST_CASE(
    "merkle: proofs built by RFC 6962's recursive definition verify, for every leaf of "
    "trees of 1 to 33 leaves",
    "[trust][merkle]") {
    std::vector<std::string> leaves;
    for (std::size_t size = 1; size <= 33; ++size) {
        leaves.push_back("leaf " + std::to_string(size));
        const auto root = tree_hash(leaves, 0, size);
        for (std::size_t index = 0; index < size; ++index) {
            const auto proof = audit_path(leaves, index, 0, size);
            const auto leaf = sigstore::merkle_leaf_hash(leaves[index]);
            INFO("size " << size << " index " << index);
            CHECK(sigstore::merkle_root_from_proof(index, size, leaf, proof) == root);
            // The same proof for a neighbour, or with a hash changed, gives another root. (A
            // tree of another size may give the same one: the checkpoint pins the size.)
            if (size > 1) {
                CHECK(sigstore::merkle_root_from_proof((index + 1) % size, size, leaf, proof) != root);
                auto changed = proof;
                changed.back()[0] ^= 1;
                CHECK(sigstore::merkle_root_from_proof(index, size, leaf, changed) != root);
            }
        }
    }
    CHECK_FALSE(sigstore::merkle_root_from_proof(3, 3, std::string(32, 'x'), {}));
    CHECK_FALSE(sigstore::merkle_root_from_proof(0, 2, std::string(32, 'x'), {"short"}));
    CHECK_FALSE(sigstore::merkle_root_from_proof(0, 2, std::string(32, 'x'), {}));
}

TEST_CASE("checkpoint: Rekor's signed note parses; malformed ones say why", "[trust][checkpoint]") {
    // The public-good checkpoint of sigstore-conformance's happy-path-v0.3 bundle.
    const std::string note =
        "rekor.sigstore.dev - 2605736670972794746\n75408393\n"
        "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n"
        "\xe2\x80\x94 rekor.sigstore.dev "
        "wNI9ajBFAiBTyiBM9WtyOTgohje6QZ5rFGJUdMq7Wk3A6oThE98SUgIhAMvxDwa7FyqRqg+YV3rdPPrfS23w19iK+"
        "piMSGVOmP5w\n";
    const auto checkpoint = sigstore::parse_checkpoint(note);
    REQUIRE(checkpoint.ok());
    CHECK(checkpoint->origin == "rekor.sigstore.dev - 2605736670972794746");
    CHECK(checkpoint->tree_size == 75408393);
    CHECK(checkpoint->text == note.substr(0, note.find("\n\n") + 1));
    REQUIRE(checkpoint->signatures.size() == 1);
    CHECK(checkpoint->signatures[0].name == "rekor.sigstore.dev");
    CHECK(hex(checkpoint->signatures[0].key_hint) == "c0d23d6a");

    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"origin\n1\nAAAA\n", "no blank line"},
        {"origin\n1\n\n\xe2\x80\x94 a AAAAAAAA\n", "fewer than 3 lines"},
        {"origin\nx\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n\xe2\x80\x94 a AAAAAAAA\n",
         "tree size (line 2) is not a number"},
        {"origin\n1\nAAAA\n\n\xe2\x80\x94 a AAAAAAAA\n", "root hash (line 3) is not 32 bytes"},
        {"origin\n1\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n- a AAAAAAAA\n",
         "does not start with"},
        {"origin\n1\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n\xe2\x80\x94 a AAAA\n",
         "not base64 of a key hint and a signature"},
        {"origin\n1\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n\xe2\x80\x94 a AAAAAAAA",
         "does not end with a signature line"},
    }));
    const auto bad = sigstore::parse_checkpoint(text);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message, Catch::Contains(expected));
}

TEST_CASE("rekor entry: cosign's bundle annotation parses; bad ones name the field",
          "[trust][rekor]") {
    const std::string good =
        R"({"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJhIjoxfQ==",)"
        R"("integratedTime":1700000000,"logIndex":42,)"
        R"("logID":"c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}})";
    const auto entry = sigstore::parse_cosign_bundle(good);
    REQUIRE(entry.ok());
    CHECK(entry->body == R"({"a":1})");
    CHECK(entry->integrated_time == 1700000000);
    CHECK(entry->log_index == 42);
    CHECK(hex(entry->log_id) == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
    CHECK(entry->signed_entry_timestamp == std::string("\x30\x45\x02\x21", 4));
    // What the SET signs: canonical JSON, keys sorted, the logID in hex.
    CHECK(sigstore::signed_entry_timestamp_payload(*entry) ==
          R"({"body":"eyJhIjoxfQ==","integratedTime":1700000000,"logID":)"
          R"("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d","logIndex":42})");

    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{", "cosign bundle annotation is not JSON"},
        {"{}", "SignedEntryTimestamp is missing"},
        {R"({"SignedEntryTimestamp":"MEUCIQ=="})", "Payload is missing"},
        {R"({"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"%%"}})",
         "Payload.body is not base64"},
        {R"({"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJhIjoxfQ==","integratedTime":-1}})",
         "Payload.integratedTime is not a non-negative integer"},
        {R"({"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJhIjoxfQ==","integratedTime":99999999999,"logIndex":1,"logID":"00"}})",
         "Payload.integratedTime is out of range"},
        {R"({"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJhIjoxfQ==","integratedTime":1,"logIndex":1,"logID":"c0d2"}})",
         "Payload.logID is not the hex of a SHA-256 hash"},
    }));
    const auto bad = sigstore::parse_cosign_bundle(text);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message, Catch::Contains(expected));
}

TEST_CASE("rekor entry: a bundle's tlog entry parses; bad ones name the field", "[trust][rekor]") {
    Log log;
    const auto entry =
        sigstore::parse_bundle_tlog_entry(log.entry(R"({"kind":"x"})", "hashedrekord", 1'700'000'000));
    REQUIRE(entry.ok());
    CHECK(entry->kind == "hashedrekord");
    CHECK(entry->version == "0.0.1");
    CHECK(entry->log_index == 1'000'005);
    CHECK(entry->log_id == log.log_id());
    REQUIRE(entry->inclusion_proof);
    CHECK(entry->inclusion_proof->log_index == 5);
    CHECK(entry->inclusion_proof->tree_size == 7);

    const std::string head =
        R"({"canonicalizedBody":"e30=","logIndex":"1","logId":{"keyId":"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},"kindVersion":{"kind":"dsse","version":"0.0.1"})";
    const auto [text, expected] = GENERATE_COPY(table<std::string, std::string>({
        {"{}", "canonicalizedBody is missing"},
        {head + "}", "has neither an inclusionPromise nor an inclusionProof"},
        {head + R"(,"logIndex":"x"})", "logIndex is not a non-negative integer"},
        {head + R"(,"inclusionPromise":{}})", "inclusionPromise.signedEntryTimestamp is missing"},
        {head + R"(,"inclusionProof":{"logIndex":"1","rootHash":"AAAA","treeSize":"2"}})",
         "inclusionProof.rootHash is not 32 bytes"},
        {head +
             R"(,"inclusionProof":{"logIndex":"1","rootHash":"Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=","treeSize":"2","hashes":["AA=="]}})",
         "inclusionProof.hashes[0] is not a base64 SHA-256 hash"},
        {head +
             R"(,"inclusionProof":{"logIndex":"1","rootHash":"Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=","treeSize":"2"}})",
         "inclusionProof.checkpoint is missing"},
    }));
    const auto bad = sigstore::parse_bundle_tlog_entry(text);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message, Catch::Contains(expected));
}

TEST_CASE("rekor body: hashedrekord and dsse parse; other kinds and bad fields fail",
          "[trust][rekor]") {
    const Fulcio fulcio(1'700'000'000, 1'900'000'000);
    const auto key = p256_key();
    const auto cert = fulcio.leaf(key.get(), 1'750'000'000, "URI:https://x", "https://i");
    const auto body = sigstore::parse_rekor_body(hashedrekord_body(sha256("a"), "sig", cert.get()));
    REQUIRE(body.ok());
    CHECK(body->kind == "hashedrekord");
    CHECK(body->digest == sha256("a"));
    REQUIRE(body->signatures.size() == 1);
    CHECK(body->signatures[0].signature == "sig");
    CHECK(body->signatures[0].certificate == der(cert.get()));
    CHECK_FALSE(sigstore::body_mismatch(*body, sigstore::MessageDigest{sys::Hash::Sha256, sha256("a")},
                                     "sig", der(cert.get())));
    CHECK(sigstore::body_mismatch(*body, sigstore::DsseEnvelope{"t", "a"}, "sig", der(cert.get())) ==
          "the log entry is a hashedrekord entry, expected dsse or intoto for a DSSE envelope");

    const auto dsse = sigstore::parse_rekor_body(dsse_body("payload", "sig", cert.get()));
    REQUIRE(dsse.ok());
    CHECK(dsse->digest == sha256("payload"));
    CHECK_FALSE(
        sigstore::body_mismatch(*dsse, sigstore::DsseEnvelope{"t", "payload"}, "sig", der(cert.get())));

    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {R"({"apiVersion":"0.0.1","kind":"intoto","spec":{}})",
         "kind \"intoto\" \"0.0.1\" is not supported; supported: hashedrekord 0.0.1, dsse "
         "0.0.1, intoto 0.0.2"},
        {R"({"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"payloadHash":{"algorithm":"sha256","value":"6a2da20943931e9834fc12cfe5bb47bbd9ae43489a30726962b576f4e3993e50"},"envelope":{"signatures":[{"sig":"AAAA","publicKey":"AAAA"}]}}}})",
         "spec.content.envelope.signatures[0].sig is not base64 of base64"},
        {R"({"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}})", "is not supported"},
        {R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}})",
         "the log entry's body: spec.data is missing"},
        {R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"md5","value":"00"}}}})",
         "spec.data.hash.algorithm \"md5\" is not sha256, sha384 or sha512"},
        {R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}}}})",
         "spec.data.hash.value is not the hex of a sha256 digest"},
        {R"({"apiVersion":"0.0.1","kind":"dsse","spec":{"payloadHash":{"algorithm":"sha256","value":"6a2da20943931e9834fc12cfe5bb47bbd9ae43489a30726962b576f4e3993e50"},"signatures":[]}})",
         "spec.signatures is empty"},
    }));
    const auto bad = sigstore::parse_rekor_body(text);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(bad.error().message, Catch::Contains(expected));
}

}  // namespace unit_sigstore_rekor_entry_test
