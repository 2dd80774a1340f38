#pragma once
// GitSource on libgit2: one bare mirror per remote URL, one plain working tree per stack.
//
// Layout under state_dir:
//   git/<first 16 hex of sha256(url)>/   bare mirror; refs/heads/<branch> and refs/tags/* are
//                                        force-updated from the remote on every fetch; only
//                                        tags() deletes tags the remote deleted
//   git/<first 16 hex of sha256(url)>.lock  its MirrorLock (mirror_lock.h): fetches exclude
//                                        each other and checkouts across threads, instances
//                                        and processes
// and, chosen by the caller, a stack's workdir:
//   <workdir>/.git/                      non-bare repository without refs of its own; its
//                                        objects/info/alternates names the mirror's object
//                                        store (as `git clone --shared` does), so a checkout
//                                        copies nothing and every revision ever fetched stays
//                                        available for rollback (libgit2 never prunes).
//   <workdir>/...                        the tracked files of the checked-out revision; HEAD is
//                                        detached there. Untracked and ignored files (.env, data
//                                        directories, .agentd/) are never touched.

#include <filesystem>
#include <string>

#include "agent/sources/git.h"

namespace agentd::sources {

/// One commit as `agentctl diff` lists it.
struct GitCommit {
    std::string id;       ///< 40 hex
    std::string subject;  ///< the first line of its message
};

class LibGit2Source final : public GitSource {
public:
    /// Mirrors live under state_dir/git/. Initialises libgit2 (once per process).
    explicit LibGit2Source(std::filesystem::path state_dir);

    /// InvalidInput for an empty or malformed URL or branch name; NotFound when the remote has
    /// no such branch; Unauthorized when credentials are missing or refused; Failed otherwise
    /// (unreachable, unknown SSH host key, unreadable credential files), with libgit2's message.
    /// One check of the remote per repository: a call takes the answer of the last check that
    /// succeeded (any instance in this process) when that check began at or after `asked` and
    /// brought the branch, without asking again.
    sys::Result<std::string> fetch(const config::GitSource& source, AskedAt asked) override;
    using GitSource::fetch;
    /// InvalidInput unless `revision` is 40 lower-case hex digits; NotFound when the mirror does
    /// not hold the revision or source.path is not a directory in it. Nothing in `workdir`
    /// changes on any error found before the checkout itself starts.
    /// Callers must not check out into one workdir from two threads at once.
    sys::Result<void> checkout(const config::GitSource& source, const std::string& revision,
                               const std::filesystem::path& workdir) override;

    /// Fetches only refs/tags/* (no branch needed, so it serves stacks that follow releases),
    /// prunes mirrored tags the remote no longer has, and lists the mirror's tags that point to
    /// commits (annotated ones peeled), sorted by name. Errors as fetch(), minus NotFound.
    /// Afterwards every tagged commit can be checked out. Like fetch(), it takes the answer of
    /// a tags check begun at or after `asked`. Tags of trees or blobs, and invalid names, are
    /// skipped.
    sys::Result<std::vector<GitTag>> tags(const config::GitSource& source, AskedAt asked) override;
    using GitSource::tags;

    /// Compares tree entries of the two commits in the mirror (git_tree_entry_bypath), so the
    /// answer costs a few object reads per path whatever the size of the change.
    sys::Result<std::set<std::string>> changed_paths(
        const config::GitSource& source, const std::string& from, const std::string& to,
        const std::vector<std::string>& paths) override;
    /// Reads the commit from the mirror under its shared lock.
    sys::Result<sys::TimePoint> commit_time(const config::GitSource& source,
                                            const std::string& revision) override;

    // What `agentctl diff` shows (git_history.cpp); both read the mirror only, under its
    // shared lock. `from` empty: from the beginning (nothing deployed yet).
    /// The commits reachable from `to` and not from `from`, newest first, at most `limit`
    /// (`truncated` says when there were more). NotFound when the mirror lacks either commit;
    /// InvalidInput for a revision that is not 40 hex digits.
    sys::Result<std::vector<GitCommit>> history(const config::GitSource& source,
                                                const std::string& from, const std::string& to,
                                                std::size_t limit, bool& truncated);
    /// The unified diff (as `git diff FROM TO -- PATH`) of the files under `path` ("" = the
    /// whole tree). Errors as history().
    sys::Result<std::string> patch(const config::GitSource& source, const std::string& from,
                                   const std::string& to, const std::string& path);

    /// The bare mirror used for `url`.
    std::filesystem::path mirror_path(const std::string& url) const;

    /// How many fetch() and tags() calls (of any instance in this process) wait for `url`'s
    /// mirror now.
    int waiting(const std::string& url) const;

private:
    /// Fetches the tags and prunes deleted ones, with the mirror's lock already held.
    sys::Result<void> fetch_tags_locked(const config::GitSource& source);

    std::filesystem::path m_state_dir;
};

/// True for exactly 40 lower-case hex digits (a SHA-1 commit id as fetch() returns it).
bool valid_revision(const std::string& revision);

}  // namespace agentd::sources
