#include "agent/trust/git_verifier.h"

#include <git2.h>

#include <memory>

#include <fmt/format.h>

#include "agent/sources/credential_file.h"
#include "agent/sources/git_handles.h"
#include "agent/sources/git_remote.h"
#include "agent/sources/git_source.h"
#include "agent/sources/mirror_lock.h"
#include "agent/trust/openpgp_signature.h"
#include "agent/trust/ssh_signature.h"

namespace agentd::trust {
namespace {

namespace fs = std::filesystem;

using namespace sources::git;

/// The stack's mirror, opened for reading, with its lock held shared while `repo` is used.
struct OpenMirror {
    sources::MirrorLock lock;
    RepoPtr repo;
};

sys::Result<OpenMirror> open_mirror(const fs::path& state_dir, const config::GitSource& source,
                                    const std::string& subject) {
    // LibGit2Source decides where the mirror is (and initialises libgit2 once).
    const auto mirror = sources::LibGit2Source(state_dir).mirror_path(source.url);
    auto lock = sources::MirrorLock::acquire(mirror, sources::MirrorLock::Mode::Shared);
    if (!lock) {
        return lock.error();
    }
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, mirror.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) != 0) {
        return sys::Error::failed(fmt::format("{}: mirror of {} cannot be opened: {}", subject,
                                              sources::redact_url(source.url),
                                              sources::libgit2_error()));
    }
    return OpenMirror{std::move(*lock), RepoPtr(raw)};
}

bool valid_commit_id(const std::string& id) {
    return sources::valid_revision(id);
}

}  // namespace

sys::Result<GitSignature> check_signature(sys::ProcessRunner& runner,
                                          const config::GitVerify& verify,
                                          const SignedPayload& signed_payload,
                                          const std::string& subject) {
    const auto method = signature_method(signed_payload.signature);
    if (!method) {
        return sys::Error::invalid(fmt::format(
            "{}: signed in a format agentd does not verify (expected SSH or OpenPGP)", subject));
    }
    const bool ssh = *method == SignatureMethod::Ssh;
    const auto& file = ssh ? verify.allowed_signers : verify.gpg_keyring;
    const std::string key = ssh ? "git.verify.allowed_signers" : "git.verify.gpg_keyring";
    if (file.empty()) {
        return sys::Error::invalid(fmt::format("{}: {} signature, but {} is not configured",
                                               subject, ssh ? "SSH" : "OpenPGP", key));
    }
    auto path = sources::resolve_credential_file(file, key);
    if (!path) {
        return sys::Error::failed(fmt::format("{}: {}", subject, path.error().message));
    }
    return ssh ? verify_ssh_signature(runner, *path, signed_payload, subject)
               : verify_openpgp_signature(*path, signed_payload, subject);
}

sys::Result<GitSignature> MirrorGitVerifier::verify_tag(const config::GitSource& source,
                                                        const std::string& tag,
                                                        const std::string& commit) {
    const std::string subject = fmt::format("tag {}", tag);
    if (!source.verify) {
        return sys::Error::invalid(fmt::format("{}: git.verify is not configured", subject));
    }
    if (!sources::valid_tag_name(tag) || !valid_commit_id(commit)) {
        return sys::Error::invalid(fmt::format("{}: not a valid tag name or commit", subject));
    }
    std::string raw_tag;
    {
        auto mirror = open_mirror(m_state_dir, source, subject);
        if (!mirror) {
            return mirror.error();
        }
        git_reference* raw_ref = nullptr;
        if (git_reference_lookup(&raw_ref, mirror->repo.get(), ("refs/tags/" + tag).c_str()) != 0) {
            return sys::Error::failed(fmt::format("{}: no longer in the mirror", subject));
        }
        RefPtr ref(raw_ref);
        // What runs is what was verified: the tag still names the observed commit.
        git_object* raw_peeled = nullptr;
        if (git_reference_peel(&raw_peeled, ref.get(), GIT_OBJECT_COMMIT) != 0) {
            return sys::Error::invalid(fmt::format("{}: does not point to a commit", subject));
        }
        ObjectPtr peeled(raw_peeled);
        char hex[GIT_OID_HEXSZ + 1] = {};
        git_oid_tostr(hex, sizeof hex, git_object_id(peeled.get()));
        if (commit != hex) {
            return sys::Error::failed(
                fmt::format("{}: moved to {} since commit {} was observed", subject, hex, commit));
        }
        const git_oid* target = git_reference_target(ref.get());
        git_odb* raw_odb = nullptr;
        if (target == nullptr || git_repository_odb(&raw_odb, mirror->repo.get()) != 0) {
            return sys::Error::failed(
                fmt::format("{}: cannot read the mirror: {}", subject, sources::libgit2_error()));
        }
        OdbPtr odb(raw_odb);
        git_odb_object* raw_object = nullptr;
        if (git_odb_read(&raw_object, odb.get(), target) != 0) {
            return sys::Error::failed(
                fmt::format("{}: cannot read the mirror: {}", subject, sources::libgit2_error()));
        }
        OdbObjectPtr object(raw_object);
        if (git_odb_object_type(object.get()) != GIT_OBJECT_TAG) {
            return sys::Error::invalid(fmt::format(
                "{}: not signed (a lightweight tag, expected a signed annotated tag)", subject));
        }
        raw_tag.assign(static_cast<const char*>(git_odb_object_data(object.get())),
                       git_odb_object_size(object.get()));
    }
    // A signed tag re-pushed under another name would replay an old release as a new one.
    if (const auto named = object_header(raw_tag, "tag"); named != tag) {
        return sys::Error::invalid(fmt::format("{}: the tag object is named {}, not {}", subject,
                                               named.value_or("nothing"), tag));
    }
    const auto signed_payload = split_tag_signature(raw_tag);
    if (!signed_payload) {
        return sys::Error::invalid(fmt::format("{}: not signed", subject));
    }
    return check_signature(m_runner, *source.verify, *signed_payload, subject);
}

sys::Result<GitSignature> MirrorGitVerifier::verify_commit(const config::GitSource& source,
                                                           const std::string& commit) {
    const std::string subject = fmt::format("commit {}", commit.substr(0, 12));
    if (!source.verify) {
        return sys::Error::invalid(fmt::format("{}: git.verify is not configured", subject));
    }
    if (!valid_commit_id(commit)) {
        return sys::Error::invalid(fmt::format("{}: not a commit id", subject));
    }
    SignedPayload signed_payload;
    {
        auto mirror = open_mirror(m_state_dir, source, subject);
        if (!mirror) {
            return mirror.error();
        }
        git_oid oid;
        git_commit* raw_commit = nullptr;
        if (git_oid_fromstr(&oid, commit.c_str()) != 0 ||
            git_commit_lookup(&raw_commit, mirror->repo.get(), &oid) != 0) {
            return sys::Error::failed(fmt::format("{}: not in the mirror", subject));
        }
        CommitPtr owned(raw_commit);
        Buf signature;
        Buf payload;
        const int rc = git_commit_extract_signature(&signature.buf, &payload.buf,
                                                    mirror->repo.get(), &oid, nullptr);
        if (rc == GIT_ENOTFOUND) {
            return sys::Error::invalid(fmt::format("{}: not signed", subject));
        }
        if (rc != 0) {
            return sys::Error::failed(fmt::format("{}: cannot read its signature: {}", subject,
                                                  sources::libgit2_error()));
        }
        signed_payload = {payload.str(), signature.str()};
    }
    return check_signature(m_runner, *source.verify, signed_payload, subject);
}

}  // namespace agentd::trust
