#include "agent/daemon/verify_request.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/unit/openssl_signer.h"
#include "tests/unit/sigstore/sigstore_vectors.h"
#include "tests/unit/temp_dir.h"

namespace unit_daemon_verify_request_test {

using namespace agentd;
using daemon::parse_verify_request;
using daemon::verify_policy;
using nlohmann::json;

namespace {

/// The InvalidInput message of a request that must be refused.
std::string refused(const json& body) {
    auto r = parse_verify_request(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);
    return r.error().message;
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("verify request: an image and one key file, or a list of them", "[daemon]") {
    auto one = parse_verify_request(json{{"image", "ghcr.io/acme/web:2.4.0"}, {"key", "/k.pub"}});
    REQUIRE(one.ok());
    CHECK(one->image.registry == "ghcr.io");
    CHECK(one->image.repository == "acme/web");
    CHECK(one->image.tag == "2.4.0");
    CHECK(one->key_files == std::vector<std::filesystem::path>{"/k.pub"});
    CHECK_FALSE(one->keyless);

    const std::string digest = "sha256:" + std::string(64, 'b');
    auto two = parse_verify_request(
        json{{"image", "web@" + digest}, {"key", json::array({"/a.pub", "/b.pub"})}});
    REQUIRE(two.ok());
    CHECK(two->image.repository == "library/web");
    CHECK(two->image.digest == digest);
    CHECK(two->key_files.size() == 2);

    auto keyless = parse_verify_request(json{{"image", "web"},
                                             {"identity", "https://github.com/acme/*"},
                                             {"issuer", "https://token.example"}});
    REQUIRE(keyless.ok());
    REQUIRE(keyless->keyless);
    CHECK(keyless->keyless->identity == "https://github.com/acme/*");
    CHECK(keyless->keyless->issuer == "https://token.example");
    CHECK(keyless->key_files.empty());
}

TEST_CASE("verify request: a bad image reference is refused naming the field", "[daemon]") {
    CHECK(starts_with(refused(json{{"key", "/k.pub"}}), "image: required"));
    CHECK(starts_with(refused(json{{"image", ""}, {"key", "/k.pub"}}), "image: required"));
    CHECK(starts_with(refused(json{{"image", 7}, {"key", "/k.pub"}}), "image: required"));
    CHECK(starts_with(refused(json{{"image", "Not An Image"}, {"key", "/k.pub"}}), "image: "));
    CHECK(starts_with(refused(json{{"image", "web:bad tag"}, {"key", "/k.pub"}}), "image: "));
    CHECK(starts_with(refused(json{{"image", "web@sha256:123"}, {"key", "/k.pub"}}), "image: "));
    CHECK(refused(json::array()) == "request body: expected a JSON object");
}

TEST_CASE("verify request: key files are absolute paths", "[daemon]") {
    CHECK(refused(json{{"image", "web"}, {"key", "cosign.pub"}}) ==
          "key: cosign.pub is a relative path; agentd reads the file itself: give an "
          "absolute path");
    CHECK(starts_with(refused(json{{"image", "web"}, {"key", ""}}), "key: expected the absolute"));
    CHECK(starts_with(refused(json{{"image", "web"}, {"key", 3}}), "key: expected the absolute"));
    CHECK(starts_with(refused(json{{"image", "web"}, {"key", json::array()}}),
                      "key: expected at least one"));
    CHECK(starts_with(refused(json{{"image", "web"}, {"key", json::array({"/a.pub", "b.pub"})}}),
                      "key: b.pub is a relative path"));
    CHECK(starts_with(refused(json{{"image", "web"}, {"key", std::string("/a\nb.pub")}}),
                      "key: expected a file path"));
    CHECK(starts_with(
        refused(json{{"image", "web"}, {"key", json(std::vector<std::string>(33, "/k.pub"))}}),
        "key: at most 32"));
}

TEST_CASE("verify request: exactly one of key and identity with issuer", "[daemon]") {
    CHECK(starts_with(refused(json{{"image", "web"}}), "give the signatures to check"));
    CHECK(refused(json{{"image", "web"}, {"key", "/k.pub"}, {"identity", "x"}, {"issuer", "y"}})
              .find("not both") != std::string::npos);
    CHECK(refused(json{{"image", "web"}, {"key", "/k.pub"}, {"issuer", "y"}}).find("not both") !=
          std::string::npos);
    CHECK(refused(json{{"image", "web"}, {"identity", "x"}}) == "issuer: required with identity");
    CHECK(refused(json{{"image", "web"}, {"issuer", "y"}}) == "identity: required with issuer");
    CHECK(starts_with(refused(json{{"image", "web"}, {"identity", ""}, {"issuer", "y"}}),
                      "identity: expected a non-empty string"));
    CHECK(starts_with(refused(json{{"image", "web"}, {"identity", "x"}, {"issuer", false}}),
                      "issuer: expected a non-empty string"));
    CHECK(refused(json{{"image", "web"}, {"key", "/k.pub"}, {"keys", "/k.pub"}}) ==
          "unknown field \"keys\" (expected image, key, identity, issuer, trusted_root)");
}

TEST_CASE("verify request: the policy reads each key file and names a bad one", "[daemon]") {
    testing::OpensslKey p256("p256");
    testing::OpensslKey ed25519("ed25519");
    auto request = parse_verify_request(
        json{{"image", "web"},
             {"key", json::array({p256.public_pem().string(), ed25519.public_pem().string()})}});
    REQUIRE(request.ok());
    auto policy = verify_policy(*request);
    REQUIRE(policy.ok());
    REQUIRE(policy->cosign);
    CHECK(policy->cosign->files == request->key_files);
    REQUIRE(policy->cosign->keys.size() == 2);
    CHECK(policy->cosign->keys[0].algorithm() == "ECDSA P-256");
    CHECK(policy->cosign->keys[0].name() == p256.public_pem().string());
    CHECK(policy->cosign->keys[1].algorithm() == "Ed25519");

    testing::TempDir dir;
    const auto missing = dir.path() / "missing.pub";
    request->key_files = {p256.public_pem(), missing};
    auto unreadable = verify_policy(*request);
    REQUIRE_FALSE(unreadable.ok());
    CHECK(unreadable.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(starts_with(unreadable.error().message,
                      "key: public key " + missing.string() + ": cannot be read"));

    // A private key is not a public key: it is refused, never used.
    request->key_files = {p256.private_pem()};
    auto private_key = verify_policy(*request);
    REQUIRE_FALSE(private_key.ok());
    CHECK(
        starts_with(private_key.error().message, "key: public key " + p256.private_pem().string()));
    request->key_files = {dir.path()};
    CHECK_FALSE(verify_policy(*request).ok());
}

TEST_CASE("verify request: keyless builds the policy agent.yaml would", "[daemon]") {
    agentd::testing::TempDir dir;
    const auto root = dir.path() / "trusted_root.json";
    std::ofstream(root) << agentd::testing::k_public_good_root;
    auto request = parse_verify_request(json{{"image", "web"},
                                             {"identity", "https://github.com/acme/*"},
                                             {"issuer", "https://x"},
                                             {"trusted_root", root.string()}});
    REQUIRE(request.ok());
    auto policy = verify_policy(*request);
    REQUIRE(policy.ok());
    CHECK_FALSE(policy->cosign);
    REQUIRE(policy->keyless);
    CHECK(policy->keyless->policy.identity.matches("https://github.com/acme/web"));
    CHECK(policy->keyless->policy.issuer.text() == "https://x");
    CHECK(policy->keyless->trusted_root_file == root);
    REQUIRE(policy->keyless->trusted_root != nullptr);

    CHECK(refused(json{{"image", "web"}, {"identity", "x"}, {"issuer", "y"},
                       {"trusted_root", "root.json"}})
              .rfind("trusted_root: root.json is a relative path", 0) == 0);
    CHECK(refused(json{{"image", "web"}, {"key", "/k.pub"}, {"trusted_root", "/r.json"}})
              .rfind("give either key", 0) == 0);
    request->keyless->identity = "regex:(";
    policy = verify_policy(*request);
    REQUIRE_FALSE(policy.ok());
    CHECK(policy.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(starts_with(policy.error().message, "identity: "));
}

}  // namespace unit_daemon_verify_request_test
