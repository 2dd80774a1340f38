// agent.yaml's `verify: {cosign: {key: ...}}`, per stack and per service: key files are read
// and parsed when the file is, and a bad one is an error with its place and the file's name.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fstream>

#include "agent/config/config.h"
#include "tests/unit/config/config_yaml.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/sigstore/sigstore_vectors.h"
#include "tests/unit/temp_dir.h"

namespace unit_config_config_verify_test {

using namespace agentd;
using namespace agentd::config;

using namespace agentd::testing;

TEST_CASE("config: verify.cosign.key per stack and per service reads the keys at load",
          "[config][verify]") {
    testing::OpensslKey p256("p256");
    testing::OpensslKey ed25519("ed25519");
    const Config c =
        parse_config(stack_with(fmt::format(
                         "    verify:\n"
                         "      cosign: {{key: {}}}\n"
                         "    images:\n"
                         "      web: {{semver: '^2', verify: {{cosign: {{key: [{}, {}]}}}}}}\n"
                         "      worker: {{verify: {{cosign: {{key: {}}}}}}}\n",
                         p256.public_pem().string(), p256.public_pem().string(),
                         ed25519.public_pem().string(), ed25519.public_pem().string())),
                     "agent.yaml");
    const Stack& stack = c.stacks.at(0);
    REQUIRE(stack.verify);
    REQUIRE(stack.verify->cosign);
    CHECK(stack.verify->cosign->files == std::vector<std::filesystem::path>{p256.public_pem()});
    REQUIRE(stack.verify->cosign->keys.size() == 1);
    CHECK(stack.verify->cosign->keys[0].algorithm() == "ECDSA P-256");

    // web has a tag policy and its own keys; worker only its own keys, no policy.
    CHECK(stack.images.count("web") == 1);
    CHECK(stack.images.count("worker") == 0);
    const ImageVerify* web = stack.verify_for("web");
    REQUIRE(web != nullptr);
    REQUIRE(web->cosign->keys.size() == 2);
    CHECK(web->cosign->keys[1].algorithm() == "Ed25519");
    const ImageVerify* worker = stack.verify_for("worker");
    REQUIRE(worker != nullptr);
    CHECK(worker->cosign->files == std::vector<std::filesystem::path>{ed25519.public_pem()});
    // Any other service gets the stack's policy.
    CHECK(stack.verify_for("db") == &*stack.verify);

    const Config plain = parse_config(stack_with(""), "agent.yaml");
    CHECK(plain.stacks.at(0).verify_for("web") == nullptr);
}

TEST_CASE("config: a bad cosign key file is an error naming the file and its place",
          "[config][verify]") {
    testing::TempDir dir;
    const auto garbage = dir.path() / "garbage.pub";
    std::ofstream(garbage) << "not a key\n";
    testing::OpensslKey p256("p256");
    testing::OpensslKey rsa1024("rsa1024");

    auto errors = errors_of(stack_with(fmt::format("    verify: {{cosign: {{key: {}}}}}\n",
                                                   (dir.path() / "absent.pub").string())));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0],
               Catch::StartsWith("agent.yaml:4:28: stacks[0].verify.cosign.key: "
                                 "public key " +
                                 (dir.path() / "absent.pub").string() + ": cannot be read"));

    errors = errors_of(stack_with(
        fmt::format("    verify:\n      cosign:\n        key:\n          - {}\n          - {}\n    "
                    "      - {}\n",
                    p256.public_pem().string(), garbage.string(), rsa1024.private_pem().string())));
    REQUIRE(errors.size() == 2);
    CHECK_THAT(errors[0], Catch::StartsWith("agent.yaml:8:13: stacks[0].verify.cosign.key[1]: "
                                            "public key " +
                                            garbage.string() + ": is not a PEM public key"));
    CHECK_THAT(errors[1], Catch::StartsWith("agent.yaml:9:13: stacks[0].verify.cosign.key[2]: "
                                            "public key " +
                                            rsa1024.private_pem().string()));

    errors = errors_of(stack_with("    verify: {cosign: {key: cosign.pub}}\n"));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("stacks[0].verify.cosign.key: expected an absolute"));
}

TEST_CASE("config: verify shapes that are not a cosign key are refused", "[config][verify]") {
    const auto one = [](const std::string& extra) {
        const auto errors = errors_of(stack_with(extra));
        INFO(extra);
        REQUIRE(errors.size() == 1);
        return errors[0];
    };
    CHECK(one("    verify: {}\n") ==
          "agent.yaml:4:13: stacks[0].verify: needs cosign: {key: FILE} (the public key images "
          "are signed with) or cosign: {identity: ..., issuer: ...} (keyless)");
    CHECK(one("    verify: {cosign: {}}\n") ==
          "agent.yaml:4:22: stacks[0].verify.cosign: missing required key \"key\" (a public key "
          "file, or a list) or \"identity\" and \"issuer\" (keyless)");
    CHECK(one("    verify: {cosign: {key: []}}\n") ==
          "agent.yaml:4:28: stacks[0].verify.cosign.key: expected at least one public key file");
    CHECK(one("    verify: {cosgin: {}}\n").find("did you mean \"cosign\"") != std::string::npos);
    CHECK(one("    images:\n      web: {}\n") ==
          "agent.yaml:5:12: stacks[0].images.web: needs a tag policy (semver or regex), verify, "
          "or both");
    // Not a default (yet), and git.verify is another feature.
    CHECK(errors_of("defaults:\n  verify: {}\n").at(0) ==
          "agent.yaml:2:3: defaults.verify: not supported by this version of agentd");
}

