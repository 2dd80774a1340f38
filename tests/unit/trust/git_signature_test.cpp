// Signatures made by the real tools (ssh-keygen through git, gpg), never by agentd, checked by
// trust::MirrorGitVerifier in a mirror fetched by LibGit2Source.

#include "agent/trust/git_signature.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/sources/git_source.h"
#include "agent/sys/files.h"
#include "agent/sys/process.h"
#include "agent/trust/git_verifier.h"
#include "tests/unit/temp_dir.h"

namespace unit_trust_git_signature_test {

namespace fs = std::filesystem;
using agentd::config::GitSource;
using agentd::config::GitVerify;
using agentd::sys::Error;
using agentd::trust::SignatureMethod;

namespace {

/// Runs a program; the test fails unless it succeeds. Returns stdout without trailing newlines.
std::string run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                std::optional<std::string> in = std::nullopt) {
    agentd::sys::PosixProcessRunner runner;
    agentd::sys::ProcessSpec spec;
    spec.argv = argv;
    spec.env = env;
    spec.stdin_data = std::move(in);
    auto result = runner.run(spec);
    REQUIRE(result.ok());
    INFO(fmt::format("{}: {}", fmt::join(argv, " "), result->err));
    REQUIRE(result->success());
    std::string out = result->out;
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    return out;
}

/// A maintainer's machine: SSH and OpenPGP keys, a work tree and the bare repository it
/// pushes to; agentd's side: a state_dir whose mirror is fetched with LibGit2Source.
class SigningMaintainer {
public:
    SigningMaintainer()
        : m_bare(m_dir.path() / "remote.git"),
          m_work(m_dir.path() / "work"),
          m_gnupg(m_dir.path() / "gnupg"),
          m_state(m_dir.path() / "state") {
        m_env = {{"GIT_CONFIG_NOSYSTEM", "1"},
                 {"HOME", m_dir.path().string()},
                 {"GNUPGHOME", m_gnupg.string()}};
        git({"init", "-q", "--bare", "-b", "main", m_bare.string()});
        git({"init", "-q", "-b", "main", m_work.string()});
    }
    ~SigningMaintainer() {
        if (fs::exists(m_gnupg)) {
            // gpg started an agent for the signing key; it goes with the test.
            agentd::sys::PosixProcessRunner runner;
            agentd::sys::ProcessSpec spec;
            spec.argv = {"gpgconf", "--homedir", m_gnupg.string(), "--kill", "all"};
            (void)runner.run(spec);
        }
    }

    const fs::path& dir() const { return m_dir.path(); }
    const fs::path& state() const { return m_state; }

    std::string git(std::vector<std::string> args) {
        std::vector<std::string> argv = {"git", "-c", "user.name=Test", "-c",
                                         "user.email=test@example.com"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, m_env);
    }
    std::string git_in_work(std::vector<std::string> args) {
        args.insert(args.begin(), {"-C", m_work.string()});
        return git(std::move(args));
    }

