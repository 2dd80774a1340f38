#include "agent/deploy/env_files.h"

#include <fstream>

#include <catch2/catch.hpp>

#include "agent/sys/process.h"
#include "tests/unit/temp_dir.h"

namespace unit_deploy_env_files_test {

using namespace agentd;

namespace {

std::string run(const std::vector<std::string>& argv,
                std::optional<std::string> input = std::nullopt) {
    sys::PosixProcessRunner runner;
    auto result = runner.run({.argv = argv, .stdin_data = std::move(input)});
    REQUIRE(result);
    INFO(argv[0] << ": " << result->err);
    REQUIRE(result->success());
    return result->out;
}

void write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

/// A git stack whose release is in `dir`, with a fresh age identity in `dir`/../agent.key;
/// `recipient` is its public key.
struct Release {
    testing::TempDir temp;
    std::filesystem::path dir = temp.path() / "checkout" / "stack";
    std::filesystem::path key = temp.path() / "host" / "agent.key";
    std::string recipient;
    config::Stack stack;

    Release() {
        std::filesystem::create_directories(dir);
        std::filesystem::create_directories(key.parent_path());
        run({"age-keygen", "-o", key.string()});
        recipient = run({"age-keygen", "-y", key.string()});
        recipient.erase(recipient.find('\n'));
        stack.name = "shop";
        stack.git = config::GitSource{};
        stack.age_identity_file = key;
    }
    void encrypt(const std::filesystem::path& file, const std::string& plaintext,
                 const std::string& to) {
        run({"age", "-r", to, "-o", file.string()}, plaintext);
    }
};

}  // namespace

TEST_CASE("env files: later files win; .age files are decrypted with the host's identity",
          "[deploy]") {
    Release r;
    write(r.dir / "defaults.env", "MODE=plain\nSECRET=placeholder\n");
    std::filesystem::create_directories(r.dir / "secrets");
    r.encrypt(r.dir / "secrets" / "shop.env.age", "SECRET=s3cret-value\n", r.recipient);
    write(r.temp.path() / "host" / "host.env", "HOST_ONLY=1\nMODE=host\n");
    r.stack.env_file = r.temp.path() / "host" / "host.env";
    r.stack.env_files = {"defaults.env", "secrets/shop.env.age"};

    const auto values = deploy::read_env_files(r.stack, r.dir);
    REQUIRE(values);
    CHECK(values->at("SECRET") == "s3cret-value");
    CHECK(values->at("MODE") == "plain");  // env_file first, env_files after it
    CHECK(values->at("HOST_ONLY") == "1");
}

TEST_CASE("env files: a release's file that cannot be decrypted is a verdict naming it",
          "[deploy]") {
    Release r;
    testing::TempDir other;
    run({"age-keygen", "-o", (other.path() / "other.key").string()});
    std::string other_recipient = run({"age-keygen", "-y", (other.path() / "other.key").string()});
    other_recipient.erase(other_recipient.find('\n'));
    r.encrypt(r.dir / "secrets.env.age", "SECRET=s3cret-value\n", other_recipient);
    r.stack.env_files = {"secrets.env.age"};

    const auto values = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(values);
    CHECK(values.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(values.error().message.starts_with("env file secrets.env.age: cannot be decrypted"));
    CHECK(values.error().message.find("no identity matches") != std::string::npos);
    CHECK(values.error().message.find("s3cret") == std::string::npos);

    // Damaged: a payload byte changed.
    r.encrypt(r.dir / "secrets.env.age", "SECRET=s3cret-value\n", r.recipient);
    std::string bytes;
    {
        std::ifstream in(r.dir / "secrets.env.age", std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() - 2] ^= 0x40;
    write(r.dir / "secrets.env.age", bytes);
    const auto damaged = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(damaged);
    CHECK(damaged.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(damaged.error().message.find("payload: ") != std::string::npos);
}

TEST_CASE("env files: missing, escaping through a symlink, or not KEY=VALUE refuses the release",
          "[deploy]") {
    Release r;
    r.stack.env_files = {"missing.env"};
    auto missing = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(missing.error().message == "env file missing.env: not in the release");

    write(r.temp.path() / "host" / "host.env", "HOST_SECRET=x\n");
    std::filesystem::create_directory_symlink(r.temp.path() / "host", r.dir / "link");
    r.stack.env_files = {"link/host.env"};
    auto linked = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(linked);
    CHECK(linked.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(linked.error().message ==
          "env file link/host.env: link is a symlink, which env files may not follow");

    write(r.dir / "bad.env", "SECRET=1\nnot a line\n");
    r.stack.env_files = {"bad.env"};
    auto bad = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "env file bad.env: line 2: expected KEY=VALUE");
}

TEST_CASE("env files: a missing or invalid identity file is a host failure, retried", "[deploy]") {
    Release r;
    r.encrypt(r.dir / "secrets.env.age", "SECRET=1\n", r.recipient);
    r.stack.env_files = {"secrets.env.age"};
    std::filesystem::rename(r.key, r.key.string() + ".away");
    auto missing = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == sys::Error::Kind::Failed);
    CHECK(missing.error().message.find("age_identity_file") != std::string::npos);

    write(r.key, "# not a key\nAGE-SECRET-KEY-1NOTAKEY\n");
    auto invalid = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().kind == sys::Error::Kind::Failed);
    CHECK(invalid.error().message.find("line 2") != std::string::npos);
    CHECK(invalid.error().message.find("NOTAKEY") == std::string::npos);
}

TEST_CASE("env files: the cache fingerprint holds digests of host files, never values",
          "[deploy]") {
    Release r;
    const auto host = r.temp.path() / "host" / "host.env.age";
    r.encrypt(host, "SECRET=one\n", r.recipient);
    r.stack.env_files = {host, "repo.env.age"};
    const auto first = deploy::env_files_fingerprint(r.stack, r.dir);
    CHECK(first.find("SECRET") == std::string::npos);
    CHECK(first.find("one") == std::string::npos);
    // The host file's new ciphertext changes it; a repository file's content does not (the
    // revision stands for it).
    r.encrypt(host, "SECRET=two\n", r.recipient);
    const auto second = deploy::env_files_fingerprint(r.stack, r.dir);
    CHECK(second != first);
    write(r.dir / "repo.env.age", "anything");
    CHECK(deploy::env_files_fingerprint(r.stack, r.dir) == second);
}

TEST_CASE("env files: age_identity_file may be a systemd credential", "[deploy]") {
    Release r;
    r.encrypt(r.dir / "secrets.env.age", "SECRET=from-credential\n", r.recipient);
    r.stack.env_files = {"secrets.env.age"};
    r.stack.age_identity_file = "agent.key";  // a name: looked up in $CREDENTIALS_DIRECTORY
    ::setenv("CREDENTIALS_DIRECTORY", r.key.parent_path().c_str(), 1);
    const auto values = deploy::read_env_files(r.stack, r.dir);
    ::unsetenv("CREDENTIALS_DIRECTORY");
    REQUIRE(values);
    CHECK(values->at("SECRET") == "from-credential");

    const auto unset = deploy::read_env_files(r.stack, r.dir);
    REQUIRE_FALSE(unset);
    CHECK(unset.error().kind == sys::Error::Kind::Failed);
    CHECK(unset.error().message.find("age_identity_file") != std::string::npos);
}

}  // namespace unit_deploy_env_files_test
