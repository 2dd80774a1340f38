#pragma once
// SSH signatures of git objects, checked by ssh-keygen as git itself does (gpg.format=ssh):
// `ssh-keygen -Y find-principals` finds who in allowed_signers owns the signing key, then
// `ssh-keygen -Y verify -n git -I <principal>` checks the signature over the payload (given
// on stdin). The signature goes through a file in a private temporary directory; every
// program runs through sys::ProcessRunner, argv only.

#include <filesystem>
#include <string_view>

#include "agent/sys/process.h"
#include "agent/sys/result.h"
#include "agent/trust/git_signature.h"

namespace agentd::trust {

/// Verifies `signed_payload` (an SSH signature block) against `allowed_signers` (a path
/// already resolved). `subject` starts every message ("tag v1.2.0", "commit 0a1b2c3").
/// InvalidInput (a verdict) when the key is not in allowed_signers or the signature does not
/// verify; Failed when ssh-keygen cannot be run, times out or dies, or allowed_signers cannot
/// be read.
sys::Result<GitSignature> verify_ssh_signature(sys::ProcessRunner& runner,
                                               const std::filesystem::path& allowed_signers,
                                               const SignedPayload& signed_payload,
                                               std::string_view subject);

}  // namespace agentd::trust
