#pragma once
// Git sources: a bare mirror per remote under state_dir, and a stable working tree per stack.

#include <filesystem>
#include <string>

#include "agent/config/config.h"
#include "agent/sys/result.h"

namespace agentd::sources {

class GitSource {
public:
    virtual ~GitSource() = default;
    /// Fetches the configured branch into the mirror and returns its head commit id (40 hex).
    /// NotFound when the branch does not exist; Unauthorized for refused credentials; Failed
    /// when the remote is unreachable; InvalidInput for a malformed URL or branch name.
    virtual sys::Result<std::string> fetch(const config::GitSource& source) = 0;
    /// Makes `workdir` hold `revision` (already fetched): tracked files updated, untracked and
    /// ignored files left alone. NotFound when the revision or source.path is absent there;
    /// InvalidInput unless `revision` is 40 hex digits.
    virtual sys::Result<void> checkout(const config::GitSource& source, const std::string& revision,
                                       const std::filesystem::path& workdir) = 0;
};

}  // namespace agentd::sources
