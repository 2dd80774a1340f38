// LibGit2Source::history and ::patch, what `agentctl diff` reads from a stack's mirror, and
// ::commit_time, what min_age reads.

#include <fmt/format.h>

#include "agent/sources/git_handles.h"
#include "agent/sources/git_remote.h"
#include "agent/sources/git_source.h"
#include "agent/sources/mirror_lock.h"

namespace agentd::sources {
namespace {

using namespace git;

using RevwalkPtr = std::unique_ptr<git_revwalk, Free_<git_revwalk, git_revwalk_free>>;
using DiffPtr = std::unique_ptr<git_diff, Free_<git_diff, git_diff_free>>;

sys::Result<void> check_revisions(const std::string& from, const std::string& to) {
    if (!from.empty() && !valid_revision(from)) {
        return sys::Error::invalid(fmt::format("revision {:?}: expected 40 hex digits", from));
    }
    if (!valid_revision(to)) {
        return sys::Error::invalid(fmt::format("revision {:?}: expected 40 hex digits", to));
    }
    return {};
}

/// A stack's mirror, opened for reading under its shared lock.
struct ReadableMirror {
    MirrorLock lock;
    RepoPtr repo;
};

sys::Result<ReadableMirror> open_for_reading(const std::filesystem::path& mirror,
                                             const std::string& shown_url) {
    auto lock = MirrorLock::acquire(mirror, MirrorLock::Mode::Shared);
    if (!lock) {
        return lock.error();
    }
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, mirror.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) != 0) {
        return sys::Error::not_found(fmt::format("{} was never fetched", shown_url));
    }
    return ReadableMirror{std::move(*lock), RepoPtr(raw)};
}

sys::Result<CommitPtr> lookup(git_repository* repo, const std::string& revision,
                              const std::string& shown_url) {
    git_oid oid;
    git_oid_fromstr(&oid, revision.c_str());
    git_commit* raw = nullptr;
    if (const int rc = git_commit_lookup(&raw, repo, &oid); rc != 0) {
        if (rc == GIT_ENOTFOUND) {
            return sys::Error::not_found(
                fmt::format("revision {} not found in the mirror of {}", revision, shown_url));
        }
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    return CommitPtr(raw);
}

/// The tree of `revision`; null for an empty `revision` (the empty tree).
sys::Result<TreePtr> tree_of(git_repository* repo, const std::string& revision,
                             const std::string& shown_url) {
    if (revision.empty()) {
        return TreePtr();
    }
    auto commit = lookup(repo, revision, shown_url);
    if (!commit) {
        return commit.error();
    }
    git_tree* raw = nullptr;
    if (git_commit_tree(&raw, commit->get()) != 0) {
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    return TreePtr(raw);
}

}  // namespace

sys::Result<std::vector<GitCommit>> LibGit2Source::history(const config::GitSource& source,
                                                           const std::string& from,
                                                           const std::string& to, std::size_t limit,
                                                           bool& truncated) {
    truncated = false;
    if (auto checked = check_revisions(from, to); !checked) {
        return checked.error();
    }
    const std::string shown_url = redact_url(source.url);
    auto mirror = open_for_reading(mirror_path(source.url), shown_url);
    if (!mirror) {
        return mirror.error();
    }
    git_repository* repo = mirror->repo.get();
    // Both must be there: a walk hiding a commit the mirror lacks would list everything.
    for (const auto* revision : {&from, &to}) {
        if (!revision->empty()) {
            if (auto found = lookup(repo, *revision, shown_url); !found) {
                return found.error();
            }
        }
    }
    git_revwalk* raw_walk = nullptr;
    if (git_revwalk_new(&raw_walk, repo) != 0) {
        return sys::Error::failed(fmt::format("history of {}: {}", shown_url, libgit2_error()));
    }
    RevwalkPtr walk(raw_walk);
    git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
    git_oid oid;
    git_oid_fromstr(&oid, to.c_str());
    if (git_revwalk_push(walk.get(), &oid) != 0) {
        return sys::Error::failed(fmt::format("history of {}: {}", shown_url, libgit2_error()));
    }
    if (!from.empty()) {
        git_oid_fromstr(&oid, from.c_str());
        if (git_revwalk_hide(walk.get(), &oid) != 0) {
            return sys::Error::failed(fmt::format("history of {}: {}", shown_url, libgit2_error()));
        }
    }
    std::vector<GitCommit> commits;
    while (git_revwalk_next(&oid, walk.get()) == 0) {
        if (commits.size() == limit) {
            truncated = true;
            break;
        }
        git_commit* raw = nullptr;
        if (git_commit_lookup(&raw, repo, &oid) != 0) {
            return sys::Error::failed(fmt::format("history of {}: {}", shown_url, libgit2_error()));
        }
        CommitPtr commit(raw);
        const char* summary = git_commit_summary(commit.get());
        commits.push_back({git_oid_tostr_s(&oid), summary == nullptr ? "" : summary});
    }
    return commits;
}

sys::Result<std::string> LibGit2Source::patch(const config::GitSource& source,
                                              const std::string& from, const std::string& to,
                                              const std::string& path) {
    if (auto checked = check_revisions(from, to); !checked) {
        return checked.error();
    }
    if (path.find("..") != std::string::npos || (!path.empty() && path.front() == '/')) {
        return sys::Error::invalid(fmt::format("path {:?}: must stay inside the repository", path));
    }
    const std::string shown_url = redact_url(source.url);
    auto mirror = open_for_reading(mirror_path(source.url), shown_url);
    if (!mirror) {
        return mirror.error();
    }
    git_repository* repo = mirror->repo.get();
    auto before = tree_of(repo, from, shown_url);
    if (!before) {
        return before.error();
    }
    auto after = tree_of(repo, to, shown_url);
    if (!after) {
        return after.error();
    }
    git_diff_options options = GIT_DIFF_OPTIONS_INIT;
    // A literal prefix, not a glob: the stack's directory and everything under it.
    std::string prefix = path;
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    char* spec = prefix.data();
    if (!prefix.empty()) {
        options.pathspec.strings = &spec;
        options.pathspec.count = 1;
        options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
    }
    git_diff* raw_diff = nullptr;
    if (git_diff_tree_to_tree(&raw_diff, repo, before->get(), after->get(), &options) != 0) {
        return sys::Error::failed(fmt::format("diff of {}: {}", shown_url, libgit2_error()));
    }
    DiffPtr diff(raw_diff);
    Buf text;
    if (git_diff_to_buf(&text.buf, diff.get(), GIT_DIFF_FORMAT_PATCH) != 0) {
        return sys::Error::failed(fmt::format("diff of {}: {}", shown_url, libgit2_error()));
    }
    return text.str();
}

sys::Result<sys::TimePoint> LibGit2Source::commit_time(const config::GitSource& source,
                                                       const std::string& revision) {
    if (auto checked = check_revisions("", revision); !checked) {
        return checked.error();
    }
    const std::string shown_url = redact_url(source.url);
    auto mirror = open_for_reading(mirror_path(source.url), shown_url);
    if (!mirror) {
        return mirror.error();
    }
    auto commit = lookup(mirror->repo.get(), revision, shown_url);
    if (!commit) {
        return commit.error();
    }
    return sys::TimePoint(std::chrono::seconds(git_commit_time(commit->get())));
}

}  // namespace agentd::sources