    /// A new ed25519 key `name`; returns the private key's path.
    fs::path ssh_key(const std::string& name) {
        const auto key = m_dir.path() / name;
        run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.string()}, m_env);
        return key;
    }
    /// An allowed_signers file trusting `principal` with the public key of `key`.
    fs::path allowed_signers(const std::string& principal, const fs::path& key) {
        const auto pub = agentd::sys::read_file(key.string() + ".pub");
        REQUIRE(pub.ok());
        const auto file = m_dir.path() / ("allowed_signers." + principal);
        std::ofstream(file) << principal << " namespaces=\"git\" " << *pub;
        return file;
    }
    /// A new OpenPGP key (no passphrase) for `uid` in the maintainer's GNUPGHOME; its
    /// fingerprint.
    std::string gpg_key(const std::string& uid) {
        fs::create_directories(m_gnupg);
        fs::permissions(m_gnupg, fs::perms::owner_all);
        run({"gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid, "ed25519",
             "sign", "never"},
            m_env);
        const auto listing = run({"gpg", "--batch", "--with-colons", "--list-keys", uid}, m_env);
        const auto fpr = listing.find("\nfpr:");
        REQUIRE(fpr != std::string::npos);
        const auto start = listing.find_first_not_of(':', fpr + 5);
        return listing.substr(start, 40);
    }
    /// The exported public key `fpr`, as a keyring file an admin configures.
    fs::path gpg_keyring(const std::string& fpr, bool armor) {
        const auto file = m_dir.path() / (fpr + (armor ? ".asc" : ".gpg"));
        std::vector<std::string> argv = {"gpg", "--batch", "--output", file.string()};
        if (armor) {
            argv.push_back("--armor");
        }
        argv.insert(argv.end(), {"--export", fpr});
        run(argv, m_env);
        return file;
    }

    /// Commits a change on main; `sign` are the extra git options that sign it (empty: not
    /// signed). Returns the commit id.
    std::string commit(int n, const std::vector<std::string>& sign = {}) {
        std::ofstream(m_work / "compose.yaml") << "# release " << n << "\n";
        git_in_work({"add", "compose.yaml"});
        std::vector<std::string> args = sign;
        args.insert(args.end(), {"commit", "-q", "-m", fmt::format("release {}", n)});
        if (!sign.empty()) {
            args.push_back("-S");
        }
        git_in_work(args);
        return git_in_work({"rev-parse", "HEAD"});
    }
    /// Tags HEAD `name`: signed with `sign` options, annotated but unsigned when `sign` is
    /// empty and `annotated`, lightweight otherwise.
    void tag(const std::string& name, const std::vector<std::string>& sign, bool annotated = true) {
        std::vector<std::string> args = sign;
        args.push_back("tag");
        if (!sign.empty()) {
            args.insert(args.end(), {"-s", "-m", "release " + name});
        } else if (annotated) {
            args.insert(args.end(), {"-a", "-m", "release " + name});
        }
        args.push_back(name);
        git_in_work(args);
    }
    void push() { git_in_work({"push", "-q", "-f", "--tags", m_bare.string(), "main"}); }

    GitSource source(GitVerify verify) const {
        GitSource s;
        s.url = m_bare.string();
        s.verify = std::move(verify);
        return s;
    }
    /// agentd's mirror fetches the branch and the tags.
    void fetch_mirror() {
        agentd::sources::LibGit2Source git(m_state);
        GitSource s;
        s.url = m_bare.string();
        REQUIRE(git.fetch(s).ok());
        REQUIRE(git.tags(s).ok());
    }
    std::string commit_of(const std::string& tag) {
        return git_in_work({"rev-parse", tag + "^{commit}"});
    }

private:
    agentd::testing::TempDir m_dir;
    fs::path m_bare;
    fs::path m_work;
    fs::path m_gnupg;
    fs::path m_state;
    std::map<std::string, std::string> m_env;
};

std::vector<std::string> ssh_signing(const fs::path& key) {
    return {"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key.string()};
}
std::vector<std::string> gpg_signing(const std::string& fpr) {
    return {"-c", "gpg.format=openpgp", "-c", "user.signingkey=" + fpr};
}

}  // namespace

TEST_CASE("git signature: a tag's signature is the last signature block of the object",
          "[trust][git_signature]") {
    const std::string raw =
        "object 0123456789012345678901234567890123456789\ntype commit\ntag v1\n"
        "tagger T <t@e> 1 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\nnot the last\n"
        "-----END PGP SIGNATURE-----\n-----BEGIN SSH SIGNATURE-----\nAAAA\n"
        "-----END SSH SIGNATURE-----\n";
    const auto split = agentd::trust::split_tag_signature(raw);
    REQUIRE(split);
    CHECK(split->payload + split->signature == raw);
    CHECK(split->signature.rfind("-----BEGIN SSH SIGNATURE-----\n", 0) == 0);
    CHECK(agentd::trust::signature_method(split->signature) == SignatureMethod::Ssh);
    CHECK(agentd::trust::object_header(raw, "tag") == "v1");
    CHECK(agentd::trust::object_header(raw, "type") == "commit");
    CHECK_FALSE(agentd::trust::object_header(raw, "release"));  // the message is no header
}

