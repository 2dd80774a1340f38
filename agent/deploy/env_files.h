#pragma once
// A stack's env files (env_file, env_files): where each is, what its values are, and what a
// cache key may say about them. Files named "*.age" are age-encrypted (agent/sys/age.h) and
// decrypted in memory with the host's identity: their plaintext is never written anywhere.

#include <filesystem>
#include <map>
#include <string>

#include "agent/config/config.h"
#include "agent/sys/result.h"

namespace agentd::deploy {

/// The values of `stack`'s env files, read in order (a later file's value wins). `dir` is the
/// stack's directory in the release being read (git.path in a checkout, or `dir:`); relative
/// entries are read there, without following symlinks and never leaving it.
///
/// A repository file's problem is a verdict on the release, InvalidInput: missing, a symlink,
/// not KEY=VALUE lines, or an ".age" file the identity cannot decrypt (wrong recipient,
/// damaged, bad MAC). A host problem is Failed (retried): a host file or the identity file
/// unreadable or invalid, a host ".age" file that does not decrypt. Messages name the file and
/// what failed, never a value or a key.
sys::Result<std::map<std::string, std::string>> read_env_files(const config::Stack& stack,
                                                               const std::filesystem::path& dir);

/// What identifies the env files' content without their values, for the services cache: each
/// entry's name; for a file on the host (absolute, or relative in a `dir:` stack) the SHA-256
/// of its bytes as stored (the ciphertext of an ".age" file). A repository file is fixed by
/// the revision, which the cache key holds already.
std::string env_files_fingerprint(const config::Stack& stack, const std::filesystem::path& dir);

}  // namespace agentd::deploy
