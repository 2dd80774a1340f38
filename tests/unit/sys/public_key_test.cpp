#include "agent/sys/public_key.h"

#include <fstream>

#include <catch2/catch.hpp>

#include "agent/sys/digest.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/temp_dir.h"

namespace unit_sys_public_key_test {

using namespace agentd;
using sys::PublicKey;
using testing::OpensslKey;

namespace {

/// The raw signature in `base64`, decoded by openssl.
std::string decoded(const std::string& base64) {
    testing::TempDir dir;
    std::ofstream(dir.path() / "b64") << base64 << "\n";
    testing::run_openssl({"base64", "-d", "-A", "-in", (dir.path() / "b64").string(), "-out",
                          (dir.path() / "raw").string()});
    return testing::read_file(dir.path() / "raw");
}

}  // namespace

TEST_CASE("public key: P-256, P-384, Ed25519 and RSA keys made by openssl verify their signatures",
          "[sys][public_key]") {
    const auto [kind, algorithm] = GENERATE(table<std::string, std::string>({
        {"p256", "ECDSA P-256"},
        {"p384", "ECDSA P-384"},
        {"ed25519", "Ed25519"},
        {"rsa2048", "RSA 2048"},
    }));
    OpensslKey signer(kind);
    auto key = PublicKey::load(signer.public_pem());
    REQUIRE(key.ok());
    CHECK(key->algorithm() == algorithm);
    CHECK(key->name() == signer.public_pem().string());

    const std::string payload = R"({"critical":{}})";
    const std::string signature = decoded(signer.sign_base64(payload));
    CHECK(key->verifies(payload, signature));
    CHECK_FALSE(key->verifies(payload + " ", signature));
    std::string flipped = signature;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
    CHECK_FALSE(key->verifies(payload, flipped));
    CHECK_FALSE(key->verifies(payload, ""));

    OpensslKey other(kind);
    auto other_key = PublicKey::load(other.public_pem());
    REQUIRE(other_key.ok());
    CHECK_FALSE(other_key->verifies(payload, signature));
}

TEST_CASE("public key: unreadable, non-PEM, private, small RSA and P-521 keys are refused by name",
          "[sys][public_key]") {
    testing::TempDir dir;
    const auto missing = PublicKey::load(dir.path() / "absent.pub");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(missing.error().message, Catch::Contains((dir.path() / "absent.pub").string()) &&
                                            Catch::Contains("cannot be read"));

    std::ofstream(dir.path() / "garbage.pub") << "not a key\n";
    const auto garbage = PublicKey::load(dir.path() / "garbage.pub");
    REQUIRE_FALSE(garbage.ok());
    CHECK_THAT(garbage.error().message,
               Catch::Contains("garbage.pub") && Catch::Contains("is not a PEM public key"));

    OpensslKey p256("p256");
    const auto private_key = PublicKey::load(p256.private_pem());
    REQUIRE_FALSE(private_key.ok());
    CHECK_THAT(private_key.error().message, Catch::Contains("is not a PEM public key"));

    OpensslKey rsa1024("rsa1024");
    const auto small = PublicKey::load(rsa1024.public_pem());
    REQUIRE_FALSE(small.ok());
    CHECK_THAT(small.error().message, Catch::Contains("RSA key of 1024 bits"));

    OpensslKey p521("p521");
    const auto curve = PublicKey::load(p521.public_pem());
    REQUIRE_FALSE(curve.ok());
    CHECK_THAT(curve.error().message,
               Catch::Contains("secp521r1") && Catch::Contains("supported: P-256, P-384"));
}

TEST_CASE("public key: DER keys, SHA-384 signatures and signed digests (Sigstore's forms)",
          "[sys][public_key]") {
    const std::string kind = GENERATE("p256", "p384", "rsa2048");
    OpensslKey signer(kind);
    testing::TempDir dir;
    const auto der_file = dir.path() / "public.der";
    testing::run_openssl({"pkey", "-pubin", "-in", signer.public_pem().string(), "-outform", "DER",
                          "-out", der_file.string()});
    auto key = PublicKey::parse_der(testing::read_file(der_file), "log key");
    REQUIRE(key.ok());
    CHECK(key->natural_hash() == (kind == "p384" ? sys::Hash::Sha384 : sys::Hash::Sha256));

    const std::string data = "the note a log signs\n";
    const auto data_file = dir.path() / "data";
    std::ofstream(data_file, std::ios::binary) << data;
    const auto sig_file = dir.path() / "sig";
    testing::run_openssl({"dgst", "-sha384", "-sign", signer.private_pem().string(), "-out",
                          sig_file.string(), data_file.string()});
    const auto sha384_signature = testing::read_file(sig_file);
    CHECK(key->verifies(data, sha384_signature, sys::Hash::Sha384));
    CHECK_FALSE(key->verifies(data, sha384_signature, sys::Hash::Sha256));
    CHECK_FALSE(key->verifies(data + " ", sha384_signature, sys::Hash::Sha384));

    // A signature over a digest openssl was given (as a hashedrekord records it).
    const auto digest_file = dir.path() / "digest";
    std::ofstream(digest_file, std::ios::binary) << sys::sha256(data);
    testing::run_openssl({"pkeyutl", "-sign", "-inkey", signer.private_pem().string(), "-in",
                          digest_file.string(), "-out", sig_file.string(), "-pkeyopt",
                          "digest:sha256"});
    const auto digest_signature = testing::read_file(sig_file);
    CHECK(key->verifies_digest(sys::sha256(data), digest_signature, sys::Hash::Sha256));
    CHECK(key->verifies(data, digest_signature, sys::Hash::Sha256));
    CHECK_FALSE(key->verifies_digest(sys::sha256(data + " "), digest_signature, sys::Hash::Sha256));

    auto garbage = PublicKey::parse_der("not DER", "log key");
    REQUIRE_FALSE(garbage.ok());
    CHECK_THAT(garbage.error().message,
               Catch::Contains("log key: is not a DER SubjectPublicKeyInfo"));
}

TEST_CASE("digest: SHA-2 digests and hex round trips", "[sys][public_key]") {
    CHECK(sys::hex_encode(sys::sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sys::digest(sys::Hash::Sha384, "").size() == 48);
    CHECK(sys::digest(sys::Hash::Sha512, "").size() == 64);
    CHECK(sys::hex_decode("BA78") == std::string("\xba\x78"));
    CHECK_FALSE(sys::hex_decode("abc"));
    CHECK_FALSE(sys::hex_decode("zz"));
    CHECK(sys::hash_named("sha384") == sys::Hash::Sha384);
    CHECK_FALSE(sys::hash_named("SHA256"));
}

}  // namespace unit_sys_public_key_test