TEST_CASE("git signature: no block, or one not at a line start, is no signature",
          "[trust][git_signature]") {
    CHECK_FALSE(agentd::trust::split_tag_signature("object x\ntag v1\n\nmessage\n"));
    CHECK_FALSE(agentd::trust::split_tag_signature(
        "object x\ntag v1\n\nsee  -----BEGIN PGP SIGNATURE-----\n"));
    CHECK_FALSE(agentd::trust::split_tag_signature(""));
    CHECK(agentd::trust::signature_method("-----BEGIN PGP SIGNATURE-----\nx") ==
          SignatureMethod::OpenPgp);
    CHECK_FALSE(agentd::trust::signature_method("-----BEGIN SIGNED MESSAGE-----\nx"));
    CHECK_FALSE(agentd::trust::signature_method("garbage"));
}

TEST_CASE("git signature: SSH-signed tag and commit verify against allowed_signers",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto key = m.ssh_key("release-key");
    const auto commit = m.commit(1, ssh_signing(key));
    m.tag("v1.0.0", ssh_signing(key));
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto source = m.source({.allowed_signers = m.allowed_signers("ci@example.com", key)});

    const auto tag = verifier.verify_tag(source, "v1.0.0", commit);
    INFO((tag ? "" : tag.error().message));
    REQUIRE(tag.ok());
    CHECK(tag->method == SignatureMethod::Ssh);
    CHECK(tag->signer == "ci@example.com");
    CHECK(tag->key.rfind("ED25519 SHA256:", 0) == 0);

    const auto head = verifier.verify_commit(source, commit);
    INFO((head ? "" : head.error().message));
    REQUIRE(head.ok());
    CHECK(head->signer == "ci@example.com");
}

TEST_CASE("git signature: unsigned and lightweight tags and unsigned commits are rejected",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto key = m.ssh_key("release-key");
    const auto commit = m.commit(1);
    m.tag("v1.0.0", {});
    m.tag("v1.0.1", {}, false);
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto source = m.source({.allowed_signers = m.allowed_signers("ci@example.com", key)});

    const auto annotated = verifier.verify_tag(source, "v1.0.0", commit);
    REQUIRE_FALSE(annotated.ok());
    CHECK(annotated.error().kind == Error::Kind::InvalidInput);
    CHECK(annotated.error().message == "tag v1.0.0: not signed");

    const auto lightweight = verifier.verify_tag(source, "v1.0.1", commit);
    REQUIRE_FALSE(lightweight.ok());
    CHECK(lightweight.error().kind == Error::Kind::InvalidInput);
    CHECK(lightweight.error().message ==
          "tag v1.0.1: not signed (a lightweight tag, expected a signed annotated tag)");

    const auto head = verifier.verify_commit(source, commit);
    REQUIRE_FALSE(head.ok());
    CHECK(head.error().kind == Error::Kind::InvalidInput);
    CHECK(head.error().message == fmt::format("commit {}: not signed", commit.substr(0, 12)));
}

