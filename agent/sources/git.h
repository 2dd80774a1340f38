#pragma once
// Git sources: a bare mirror per remote under state_dir, and a stable working tree per stack.

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/sys/result.h"

namespace agentd::sources {

/// A tag of the remote as mirrored.
struct GitTag {
    std::string name;    ///< without "refs/tags/": "v1.2.0"
    std::string commit;  ///< the commit it points to (40 hex), annotated tags peeled
    bool annotated = false;
};

/// When the poll that asks the remote was asked for (steady clock): a scheduled round's start,
/// a webhook's or `agentctl sync`'s arrival. A check of the remote's refs that began at or
/// after it is as fresh as the poll needs, so that the stacks following one repository share
/// one check per round and none sees the remote older than what triggered it.
using AskedAt = std::chrono::steady_clock::time_point;

class GitSource {
public:
    virtual ~GitSource() = default;
    /// Fetches the configured branch into the mirror and returns its head commit id (40 hex).
    /// NotFound when the branch does not exist; Unauthorized for refused credentials; Failed
    /// when the remote is unreachable; InvalidInput for a malformed URL or branch name.
    /// A check of the remote (by any caller) that began at or after `asked` may answer.
    virtual sys::Result<std::string> fetch(const config::GitSource& source, AskedAt asked) = 0;
    /// fetch() asked now.
    sys::Result<std::string> fetch(const config::GitSource& source) {
        return fetch(source, std::chrono::steady_clock::now());
    }
    /// Makes `workdir` hold `revision` (already fetched): tracked files updated, untracked and
    /// ignored files left alone. NotFound when the revision or source.path is absent there;
    /// InvalidInput unless `revision` is 40 hex digits.
    virtual sys::Result<void> checkout(const config::GitSource& source, const std::string& revision,
                                       const std::filesystem::path& workdir) = 0;
    /// Fetches the remote's tags (and only them: source.branch is not used) into the mirror
    /// and returns those that point to a commit, sorted by name. A tag moved on the remote is
    /// seen moved; a tag deleted there is gone. Unauthorized / Failed / InvalidInput as fetch,
    /// and like it answered by any tags check begun at or after `asked`.
    virtual sys::Result<std::vector<GitTag>> tags(const config::GitSource& source,
                                                  AskedAt asked) = 0;
    /// tags() asked now.
    sys::Result<std::vector<GitTag>> tags(const config::GitSource& source) {
        return tags(source, std::chrono::steady_clock::now());
    }
    /// Which of `paths` (repository paths: "" is the root, "a/b" a file, directory or symlink;
    /// never ".." or absolute) differ between commits `from` and `to` (both fetched already):
    /// the entry's object id or mode differs, or it exists in only one of them. A path under a
    /// symlink is not looked through (ask about the symlink itself). Reads the mirror only: no
    /// fetch, no checkout, no process. NotFound when the mirror lacks either commit;
    /// InvalidInput for a revision that is not 40 hex digits or a path that leaves the tree.
    virtual sys::Result<std::set<std::string>> changed_paths(
        const config::GitSource& source, const std::string& from, const std::string& to,
        const std::vector<std::string>& paths) = 0;
    /// The committer time of `revision` (already fetched), for min_age. NotFound when the
    /// mirror lacks it; InvalidInput unless it is 40 hex digits.
    virtual sys::Result<sys::TimePoint> commit_time(const config::GitSource& source,
                                                    const std::string& revision) = 0;
};

}  // namespace agentd::sources
