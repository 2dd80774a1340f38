#pragma once
// git.verify: is a release's tag or commit signed by a key the stack trusts? The interface
// deploy/ sees (faked in tests/fakes), and its real implementation reading the stack's mirror.

#include <filesystem>
#include <string>

#include "agent/config/config.h"
#include "agent/sys/process.h"
#include "agent/sys/result.h"
#include "agent/trust/git_signature.h"

namespace agentd::trust {

class GitVerifier {
public:
    virtual ~GitVerifier() = default;
    /// The signature of annotated tag `tag` (a name without "refs/tags/", as observed), which
    /// must point to `commit` (40 hex): a good one by a key of source.verify. InvalidInput, a
    /// verdict naming the tag, when the tag is lightweight or unsigned, names another tag in
    /// its signed header, or its signature is bad or by a key not trusted; Failed when the check
    /// could not be made (ssh-keygen or gpg not runnable, a key file unreadable, the tag moved
    /// in the mirror since it was observed).
    virtual sys::Result<GitSignature> verify_tag(const config::GitSource& source,
                                                 const std::string& tag,
                                                 const std::string& commit) = 0;
    /// The signature of `commit` (40 hex, already fetched). Errors as verify_tag.
    virtual sys::Result<GitSignature> verify_commit(const config::GitSource& source,
                                                    const std::string& commit) = 0;
};

/// Checks a signature found in an object against source.verify's keys: SSH signatures with
/// allowed_signers (ssh_signature.h), OpenPGP ones with gpg_keyring (openpgp_signature.h).
/// Relative key file names are resolved as credential files are ($CREDENTIALS_DIRECTORY).
sys::Result<GitSignature> check_signature(sys::ProcessRunner& runner,
                                          const config::GitVerify& verify,
                                          const SignedPayload& signed_payload,
                                          const std::string& subject);

/// Reads tags and commits from the mirrors of sources::LibGit2Source under state_dir (taking
/// the mirror's lock shared, as a checkout does) and checks their signatures.
class MirrorGitVerifier final : public GitVerifier {
public:
    MirrorGitVerifier(std::filesystem::path state_dir, sys::ProcessRunner& runner)
        : m_state_dir(std::move(state_dir)), m_runner(runner) {}

    sys::Result<GitSignature> verify_tag(const config::GitSource& source, const std::string& tag,
                                         const std::string& commit) override;
    sys::Result<GitSignature> verify_commit(const config::GitSource& source,
                                            const std::string& commit) override;

private:
    std::filesystem::path m_state_dir;
    sys::ProcessRunner& m_runner;
};

}  // namespace agentd::trust