TEST_CASE("git signature: a tag signed by a key not in allowed_signers is rejected",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto trusted = m.ssh_key("trusted");
    const auto other = m.ssh_key("other");
    const auto commit = m.commit(1, ssh_signing(other));
    m.tag("v1.0.0", ssh_signing(other));
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto signers = m.allowed_signers("ci@example.com", trusted);
    const auto source = m.source({.allowed_signers = signers});

    const auto tag = verifier.verify_tag(source, "v1.0.0", commit);
    REQUIRE_FALSE(tag.ok());
    CHECK(tag.error().kind == Error::Kind::InvalidInput);
    CHECK_THAT(tag.error().message,
               Catch::StartsWith(fmt::format(
                   "tag v1.0.0: signed by a key not in allowed_signers {}", signers.string())));
    const auto head = verifier.verify_commit(source, commit);
    REQUIRE_FALSE(head.ok());
    CHECK(head.error().kind == Error::Kind::InvalidInput);

    // SSH-signed, but only an OpenPGP keyring is configured.
    const auto pgp_only = m.source({.gpg_keyring = m.dir() / "no-such-keyring"});
    const auto refused = verifier.verify_tag(pgp_only, "v1.0.0", commit);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == Error::Kind::InvalidInput);
    CHECK(refused.error().message ==
          "tag v1.0.0: SSH signature, but git.verify.allowed_signers is not configured");
}

TEST_CASE("git signature: a tampered tag or one re-pushed under another name is rejected",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto key = m.ssh_key("release-key");
    const auto commit = m.commit(1);
    m.tag("v1.0.0", ssh_signing(key));
    // The signed object with its message changed, the signature kept, as tag v1.0.1.
    auto raw = m.git_in_work({"cat-file", "tag", "v1.0.0"}) + "\n";
    raw.replace(raw.find("tag v1.0.0\n"), 11, "tag v1.0.1\n");
    const auto tampered =
        run({"git", "-C", m.dir().string() + "/work", "hash-object", "-t", "tag", "-w", "--stdin"},
            {{"HOME", m.dir().string()}}, raw);
    m.git_in_work({"update-ref", "refs/tags/v1.0.1", tampered});
    // The signed object itself, under a newer name.
    m.git_in_work({"update-ref", "refs/tags/v2.0.0", m.git_in_work({"rev-parse", "v1.0.0"})});
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto source = m.source({.allowed_signers = m.allowed_signers("ci@example.com", key)});

    REQUIRE(verifier.verify_tag(source, "v1.0.0", commit).ok());
    const auto changed = verifier.verify_tag(source, "v1.0.1", commit);
    REQUIRE_FALSE(changed.ok());
    CHECK(changed.error().kind == Error::Kind::InvalidInput);
    CHECK_THAT(changed.error().message,
               Catch::StartsWith("tag v1.0.1: bad SSH signature by ci@example.com"));
    const auto renamed = verifier.verify_tag(source, "v2.0.0", commit);
    REQUIRE_FALSE(renamed.ok());
    CHECK(renamed.error().kind == Error::Kind::InvalidInput);
    CHECK(renamed.error().message == "tag v2.0.0: the tag object is named v1.0.0, not v2.0.0");
    // The tag no longer names the commit observed: no verdict, the next poll sees it anew.
    const auto moved = verifier.verify_tag(source, "v1.0.0", std::string(40, 'a'));
    REQUIRE_FALSE(moved.ok());
    CHECK(moved.error().kind == Error::Kind::Failed);
}

