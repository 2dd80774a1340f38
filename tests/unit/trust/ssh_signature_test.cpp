// ssh-keygen's answers as verdicts or transient failures, with a ProcessRunner that answers
// as the test says (the real ssh-keygen is in git_signature_test.cpp).

#include "agent/trust/ssh_signature.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <vector>

#include "agent/trust/private_temp_dir.h"
#include "tests/unit/temp_dir.h"

namespace unit_trust_ssh_signature_test {

using namespace agentd;

namespace {

class AnsweringRunner final : public sys::ProcessRunner {
public:
    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec& spec) override {
        calls.push_back(spec);
        // The signature file exists while ssh-keygen runs, in a directory only agentd enters.
        const auto sig = spec.argv.back();
        struct stat dir_stat {};
        REQUIRE(::stat(std::filesystem::path(sig).parent_path().c_str(), &dir_stat) == 0);
        CHECK((dir_stat.st_mode & 0777) == 0700);
        signature_files.push_back(sig);
        if (answers.empty()) {
            return sys::Error::not_found("ssh-keygen: not found in PATH");
        }
        auto answer = answers.front();
        answers.erase(answers.begin());
        return answer;
    }
    std::vector<sys::ProcessResult> answers;
    std::vector<sys::ProcessSpec> calls;
    std::vector<std::string> signature_files;
};

struct Fixture {
    testing::TempDir dir;
    std::filesystem::path signers = dir.path() / "allowed_signers";
    trust::SignedPayload payload{
        "object x\ntag v1\n\nrelease\n",
        "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"};
    AnsweringRunner runner;
    Fixture() { std::ofstream(signers) << "ci@example.com ssh-ed25519 AAAA\n"; }
    sys::Result<trust::GitSignature> verify() {
        return trust::verify_ssh_signature(runner, signers, payload, "tag v1");
    }
};

}  // namespace

TEST_CASE("ssh signature: find-principals then verify in namespace git, payload on stdin",
          "[trust]") {
    Fixture f;
    f.runner.answers = {{0, false, "ci@example.com\n", ""},
                        {0, false,
                         "Good \"git\" signature for ci@example.com with ED25519 key "
                         "SHA256:abc\n",
                         ""}};
    const auto good = f.verify();
    REQUIRE(good.ok());
    CHECK(good->signer == "ci@example.com");
    CHECK(good->key == "ED25519 SHA256:abc");
    REQUIRE(f.runner.calls.size() == 2);
    const auto& find = f.runner.calls[0].argv;
    CHECK(std::vector<std::string>(find.begin(), find.begin() + 5) ==
          std::vector<std::string>{"ssh-keygen", "-Y", "find-principals", "-f", f.signers});
    const auto& check = f.runner.calls[1].argv;
    CHECK(std::vector<std::string>(check.begin(), check.begin() + 9) ==
          std::vector<std::string>{"ssh-keygen", "-Y", "verify", "-f", f.signers, "-I",
                                   "ci@example.com", "-n", "git"});
    CHECK(f.runner.calls[1].stdin_data == f.payload.payload);
    // The private directory is gone afterwards.
    CHECK_FALSE(std::filesystem::exists(f.runner.signature_files[0]));
}

TEST_CASE("ssh signature: no principal and a failed verify are verdicts", "[trust]") {
    Fixture f;
    f.runner.answers = {{1, false, "", "No principal matched.\n"}};
    auto r = f.verify();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(r.error().message == "tag v1: signed by a key not in allowed_signers " +
                                   f.signers.string() + " (No principal matched.)");

    f.runner.answers = {{0, false, "ci@example.com\n", ""},
                        {255, false, "", "Signature verification failed: incorrect signature\n"}};
    r = f.verify();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(r.error().message ==
          "tag v1: bad SSH signature by ci@example.com (Signature "
          "verification failed: incorrect signature)");
}

TEST_CASE("ssh signature: ssh-keygen missing, killed or timed out is transient", "[trust]") {
    Fixture f;
    auto r = f.verify();  // no answers: not found in PATH
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::Failed);

    f.runner.answers = {{-1, true, "", ""}};
    r = f.verify();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::Failed);
    CHECK(r.error().message == "tag v1: ssh-keygen timed out while checking its signature");

    f.runner.answers = {{0, false, "ci@example.com\n", ""}, {-1, false, "", ""}};
    r = f.verify();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::Failed);

    std::filesystem::remove(f.signers);
    f.runner.calls.clear();
    r = f.verify();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::Failed);
    CHECK(f.runner.calls.empty());
}

}  // namespace unit_trust_ssh_signature_test
