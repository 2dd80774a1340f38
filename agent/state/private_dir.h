#pragma once
// Creating the directories agentd keeps its state in: private to the owner (0700).

#include <filesystem>

#include "agent/sys/result.h"

namespace agentd::state {

/// Creates `dir` and any missing parents with mode 0700 (before the umask); an existing
/// directory is left as it is. Failed when a component cannot be created or is not a directory.
sys::Result<void> create_private_dirs(const std::filesystem::path& dir);

}  // namespace agentd::state