TEST_CASE("git signature: OpenPGP-signed tag and commit verify against the keyring only",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto trusted = m.gpg_key("Release Bot <release@example.com>");
    const auto outsider = m.gpg_key("Someone Else <else@example.com>");
    const auto commit = m.commit(1, gpg_signing(trusted));
    m.tag("v1.0.0", gpg_signing(trusted));
    m.tag("v1.0.1", gpg_signing(outsider));
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    for (const bool armor : {false, true}) {
        const auto keyring = m.gpg_keyring(trusted, armor);
        const auto source = m.source({.gpg_keyring = keyring});
        const auto tag = verifier.verify_tag(source, "v1.0.0", commit);
        INFO((tag ? "" : tag.error().message));
        REQUIRE(tag.ok());
        CHECK(tag->method == SignatureMethod::OpenPgp);
        CHECK(tag->signer == "Release Bot <release@example.com>");
        CHECK(tag->key == trusted);

        const auto head = verifier.verify_commit(source, commit);
        INFO((head ? "" : head.error().message));
        REQUIRE(head.ok());
        CHECK(head->key == trusted);

        // The outsider's key is in the maintainer's GNUPGHOME, not in the keyring.
        const auto outside = verifier.verify_tag(source, "v1.0.1", commit);
        REQUIRE_FALSE(outside.ok());
        CHECK(outside.error().kind == Error::Kind::InvalidInput);
        CHECK_THAT(
            outside.error().message,
            Catch::StartsWith(fmt::format(
                "tag v1.0.1: OpenPGP signature by a key not in gpg_keyring {}", keyring.string())));
    }

    // A keyring file that cannot be read is no verdict on the release.
    const auto missing = m.source({.gpg_keyring = m.dir() / "missing.gpg"});
    const auto unread = verifier.verify_tag(missing, "v1.0.0", commit);
    REQUIRE_FALSE(unread.ok());
    CHECK(unread.error().kind == Error::Kind::Failed);
}

TEST_CASE("git signature: a tampered OpenPGP-signed tag is rejected", "[integration][git][trust]") {
    SigningMaintainer m;
    const auto trusted = m.gpg_key("Release Bot <release@example.com>");
    const auto commit = m.commit(1);
    m.tag("v1.0.0", gpg_signing(trusted));
    auto raw = m.git_in_work({"cat-file", "tag", "v1.0.0"}) + "\n";
    raw.replace(raw.find("tag v1.0.0\n"), 11, "tag v1.0.1\n");
    const auto tampered =
        run({"git", "-C", m.dir().string() + "/work", "hash-object", "-t", "tag", "-w", "--stdin"},
            {{"HOME", m.dir().string()}}, raw);
    m.git_in_work({"update-ref", "refs/tags/v1.0.1", tampered});
    m.push();
    m.fetch_mirror();

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto source = m.source({.gpg_keyring = m.gpg_keyring(trusted, false)});
    const auto changed = verifier.verify_tag(source, "v1.0.1", commit);
    REQUIRE_FALSE(changed.ok());
    CHECK(changed.error().kind == Error::Kind::InvalidInput);
    CHECK_THAT(changed.error().message, Catch::StartsWith("tag v1.0.1: bad OpenPGP signature"));
}

TEST_CASE("git signature: a signature by a key revoked in the keyring is rejected",
          "[integration][git][trust]") {
    SigningMaintainer m;
    const auto key = m.gpg_key("Release Bot <release@example.com>");
    const auto commit = m.commit(1, gpg_signing(key));
    m.push();
    m.fetch_mirror();
    // gpg wrote a revocation certificate when it made the key; its armor is escaped with ':'.
    auto cert = agentd::sys::read_file(m.dir() / "gnupg" / "openpgp-revocs.d" / (key + ".rev"));
    REQUIRE(cert.ok());
    const auto armor = cert->find(":-----BEGIN PGP PUBLIC KEY BLOCK-----");
    REQUIRE(armor != std::string::npos);
    cert->erase(armor, 1);
    run({"gpg", "--batch", "--quiet", "--import"},
        {{"HOME", m.dir().string()}, {"GNUPGHOME", (m.dir() / "gnupg").string()}},
        cert->substr(cert->find("-----BEGIN PGP PUBLIC KEY BLOCK-----")));

    agentd::sys::PosixProcessRunner runner;
    agentd::trust::MirrorGitVerifier verifier(m.state(), runner);
    const auto source = m.source({.gpg_keyring = m.gpg_keyring(key, true)});
    const auto head = verifier.verify_commit(source, commit);
    REQUIRE_FALSE(head.ok());
    CHECK(head.error().kind == Error::Kind::InvalidInput);
    CHECK_THAT(head.error().message, Catch::Contains("OpenPGP signature by revoked key"));
}

}  // namespace unit_trust_git_signature_test
