#pragma once
// Credential files named in agent.yaml (git password_file and ssh_key_file, registries'
// password_file): where they are read and how.
//
// An absolute path is used as written. A relative name is looked up in $CREDENTIALS_DIRECTORY,
// the directory systemd fills from LoadCredential=/SetCredential= before agentd starts; it is
// resolved when the file is used (each fetch, each registry login), so a rotated token is
// picked up without a reload. Errors name the configuration key and the path, never the
// content.

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/sys/result.h"

namespace agentd::sources {

/// The path `file` names: as is when absolute, else $CREDENTIALS_DIRECTORY/`file`. Failed, naming
/// `key` ("git.credentials.password_file") and the name, when the name is relative and
/// $CREDENTIALS_DIRECTORY is unset or empty, or when the name leaves that directory ("..").
sys::Result<std::filesystem::path> resolve_credential_file(const std::filesystem::path& file,
                                                           std::string_view key);

/// The resolved file's content with trailing whitespace (newline, CR, spaces, tabs) removed.
/// Failed naming `key` and the resolved path when it cannot be read (NotFound when missing).
sys::Result<std::string> read_credential_file(const std::filesystem::path& file,
                                              std::string_view key);

/// NotFound or Failed, naming `key` and the resolved path, unless the file exists and can be
/// opened for reading (for files read by a library later, like an SSH private key).
sys::Result<std::filesystem::path> check_credential_file(const std::filesystem::path& file,
                                                         std::string_view key);

}  // namespace agentd::sources