namespace {

// A trusted root file: Sigstore's public-good one, as a test vector.
std::filesystem::path write_root(const testing::TempDir& dir) {
    const auto file = dir.path() / "trusted_root.json";
    std::ofstream(file) << testing::k_public_good_root;
    return file;
}

}  // namespace

TEST_CASE("config: keyless verify.cosign compiles identity and issuer and reads the root",
          "[config][verify]") {
    testing::TempDir dir;
    const auto root = write_root(dir);
    const Config c = parse_config(
        stack_with(fmt::format("    verify:\n"
                               "      cosign:\n"
                               "        identity: https://github.com/acme/*\n"
                               "        issuer: https://token.actions.githubusercontent.com\n"
                               "        trusted_root: {}\n"
                               "    images:\n"
                               "      web: {{verify: {{cosign: {{identity: 'regex:^ci@acme\\.example$', "
                               "issuer: https://accounts.google.com, trusted_root: {}}}}}}}\n",
                               root.string(), root.string())),
        "agent.yaml");
    const Stack& stack = c.stacks.at(0);
    REQUIRE(stack.verify);
    CHECK_FALSE(stack.verify->cosign);
    REQUIRE(stack.verify->keyless);
    const CosignKeyless& keyless = *stack.verify->keyless;
    CHECK(keyless.policy.identity.kind() == sigstore::IdentityPattern::Kind::Glob);
    CHECK(keyless.policy.identity.matches("https://github.com/acme/web/.github/workflows/r.yml"));
    CHECK_FALSE(keyless.policy.identity.matches("https://github.com/evil/web"));
    CHECK(keyless.policy.issuer.kind() == sigstore::IdentityPattern::Kind::Exact);
    CHECK(keyless.trusted_root_file == root);
    REQUIRE(keyless.trusted_root != nullptr);
    CHECK_FALSE(keyless.trusted_root->tlogs.empty());
    const ImageVerify* web = stack.verify_for("web");
    REQUIRE(web != nullptr);
    REQUIRE(web->keyless);
    CHECK(web->keyless->policy.identity.kind() == sigstore::IdentityPattern::Kind::Regex);
    CHECK(web->keyless->policy.identity.matches("ci@acme.example"));
    CHECK_FALSE(web->keyless->policy.identity.matches("xci@acme.example"));
}

TEST_CASE("config: bad keyless policies are errors with their place", "[config][verify]") {
    testing::TempDir dir;
    const auto root = write_root(dir).string();
    const auto garbage = dir.path() / "garbage.json";
    std::ofstream(garbage) << "{\"mediaType\": \"nope\"}";
    const auto one = [](const std::string& extra) {
        const auto errors = errors_of(stack_with(extra));
        INFO(extra);
        REQUIRE(errors.size() == 1);
        return errors[0];
    };
    CHECK(one("    verify: {cosign: {identity: x}}\n") ==
          "agent.yaml:4:22: stacks[0].verify.cosign: keyless verification needs both identity "
          "and issuer; missing required key \"issuer\"");
    CHECK_THAT(one("    verify: {cosign: {issuer: x}}\n"),
               Catch::Contains("missing required key \"identity\""));
    CHECK_THAT(one(fmt::format("    verify: {{cosign: {{identity: 'regex:(', issuer: x, "
                               "trusted_root: {}}}}}\n",
                               root)),
               Catch::StartsWith("agent.yaml:4:33: stacks[0].verify.cosign.identity: ") &&
                   Catch::Contains("regex"));
    CHECK_THAT(one(fmt::format("    verify: {{cosign: {{key: /k.pub, identity: x, issuer: y}}}}\n")),
               Catch::Contains("key and keyless (identity, issuer, trusted_root) cannot be "
                               "combined"));
    CHECK_THAT(one("    verify: {cosign: {identity: x, issuer: y, trusted_root: root.json}}\n"),
               Catch::Contains("stacks[0].verify.cosign.trusted_root: expected an absolute path"));
    CHECK_THAT(one(fmt::format("    verify: {{cosign: {{identity: x, issuer: y, trusted_root: {}}}}}\n",
                               (dir.path() / "none.json").string())),
               Catch::Contains("stacks[0].verify.cosign.trusted_root: cannot read trusted root " +
                               (dir.path() / "none.json").string() + ": no such file"));
    CHECK_THAT(one(fmt::format("    verify: {{cosign: {{identity: x, issuer: y, trusted_root: {}}}}}\n",
                               garbage.string())),
               Catch::Contains(garbage.string() + " is not a Sigstore trusted root: "));
}

}  // namespace unit_config_config_verify_test
