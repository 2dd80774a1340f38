#include "agent/sys/public_key.h"

#include <fstream>

#include <catch2/catch.hpp>

#include "tests/unit/openssl_signer.h"
#include "tests/unit/temp_dir.h"

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
