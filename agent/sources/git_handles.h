#pragma once
// Owning handles for libgit2 objects: each frees its object with libgit2's own free function
// when it goes out of scope. Used by the git source and by the signature checks that read the
// same mirrors (agent/trust/git_verifier.cpp).

#include <memory>
#include <string>

#include <git2.h>

namespace agentd::sources::git {

template <class T, void (*Free)(T*)>
struct Free_ {
    void operator()(T* p) const { Free(p); }
};
using RepoPtr = std::unique_ptr<git_repository, Free_<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Free_<git_remote, git_remote_free>>;
using RefPtr = std::unique_ptr<git_reference, Free_<git_reference, git_reference_free>>;
using ObjectPtr = std::unique_ptr<git_object, Free_<git_object, git_object_free>>;
using OdbPtr = std::unique_ptr<git_odb, Free_<git_odb, git_odb_free>>;
using OdbObjectPtr = std::unique_ptr<git_odb_object, Free_<git_odb_object, git_odb_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, Free_<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, Free_<git_tree, git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, Free_<git_tree_entry, git_tree_entry_free>>;
using ConfigPtr = std::unique_ptr<git_config, Free_<git_config, git_config_free>>;

/// A git_buf that libgit2 fills, disposed of on scope exit.
struct Buf {
    git_buf buf = GIT_BUF_INIT;
    ~Buf() { git_buf_dispose(&buf); }
    std::string str() const { return buf.ptr == nullptr ? "" : std::string(buf.ptr, buf.size); }
};

}  // namespace agentd::sources::git
