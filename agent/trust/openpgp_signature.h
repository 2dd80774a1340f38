#pragma once
// OpenPGP signatures of git objects, checked through gpgme against the configured keyring and
// nothing else: each check imports the keyring file into a fresh private GNUPGHOME (mode 0700,
// removed afterwards), so neither the user's ~/.gnupg nor a key server is ever consulted, and
// a key removed from the file is no longer trusted at the next check.

#include <filesystem>
#include <string_view>

#include "agent/sys/result.h"
#include "agent/trust/git_signature.h"

namespace agentd::trust {

/// Verifies `signed_payload` (a detached OpenPGP signature block) with the public keys of
/// `keyring` (a path already resolved; binary or armored). `subject` starts every message.
/// InvalidInput (a verdict) when the signature is bad, by a key not in the keyring, or by an
/// expired or revoked key; Failed when gpg cannot be run or the keyring cannot be read or
/// holds no key.
sys::Result<GitSignature> verify_openpgp_signature(const std::filesystem::path& keyring,
                                                   const SignedPayload& signed_payload,
                                                   std::string_view subject);

}  // namespace agentd::trust
